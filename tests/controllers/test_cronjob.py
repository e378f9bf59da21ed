"""The CronJob controller: schedules on the cluster clock, moved with ``Cluster.advance``.

No simulated node runs the Jobs' pods: a test that needs a Job to finish writes its pods'
terminal status itself, as a kubelet would.
"""

from __future__ import annotations

import datetime
import math
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pytest

from kubenb.api import kinds
from kubenb.cluster import Cluster
from kubenb.controllers.cronjob import SCHEDULED_TIMESTAMP, parse_schedule
from kubenb.controllers.podutil import now_string, parse_time

Obj = dict[str, Any]
NS = "default"
FAKE_NODE = "test-kubelet-node"
UTC = datetime.UTC


@pytest.fixture
def c() -> Iterator[Cluster]:
    with Cluster(nodes=0, speed="max", serve=False, seed=1) as cluster:
        yield cluster


def at(text: str, zone: datetime.tzinfo = UTC) -> float:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def iso(when: float | None, zone: datetime.tzinfo = UTC) -> str:
    assert when is not None
    return datetime.datetime.fromtimestamp(when, zone).isoformat()


# ------------------------------------------------------------------------------ schedules


def test_standard_schedules() -> None:
    assert iso(parse_schedule("*/5 * * * *").next(at("2026-01-01T10:02:30"))) == (
        "2026-01-01T10:05:00+00:00")
    # strictly after: a time on the schedule gives the following one
    assert iso(parse_schedule("*/5 * * * *").next(at("2026-01-01T10:05:00"))) == (
        "2026-01-01T10:10:00+00:00")
    assert iso(parse_schedule("@hourly").next(at("2026-01-01T10:00:00"))) == (
        "2026-01-01T11:00:00+00:00")
    assert iso(parse_schedule("@daily").next(at("2026-01-01T10:00:00"))) == (
        "2026-01-02T00:00:00+00:00")
    assert iso(parse_schedule("@weekly").next(at("2026-01-01T10:00:00"))) == (
        "2026-01-04T00:00:00+00:00")  # a Sunday
    assert iso(parse_schedule("@monthly").next(at("2026-01-15T00:00:00"))) == (
        "2026-02-01T00:00:00+00:00")
    assert iso(parse_schedule("@yearly").next(at("2026-01-15T00:00:00"))) == (
        "2027-01-01T00:00:00+00:00")
    # 2026-01-02 is a Friday: the next weekday 09:00 is Monday the 5th
    assert iso(parse_schedule("0 9 * * MON-FRI").next(at("2026-01-02T10:00:00"))) == (
        "2026-01-05T09:00:00+00:00")
    assert iso(parse_schedule("15 14 1 jan,jul *").next(at("2026-02-01T00:00:00"))) == (
        "2026-07-01T14:15:00+00:00")
    assert parse_schedule("@every 1h30m").next(100.5) == 100 + 5400


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    # Vixie cron / robfig: "13th OR Friday"; 2026-01-02 is a Friday
    assert iso(parse_schedule("0 0 13 * 5").next(at("2026-01-01T00:00:00"))) == (
        "2026-01-02T00:00:00+00:00")
    # a day field starting with * means AND: Fridays only
    assert iso(parse_schedule("0 0 * * 5").next(at("2026-01-03T00:00:00"))) == (
        "2026-01-09T00:00:00+00:00")
    # February 30th never comes
    assert parse_schedule("0 0 30 2 *").next(at("2026-01-01T00:00:00")) is None


def test_time_zones_and_daylight_saving() -> None:
    ny = zoneinfo.ZoneInfo("America/New_York")
    sched = parse_schedule("30 2 * * *", "America/New_York")
    # 2026-03-08 02:30 does not exist in New York: that day is skipped
    assert iso(sched.next(at("2026-03-07T12:00:00", ny)), ny) == "2026-03-09T02:30:00-04:00"
    # 01:30 on 2026-11-01 happens twice: both run
    sched = parse_schedule("30 1 * * *", "America/New_York")
    first = sched.next(at("2026-10-31T12:00:00", ny))
    second = sched.next(first)  # type: ignore[arg-type]
    assert (iso(first), iso(second)) == ("2026-11-01T05:30:00+00:00",
                                         "2026-11-01T06:30:00+00:00")
    assert iso(parse_schedule("TZ=Asia/Tokyo 0 9 * * *").next(at("2026-01-01T01:00:00"))) == (
        "2026-01-02T00:00:00+00:00")


@pytest.mark.parametrize("bad", ["* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *",
                                 "* * * 13 *", "* * * * 7", "@often", "*/0 * * * *",
                                 "5-1 * * * *", "a * * * *", ""])
