"""The Deployment controller: roll a pod template out through ReplicaSets.

Level-based, as ``pkg/controller/deployment``: each reconcile claims the ReplicaSets the
Deployment's selector matches (adopting orphans, releasing those that stopped matching), finds the
*new* one (whose template equals the Deployment's, ignoring ``pod-template-hash``) and the old
ones, then, depending on the situation:

- paused, or a *scaling event* (an active ReplicaSet's ``desired-replicas`` annotation differs
  from ``spec.replicas``): scale every ReplicaSet proportionally, never start a rollout;
- ``RollingUpdate``: scale the new ReplicaSet up within ``replicas + maxSurge``, and the old ones
  down while at least ``replicas - maxUnavailable`` pods stay available;
- ``Recreate``: scale the old ones to zero, wait until their pods are gone, then create the new
  one at full size.

Revisions live in ``deployment.kubernetes.io/revision`` annotations: the new ReplicaSet always
gets the highest, so ``kubectl rollout undo`` (which copies an old ReplicaSet's template back
into the Deployment, client side) makes that ReplicaSet new again and bumps its revision,
keeping the old numbers in ``revision-history``. The status (counts, Available and Progressing
conditions) is what ``kubectl rollout status`` reads; ``progressDeadlineSeconds`` is checked by
a ``requeue_after`` on the cluster clock.

Reads come from the informers only (ReplicaSets indexed by controlling owner, orphans by
namespace), so a reconcile costs O(ReplicaSets of the Deployment), not O(cluster).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from kubenb.api import errors
from kubenb.api.kinds import DEPLOYMENTS, PODS, REPLICASETS
from kubenb.client.client import PatchType, deepcopy
from kubenb.controllers.podutil import (
    controller_ref,
    now_string,
    owner_reference,
    parse_time,
    selector,
    spec_replicas,
)
from kubenb.runtime.clock import Timer
from kubenb.runtime.controller import (
    Controller,
    Request,
    Result,
    TerminalError,
    enqueue_owner,
    enqueue_self,
)
from kubenb.runtime.informer import (
    BY_CONTROLLER,
    ORPHANS,
    Handler,
    by_controller_owner,
    orphan_namespace,
)
from kubenb.runtime.manager import Manager

__all__ = [
    "DeploymentController", "equal_ignore_hash", "max_surge", "max_unavailable",
    "pod_template_hash", "resolve_fenceposts", "scaled_value",
]

Obj = dict[str, Any]

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
#: Deployment annotations never copied to its ReplicaSets
SKIP_ANNOTATIONS = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS,
                              MAX_REPLICAS, ROLLBACK_TO})
MAX_INT32 = 2**31 - 1
#: how long ``revision-history`` may grow (the controller's default)
MAX_REV_HISTORY_CHARS = 2000

# condition types and reasons (pkg/controller/deployment/util)
PROGRESSING = "Progressing"
AVAILABLE = "Available"
REPLICA_FAILURE = "ReplicaFailure"
NEW_RS_REASON = "NewReplicaSetCreated"
FOUND_NEW_RS_REASON = "FoundNewReplicaSet"
RS_UPDATED_REASON = "ReplicaSetUpdated"
NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
PAUSED_REASON = "DeploymentPaused"
RESUMED_REASON = "DeploymentResumed"
FAILED_RS_CREATE_REASON = "ReplicaSetCreateError"
MIN_AVAILABLE_REASON = "MinimumReplicasAvailable"
MIN_UNAVAILABLE_REASON = "MinimumReplicasUnavailable"

#: failed syncs retried (with back-off) before the Deployment is dropped until its next change
MAX_RETRIES = 15


class _Requeue(Exception):
    """Stop this reconcile and look again after the rate limiter's delay."""


# ---------------------------------------------------------------------------------------------
# pure helpers (``pkg/controller/deployment/util``)


def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """An IntOrString (``5`` or ``"25%"``) against ``total``, percentages rounded up or down."""
    if value is None:
        return 0
    if isinstance(value, str):
        if value.endswith("%"):
            percent = int(value[:-1])
            exact = percent * total / 100
            return math.ceil(exact) if round_up else math.floor(exact)
        return int(value)
    return int(value)


def resolve_fenceposts(surge: int | str | None, unavailable: int | str | None,
                       desired: int) -> tuple[int, int]:
    """maxSurge (rounded up) and maxUnavailable (rounded down); if both come to zero,
    unavailable is 1, as upstream, so a rollout can always move."""
    s = scaled_value(surge, desired, True)
    u = scaled_value(unavailable, desired, False)
    if s == 0 and u == 0:
        u = 1
    return s, u


def _is_rolling(d: Obj) -> bool:
    strategy = d["spec"].get("strategy") or {}
    return (strategy.get("type") or "RollingUpdate") == "RollingUpdate"


