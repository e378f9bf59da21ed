"""Failure injection: each fault produces the Kubernetes behaviour that follows from it."""

from __future__ import annotations

import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from tests.sim.util import (
    container_status,
    faults_of,
    get_pod,
    is_ready,
    make_pod,
    pod_events,
    reasons,
    run_pod,
    state_of,
)

LIVENESS = {"livenessProbe": {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 10,
                              "failureThreshold": 3}}


def lease_renewed(c: Cluster, node: str) -> str:
    return c.client.get(kinds.LEASES, node, "kube-node-lease")["spec"]["renewTime"]


def test_kill_container_restarts_it_per_policy(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web"))
    run_pod(cluster, make_pod("once", restart_policy="Never"))
    assert cluster.settle(10)
    faults = faults_of(cluster)
    faults.kill_container("default", "web")
    faults.kill_container("default", "once", "app")
    assert cluster.settle(10)
    cs = container_status(cluster, "web")
    assert cs["restartCount"] == 1 and state_of(cluster, "web") == "running"
    assert cs["lastState"]["terminated"]["exitCode"] == 137
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    assert is_ready(get_pod(cluster, "web"))
    assert reasons(cluster, "web")[-3:] == ["Pulled", "Created", "Started"]
    once = get_pod(cluster, "once")
    assert once["status"]["phase"] == "Failed"
    assert state_of(cluster, "once") == "terminated:Error"


def test_oom_kill(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("hungry"))
    assert cluster.settle(10)
    faults_of(cluster).oom_kill("default", "hungry")
    assert cluster.settle(10)
    assert container_status(cluster, "hungry")["lastState"]["terminated"]["reason"] == \
        "OOMKilled"


def test_delete_pod(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web"))
    assert cluster.settle(10)
    faults_of(cluster).delete_pod("default", "web")
    assert cluster.settle(10)
    with pytest.raises(errors.NotFound):
        get_pod(cluster, "web")
    assert "Killing" in reasons(cluster, "web")
    with pytest.raises(ValueError, match="not found"):
        faults_of(cluster).delete_pod("default", "web")


def test_crash_loop_until_recovered(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web"))
    assert cluster.settle(10)
    faults = faults_of(cluster)
    faults.crash_loop("default", "web")
    assert cluster.settle(30)
    assert state_of(cluster, "web") == "waiting:CrashLoopBackOff"
    assert container_status(cluster, "web")["restartCount"] >= 5
    assert "BackOff" in reasons(cluster, "web")
    assert "simulated crash (Faults.crash_loop)" in cluster.client.log(
        "default", "web", previous="true")
    faults.recover("default", "web")
    cluster.advance(301)
    assert state_of(cluster, "web") == "running"
    assert is_ready(get_pod(cluster, "web"))


def test_fail_liveness_restarts_once(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("hang", container=LIVENESS))
    assert cluster.settle(10)
    faults = faults_of(cluster)
    faults.fail_liveness("default", "hang")
    assert cluster.settle(60)
    events = pod_events(cluster, "hang")
    assert events.count(("Warning", "Unhealthy",
                         "Liveness probe failed: HTTP probe failed with statuscode: 503")) == 3
    assert ("Normal", "Killing", "Container app failed liveness probe, will be restarted") \
        in events
    assert container_status(cluster, "hang")["restartCount"] == 1  # healthy after the restart
    with pytest.raises(ValueError, match="no livenessProbe"):
        run_pod(cluster, make_pod("plain"))
        assert cluster.settle(10)
        faults.fail_liveness("default", "plain")


def test_fail_readiness_and_recover(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web"))
    run_pod(cluster, make_pod("probed", container={"readinessProbe": {
        "httpGet": {"port": 80}, "periodSeconds": 5, "failureThreshold": 2}}))
    assert cluster.settle(10)
    faults = faults_of(cluster)
    faults.fail_readiness("default", "web")
    faults.fail_readiness("default", "probed")
    assert cluster.settle(60)
    assert not is_ready(get_pod(cluster, "web"))
    assert not is_ready(get_pod(cluster, "probed"))
    assert state_of(cluster, "web") == "running"  # not ready is not restarted
    assert "Unhealthy" in reasons(cluster, "probed")
    assert "Unhealthy" not in reasons(cluster, "web")  # it has no probe to fail
    faults.recover("default", "web")
    faults.recover("default", "probed")
    assert cluster.settle(60)
    assert is_ready(get_pod(cluster, "web")) and is_ready(get_pod(cluster, "probed"))


def test_fail_image_pulls_on_one_node_then_clear(cluster: Cluster) -> None:
    faults = faults_of(cluster)
    faults.fail_image_pulls("redis*", node="node-1")
    assert cluster.settle(10)
    run_pod(cluster, make_pod("one", image="redis:7.2"), node="node-1")
    run_pod(cluster, make_pod("two", image="redis:7.2"), node="node-2")
    assert cluster.settle(30)
    assert state_of(cluster, "one") == "waiting:ImagePullBackOff"
    assert state_of(cluster, "two") == "running"
    failed = [m for _t, r, m in pod_events(cluster, "one") if r == "Failed"]
    assert "503 Service Unavailable" in failed[0]
    faults.clear_image_pulls()
    cluster.advance(301)
    assert state_of(cluster, "one") == "running"


def test_node_down_stops_heartbeats_and_pod_updates(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web"), node="node-1")
    run_pod(cluster, make_pod("other"), node="node-2")
    assert cluster.settle(10)
    faults = faults_of(cluster)
    faults.node_down("node-1")
    assert cluster.settle(10)
    renewed = lease_renewed(cluster, "node-1")
    other = lease_renewed(cluster, "node-2")
    before = len(pod_events(cluster, "web"))
    cluster.advance(30)
    assert lease_renewed(cluster, "node-1") == renewed
    assert lease_renewed(cluster, "node-2") != other
    faults.kill_container("default", "web")  # nothing runs there any more to kill
    cluster.advance(5)
    assert len(pod_events(cluster, "web")) == before
    assert container_status(cluster, "web")["restartCount"] == 0
    faults.node_up("node-1")
    assert cluster.settle(30)
    assert lease_renewed(cluster, "node-1") != renewed
    assert "SandboxChanged" in reasons(cluster, "web")
    if ("default", "web") in cluster.kubelets.runs:  # unless the node controller evicted it
        assert container_status(cluster, "web")["restartCount"] == 1


def test_partition_then_heal_reconciles_pods(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("doomed"), node="node-1")
    run_pod(cluster, make_pod("forced"), node="node-1")
    run_pod(cluster, make_pod("survivor"), node="node-1")
    assert cluster.settle(10)
    faults = faults_of(cluster)
    faults.partition("node-1")
    assert cluster.settle(10)
    renewed = lease_renewed(cluster, "node-1")
    cluster.client.delete(kinds.PODS, "doomed", "default")
    cluster.client.delete(kinds.PODS, "forced", "default", grace_period_seconds=0)
    run_pod(cluster, make_pod("newcomer"), node="node-1")
    cluster.advance(20)
    assert lease_renewed(cluster, "node-1") == renewed
    assert get_pod(cluster, "doomed")["metadata"].get("deletionTimestamp")  # still Terminating
    assert "containerStatuses" not in get_pod(cluster, "newcomer")["status"]
    assert ("default", "forced") in cluster.kubelets.runs  # its containers still run there
    with pytest.raises(errors.InternalError, match="no route to host"):
        cluster.client.log("default", "survivor")
    faults.heal("node-1")
    assert cluster.settle(30)
    assert lease_renewed(cluster, "node-1") != renewed
    with pytest.raises(errors.NotFound):
        get_pod(cluster, "doomed")
    assert ("default", "forced") not in cluster.kubelets.runs
    assert state_of(cluster, "newcomer") == "running"
    assert state_of(cluster, "survivor") == "running"
    assert "start worker processes" in cluster.client.log("default", "survivor")


def test_faults_validate_their_targets(cluster: Cluster) -> None:
    faults = faults_of(cluster)
    with pytest.raises(ValueError, match="not running on a simulated node"):
        faults.kill_container("default", "nobody")
    run_pod(cluster, make_pod("web"))
    assert cluster.settle(10)
    with pytest.raises(ValueError, match="no container 'db'"):
        faults.crash_loop("default", "web", "db")
    with pytest.raises(ValueError, match="no simulated node"):
        faults.node_down("node-9")


def test_clear_ends_every_fault(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web"), node="node-1")
    assert cluster.settle(10)
    faults = faults_of(cluster)
    faults.fail_readiness("default", "web")
    faults.partition("node-2")
    faults.fail_image_pulls("*")
    assert cluster.settle(10)
    assert not is_ready(get_pod(cluster, "web"))
    faults.clear()
    assert cluster.settle(10)
    assert is_ready(get_pod(cluster, "web"))
    assert cluster.kubelets.nodes["node-2"].reachable
    assert cluster.kubelets.pull_failures == []
