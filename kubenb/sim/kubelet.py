"""Simulated kubelets: one per node, all driven by one controller on the engine thread.

A kubelet registers its Node (capacity, conditions, addresses), renews its Lease in
``kube-node-lease`` every 10 seconds of cluster time (background timers: they recur forever, so
they do not keep ``settle`` from returning), and runs the pods bound to its node.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import LEASES, NODES, PODS
from kubenb.api.meta import now_rfc3339_micro
from kubenb.client.client import PatchType
from kubenb.runtime.clock import Timer
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.manager import Manager
from kubenb.sim.node import node_object, node_status

__all__ = ["Kubelets", "NodeState"]

Obj = dict[str, Any]

LEASE_DURATION = 40  # seconds (the kubelet's nodeLeaseDurationSeconds)
LEASE_RENEW = 10  # seconds (a quarter of the duration, as the kubelet renews)


@dataclass
class NodeState:
    """One simulated kubelet."""

    name: str
    index: int
    up: bool = True  # heartbeats are being sent
    heartbeat: Timer | None = None
    pods: set[tuple[str, str]] = field(default_factory=set)


class Kubelets(Controller):
    """Every simulated node's kubelet."""

    name = "kubelet"
    primary = PODS

    def __init__(self) -> None:
        self.nodes: dict[str, NodeState] = {}
        self._next_index = 1

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kubelet")
        self.clock = mgr.clock
        self.events = mgr.recorder("kubelet")
        self.pods = mgr.informer(PODS)

    # ------------------------------------------------------------------ nodes

    def add_node(self, name: str, *, index: int = 0, cpu: str = "4", memory: str = "16Gi",
                 pods: str = "110", labels: dict[str, str] | None = None,
                 taints: list[Obj] | None = None) -> Obj:
        """Register a node as its kubelet does: the Node, its status, its Lease."""
        if name in self.nodes:
            return self.client.get(NODES, name)
        index = index or self._next_index
        self._next_index = max(self._next_index, index + 1)
        try:
            node = self.client.create(NODES, node_object(name, index=index, labels=labels,
                                                         taints=taints))
        except errors.AlreadyExists:
            node = self.client.get(NODES, name)
        now = self._now()
        node["status"] = node_status(name, index=index, now=now, cpu=cpu, memory=memory,
                                     pods=pods)
        node = self.client.replace_status(NODES, node)
        state = self.nodes[name] = NodeState(name, index)
        self._renew(state, node)
        return node

    def remove_node(self, name: str) -> None:
        """Stop the node's kubelet and delete its Node object."""
        state = self.nodes.pop(name, None)
        if state is not None and state.heartbeat is not None:
            state.heartbeat.cancel()
        with contextlib.suppress(errors.NotFound):
            self.client.delete(NODES, name)

    def _now(self) -> str:
        from kubenb.api.meta import now_rfc3339

        return now_rfc3339(self.clock.datetime())

    def _renew(self, state: NodeState, node: Obj | None = None) -> None:
        """Renew the node's Lease (creating it the first time), then plan the next renewal."""
        if self.nodes.get(state.name) is not state or not state.up:
            return
        renew = now_rfc3339_micro(self.clock.datetime())
        try:
            self.client.patch(LEASES, state.name, {"spec": {"renewTime": renew}},
                              "kube-node-lease", patch_type=PatchType.MERGE)
        except errors.NotFound:
            node = node or self.client.get(NODES, state.name)
            self.client.create(LEASES, {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": state.name, "namespace": "kube-node-lease",
                             "ownerReferences": [{"apiVersion": "v1", "kind": "Node",
                                                  "name": state.name,
                                                  "uid": node["metadata"]["uid"]}]},
                "spec": {"holderIdentity": state.name, "leaseDurationSeconds": LEASE_DURATION,
                         "renewTime": renew},
            })
        state.heartbeat = self.clock.call_later(LEASE_RENEW, lambda: self._renew(state),
                                                background=True)

    # ------------------------------------------------------------------ pods

    def reconcile(self, request: Request) -> Result | None:
        return None

    def logs(self, pod: Obj, container: str, params: Mapping[str, str]) -> str:
        """``pods/log`` for a simulated container."""
        raise errors.BadRequest(
            f'container "{container}" in pod "{pod["metadata"]["name"]}" is waiting to start: '
            "ContainerCreating")
