"""The StatefulSet controller: pods with stable names and storage (``pkg/controller/statefulset``).

Pods are named ``<set>-<ordinal>`` for ordinals ``spec.ordinals.start`` up to ``start +
replicas - 1``, get ``hostname`` = their name and ``subdomain`` = ``serviceName`` (their DNS name
under the headless Service), and the labels ``statefulset.kubernetes.io/pod-name`` and
``apps.kubernetes.io/pod-index``. Each ``volumeClaimTemplate`` gives every pod a claim
``<template>-<set>-<ordinal>``, created before the pod and kept when the pod goes, unless
``persistentVolumeClaimRetentionPolicy`` says Delete: the claim is then owned by the set
(``whenDeleted``) or, once its pod is scaled away, by the pod (``whenScaled``), and the garbage
collector removes it with its owner.

``OrderedReady`` (the default) creates one pod at a time, each only when all before it are
Running and Ready, and removes pods from the highest ordinal down, one at a time; ``Parallel``
does both at once. The template history is kept in ControllerRevisions; pods carry their
revision's name in ``controller-revision-hash`` and the status says ``currentRevision`` and
``updateRevision``. RollingUpdate replaces pods from the highest ordinal down to ``partition``,
at most ``maxUnavailable`` at a time; OnDelete replaces a pod only when the user deletes it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import CONTROLLERREVISIONS, PODS, PVCS, STATEFULSETS
from kubenb.client.client import PatchType, deepcopy
from kubenb.controllers.history import (
    ORPHANS,
    REVISION_HASH_LABEL,
    claim,
    create_revision,
    equal_data,
    max_revision,
    orphan_namespace,
    revision_template,
    sort_revisions,
    update_revision_number,
)
from kubenb.controllers.podutil import (
    controller_ref,
    is_pod_available,
    is_pod_ready,
    pod_from_template,
    pod_ready_since,
    selecting,
    selector,
    spec_replicas,
)
from kubenb.runtime.controller import Controller, Request, Result, enqueue_owner, enqueue_self
from kubenb.runtime.informer import BY_CONTROLLER, by_controller_owner
from kubenb.runtime.manager import Manager

__all__ = ["POD_INDEX_LABEL", "POD_NAME_LABEL", "StatefulSetController"]

Obj = dict[str, Any]

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
#: pods created or deleted at once in Parallel mode, in slow-start batches up to this
MAX_BATCH = 500

_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")


# ---------------------------------------------------------------------------- pod identity

def parent_and_ordinal(pod: Obj) -> tuple[str, int]:
    """``getParentNameAndOrdinal``: ("", -1) for a name that is not ``<set>-<n>``."""
    m = _ORDINAL.match(pod["metadata"]["name"])
    if m is None:
        return "", -1
    ordinal = int(m.group(2))
    return m.group(1), ordinal if ordinal < 2**31 else -1


def ordinal_of(pod: Obj) -> int:
    return parent_and_ordinal(pod)[1]


def start_ordinal(sts: Obj) -> int:
    return int((sts["spec"].get("ordinals") or {}).get("start") or 0)


def claim_name(template: Obj, sts: Obj, ordinal: int) -> str:
    return f"{template['metadata']['name']}-{sts['metadata']['name']}-{ordinal}"


def _phase(pod: Obj) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def _created(pod: Obj) -> bool:
    return _phase(pod) != ""


def _terminating(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def _running_and_ready(pod: Obj) -> bool:
    return _phase(pod) == "Running" and is_pod_ready(pod)


def _healthy(pod: Obj) -> bool:
    return _running_and_ready(pod) and not _terminating(pod)


def _revision_of(pod: Obj) -> str:
    return (pod["metadata"].get("labels") or {}).get(REVISION_HASH_LABEL, "")


def _claims(sts: Obj, ordinal: int) -> list[tuple[str, Obj]]:
    """(volume name, claim to create) for each volumeClaimTemplate (``getPersistentVolumeClaims``):
    the template's labels plus the set's selector labels."""
    out = []
    match_labels = (sts["spec"].get("selector") or {}).get("matchLabels") or {}
    for template in sts["spec"].get("volumeClaimTemplates") or ():
        tmeta = template.get("metadata") or {}
        meta: Obj = {"name": claim_name(template, sts, ordinal),
                     "namespace": sts["metadata"]["namespace"],
                     "labels": {**(tmeta.get("labels") or {}), **match_labels}}
        if tmeta.get("annotations"):
            meta["annotations"] = dict(tmeta["annotations"])
        out.append((tmeta["name"], {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                    "metadata": meta,
                                    "spec": deepcopy(template.get("spec") or {})}))
    return out


def new_pod(sts: Obj, template: Obj, ordinal: int, revision: str) -> Obj:
    """``newStatefulSetPod`` at ``revision``: identity, storage and revision label."""
    name = f"{sts['metadata']['name']}-{ordinal}"
    pod = pod_from_template(template, sts, name=name, extra_labels={
        POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal), REVISION_HASH_LABEL: revision})
    spec = pod["spec"]
    spec["hostname"] = name
    if sts["spec"].get("serviceName"):
        spec["subdomain"] = sts["spec"]["serviceName"]
    claims = _claims(sts, ordinal)
    if claims:
        names = {vol for vol, _ in claims}
        spec["volumes"] = [
            *({"name": vol, "persistentVolumeClaim": {"claimName": c["metadata"]["name"]}}
              for vol, c in claims),
            *(v for v in spec.get("volumes") or () if v.get("name") not in names)]
    pod["status"] = {}
    return pod


def _identity_matches(sts: Obj, pod: Obj) -> bool:
    parent, ordinal = parent_and_ordinal(pod)
    labels = pod["metadata"].get("labels") or {}
    return (ordinal >= 0 and parent == sts["metadata"]["name"]
            and pod["metadata"].get("namespace") == sts["metadata"]["namespace"]
            and labels.get(POD_NAME_LABEL) == pod["metadata"]["name"]
            and labels.get(POD_INDEX_LABEL) == str(ordinal))


def _storage_matches(sts: Obj, pod: Obj) -> bool:
    ordinal = ordinal_of(pod)
    if ordinal < 0:
        return False
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or ()}
    for vol, c in _claims(sts, ordinal):
        source = (volumes.get(vol) or {}).get("persistentVolumeClaim") or {}
        if source.get("claimName") != c["metadata"]["name"]:
            return False
    return True


# --------------------------------------------------------------------- claim retention policy

def _policy(sts: Obj) -> tuple[str, str]:
    policy = sts["spec"].get("persistentVolumeClaimRetentionPolicy") or {}
    return policy.get("whenDeleted") or "Retain", policy.get("whenScaled") or "Retain"


def _in_range(sts: Obj, pod: Obj) -> bool:
    ordinal, start = ordinal_of(pod), start_ordinal(sts)
    return start <= ordinal < start + spec_replicas(sts)


def _ref_to(obj: Obj) -> Obj:
    meta = obj["metadata"]
    return {"apiVersion": obj.get("apiVersion", "v1"), "kind": obj.get("kind", "Pod"),
            "name": meta["name"], "uid": meta.get("uid", ""), "controller": True,
            "blockOwnerDeletion": True}


def _wanted_claim_refs(sts: Obj, pod: Obj, refs: list[Obj]) -> list[Obj] | None:
    """The claim's ownerReferences as the retention policy wants them, or None when they are
    right already or must not be touched (``isClaimOwnerUpToDate`` /
    ``updateClaimOwnerRefForSetAndPod``)."""
    set_uid, pod_uid = sts["metadata"]["uid"], pod["metadata"].get("uid", "")

    def is_set(r: Obj) -> bool:
        return r.get("kind") == "StatefulSet" and r.get("name") == sts["metadata"]["name"] \
            and r.get("apiVersion") == "apps/v1"

    def is_pod(r: Obj) -> bool:
        return r.get("kind") == "Pod" and r.get("name") == pod["metadata"]["name"] \
            and r.get("apiVersion") == "v1"

    if any((is_set(r) and r.get("uid") != set_uid) or (is_pod(r) and r.get("uid") != pod_uid)
           for r in refs):
        return None  # left by an earlier set or pod of the same name: not ours to touch
    when_deleted, when_scaled = _policy(sts)
    retain_all = when_deleted == "Retain" and when_scaled == "Retain"
    unexpected = not retain_all and any(
        r.get("controller") and not is_set(r) and not is_pod(r) for r in refs)
    kept = [r for r in refs if not is_set(r) and not is_pod(r)]
    if unexpected:
        wanted = kept
    else:
        wanted = list(kept)
        scaled_down = not _in_range(sts, pod)
        if when_deleted == "Delete" and (when_scaled == "Retain" or not scaled_down):
            wanted.append(_ref_to(sts))
        if when_scaled == "Delete" and scaled_down and pod_uid:
            wanted.append(_ref_to(pod))
    return None if wanted == refs else wanted


# ------------------------------------------------------------------------------ controller

class StatefulSetController(Controller):
    name = "statefulset-controller"
    primary = STATEFULSETS
    kind = "StatefulSet"

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kube-controller-manager")
        self.clock = mgr.clock
        self.events = mgr.recorder(self.name)
        self.sets = mgr.informer(STATEFULSETS)
        self.pods = mgr.informer(PODS)
        self.claims = mgr.informer(PVCS)
        self.revisions = mgr.informer(CONTROLLERREVISIONS)
        for inf in (self.pods, self.revisions):
            inf.add_index(BY_CONTROLLER, by_controller_owner)
            inf.add_index(ORPHANS, orphan_namespace)
        self.sets.add_handler(enqueue_self(self))
        self.pods.add_handler(enqueue_owner(self, self.kind, also=self._orphan))
        self.revisions.add_handler(enqueue_owner(self, self.kind, also=self._orphan))

    def _orphan(self, obj: Obj) -> None:
        if controller_ref(obj) is not None or obj["metadata"].get("deletionTimestamp"):
            return
        for sts in selecting(self.sets.list(obj["metadata"].get("namespace", "")), obj):
            self.enqueue(sts)

    # -- reconcile
    def reconcile(self, request: Request) -> Result | None:
        sts = self.sets.get(request.name, request.namespace)
        if sts is None:
            return None
        sel = selector(sts["spec"].get("selector"))
        name = sts["metadata"]["name"]
        revisions = sort_revisions(claim(
            self.client, CONTROLLERREVISIONS, self.revisions, sts,
            lambda r: sel.matches(r["metadata"].get("labels"))))
        pods = claim(self.client, PODS, self.pods, sts, lambda p: sel.matches(
            p["metadata"].get("labels")) and parent_and_ordinal(p)[0] == name)
        run = _Sync(self, sts, pods, revisions)
        return run.sync()

    # -- settle
    def unconverged(self) -> list[str]:
        out = []
        for sts in self.sets:
            meta = sts["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            status = sts.get("status") or {}
            want = spec_replicas(sts)
            strategy = sts["spec"].get("updateStrategy") or {}
            rolling = strategy.get("type") == "RollingUpdate"
            partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
            updated = int(status.get("updatedReplicas") or 0)
            if (int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0)
                    or int(status.get("replicas") or 0) != want
                    or int(status.get("readyReplicas") or 0) < want
                    or int(status.get("availableReplicas") or 0) < want
                    or (rolling and partition > 0 and updated < want - partition)
                    or (rolling and partition <= 0 and status.get("currentRevision")
                        != status.get("updateRevision"))):
                out.append(f"statefulset/{meta['namespace']}/{meta['name']}")
        return out


class _Sync:
    """One reconcile of one StatefulSet (``defaultStatefulSetControl.UpdateStatefulSet``)."""

    def __init__(self, ctrl: StatefulSetController, sts: Obj, pods: list[Obj],
                 revisions: list[Obj]) -> None:
        self.ctrl = ctrl
        self.client = ctrl.client
        self.events = ctrl.events
        self.sts = sts
        self.pods = pods
        self.revisions = revisions
        self.now = ctrl.clock.now()
        self.min_ready = int(sts["spec"].get("minReadySeconds") or 0)
        self.monotonic = sts["spec"].get("podManagementPolicy") != "Parallel"

    def sync(self) -> Result | None:
        sts = self.sts
        current, update, collision = self._revisions()
        status, error = self._update(current, update, collision)
        result = self._write_status(status)
        if result is not None and error is None:
            return result
        self._truncate_history(current, update)
        if error is not None:
            raise error
        if self.min_ready > 0 and status.get("availableReplicas", 0) != spec_replicas(sts):
            wait = self._next_available()
            if wait is not None:
                return Result(requeue_after=wait)
        return None

    def _next_available(self) -> float | None:
        """When the next ready pod becomes available (upstream requeues every
        minReadySeconds; on the virtual clock that would never let the cluster idle)."""
        waits = [(pod_ready_since(p) or self.now) + self.min_ready - self.now
                 for p in self.pods if is_pod_ready(p)
                 and not is_pod_available(p, self.min_ready, self.now)]
        return max(min(waits), 0.001) if waits else None

    # -- revisions
    def _revisions(self) -> tuple[Obj, Obj, int]:
        """The current and update revisions, creating or renumbering the update revision as
        the template requires (``getStatefulSetRevisions``)."""
        sts, revisions = self.sts, self.revisions
        collision = int((sts.get("status") or {}).get("collisionCount") or 0)
        template = sts["spec"].get("template") or {}
        number = max_revision(revisions) + 1
        equal = [r for r in revisions if equal_data(r, template)]
        if equal and revisions and equal[-1] is revisions[-1]:
            update = revisions[-1]
        elif equal:
            update = update_revision_number(self.client, equal[-1], number)
            self.revisions = sort_revisions(
                [update if r is equal[-1] else r for r in revisions])
        else:
            update, collision = create_revision(self.client, sts, template, number, collision)
            self.revisions = [*revisions, update]
        current_name = (sts.get("status") or {}).get("currentRevision")
        current = next((r for r in self.revisions
                        if r["metadata"]["name"] == current_name), update)
        return current, update, collision

    def _truncate_history(self, current: Obj, update: Obj) -> None:
        live = {current["metadata"]["name"], update["metadata"]["name"]}
        live.update(_revision_of(p) for p in self.pods)
        history = [r for r in self.revisions if r["metadata"]["name"] not in live]
        limit = self.sts["spec"].get("revisionHistoryLimit")
        limit = 10 if limit is None else int(limit)
        for cr in history[:max(len(history) - limit, 0)]:
            with contextlib.suppress(errors.NotFound):
                self.client.delete(CONTROLLERREVISIONS, cr["metadata"]["name"],
                                   cr["metadata"]["namespace"])

    # -- the update itself
    def _status(self, current: Obj, update: Obj, collision: int,
                pods: list[Obj]) -> Obj:
        replicas = ready = available = cur = upd = 0
        cur_name, upd_name = current["metadata"]["name"], update["metadata"]["name"]
        for pod in pods:
            created = _created(pod)
            replicas += created
            if _running_and_ready(pod):
                ready += 1
                available += is_pod_available(pod, self.min_ready, self.now)
            if created and not _terminating(pod):
                cur += _revision_of(pod) == cur_name
                upd += _revision_of(pod) == upd_name
        return {"observedGeneration": self.sts["metadata"].get("generation"),
                "replicas": replicas, "readyReplicas": ready, "currentReplicas": cur,
                "updatedReplicas": upd, "currentRevision": cur_name, "updateRevision": upd_name,
                "collisionCount": collision, "availableReplicas": available}

    def _update(self, current: Obj, update: Obj,
                collision: int) -> tuple[Obj, errors.APIError | None]:
        """Create, fix and delete pods toward the target (``updateStatefulSet``); returns the
        status to record, and the error that stopped it if one did."""
        sts = self.sts
        current_template = revision_template(current) or sts["spec"].get("template") or {}
        update_template = revision_template(update) or sts["spec"].get("template") or {}
        start, count = start_ordinal(sts), spec_replicas(sts)
        slots: list[Obj | None] = [None] * count
        condemned: list[Obj] = []
        for pod in self.pods:
            ordinal = ordinal_of(pod)
            if start <= ordinal < start + count:
                slots[ordinal - start] = pod
            elif ordinal >= 0:
                condemned.append(pod)
        strategy = sts["spec"].get("updateStrategy") or {}
        rolling = strategy.get("rollingUpdate")
        partition = int((rolling or {}).get("partition") or 0)
        current_replicas = int((sts.get("status") or {}).get("currentReplicas") or 0)
        for i in range(count):
            if slots[i] is None:
                ordinal = start + i
                at_current = (
                    (strategy.get("type") == "RollingUpdate" and rolling is None
                     and ordinal < start + current_replicas)
                    or (rolling is not None and ordinal < start + partition))
                slots[i] = (new_pod(sts, current_template, ordinal, current["metadata"]["name"])
                            if at_current else
                            new_pod(sts, update_template, ordinal, update["metadata"]["name"]))
        replicas: list[Obj] = [p for p in slots if p is not None]
        condemned.sort(key=ordinal_of, reverse=True)
        first_unhealthy = next((p for p in replicas if not _healthy(p)), None)
        if first_unhealthy is None:
            first_unhealthy = next((p for p in reversed(condemned) if not _healthy(p)), None)

        def status() -> Obj:
            return self._status(current, update, collision, replicas + condemned)

        if sts["metadata"].get("deletionTimestamp"):
            return status(), None
        try:
            if self._run_for_all(replicas, self._process_replica) or self._run_for_all(
                    condemned, self._fix_claims) or self._run_for_all(
                        condemned, lambda p: self._process_condemned(p, first_unhealthy)):
                return status(), None
        except errors.APIError as exc:
            return status(), exc
        result = status()
        if strategy.get("type") == "OnDelete":
            return result, None
        try:
            self._rolling_update(replicas, update, partition, result)
        except errors.APIError as exc:
            return result, exc
        return result, None

    def _run_for_all(self, pods: list[Obj], fn: Callable[[Obj], bool]) -> bool:
        """OrderedReady: one pod after the other, stopping where ``fn`` says to wait.
        Parallel: every pod, in slow-start batches that stop at the first failing batch.
        True when the caller must stop here."""
        if self.monotonic:
            return any(fn(p) for p in pods)
        i, batch = 0, 1
        while i < len(pods):
            failure: errors.APIError | None = None
            for pod in pods[i:i + batch]:
                try:
                    fn(pod)
                except errors.APIError as exc:
                    failure = failure or exc
            if failure is not None:
                raise failure
            i += batch
            batch = min(batch * 2, MAX_BATCH)
        return False

    def _process_replica(self, pod: Obj) -> bool:
        """Bring one in-range pod toward running and ready; True to stop (OrderedReady)."""
        sts = self.sts
        phase = _phase(pod)
        if phase in ("Failed", "Succeeded"):
            if not _terminating(pod):
                self._delete_pod(pod)
            return True
        if not _created(pod):
            self._create_pod(pod)
            return bool(self.monotonic)
        if phase == "Pending":
            self._create_claims(pod)
        if _terminating(pod) and self.monotonic:
            return True
        if not _running_and_ready(pod) and self.monotonic:
            return True
        if not is_pod_available(pod, self.min_ready, self.now) and self.monotonic:
            return True
        self._fix_claims(pod)
        if not _identity_matches(sts, pod) or not _storage_matches(sts, pod):
            self._update_pod(pod)
        return False

    def _process_condemned(self, pod: Obj, first_unhealthy: Obj | None) -> bool:
        """Remove one pod beyond the replica count; True to stop (OrderedReady)."""
        if _terminating(pod):
            return self.monotonic
        if self.monotonic and pod is not first_unhealthy and (
                not _running_and_ready(pod)
                or not is_pod_available(pod, self.min_ready, self.now)):
            return True
        self._delete_pod(pod)
        return True

    def _rolling_update(self, replicas: list[Obj], update: Obj, partition: int,
                        status: Obj) -> None:
        """Delete up to maxUnavailable old pods, highest ordinal first, down to the partition
        (``updateStatefulSetAfterInvariantEstablished``)."""
        sts = self.sts
        target = update["metadata"]["name"]
        rolling = (sts["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}
        count = spec_replicas(sts)
        max_unavailable = _max_unavailable(rolling.get("maxUnavailable"), count)

        def unavailable(p: Obj) -> bool:
            return _terminating(p) or not _running_and_ready(p) or not is_pod_available(
                p, self.min_ready, self.now)

        def old(p: Obj) -> bool:
            return _revision_of(p) != target and not _terminating(p)

        down = sum(1 for p in replicas if unavailable(p))
        parallel = not self.monotonic
        down_and_old = sum(1 for p in replicas if parallel and unavailable(p) and old(p))
        if down >= max_unavailable and down_and_old == 0:
            return
        span = range(len(replicas) - 1, partition - 1, -1)
        if parallel:
            for i in span:  # first the old pods that are down anyway
                if old(replicas[i]) and unavailable(replicas[i]):
                    self._delete_pod(replicas[i])
                    status["currentReplicas"] -= 1
            budget = max_unavailable - down
            for i in span:
                if budget <= 0:
                    break
                if old(replicas[i]) and not unavailable(replicas[i]):
                    self._delete_pod(replicas[i])
                    budget -= 1
                    status["currentReplicas"] -= 1
            return
        budget = max_unavailable - down
        for i in span:
            if budget <= 0:
                break
            if old(replicas[i]):
                self._delete_pod(replicas[i])
                budget -= 1
                status["currentReplicas"] -= 1

    # -- writes
    def _pod_event(self, verb: str, pod: Obj, error: errors.APIError | None) -> None:
        pname, sname = pod["metadata"]["name"], self.sts["metadata"]["name"]
        if error is None:
            self.events.normal(self.sts, f"Successful{verb.title()}",
                               f"{verb} Pod {pname} in StatefulSet {sname} successful")
        else:
            message = error.status.get("message", str(error))
            self.events.warning(self.sts, f"Failed{verb.title()}",
                                f"{verb} Pod {pname} in StatefulSet {sname} failed error: "
                                f"{message}")

    def _create_claims(self, pod: Obj) -> None:
        """Create the pod's missing claims (``createPersistentVolumeClaims``)."""
        sts = self.sts
        problems: list[str] = []
        for _, c in _claims(sts, ordinal_of(pod)):
            cname, ns = c["metadata"]["name"], c["metadata"]["namespace"]
            existing = self.ctrl.claims.get(cname, ns)
            if existing is not None:
                if existing["metadata"].get("deletionTimestamp"):
                    problems.append(f"pvc {cname} is being deleted")
                continue
            try:
                self.client.create(PVCS, c, ns)
            except errors.AlreadyExists:
                continue
            except errors.APIError as exc:
                message = exc.status.get("message", str(exc))
                problems.append(f"failed to create PVC {cname}: {message}")
                self.events.warning(sts, "FailedCreate",
                                    f"create Claim {cname} for Pod {pod['metadata']['name']} in "
                                    f"StatefulSet {sts['metadata']['name']} failed error: "
                                    f"{message}")
                continue
            self.events.normal(sts, "SuccessfulCreate",
                               f"create Claim {cname} Pod {pod['metadata']['name']} in "
                               f"StatefulSet {sts['metadata']['name']} success")
        if problems:
            raise errors.Conflict("; ".join(problems))

    def _create_pod(self, pod: Obj) -> None:
        """Claims first, then the pod (``CreateStatefulPod``)."""
        try:
            self._create_claims(pod)
        except errors.APIError as exc:
            self._pod_event("create", pod, exc)
            raise
        body = {k: v for k, v in pod.items() if k != "status"}
        try:
            created = self.client.create(PODS, body, self.sts["metadata"]["namespace"])
        except errors.AlreadyExists:
            return  # an earlier pod of that name is still going away
        except errors.APIError as exc:
            self._pod_event("create", pod, exc)
            raise
        self._fix_claims(created)
        self._pod_event("create", pod, None)

    def _delete_pod(self, pod: Obj) -> None:
        try:
            self.client.delete(PODS, pod["metadata"]["name"], pod["metadata"]["namespace"])
        except errors.NotFound:
            return
        except errors.APIError as exc:
            self._pod_event("delete", pod, exc)
            raise
        self._pod_event("delete", pod, None)

    def _update_pod(self, pod: Obj) -> None:
        """Restore identity labels and missing claims of an existing pod (its volumes cannot
        change once it exists)."""
        sts = self.sts
        ordinal = ordinal_of(pod)
        if not _storage_matches(sts, pod):
            self._create_claims(pod)
        if _identity_matches(sts, pod):
            return
        meta = pod["metadata"]
        try:
            self.client.patch(PODS, meta["name"], {"metadata": {
                "labels": {POD_NAME_LABEL: meta["name"], POD_INDEX_LABEL: str(ordinal)},
                "resourceVersion": meta["resourceVersion"]}}, meta["namespace"],
                patch_type=PatchType.MERGE)
        except errors.NotFound:
            return
        except errors.APIError as exc:
            self._pod_event("update", pod, exc)
            raise
        self._pod_event("update", pod, None)

    def _fix_claims(self, pod: Obj) -> bool:
        """Point the claims' ownerReferences where the retention policy says."""
        if not pod["metadata"].get("uid"):
            return False
        for _, c in _claims(self.sts, ordinal_of(pod)):
            existing = self.ctrl.claims.get(c["metadata"]["name"], c["metadata"]["namespace"])
            if existing is None:
                continue
            refs = list(existing["metadata"].get("ownerReferences") or ())
            wanted = _wanted_claim_refs(self.sts, pod, refs)
            if wanted is None:
                continue
            meta = existing["metadata"]
            try:
                self.client.patch(PVCS, meta["name"], {"metadata": {
                    "ownerReferences": wanted or None,
                    "resourceVersion": meta["resourceVersion"]}}, meta["namespace"],
                    patch_type=PatchType.MERGE)
            except errors.NotFound:
                continue
        return False

    def _write_status(self, status: Obj) -> Result | None:
        """Record the status when it differs (``updateStatefulSetStatus``), completing a
        rolling update whose pods are all updated and ready."""
        sts = self.sts
        want = spec_replicas(sts)
        if ((sts["spec"].get("updateStrategy") or {}).get("type") == "RollingUpdate"
                and status["updatedReplicas"] == want and status["readyReplicas"] == want
                and status["replicas"] == want):
            status["currentReplicas"] = status["updatedReplicas"]
            status["currentRevision"] = status["updateRevision"]
        old = sts.get("status") or {}
        new: Obj = {k: v for k, v in old.items() if k == "conditions"}
        for key, value in status.items():
            if value or key in ("replicas", "availableReplicas", "collisionCount"):
                new[key] = value
        if new == old:
            return None
        try:
            self.client.replace_status(STATEFULSETS, {
                "apiVersion": sts["apiVersion"], "kind": sts["kind"],
                "metadata": {"name": sts["metadata"]["name"],
                             "namespace": sts["metadata"]["namespace"],
                             "resourceVersion": sts["metadata"]["resourceVersion"]},
                "spec": sts["spec"], "status": new})
        except errors.Conflict:
            return Result(requeue=True)
        except errors.NotFound:
            return None
        return None


def _max_unavailable(value: Any, replicas: int) -> int:
    """``getStatefulSetMaxUnavailable``: default 1, percentages round down, at least 1."""
    if value is None:
        return 1
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            result = int(value.strip()[:-1]) * replicas // 100
        except ValueError:
            result = 1
    else:
        try:
            result = int(value)
        except (TypeError, ValueError):
            result = 1
    return max(result, 1)
