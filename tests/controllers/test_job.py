"""The Job and TTL-after-finished controllers, on the virtual clock.

The cluster has no simulated node: each test plays the kubelet itself, binding pods to a node
name no simulated kubelet owns and writing their terminal status, so the Job controller is tested
alone (and the tests stay valid once the simulated kubelet runs pods on its own nodes).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from kubenb.api import errors, kinds
from kubenb.client.client import deepcopy
from kubenb.cluster import Cluster
from kubenb.controllers.job import (
    COMPLETION_INDEX,
    JOB_TRACKING_FINALIZER,
    _backoff_delay,
    _intervals_str,
    parse_indexes,
)
from kubenb.controllers.podutil import now_string, parse_time
from kubenb.runtime.controller import Controller, Request, Result, enqueue_self
from kubenb.runtime.manager import Manager

Obj = dict[str, Any]
NS = "default"
FAKE_NODE = "test-kubelet-node"  # no simulated kubelet owns it: the test is the kubelet


@pytest.fixture
def c() -> Iterator[Cluster]:
    with Cluster(nodes=0, speed="max", serve=False, seed=1) as cluster:
        yield cluster


def job_manifest(name: str, **spec: Any) -> Obj:
    container: Obj = {"name": "main", "image": "busybox", "command": ["sh", "-c", "true"]}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NS},
            "spec": {"template": {"spec": {"restartPolicy": spec.pop("restartPolicy", "Never"),
                                           "containers": [container]}}, **spec}}


def get_job(c: Cluster, name: str) -> Obj:
    return c.client.get(kinds.JOBS, name, NS)


def pods_of(c: Cluster, job: str, *, live: bool = False) -> list[Obj]:
    pods = [p for p in c.client.list(kinds.PODS, NS).items
            if (p["metadata"].get("labels") or {}).get("batch.kubernetes.io/job-name") == job]
    if live:
        pods = [p for p in pods if (p.get("status") or {}).get("phase") not in (
            "Succeeded", "Failed") and not p["metadata"].get("deletionTimestamp")]
    return sorted(pods, key=lambda p: p["metadata"]["name"])


def conditions(job: Obj) -> dict[str, Obj]:
    return {cond["type"]: cond for cond in (job.get("status") or {}).get("conditions") or ()}


def events(c: Cluster, name: str) -> list[tuple[str, str]]:
    """(reason, message) of the Events about ``name``, a repeated Event once per count."""
    items = sorted((e for e in c.client.list(kinds.EVENTS, NS).items
                    if e["involvedObject"]["name"] == name),
                   key=lambda e: (e["firstTimestamp"], e["metadata"]["name"]))
    return [(e["reason"], e["message"]) for e in items for _ in range(e.get("count", 1))]


class RunningKubelet(Controller):
    """A stand-in kubelet for tests: binds new pods to the test's node and runs them at once."""

    name = "test-kubelet"

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("test-kubelet")
        self.clock = mgr.clock
        self.pods = mgr.informer(kinds.PODS)
        self.pods.add_handler(enqueue_self(self))

    def reconcile(self, request: Request) -> Result | None:
        pod = self.pods.get(request.name, request.namespace)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return None
        if not pod["spec"].get("nodeName"):
            self.client.bind(request.namespace, request.name, FAKE_NODE)
        elif not (pod.get("status") or {}).get("phase") or pod["status"]["phase"] == "Pending":
            fresh = deepcopy(pod)
            now = now_string(self.clock.now())
            fresh["status"] = {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": now}]}
            self.client.replace_status(kinds.PODS, fresh)
        return None


def with_running_kubelet(c: Cluster) -> None:
    with c.paused():
        c.manager.add(RunningKubelet())


def bound(c: Cluster, pod: Obj) -> Obj:
    """The pod, bound to the test's node (the scheduler's part)."""
    name = pod["metadata"]["name"]
    if not c.client.get(kinds.PODS, name, NS)["spec"].get("nodeName"):
        c.client.bind(NS, name, FAKE_NODE)
    return c.client.get(kinds.PODS, name, NS)


def run(c: Cluster, pod: Obj) -> None:
    """What a kubelet does first: the pod is bound, running and ready."""
    fresh = bound(c, pod)
    now = now_string(c.clock.now())
    fresh["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": now}],
        "containerStatuses": [{"name": "main", "ready": True, "restartCount": 0,
                               "image": "busybox", "imageID": "", "started": True,
                               "state": {"running": {"startedAt": now}}}]}
    c.client.replace_status(kinds.PODS, fresh)


