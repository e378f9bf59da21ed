"""The Job controller: run pods until enough of them succeed (``pkg/controller/job``).

Each reconcile counts the Job's pods, creates the missing ones (``parallelism`` at once, never
more than the completions still needed; in Indexed mode one pod per pending completion index),
and writes the status the way Kubernetes 1.37 does:

- Every pod carries the ``batch.kubernetes.io/job-tracking`` finalizer, so a finished pod cannot
  vanish before it is counted. A finished pod's UID is first written to
  ``status.uncountedTerminatedPods``, then its finalizer is removed, then it moves to the
  ``succeeded`` / ``failed`` counters: a crash between two steps can neither lose nor double a pod.
- Failed pods are replaced after an exponential back-off (10 s, doubling, capped at 10 minutes as
  ``MaxJobPodFailureBackOff`` upstream; the docs still say six) counted from the last failure on
  the cluster clock; more than ``backoffLimit`` failures (or, per index, ``backoffLimitPerIndex``)
  fail the Job, and so does ``activeDeadlineSeconds``.
- A Job ends in two steps: the interim condition (``SuccessCriteriaMet`` or ``FailureTarget``)
  first, then ``Complete`` / ``Failed`` once no pod is left terminating and every pod is counted.

Pod events reach the Job after a one-second batching period (``syncJobBatchPeriod``), so a burst
of pod updates costs one reconcile. The engine drains informers before every reconcile, so the
cache always holds this controller's own writes: no "expectations" are needed.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import JOBS, PODS
from kubenb.client.client import PatchType, deepcopy
from kubenb.controllers.podutil import (
    condition,
    controller_ref,
    is_pod_ready,
    now_string,
    parse_time,
    pod_from_template,
    pod_ready_since,
    selector,
)
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.informer import BY_CONTROLLER, Handler, by_controller_owner
from kubenb.runtime.manager import Manager

__all__ = [
    "COMPLETION_INDEX", "JOB_TRACKING_FINALIZER", "JobController", "finished_condition",
    "is_job_finished", "parse_indexes",
]

Obj = dict[str, Any]
Interval = tuple[int, int]

JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
INDEX_IGNORED_FAILURE_COUNT = "batch.kubernetes.io/job-index-ignored-failure-count"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_CONTROLLER = "kubernetes.io/job-controller"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"

#: pod events are batched this long before the Job is synced (``syncJobBatchPeriod``)
SYNC_BATCH_PERIOD = 1.0
#: back-off before a failed pod is replaced: 10 s doubling, capped (``MaxJobPodFailureBackOff``)
POD_FAILURE_BACKOFF = 10.0
MAX_POD_FAILURE_BACKOFF = 600.0
#: at most this many UIDs in ``uncountedTerminatedPods`` and pod creates/deletes per sync
MAX_UNCOUNTED_PODS = 500
MAX_POD_CREATE_DELETE = 500
#: request names starting with this name a pod whose tracking finalizer must go (Job names cannot
#: contain a colon)
ORPHAN_PREFIX = "pod:"
_MAX_GENERATED_NAME = 58  # 63 - 5 random characters


# ---------------------------------------------------------------------------------------------
# Job and pod predicates


def finished_condition(job: Obj) -> str | None:
    """``Complete`` or ``Failed`` when that condition is True, else None."""
    for cond in (job.get("status") or {}).get("conditions") or ():
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return None


def is_job_finished(job: Obj) -> bool:
    return finished_condition(job) is not None


def _has_tracking(pod: Obj) -> bool:
    return JOB_TRACKING_FINALIZER in (pod["metadata"].get("finalizers") or ())


def _phase(pod: Obj) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def _is_active(pod: Obj) -> bool:
    """``controller.FilterActivePods``: not finished, not being deleted."""
    return _phase(pod) not in ("Succeeded", "Failed") and not pod["metadata"].get(
        "deletionTimestamp")


def _is_terminating(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp")) and _phase(pod) not in (
        "Succeeded", "Failed")


def _only_replace_failed(job: Obj) -> bool:
    spec = job["spec"]
    return spec.get("podReplacementPolicy") == "Failed" or spec.get("podFailurePolicy") is not None


def _is_pod_failed(pod: Obj, job: Obj) -> bool:
    """Failed, or (unless only failed pods are replaced) deleted before it succeeded."""
    phase = _phase(pod)
    if phase == "Failed":
        return True
    if _only_replace_failed(job):
        return False
    return bool(pod["metadata"].get("deletionTimestamp")) and phase != "Succeeded"


def completion_index(pod: Obj) -> int:
    """The pod's completion index annotation, or -1."""
    value = (pod["metadata"].get("annotations") or {}).get(COMPLETION_INDEX)
    if value is None:
        return -1
    try:
        ix = int(value)
    except ValueError:
        return -1
    return ix if ix >= 0 else -1


def _count_annotation(pod: Obj, key: str) -> int:
    value = (pod["metadata"].get("annotations") or {}).get(key)
    try:
        n = int(value) if value is not None else 0
    except ValueError:
        return 0
    return n if 0 <= n <= 2**31 - 1 else 0


def _finished_time(pod: Obj) -> float:
    """When a pod finished: its containers' last finishedAt, else its Ready=False transition,
    else deletion time minus grace, else creation (``getFinishedTime``)."""
    status = pod.get("status") or {}
    latest: float | None = None
    statuses = status.get("containerStatuses") or ()
    for cs in statuses:
        term = (cs.get("state") or {}).get("terminated")
        finished = parse_time(term.get("finishedAt")) if term else None
        if finished is None:
            latest = None
            break
        latest = finished if latest is None else max(latest, finished)
    if latest is not None:
        return latest
    ready = condition(pod, "Ready")
    if ready is not None and ready.get("status") == "False":
        since = parse_time(ready.get("lastTransitionTime"))
        if since is not None:
            return since
    meta = pod["metadata"]
    deleted = parse_time(meta.get("deletionTimestamp"))
    if deleted is not None:
        return deleted - float(meta.get("deletionGracePeriodSeconds") or 0)
    return parse_time(meta.get("creationTimestamp")) or 0.0


