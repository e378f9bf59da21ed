"""The disruption controller: the status of every PodDisruptionBudget
(``pkg/controller/disruption``).

A budget is what ``kubectl drain`` and the eviction API ask before they take a pod away, and what
they read is this status: how many of the pods the budget selects are healthy (Ready and not being
deleted), how many must stay healthy, and so how many may go now (``disruptionsAllowed``).

- ``minAvailable: N`` (a number): N must stay healthy out of the pods there are.
- ``minAvailable: "P%"`` and ``maxUnavailable`` (a number or a percentage): the pods there should
  be is the scale of their controllers (a Deployment's, a ReplicaSet's, a StatefulSet's, a
  ReplicationController's ``spec.replicas``; any other kind with a scale subresource, a custom
  resource's included, is asked through it); percentages are rounded up. A pod with no
  controller is reported with an ``UnmanagedPods`` warning and not counted; a controller that
  cannot be found makes the budget fail safe: nothing may be disrupted, and the
  ``DisruptionAllowed`` condition says why.
- The eviction API records each pod it lets go in ``status.disruptedPods``; such a pod is not
  counted as healthy for two minutes (``DeletionTimeout``), the time its deletion should take, so
  two evictions in a row cannot both spend the same allowance. The controller looks again when
  that time is up and drops pods that are gone.

``disruptionsAllowed`` is ``currentHealthy - desiredHealthy`` when at least one pod is expected,
else 0, and the ``DisruptionAllowed`` condition is True (``SufficientPods``) or False
(``InsufficientPods``, or ``SyncFailed`` with the error).

Difference from upstream, knowingly: a budget that failed is looked at again on the next change
of its pods or of itself rather than retried with back-off (its inputs are those changes).
"""

from __future__ import annotations

from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import DEPLOYMENTS, PDBS, PODS, REPLICASETS, STATEFULSETS, builtin
from kubenb.api.resources import BUILTIN, ResourceType
from kubenb.controllers.deployment import scaled_value
from kubenb.controllers.gc import custom_resource_type
from kubenb.controllers.podutil import (
    controller_ref,
    is_pod_ready,
    now_string,
    parse_time,
    selecting,
    selector,
    spec_replicas,
)
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.informer import BY_NAMESPACE, Handler, by_namespace, key_of
from kubenb.runtime.manager import Manager

__all__ = ["DELETION_TIMEOUT", "DisruptionController", "SyncFailed"]

Obj = dict[str, Any]

#: how long an evicted pod is expected to take to be deleted (upstream's ``DeletionTimeout``)
DELETION_TIMEOUT = 120.0
_RCS = builtin("", "v1", "replicationcontrollers")
_CRDS = builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions")
#: the other built-in kinds whose scale a pod's controller may report (getScaleController)
_SCALABLE = {(rt.group, rt.kind): rt for rt in BUILTIN if rt.has_scale and rt.alias_of is None}


class SyncFailed(Exception):
    """Why a budget's status could not be worked out (the ``SyncFailed`` condition)."""


