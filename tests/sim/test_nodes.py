"""Simulated nodes: registration at run time, removal, Lease and status heartbeats, and runs
that repeat exactly."""

from __future__ import annotations

import datetime

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.sim.faults import Faults
from tests.sim.util import get_pod, make_pod, pod_events, record_events, run_pod, state_of


def _time(value: str) -> float:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def test_add_node_at_run_time(cluster: Cluster) -> None:
    node = cluster.kubelets.add_node("node-3", cpu="8", memory="32Gi",  # type: ignore[union-attr]
                                     labels={"disk": "ssd"})
    assert node["metadata"]["labels"]["disk"] == "ssd"
    assert node["status"]["capacity"]["cpu"] == "8"
    assert node["status"]["allocatable"]["memory"] == "32Gi"
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["Hostname"] == "node-3" and addresses["InternalIP"]
    lease = cluster.client.get(kinds.LEASES, "node-3", "kube-node-lease")
    assert lease["spec"]["holderIdentity"] == "node-3"
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]
    cidrs = {cluster.client.get(kinds.NODES, n)["spec"]["podCIDR"]
             for n in ("node-1", "node-2", "node-3")}
    assert len(cidrs) == 3
    run_pod(cluster, make_pod("web"), node="node-3")
    assert cluster.settle(10)
    assert state_of(cluster, "web") == "running"
    journal = cluster.manager._journal or []
    node_events = [(r, m) for _e, r, kind, key, m in journal
                   if kind == "Node" and key == "/node-3" and r in ("Starting", "NodeReady")]
    assert node_events == [("Starting", "Starting kubelet."),
                           ("NodeReady", "Node node-3 status is now: NodeReady")]


def test_remove_node_leaves_its_pods_to_the_controllers(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web"), node="node-2")
    assert cluster.settle(10)
    before = get_pod(cluster, "web")
    cluster.kubelets.remove_node("node-2")  # type: ignore[union-attr]
    assert cluster.settle(10)
    try:
        node = cluster.client.get(kinds.NODES, "node-2")
    except errors.NotFound:
        node = None
    assert node is None or node["metadata"].get("deletionTimestamp")
    assert ("default", "web") not in cluster.kubelets.runs  # type: ignore[union-attr]
    try:
        after = get_pod(cluster, "web")
    except errors.NotFound:
        return  # the pod garbage collector removed the orphan: also fine
    assert after["status"]["containerStatuses"] == before["status"]["containerStatuses"]


def test_lease_renewals_every_ten_seconds(cluster: Cluster) -> None:
    def renewed() -> float:
        lease = cluster.client.get(kinds.LEASES, "node-1", "kube-node-lease")
        return _time(lease["spec"]["renewTime"])

    first = renewed()
    cluster.advance(30)
    second = renewed()
    assert 20 <= second - first <= 40
    journal_before = len(cluster.manager._journal or [])
    cluster.advance(30)
    assert 20 <= renewed() - second <= 40
    assert len(cluster.manager._journal or []) == journal_before  # heartbeats are silent


def test_node_status_is_reported_every_five_minutes(cluster: Cluster) -> None:
    def ready() -> dict:
        node = cluster.client.get(kinds.NODES, "node-1")
        return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")

    before = ready()
    cluster.advance(120)
    assert ready()["lastHeartbeatTime"] == before["lastHeartbeatTime"]  # nothing changed
    cluster.advance(200)
    after = ready()
    assert _time(after["lastHeartbeatTime"]) - _time(before["lastHeartbeatTime"]) >= 290
    assert after["lastTransitionTime"] == before["lastTransitionTime"]
    assert after["status"] == "True"


def _scenario() -> list[tuple[str, str, str, str, str]]:
    """Each step's writes are made while the engine is paused: an idle virtual clock follows
    wall time, so steps made one by one would start at times that vary from run to run."""
    with Cluster(nodes=2, speed="max", serve=False, seed=7) as c:
        journal = c.manager.record_journal()
        with c.paused():
            run_pod(c, make_pod("web"), node="node-1")
            run_pod(c, make_pod("web2"), node="node-1")
            run_pod(c, make_pod("job", image="busybox:1.36", restart_policy="Never",
                                command=["sh", "-c", "echo hi; sleep 5; exit 1"]), node="node-2")
            run_pod(c, make_pod("crash", image="busybox:1.36", command=["false"]),
                    node="node-2")
            run_pod(c, make_pod("typo", image="nginxx:1.0"), node="node-2")
            run_pod(c, make_pod("probe", container={"livenessProbe": {
                "httpGet": {"port": 80}, "periodSeconds": 5}},
                annotations={"kubenb.io/liveness-fail-after-seconds": "20"}), node="node-1")
        assert c.settle(30)
        with c.paused():
            Faults(c.kubelets, c.client).kill_container("default", "web")  # type: ignore
            c.client.delete(kinds.PODS, "web2", "default")
        c.advance(120)
        return [e for e in journal if e[2] == "Pod"]


def test_same_seed_same_events() -> None:
    first, second = _scenario(), _scenario()
    assert len(first) > 40
    assert first == second


def test_events_of_a_node_that_is_not_reachable_are_lost(cluster: Cluster) -> None:
    record_events(cluster)
    faults = Faults(cluster.kubelets, cluster.client)  # type: ignore[arg-type]
    faults.partition("node-1")
    assert cluster.settle(10)
    run_pod(cluster, make_pod("web"), node="node-1")
    cluster.advance(5)
    assert pod_events(cluster, "web") == []


def test_pod_cidrs_are_distinct_for_thousands_of_nodes() -> None:
    import ipaddress

    from kubenb.sim.node import pod_cidr

    cidrs = [ipaddress.IPv4Network(pod_cidr(i)) for i in range(1, 12_001)]
    assert len(set(cidrs)) == len(cidrs)
    assert str(cidrs[0]) == "10.244.1.0/24" and all(c.prefixlen == 24 for c in cidrs)