def _backoff_delay(failures: int, last_failure: float | None, now: float) -> float:
    """Time left before a pod may be created after ``failures`` consecutive failures."""
    if failures <= 0 or last_failure is None:
        return 0.0
    delay = POD_FAILURE_BACKOFF
    for _ in range(1, failures):
        delay *= 2
        if delay >= MAX_POD_FAILURE_BACKOFF:
            delay = MAX_POD_FAILURE_BACKOFF
            break
    elapsed = now - last_failure
    return 0.0 if delay < elapsed else delay - elapsed


def _active_pods_key(pod: Obj) -> tuple[Any, ...]:
    """``controller.ActivePods``: the pods sorting first are deleted first (unscheduled, pending,
    not ready, ready for less time, more restarts, newer)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    since = pod_ready_since(pod)
    restarts = sum(int(c.get("restartCount", 0)) for c in status.get("containerStatuses") or ())
    created = parse_time(pod["metadata"].get("creationTimestamp")) or 0.0
    return (1 if spec.get("nodeName") else 0,
            {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase") or "", 0),
            1 if is_pod_ready(pod) else 0, -(since or 0.0), -restarts, -created)


# ---------------------------------------------------------------------------------------------
# Completion index intervals ("1,3-5,7" in status.completedIndexes)


def parse_indexes(text: str | None, completions: int) -> list[Interval]:
    """Ordered, merged intervals from ``status.completedIndexes`` (indexes >= completions are
    dropped, corrupt parts ignored)."""
    out: list[Interval] = []
    if not text:
        return out
    for part in text.split(","):
        bounds = part.split("-")
        try:
            first = int(bounds[0])
            last = int(bounds[1]) if len(bounds) > 1 else first
        except ValueError:
            continue
        if first >= completions:
            break
        last = min(last, completions - 1)
        if out and out[-1][1] == first - 1:
            out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return out


def _merge(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for first, last in sorted(a + b):
        if out and first <= out[-1][1] + 1:
            if last > out[-1][1]:
                out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return out


def _with_indexes(a: list[Interval], indexes: Iterable[int]) -> list[Interval]:
    return _merge(a, [(i, i) for i in sorted(set(indexes))])


def _total(a: list[Interval]) -> int:
    return sum(last - first + 1 for first, last in a)


def _has(a: list[Interval], ix: int) -> bool:
    pos = bisect.bisect_left(a, (ix + 1,)) - 1
    return pos >= 0 and a[pos][0] <= ix <= a[pos][1]


def _intervals_str(a: list[Interval]) -> str:
    parts = []
    for first, last in a:
        if last == first:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")
        else:
            parts.append(f"{first}-{last}")
    return ",".join(parts)


# ---------------------------------------------------------------------------------------------
# Pod failure policy and success policy


def _match_pod_failure_policy(policy: Obj | None, pod: Obj) -> tuple[str | None, bool, str | None]:
    """(FailJob message, whether the failure counts, matched action) for a failed pod."""
    if not policy:
        return None, True, None
    meta, status = pod["metadata"], pod.get("status") or {}
    for i, rule in enumerate(policy.get("rules") or ()):
        action = rule.get("action")
        matched: str | None = None
        on_exit = rule.get("onExitCodes")
        if on_exit:
            name = on_exit.get("containerName")
            values = set(on_exit.get("values") or ())
            op = on_exit.get("operator")
            for cs in [*(status.get("initContainerStatuses") or ()),
                       *(status.get("containerStatuses") or ())]:
                term = (cs.get("state") or {}).get("terminated")
                if not term or (name and cs.get("name") != name):
                    continue
                code = int(term.get("exitCode", 0))
                if code != 0 and ((op == "In") == (code in values)):
                    matched = (f"Container {cs.get('name')} for pod {meta.get('namespace')}/"
                               f"{meta['name']} failed with exit code {code} matching {action} "
                               f"rule at index {i}")
                    break
        for pattern in rule.get("onPodConditions") or ():
            if matched:
                break
            cond = condition(pod, pattern.get("type", ""))
            if cond is not None and cond.get("status") == pattern.get("status", "True"):
                matched = (f"Pod {meta.get('namespace')}/{meta['name']} has condition "
                           f"{pattern.get('type')} matching {action} rule at index {i}")
        if matched is None:
            continue
        if action == "FailJob":
            return matched, True, action
        if action == "Ignore":
            return None, False, action
        return None, True, action  # Count, FailIndex
    return None, True, None


def _match_success_policy(policy: Obj | None, completions: int,
                          succeeded: list[Interval]) -> str | None:
    if not policy or not succeeded:
        return None
    for i, rule in enumerate(policy.get("rules") or ()):
        count = rule.get("succeededCount")
        text = rule.get("succeededIndexes")
        if text is not None:
            wanted = parse_indexes(text, completions)
            matched = sum(1 for first, last in wanted for ix in range(first, last + 1)
                          if _has(succeeded, ix))
            ok = matched == _total(wanted) if count is None else matched >= count
        else:
            ok = count is not None and _total(succeeded) >= count
        if ok:
            return f"Matched rules at index {i}"
    return None


def _new_condition(ctype: str, reason: str, message: str, now: float,
                   status: str = "True") -> Obj:
    stamp = now_string(now)
    cond: Obj = {"type": ctype, "status": status, "lastProbeTime": stamp,
                 "lastTransitionTime": stamp}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _ensure_condition(status: Obj, ctype: str, cstatus: str, reason: str, message: str,
                      now: float) -> bool:
    """``ensureJobConditionStatus``: set the condition; never add one that is False."""
    conditions = status.setdefault("conditions", [])
    for i, cond in enumerate(conditions):
        if cond.get("type") == ctype:
            if (cond.get("status"), cond.get("reason", ""), cond.get("message", "")) != (
                    cstatus, reason, message):
                conditions[i] = _new_condition(ctype, reason, message, now, cstatus)
                return True
            return False
    if cstatus != "False":
        conditions.append(_new_condition(ctype, reason, message, now, cstatus))
        return True
    if not conditions:
        del status["conditions"]
    return False


# ---------------------------------------------------------------------------------------------
# The controller


@dataclass
class _Sync:
    """What one sync of one Job works with (``syncJobCtx``)."""

    job: Obj
    pods: list[Obj]
    active_pods: list[Obj]
    ready: int
    terminating: int
    uncounted_succeeded: set[str]
    uncounted_failed: set[str]
    succeeded: int = 0
    failed: int = 0
    finished: Obj | None = None
    backoff: tuple[int, float | None] = (0, None)
    prev_succeeded_indexes: list[Interval] = field(default_factory=list)
    succeeded_indexes: list[Interval] = field(default_factory=list)
    failed_indexes: list[Interval] | None = None
    delayed_deletion: dict[int, Obj] = field(default_factory=dict)
    create_failed: bool = False


class JobController(Controller):
    name = "job-controller"
    primary = JOBS

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kube-controller-manager")
        self.clock = mgr.clock
        self.events = mgr.recorder(self.name)
        self.jobs = mgr.informer(JOBS)
        self.pods = mgr.informer(PODS)
        self.jobs.add_index("uid", lambda j: (j["metadata"]["uid"],))
        self.pods.add_index(BY_CONTROLLER, by_controller_owner)
        self.pods.add_index("job-controller-uid", _controller_uid_label)
        #: (namespace, name) -> (failures since the last success, time of the last failure)
        self._backoff: dict[tuple[str, str], tuple[int, float | None]] = {}
        #: Jobs with spec.manualSelector, the only ones that may adopt arbitrary orphans
        self._manual: dict[tuple[str, str], None] = {}  # ordered: runs are deterministic
        self.jobs.add_handler(Handler(self._job_added, self._job_updated, self._job_deleted))
        self.pods.add_handler(Handler(self._pod_changed, lambda _o, new: self._pod_changed(new),
                                      self._pod_changed))

    # ------------------------------------------------------------------ event handlers

    def _job_added(self, job: Obj) -> None:
        self._track_manual(job)
        self.enqueue(job)

    def _job_updated(self, old: Obj, new: Obj) -> None:
        self._track_manual(new)
        meta = new["metadata"]
        req = Request(meta.get("namespace", ""), meta["name"])
        if meta.get("generation") == old["metadata"].get("generation"):
            self.queue.add_after(req, SYNC_BATCH_PERIOD)
        else:
            self.queue.add(req)
        if is_job_finished(new):
            self._cleanup_finalizers(new)
        start = parse_time((new.get("status") or {}).get("startTime"))
        ads = new["spec"].get("activeDeadlineSeconds")
        if start is not None and ads is not None and ads != old["spec"].get(
                "activeDeadlineSeconds"):
            self.queue.add_after(req, ads - (self.clock.now() - start))

    def _job_deleted(self, job: Obj) -> None:
        meta = job["metadata"]
        self._manual.pop((meta.get("namespace", ""), meta["name"]), None)
        self.enqueue(job)
        self._cleanup_finalizers(job)

    def _track_manual(self, job: Obj) -> None:
        meta = job["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if job["spec"].get("manualSelector"):
            self._manual[key] = None
        else:
            self._manual.pop(key, None)

    def _cleanup_finalizers(self, job: Obj) -> None:
        """Pods of a finished or deleted Job that still hold the finalizer lose it."""
        for pod in self.pods.by_index(BY_CONTROLLER, job["metadata"]["uid"]):
            if _has_tracking(pod):
                self._enqueue_orphan(pod)

    def _enqueue_orphan(self, pod: Obj) -> None:
        meta = pod["metadata"]
        self.queue.add(Request(meta.get("namespace", ""), ORPHAN_PREFIX + meta["name"]))

    def _pod_changed(self, pod: Obj) -> None:
        meta = pod["metadata"]
        ref = controller_ref(pod)
        ns = meta.get("namespace", "")
        if ref is None:
            if _has_tracking(pod):
                self._enqueue_orphan(pod)
            if meta.get("deletionTimestamp"):
                return
            labels = meta.get("labels") or {}
            uid = labels.get(CONTROLLER_UID_LABEL)
            if uid:
                for job in self.jobs.by_index("uid", uid):
                    self.queue.add_after(Request(ns, job["metadata"]["name"]), SYNC_BATCH_PERIOD)
            for jns, name in tuple(self._manual):
                job = self.jobs.get(name, jns) if jns == ns else None
                if job is not None and selector(job["spec"].get("selector")).matches(labels):
                    self.queue.add_after(Request(ns, name), SYNC_BATCH_PERIOD)
            return
        if ref.get("kind") != "Job":
            return
        job = self.jobs.get(ref["name"], ns)
        if job is None or job["metadata"]["uid"] != ref.get("uid") or is_job_finished(job):
            if _has_tracking(pod):
                self._enqueue_orphan(pod)
            return
        self.queue.add_after(Request(ns, ref["name"]), SYNC_BATCH_PERIOD)

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, request: Request) -> Result | None:
        if request.name.startswith(ORPHAN_PREFIX):
            self._sync_orphan(request.namespace, request.name[len(ORPHAN_PREFIX):])
            return None
        key = (request.namespace, request.name)
        shared = self.jobs.get(request.name, request.namespace)
        if shared is None:
            self._backoff.pop(key, None)
            return None
        spec = shared.get("spec") or {}
        if spec.get("managedBy") not in (None, JOB_CONTROLLER):
            return None
        if is_job_finished(shared):
            self._backoff.pop(key, None)
            return None
        if spec.get("completionMode", "NonIndexed") not in ("NonIndexed", "Indexed"):
            self.events.warning(shared, "UnknownCompletionMode",
                                "Skipped Job sync because completion mode is unknown")
            return None
        try:
            return self._sync(request, deepcopy(shared))
        except errors.Conflict:
            return Result(requeue=True)  # the cache catches up before the retry
        except errors.NotFound:
            return None

    def unconverged(self) -> list[str]:
        out = []
        for job in self.jobs:
            meta, spec = job["metadata"], job.get("spec") or {}
            if (is_job_finished(job) or spec.get("suspend") or meta.get("deletionTimestamp")
                    or spec.get("managedBy") not in (None, JOB_CONTROLLER)):
                continue
            out.append(f"job/{meta.get('namespace')}/{meta['name']}")
        return out

    def _sync_orphan(self, namespace: str, name: str) -> None:
        """Remove the tracking finalizer from a pod no unfinished Job of ours controls."""
        pod = self.pods.get(name, namespace)
        if pod is None or not _has_tracking(pod):
            return
        ref = controller_ref(pod)
        if ref is not None:
            if ref.get("kind") != "Job" or ref.get("apiVersion") != "batch/v1":
                return
            job = self.jobs.get(ref["name"], namespace)
            if job is not None and job["metadata"]["uid"] == ref.get("uid"):
                if job["spec"].get("managedBy") not in (None, JOB_CONTROLLER):
                    return
                if not is_job_finished(job):
                    return  # adopted: its Job counts it
        with contextlib.suppress(errors.NotFound):
            self._remove_finalizer(pod)

    def _remove_finalizer(self, pod: Obj) -> None:
        meta = pod["metadata"]
        self.client.patch(PODS, meta["name"],
                          {"metadata": {"$deleteFromPrimitiveList/finalizers":
                                        [JOB_TRACKING_FINALIZER]}},
                          meta.get("namespace"), patch_type=PatchType.STRATEGIC)

    # ------------------------------------------------------------------ syncJob

    def _sync(self, request: Request, job: Obj) -> Result | None:
        now = self.clock.now()
        key = (request.namespace, request.name)
        spec = job["spec"]
        status = job.setdefault("status", {})
        status.setdefault("uncountedTerminatedPods", {})
        uncounted = status["uncountedTerminatedPods"]
        indexed = spec.get("completionMode") == "Indexed"
        pods = self._pods_for_job(job)
        active_pods = [p for p in pods if _is_active(p)]
        ctx = _Sync(job=job, pods=pods, active_pods=active_pods,
                    ready=sum(1 for p in active_pods if is_pod_ready(p)),
                    terminating=sum(1 for p in pods if _is_terminating(p)),
                    uncounted_succeeded=set(uncounted.get("succeeded") or ()),
                    uncounted_failed=set(uncounted.get("failed") or ()))
        active = len(active_pods)
        new_succeeded, new_failed = self._new_finished_pods(ctx)
        ctx.succeeded = (int(status.get("succeeded") or 0) + len(new_succeeded)
                         + len(ctx.uncounted_succeeded))
        policy = spec.get("podFailurePolicy")
        counted_new_failed = sum(1 for p in new_failed
                                 if _match_pod_failure_policy(policy, p)[1])
        ctx.failed = (int(status.get("failed") or 0) + counted_new_failed
                      + len(ctx.uncounted_failed))
        suspended = bool(spec.get("suspend"))
        if not status.get("startTime") and not suspended:
            status["startTime"] = now_string(now)
        ctx.backoff = self._new_backoff_record(key, new_succeeded, new_failed)

        exceeds_backoff = ctx.failed > int(spec.get("backoffLimit", 6))
        ctx.finished = _true_condition(job, "SuccessCriteriaMet")
        if ctx.finished is None:
            target = _true_condition(job, "FailureTarget")
            if target is not None:
                ctx.finished = _new_condition("Failed", target.get("reason", ""),
                                              target.get("message", ""), now)
            elif policy is not None:
                for p in pods:
                    if _is_pod_failed(p, job):
                        message = _match_pod_failure_policy(policy, p)[0]
                        if message is not None:
                            ctx.finished = _new_condition("FailureTarget", "PodFailurePolicy",
                                                          message, now)
                            break
        if ctx.finished is None:
            if exceeds_backoff or _past_backoff_limit_on_failure(job, pods):
                ctx.finished = _new_condition("FailureTarget", "BackoffLimitExceeded",
                                              "Job has reached the specified backoff limit", now)
            elif self._past_active_deadline(job, now):
                ctx.finished = _new_condition("FailureTarget", "DeadlineExceeded",
                                              "Job was active longer than specified deadline",
                                              now)
            elif spec.get("activeDeadlineSeconds") is not None and not suspended:
                start = parse_time(status.get("startTime")) or now
                self.queue.add_after(request, spec["activeDeadlineSeconds"] - (now - start))

        completions = spec.get("completions")
        if indexed:
            completions = int(completions or 0)
            ctx.prev_succeeded_indexes = parse_indexes(status.get("completedIndexes"),
                                                       completions)
            ctx.succeeded_indexes = _with_indexes(ctx.prev_succeeded_indexes, (
                ix for p in pods if _phase(p) == "Succeeded" and _has_tracking(p)
                and 0 <= (ix := completion_index(p)) < completions))
            ctx.succeeded = _total(ctx.succeeded_indexes)
            if spec.get("backoffLimitPerIndex") is not None:
                ctx.failed_indexes = self._failed_indexes(job, pods, completions)
                n_failed = _total(ctx.failed_indexes)
                max_failed = spec.get("maxFailedIndexes")
                if ctx.finished is None:
                    if max_failed is not None and n_failed > int(max_failed):
                        ctx.finished = _new_condition(
                            "FailureTarget", "MaxFailedIndexesExceeded",
                            "Job has exceeded the specified maximal number of failed indexes",
                            now)
                    elif n_failed > 0 and n_failed + ctx.succeeded >= completions:
                        ctx.finished = _new_condition("FailureTarget", "FailedIndexes",
                                                      "Job has failed indexes", now)
                ctx.delayed_deletion = self._pods_with_delayed_deletion(ctx, completions)
            if ctx.finished is None:
                message = _match_success_policy(spec.get("successPolicy"), completions,
                                                ctx.succeeded_indexes)
                if message is not None:
                    ctx.finished = _new_condition("SuccessCriteriaMet", "SuccessPolicy",
                                                  message, now)

        suspend_changed = False
        if ctx.finished is not None:
            deleted_ready, deleted = self._delete_active_pods(job, ctx.active_pods)
            if deleted != active:
                ctx.finished = None  # pods left to count or remove
            active -= deleted
            ctx.terminating += deleted
            ctx.ready -= deleted_ready
        else:
            manage_called = False
            if not job["metadata"].get("deletionTimestamp"):
                active = self._manage_job(request, ctx, now)
                manage_called = True
            if completions is None:
                complete = ctx.succeeded > 0 and active == 0
            else:
                complete = ctx.succeeded >= int(completions) and active == 0
            if complete:
                ctx.finished = _new_condition("SuccessCriteriaMet", "CompletionsReached",
                                              "Reached expected number of succeeded pods", now)
            elif manage_called:
                if suspended:
                    if _ensure_condition(status, "Suspended", "True", "JobSuspended",
                                         "Job suspended", now):
                        suspend_changed = True
                        self.events.normal(job, "Suspended", "Job suspended")
                elif _ensure_condition(status, "Suspended", "False", "JobResumed",
                                       "Job resumed", now):
                    suspend_changed = True
                    self.events.normal(job, "Resumed", "Job resumed")
                    # activeDeadlineSeconds counts continuous activity: it restarts on resume
                    status["startTime"] = now_string(now)

        needs_update = (suspend_changed or active != int(status.get("active") or 0)
                        or ctx.ready != status.get("ready")
                        or ctx.terminating != status.get("terminating"))
        _put(status, "active", active)
        status["ready"] = ctx.ready
        status["terminating"] = ctx.terminating
        self._track_status(ctx, needs_update, key, now)
        return Result(requeue=True) if ctx.create_failed else None

    def _past_active_deadline(self, job: Obj, now: float) -> bool:
        spec, status = job["spec"], job.get("status") or {}
        ads = spec.get("activeDeadlineSeconds")
        start = parse_time(status.get("startTime"))
        if ads is None or start is None or spec.get("suspend"):
            return False
        return now - start >= ads

    # ------------------------------------------------------------------ pods of a Job

    def _pods_for_job(self, job: Obj) -> list[Obj]:
        """The Job's pods: adopt matching orphans (adding the finalizer), release pods whose
        labels no longer match (``ClaimPods``)."""
        meta, spec = job["metadata"], job["spec"]
        ns, uid = meta.get("namespace", ""), meta["uid"]
        sel = selector(spec.get("selector"))
        deleting = bool(meta.get("deletionTimestamp"))
        out: list[Obj] = []
        for pod in self.pods.by_index(BY_CONTROLLER, uid):
            if sel.matches(pod["metadata"].get("labels")):
                out.append(pod)
            elif not deleting:
                refs = [r for r in pod["metadata"].get("ownerReferences") or ()
                        if r.get("uid") != uid]
                self._patch_pod_meta(pod, {"ownerReferences": refs or None})
        if deleting:
            return out
        candidates = (self.pods.list(ns) if spec.get("manualSelector")
                      else self.pods.by_index("job-controller-uid", uid))
        for pod in candidates:
            pm = pod["metadata"]
            if (pm.get("namespace", "") != ns or controller_ref(pod) is not None
                    or pm.get("deletionTimestamp") or not sel.matches(pm.get("labels"))):
                continue
            ref = {"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"], "uid": uid,
                   "controller": True, "blockOwnerDeletion": True}
            finalizers = list(pm.get("finalizers") or ())
            if JOB_TRACKING_FINALIZER not in finalizers:
                finalizers.append(JOB_TRACKING_FINALIZER)
            if self._patch_pod_meta(pod, {"ownerReferences": [*(pm.get("ownerReferences") or ()),
                                                               ref],
                                          "finalizers": finalizers}):
                adopted = deepcopy(pod)
                adopted["metadata"]["finalizers"] = finalizers
                out.append(adopted)
        return out

    def _patch_pod_meta(self, pod: Obj, changes: Obj) -> bool:
        pm = pod["metadata"]
        try:
            self.client.patch(PODS, pm["name"], {"metadata": {
                **changes, "resourceVersion": pm["resourceVersion"]}}, pm.get("namespace"),
                patch_type=PatchType.MERGE)
            return True
        except (errors.Conflict, errors.NotFound):
            return False  # the pod changed; the next sync looks again

    def _new_finished_pods(self, ctx: _Sync) -> tuple[list[Obj], list[Obj]]:
        """Finished pods not yet counted: they still hold the finalizer and are not listed in
        ``uncountedTerminatedPods`` (``getNewFinishedPods``)."""
        job = ctx.job
        indexed = job["spec"].get("completionMode") == "Indexed"
        completions = int(job["spec"].get("completions") or 0)
        succeeded: list[Obj] = []
        failed: list[Obj] = []
        for p in ctx.pods:
            if not _has_tracking(p):
                continue
            if indexed and not 0 <= completion_index(p) < completions:
                continue
            uid = p["metadata"]["uid"]
            if _phase(p) == "Succeeded":
                if uid not in ctx.uncounted_succeeded:
                    succeeded.append(p)
            elif _is_pod_failed(p, job) and uid not in ctx.uncounted_failed:
                failed.append(p)
        return succeeded, failed

    def _new_backoff_record(self, key: tuple[str, str], succeeded: list[Obj],
                            failed: list[Obj]) -> tuple[int, float | None]:
        """Consecutive failures since the last success and when the last one happened."""
        failures, last = self._backoff.get(key, (0, None))
        failed_times = sorted(_finished_time(p) for p in failed)
        if not succeeded:
            if not failed_times:
                return failures, last
            return failures + len(failed_times), failed_times[-1]
        if not failed_times:
            return 0, None
        last_success = max(_finished_time(p) for p in succeeded)
        after = [t for t in failed_times if t > last_success]
        return len(after), (after[-1] if after else None)

    def _failed_indexes(self, job: Obj, pods: list[Obj], completions: int) -> list[Interval]:
        status = job.get("status") or {}
        prev = parse_indexes(status.get("failedIndexes"), completions)
        limit = int(job["spec"]["backoffLimitPerIndex"])
        policy = job["spec"].get("podFailurePolicy")
        new = []
        for p in pods:
            ix = completion_index(p)
            if not (0 <= ix < completions and _has_tracking(p) and _is_pod_failed(p, job)):
                continue
            _, counts, action = _match_pod_failure_policy(policy, p)
            if action == "FailIndex" or (counts and _count_annotation(
                    p, INDEX_FAILURE_COUNT) >= limit):
                new.append(ix)
        return _with_indexes(prev, new)

    def _pods_with_delayed_deletion(self, ctx: _Sync, completions: int) -> dict[int, Obj]:
        """Per index, the last failed pod, kept (finalizer and all) until its replacement
        exists, so the replacement can inherit the index's failure count."""
        active_indexes = {completion_index(p) for p in ctx.active_pods}
        failed_iv = ctx.failed_indexes or []
        out: dict[int, Obj] = {}
        for p in ctx.pods:
            if not _has_tracking(p) or not _is_pod_failed(p, ctx.job):
                continue
            ix = completion_index(p)
            if not 0 <= ix < completions or ix in active_indexes or _has(
                    ctx.succeeded_indexes, ix) or _has(failed_iv, ix):
                continue
            prev = out.get(ix)
            if prev is None or (_absolute_failures(prev) <= _absolute_failures(p)
                                and _finished_time(p) >= _finished_time(prev)):
                out[ix] = p
        return out

    # ------------------------------------------------------------------ manageJob

    def _manage_job(self, request: Request, ctx: _Sync, now: float) -> int:
        """Create or delete pods; returns the number of active pods afterwards."""
        job = ctx.job
        spec = job["spec"]
        active = len(ctx.active_pods)
        parallelism = int(spec.get("parallelism", 1))
        indexed = spec.get("completionMode") == "Indexed"
        completions = spec.get("completions")
        if spec.get("suspend"):
            rm = _pods_for_removal(job, ctx.active_pods, active)
            removed_ready, removed = self._delete_job_pods(job, rm)
            ctx.terminating += removed
            ctx.ready -= removed_ready
            return active - removed
        if completions is None:
            want = active if ctx.succeeded > 0 else parallelism
        else:
            want = max(0, min(int(completions) - ctx.succeeded, parallelism))
        rm = _pods_for_removal(job, ctx.active_pods, max(0, active - want))
        rm = rm[:MAX_POD_CREATE_DELETE]
        if rm:
            # pod deletion and creation never happen in one sync; deletion comes first
            removed_ready, removed = self._delete_job_pods(job, rm)
            ctx.terminating += removed
            ctx.ready -= removed_ready
            return active - removed
        terminating = ctx.terminating if _only_replace_failed(job) else 0
        diff = want - terminating - active
        if diff <= 0:
            return active
        per_index = spec.get("backoffLimitPerIndex") is not None
        if not per_index:
            left = _backoff_delay(ctx.backoff[0], ctx.backoff[1], now)
            if left > 0:
                self.queue.add_after(request, max(left, SYNC_BATCH_PERIOD))
                return active
        diff = min(diff, MAX_POD_CREATE_DELETE)
        indexes: list[int] = []
        if indexed:
            indexes = _first_pending_indexes(ctx, diff, int(completions or 0))
            if per_index:
                indexes, left = self._creatable_indexes(indexes, ctx.delayed_deletion, now)
                if left > 0:
                    self.queue.add_after(request, max(left, SYNC_BATCH_PERIOD))
                    return active
            diff = len(indexes)
        return active + self._create_pods(ctx, diff, indexes)

    def _creatable_indexes(self, indexes: list[int], delayed: dict[int, Obj],
                           now: float) -> tuple[list[int], float]:
        """The indexes whose own back-off has passed, or the shortest wait if none has."""
        ready: list[int] = []
        wait: float | None = None
        for ix in indexes:
            last = delayed.get(ix)
            left = 0.0 if last is None else _backoff_delay(
                _absolute_failures(last) + 1, _finished_time(last), now)
            if left == 0:
                ready.append(ix)
            elif wait is None or left < wait:
                wait = left
        if ready:
            return ready, 0.0
        return [], wait or 0.0

    def _create_pods(self, ctx: _Sync, count: int, indexes: list[int]) -> int:
        """Create ``count`` pods in doubling batches (slow start); returns how many were
        created."""
        job = ctx.job
        meta, spec = job["metadata"], job["spec"]
        name = meta["name"]
        template = deepcopy(spec.get("template") or {})
        tmeta = template.setdefault("metadata", {})
        finalizers = list(tmeta.get("finalizers") or ())
        if JOB_TRACKING_FINALIZER not in finalizers:
            finalizers.append(JOB_TRACKING_FINALIZER)
        tmeta["finalizers"] = finalizers
        if indexes:
            _add_completion_index_env(template)
        per_index = spec.get("backoffLimitPerIndex") is not None
        pending = list(indexes)
        created = done = 0
        batch = 1
        while done < count:
            size = min(batch, count - done)
            failed = False
            for _ in range(size):
                labels: dict[str, str] = {}
                annotations: dict[str, str] = {}
                generate = name + "-"
                ix = pending.pop(0) if pending else -1
                if ix >= 0:
                    annotations[COMPLETION_INDEX] = labels[COMPLETION_INDEX] = str(ix)
                    generate = _generate_name_with_index(name, ix)
                    if per_index:
                        annotations.update(_index_failure_annotations(
                            job, ctx.delayed_deletion.get(ix)))
                pod = pod_from_template(template, job, generate_name=generate,
                                        extra_labels=labels, annotations=annotations)
                if ix >= 0:
                    pod["spec"]["hostname"] = f"{name}-{ix}"
                try:
                    out = self.client.create(PODS, pod, meta.get("namespace"))
                except errors.APIError as exc:
                    failed = True
                    ctx.create_failed = True
                    message = exc.status.get("message", str(exc))
                    self.events.warning(job, "FailedCreate", f"Error creating: {message}")
                    continue
                created += 1
                self.events.normal(job, "SuccessfulCreate",
                                   f"Created pod: {out['metadata']['name']}")
            done += size
            if failed:
                break  # slow start: the rest waits for the next sync
            batch *= 2
        return created

    def _delete_job_pods(self, job: Obj, pods: list[Obj]) -> tuple[int, int]:
        """Remove the finalizer, then delete (pods the Job no longer wants, not counted as
        failures). Returns (ready pods removed, pods removed)."""
        removed = removed_ready = 0
        for pod in pods:
            try:
                if _has_tracking(pod):
                    self._remove_finalizer(pod)
            except errors.NotFound:
                pass
            except errors.APIError as exc:
                self.events.warning(job, "FailedDelete",
                                    f"Error deleting: {exc.status.get('message', exc)}")
                continue
            if self._delete_pod(job, pod):
                removed += 1
                removed_ready += 1 if is_pod_ready(pod) else 0
        return removed_ready, removed

    def _delete_active_pods(self, job: Obj, pods: list[Obj]) -> tuple[int, int]:
        """Delete the active pods of a finishing Job, keeping their finalizers (they are
        counted, then released, by the status tracking)."""
        removed = removed_ready = 0
        for pod in pods:
            if self._delete_pod(job, pod):
                removed += 1
                removed_ready += 1 if is_pod_ready(pod) else 0
        return removed_ready, removed

    def _delete_pod(self, job: Obj, pod: Obj) -> bool:
        pm = pod["metadata"]
        try:
            self.client.delete(PODS, pm["name"], pm.get("namespace"))
        except errors.NotFound:
            return True
        except errors.APIError as exc:
            self.events.warning(job, "FailedDelete",
                                f"Error deleting: {exc.status.get('message', exc)}")
            return False
        self.events.normal(job, "SuccessfulDelete", f"Deleted pod: {pm['name']}")
        return True

    # ------------------------------------------------------------------ status tracking

    def _track_status(self, ctx: _Sync, needs_flush: bool, key: tuple[str, str],
                      now: float) -> None:
        """``trackJobStatusAndRemoveFinalizers``: record finished pods as uncounted, remove
        their finalizers, move them to the counters, then finish the Job if it is done."""
        job = ctx.job
        spec, status = job["spec"], job["status"]
        uncounted = status["uncountedTerminatedPods"]
        indexed = spec.get("completionMode") == "Indexed"
        completions = int(spec.get("completions") or 0)
        policy = spec.get("podFailurePolicy")
        pods = sorted(ctx.pods, key=completion_index) if indexed else ctx.pods
        with_finalizer = {p["metadata"]["uid"] for p in pods if _has_tracking(p)}
        if _clean_uncounted(status, with_finalizer):
            needs_flush = True
        to_release: list[Obj] = []
        new_succeeded_indexes: list[int] = []
        reached_max = False
        finished = ctx.finished
        failing = finished is not None and finished["type"] != "SuccessCriteriaMet"
        for pod in pods:
            if not _has_tracking(pod):
                continue
            failed = _is_pod_failed(pod, job)
            if not self._can_remove_finalizer(ctx, pod, failed):
                continue
            to_release.append(pod)
            uid = pod["metadata"]["uid"]
            ix = completion_index(pod)
            if _phase(pod) == "Succeeded" and uid not in ctx.uncounted_failed:
                if indexed:
                    if 0 <= ix < completions and not _has(ctx.prev_succeeded_indexes, ix):
                        new_succeeded_indexes.append(ix)
                        needs_flush = True
                elif uid not in ctx.uncounted_succeeded:
                    uncounted.setdefault("succeeded", []).append(uid)
                    needs_flush = True
            elif ((failed or failing) and uid not in ctx.uncounted_failed
                  and (not indexed or 0 <= ix < completions)
                  and _match_pod_failure_policy(policy, pod)[1]):
                uncounted.setdefault("failed", []).append(uid)
                needs_flush = True
            if (len(new_succeeded_indexes) + len(uncounted.get("succeeded") or ())
                    + len(uncounted.get("failed") or ())) >= MAX_UNCOUNTED_PODS:
                reached_max = True
                break
        if indexed:
            ctx.succeeded_indexes = _with_indexes(ctx.succeeded_indexes, new_succeeded_indexes)
            text = _intervals_str(ctx.succeeded_indexes)
            if text != (status.get("completedIndexes") or ""):
                needs_flush = True
            _put(status, "succeeded", _total(ctx.succeeded_indexes))
            _put(status, "completedIndexes", text)
            if ctx.failed_indexes is not None:
                failed_text = _intervals_str(ctx.failed_indexes)
                if status.get("failedIndexes") != failed_text:
                    status["failedIndexes"] = failed_text
                    needs_flush = True
        if finished is not None and finished["type"] == "FailureTarget":
            status.setdefault("conditions", []).append(finished)
            needs_flush = True
            finished = _new_condition("Failed", finished.get("reason", ""),
                                      finished.get("message", ""), now)
        elif finished is not None and finished["type"] == "SuccessCriteriaMet":
            if _true_condition(job, "SuccessCriteriaMet") is None:
                status.setdefault("conditions", []).append(finished)
                needs_flush = True
            finished = _new_condition("Complete", finished.get("reason", ""),
                                      finished.get("message", ""), now)
        ctx.finished = finished

        if needs_flush:
            self._write_status(job)
            self._backoff[key] = ctx.backoff
            needs_flush = False
        release_error: errors.APIError | None = None
        for pod in to_release:
            try:
                self._remove_finalizer(pod)
            except errors.NotFound:
                pass
            except errors.APIError as exc:
                release_error = exc
                continue
            with_finalizer.discard(pod["metadata"]["uid"])
        if _clean_uncounted(status, with_finalizer):
            needs_flush = True
        if release_error is not None:
            if needs_flush:
                self._write_status(job)
            raise release_error
        job_finished = not reached_max and self._enact_finished(ctx, now)
        if job_finished or needs_flush:
            self._write_status(job)
        if job_finished and finished is not None:
            if finished["type"] == "Complete":
                if spec.get("completions") is not None and int(
                        status.get("succeeded") or 0) > int(spec["completions"]):
                    self.events.warning(job, "TooManySucceededPods",
                                        "Too many succeeded pods running after completion "
                                        "count reached")
                self.events.normal(job, "Completed", "Job completed")
            else:
                self.events.warning(job, finished.get("reason", ""), finished.get("message", ""))

    def _can_remove_finalizer(self, ctx: _Sync, pod: Obj, failed: bool) -> bool:
        if (ctx.job["metadata"].get("deletionTimestamp") or ctx.finished is not None
                or _phase(pod) == "Succeeded"):
            return True
        if not failed:
            return False
        if ctx.job["spec"].get("backoffLimitPerIndex") is not None:
            delayed = ctx.delayed_deletion.get(completion_index(pod))
            if delayed is not None and delayed["metadata"]["uid"] == pod["metadata"]["uid"]:
                return False
        return True

    def _enact_finished(self, ctx: _Sync, now: float) -> bool:
        """Set Complete / Failed once every pod is counted and none is terminating."""
        finished = ctx.finished
        if finished is None:
            return False
        status = ctx.job["status"]
        uncounted = status["uncountedTerminatedPods"]
        if uncounted.get("succeeded") or uncounted.get("failed") or ctx.terminating > 0:
            return False
        _ensure_condition(status, finished["type"], "True", finished.get("reason", ""),
                          finished.get("message", ""), now)
        if finished["type"] == "Complete":
            status["completionTime"] = finished["lastTransitionTime"]
        return True

    def _write_status(self, job: Obj) -> None:
        meta = job["metadata"]
        out = self.client.replace_status(JOBS, {
            "apiVersion": job.get("apiVersion", "batch/v1"), "kind": "Job",
            "metadata": {"name": meta["name"], "namespace": meta.get("namespace"),
                         "resourceVersion": meta["resourceVersion"]},
            "spec": job["spec"], "status": job["status"]})
        meta["resourceVersion"] = out["metadata"]["resourceVersion"]


