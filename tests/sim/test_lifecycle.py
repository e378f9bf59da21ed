"""A pod's life on a simulated node: admission, image pulls, starts, probes, restarts and
termination, with the statuses, Events and timings the real kubelet produces."""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import kinds
from tests.sim.util import (
    Timeline,
    condition,
    container_state,
    container_status,
    event_times,
    get_pod,
    is_ready,
    is_running,
    make_pod,
    pod_events,
    reasons,
    run_pod,
    state_of,
)


def container_status_of(pod: dict, name: str = "app") -> dict:
    return next((cs for cs in pod.get("status", {}).get("containerStatuses") or ()
                 if cs["name"] == name), {"started": False})


NGINX_PULL = 0.5 + 72.1e6 / 100e6  # pull_base + size / bandwidth (Timings defaults)
CREATE, START = 0.1, 0.2


def test_pod_goes_from_container_creating_to_running_in_two_writes(cluster: Cluster) -> None:
    timeline = Timeline(cluster, "web")
    run_pod(cluster, make_pod("web"))
    assert cluster.settle(10)
    assert pod_events(cluster, "web") == [
        ("Normal", "Pulling", 'Pulling image "nginx:1.27"'),
        ("Normal", "Pulled", 'Successfully pulled image "nginx:1.27" in 1.221s (1.221s including '
                             "waiting). Image size: 72100000 bytes."),
        ("Normal", "Created", "Created container: app"),
        ("Normal", "Started", "Started container app"),
    ]
    kubelet_writes = [obj for _t, _e, obj in timeline.entries
                      if obj.get("status", {}).get("containerStatuses")]
    assert len(kubelet_writes) == 2  # ContainerCreating with IPs, then Running and Ready
    first, second = kubelet_writes
    assert first["status"]["phase"] == "Pending"
    assert container_state(first) == "waiting:ContainerCreating"
    assert first["status"]["podIP"] and first["status"]["hostIP"] == "172.18.0.2"
    assert [c["type"] for c in first["status"]["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert not is_ready(first) and is_ready(second)
    assert timeline.when(is_running) == pytest.approx(NGINX_PULL + CREATE + START, abs=0.05)

    status = second["status"]
    assert status["phase"] == "Running"
    assert status["qosClass"] == "BestEffort"
    assert status["startTime"] and status["observedGeneration"] == 1
    assert status["podIPs"] == [{"ip": status["podIP"]}]
    assert status["hostIPs"] == [{"ip": "172.18.0.2"}]
    cs = status["containerStatuses"][0]
    assert cs["image"] == "docker.io/library/nginx:1.27"
    assert cs["imageID"].startswith("docker.io/library/nginx@sha256:")
    assert cs["containerID"].startswith("containerd://")
    assert (cs["ready"], cs["started"], cs["restartCount"], cs["lastState"]) == (
        True, True, 0, {})
    assert "startedAt" in cs["state"]["running"]


def test_image_already_present_on_the_node(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("first"))
    assert cluster.settle(10)
    timeline = Timeline(cluster, "second")
    run_pod(cluster, make_pod("second"))
    assert cluster.settle(10)
    assert pod_events(cluster, "second")[0] == (
        "Normal", "Pulled", 'Container image "nginx:1.27" already present on machine')
    assert timeline.when(is_running) == pytest.approx(CREATE + START, abs=0.05)
    # a pod on the other node pulls again; ``latest`` (pull policy Always) always pulls
    run_pod(cluster, make_pod("third"), node="node-2")
    run_pod(cluster, make_pod("latest", image="nginx"))
    assert cluster.settle(10)
    assert reasons(cluster, "third")[:2] == ["Pulling", "Pulled"]
    assert reasons(cluster, "latest")[:2] == ["Pulling", "Pulled"]


def test_pod_ips_are_unique_from_the_node_cidr_and_released(cluster: Cluster) -> None:
    for i in range(12):
        run_pod(cluster, make_pod(f"p{i}"), node=f"node-{i % 2 + 1}")
    assert cluster.settle(10)
    ips = {}
    for i in range(12):
        pod = get_pod(cluster, f"p{i}")
        node = cluster.client.get(kinds.NODES, pod["spec"]["nodeName"])
        cidr = ipaddress.ip_network(node["spec"]["podCIDR"])
        ip = pod["status"]["podIP"]
        assert ipaddress.ip_address(ip) in cidr
        assert pod["status"]["hostIP"] == next(a["address"] for a in node["status"]["addresses"]
                                               if a["type"] == "InternalIP")
        ips[f"p{i}"] = ip
    assert len(set(ips.values())) == 12
    assert cluster.client.get(kinds.NODES, "node-1")["spec"]["podCIDR"] != \
        cluster.client.get(kinds.NODES, "node-2")["spec"]["podCIDR"]
    node = cluster.kubelets.nodes["node-1"]
    in_use = len(node.used)
    cluster.client.delete(kinds.PODS, "p0", "default")
    assert cluster.settle(10)
    assert len(node.used) == in_use - 1
    # a finished pod gives its address back at once (its status keeps it); deleting it later
    # must not free it a second time
    run_pod(cluster, make_pod("job", image="busybox:1.36", command=["true"],
                              restart_policy="Never"))
    assert cluster.settle(10)
    assert get_pod(cluster, "job")["status"]["podIP"]
    assert len(node.used) == in_use - 1
    cluster.client.delete(kinds.PODS, "job", "default")
    assert cluster.settle(10)
    assert len(node.used) == in_use - 1


def test_pods_on_nodes_without_a_kubelet_are_left_alone(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("elsewhere"), node="not-simulated")
    assert cluster.settle(10)
    pod = get_pod(cluster, "elsewhere")
    assert pod["status"]["phase"] == "Pending"
    assert "containerStatuses" not in pod["status"]
    assert pod_events(cluster, "elsewhere") == []
    assert cluster.client.log("default", "elsewhere") == ""


def test_readiness_probe_passes_after_initial_delay(cluster: Cluster) -> None:
    timeline = Timeline(cluster, "web")
    run_pod(cluster, make_pod("web", container={"readinessProbe": {
        "httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 5, "periodSeconds": 10}}))
    assert cluster.settle(10)
    started = timeline.when(is_running)
    assert not is_ready(next(obj for _t, _e, obj in timeline.entries if is_running(obj)))
    assert timeline.when(is_ready) == pytest.approx(started + 5, abs=0.05)
    assert container_status(cluster, "web")["ready"] is True
    probes = cluster.kubelets.runs[("default", "web")].ctrs[0].probes or {}
    assert all(worker[0] is None for worker in probes.values())  # steady: nothing ticks


def test_ready_after_and_never_ready_annotations(cluster: Cluster) -> None:
    slow = Timeline(cluster, "slow")
    run_pod(cluster, make_pod("slow", annotations={"kubenb.io/ready-after-seconds": "20"}))
    run_pod(cluster, make_pod("never", annotations={"kubenb.io/never-ready": "true"},
                              container={"readinessProbe": {"tcpSocket": {"port": 80}}}))
    assert cluster.settle(10)  # a pod that is never ready does not keep settle from returning
    assert slow.when(is_ready) == pytest.approx(slow.when(is_running) + 20, abs=0.05)
    assert not is_ready(get_pod(cluster, "never"))
    assert state_of(cluster, "never") == "running"
    cond = condition(cluster, "never", "ContainersReady")
    assert cond is not None and cond["reason"] == "ContainersNotReady"
    assert cond["message"] == "containers with unready status: [app]"
    assert ("Warning", "Unhealthy", "Readiness probe failed: dial tcp "
            f"{get_pod(cluster, 'never')['status']['podIP']}:80: connect: connection refused") \
        in pod_events(cluster, "never")
    cluster.advance(60)
    assert len(event_times(cluster, "never", "Unhealthy")) >= 6  # every periodSeconds


def test_readiness_gates(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("gated", readinessGates=[{"conditionType": "example.com/lb"}]))
    assert cluster.settle(10)
    ready = condition(cluster, "gated", "Ready")
    assert ready is not None and ready["status"] == "False"
    assert ready["reason"] == "ReadinessGatesNotReady"
    assert ready["message"] == ('corresponding condition of pod readiness gate "example.com/lb" '
                                "does not exist.")
    assert condition(cluster, "gated", "ContainersReady")["status"] == "True"  # type: ignore
    pod = get_pod(cluster, "gated")
    pod["status"]["conditions"].append({"type": "example.com/lb", "status": "True",
                                        "lastTransitionTime": "2026-01-01T00:00:00Z"})
    cluster.client.replace_status(kinds.PODS, pod)
    assert cluster.settle(10)
    assert is_ready(get_pod(cluster, "gated"))
    assert condition(cluster, "gated", "example.com/lb") is not None  # kept by the kubelet


def test_startup_probe_delays_started_and_ready(cluster: Cluster) -> None:
    timeline = Timeline(cluster, "boot")
    run_pod(cluster, make_pod("boot", container={
        "startupProbe": {"httpGet": {"port": 80}, "initialDelaySeconds": 15},
        "readinessProbe": {"httpGet": {"port": 80}, "initialDelaySeconds": 2}}))
    assert cluster.settle(10)
    started = timeline.when(is_running)
    first_running = next(obj for _t, _e, obj in timeline.entries if is_running(obj))
    assert first_running["status"]["containerStatuses"][0]["started"] is False
    assert timeline.when(lambda p: container_status_of(p)["started"]) == \
        pytest.approx(started + 15, abs=0.05)
    assert timeline.when(is_ready) == pytest.approx(started + 17, abs=0.05)


def test_liveness_failure_restarts_the_container(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("sick", annotations={
        "kubenb.io/liveness-fail-after-seconds": "30"}, container={
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 5,
                          "failureThreshold": 3}}))
    assert cluster.settle(30)
    status = container_status(cluster, "sick")
    assert status["restartCount"] >= 1
    assert status["lastState"]["terminated"]["exitCode"] == 137
    events = pod_events(cluster, "sick")
    assert events.count(("Warning", "Unhealthy",
                         "Liveness probe failed: HTTP probe failed with statuscode: 503")) >= 3
    assert ("Normal", "Killing", "Container app failed liveness probe, will be restarted") \
        in events
    unhealthy = event_times(cluster, "sick", "Unhealthy")
    started = event_times(cluster, "sick", "Started")
    assert unhealthy[0] - started[0] == pytest.approx(30, abs=0.05)
    assert unhealthy[2] - unhealthy[0] == pytest.approx(10, abs=0.05)


def test_liveness_example_of_the_docs(cluster: Cluster) -> None:
    """``touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600`` with an exec probe."""
    run_pod(cluster, make_pod("liveness-exec", image="registry.k8s.io/busybox:1.27.2",
                              args=["/bin/sh", "-c",
                                    "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; "
                                    "sleep 600"],
                              container={"livenessProbe": {
                                  "exec": {"command": ["cat", "/tmp/healthy"]},
                                  "initialDelaySeconds": 5, "periodSeconds": 5}}))
    cluster.advance(50)
    events = pod_events(cluster, "liveness-exec")
    assert ("Warning", "Unhealthy", "Liveness probe failed: cat: can't open '/tmp/healthy': "
            "No such file or directory") in events
    started = event_times(cluster, "liveness-exec", "Started")
    killing = event_times(cluster, "liveness-exec", "Killing")
    assert killing[0] - started[0] == pytest.approx(40, abs=0.05)  # fails at 30, 35, 40
    # advance() settles too: the restarted container fails the same way, with back-off
    assert container_status(cluster, "liveness-exec")["restartCount"] >= 2


@pytest.mark.parametrize(("policy", "code", "phase", "restarts"), [
    ("Never", 0, "Succeeded", 0),
    ("Never", 1, "Failed", 0),
    ("OnFailure", 0, "Succeeded", 0),
])
def test_restart_policy_for_finished_containers(cluster: Cluster, policy: str, code: int,
                                                phase: str, restarts: int) -> None:
    run_pod(cluster, make_pod("job", image="busybox:1.36", command=["sh", "-c",
                                                                    f"sleep 3; exit {code}"],
                              restart_policy=policy))
    assert cluster.settle(10)
    pod = get_pod(cluster, "job")
    assert pod["status"]["phase"] == phase
    cs = container_status(cluster, "job")
    assert cs["restartCount"] == restarts
    term = cs["state"]["terminated"]
    assert term["exitCode"] == code
    assert term["reason"] == ("Completed" if code == 0 else "Error")
    assert condition(cluster, "job", "PodReadyToStartContainers")["status"] == "False"  # type: ignore
    assert pod["status"]["podIP"]  # a finished pod keeps its status
    cluster.advance(600)
    assert get_pod(cluster, "job")["status"]["phase"] == phase


def test_on_failure_restarts_a_failed_container(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("retry", image="busybox:1.36", command=["sh", "-c", "exit 2"],
                              restart_policy="OnFailure"))
    assert cluster.settle(30)
    pod = get_pod(cluster, "retry")
    assert pod["status"]["phase"] == "Running"
    assert container_status(cluster, "retry")["restartCount"] >= 5


def test_crash_loop_back_off_doubles_to_five_minutes(cluster: Cluster) -> None:
    timeline = Timeline(cluster, "crash")
    run_pod(cluster, make_pod("crash", image="busybox:1.36",
                              command=["sh", "-c", "echo boom; exit 1"]))
    assert cluster.settle(30)  # at the max back-off, restarts are background chores
    cluster.advance(1200)
    starts = event_times(cluster, "crash", "Started")
    gaps = [round(b - a - CREATE - START, 3) for a, b in itertools.pairwise(starts)]
    # the first restart follows the next sync; then 10s, 20s, 40s... up to 5 minutes
    assert gaps[:8] == [1.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]
    backoff = [m for _t, r, m in pod_events(cluster, "crash") if r == "BackOff"]
    uid = get_pod(cluster, "crash")["metadata"]["uid"]
    assert backoff[0] == f"Back-off restarting failed container app in pod crash_default({uid})"
    states = timeline.states()
    # it exits as soon as it starts: the API sees Error, then CrashLoopBackOff between runs
    assert states[:2] == ["waiting:ContainerCreating", "terminated:Error"]
    assert "waiting:CrashLoopBackOff" in states
    cs = container_status(cluster, "crash")
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert get_pod(cluster, "crash")["status"]["phase"] == "Running"


def test_back_off_resets_after_ten_minutes_of_running(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("flaky", annotations={"kubenb.io/crash-after-seconds": "700"}))
    cluster.advance(2200)
    starts = event_times(cluster, "flaky", "Started")
    assert len(starts) >= 3
    gaps = [round(b - a - CREATE - START, 3) for a, b in itertools.pairwise(starts)]
    assert all(gap == 701.0 for gap in gaps)  # ran 700s, restarted at the next sync each time
    assert "BackOff" not in reasons(cluster, "flaky")


def test_exit_code_annotation(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("coded", image="busybox:1.36", command=["sleep", "5"],
                              restart_policy="Never",
                              annotations={"kubenb.io/exit-code": "42"}))
    assert cluster.settle(10)
    assert container_status(cluster, "coded")["state"]["terminated"]["exitCode"] == 42
    assert get_pod(cluster, "coded")["status"]["phase"] == "Failed"


def test_graceful_termination(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web"))
    assert cluster.settle(10)
    timeline = Timeline(cluster, "web")
    cluster.client.delete(kinds.PODS, "web", "default")
    assert cluster.settle(10)
    assert reasons(cluster, "web")[-1] == "Killing"
    assert pod_events(cluster, "web")[-1][2] == "Stopping container app"
    assert timeline.deleted_at() == pytest.approx(1.0, abs=0.05)  # nginx stops within a second
    last = [obj for _t, etype, obj in timeline.entries if etype != "DELETED"][-1]
    assert last["status"]["phase"] == "Succeeded"  # the terminal phase is written first
    assert container_state(last) == "terminated:Completed"
    assert not is_ready(last)


def test_termination_honours_the_grace_period_when_sigterm_is_ignored(
        cluster: Cluster) -> None:
    run_pod(cluster, make_pod("stubborn", annotations={"kubenb.io/ignore-sigterm": "true"},
                              terminationGracePeriodSeconds=45))
    run_pod(cluster, make_pod("forced", annotations={"kubenb.io/ignore-sigterm": "true"}))
    assert cluster.settle(10)
    stubborn, forced = Timeline(cluster, "stubborn"), Timeline(cluster, "forced")
    cluster.client.delete(kinds.PODS, "stubborn", "default")
    cluster.client.delete(kinds.PODS, "forced", "default", grace_period_seconds=5)
    assert cluster.settle(10)
    assert stubborn.deleted_at() == pytest.approx(45, abs=0.05)
    assert forced.deleted_at() == pytest.approx(5, abs=0.05)
    last = [obj for _t, etype, obj in stubborn.entries if etype != "DELETED"][-1]
    assert last["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 137
    assert last["status"]["phase"] == "Failed"


@pytest.mark.parametrize(("hook", "grace", "deleted_at", "code", "failed_event"), [
    # the hook's time comes first, then nginx stops within a second of its SIGTERM
    ({"exec": {"command": ["sh", "-c", "sleep 5"]}}, 30, 6.0, 0, False),
    ({"sleep": {"seconds": 8}}, 30, 9.0, 0, False),
    ({"httpGet": {"path": "/shutdown", "port": 80}}, 30, 1.0, 0, False),
    ({"exec": {"command": ["nginx", "-s", "quit"]}}, 30, 1.0, 0, False),  # not simulated: done
    # a failing hook is reported and the stop goes on
    ({"exec": {"command": ["sh", "-c", "echo bye; exit 3"]}}, 30, 1.0, 0, True),
    # a hook longer than the grace period is cut off; the SIGTERM still gets 2 seconds
    ({"exec": {"command": ["sleep", "60"]}}, 10, 11.0, 0, False),
    ({"exec": {"command": ["sh", "-c", "while true; do sleep 1; done"]}}, 10, 11.0, 0, False),
])
def test_pre_stop_hook_runs_before_the_sigterm_within_the_grace_period(
        cluster: Cluster, hook: Any, grace: int, deleted_at: float, code: int,
        failed_event: bool) -> None:
    run_pod(cluster, make_pod("hooked", container={"lifecycle": {"preStop": hook}},
                              terminationGracePeriodSeconds=grace))
    assert cluster.settle(10)
    timeline = Timeline(cluster, "hooked")
    cluster.client.delete(kinds.PODS, "hooked", "default")
    assert cluster.settle(120)
    assert timeline.deleted_at() == pytest.approx(deleted_at, abs=0.05)
    last = [obj for _t, etype, obj in timeline.entries if etype != "DELETED"][-1]
    assert last["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == code
    assert ("FailedPreStopHook" in reasons(cluster, "hooked")) == failed_event


def test_pre_stop_hook_that_outlasts_a_stubborn_container_ends_in_sigkill(
        cluster: Cluster) -> None:
    run_pod(cluster, make_pod("stubborn", annotations={"kubenb.io/ignore-sigterm": "true"},
                              container={"lifecycle": {"preStop": {"sleep": {"seconds": 3}}}},
                              terminationGracePeriodSeconds=10))
    assert cluster.settle(10)
    timeline = Timeline(cluster, "stubborn")
    cluster.client.delete(kinds.PODS, "stubborn", "default")
    assert cluster.settle(60)
    # 3 seconds of hook, then the 7 seconds left of the grace period, then SIGKILL
    assert timeline.deleted_at() == pytest.approx(10, abs=0.05)
    last = [obj for _t, etype, obj in timeline.entries if etype != "DELETED"][-1]
    assert last["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 137


def test_deleting_a_pending_pod_and_force_deleting(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("pending", image="nginxx:1.0"))
    run_pod(cluster, make_pod("forced"))
    assert cluster.settle(10)
    cluster.client.delete(kinds.PODS, "pending", "default")
    cluster.client.delete(kinds.PODS, "forced", "default", grace_period_seconds=0)
    assert cluster.settle(10)
    assert [p["metadata"]["name"] for p in cluster.client.list(kinds.PODS, "default").items] == []
    assert ("default", "forced") not in cluster.kubelets.runs


def test_init_containers_run_first_in_order(cluster: Cluster) -> None:
    pod = make_pod("with-init")
    pod["spec"]["initContainers"] = [
        {"name": "one", "image": "busybox:1.36", "command": ["sh", "-c", "echo one; sleep 3"]},
        {"name": "two", "image": "busybox:1.36", "command": ["sleep", "2"]},
    ]
    timeline = Timeline(cluster, "with-init")
    run_pod(cluster, pod)
    assert cluster.settle(10)
    started = [m for _t, r, m in pod_events(cluster, "with-init") if r == "Started"]
    assert started == ["Started container one", "Started container two", "Started container app"]
    assert timeline.states("app")[0] == "waiting:PodInitializing"
    initializing = next(obj for _t, _e, obj in timeline.entries
                        if container_state(obj, "one") == "running")
    init_cond = next(c for c in initializing["status"]["conditions"] if c["type"] == "Initialized")
    assert init_cond["status"] == "False"
    assert init_cond["message"] == "containers with incomplete status: [one two]"
    assert state_of(cluster, "with-init", "one") == "terminated:Completed"
    assert state_of(cluster, "with-init", "two") == "terminated:Completed"
    assert condition(cluster, "with-init", "Initialized")["status"] == "True"  # type: ignore
    assert is_ready(get_pod(cluster, "with-init"))
    one_done = timeline.when(lambda p: container_state(p, "one") == "terminated:Completed")
    assert timeline.when(lambda p: container_state(p, "two") == "running") > one_done


def test_failing_init_container(cluster: Cluster) -> None:
    never = make_pod("init-never", restart_policy="Never")
    never["spec"]["initContainers"] = [{"name": "setup", "image": "busybox:1.36",
                                        "command": ["sh", "-c", "exit 1"]}]
    again = make_pod("init-again")
    again["spec"]["initContainers"] = [{"name": "setup", "image": "busybox:1.36",
                                        "command": ["sh", "-c", "exit 1"]}]
    run_pod(cluster, never)
    run_pod(cluster, again)
    assert cluster.settle(30)
    assert get_pod(cluster, "init-never")["status"]["phase"] == "Failed"
    assert state_of(cluster, "init-never", "app") == "waiting:PodInitializing"
    assert get_pod(cluster, "init-again")["status"]["phase"] == "Pending"
    assert state_of(cluster, "init-again", "setup") in ("waiting:CrashLoopBackOff",
                                                         "terminated:Error")
    assert container_status(cluster, "init-again", "setup")["restartCount"] >= 3


def test_sidecar_starts_before_the_app_and_stops_with_the_pod(cluster: Cluster) -> None:
    pod = make_pod("with-sidecar", image="busybox:1.36", command=["sh", "-c", "sleep 10"],
                   restart_policy="Never")
    pod["spec"]["initContainers"] = [{"name": "proxy", "image": "nginx:1.27",
                                      "restartPolicy": "Always"}]
    run_pod(cluster, pod)
    assert cluster.settle(30)
    started = [m for _t, r, m in pod_events(cluster, "with-sidecar") if r == "Started"]
    assert started == ["Started container proxy", "Started container app"]
    assert get_pod(cluster, "with-sidecar")["status"]["phase"] == "Succeeded"
    assert state_of(cluster, "with-sidecar", "proxy").startswith("terminated")


def test_unknown_image_fails_to_pull_and_backs_off(cluster: Cluster) -> None:
    timeline = Timeline(cluster, "typo")
    run_pod(cluster, make_pod("typo", image="nginxx:1.0"))
    assert cluster.settle(30)
    events = pod_events(cluster, "typo")
    failure = ('failed to pull and unpack image "docker.io/library/nginxx:1.0": failed to '
               'resolve reference "docker.io/library/nginxx:1.0": pull access denied, repository '
               "does not exist or may require authorization: server message: insufficient_scope: "
               "authorization failed")
    assert events[:5] == [
        ("Normal", "Pulling", 'Pulling image "nginxx:1.0"'),
        ("Warning", "Failed", f'Failed to pull image "nginxx:1.0": {failure}'),
        ("Warning", "Failed", "Error: ErrImagePull"),
        ("Normal", "BackOff", 'Back-off pulling image "nginxx:1.0"'),
        ("Warning", "Failed", "Error: ImagePullBackOff"),
    ]
    assert timeline.states()[:3] == ["waiting:ContainerCreating", "waiting:ErrImagePull",
                                     "waiting:ImagePullBackOff"]
    pulls = event_times(cluster, "typo", "Pulling")
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(pulls)]
    assert gaps[:3] == [11.0, 21.0, 41.0]  # the failure takes 1s, the back-off counts from it
    assert get_pod(cluster, "typo")["status"]["phase"] == "Pending"


def test_never_pull_policy_and_invalid_names(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("never", image="redis:7", container={"imagePullPolicy": "Never"}))
    run_pod(cluster, make_pod("bad", image="Nginx:1.27"))
    assert cluster.settle(10)
    assert state_of(cluster, "never") == "waiting:ErrImageNeverPull"
    assert container_status(cluster, "never")["state"]["waiting"]["message"] == (
        'Container image "redis:7" is not present with pull policy of Never')
    assert state_of(cluster, "bad") == "waiting:InvalidImageName"


def test_missing_config_map_then_created(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("configured", image="busybox:1.36",
                              command=["sh", "-c", "echo $MODE; sleep 3600"],
                              container={"env": [{"name": "MODE", "valueFrom": {
                                  "configMapKeyRef": {"name": "settings", "key": "mode"}}}]}))
    assert cluster.settle(10)
    assert state_of(cluster, "configured") == "waiting:CreateContainerConfigError"
    assert container_status(cluster, "configured")["state"]["waiting"]["message"] == (
        'configmap "settings" not found')
    assert ("Warning", "Failed", 'Error: configmap "settings" not found') in \
        pod_events(cluster, "configured")
    cluster.client.create(kinds.CONFIGMAPS, {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "default"}, "data": {"mode": "blue"}})
    assert cluster.settle(10)
    assert state_of(cluster, "configured") == "running"
    assert cluster.client.log("default", "configured") == "blue\n"


def test_active_deadline_seconds(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("deadline", activeDeadlineSeconds=30))
    assert cluster.settle(60)
    pod = get_pod(cluster, "deadline")
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["reason"] == "DeadlineExceeded"
    assert "DeadlineExceeded" in reasons(cluster, "deadline")


def test_image_change_restarts_the_container(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web"))
    assert cluster.settle(10)
    pod = get_pod(cluster, "web")
    pod["spec"]["containers"][0]["image"] = "nginx:1.28"
    cluster.client.replace(kinds.PODS, pod)
    assert cluster.settle(10)
    cs = container_status(cluster, "web")
    assert cs["image"] == "docker.io/library/nginx:1.28"
    assert cs["restartCount"] == 1
    assert ("Normal", "Killing", "Container app definition changed, will be restarted") in \
        pod_events(cluster, "web")


def test_termination_message_from_the_file_the_container_wrote(cluster: Cluster) -> None:
    # the "Determine the Reason for Pod Failure" task of the Kubernetes docs
    run_pod(cluster, make_pod("termination-demo", image="debian", command=["/bin/sh"],
                              args=["-c", "sleep 10 && echo Sleep expired > /dev/termination-log"],
                              restart_policy="Never"))
    run_pod(cluster, make_pod("elsewhere", image="busybox:1.36", command=["sh", "-c",
                              "echo done > /tmp/why; exit 1"], restart_policy="Never",
                              container={"terminationMessagePath": "/tmp/why"}))
    run_pod(cluster, make_pod("fallback", image="busybox:1.36", command=["sh", "-c",
                              "echo starting; echo cannot open config; exit 2"],
                              restart_policy="Never",
                              container={"terminationMessagePolicy": "FallbackToLogsOnError"}))
    run_pod(cluster, make_pod("quiet", image="busybox:1.36", command=["sh", "-c",
                              "echo nothing to see; exit 2"], restart_policy="Never"))
    assert cluster.settle(30)
    terminated = {name: container_status(cluster, name)["state"]["terminated"]
                  for name in ("termination-demo", "elsewhere", "fallback", "quiet")}
    assert terminated["termination-demo"]["message"] == "Sleep expired\n"
    assert terminated["termination-demo"]["exitCode"] == 0
    assert terminated["elsewhere"]["message"] == "done\n"
    assert terminated["fallback"]["message"] == "starting\ncannot open config\n"
    assert "message" not in terminated["quiet"]  # File policy and no file: no message


def test_termination_message_of_the_previous_run(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("again", image="busybox:1.36", command=[
        "sh", "-c", "sleep 5; echo attempt over > /dev/termination-log; exit 1"]))
    assert cluster.settle(30)
    status = container_status(cluster, "again")
    assert status["restartCount"] >= 1
    assert status["lastState"]["terminated"]["message"] == "attempt over\n"


def test_post_start_hook_holds_the_container_and_the_next_one(cluster: Cluster) -> None:
    pod = make_pod("hooked", container={"lifecycle": {"postStart": {"exec": {
        "command": ["sh", "-c", "sleep 4; echo ready > /tmp/ready"]}}}})
    pod["spec"]["containers"].append({"name": "second", "image": "nginx:1.27"})
    run_pod(cluster, pod)
    assert cluster.settle(30)
    started = event_times(cluster, "hooked", "Started")
    assert len(started) == 2
    # the second container starts only once the first one's hook returned
    assert started[1] - started[0] == pytest.approx(4 + CREATE + START, abs=0.05)
    assert get_pod(cluster, "hooked")["status"]["phase"] == "Running"
    assert "FailedPostStartHook" not in reasons(cluster, "hooked")


def test_failing_post_start_hook_kills_and_restarts_the_container(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("badhook", container={"lifecycle": {"postStart": {"exec": {
        "command": ["sh", "-c", "exit 1"]}}}}))
    cluster.advance(60)
    events = reasons(cluster, "badhook")
    assert "FailedPostStartHook" in events
    assert ("Killing", "FailedPostStartHook") in [(r, m) for _t, r, m in pod_events(
        cluster, "badhook")]
    status = container_status(cluster, "badhook")
    assert status["restartCount"] >= 1  # restarted per restartPolicy, with the back-off
    assert not status["ready"]
