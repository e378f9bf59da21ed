"""Small clusters for scheduler tests: static nodes and pending pods, written through the client.

Nodes are created with the client (a Node, then its status with allocatable and a Ready
condition), so no simulated kubelet manages them and pods bound there stay Pending: each test
sees exactly what the scheduler decided.
"""

from __future__ import annotations

from typing import Any

from kubenb.api import kinds
from kubenb.api.meta import now_rfc3339
from kubenb.cluster import Cluster

Obj = dict[str, Any]


def cluster(**kwargs: Any) -> Cluster:
    """A cluster with the control plane and no simulated nodes, on the virtual clock."""
    return Cluster(nodes=0, speed="max", serve=False, seed=kwargs.pop("seed", 1), **kwargs)


def add_node(c: Cluster, name: str, *, cpu: str = "4", memory: str = "16Gi", pods: str = "110",
             labels: dict[str, str] | None = None, taints: list[Obj] | None = None,
             ready: str = "True", unschedulable: bool = False,
             extra: dict[str, str] | None = None) -> Obj:
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    node = c.client.create(kinds.NODES, {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": spec})
    now = now_rfc3339(c.clock.datetime())
    alloc = {"cpu": cpu, "memory": memory, "pods": pods, **(extra or {})}
    node["status"] = {"capacity": dict(alloc), "allocatable": alloc, "conditions": [
        {"type": "Ready", "status": ready, "reason": "KubeletReady", "message": "test node",
         "lastHeartbeatTime": now, "lastTransitionTime": now}]}
    return c.client.replace_status(kinds.NODES, node)


def pod_body(name: str, *, cpu: str | None = None, memory: str | None = None,
             labels: dict[str, str] | None = None, namespace: str = "default",
             **spec: Any) -> Obj:
    requests = {}
    if cpu:
        requests["cpu"] = cpu
    if memory:
        requests["memory"] = memory
    container: Obj = {"name": "c", "image": "nginx"}
    if requests:
        container["resources"] = {"requests": requests}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"containers": [container], **spec}}


def add_pod(c: Cluster, name: str, **kwargs: Any) -> Obj:
    body = pod_body(name, **kwargs)
    return c.client.create(kinds.PODS, body)


def node_of(c: Cluster, name: str, namespace: str = "default") -> str | None:
    return c.client.get(kinds.PODS, name, namespace)["spec"].get("nodeName")


def placements(c: Cluster, namespace: str = "default") -> dict[str, str | None]:
    return {p["metadata"]["name"]: p["spec"].get("nodeName")
            for p in c.client.list(kinds.PODS, namespace).items}


def scheduled_condition(c: Cluster, name: str, namespace: str = "default") -> Obj | None:
    pod = c.client.get(kinds.PODS, name, namespace)
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond["type"] == "PodScheduled":
            return cond
    return None


def events(c: Cluster, name: str, reason: str | None = None,
           namespace: str = "default") -> list[Obj]:
    return [e for e in c.client.list(kinds.EVENTS, namespace).items
            if e["involvedObject"]["name"] == name and (reason is None or e["reason"] == reason)]