# ---------------------------------------------------------------------------------------------
# helpers of the sync


def _controller_uid_label(pod: Obj) -> Iterable[str]:
    value = (pod["metadata"].get("labels") or {}).get(CONTROLLER_UID_LABEL)
    return (value,) if value else ()


def _true_condition(job: Obj, ctype: str) -> Obj | None:
    cond = condition(job, ctype)
    return cond if cond is not None and cond.get("status") == "True" else None


def _put(status: Obj, key: str, value: Any) -> None:
    """Set a field Go would omit when empty."""
    if value:
        status[key] = value
    else:
        status.pop(key, None)


def _clean_uncounted(status: Obj, with_finalizer: set[str]) -> bool:
    """Move uncounted pods whose finalizer is gone to the counters."""
    uncounted = status["uncountedTerminatedPods"]
    changed = False
    for field_name, counter in (("succeeded", "succeeded"), ("failed", "failed")):
        uids = uncounted.get(field_name) or []
        keep = [u for u in uids if u in with_finalizer]
        if len(keep) != len(uids):
            changed = True
            _put(status, counter, int(status.get(counter) or 0) + len(uids) - len(keep))
            if keep:
                uncounted[field_name] = keep
            else:
                uncounted.pop(field_name, None)
    return changed


def _past_backoff_limit_on_failure(job: Obj, pods: list[Obj]) -> bool:
    """With restartPolicy OnFailure, container restarts count against backoffLimit."""
    spec = job["spec"]
    if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for p in pods:
        if _phase(p) in ("Running", "Pending"):
            status = p.get("status") or {}
            for cs in [*(status.get("initContainerStatuses") or ()),
                       *(status.get("containerStatuses") or ())]:
                restarts += int(cs.get("restartCount", 0))
    limit = int(spec.get("backoffLimit", 6))
    return restarts > 0 if limit == 0 else restarts >= limit


