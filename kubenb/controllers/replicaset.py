"""The ReplicaSet controller: keep ``spec.replicas`` pods matching the selector alive.

Level-based, as ``pkg/controller/replicaset``: each reconcile counts the active pods the set
controls (adopting orphans that match its selector, releasing pods that no longer match), creates
the missing ones in slow-start batches (1, 2, 4... so a broken template fails once, not five
hundred times) or deletes the most expendable extras, then writes the status: replicas,
fullyLabeledReplicas, ready and available (ready for ``minReadySeconds``) counts, and the
ReplicaFailure condition while creates fail.
"""

from __future__ import annotations

from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import PODS, REPLICASETS
from kubenb.client.client import PatchType
from kubenb.controllers.podutil import (
    controller_ref,
    deletion_rank,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    now_string,
    pod_from_template,
    pod_ready_since,
    selecting,
    selector,
)
from kubenb.runtime.controller import Controller, Request, Result, enqueue_owner, enqueue_self
from kubenb.runtime.informer import BY_CONTROLLER, ORPHANS, by_controller_owner, orphan_namespace
from kubenb.runtime.manager import Manager

__all__ = ["ReplicaSetController", "sync_replicas"]

Obj = dict[str, Any]

#: at most this many creates or deletes per reconcile (kube-controller-manager's burstReplicas)
BURST_REPLICAS = 500


class ReplicaSetController(Controller):
    name = "replicaset-controller"
    primary = REPLICASETS
    kind = "ReplicaSet"
    rt = REPLICASETS

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kube-controller-manager")
        self.clock = mgr.clock
        self.events = mgr.recorder(self.name)
        self.sets = mgr.informer(self.rt)
        self.pods = mgr.informer(PODS)
        self.pods.add_index(BY_CONTROLLER, by_controller_owner)
        self.pods.add_index(ORPHANS, orphan_namespace)
        self.sets.add_handler(enqueue_self(self))
        # a pod's status changes reach its set coalesced: 500 pods becoming ready in one
        # instant are one reconcile, not 500 (each of which counts every pod)
        self.pods.add_handler(enqueue_owner(self, self.kind, also=self._orphan,
                                            defer_updates=True))

    def _orphan(self, pod: Obj) -> None:
        """A pod with no controller may be adopted by any set whose selector matches it."""
        if controller_ref(pod) is not None or not is_pod_active(pod):
            return
        for rs in selecting(self.sets.list(pod["metadata"].get("namespace", "")), pod):
            self.enqueue(rs)

    def reconcile(self, request: Request) -> Result | None:
        rs = self.sets.get(request.name, request.namespace)
        if rs is None:
            return None  # its pods are the garbage collector's
        return sync_replicas(self, rs)

    def unconverged(self) -> list[str]:
        out = []
        for rs in self.sets:
            status = rs.get("status") or {}
            want = rs["spec"].get("replicas", 1)
            if rs["metadata"].get("deletionTimestamp"):
                continue
            if status.get("replicas", 0) != want or status.get("readyReplicas", 0) != want:
                out.append(f"{self.kind.lower()}/{rs['metadata']['namespace']}/"
                           f"{rs['metadata']['name']}")
        return out


def sync_replicas(ctrl: ReplicaSetController, rs: Obj) -> Result | None:
    """One reconcile of a ReplicaSet (or of a ReplicationController-shaped object)."""
    client, pods_inf, now = ctrl.client, ctrl.pods, ctrl.clock.now()
    meta = rs["metadata"]
    ns, uid = meta["namespace"], meta["uid"]
    sel = selector(rs["spec"].get("selector"))
    deleting = bool(meta.get("deletionTimestamp"))

    owned: list[Obj] = []
    for pod in pods_inf.by_index(BY_CONTROLLER, uid):
        if sel.matches(pod["metadata"].get("labels")) or deleting:
            owned.append(pod)
        else:  # release: the pod's labels no longer match
            _patch_owner(client, pod, [r for r in pod["metadata"]["ownerReferences"]
                                       if r.get("uid") != uid])
    if not deleting:
        for pod in pods_inf.by_index(ORPHANS, ns):
            pm = pod["metadata"]
            if is_pod_active(pod) and sel.matches(pm.get("labels")):
                ref = {"apiVersion": rs["apiVersion"], "kind": rs["kind"], "name": meta["name"],
                       "uid": uid, "controller": True, "blockOwnerDeletion": True}
                if _patch_owner(client, pod, [*(pm.get("ownerReferences") or ()), ref]):
                    owned.append(pod)
    active = [p for p in owned if is_pod_active(p)]
    want = int(rs["spec"].get("replicas", 1))
    failure: str | None = None
    if not deleting:
        diff = len(active) - want
        if diff < 0:
            failure = _create(ctrl, rs, min(-diff, BURST_REPLICAS))
        elif diff > 0:
            for pod in deletion_rank(active, now)[:min(diff, BURST_REPLICAS)]:
                pm = pod["metadata"]
                try:
                    client.delete(PODS, pm["name"], ns)
                    ctrl.events.normal(rs, "SuccessfulDelete", f"Deleted pod: {pm['name']}")
                except errors.NotFound:
                    pass
                except errors.APIError as exc:
                    ctrl.events.warning(rs, "FailedDelete",
                                        f"Error deleting: {exc.status.get('message', exc)}")
    return _update_status(ctrl, rs, pods_inf.by_index(BY_CONTROLLER, uid), failure, now)