def finish(c: Cluster, pod: Obj, exit_code: int = 0) -> float:
    """The pod's container exits: Succeeded on 0, Failed otherwise. Returns the finish time."""
    fresh = bound(c, pod)
    when = c.clock.now()
    now = now_string(when)
    fresh["status"] = {
        "phase": "Succeeded" if exit_code == 0 else "Failed",
        "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now}],
        "containerStatuses": [{"name": "main", "ready": False, "restartCount": 0,
                               "image": "busybox", "imageID": "", "started": False,
                               "state": {"terminated": {
                                   "exitCode": exit_code,
                                   "reason": "Completed" if exit_code == 0 else "Error",
                                   "startedAt": now, "finishedAt": now}}}]}
    c.client.replace_status(kinds.PODS, fresh)
    return parse_time(now) or when


def kill_terminating(c: Cluster, job: str) -> int:
    """The kubelet's side of a graceful deletion: stop the containers, then remove the pod."""
    n = 0
    for pod in pods_of(c, job):
        if pod["metadata"].get("deletionTimestamp") and pod["spec"].get("nodeName"):
            if pod["status"].get("phase") not in ("Succeeded", "Failed"):
                finish(c, pod, exit_code=137)
            with contextlib.suppress(errors.NotFound):
                c.client.delete(kinds.PODS, pod["metadata"]["name"], NS, grace_period_seconds=0)
            n += 1
    return n


# ------------------------------------------------------------------------------ unit pieces


def test_completed_indexes_format_round_trips() -> None:
    assert parse_indexes("1,3-5,7", 10) == [(1, 1), (3, 5), (7, 7)]
    assert _intervals_str([(0, 1), (3, 5), (7, 7)]) == "0,1,3-5,7"
    assert parse_indexes("0-9", 5) == [(0, 4)]  # indexes past completions are dropped
    assert parse_indexes("", 3) == []


def test_pod_failure_backoff_doubles_from_ten_seconds_to_the_cap() -> None:
    assert _backoff_delay(0, None, 100.0) == 0
    assert _backoff_delay(1, 100.0, 100.0) == 10
    assert _backoff_delay(2, 100.0, 105.0) == 15
    assert _backoff_delay(3, 100.0, 100.0) == 40
    assert _backoff_delay(10, 100.0, 100.0) == 600  # MaxJobPodFailureBackOff
    assert _backoff_delay(1, 100.0, 111.0) == 0


# ------------------------------------------------------------------------------ Job