def _pods_for_removal(job: Obj, pods: list[Obj], rm_at_least: int) -> list[Obj]:
    """Pods to delete: in Indexed mode duplicates and out-of-range indexes first, then the
    least advanced pods (``activePodsForRemoval``)."""
    rm: list[Obj] = []
    left: list[Obj]
    if job["spec"].get("completionMode") == "Indexed":
        completions = int(job["spec"].get("completions") or 0)
        left = []
        groups: dict[int, list[Obj]] = {}
        for p in pods:
            ix = completion_index(p)
            if ix < 0 or ix >= completions:
                rm.append(p)
            else:
                groups.setdefault(ix, []).append(p)
        for ix in sorted(groups):
            group = sorted(groups[ix], key=_active_pods_key)
            rm.extend(group[:-1])
            left.append(group[-1])
    else:
        left = list(pods)
    if len(rm) < rm_at_least:
        left.sort(key=_active_pods_key)
        rm.extend(left[:rm_at_least - len(rm)])
    return rm


def _first_pending_indexes(ctx: _Sync, count: int, completions: int) -> list[int]:
    """The lowest ``count`` indexes below ``completions`` that no active pod holds and that
    have not succeeded (nor failed for good)."""
    if count <= 0:
        return []
    taken = _with_indexes(ctx.succeeded_indexes,
                          (completion_index(p) for p in ctx.active_pods
                           if completion_index(p) >= 0))
    if _only_replace_failed(ctx.job):
        taken = _with_indexes(taken, (completion_index(p) for p in ctx.pods
                                      if _is_terminating(p) and completion_index(p) >= 0))
    if ctx.failed_indexes:
        taken = _merge(taken, ctx.failed_indexes)
    out: list[int] = []
    candidate = 0
    for first, last in taken:
        while candidate < completions and len(out) < count and candidate < first:
            out.append(candidate)
            candidate += 1
        candidate = max(candidate, last + 1)
    while candidate < completions and len(out) < count:
        out.append(candidate)
        candidate += 1
    return out