class DisruptionController(Controller):
    name = "disruption-controller"
    primary = PDBS

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kube-controller-manager")
        self.clock = mgr.clock
        self.events = mgr.recorder(self.name)
        self.pdbs = mgr.informer(PDBS)
        self.pods = mgr.informer(PODS)
        self.replicasets = mgr.informer(REPLICASETS)
        self.deployments = mgr.informer(DEPLOYMENTS)
        self.statefulsets = mgr.informer(STATEFULSETS)
        self.rcs = mgr.informer(_RCS)
        self.crds = mgr.informer(_CRDS)
        self.pdbs.add_index(BY_NAMESPACE, by_namespace)
        self.pods.add_index(BY_NAMESPACE, by_namespace)
        self.pdbs.add_handler(Handler(on_add=self.enqueue,
                                      on_update=lambda _old, new: self.enqueue(new)))
        self.pods.add_handler(Handler(on_add=self._pod_changed,
                                      on_update=self._pod_updated,
                                      on_delete=self._pod_changed))

    # ------------------------------------------------------------------ events

    def _pod_changed(self, pod: Obj) -> None:
        namespace = pod["metadata"].get("namespace") or ""
        for pdb in selecting(self.pdbs.by_index(BY_NAMESPACE, namespace), pod):
            self.enqueue(pdb)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        self._pod_changed(new)
        if old["metadata"].get("labels") != new["metadata"].get("labels"):
            self._pod_changed(old)  # the budgets it left

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, request: Request) -> Result | None:
        pdb = self.pdbs.get(request.name, request.namespace)
        if pdb is None or pdb["metadata"].get("deletionTimestamp"):
            return None
        now = self.clock.now()
        spec = pdb.get("spec") or {}
        pods = [p for p in self.pods.by_index(BY_NAMESPACE, request.namespace)
                if selector(spec.get("selector")).matches(p["metadata"].get("labels"))]
        if not pods:
            self.events.normal(pdb, "NoPods", "No matching pods found")
        try:
            expected, desired = self._expected(pdb, pods)
        except SyncFailed as exc:
            self.events.warning(pdb, "CalculateExpectedPodCountFailed",
                                f"Failed to calculate the number of expected pods: {exc}")
            # failSafe: the rest of the status stays as it was
            self._write(pdb, {"disruptionsAllowed": 0}, ("False", "SyncFailed", str(exc)), now,
                        keep=True)
            return None
        disrupted, recheck = self._disrupted(pdb, pods, now)
        healthy = sum(1 for p in pods if not p["metadata"].get("deletionTimestamp")
                      and p["metadata"]["name"] not in disrupted and is_pod_ready(p))
        allowed = healthy - desired
        if expected <= 0 or allowed <= 0:
            allowed = 0
        status: Obj = {"disruptionsAllowed": allowed, "currentHealthy": healthy,
                       "desiredHealthy": desired, "expectedPods": expected}
        if disrupted:
            status["disruptedPods"] = disrupted
        reason = ("True", "SufficientPods", "") if allowed > 0 else \
            ("False", "InsufficientPods", "")
        self._write(pdb, status, reason, now)
        return Result(requeue_after=recheck - now) if recheck is not None else None

    def _expected(self, pdb: Obj, pods: list[Obj]) -> tuple[int, int]:
        """(expectedPods, desiredHealthy): ``getExpectedPodCount``."""
        spec = pdb.get("spec") or {}
        max_unavailable = spec.get("maxUnavailable")
        min_available = spec.get("minAvailable")
        if max_unavailable is not None:
            expected = self._expected_scale(pdb, pods)
            return expected, max(0, expected - _scaled(max_unavailable, expected))
        if isinstance(min_available, int):
            return len(pods), min_available
        if min_available is not None:
            expected = self._expected_scale(pdb, pods)
            return expected, _scaled(min_available, expected)
        return 0, 0

    def _expected_scale(self, pdb: Obj, pods: list[Obj]) -> int:
        """The sum of the scales of the pods' controllers, each counted once."""
        scales: dict[str, int] = {}
        unmanaged = []
        for pod in pods:
            ref = controller_ref(pod)
            if ref is None:
                unmanaged.append(pod["metadata"]["name"])
                continue
            if ref.get("uid") in scales:
                continue
            found = self._scale_of(ref, pod["metadata"].get("namespace") or "")
            if found is None:
                raise SyncFailed(f'found no controllers for pod "{pod["metadata"]["name"]}"')
            scales[found[0]] = found[1]
        if unmanaged:
            self.events.warning(
                pdb, "UnmanagedPods",
                "Pods selected by this PodDisruptionBudget (selector: "
                f"{(pdb.get('spec') or {}).get('selector')}) were found to be unmanaged. As a "
                "result, the status of the PDB cannot be calculated correctly, which may result "
                'in undefined behavior. To account for these pods please set ".spec.minAvailable"'
                " field of the PDB to an integer value.")
        return sum(scales.values())

    def _scale_of(self, ref: Obj, namespace: str) -> tuple[str, int] | None:
        """(uid, replicas) of the controller ``ref`` names, as the finders find it."""
        group = str(ref.get("apiVersion", "")).rpartition("/")[0]
        kind, name, uid = ref.get("kind"), str(ref.get("name", "")), ref.get("uid")
        if (group, kind) == ("apps", "ReplicaSet"):
            rs = self.replicasets.get(name, namespace)
            if rs is None or rs["metadata"].get("uid") != uid:
                return None
            owner = controller_ref(rs)
            if owner is not None and owner.get("kind") == "Deployment":
                deployment = self.deployments.get(str(owner.get("name", "")), namespace)
                if deployment is None or deployment["metadata"].get("uid") != owner.get("uid"):
                    return None
                return str(owner["uid"]), spec_replicas(deployment)
            return str(uid), spec_replicas(rs)
        informer = {("apps", "StatefulSet"): self.statefulsets,
                    ("", "ReplicationController"): self.rcs}.get((group, kind))
        if informer is not None:
            obj = informer.get(name, namespace)
            if obj is None or obj["metadata"].get("uid") != uid:
                return None
            return str(uid), spec_replicas(obj)
        rt = _SCALABLE.get((group, kind)) or self._custom_scalable(
            str(ref.get("apiVersion", "")), str(kind))
        if rt is None:
            return None
        try:
            scale = self.client.get(rt, name, namespace, subresource="scale")
        except errors.NotFound:
            return None
        if scale["metadata"].get("uid") != uid:
            return None
        return str(uid), int((scale.get("spec") or {}).get("replicas") or 0)

    def _custom_scalable(self, api_version: str, kind: str) -> ResourceType | None:
        """The custom resource ``api_version``/``kind`` when its CRD serves that version with
        a scale subresource (what the scale client's RESTMapper finds)."""
        group, _, version = api_version.rpartition("/")
        for crd in self.crds.list():
            spec = crd.get("spec") or {}
            if spec.get("group") == group and (spec.get("names") or {}).get("kind") == kind:
                return custom_resource_type(crd, version, "scale")
        return None

    def _disrupted(self, pdb: Obj, pods: list[Obj], now: float
                   ) -> tuple[dict[str, str], float | None]:
        """``buildDisruptedPodMap``: the evicted pods still expected to go, and when to look
        again; a pod that outstayed the timeout is reported and counted again."""
        recorded = (pdb.get("status") or {}).get("disruptedPods") or {}
        if not recorded:
            return {}, None
        kept: dict[str, str] = {}
        recheck: float | None = None
        for pod in pods:
            meta = pod["metadata"]
            when = recorded.get(meta["name"])
            if when is None or meta.get("deletionTimestamp"):
                continue
            since = parse_time(when)
            expected_deletion = (since or now) + DELETION_TIMEOUT
            if expected_deletion <= now:  # (upstream: Before; at the very instant, on a
                # virtual clock that would stand still, the look again would find the same)
                self.events.warning(pod, "NotDeleted",
                                    f"Pod was expected by PDB {meta.get('namespace')}/"
                                    f"{pdb['metadata']['name']} to be deleted but it wasn't")
                continue
            kept[meta["name"]] = when
            recheck = expected_deletion if recheck is None else min(recheck, expected_deletion)
        return kept, recheck

    def _write(self, pdb: Obj, values: Obj, condition: tuple[str, str, str],
               now: float, *, keep: bool = False) -> None:
        """Replace the budget's status with ``values`` and the condition when that changes it
        (``updatePdbStatus``); with ``keep``, the other counts stay as they were."""
        old = pdb.get("status") or {}
        generation = pdb["metadata"].get("generation")
        cstatus, reason, message = condition
        conditions = [dict(c) for c in old.get("conditions") or ()
                      if c.get("type") != "DisruptionAllowed"]
        previous = next((c for c in old.get("conditions") or ()
                         if c.get("type") == "DisruptionAllowed"), None)
        cond: Obj = {"type": "DisruptionAllowed", "status": cstatus,
                     "observedGeneration": generation,
                     "lastTransitionTime": (previous["lastTransitionTime"]
                                            if previous and previous.get("status") == cstatus
                                            and previous.get("lastTransitionTime")
                                            else now_string(now)),
                     "reason": reason, "message": message}
        conditions.append(cond)
        status: Obj = {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0,
                       "expectedPods": 0}
        if keep:
            status.update({k: old[k] for k in ("currentHealthy", "desiredHealthy",
                                                 "expectedPods", "disruptedPods") if k in old})
        status.update(values)
        status["observedGeneration"] = generation
        status["conditions"] = conditions
        if status == old:
            return
        try:
            self.client.replace_status(PDBS, {**pdb, "status": status})
        except errors.NotFound:
            return
        except errors.Conflict:
            self.queue.add(Request(*key_of(pdb)))  # the informer has a newer one coming


def _scaled(value: int | str, total: int) -> int:
    try:
        return scaled_value(value, total, True)
    except ValueError:
        raise SyncFailed(f"invalid value for IntOrString: {value!r}") from None