def _fenceposts(d: Obj) -> tuple[int, int]:
    rolling = (d["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    return resolve_fenceposts(rolling.get("maxSurge", "25%"),
                              rolling.get("maxUnavailable", "25%"), spec_replicas(d))


def max_surge(d: Obj) -> int:
    return _fenceposts(d)[0] if _is_rolling(d) else 0


def max_unavailable(d: Obj) -> int:
    want = spec_replicas(d)
    if not _is_rolling(d) or want == 0:
        return 0
    return min(_fenceposts(d)[1], want)


def _prune(value: Any) -> Any:
    """Drop nulls and empty maps/lists: Go's semantic equality treats nil and empty alike, and
    JSON round trips differ in exactly those."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _prune(v)
            if v is None or v == {} or v == []:
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _template_key(template: Obj | None) -> bytes:
    """The canonical form of a pod template, without ``pod-template-hash``."""
    t = _prune(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if labels and HASH_LABEL in labels:
        labels = {k: v for k, v in labels.items() if k != HASH_LABEL}
        meta = {**t["metadata"], "labels": labels}
        if not labels:
            del meta["labels"]
        t = {**t, "metadata": meta}
        if not meta:
            del t["metadata"]
    return orjson.dumps(t, option=orjson.OPT_SORT_KEYS)


def equal_ignore_hash(a: Obj | None, b: Obj | None) -> bool:
    """Whether two pod templates are the same but for the ``pod-template-hash`` label."""
    return _template_key(a) == _template_key(b)


_SAFE = "bcdfghjklmnpqrstvwxz2456789"  # no vowels, no 0/1/3: no words, no look-alikes


def pod_template_hash(template: Obj | None, collision_count: int | None = None) -> str:
    """The ``pod-template-hash`` of a template: FNV-1a (32 bit) of its canonical JSON, and of
    ``collisionCount`` when set, spelled in a vowel-free alphabet as upstream."""
    h = 0x811C9DC5
    data = _template_key(template)
    if collision_count is not None:
        data += int(collision_count).to_bytes(4, "little", signed=False)
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE[b % len(_SAFE)] for b in str(h).encode())


def _revision(rs: Obj | None) -> int:
    if rs is None:
        return 0
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _created_key(obj: Obj) -> tuple[float, str]:
    meta = obj["metadata"]
    return (parse_time(meta.get("creationTimestamp")) or 0.0, meta["name"])


def _by_size_newer(rs: Obj) -> tuple[int, float, str]:
    """Larger first; among equals, newer first (who gets scaled up first)."""
    t, name = _created_key(rs)
    return (-spec_replicas(rs), -t, _neg(name))


def _by_size_older(rs: Obj) -> tuple[int, float, str]:
    """Larger first; among equals, older first (who gets scaled down first)."""
    t, name = _created_key(rs)
    return (-spec_replicas(rs), t, name)


def _neg(name: str) -> str:
    # descending string order inside an ascending sort key
    return "".join(chr(0x10FFFF - ord(ch)) for ch in name)


def _active(rss: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None and spec_replicas(rs) > 0]


def _status_sum(rss: Iterable[Obj | None], field: str) -> int:
    return sum(int((rs.get("status") or {}).get(field) or 0) for rs in rss if rs is not None)


def _spec_sum(rss: Iterable[Obj | None]) -> int:
    return sum(spec_replicas(rs) for rs in rss if rs is not None)


def _has_progress_deadline(d: Obj) -> bool:
    value = d["spec"].get("progressDeadlineSeconds")
    return value is not None and int(value) != MAX_INT32


def _get_cond(status: Obj | None, ctype: str) -> Obj | None:
    for cond in (status or {}).get("conditions") or ():
        if cond.get("type") == ctype:
            return cond
    return None


def _new_cond(ctype: str, cstatus: str, reason: str, message: str, now: str) -> Obj:
    return {"type": ctype, "status": cstatus, "lastUpdateTime": now, "lastTransitionTime": now,
            "reason": reason, "message": message}


def _set_cond(status: Obj, cond: Obj) -> None:
    """``SetDeploymentCondition``: same status and reason is no change at all (not even the
    message); a changed reason keeps lastTransitionTime when the status is the same."""
    current = _get_cond(status, cond["type"])
    if current is not None and current.get("status") == cond["status"] and \
            current.get("reason") == cond["reason"]:
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    status["conditions"] = [c for c in status.get("conditions") or ()
                            if c.get("type") != cond["type"]] + [cond]


def _remove_cond(status: Obj, ctype: str) -> None:
    conditions = [c for c in status.get("conditions") or () if c.get("type") != ctype]
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)


def _complete(d: Obj, status: Obj) -> bool:
    """``DeploymentComplete``: every replica updated and available, the spec observed."""
    want = spec_replicas(d)
    return (status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want
            and status.get("observedGeneration", 0) >= d["metadata"].get("generation", 0))


def _progressing(d: Obj, new: Obj) -> bool:
    """``DeploymentProgressing``: more updated/ready/available pods, or fewer old ones."""
    old = d.get("status") or {}
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return (new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0)
            or new_old < old_old
            or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or new.get("availableReplicas", 0) > old.get("availableReplicas", 0))


def _timed_out(d: Obj, status: Obj, now: float) -> bool:
    if not _has_progress_deadline(d):
        return False
    cond = _get_cond(status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE_REASON:
        return False
    if cond.get("reason") == TIMED_OUT_REASON:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    if since is None:
        return False
    return since + int(d["spec"]["progressDeadlineSeconds"]) < now


def _set_replicas_annotations(rs: Obj, desired: int, maximum: int) -> bool:
    annotations = rs["metadata"].setdefault("annotations", {})
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if annotations.get(key) != value:
            annotations[key] = value
            changed = True
    return changed


def _annotations_need_update(rs: Obj, desired: int, maximum: int) -> bool:
    annotations = rs["metadata"].get("annotations") or {}
    return (annotations.get(DESIRED_REPLICAS) != str(desired)
            or annotations.get(MAX_REPLICAS) != str(maximum))


def _set_new_rs_annotations(d: Obj, rs: Obj, new_revision: int, exists: bool) -> bool:
    """Copy the Deployment's own annotations, raise the revision (keeping earlier numbers in
    ``revision-history`` when a ReplicaSet comes back by rollback), and, for a ReplicaSet about
    to be created, the replicas annotations. Returns whether anything changed."""
    annotations = rs["metadata"].setdefault("annotations", {})
    changed = False
    for k, v in (d["metadata"].get("annotations") or {}).items():
        if k in SKIP_ANNOTATIONS or annotations.get(k) == v:
            continue
        annotations[k] = v
        changed = True
    old_text = annotations.get(REVISION)
    had = old_text is not None
    try:
        old = int(old_text) if old_text else 0
    except ValueError:
        return changed  # not a number: leave it alone, as upstream
    if old < new_revision:
        annotations[REVISION] = str(new_revision)
        changed = True
        if had:
            history = annotations.get(REVISION_HISTORY, "")
            if not history:
                annotations[REVISION_HISTORY] = old_text or ""
            else:
                parts = history.split(",")
                total = len(history) + len(old_text or "") + 1
                start = 0
                while total > MAX_REV_HISTORY_CHARS and start < len(parts):
                    total -= len(parts[start]) + 1
                    start += 1
                if total <= MAX_REV_HISTORY_CHARS:
                    annotations[REVISION_HISTORY] = ",".join([*parts[start:], old_text or ""])
    if not exists and _set_replicas_annotations(rs, spec_replicas(d),
                                                spec_replicas(d) + max_surge(d)):
        changed = True
    return changed


def _find_new(d: Obj, rss: Sequence[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template is the Deployment's (ignoring the hash label)."""
    want = _template_key(d["spec"].get("template"))
    for rs in sorted(rss, key=_created_key):
        if _template_key(rs["spec"].get("template")) == want:
            return rs
    return None


