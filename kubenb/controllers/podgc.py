"""Pod garbage collection (``pkg/controller/podgc``): pods nothing else will ever remove.

Every 20 seconds of cluster time (a background chore, as in kube-controller-manager):

- terminated pods (Succeeded or Failed) beyond ``terminated_pod_gc_threshold`` (12500) are
  deleted, evicted ones first, then the oldest;
- pods terminating on a node that is NotReady and tainted ``node.kubernetes.io/out-of-service``
  are force-deleted;
- pods bound to a node that no longer exists are force-deleted once the node has been missing for
  40 seconds and a GET confirms it, marked ``Failed`` with the ``DisruptionTarget`` condition
  (reason ``DeletionByPodGC``) first;
- terminating pods that were never scheduled are force-deleted.

"Force" is what the controller does: the phase is set to Failed when the pod is not terminal yet,
then the pod is deleted with a grace period of 0. The controller keeps the few sets it needs up to
date from pod events, so a sweep costs what it finds, not the number of pods.
"""

from __future__ import annotations

from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import NODES, PODS
from kubenb.client.client import deepcopy
from kubenb.controllers.podutil import now_string, set_condition
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.informer import Handler, Key, by_node, key_of
from kubenb.runtime.manager import Manager

__all__ = ["PodGCController"]

Obj = dict[str, Any]

GC_CHECK_PERIOD = 20.0
QUARANTINE = 40.0
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"

_SWEEP = Request("", "pod-gc-sweep")


def _terminated(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Pending", "Running", "Unknown")


def _order(pod: Obj) -> tuple[bool, str, str]:
    """Evicted pods first, then by creation time, then by name
    (``byEvictionAndCreationTimestamp``)."""
    status = pod.get("status") or {}
    evicted = status.get("phase") == "Failed" and status.get("reason") == "Evicted"
    meta = pod["metadata"]
    return (not evicted, meta.get("creationTimestamp") or "", meta["name"])


class PodGCController(Controller):
    """kube-controller-manager's pod garbage collector."""

    name = "pod-garbage-collector-controller"
    primary = PODS

    def __init__(self, terminated_pod_gc_threshold: int = 12500) -> None:
        self.threshold = terminated_pod_gc_threshold
        self.terminated: dict[Key, None] = {}
        self.unscheduled_terminating: dict[Key, None] = {}
        self.quarantine: dict[str, float] = {}  # missing node -> when it was first seen missing

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("PodGC")
        self.clock = mgr.clock
        self.pods = mgr.informer(PODS)
        self.pods.add_index("node", by_node)
        self.nodes = mgr.informer(NODES)
        self.pods.add_handler(Handler(on_add=self._pod, on_update=lambda _o, new: self._pod(new),
                                      on_delete=self._pod_gone))
        self.queue.add_after(_SWEEP, GC_CHECK_PERIOD, background=True)

    def _pod(self, pod: Obj) -> None:
        key = key_of(pod)
        if _terminated(pod):
            self.terminated[key] = None
        else:
            self.terminated.pop(key, None)
        if pod["metadata"].get("deletionTimestamp") and not (pod.get("spec") or {}).get(
                "nodeName"):
            self.unscheduled_terminating[key] = None
        else:
            self.unscheduled_terminating.pop(key, None)

    def _pod_gone(self, pod: Obj) -> None:
        key = key_of(pod)
        self.terminated.pop(key, None)
        self.unscheduled_terminating.pop(key, None)

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, request: Request) -> Result | None:
        if request != _SWEEP:
            return None
        try:
            if self.threshold > 0:
                self._gc_terminated()
            self._gc_terminating()
            self._gc_orphaned()
            self._gc_unscheduled_terminating()
        finally:
            self.queue.add_after(_SWEEP, GC_CHECK_PERIOD, background=True)
        return None

    def _cached(self, keys: list[Key]) -> list[Obj]:
        pods = (self.pods.get(name, ns) for ns, name in keys)
        return [p for p in pods if p is not None]

    def _gc_terminated(self) -> None:
        excess = len(self.terminated) - self.threshold
        if excess <= 0:
            return
        pods = sorted(self._cached(list(self.terminated)), key=_order)
        for pod in pods[:excess]:
            self._mark_failed_and_delete(pod)

    def _gc_terminating(self) -> None:
        """Terminating pods on NotReady nodes tainted out-of-service."""
        victims: list[Obj] = []
        for node in self.nodes:
            taints = (node.get("spec") or {}).get("taints") or ()
            if not any(t.get("key") == OUT_OF_SERVICE for t in taints) or _ready(node):
                continue
            victims.extend(p for p in self.pods.by_index("node", node["metadata"]["name"])
                           if p["metadata"].get("deletionTimestamp"))
        for pod in sorted(victims, key=_order):
            self._mark_failed_and_delete(pod)

    def _gc_orphaned(self) -> None:
        """Pods bound to nodes that are gone, after a quarantine and a GET."""
        now = self.clock.now()
        missing = {n for n in self.pods.index_values("node") if self.nodes.get(n) is None}
        for name in [n for n in self.quarantine if n not in missing]:
            del self.quarantine[name]
        for name in sorted(missing):
            since = self.quarantine.setdefault(name, now)
            if now - since < QUARANTINE:
                continue
            try:
                self.client.get(NODES, name)
                continue  # it exists: the informer has not seen it yet
            except errors.NotFound:
                pass
            del self.quarantine[name]
            for pod in self.pods.by_index("node", name):
                self._mark_failed_and_delete(pod, condition=(
                    "DeletionByPodGC", "PodGC: node no longer exists"))

    def _gc_unscheduled_terminating(self) -> None:
        for pod in self._cached(list(self.unscheduled_terminating)):
            self._mark_failed_and_delete(pod)

    def _mark_failed_and_delete(self, pod: Obj,
                                condition: tuple[str, str] | None = None) -> None:
        meta = pod["metadata"]
        ns, name = meta["namespace"], meta["name"]
        try:
            if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                updated = deepcopy(pod)
                status = updated.setdefault("status", {})
                status["phase"] = "Failed"
                if condition is not None:
                    set_condition(status, "DisruptionTarget", "True", condition[0], condition[1],
                                  now_string(self.clock.now()))
                try:
                    self.client.replace_status(PODS, updated)
                except errors.Conflict:
                    return  # changed meanwhile: the next sweep looks again
            self.client.delete(PODS, name, ns, grace_period_seconds=0,
                               preconditions={"uid": meta["uid"]})
        except (errors.NotFound, errors.Conflict):
            pass


def _ready(node: Obj) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False