def test_invalid_schedules(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(bad)


def test_unknown_time_zone() -> None:
    with pytest.raises(ValueError):
        parse_schedule("* * * * *", "Mars/Olympus_Mons")


# ------------------------------------------------------------------------------ controller


def cronjob(name: str, schedule: str, **spec: Any) -> Obj:
    container = {"name": "main", "image": "busybox", "command": ["date"]}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": schedule, "jobTemplate": {
                "metadata": {"labels": {"app": name}},
                "spec": {"template": {"spec": {"restartPolicy": "Never",
                                               "containers": [container]}}}}, **spec}}


def jobs_of(c: Cluster, cj: str) -> list[Obj]:
    return sorted((j for j in c.client.list(kinds.JOBS, NS).items
                   if (j["metadata"].get("labels") or {}).get("app") == cj
                   and not j["metadata"].get("deletionTimestamp")),
                  key=lambda j: j["metadata"]["name"])


def status_of(c: Cluster, cj: str) -> Obj:
    return c.client.get(kinds.CRONJOBS, cj, NS).get("status") or {}


def reasons(c: Cluster, name: str) -> list[str]:
    return [e["reason"] for e in c.client.list(kinds.EVENTS, NS).items
            if e["involvedObject"]["name"] == name for _ in range(e.get("count", 1))]


def until_next(c: Cluster, period: int) -> float:
    """Seconds of cluster time to move to just past the next multiple of ``period``."""
    now = c.clock.now()
    return (math.floor(now / period) + 1) * period - now + 1


def finish_job(c: Cluster, job: Obj, exit_code: int = 0) -> None:
    """Play the kubelet: every pod of the Job exits with ``exit_code``."""
    for pod in c.client.list(kinds.PODS, NS).items:
        labels = pod["metadata"].get("labels") or {}
        if labels.get("batch.kubernetes.io/controller-uid") != job["metadata"]["uid"]:
            continue
        if pod["status"].get("phase") in ("Succeeded", "Failed"):
            continue
        name = pod["metadata"]["name"]
        if not pod["spec"].get("nodeName"):
            c.client.bind(NS, name, FAKE_NODE)
        fresh = c.client.get(kinds.PODS, name, NS)
        now = now_string(c.clock.now())
        fresh["status"] = {"phase": "Succeeded" if exit_code == 0 else "Failed",
                           "containerStatuses": [{
                               "name": "main", "ready": False, "restartCount": 0,
                               "image": "busybox", "imageID": "",
                               "state": {"terminated": {"exitCode": exit_code,
                                                        "startedAt": now, "finishedAt": now}}}]}
        c.client.replace_status(kinds.PODS, fresh)