def _new_rs_replicas(d: Obj, all_rss: Sequence[Obj], new_rs: Obj) -> int:
    """``NewRSNewReplicas``: how big the new ReplicaSet may be now."""
    want = spec_replicas(d)
    if not _is_rolling(d):
        return want
    total = _spec_sum(all_rss)
    ceiling = want + max_surge(d)
    current = spec_replicas(new_rs)
    if total >= ceiling:
        return current
    return current + min(ceiling - total, want - current)


def _proportion(rs: Obj, d: Obj, to_add: int, added: int) -> int:
    """``GetReplicaSetProportion``: this ReplicaSet's share of a resize during a rollout."""
    size = spec_replicas(rs)
    if size == 0 or to_add == 0 or to_add == added:
        return 0
    want = spec_replicas(d)
    if want == 0:
        fraction = -size
    else:
        now_max = want + max_surge(d)
        try:
            before = int((rs["metadata"].get("annotations") or {}).get(MAX_REPLICAS, ""))
        except ValueError:
            before = 0
        if before == 0:
            before = int((d.get("status") or {}).get("replicas", 0))
        if before == 0:
            fraction = 0
        else:
            exact = size * now_max / before
            fraction = (int(exact + 0.5) if exact >= 0 else int(exact - 0.5)) - size
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _is_saturated(d: Obj, rs: Obj | None) -> bool:
    if rs is None:
        return False
    try:
        desired = int((rs["metadata"].get("annotations") or {}).get(DESIRED_REPLICAS, ""))
    except ValueError:
        return False
    want = spec_replicas(d)
    return (spec_replicas(rs) == want and desired == want
            and int((rs.get("status") or {}).get("availableReplicas") or 0) == want)


# ---------------------------------------------------------------------------------------------