def _absolute_failures(pod: Obj) -> int:
    return (_count_annotation(pod, INDEX_FAILURE_COUNT)
            + _count_annotation(pod, INDEX_IGNORED_FAILURE_COUNT))


def _index_failure_annotations(job: Obj, replaced: Obj | None) -> dict[str, str]:
    """The failure counts a replacement pod inherits from the pod it replaces."""
    failures = ignored = 0
    if replaced is not None:
        failures = _count_annotation(replaced, INDEX_FAILURE_COUNT)
        ignored = _count_annotation(replaced, INDEX_IGNORED_FAILURE_COUNT)
        if _match_pod_failure_policy(job["spec"].get("podFailurePolicy"), replaced)[1]:
            failures += 1
        else:
            ignored += 1
    out = {INDEX_FAILURE_COUNT: str(failures)}
    if ignored > 0:
        out[INDEX_IGNORED_FAILURE_COUNT] = str(ignored)
    return out


def _add_completion_index_env(template: Obj) -> None:
    """``JOB_COMPLETION_INDEX`` from the completion index label, in every container."""
    pod_spec = template.setdefault("spec", {})
    for kind in ("initContainers", "containers"):
        for container in pod_spec.get(kind) or ():
            env = container.setdefault("env", [])
            if any(e.get("name") == COMPLETION_INDEX_ENV for e in env):
                continue
            env.append({"name": COMPLETION_INDEX_ENV, "valueFrom": {"fieldRef": {
                "fieldPath": f"metadata.labels['{COMPLETION_INDEX}']"}}})


def _generate_name_with_index(name: str, index: int) -> str:
    suffix = f"-{index}-"
    prefix = name + suffix
    if len(prefix) > _MAX_GENERATED_NAME:
        prefix = prefix[:_MAX_GENERATED_NAME - len(suffix)] + suffix
    return prefix