def _patch_owner(client: Any, pod: Obj, refs: list[Obj]) -> bool:
    pm = pod["metadata"]
    try:
        client.patch(PODS, pm["name"], {"metadata": {
            "ownerReferences": refs or None, "resourceVersion": pm["resourceVersion"]}},
            pm["namespace"], patch_type=PatchType.MERGE)
        return True
    except (errors.Conflict, errors.NotFound):
        return False  # the pod changed; the next reconcile looks again


def _create(ctrl: ReplicaSetController, rs: Obj, count: int) -> str | None:
    """Create ``count`` pods in doubling batches; stop at the first failing batch."""
    template = rs["spec"].get("template") or {}
    done, batch = 0, 1
    while done < count:
        size = min(batch, count - done)
        for _ in range(size):
            pod = pod_from_template(template, rs)
            try:
                created = ctrl.client.create(PODS, pod, rs["metadata"]["namespace"])
            except errors.APIError as exc:
                message = exc.status.get("message", str(exc))
                ctrl.events.warning(rs, "FailedCreate", f"Error creating: {message}")
                return message
            ctrl.events.normal(rs, "SuccessfulCreate",
                               f"Created pod: {created['metadata']['name']}")
        done += size
        batch *= 2
    return None


def _update_status(ctrl: ReplicaSetController, rs: Obj, pods: list[Obj], failure: str | None,
                   now: float) -> Result | None:
    template_labels = ((rs["spec"].get("template") or {}).get("metadata") or {}).get(
        "labels") or {}
    min_ready = int(rs["spec"].get("minReadySeconds") or 0)
    active = [p for p in pods if is_pod_active(p)]
    fully = ready = available = 0
    wait: float | None = None
    for p in active:
        labels = p["metadata"].get("labels") or {}
        if all(labels.get(k) == v for k, v in template_labels.items()):
            fully += 1
        if is_pod_ready(p):
            ready += 1
            if is_pod_available(p, min_ready, now):
                available += 1
            else:
                since = pod_ready_since(p) or now
                left = since + min_ready - now
                wait = left if wait is None else min(wait, left)
    old = rs.get("status") or {}
    status: Obj = {"replicas": len(active), "observedGeneration": rs["metadata"].get("generation")}
    for key, value in (("fullyLabeledReplicas", fully), ("readyReplicas", ready),
                       ("availableReplicas", available)):
        if value:
            status[key] = value
    conditions = [c for c in old.get("conditions") or () if c.get("type") != "ReplicaFailure"]
    if failure is not None:
        previous = next((c for c in old.get("conditions") or ()
                         if c.get("type") == "ReplicaFailure"), None)
        # calculateStatus sets the condition only when there is none: a failure that goes on
        # keeps its first message (each refused create names another generated pod, and
        # rewriting it would wake the controllers at once instead of after the back-off)
        conditions.append(previous or {"type": "ReplicaFailure", "status": "True",
                                       "reason": "FailedCreate", "message": failure,
                                       "lastTransitionTime": now_string(now)})
    if conditions:
        status["conditions"] = conditions
    if status != {k: v for k, v in old.items() if k in status or k in (
            "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "conditions")}:
        try:
            ctrl.client.replace_status(ctrl.rt, {
                "apiVersion": rs["apiVersion"], "kind": rs["kind"],
                "metadata": {"name": rs["metadata"]["name"],
                             "namespace": rs["metadata"]["namespace"],
                             "resourceVersion": rs["metadata"]["resourceVersion"]},
                "spec": rs["spec"], "status": status})
        except errors.Conflict:
            return Result(requeue=True)
        except errors.NotFound:
            return None
    if failure is not None:
        return Result(requeue=True)
    if wait is not None:
        return Result(requeue_after=max(wait, 0.001))
    return None