class DeploymentController(Controller):
    name = "deployment-controller"
    primary = DEPLOYMENTS

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kube-controller-manager")
        self.clock = mgr.clock
        self.events = mgr.recorder(self.name)
        self.deployments = mgr.informer(DEPLOYMENTS)
        self.sets = mgr.informer(REPLICASETS)
        self.pods = mgr.informer(PODS)
        self.sets.add_index(BY_CONTROLLER, by_controller_owner)
        self.sets.add_index(ORPHANS, orphan_namespace)
        self.pods.add_index(BY_CONTROLLER, by_controller_owner)
        self.deployments.add_handler(enqueue_self(self))
        self.sets.add_handler(enqueue_owner(self, "Deployment", also=self._orphan_set))
        self.pods.add_handler(Handler(on_delete=self._pod_deleted))
        self._now = 0.0
        self._due: float | None = None
        self._deadlines: dict[Request, Timer] = {}

    # ------------------------------------------------------------------ event handlers

    def _orphan_set(self, rs: Obj) -> None:
        """An orphaned ReplicaSet may be adopted by any Deployment whose selector matches."""
        if controller_ref(rs) is not None:
            return
        meta = rs["metadata"]
        for d in self.deployments.list(meta.get("namespace") or ""):
            sel = d["spec"].get("selector")
            if sel and selector(sel).matches(meta.get("labels")):
                self.enqueue(d)

    def _pod_deleted(self, pod: Obj) -> None:
        """A Recreate rollout waits for the old pods to be gone: look again when one goes."""
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        ns = pod["metadata"].get("namespace") or ""
        rs = self.sets.get(ref["name"], ns)
        dref = controller_ref(rs) if rs is not None else None
        if dref is None or dref.get("kind") != "Deployment":
            return
        d = self.deployments.get(dref["name"], ns)
        if d is not None and not _is_rolling(d):
            self.enqueue(d)

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, request: Request) -> Result | None:
        cached = self.deployments.get(request.name, request.namespace)
        self._due = None
        try:
            if cached is None:
                return None  # its ReplicaSets are the garbage collector's
            self._now = self.clock.now()
            return self._sync(deepcopy(cached))
        except (errors.Conflict, errors.NotFound, _Requeue):
            return Result(requeue=True)
        except Exception as exc:
            if self.queue.num_requeues(request) >= MAX_RETRIES:
                # as upstream: give up until something about the Deployment changes
                raise TerminalError(f"{type(exc).__name__}: {exc} (gave up after "
                                    f"{MAX_RETRIES} retries)") from exc
            raise
        finally:
            self._arm(request, self._due)

    def _arm(self, request: Request, due: float | None) -> None:
        """Keep one wake-up per Deployment for its progress deadline, and drop it as soon as
        the rollout no longer needs it. (A plain ``requeue_after`` would stay pending after the
        rollout completes, and on the virtual clock ``settle()`` would then jump to it.)"""
        timer = self._deadlines.get(request)
        if timer is not None and not timer.cancelled and timer.when == due:
            return
        if timer is not None:
            timer.cancel()  # no longer counted as pending work
            del self._deadlines[request]
        if due is None:
            return

        def fire() -> None:
            if self._deadlines.get(request) is timer:
                del self._deadlines[request]
            self.queue.add(request)

        timer = self._deadlines[request] = self.clock.call_at(due, fire)

    def unconverged(self) -> list[str]:
        out = []
        for d in self.deployments:
            meta = d["metadata"]
            if meta.get("deletionTimestamp") or d["spec"].get("paused"):
                continue
            status = d.get("status") or {}
            want = spec_replicas(d)
            if not (status.get("updatedReplicas", 0) == want == status.get("replicas", 0)
                    == status.get("availableReplicas", 0)
                    and status.get("observedGeneration", 0) >= meta.get("generation", 0)):
                out.append(f"deployment/{meta.get('namespace')}/{meta['name']}")
        return out

    def _sync(self, d: Obj) -> Result | None:
        sel = d["spec"].get("selector")
        if not sel or not (sel.get("matchLabels") or sel.get("matchExpressions")):
            self.events.warning(d, "SelectingAll", "This deployment is selecting all pods. A "
                                "non-empty selector is required.")
            status = d.get("status") or {}
            if status.get("observedGeneration", 0) < d["metadata"].get("generation", 0):
                self._write_status(d, {**status,
                                       "observedGeneration": d["metadata"]["generation"]})
            return None
        rss = self._claim(d)
        if d["metadata"].get("deletionTimestamp"):
            new_rs, old_rss = self._new_and_old(d, rss, create=False)
            self._sync_status(d, [*old_rss, new_rs], new_rs)
            return None
        self._check_paused_conditions(d)
        if d["spec"].get("paused"):
            return self._sync_scaling(d, rss)
        new_rs, old_rss = self._new_and_old(d, rss, create=False)
        want = spec_replicas(d)
        for rs in _active([*old_rss, new_rs]):
            desired = (rs["metadata"].get("annotations") or {}).get(DESIRED_REPLICAS)
            if desired is not None and desired.isdigit() and int(desired) != want:
                return self._sync_scaling(d, rss)
        if _is_rolling(d):
            return self._rollout_rolling(d, rss)
        return self._rollout_recreate(d, rss)

    # ------------------------------------------------------------------ claiming

    def _claim(self, d: Obj) -> list[Obj]:
        """The ReplicaSets this Deployment controls (private copies), after adopting matching
        orphans and releasing owned ones whose labels no longer match."""
        meta = d["metadata"]
        ns, uid = meta["namespace"], meta["uid"]
        sel = selector(d["spec"]["selector"])
        deleting = bool(meta.get("deletionTimestamp"))
        out: list[Obj] = []
        for rs in self.sets.by_index(BY_CONTROLLER, uid):
            if sel.matches(rs["metadata"].get("labels")):
                out.append(deepcopy(rs))
            elif not deleting:
                self._patch_owners(rs, [r for r in rs["metadata"]["ownerReferences"]
                                        if r.get("uid") != uid])
        if deleting:
            return out
        orphans = [rs for rs in self.sets.by_index(ORPHANS, ns)
                   if not rs["metadata"].get("deletionTimestamp")
                   and sel.matches(rs["metadata"].get("labels"))]
        if orphans:
            try:  # adopt only if the Deployment is really still there (uncached read)
                fresh = self.client.get(DEPLOYMENTS, meta["name"], ns)
            except errors.NotFound:
                return out
            if fresh["metadata"]["uid"] != uid or fresh["metadata"].get("deletionTimestamp"):
                return out
            for rs in orphans:
                refs = [*(rs["metadata"].get("ownerReferences") or ()), owner_reference(d)]
                adopted = self._patch_owners(rs, refs)
                if adopted is not None:
                    adopted["metadata"].pop("managedFields", None)
                    out.append(adopted)
        return out

    def _patch_owners(self, rs: Obj, refs: list[Obj]) -> Obj | None:
        rm = rs["metadata"]
        try:
            return self.client.patch(REPLICASETS, rm["name"], {"metadata": {
                "ownerReferences": refs or None, "resourceVersion": rm["resourceVersion"]}},
                rm["namespace"], patch_type=PatchType.MERGE)
        except errors.NotFound:
            return None

    # ------------------------------------------------------------------ revisions

    def _new_and_old(self, d: Obj, rss: list[Obj], *,
                     create: bool) -> tuple[Obj | None, list[Obj]]:
        """``getAllReplicaSetsAndSyncRevision``: the new ReplicaSet (created when asked and
        missing) with the highest revision, the Deployment's revision annotation in step, and
        the old ReplicaSets."""
        new_rs = _find_new(d, rss)
        old_rss = [rs for rs in rss if rs is not new_rs]
        new_revision = max((_revision(rs) for rs in old_rss), default=0) + 1
        if new_rs is not None:
            self._sync_existing_new(d, new_rs, new_revision)
            return new_rs, old_rss
        if not create:
            return None, old_rss
        new_rs = self._create_new(d, rss, old_rss, new_revision)
        if new_rs is not None:
            rss.append(new_rs)
        return new_rs, old_rss

    def _sync_existing_new(self, d: Obj, rs: Obj, new_revision: int) -> None:
        copy = deepcopy(rs)
        changed = _set_new_rs_annotations(d, copy, new_revision, exists=True)
        min_ready = int(d["spec"].get("minReadySeconds") or 0)
        if changed or int(rs["spec"].get("minReadySeconds") or 0) != min_ready:
            annotations = copy["metadata"]["annotations"]
            old = rs["metadata"].get("annotations") or {}
            patch: Obj = {"metadata": {
                "resourceVersion": rs["metadata"]["resourceVersion"],
                "annotations": {k: v for k, v in annotations.items() if old.get(k) != v}}}
            if int(rs["spec"].get("minReadySeconds") or 0) != min_ready:
                patch["spec"] = {"minReadySeconds": min_ready}
            self._replace_in_place(rs, self.client.patch(
                REPLICASETS, rs["metadata"]["name"], patch, rs["metadata"]["namespace"],
                patch_type=PatchType.MERGE))
        revision = (rs["metadata"].get("annotations") or {}).get(REVISION, "")
        status = deepcopy(d.get("status") or {})
        status_changed = False
        if _has_progress_deadline(d) and _get_cond(status, PROGRESSING) is None:
            _set_cond(status, _new_cond(PROGRESSING, "True", FOUND_NEW_RS_REASON,
                                        f'Found new replica set "{rs["metadata"]["name"]}"',
                                        now_string(self._now)))
            status_changed = True
        self._write_revision(d, revision)
        if status_changed:
            self._write_status(d, status)

    def _create_new(self, d: Obj, rss: list[Obj], old_rss: list[Obj],
                    new_revision: int) -> Obj | None:
        meta = d["metadata"]
        ns = meta["namespace"]
        status = deepcopy(d.get("status") or {})
        collisions = status.get("collisionCount")
        template = deepcopy(d["spec"].get("template") or {})
        hash_ = pod_template_hash(template, collisions)
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), HASH_LABEL: hash_}
        sel = deepcopy(d["spec"]["selector"])
        sel["matchLabels"] = {**(sel.get("matchLabels") or {}), HASH_LABEL: hash_}
        name = f"{meta['name']}-{hash_}"
        rs: Obj = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                   "metadata": {"name": name, "namespace": ns,
                                "ownerReferences": [owner_reference(d)],
                                "labels": dict(tmeta["labels"])},
                   "spec": {"replicas": 0, "selector": sel, "template": template}}
        min_ready = int(d["spec"].get("minReadySeconds") or 0)
        if min_ready:
            rs["spec"]["minReadySeconds"] = min_ready
        replicas = _new_rs_replicas(d, [*old_rss, rs], rs)
        rs["spec"]["replicas"] = replicas
        _set_new_rs_annotations(d, rs, new_revision, exists=False)
        already = False
        try:
            created = self.client.create(REPLICASETS, rs, ns)
        except errors.AlreadyExists:
            existing = self.sets.get(name, ns)
            if existing is None:
                raise _Requeue from None  # not in our cache yet: look again
            ref = controller_ref(existing)
            if ref is not None and ref.get("uid") == meta["uid"] and equal_ignore_hash(
                    d["spec"].get("template"), existing["spec"].get("template")):
                created, already = deepcopy(existing), True
            else:  # a hash collision: count it, so the next hash differs
                status["collisionCount"] = int(collisions or 0) + 1
                self._write_status(d, status)
                raise _Requeue from None
        except errors.APIError as exc:
            if any(c.reason == "NamespaceTerminating" for c in exc.causes):
                raise  # every create will fail: nothing to report
            message = f'Failed to create new replica set "{name}": ' \
                      f'{exc.status.get("message", exc)}'
            if _has_progress_deadline(d):
                _set_cond(status, _new_cond(PROGRESSING, "False", FAILED_RS_CREATE_REASON,
                                            message, now_string(self._now)))
                with contextlib.suppress(errors.APIError):  # the event below says more
                    self._write_status(d, status)
            self.events.warning(d, FAILED_RS_CREATE_REASON, message)
            raise
        created["metadata"].pop("managedFields", None)
        if not already and replicas > 0:
            self.events.normal(d, "ScalingReplicaSet",
                               f"Scaled up replica set {name} from 0 to {replicas}")
        self._write_revision(d, str(new_revision))
        if not already and _has_progress_deadline(d):
            _set_cond(status, _new_cond(PROGRESSING, "True", NEW_RS_REASON,
                                        f'Created new replica set "{name}"',
                                        now_string(self._now)))
            self._write_status(d, status)
        return created

    # ------------------------------------------------------------------ writes

    @staticmethod
    def _replace_in_place(rs: Obj, updated: Obj) -> None:
        """Every list holding this private copy sees the update."""
        updated["metadata"].pop("managedFields", None)
        rs.clear()
        rs.update(updated)

    def _write_revision(self, d: Obj, revision: str) -> None:
        meta = d["metadata"]
        annotations = meta.get("annotations") or {}
        if annotations.get(REVISION) == revision:
            return
        out = self.client.patch(DEPLOYMENTS, meta["name"], {"metadata": {
            "annotations": {REVISION: revision}, "resourceVersion": meta["resourceVersion"]}},
            meta["namespace"], patch_type=PatchType.MERGE)
        meta["annotations"] = {**annotations, REVISION: revision}
        meta["resourceVersion"] = out["metadata"]["resourceVersion"]

    def _write_status(self, d: Obj, status: Obj) -> None:
        meta = d["metadata"]
        out = self.client.replace_status(DEPLOYMENTS, {
            "apiVersion": d.get("apiVersion", "apps/v1"), "kind": "Deployment",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                         "resourceVersion": meta["resourceVersion"]},
            "spec": d["spec"], "status": status})
        meta["resourceVersion"] = out["metadata"]["resourceVersion"]
        d["status"] = status

    def _scale(self, rs: Obj, size: int, d: Obj, operation: str | None = None) -> bool:
        """Resize a ReplicaSet (and stamp the Deployment's size on it); True when resized."""
        old = spec_replicas(rs)
        want = spec_replicas(d)
        ceiling = want + max_surge(d)
        if old == size and not _annotations_need_update(rs, want, ceiling):
            return False
        rm = rs["metadata"]
        patch = {"metadata": {"resourceVersion": rm["resourceVersion"], "annotations": {
            DESIRED_REPLICAS: str(want), MAX_REPLICAS: str(ceiling)}},
            "spec": {"replicas": size}}
        self._replace_in_place(rs, self.client.patch(REPLICASETS, rm["name"], patch,
                                                     rm["namespace"],
                                                     patch_type=PatchType.MERGE))
        if old == size:
            return False
        if operation is None:
            operation = "up" if size > old else "down"
        self.events.normal(d, "ScalingReplicaSet",
                           f"Scaled {operation} replica set {rm['name']} from {old} to {size}")
        return True

    # ------------------------------------------------------------------ scaling

    def _sync_scaling(self, d: Obj, rss: list[Obj]) -> Result | None:
        """``sync``: a paused Deployment or a resize: scale, never roll out."""
        new_rs, old_rss = self._new_and_old(d, rss, create=False)
        self._proportional_scale(d, new_rs, old_rss)
        if d["spec"].get("paused") and not (d["metadata"].get("annotations") or {}).get(
                ROLLBACK_TO):
            self._cleanup(d, old_rss)
        self._sync_status(d, [*old_rss, new_rs], new_rs)
        return None

    def _proportional_scale(self, d: Obj, new_rs: Obj | None, old_rss: list[Obj]) -> None:
        want = spec_replicas(d)
        olds = sorted(old_rss, key=_created_key, reverse=True)
        active = _active([*olds, new_rs])
        if len(active) <= 1:
            target = active[0] if active else (new_rs if new_rs is not None else
                                               (olds[0] if olds else None))
            if target is not None and spec_replicas(target) != want:
                self._scale(target, want, d)
            return
        if _is_saturated(d, new_rs):
            for rs in _active(old_rss):
                self._scale(rs, 0, d)
            return
        if not _is_rolling(d):
            return
        allowed = want + max_surge(d) if want > 0 else 0
        to_add = allowed - _spec_sum(active)
        operation = None
        if to_add > 0:
            active.sort(key=_by_size_newer)
            operation = "up"
        elif to_add < 0:
            active.sort(key=_by_size_older)
            operation = "down"
        added = 0
        sizes: list[int] = []
        for rs in active:
            if to_add != 0:
                share = _proportion(rs, d, to_add, added)
                sizes.append(spec_replicas(rs) + share)
                added += share
            else:
                sizes.append(spec_replicas(rs))
        for i, rs in enumerate(active):
            size = sizes[i]
            if i == 0 and to_add != 0:
                size = max(0, size + to_add - added)
            self._scale(rs, size, d, operation)

    # ------------------------------------------------------------------ rolling update

    def _rollout_rolling(self, d: Obj, rss: list[Obj]) -> Result | None:
        new_rs, old_rss = self._new_and_old(d, rss, create=True)
        if new_rs is None:
            return Result(requeue=True)
        all_rss = [*old_rss, new_rs]
        if self._reconcile_new(d, all_rss, new_rs):
            return self._sync_rollout_status(d, all_rss, new_rs)
        if self._reconcile_old(d, all_rss, _active(old_rss), new_rs):
            return self._sync_rollout_status(d, all_rss, new_rs)
        if _complete(d, d.get("status") or {}):
            self._cleanup(d, old_rss)
        return self._sync_rollout_status(d, all_rss, new_rs)

    def _reconcile_new(self, d: Obj, all_rss: list[Obj], new_rs: Obj) -> bool:
        want = spec_replicas(d)
        size = spec_replicas(new_rs)
        if size == want:
            return False
        if size > want:
            return self._scale(new_rs, want, d)
        return self._scale(new_rs, _new_rs_replicas(d, all_rss, new_rs), d)

    @staticmethod
    def _available(rss: Iterable[Obj]) -> int:
        """Available pods, counting no ReplicaSet above its size: a ReplicaSet just scaled
        down still reports the pods it is about to delete, and counting those would let two
        reconciles in a row scale down twice for one set of new available pods."""
        return sum(min(int((rs.get("status") or {}).get("availableReplicas") or 0),
                       spec_replicas(rs)) for rs in rss)

    def _reconcile_old(self, d: Obj, all_rss: list[Obj], old_rss: list[Obj],
                       new_rs: Obj) -> bool:
        if _spec_sum(old_rss) == 0:
            return False
        min_available = spec_replicas(d) - max_unavailable(d)
        new_unavailable = spec_replicas(new_rs) - min(
            int((new_rs.get("status") or {}).get("availableReplicas") or 0), spec_replicas(new_rs))
        max_scaled_down = _spec_sum(all_rss) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        cleaned = self._cleanup_unhealthy(d, old_rss, max_scaled_down)
        scaled = self._scale_down_old(d, [*old_rss, new_rs], old_rss)
        return cleaned + scaled > 0

    def _cleanup_unhealthy(self, d: Obj, old_rss: list[Obj], limit: int) -> int:
        """Scale old ReplicaSets down by their unavailable pods first: that costs nothing in
        availability, and a broken old version must not block the rollout."""
        total = 0
        for rs in sorted(old_rss, key=_created_key):
            if total >= limit:
                break
            size = spec_replicas(rs)
            available = int((rs.get("status") or {}).get("availableReplicas") or 0)
            if size == 0 or size <= available:
                continue
            down = min(limit - total, size - available)
            self._scale(rs, size - down, d)
            total += down
        return total

    def _scale_down_old(self, d: Obj, all_rss: list[Obj], old_rss: list[Obj]) -> int:
        min_available = spec_replicas(d) - max_unavailable(d)
        available = self._available(all_rss)
        if available <= min_available:
            return 0
        budget = available - min_available
        total = 0
        for rs in sorted(old_rss, key=_created_key):
            if total >= budget:
                break
            size = spec_replicas(rs)
            if size == 0:
                continue
            down = min(size, budget - total)
            self._scale(rs, size - down, d)
            total += down
        return total

    # ------------------------------------------------------------------ recreate

    def _rollout_recreate(self, d: Obj, rss: list[Obj]) -> Result | None:
        new_rs, old_rss = self._new_and_old(d, rss, create=False)
        all_rss: list[Obj | None] = [*old_rss, new_rs]
        scaled = False
        for rs in _active(old_rss):
            scaled = self._scale(rs, 0, d) or scaled
        if scaled or self._old_pods_running(new_rs, old_rss):
            return self._sync_rollout_status(d, all_rss, new_rs)
        if new_rs is None:
            new_rs, old_rss = self._new_and_old(d, rss, create=True)
            if new_rs is None:
                return Result(requeue=True)
            all_rss = [*old_rss, new_rs]
        self._scale(new_rs, spec_replicas(d), d)
        if _complete(d, d.get("status") or {}):
            self._cleanup(d, old_rss)
        return self._sync_rollout_status(d, all_rss, new_rs)

    def _old_pods_running(self, new_rs: Obj | None, old_rss: list[Obj]) -> bool:
        """Whether an old ReplicaSet reports pods, or still has a pod not finished (terminating
        ones included: Recreate promises the old pods are gone before new ones start)."""
        if _status_sum(old_rss, "replicas") > 0:
            return True
        for rs in old_rss:
            for pod in self.pods.by_index(BY_CONTROLLER, rs["metadata"]["uid"]):
                if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    return True
        return False

    # ------------------------------------------------------------------ history

    def _cleanup(self, d: Obj, old_rss: list[Obj]) -> None:
        """Delete the oldest scaled-down ReplicaSets beyond ``revisionHistoryLimit``."""
        limit = d["spec"].get("revisionHistoryLimit")
        if limit is None or int(limit) == MAX_INT32:
            return
        alive = [rs for rs in old_rss if not rs["metadata"].get("deletionTimestamp")]
        excess = len(alive) - int(limit)
        if excess <= 0:
            return
        alive.sort(key=lambda rs: (_revision(rs), *_created_key(rs)))
        for rs in alive[:excess]:
            status = rs.get("status") or {}
            if status.get("replicas", 0) != 0 or spec_replicas(rs) != 0 or \
                    rs["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
                continue
            with contextlib.suppress(errors.NotFound):
                self.client.delete(REPLICASETS, rs["metadata"]["name"],
                                   rs["metadata"]["namespace"])

    # ------------------------------------------------------------------ status

    def _check_paused_conditions(self, d: Obj) -> None:
        """Progressing=Unknown on pause and resume, so time spent paused never counts against
        the progress deadline."""
        if not _has_progress_deadline(d):
            return
        status = d.get("status") or {}
        cond = _get_cond(status, PROGRESSING)
        if cond is not None and cond.get("reason") == TIMED_OUT_REASON:
            return
        paused_cond = cond is not None and cond.get("reason") == PAUSED_REASON
        paused = bool(d["spec"].get("paused"))
        if paused == paused_cond:
            return
        status = deepcopy(status)
        now = now_string(self._now)
        if paused:
            _set_cond(status, _new_cond(PROGRESSING, "Unknown", PAUSED_REASON,
                                        "Deployment is paused", now))
        else:
            _set_cond(status, _new_cond(PROGRESSING, "Unknown", RESUMED_REASON,
                                        "Deployment is resumed", now))
        self._write_status(d, status)

    def _calculate_status(self, d: Obj, all_rss: Sequence[Obj | None],
                          new_rs: Obj | None) -> Obj:
        available = _status_sum(all_rss, "availableReplicas")
        total = _spec_sum(all_rss)
        old = d.get("status") or {}
        status: Obj = {}
        generation = d["metadata"].get("generation", 0)
        values = (("observedGeneration", generation),
                  ("replicas", _status_sum(all_rss, "replicas")),
                  ("updatedReplicas", _status_sum([new_rs], "replicas")),
                  ("readyReplicas", _status_sum(all_rss, "readyReplicas")),
                  ("availableReplicas", available),
                  ("unavailableReplicas", max(0, total - available)))
        for key, value in values:
            if value:
                status[key] = value
        if old.get("conditions"):
            status["conditions"] = list(old["conditions"])
        if old.get("collisionCount") is not None:
            status["collisionCount"] = old["collisionCount"]
        now = now_string(self._now)
        if available >= spec_replicas(d) - max_unavailable(d):
            _set_cond(status, _new_cond(AVAILABLE, "True", MIN_AVAILABLE_REASON,
                                        "Deployment has minimum availability.", now))
        else:
            _set_cond(status, _new_cond(AVAILABLE, "False", MIN_UNAVAILABLE_REASON,
                                        "Deployment does not have minimum availability.", now))
        return status

    def _sync_status(self, d: Obj, all_rss: Sequence[Obj | None], new_rs: Obj | None) -> None:
        """``syncDeploymentStatus``: counts and availability only (paused or scaling)."""
        status = self._calculate_status(d, all_rss, new_rs)
        if status != (d.get("status") or {}):
            self._write_status(d, status)

    def _sync_rollout_status(self, d: Obj, all_rss: Sequence[Obj | None],
                             new_rs: Obj | None) -> Result | None:
        """``syncRolloutStatus``: counts, availability, and the Progressing condition."""
        status = self._calculate_status(d, all_rss, new_rs)
        deadline = _has_progress_deadline(d)
        if not deadline:
            _remove_cond(status, PROGRESSING)
        current = _get_cond(d.get("status"), PROGRESSING)
        done = (status.get("replicas", 0) == status.get("updatedReplicas", 0)
                and current is not None and current.get("reason") == NEW_RS_AVAILABLE_REASON)
        now = now_string(self._now)
        subject = (f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs is not None
                   else f'Deployment "{d["metadata"]["name"]}"')
        if deadline and not done:
            if _complete(d, status):
                _set_cond(status, _new_cond(PROGRESSING, "True", NEW_RS_AVAILABLE_REASON,
                                            f"{subject} has successfully progressed.", now))
            elif _progressing(d, status):
                cond = _new_cond(PROGRESSING, "True", RS_UPDATED_REASON,
                                 f"{subject} is progressing.", now)
                if current is not None:
                    if current.get("status") == "True":
                        cond["lastTransitionTime"] = current.get("lastTransitionTime")
                    _remove_cond(status, PROGRESSING)
                _set_cond(status, cond)
            elif _timed_out(d, status, self._now):
                _set_cond(status, _new_cond(PROGRESSING, "False", TIMED_OUT_REASON,
                                            f"{subject} has timed out progressing.", now))
        failures = self._replica_failures(all_rss, new_rs)
        if failures:
            _set_cond(status, failures[0])
        else:
            _remove_cond(status, REPLICA_FAILURE)
        if status == (d.get("status") or {}):
            return self._requeue_stuck(d, status)
        self._write_status(d, status)
        return None

    @staticmethod
    def _replica_failures(all_rss: Sequence[Obj | None], new_rs: Obj | None) -> list[Obj]:
        def of(rs: Obj) -> list[Obj]:
            return [{"type": REPLICA_FAILURE, "status": c.get("status"),
                     "lastUpdateTime": c.get("lastTransitionTime"),
                     "lastTransitionTime": c.get("lastTransitionTime"),
                     "reason": c.get("reason"), "message": c.get("message")}
                    for c in (rs.get("status") or {}).get("conditions") or ()
                    if c.get("type") == REPLICA_FAILURE]

        if new_rs is not None and (found := of(new_rs)):
            return found
        return [c for rs in all_rss if rs is not None for c in of(rs)]

    def _requeue_stuck(self, d: Obj, status: Obj) -> Result | None:
        """Look again when the progress deadline would pass, if the rollout is still going
        (``requeueStuckDeployment``; the wake-up is armed by :meth:`reconcile`)."""
        current = _get_cond(d.get("status"), PROGRESSING)
        if not _has_progress_deadline(d) or current is None:
            return None
        if _complete(d, status) or current.get("reason") == TIMED_OUT_REASON:
            return None
        since = parse_time(current.get("lastUpdateTime"))
        if since is None:
            return None
        deadline = since + int(d["spec"]["progressDeadlineSeconds"])
        if deadline - self._now < 1:
            return Result(requeue=True)
        self._due = deadline + 1  # the same value at every look: the timer is kept
        return None