def test_schedule_creates_jobs_on_the_cluster_clock(c: Cluster) -> None:
    c.client.create(kinds.CRONJOBS, cronjob("tick", "*/5 * * * *"), NS)
    assert c.settle(10)  # the wait for the schedule is a background chore
    assert jobs_of(c, "tick") == []
    c.advance(until_next(c, 300))
    (job,) = jobs_of(c, "tick")
    scheduled = math.floor(c.clock.now() / 300) * 300
    assert job["metadata"]["name"] == f"tick-{scheduled // 60}"
    assert job["metadata"]["annotations"][SCHEDULED_TIMESTAMP] == iso(scheduled).replace(
        "+00:00", "Z")
    ref = job["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["controller"]) == ("CronJob", "tick", True)
    status = status_of(c, "tick")
    assert parse_time(status["lastScheduleTime"]) == scheduled
    assert [a["name"] for a in status["active"]] == [job["metadata"]["name"]]
    assert status["active"][0]["kind"] == "Job"
    assert reasons(c, "tick") == ["SuccessfulCreate"]
    # the job's pod exists (the Job controller ran it)
    assert any(p["metadata"]["labels"].get("job-name") == job["metadata"]["name"]
               for p in c.client.list(kinds.PODS, NS).items)

    finish_job(c, job)
    c.settle(10)
    status = status_of(c, "tick")
    assert "active" not in status
    assert status["lastSuccessfulTime"] == c.client.get(
        kinds.JOBS, job["metadata"]["name"], NS)["status"]["completionTime"]
    assert "SawCompletedJob" in reasons(c, "tick")
    c.advance(300)
    assert len(jobs_of(c, "tick")) == 2


def test_concurrency_allow(c: Cluster) -> None:
    c.client.create(kinds.CRONJOBS, cronjob("allow", "* * * * *"), NS)
    c.advance(until_next(c, 60) + 120)
    assert len(jobs_of(c, "allow")) == 3
    assert len(status_of(c, "allow")["active"]) == 3


def test_concurrency_forbid(c: Cluster) -> None:
    c.client.create(kinds.CRONJOBS, cronjob("forbid", "* * * * *",
                                            concurrencyPolicy="Forbid"), NS)
    c.advance(until_next(c, 60))
    (first,) = jobs_of(c, "forbid")
    c.advance(120)
    assert jobs_of(c, "forbid") == [first]  # still running: nothing new starts
    assert "JobAlreadyActive" in reasons(c, "forbid")
    finish_job(c, first)
    c.settle(10)
    c.advance(60)
    assert len(jobs_of(c, "forbid")) == 2


def test_concurrency_replace(c: Cluster) -> None:
    c.client.create(kinds.CRONJOBS, cronjob("replace", "* * * * *",
                                            concurrencyPolicy="Replace"), NS)
    c.advance(until_next(c, 60))
    (first,) = jobs_of(c, "replace")
    c.advance(60)
    (second,) = jobs_of(c, "replace")
    assert second["metadata"]["name"] != first["metadata"]["name"]
    assert [a["name"] for a in status_of(c, "replace")["active"]] == [
        second["metadata"]["name"]]
    events = reasons(c, "replace")
    assert events.count("SuccessfulDelete") == 1 and events.count("SuccessfulCreate") == 2


def test_history_limits(c: Cluster) -> None:
    manifest = cronjob("hist", "* * * * *", successfulJobsHistoryLimit=2,
                       failedJobsHistoryLimit=1)
    manifest["spec"]["jobTemplate"]["spec"]["backoffLimit"] = 0  # one failed pod fails the Job
    c.client.create(kinds.CRONJOBS, manifest, NS)
    c.advance(until_next(c, 60))
    outcomes = [0, 0, 0, 1, 1]
    for code in outcomes:
        (job,) = [j for j in jobs_of(c, "hist") if not any(
            cond.get("status") == "True" and cond["type"] in ("Complete", "Failed")
            for cond in (j.get("status") or {}).get("conditions") or ())]
        finish_job(c, job, exit_code=code)
        c.settle(30)
        c.advance(60)
    finished: dict[str, list[str]] = {"Complete": [], "Failed": []}
    for job in jobs_of(c, "hist"):
        for cond in (job.get("status") or {}).get("conditions") or ():
            if cond["type"] in finished and cond["status"] == "True":
                finished[cond["type"]].append(job["metadata"]["name"])
    assert len(finished["Complete"]) == 2 and len(finished["Failed"]) == 1
    assert reasons(c, "hist").count("SuccessfulDelete") == 2  # one success, one failure


def test_suspend_skips_schedules(c: Cluster) -> None:
    c.client.create(kinds.CRONJOBS, cronjob("paused", "* * * * *", suspend=True), NS)
    c.advance(until_next(c, 60) + 180)
    assert jobs_of(c, "paused") == []
    # resumed: the most recent missed time runs late (no starting deadline)
    c.client.patch(kinds.CRONJOBS, "paused", {"spec": {"suspend": False}}, NS)
    c.settle(10)
    assert len(jobs_of(c, "paused")) == 1
    assert parse_time(status_of(c, "paused")["lastScheduleTime"]) == math.floor(
        c.clock.now() / 60) * 60


def test_starting_deadline_seconds_misses_late_starts(c: Cluster) -> None:
    c.client.create(kinds.CRONJOBS, cronjob("strict", "0 * * * *", suspend=True,
                                            startingDeadlineSeconds=10), NS)
    c.advance(until_next(c, 3600) + 30)  # 31 s past the hour, suspended
    c.client.patch(kinds.CRONJOBS, "strict", {"spec": {"suspend": False}}, NS)
    c.settle(10)
    # the hour's schedule is more than 10 s old: it is not started late
    assert jobs_of(c, "strict") == []
    assert "lastScheduleTime" not in status_of(c, "strict")
    c.advance(3600)
    assert len(jobs_of(c, "strict")) == 1  # the next hour is on time


def test_time_zone(c: Cluster) -> None:
    c.client.create(kinds.CRONJOBS, cronjob("tokyo", "0 9 * * *", timeZone="Asia/Tokyo"), NS)
    c.advance(until_next(c, 86400))  # just past midnight UTC: 09:00 in Tokyo
    (job,) = jobs_of(c, "tokyo")
    assert job["metadata"]["annotations"][SCHEDULED_TIMESTAMP].endswith("T09:00:00+09:00")
    assert parse_time(status_of(c, "tokyo")["lastScheduleTime"]) % 86400 == 0