def test_completions_and_parallelism(c: Cluster) -> None:
    c.client.create(kinds.JOBS, job_manifest("pi", completions=3, parallelism=2))
    c.settle(10)
    job = get_job(c, "pi")
    pods = pods_of(c, "pi")
    assert len(pods) == 2
    for pod in pods:
        meta = pod["metadata"]
        assert meta["generateName"] == "pi-" and meta["name"].startswith("pi-")
        assert meta["finalizers"] == [JOB_TRACKING_FINALIZER]
        assert meta["labels"]["batch.kubernetes.io/controller-uid"] == job["metadata"]["uid"]
        assert meta["labels"]["job-name"] == "pi"
        ref = meta["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["controller"]) == ("Job", "pi", True)
    status = job["status"]
    assert status["active"] == 2 and status["ready"] == 0 and status["terminating"] == 0
    assert status["startTime"] and status["uncountedTerminatedPods"] == {}

    run(c, pods[0])
    c.settle(10)
    assert get_job(c, "pi")["status"]["ready"] == 1

    for pod in pods:
        finish(c, pod)
    c.settle(10)
    job = get_job(c, "pi")
    assert job["status"]["succeeded"] == 2 and job["status"]["active"] == 1
    assert "Complete" not in conditions(job)
    live = pods_of(c, "pi", live=True)
    assert len(live) == 1  # only one completion is left: never more pods than that
    for pod in pods:  # counted, so released
        assert not c.client.get(kinds.PODS, pod["metadata"]["name"], NS)["metadata"].get(
            "finalizers")

    finish(c, live[0])
    report = c.settle(10)
    assert report, str(report)
    job = get_job(c, "pi")
    status = job["status"]
    assert status["succeeded"] == 3 and "active" not in status and "failed" not in status
    conds = conditions(job)
    assert conds["SuccessCriteriaMet"]["status"] == "True"
    assert conds["Complete"]["status"] == "True"
    assert conds["Complete"]["reason"] == "CompletionsReached"
    assert status["completionTime"] == conds["Complete"]["lastTransitionTime"]
    reasons = [r for r, _ in events(c, "pi")]
    assert reasons.count("SuccessfulCreate") == 3 and reasons[-1] == "Completed"
    assert ("Completed", "Job completed") in events(c, "pi")


def test_work_queue_job_completes_when_one_pod_succeeds_and_the_rest_finish(c: Cluster) -> None:
    manifest = job_manifest("queue", parallelism=3)
    manifest["spec"]["completions"] = None
    c.client.create(kinds.JOBS, manifest)
    c.settle(10)
    pods = pods_of(c, "queue")
    assert len(pods) == 3
    finish(c, pods[0])
    c.settle(10)
    assert len(pods_of(c, "queue")) == 3  # after a success no pod is added
    assert "Complete" not in conditions(get_job(c, "queue"))
    for pod in pods[1:]:
        finish(c, pod)
    c.settle(10)
    job = get_job(c, "queue")
    assert conditions(job)["Complete"]["status"] == "True"
    assert job["status"]["succeeded"] == 3


def test_indexed_job(c: Cluster) -> None:
    c.client.create(kinds.JOBS, job_manifest("idx", completions=3, parallelism=3,
                                             completionMode="Indexed"))
    c.settle(10)
    pods = pods_of(c, "idx")
    by_index = {}
    for pod in pods:
        meta, spec = pod["metadata"], pod["spec"]
        ix = meta["annotations"][COMPLETION_INDEX]
        assert meta["labels"][COMPLETION_INDEX] == ix
        assert meta["generateName"] == f"idx-{ix}-"
        assert spec["hostname"] == f"idx-{ix}"
        env = {e["name"]: e for e in spec["containers"][0]["env"]}
        assert env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == (
            f"metadata.labels['{COMPLETION_INDEX}']")
        by_index[ix] = pod
    assert sorted(by_index) == ["0", "1", "2"]

    failed_at = finish(c, by_index["0"], exit_code=1)
    c.settle(30)
    finish(c, by_index["1"])
    c.settle(10)
    job = get_job(c, "idx")
    assert job["status"]["completedIndexes"] == "1"
    assert job["status"]["failed"] == 1
    replacement = [p for p in pods_of(c, "idx", live=True)
                   if p["metadata"]["annotations"][COMPLETION_INDEX] == "0"]
    assert len(replacement) == 1  # the failed index is run again, after the back-off
    created = parse_time(replacement[0]["metadata"]["creationTimestamp"])
    assert created == failed_at + 10

    finish(c, replacement[0])
    finish(c, by_index["2"])
    c.settle(10)
    job = get_job(c, "idx")
    assert job["status"]["completedIndexes"] == "0-2"
    assert job["status"]["succeeded"] == 3
    assert conditions(job)["Complete"]["status"] == "True"


def test_backoff_limit_with_exponential_backoff(c: Cluster) -> None:
    c.client.create(kinds.JOBS, job_manifest("flaky", backoffLimit=2))
    c.settle(10)
    failures = []
    created = []
    for _ in range(3):
        (pod,) = pods_of(c, "flaky", live=True)
        created.append(parse_time(pod["metadata"]["creationTimestamp"]))
        failures.append(finish(c, pod, exit_code=1))
        c.settle(30)
    # replacements come 10 s, then 20 s after the failure, on the cluster clock
    assert created[1] - failures[0] == 10
    assert created[2] - failures[1] == 20
    assert pods_of(c, "flaky", live=True) == []  # third failure: over the limit, no new pod
    job = get_job(c, "flaky")
    assert job["status"]["failed"] == 3
    conds = conditions(job)
    assert conds["FailureTarget"]["reason"] == "BackoffLimitExceeded"
    assert conds["Failed"]["status"] == "True"
    assert conds["Failed"]["reason"] == "BackoffLimitExceeded"
    assert conds["Failed"]["message"] == "Job has reached the specified backoff limit"
    assert "completionTime" not in job["status"]
    assert ("BackoffLimitExceeded", "Job has reached the specified backoff limit") in events(
        c, "flaky")


def test_a_success_resets_the_backoff(c: Cluster) -> None:
    c.client.create(kinds.JOBS, job_manifest("reset", completions=3, parallelism=1))
    c.settle(10)
    (pod,) = pods_of(c, "reset", live=True)
    finish(c, pod, exit_code=1)
    c.settle(30)
    (pod,) = pods_of(c, "reset", live=True)
    finish(c, pod)
    c.settle(30)
    (pod,) = pods_of(c, "reset", live=True)
    failed_at = finish(c, pod, exit_code=1)
    c.settle(30)
    (pod,) = pods_of(c, "reset", live=True)
    # one failure since the last success: 10 s again, not 20
    assert parse_time(pod["metadata"]["creationTimestamp"]) - failed_at == 10


def test_active_deadline_seconds(c: Cluster) -> None:
    with_running_kubelet(c)
    c.client.create(kinds.JOBS, job_manifest("slow", activeDeadlineSeconds=30))
    c.settle(60)  # the pod runs; time jumps to the deadline
    job = get_job(c, "slow")
    start = parse_time(job["status"]["startTime"])
    conds = conditions(job)
    assert conds["FailureTarget"]["reason"] == "DeadlineExceeded"
    assert parse_time(conds["FailureTarget"]["lastTransitionTime"]) == start + 30
    assert "Failed" not in conds  # the pod is still terminating on its node
    assert job["status"]["terminating"] == 1
    assert pods_of(c, "slow")[0]["metadata"]["deletionTimestamp"]
    assert kill_terminating(c, "slow") == 1
    c.settle(10)
    job = get_job(c, "slow")
    conds = conditions(job)
    assert conds["Failed"]["reason"] == "DeadlineExceeded"
    assert conds["Failed"]["message"] == "Job was active longer than specified deadline"
    assert job["status"]["failed"] == 1 and job["status"]["terminating"] == 0
    assert ("DeadlineExceeded", "Job was active longer than specified deadline") in events(
        c, "slow")


def test_suspend_and_resume(c: Cluster) -> None:
    c.client.create(kinds.JOBS, job_manifest("later", suspend=True, parallelism=2,
                                             completions=2))
    c.settle(10)
    job = get_job(c, "later")
    assert pods_of(c, "later") == []
    assert conditions(job)["Suspended"]["status"] == "True"
    assert conditions(job)["Suspended"]["reason"] == "JobSuspended"
    assert "startTime" not in job["status"]

    c.client.patch(kinds.JOBS, "later", {"spec": {"suspend": False}}, NS)
    c.settle(10)
    job = get_job(c, "later")
    assert len(pods_of(c, "later", live=True)) == 2
    assert conditions(job)["Suspended"]["status"] == "False"
    assert conditions(job)["Suspended"]["reason"] == "JobResumed"
    assert job["status"]["startTime"]

    c.client.patch(kinds.JOBS, "later", {"spec": {"suspend": True}}, NS)
    c.settle(10)
    job = get_job(c, "later")
    assert pods_of(c, "later") == []  # unbound pods go at once, uncounted
    assert "active" not in job["status"] and "failed" not in job["status"]
    reasons = [r for r, _ in events(c, "later")]
    assert reasons.count("Suspended") == 2 and reasons.count("Resumed") == 1
    assert reasons.count("SuccessfulDelete") == 2


def test_restarts_count_against_the_backoff_limit_with_on_failure(c: Cluster) -> None:
    c.client.create(kinds.JOBS, job_manifest("retry", backoffLimit=3,
                                             restartPolicy="OnFailure"))
    c.settle(10)
    (pod,) = pods_of(c, "retry")
    run(c, pod)
    fresh = c.client.get(kinds.PODS, pod["metadata"]["name"], NS)
    fresh["status"]["containerStatuses"][0]["restartCount"] = 2
    c.client.replace_status(kinds.PODS, fresh)
    c.settle(10)
    assert "FailureTarget" not in conditions(get_job(c, "retry"))
    fresh = c.client.get(kinds.PODS, pod["metadata"]["name"], NS)
    fresh["status"]["containerStatuses"][0]["restartCount"] = 3
    c.client.replace_status(kinds.PODS, fresh)
    c.settle(10)
    conds = conditions(get_job(c, "retry"))
    assert conds["FailureTarget"]["reason"] == "BackoffLimitExceeded"
    assert pods_of(c, "retry")[0]["metadata"]["deletionTimestamp"]  # the running pod is killed


def test_pod_failure_policy_fail_job(c: Cluster) -> None:
    manifest = job_manifest("policy", backoffLimit=6, podFailurePolicy={"rules": [
        {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]})
    c.client.create(kinds.JOBS, manifest)
    c.settle(10)
    (pod,) = pods_of(c, "policy")
    finish(c, pod, exit_code=42)
    c.settle(10)
    conds = conditions(get_job(c, "policy"))
    assert conds["Failed"]["reason"] == "PodFailurePolicy"
    assert "failed with exit code 42 matching FailJob rule at index 0" in conds["Failed"][
        "message"]


def test_backoff_limit_per_index(c: Cluster) -> None:
    c.client.create(kinds.JOBS, job_manifest("per", completions=2, parallelism=2,
                                             completionMode="Indexed", backoffLimitPerIndex=1))
    c.settle(10)
    pods = {p["metadata"]["annotations"][COMPLETION_INDEX]: p for p in pods_of(c, "per")}
    finish(c, pods["1"])
    finish(c, pods["0"], exit_code=1)
    c.settle(30)
    (retry,) = [p for p in pods_of(c, "per", live=True)]
    assert retry["metadata"]["annotations"][COMPLETION_INDEX] == "0"
    assert retry["metadata"]["annotations"]["batch.kubernetes.io/job-index-failure-count"] == "1"
    finish(c, retry, exit_code=1)
    c.settle(30)
    job = get_job(c, "per")
    assert job["status"]["failedIndexes"] == "0"
    assert job["status"]["completedIndexes"] == "1"
    assert conditions(job)["Failed"]["reason"] == "FailedIndexes"
    assert pods_of(c, "per", live=True) == []


def test_deleting_a_job_releases_its_pods_finalizers(c: Cluster) -> None:
    c.client.create(kinds.JOBS, job_manifest("gone", parallelism=2, completions=2))
    c.settle(10)
    pods = pods_of(c, "gone")
    assert all(JOB_TRACKING_FINALIZER in p["metadata"]["finalizers"] for p in pods)
    c.client.delete(kinds.JOBS, "gone", NS, propagation_policy="Orphan")
    c.settle(10)
    for pod in pods:
        with contextlib.suppress(errors.NotFound):  # a garbage collector may have run
            fresh = c.client.get(kinds.PODS, pod["metadata"]["name"], NS)
            assert JOB_TRACKING_FINALIZER not in (fresh["metadata"].get("finalizers") or ())


def test_unconverged_names_running_jobs(c: Cluster) -> None:
    c.client.create(kinds.JOBS, job_manifest("busy"))
    report = c.settle(10)
    assert not report and "job/default/busy" in report.unconverged
    (pod,) = pods_of(c, "busy")
    finish(c, pod)
    assert c.settle(10)


# ------------------------------------------------------------------------------ TTL


def test_ttl_after_finished_deletes_the_job(c: Cluster) -> None:
    deleted_at: list[float] = []

    def deliver(etype: str, raw: bytes) -> None:
        obj = orjson.loads(raw)
        if obj["metadata"]["name"] == "short" and not deleted_at and (
                etype == "DELETED" or obj["metadata"].get("deletionTimestamp")):
            deleted_at.append(c.clock.now())

    watch, _ = c.client.watch(kinds.JOBS, deliver, namespace=NS)
    try:
        c.client.create(kinds.JOBS, job_manifest("short", ttlSecondsAfterFinished=100))
        c.client.create(kinds.JOBS, job_manifest("kept"))
        c.settle(10)
        with c.paused():  # both finish at the same instant ("kept" tells when "short" did)
            for name in ("short", "kept"):
                (pod,) = pods_of(c, name)
                finish(c, pod)
        c.settle(30)
    finally:
        watch.stop()
    assert len(deleted_at) == 1
    job = None
    with contextlib.suppress(errors.NotFound):
        job = get_job(c, "short")
    if job is not None:  # Foreground: the Job waits for its pods to go first
        assert job["metadata"]["deletionTimestamp"]
        assert "foregroundDeletion" in job["metadata"]["finalizers"]
    kept = get_job(c, "kept")  # no TTL: kept
    finished = parse_time(conditions(kept)["Complete"]["lastTransitionTime"])
    assert finished is not None
    assert deleted_at[0] - finished == pytest.approx(100, abs=1.0)
    assert not kept["metadata"].get("deletionTimestamp")


# ------------------------------------------------------------------------------ kubectl


def test_kubectl_wait_for_complete(tmp_path: Any) -> None:
    from tests.conftest import Kubectl

    with Cluster(nodes=0, speed="max", seed=1, kubeconfig=tmp_path / "kubeconfig") as cluster:
        kubectl = Kubectl(cluster.kubeconfig)
        kubectl("create", "job", "hello", "--image=busybox", "--", "sh", "-c", "echo hi")
        cluster.settle(10)
        waiting = kubectl.run("wait", "--for=condition=complete", "job/hello", "--timeout=1s",
                              check=False)
        assert waiting.returncode != 0
        (pod,) = pods_of(cluster, "hello")
        finish(cluster, pod)
        cluster.settle(10)
        out = kubectl("wait", "--for=condition=complete", "job/hello", "--timeout=30s")
        assert "job.batch/hello condition met" in out
        table = kubectl("get", "job", "hello")
        assert "Complete" in table and "1/1" in table
