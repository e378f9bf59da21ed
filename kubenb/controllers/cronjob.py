"""The CronJob controller: create Jobs on a cron schedule of the cluster clock
(``pkg/controller/cronjob``, the v2 controller).

A reconcile looks at the CronJob's Jobs (removing finished ones from ``status.active``, deleting
the oldest beyond ``successfulJobsHistoryLimit`` / ``failedJobsHistoryLimit``), finds the most
recent unmet schedule time, and, unless it is too late for ``startingDeadlineSeconds``,
suspended, or blocked by ``concurrencyPolicy`` (Forbid skips while a Job runs, Replace deletes
the running ones), creates the Job ``<cronjob>-<scheduled minutes since the epoch>``. It then
waits for the next schedule time (plus 100 ms, as upstream) on a *background* timer: cron
schedules recur forever, so they must not keep ``settle()`` from returning; ``advance()`` moves
time across them.

Schedules are parsed here with the semantics of ``github.com/robfig/cron/v3`` ``ParseStandard``,
which Kubernetes uses: five fields (minute, hour, day of month, month, day of week), ``*`` / ``?``,
ranges, steps, lists, month and weekday names, the descriptors ``@yearly`` ... ``@hourly`` and
``@every <duration>``, an optional ``TZ=`` / ``CRON_TZ=`` prefix, and Vixie cron's rule that a
day matches either day field when both are restricted. ``spec.timeZone`` is an IANA zone
(:mod:`zoneinfo`); wall times skipped by a DST change do not run, repeated ones run twice.
"""

from __future__ import annotations

import datetime
import math
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import CRONJOBS, JOBS
from kubenb.client.client import deepcopy
from kubenb.controllers.job import finished_condition
from kubenb.controllers.podutil import now_string, owner_reference, parse_time
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.informer import BY_CONTROLLER, Handler, by_controller_owner
from kubenb.runtime.manager import Manager

__all__ = ["CronJobController", "CronSchedule", "parse_schedule"]

Obj = dict[str, Any]

SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
#: the wait for the next schedule is padded by this much against clock skew (nextScheduleDelta)
NEXT_SCHEDULE_DELTA = 0.1
UTC = datetime.UTC

# ---------------------------------------------------------------------------------------------
# cron schedules

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    start=1)}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
#: (low, high, names) of minute, hour, day of month, month, day of week
_FIELDS: tuple[tuple[int, int, dict[str, int] | None], ...] = (
    (0, 59, None), (0, 23, None), (1, 31, None), (1, 12, _MONTHS), (0, 6, _DAYS))
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
                   "m": 60.0, "h": 3600.0}
