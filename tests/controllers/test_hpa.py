"""The HorizontalPodAutoscaler: simulated CPU load (``faults.cpu_load``) drives the scale of
Deployments, ReplicaSets and StatefulSets on the ``max`` clock, with upstream's sync period,
tolerance, stabilisation window, limits and ``behavior`` policies.

Syncs are background timers every 15 s of cluster time: ``advance`` moves time through them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubenb.api import kinds
from kubenb.cluster import Cluster
from kubenb.controllers.hpa import (
    Tolerances,
    group_pods,
    milli_quantity,
    plain_replicas,
    pod_cpu_usage,
    resource_replicas,
)
from kubenb.controllers.podutil import now_string, parse_time

Obj = dict[str, Any]
NS = "default"
SYNC = 15


@pytest.fixture
def c() -> Iterator[Cluster]:
    with Cluster(nodes=3, speed="max", serve=False, seed=1) as cluster:
        yield cluster


def workload(kind: str = "Deployment", replicas: int = 2, cpu: str | None = "100m",
             name: str = "web") -> Obj:
    container: Obj = {"name": "web", "image": "nginx"}
    if cpu is not None:
        container["resources"] = {"requests": {"cpu": cpu}}
    spec: Obj = {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [container]}}}
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": NS},
            "spec": spec}


def autoscaler(target: Obj | None = None, *, kind: str = "Deployment", name: str = "web",
               min_replicas: int = 1, max_replicas: int = 10,
               behavior: Obj | None = None) -> Obj:
    target = target or {"type": "Utilization", "averageUtilization": 50}
    spec: Obj = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name},
                 "minReplicas": min_replicas, "maxReplicas": max_replicas,
                 "metrics": [{"type": "Resource",
                              "resource": {"name": "cpu", "target": target}}]}
    if behavior is not None:
        spec["behavior"] = behavior
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": NS}, "spec": spec}


RT = {"Deployment": kinds.DEPLOYMENTS, "ReplicaSet": kinds.REPLICASETS,
      "StatefulSet": kinds.STATEFULSETS}


def start(c: Cluster, hpa: Obj, kind: str = "Deployment", replicas: int = 2,
          cpu: str | None = "100m") -> None:
    """The workload running and ready, then the HPA, and its first sync (15 s later)."""
    c.client.create(RT[kind], workload(kind, replicas, cpu))
    assert c.settle(30)
    c.client.create(kinds.HPAS, hpa)
    c.advance(SYNC)


def replicas(c: Cluster, kind: str = "Deployment") -> int:
    return int(c.client.get(RT[kind], "web", NS)["spec"]["replicas"])


def status(c: Cluster) -> Obj:
    return c.client.get(kinds.HPAS, "web", NS).get("status") or {}


def cond(c: Cluster, ctype: str) -> tuple[str, str, str]:
    for item in status(c).get("conditions") or ():
        if item["type"] == ctype:
            return item["status"], item["reason"], item["message"]
    raise AssertionError(f"no condition {ctype} in {status(c)}")


def utilization(c: Cluster) -> int:
    return int(status(c)["currentMetrics"][0]["resource"]["current"]["averageUtilization"])


def hpa_events(c: Cluster) -> list[tuple[str, str, str]]:
    items = [e for e in c.client.list(kinds.EVENTS, NS).items
             if e["involvedObject"]["kind"] == "HorizontalPodAutoscaler"]
    items.sort(key=lambda e: (e.get("lastTimestamp") or "", e["metadata"]["name"]))
    return [(e["type"], e["reason"], e["message"]) for e in items]


def load(c: Cluster, millicores: int | None, selector: str = "app=web") -> None:
    assert c.faults is not None
    c.faults.cpu_load(NS, selector, millicores)


# ------------------------------------------------------------------------------ simulated usage


def test_usage_comes_from_the_annotation_or_an_idle_baseline(c: Cluster) -> None:
    c.client.create(kinds.DEPLOYMENTS, workload(replicas=2, cpu="200m"))
    assert c.settle(30)
    pods = c.client.list(kinds.PODS, NS).items
    assert [pod_cpu_usage(p) for p in pods] == [10, 10]  # 5% of the request
    assert c.faults is not None
    changed = c.faults.cpu_load(NS, pods[0]["metadata"]["name"], "0.25")
    assert changed == [pods[0]["metadata"]["name"]]
    usage = {p["metadata"]["name"]: pod_cpu_usage(p) for p in c.client.list(kinds.PODS, NS).items}
    assert usage[pods[0]["metadata"]["name"]] == 250
    assert usage[pods[1]["metadata"]["name"]] == 10
    pod = c.client.get(kinds.PODS, pods[0]["metadata"]["name"], NS)
    assert pod["metadata"]["annotations"]["kubenb.io/cpu-usage"] == "250m"
    assert sorted(c.faults.cpu_load(NS, {"app": "web"}, None)) == sorted(usage)
    assert all(pod_cpu_usage(p) == 10 for p in c.client.list(kinds.PODS, NS).items)
    with pytest.raises(ValueError):
        c.faults.cpu_load(NS, "app=nothing", 100)
    with pytest.raises(ValueError):
        c.faults.cpu_load(NS, "no-such-pod", 100)
    assert milli_quantity(1500) == "1500m" and milli_quantity(2000) == "2"


# ------------------------------------------------------------------------------ scaling


def test_scale_up_under_load_with_event_and_status(c: Cluster) -> None:
    start(c, autoscaler())
    # idle: 5% of the request, two replicas, nothing to do (min is 1, but a new HPA first
    # waits for the downscale window)
    assert utilization(c) == 5 and replicas(c) == 2
    assert cond(c, "ScalingActive")[:2] == ("True", "ValidMetricFound")
    assert cond(c, "AbleToScale")[1] == "ScaleDownStabilized"
    load(c, 200)  # 200% of the request on each pod
    c.advance(SYNC)
    # ceil(2 * 200 / 50) = 8, limited to max(2 * 2, 4) = 4 without behavior
    assert replicas(c) == 4
    st = status(c)
    assert st["currentReplicas"] == 2 and st["desiredReplicas"] == 4
    assert utilization(c) == 200
    assert st["currentMetrics"][0]["resource"]["current"]["averageValue"] == "200m"
    assert c.clock.now() - SYNC < (parse_time(st["lastScaleTime"]) or 0) <= c.clock.now()
    assert cond(c, "AbleToScale")[:2] == ("True", "SucceededRescale")
    assert cond(c, "ScalingLimited")[:2] == ("True", "ScaleUpLimit")
    assert ("Normal", "SuccessfulRescale", "New size: 4; reason: cpu resource utilization "
            "(percentage of request) above target") in hpa_events(c)
    assert c.settle(30)
    c.advance(2 * SYNC)  # the new pods idle: 2 * 200m + 2 * 5m over 4 pods -> 102%
    assert replicas(c) == 8
    c.advance(4 * SYNC)  # (400m + 6 * 5m) / 8 pods = 53%: within the tolerance of 50%
    assert replicas(c) == 8
    assert utilization(c) == 53
    assert status(c)["currentReplicas"] == 8 and status(c)["desiredReplicas"] == 8


def test_scale_down_after_the_stabilization_window(c: Cluster) -> None:
    start(c, autoscaler(), replicas=4)
    load(c, 100)  # 4 pods at 200% -> 16, limited to 8
    c.advance(SYNC)
    assert replicas(c) == 8
    c.settle(30)
    c.advance(SYNC)
    last_high = c.clock.now()  # just after the last sync recommending at least 8
    load(c, None)
    for _ in range(30):
        c.advance(SYNC)
        if replicas(c) < 8:
            break
        assert cond(c, "AbleToScale")[1] == "ScaleDownStabilized"
    dropped_at = parse_time(status(c)["lastScaleTime"]) or 0  # (whole seconds)
    # the highest recommendation of the last 300 s wins until the window has passed
    assert 299 <= dropped_at - last_high <= 300 + SYNC
    assert replicas(c) == 1
    assert ("Normal", "SuccessfulRescale", "New size: 1; reason: All metrics below target") \
        in hpa_events(c)
    assert cond(c, "ScalingLimited")[:2] == ("False", "DesiredWithinRange")


def test_min_and_max_replicas(c: Cluster) -> None:
    start(c, autoscaler(min_replicas=2, max_replicas=3), replicas=1)
    assert replicas(c) == 2
    assert ("Normal", "SuccessfulRescale",
            "New size: 2; reason: Current number of replicas below Spec.MinReplicas") \
        in hpa_events(c)
    c.settle(30)
    load(c, 500)
    c.advance(SYNC)
    assert replicas(c) == 3
    assert cond(c, "ScalingLimited")[:2] == ("True", "TooManyReplicas")
    c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"replicas": 6}}, NS)
    c.advance(SYNC)
    assert replicas(c) == 3
    assert ("Normal", "SuccessfulRescale",
            "New size: 3; reason: Current number of replicas above Spec.MaxReplicas") \
        in hpa_events(c)
    # a target scaled to zero by hand disables autoscaling
    c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"replicas": 0}}, NS)
    c.advance(SYNC)
    assert replicas(c) == 0
    assert cond(c, "ScalingActive")[:2] == ("False", "ScalingDisabled")


def test_tolerance(c: Cluster) -> None:
    start(c, autoscaler(), replicas=4)
    c.advance(300)  # past the downscale window of the first (idle) recommendations
    load(c, 54)  # 54% of 50%: a ratio of 1.08, inside the 0.1 tolerance
    c.advance(SYNC)
    assert replicas(c) == 4 and utilization(c) == 54
    assert status(c)["desiredReplicas"] == 4
    load(c, 56)  # 1.12: outside; ceil(4 * 1.12) = 5
    c.advance(SYNC)
    assert replicas(c) == 5


def test_configurable_tolerance_in_behavior(c: Cluster) -> None:
    behavior = {"scaleUp": {"tolerance": "0.02"}}
    start(c, autoscaler(behavior=behavior), replicas=4)
    load(c, 54)  # 1.08 > 1.02
    c.advance(SYNC)
    assert replicas(c) == 5


def test_pods_without_requests(c: Cluster) -> None:
    start(c, autoscaler(), replicas=2, cpu=None)
    assert replicas(c) == 2
    st, reason, message = cond(c, "ScalingActive")
    assert (st, reason) == ("False", "FailedGetResourceMetric")
    assert message.startswith("the HPA was unable to compute the replica count: failed to get "
                              "cpu utilization: missing request for cpu in container web of "
                              "Pod web-")
    events = hpa_events(c)
    assert any(e[:2] == ("Warning", "FailedGetResourceMetric") and e[2].startswith(
        "failed to get cpu utilization: missing request for cpu in container web of Pod web-")
        for e in events)
    assert any(e[:2] == ("Warning", "FailedComputeMetricsReplicas") and e[2].startswith(
        "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource "
        "metric value: failed to get cpu utilization: missing request for cpu") for e in events)
    # no current value: kubectl shows <unknown>
    metrics = status(c).get("currentMetrics") or [{}]
    assert "resource" not in metrics[0]
    assert status(c)["currentReplicas"] == 2


def test_average_value_target(c: Cluster) -> None:
    start(c, autoscaler({"type": "AverageValue", "averageValue": "100m"}), replicas=2)
    assert status(c)["currentMetrics"][0]["resource"]["current"] == {"averageValue": "5m"}
    load(c, 300)
    c.advance(SYNC)
    assert status(c)["currentMetrics"][0]["resource"]["current"] == {"averageValue": "300m"}
    assert replicas(c) == 4  # ceil(2 * 3) = 6, limited to 4
    assert ("Normal", "SuccessfulRescale",
            "New size: 4; reason: cpu resource above target") in hpa_events(c)


@pytest.mark.parametrize("kind", ["ReplicaSet", "StatefulSet"])
def test_other_scale_targets(c: Cluster, kind: str) -> None:
    start(c, autoscaler(kind=kind), kind=kind, replicas=1)
    load(c, 200)  # 200% of 50% on one pod: 4
    c.advance(SYNC)
    assert replicas(c, kind) == 4
    assert cond(c, "AbleToScale")[:2] == ("True", "SucceededRescale")


def test_missing_target(c: Cluster) -> None:
    c.client.create(kinds.HPAS, autoscaler())
    c.advance(SYNC)
    assert cond(c, "AbleToScale")[:2] == ("False", "FailedGetScale")
    assert ("Warning", "FailedGetScale", 'deployments.apps "web" not found') in hpa_events(c)


# ------------------------------------------------------------------------------ behavior


def test_scale_up_policy_limits_the_rate(c: Cluster) -> None:
    behavior = {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}
    start(c, autoscaler(behavior=behavior), replicas=1)
    load(c, 500)  # wants 10
    sizes = []
    for _ in range(8):
        c.advance(SYNC)
        sizes.append(replicas(c))
    # one pod per 60 s: +1 at the first sync, again 60 s later
    assert sizes == [2, 2, 2, 2, 3, 3, 3, 3]
    assert cond(c, "ScalingLimited")[:2] == ("True", "ScaleUpLimit")


def test_scale_down_policy_and_window(c: Cluster) -> None:
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 0,
                              "policies": [{"type": "Pods", "value": 1, "periodSeconds": 15}]}}
    start(c, autoscaler(behavior=behavior), replicas=4)
    sizes = []
    for _ in range(4):
        sizes.append(replicas(c))
        c.advance(SYNC)
    # no window: down at once, one pod per 15 s
    assert sizes == [3, 2, 1, 1]
    assert cond(c, "ScalingLimited")[:2] == ("False", "DesiredWithinRange")


def test_too_few_replicas(c: Cluster) -> None:
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 0}}
    start(c, autoscaler(min_replicas=2, behavior=behavior), replicas=4)
    assert replicas(c) == 2  # idle wants ceil(4 * 0.1) = 1: held at minReplicas
    assert cond(c, "ScalingLimited")[:2] == ("True", "TooFewReplicas")
    assert ("Normal", "SuccessfulRescale", "New size: 2; reason: All metrics below target") \
        in hpa_events(c)


def test_select_policy_min_and_disabled(c: Cluster) -> None:
    behavior = {"scaleUp": {"selectPolicy": "Min", "policies": [
        {"type": "Pods", "value": 1, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15}]},
        "scaleDown": {"selectPolicy": "Disabled", "stabilizationWindowSeconds": 0}}
    start(c, autoscaler(behavior=behavior), replicas=2)
    assert replicas(c) == 2  # idle, but scaling down is disabled
    assert cond(c, "ScalingLimited")[:2] == ("True", "ScaleDownLimit")
    load(c, 500)
    c.advance(SYNC)
    assert replicas(c) == 3  # the smaller of +1 pod and +100%


def test_scale_up_stabilization_window(c: Cluster) -> None:
    behavior = {"scaleUp": {"stabilizationWindowSeconds": 60}}
    start(c, autoscaler(behavior=behavior), replicas=2)
    load(c, 200)
    c.advance(SYNC)
    # the lowest recommendation of the last 60 s (the idle ones) holds the size
    assert replicas(c) == 2
    assert cond(c, "AbleToScale")[1] == "ScaleUpStabilized"
    c.advance(4 * SYNC)
    assert replicas(c) > 2


# ------------------------------------------------------------------------------ replica calculator


def _pod(name: str, phase: str = "Running", ready: bool = True, started: float = 0.0,
         ready_at: float = 0.0) -> Obj:
    return {"metadata": {"name": name},
            "status": {"phase": phase, "startTime": now_string(started),
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "lastTransitionTime": now_string(ready_at)}]}}


def test_unready_and_missing_pods_are_counted_conservatively() -> None:
    now = 10_000.0
    old = {"started": now - 1000, "ready_at": now - 900}
    pods = [_pod("a", **old), _pod("b", **old), _pod("p", phase="Pending"),
            _pod("new", started=now - 20, ready_at=now - 5)]
    requests = dict.fromkeys(["a", "b", "p", "new"], 100)
    ready, ignored, missing = group_pods(pods, {"a": 200, "b": 200, "new": 10}, True, now)
    assert (ready, ignored, missing) == (2, {"p", "new"}, set())
    # scale up: the pending and just-ready pods count as idle: (200+200+0+0)/400 = 100% of 50
    got = resource_replicas(4, 50, {"a": 200, "b": 200, "new": 10}, pods, requests,
                            Tolerances(), True, now)
    assert got == (8, 200, 200)
    # a running pod without a sample: on a scale down it counts as using its whole request
    pods2 = [_pod("a", **old), _pod("b", **old), _pod("m", **old)]
    got = resource_replicas(3, 50, {"a": 10, "b": 10}, pods2, dict.fromkeys("abm", 100),
                            Tolerances(), True, now)
    assert got == (3, 10, 10)  # (10 + 10 + 100) / 300 = 40%: 0.8 -> ceil(3 * 0.8) = 3
    got = resource_replicas(3, 50, {"a": 5, "b": 5}, pods2, dict.fromkeys("abm", 100),
                            Tolerances(), True, now)
    assert got[0] == math.ceil(3 * (36 / 50))
    # AverageValue targets: a missing pod counts as the target on a scale down
    # ((10 + 10 + 100) / 3) / 100 = 0.4 -> 2
    assert plain_replicas(3, 100, {"a": 10, "b": 10}, pods2, Tolerances(), True, now) == (2, 10)


# ------------------------------------------------------------------------------ determinism


def _scenario() -> tuple[list[Any], list[int]]:
    with Cluster(nodes=3, speed="max", serve=False, seed=5) as c:
        journal = c.manager.record_journal()
        with c.paused():
            c.client.create(kinds.DEPLOYMENTS, workload(replicas=2))
        assert c.settle(30)
        c.client.create(kinds.HPAS, autoscaler())
        c.advance(SYNC)
        sizes = []
        for step in range(40):
            if step == 1:
                with c.paused():
                    load(c, 300)
            if step == 12:
                with c.paused():
                    load(c, None)
            c.advance(SYNC)
            sizes.append(replicas(c))
        return [e for e in journal if e[2] == "HorizontalPodAutoscaler"], sizes


def test_same_load_same_decisions() -> None:
    first, second = _scenario(), _scenario()
    assert first == second
    assert max(first[1]) > 2 and first[1][-1] == 1
    assert [e[1] for e in first[0]].count("SuccessfulRescale") >= 3


# ------------------------------------------------------------------------------ kubectl


def test_kubectl_autoscale_and_get_hpa(tmp_path: Path) -> None:
    from tests.conftest import Kubectl

    with Cluster(nodes=2, speed="max", seed=1, kubeconfig=tmp_path / "kubeconfig") as c:
        kubectl = Kubectl(c.kubeconfig)
        kubectl("apply", "-f", "-", input=json.dumps(workload(replicas=2)))
        assert c.settle(30)
        out = kubectl("autoscale", "deployment", "web", "--cpu-percent=50", "--min=1",
                      "--max=10")
        assert "horizontalpodautoscaler.autoscaling/web autoscaled" in out
        row = kubectl("get", "hpa", "web", "--no-headers").split()
        assert row[:3] == ["web", "Deployment/web", "cpu:"]
        assert row[3] == "<unknown>/50%"
        c.advance(SYNC)
        row = kubectl("get", "hpa", "web", "--no-headers").split()
        assert row[2:6] == ["cpu:", "5%/50%", "1", "10"] and row[6] == "2"
        assert c.faults is not None
        c.faults.cpu_load(NS, "app=web", 160)
        c.advance(SYNC)
        row = kubectl("get", "hpa", "web", "--no-headers").split()
        assert row[3] == "160%/50%"
        assert kubectl("get", "deployment", "web", "-o", "jsonpath={.spec.replicas}") == "4"
        described = kubectl("describe", "hpa", "web")
        assert "SuccessfulRescale" in described
        assert "New size: 4; reason: cpu resource utilization (percentage of request) above " \
               "target" in described


def test_memory_utilization_scales_on_the_simulated_memory(c: Cluster) -> None:
    deployment = workload(replicas=2)
    deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"][
        "memory"] = "64Mi"
    c.client.create(kinds.DEPLOYMENTS, deployment)
    assert c.settle(30)
    hpa = autoscaler({"type": "Utilization", "averageUtilization": 60})
    hpa["spec"]["metrics"][0]["resource"]["name"] = "memory"
    c.client.create(kinds.HPAS, hpa)
    c.advance(SYNC)
    # idle pods use half their memory request
    assert utilization(c) == 50 and replicas(c) == 2
    current = status(c)["currentMetrics"][0]["resource"]
    assert current["name"] == "memory"
    assert current["current"]["averageValue"] == str(32 * 1024 * 1024)
    assert c.faults is not None
    c.faults.memory_load(NS, "app=web", "128Mi")  # 200% of the request on each pod
    c.advance(SYNC)
    assert utilization(c) == 200
    assert replicas(c) == 4  # ceil(2 * 200 / 60) = 7, limited to max(2 * 2, 4)
    assert ("Normal", "SuccessfulRescale", "New size: 4; reason: memory resource utilization "
            "(percentage of request) above target") in hpa_events(c)
    c.faults.memory_load(NS, "app=web", None)
    assert all(p["metadata"].get("annotations", {}).get("kubenb.io/memory-usage") is None
               for p in c.client.list(kinds.PODS, NS).items)
    with pytest.raises(ValueError):
        c.faults.memory_load(NS, "app=web", -1)


def test_memory_without_requests_is_a_readable_failure(c: Cluster) -> None:
    hpa = autoscaler()
    hpa["spec"]["metrics"][0]["resource"]["name"] = "memory"
    start(c, hpa, replicas=1)
    st, reason, message = cond(c, "ScalingActive")
    assert (st, reason) == ("False", "FailedGetResourceMetric")
    assert "missing request for memory in container web of Pod web-" in message


def test_milli_quantities_take_the_largest_whole_suffix() -> None:
    assert [milli_quantity(m) for m in (0, 5, 1500, 2000, 30_720_000_000, 3_000_000_000,
                                        134_217_728_000)] == [
        "0", "5m", "1500m", "2", "30720k", "3M", "134217728"]