_SEARCH_YEARS = 5  # robfig gives up after this many years without a match


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule; :meth:`next` gives the first activation after a Unix time."""

    minutes: tuple[int, ...] = ()
    hours: tuple[int, ...] = ()
    days: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()  # 0 = Sunday
    day_star: bool = False
    weekday_star: bool = False
    zone: datetime.tzinfo = UTC
    every: float = 0.0  # @every <duration>: a constant delay instead of fields

    def _day_matches(self, day: datetime.date) -> bool:
        dom = day.day in self.days
        dow = (day.weekday() + 1) % 7 in self.weekdays
        if self.day_star or self.weekday_star:
            return dom and dow
        return dom or dow

    def next(self, after: float) -> float | None:
        """The first activation strictly after ``after`` (whole seconds), or None if there is
        none within five years (a schedule such as February 30th)."""
        if self.every:
            return math.floor(after) + self.every
        earliest = math.floor(after) + 1
        day = datetime.datetime.fromtimestamp(earliest, self.zone).date()
        last = day + datetime.timedelta(days=366 * _SEARCH_YEARS)
        one_day = datetime.timedelta(days=1)
        while day <= last:
            if day.month in self.months and self._day_matches(day):
                found = self._first_on(day, earliest)
                if found is not None:
                    return found
            day += one_day
        return None

    def _first_on(self, day: datetime.date, earliest: float) -> float | None:
        """The first activation on the local ``day`` at or after ``earliest``."""
        zone = self.zone
        midnight = (day - _EPOCH_DAY).days * 86400
        if zone is UTC:
            offset = offset_next = 0.0
        else:
            wall = datetime.datetime(day.year, day.month, day.day)
            offset = _offset(zone, wall)
            offset_next = _offset(zone, wall + datetime.timedelta(days=1))
        if offset == offset_next:  # no DST change that day: wall time maps one to one
            for hour in self.hours:
                if midnight + hour * 3600 + 3599 - offset < earliest:
                    continue
                for minute in self.minutes:
                    when = midnight + hour * 3600 + minute * 60 - offset
                    if when >= earliest:
                        return when
            return None
        best: float | None = None
        for hour in self.hours:
            for minute in self.minutes:
                for when in _instants(day, hour, minute, zone):
                    if when >= earliest and (best is None or when < best):
                        best = when
        return best


_EPOCH_DAY = datetime.date(1970, 1, 1)


def _offset(zone: datetime.tzinfo, wall: datetime.datetime) -> float:
    delta = zone.utcoffset(wall)
    return delta.total_seconds() if delta is not None else 0.0


def _instants(day: datetime.date, hour: int, minute: int,
              zone: datetime.tzinfo) -> Sequence[float]:
    """The instants a wall time is in ``zone``: none in a DST gap, two in a DST overlap."""
    wall = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    out: list[float] = []
    for fold in (0, 1):
        candidate = wall.replace(fold=fold)
        when = candidate.timestamp()
        back = datetime.datetime.fromtimestamp(when, zone)
        if (back.day, back.hour, back.minute) == (day.day, hour, minute) and when not in out:
            out.append(when)
    return out


def _parse_field(text: str, index: int) -> tuple[set[int], bool]:
    """One field: a comma list of ``*``, ``?``, ``N``, ``N-M``, each with an optional ``/step``.
    Returns the values and whether the field counts as ``*`` for the day rule."""
    low_bound, high_bound, names = _FIELDS[index]
    values: set[int] = set()
    star = False
    for part in text.split(","):
        range_step = part.split("/")
        if len(range_step) > 2:
            raise ValueError(f"too many slashes: {part}")
        low_high = range_step[0].split("-")
        part_star = False
        if low_high[0] in ("*", "?"):
            if len(low_high) > 1:
                raise ValueError(f"too many hyphens: {part}")
            low, high, part_star = low_bound, high_bound, True
        else:
            if len(low_high) > 2:
                raise ValueError(f"too many hyphens: {part}")
            low = _int_or_name(low_high[0], names)
            high = _int_or_name(low_high[1], names) if len(low_high) == 2 else low
        step = 1
        if len(range_step) == 2:
            step = _int_or_name(range_step[1], None)
            if len(low_high) == 1:
                high = high_bound  # "N/step" means "N-max/step"
            if step > 1:
                part_star = False
        if low < low_bound:
            raise ValueError(f"beginning of range ({low}) below minimum ({low_bound}): {part}")
        if high > high_bound:
            raise ValueError(f"end of range ({high}) above maximum ({high_bound}): {part}")
        if low > high:
            raise ValueError(f"beginning of range ({low}) beyond end of range ({high}): {part}")
        if step == 0:
            raise ValueError(f"step of range should be a positive number: {part}")
        values.update(range(low, high + 1, step))
        star = star or part_star
    return values, star


def _int_or_name(text: str, names: dict[str, int] | None) -> int:
    if names is not None and text.lower() in names:
        return names[text.lower()]
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"failed to parse int from {text}") from None
    if value < 0:
        raise ValueError(f"negative number ({value}) not allowed: {text}")
    return value


def _parse_duration(text: str) -> float:
    """A Go duration (``1h30m``, ``90s``)."""
    if not text or _DURATION_PART.sub("", text) != "":
        raise ValueError(f"failed to parse duration {text}")
    return sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))


def load_zone(name: str | None) -> datetime.tzinfo:
    """An IANA time zone (``time.LoadLocation``): empty or ``UTC`` is UTC."""
    if not name or name == "UTC":
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {name}") from exc


def parse_schedule(spec: str, zone: str | None = None) -> CronSchedule:
    """Parse a standard cron schedule (``cron.ParseStandard``); ``zone`` is
    ``spec.timeZone``. Raises ValueError."""
    text = spec.strip()
    if not text:
        raise ValueError("empty spec string")
    tz = load_zone(zone)
    if text.startswith(("TZ=", "CRON_TZ=")):
        head, _, text = text.partition(" ")
        tz = load_zone(head.split("=", 1)[1])
        text = text.strip()
    if text.startswith("@"):
        if text.startswith("@every "):
            delay = _parse_duration(text[len("@every "):].strip())
            return CronSchedule(zone=tz, every=max(1.0, float(math.floor(delay))))
        if text not in _DESCRIPTORS:
            raise ValueError(f"unrecognized descriptor: {text}")
        text = _DESCRIPTORS[text]
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"expected exactly 5 fields, found {len(fields)}: {text}")
    parsed = [_parse_field(f, i) for i, f in enumerate(fields)]
    return CronSchedule(minutes=tuple(sorted(parsed[0][0])), hours=tuple(sorted(parsed[1][0])),
                        days=frozenset(parsed[2][0]), months=frozenset(parsed[3][0]),
                        weekdays=frozenset(parsed[4][0]), day_star=parsed[2][1],
                        weekday_star=parsed[4][1], zone=tz)


# ---------------------------------------------------------------------------------------------
# schedule arithmetic of the controller (utils.go)

_NONE_MISSED, _FEW_MISSED, _MANY_MISSED = 0, 1, 2


def most_recent_schedule_time(cj: Obj, now: float, sched: CronSchedule,
                              include_deadline: bool) -> tuple[float, float | None, int]:
    """(earliest time considered, most recent schedule time <= now or None, how many were
    missed). Raises ValueError for a schedule that never fires."""
    status, spec = cj.get("status") or {}, cj["spec"]
    earliest = parse_time(status.get("lastScheduleTime")) or parse_time(
        cj["metadata"].get("creationTimestamp")) or now
    deadline = spec.get("startingDeadlineSeconds")
    if include_deadline and deadline is not None:
        earliest = max(earliest, now - int(deadline))
    t1 = sched.next(earliest)
    t2 = sched.next(t1) if t1 is not None else None
    if t1 is None or t2 is None:
        raise ValueError("time difference between two schedules is less than 1 second")
    if now < t1:
        return earliest, None, _NONE_MISSED
    if now < t2:
        return earliest, t1, _NONE_MISSED
    between = round(t2 - t1)
    if between < 1:
        raise ValueError("time difference between two schedules is less than 1 second")
    missed = int(now - t1) // between + 1
    most_recent: float | None = None
    t: float | None = sched.next(t1 + (missed - 2) * between)
    while t is not None and t <= now:
        most_recent = t
        t = sched.next(t)
    kind = _MANY_MISSED if missed > 100 else _FEW_MISSED
    return earliest, most_recent, kind


def next_schedule_delay(cj: Obj, now: float, sched: CronSchedule) -> float | None:
    """How long until the next schedule time after the last one handled (plus the delta)."""
    try:
        earliest, recent, missed = most_recent_schedule_time(cj, now, sched, False)
    except ValueError:
        recent = now
    else:
        if recent is None:
            recent = earliest if missed == _NONE_MISSED else now
    following = sched.next(recent)
    if following is None:
        return None
    return following + NEXT_SCHEDULE_DELTA - now


def _rfc3339_in(when: float, zone: datetime.tzinfo) -> str:
    text = datetime.datetime.fromtimestamp(int(when), zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _rfc1123z(when: float) -> str:
    return datetime.datetime.fromtimestamp(int(when), UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def job_name(cj: Obj, scheduled: float) -> str:
    """``<cronjob>-<scheduled time in minutes since the epoch>``."""
    return f"{cj['metadata']['name']}-{int(scheduled) // 60}"


# ---------------------------------------------------------------------------------------------
# the controller


class CronJobController(Controller):
    name = "cronjob-controller"
    primary = CRONJOBS

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kube-controller-manager")
        self.clock = mgr.clock
        self.events = mgr.recorder(self.name)
        self.cronjobs = mgr.informer(CRONJOBS)
        self.jobs = mgr.informer(JOBS)
        self.jobs.add_index(BY_CONTROLLER, by_controller_owner)
        self.cronjobs.add_handler(Handler(on_add=self.enqueue, on_update=self._cronjob_updated))
        self.jobs.add_handler(Handler(on_add=self._job_changed,
                                      on_update=self._job_updated,
                                      on_delete=self._job_changed))

    # ------------------------------------------------------------------ handlers

    def _cronjob_updated(self, old: Obj, new: Obj) -> None:
        spec, old_spec = new["spec"], old["spec"]
        if (spec.get("schedule"), spec.get("timeZone")) == (old_spec.get("schedule"),
                                                            old_spec.get("timeZone")):
            self.enqueue(new)
            return
        try:
            sched = parse_schedule(spec.get("schedule", ""), spec.get("timeZone"))
        except ValueError:
            self.events.warning(new, "UnParseableCronJobSchedule",
                                f"unparseable schedule for cronjob: {spec.get('schedule')}")
            return
        delay = next_schedule_delay(new, self.clock.now(), sched)
        if delay is not None:
            meta = new["metadata"]
            self.queue.add_after(Request(meta.get("namespace", ""), meta["name"]), delay,
                                 background=True)

    def _job_changed(self, job: Obj) -> None:
        self._enqueue_owner(job)

    def _job_updated(self, old: Obj, new: Obj) -> None:
        self._enqueue_owner(new)
        if old["metadata"].get("ownerReferences") != new["metadata"].get("ownerReferences"):
            self._enqueue_owner(old)

    def _enqueue_owner(self, job: Obj) -> None:
        meta = job["metadata"]
        for ref in meta.get("ownerReferences") or ():
            if ref.get("controller") and ref.get("kind") == "CronJob":
                cj = self.cronjobs.get(ref["name"], meta.get("namespace"))
                if cj is not None and cj["metadata"]["uid"] == ref.get("uid"):
                    self.enqueue(cj)

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, request: Request) -> Result | None:
        shared = self.cronjobs.get(request.name, request.namespace)
        if shared is None:
            return None
        jobs = self.jobs.by_index(BY_CONTROLLER, shared["metadata"]["uid"])
        cj = deepcopy(shared)
        cj.setdefault("status", {})
        cleaned = self._cleanup_finished_jobs(cj, jobs)
        delay, synced = self._sync(cj, jobs)
        if cleaned or synced:
            try:
                self.client.replace_status(CRONJOBS, {
                    "apiVersion": cj.get("apiVersion", "batch/v1"), "kind": "CronJob",
                    "metadata": {"name": cj["metadata"]["name"],
                                 "namespace": cj["metadata"].get("namespace"),
                                 "resourceVersion": cj["metadata"]["resourceVersion"]},
                    "spec": cj["spec"], "status": cj["status"]})
            except errors.Conflict:
                return Result(requeue=True)
            except errors.NotFound:
                return None
        if delay is not None:
            # schedules recur forever: a background timer, so settle() is not held by it
            self.queue.add_after(request, max(delay, 0.0), background=True)
        return None

    def _sync(self, cj: Obj, jobs: list[Obj]) -> tuple[float | None, bool]:
        """``syncCronJob``: returns (seconds until the next look, whether status changed)."""
        now = self.clock.now()
        meta, spec, status = cj["metadata"], cj["spec"], cj["status"]
        ns = meta.get("namespace", "")
        updated = False
        children: set[str] = set()
        for job in jobs:
            uid = job["metadata"]["uid"]
            children.add(uid)
            active = any(ref.get("uid") == uid for ref in status.get("active") or ())
            finished = finished_condition(job)
            if not active and finished is None:
                self.events.warning(cj, "UnexpectedJob", "Saw a job that the controller did not "
                                    f"create or forgot: {job['metadata']['name']}")
            elif active and finished is not None:
                _remove_active(status, uid)
                self.events.normal(cj, "SawCompletedJob", f"Saw completed job: "
                                   f"{job['metadata']['name']}, status: {finished}")
                updated = True
            elif finished == "Complete":
                completed = (job.get("status") or {}).get("completionTime")
                last = status.get("lastSuccessfulTime")
                if completed and (last is None or (parse_time(completed) or 0) > (
                        parse_time(last) or 0)):
                    status["lastSuccessfulTime"] = completed
                    updated = True
        for ref in list(status.get("active") or ()):
            if ref.get("uid") in children:
                continue
            if self.jobs.get(ref.get("name", ""), ref.get("namespace") or ns) is None:
                self.events.normal(cj, "MissingJob", f"Active job went missing: {ref.get('name')}")
                _remove_active(status, ref.get("uid"))
                updated = True
        if meta.get("deletionTimestamp"):
            return None, updated
        zone = spec.get("timeZone")
        if zone is not None:
            try:
                load_zone(zone)
            except ValueError as exc:
                self.events.warning(cj, "UnknownTimeZone", f'invalid timeZone: "{zone}": {exc}')
                return None, updated
        if spec.get("suspend"):
            return None, updated
        schedule = spec.get("schedule", "")
        if "TZ" in schedule:
            self.events.warning(cj, "UnsupportedSchedule", f'CRON_TZ or TZ used in schedule '
                                f'"{schedule}" is not officially supported, see https://'
                                "kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ "
                                "for more details")
        try:
            sched = parse_schedule(schedule, zone)
        except ValueError as exc:
            self.events.warning(cj, "UnparseableSchedule",
                                f'unparseable schedule: "{schedule}" : {exc}')
            return None, updated
        try:
            _, scheduled, missed = most_recent_schedule_time(cj, now, sched, True)
        except ValueError as exc:
            self.events.warning(cj, "InvalidSchedule", f"invalid schedule: {schedule} : {exc}")
            return None, updated
        if scheduled is not None and missed == _MANY_MISSED:
            self.events.warning(cj, "TooManyMissedTimes", "too many missed start times. Set or "
                                "decrease .spec.startingDeadlineSeconds or check clock skew")
        next_delay = next_schedule_delay(cj, now, sched)
        if scheduled is None:
            return next_delay, updated
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None and scheduled + int(deadline) < now:
            self.events.warning(cj, "MissSchedule", "Missed scheduled time to start a job: "
                                f"{_rfc1123z(scheduled)}")
            return next_delay, updated
        name = job_name(cj, scheduled)
        if any(ref.get("name") == name for ref in status.get("active") or ()) or (
                parse_time(status.get("lastScheduleTime")) == float(int(scheduled))):
            return next_delay, updated
        policy = spec.get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and status.get("active"):
            self.events.normal(cj, "JobAlreadyActive", "Not starting job because prior "
                               "execution is running and concurrency policy is Forbid")
            return next_delay, updated
        if policy == "Replace":
            for ref in list(status.get("active") or ()):
                job = self.jobs.get(ref.get("name", ""), ref.get("namespace") or ns)
                if job is None:
                    try:
                        job = self.client.get(JOBS, ref.get("name", ""), ref.get("namespace") or ns)
                    except errors.APIError as exc:
                        self.events.warning(cj, "FailedGet", f"Get job: {exc}")
                        raise
                if not self._delete_job(cj, job):
                    raise RuntimeError(f"could not replace job {ns}/{job['metadata']['name']}")
                updated = True
        request = _job_from_template(cj, scheduled, name)
        try:
            created = self.client.create(JOBS, request, ns)
        except errors.AlreadyExists:
            created = self.client.get(JOBS, name, ns)
            ref = next((r for r in created["metadata"].get("ownerReferences") or ()
                        if r.get("controller")), None)
            if ref is None or ref.get("uid") != meta["uid"]:
                return None, updated  # someone else's Job: assume it handles the status
            if any(r.get("uid") == created["metadata"]["uid"]
                   for r in status.get("active") or ()):
                return None, updated
        except errors.APIError as exc:
            self.events.warning(cj, "FailedCreate",
                                f"Error creating job: {exc.status.get('message', exc)}")
            raise
        else:
            self.events.normal(cj, "SuccessfulCreate", f"Created job {name}")
        cmeta = created["metadata"]
        status.setdefault("active", []).append({
            "kind": "Job", "namespace": cmeta.get("namespace", ns), "name": cmeta["name"],
            "uid": cmeta["uid"], "apiVersion": "batch/v1",
            "resourceVersion": cmeta.get("resourceVersion", "")})
        status["lastScheduleTime"] = now_string(scheduled)
        return next_schedule_delay(cj, now, sched), True

    def _cleanup_finished_jobs(self, cj: Obj, jobs: list[Obj]) -> bool:
        """Delete the oldest finished Jobs beyond the history limits."""
        spec = cj["spec"]
        succeeded_limit = spec.get("successfulJobsHistoryLimit")
        failed_limit = spec.get("failedJobsHistoryLimit")
        if succeeded_limit is None and failed_limit is None:
            return False
        succeeded = [j for j in jobs if finished_condition(j) == "Complete"]
        failed = [j for j in jobs if finished_condition(j) == "Failed"]
        updated = False
        for group, limit in ((succeeded, succeeded_limit), (failed, failed_limit)):
            if limit is None or len(group) <= int(limit):
                continue
            group.sort(key=_start_time_key)
            for job in group[:len(group) - int(limit)]:
                if self._delete_job(cj, job):
                    updated = True
        return updated

    def _delete_job(self, cj: Obj, job: Obj) -> bool:
        jm = job["metadata"]
        try:
            self.client.delete(JOBS, jm["name"], jm.get("namespace"),
                               propagation_policy="Background")
        except errors.NotFound:
            pass
        except errors.APIError as exc:
            self.events.warning(cj, "FailedDelete", f"Deleted job: {exc}")
            return False
        _remove_active(cj["status"], jm["uid"])
        self.events.normal(cj, "SuccessfulDelete", f"Deleted job {jm['name']}")
        return True


def _remove_active(status: Obj, uid: str | None) -> None:
    active = [r for r in status.get("active") or () if r.get("uid") != uid]
    if active:
        status["active"] = active
    else:
        status.pop("active", None)


def _start_time_key(job: Obj) -> tuple[Any, ...]:
    """Oldest first by ``status.startTime`` (Jobs that never started last), then by name."""
    start = parse_time((job.get("status") or {}).get("startTime"))
    return (start is None, start or 0.0, job["metadata"]["name"])


def _job_from_template(cj: Obj, scheduled: float, name: str) -> Obj:
    template = cj["spec"].get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    annotations = dict(tmeta.get("annotations") or {})
    try:
        zone = load_zone(cj["spec"].get("timeZone"))
    except ValueError:
        zone = UTC
    annotations[SCHEDULED_TIMESTAMP] = _rfc3339_in(scheduled, zone)
    meta: Obj = {"name": name, "namespace": cj["metadata"].get("namespace"),
                 "annotations": annotations, "ownerReferences": [owner_reference(cj)]}
    if tmeta.get("labels"):
        meta["labels"] = dict(tmeta["labels"])
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": deepcopy(template.get("spec") or {})}
