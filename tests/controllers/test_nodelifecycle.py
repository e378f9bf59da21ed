"""Node lifecycle: silent nodes go Unknown, nodes get condition taints, pods are evicted from
NoExecute-tainted nodes after their tolerationSeconds and replaced by their controllers.

Simulated nodes are stopped the way a crash looks from outside: their kubelet's Lease heartbeat
is cancelled. "Hand" nodes are Node and Lease objects the test writes itself (renewed by a
background timer of its own), for pods whose status the test sets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import kinds
from kubenb.api.meta import now_rfc3339, now_rfc3339_micro
from kubenb.client.client import PatchType
from kubenb.controllers.podutil import parse_time
from kubenb.runtime.clock import Timer

Obj = dict[str, Any]
NS = "default"
GRACE = 50  # node-monitor-grace-period, Kubernetes 1.32 and later


@pytest.fixture
def c() -> Iterator[Cluster]:
    with Cluster(nodes=2, speed="max", serve=False, seed=1) as cluster:
        assert cluster.settle(20).idle
        yield cluster


def stop(c: Cluster, name: str) -> float:
    """Stop a simulated node's heartbeats; returns when its Lease was last renewed."""
    assert c.kubelets is not None
    state = c.kubelets.nodes[name]
    assert state.heartbeat is not None
    state.heartbeat.cancel()
    state.up = False
    lease = c.client.get(kinds.LEASES, name, "kube-node-lease")
    renewed = parse_time(lease["spec"]["renewTime"])
    assert renewed is not None
    return renewed


def post_status(c: Cluster, name: str, ready: str) -> None:
    """What a kubelet does when it (re)connects: renew the Lease, post a fresh Ready."""
    stamp = now_rfc3339(c.clock.datetime())
    c.client.patch(kinds.LEASES, name,
                   {"spec": {"renewTime": now_rfc3339_micro(c.clock.datetime())}},
                   "kube-node-lease", patch_type=PatchType.MERGE)
    node = c.client.get(kinds.NODES, name)
    conditions = []
    for cond in node["status"]["conditions"]:
        cond = dict(cond, lastHeartbeatTime=stamp)
        if cond["type"] == "Ready":
            if cond["status"] != ready:
                cond["lastTransitionTime"] = stamp
            cond.update(status=ready, reason="KubeletReady" if ready == "True"
                        else "KubeletNotReady", message="posted by the test")
        elif cond["status"] == "Unknown":
            cond.update(status="False", lastTransitionTime=stamp)
        conditions.append(cond)
    node["status"]["conditions"] = conditions
    c.client.replace_status(kinds.NODES, node)


def condition(obj: Obj, ctype: str) -> Obj:
    return next(x for x in obj["status"]["conditions"] if x["type"] == ctype)


def taints(c: Cluster, name: str) -> dict[tuple[str, str], Obj]:
    node = c.client.get(kinds.NODES, name)
    return {(t["key"], t["effect"]): t for t in node["spec"].get("taints") or ()}


def events(c: Cluster, reason: str) -> list[Obj]:
    return [e for e in c.client.list(kinds.EVENTS, NS).items if e["reason"] == reason]


UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


def test_silent_node_goes_unknown_after_the_grace_period_then_recovers(c: Cluster) -> None:
    renewed = stop(c, "node-1")
    c.advance(GRACE - 15)
    assert condition(c.client.get(kinds.NODES, "node-1"), "Ready")["status"] == "True"
    assert taints(c, "node-1") == {}
    c.advance(25)
    node = c.client.get(kinds.NODES, "node-1")
    ready = condition(node, "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    for ctype in ("MemoryPressure", "DiskPressure", "PIDPressure"):
        assert condition(node, ctype)["status"] == "Unknown"
    went = parse_time(ready["lastTransitionTime"])
    assert went is not None and renewed + GRACE < went <= renewed + GRACE + 6
    found = taints(c, "node-1")
    assert set(found) == {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}
    assert found[(UNREACHABLE, "NoExecute")]["timeAdded"]
    assert [e["message"] for e in events(c, "NodeNotReady") if e["involvedObject"]["kind"]
            == "Node"] == ["Node node-1 status is now: NodeNotReady"]
    assert condition(c.client.get(kinds.NODES, "node-2"), "Ready")["status"] == "True"
    assert taints(c, "node-2") == {}

    post_status(c, "node-1", "True")
    assert c.settle(20).idle
    assert taints(c, "node-1") == {}


def test_not_ready_and_cordoned_nodes_get_their_taints(c: Cluster) -> None:
    post_status(c, "node-2", "False")
    assert c.settle(20).idle
    assert set(taints(c, "node-2")) == {(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")}
    c.client.patch(kinds.NODES, "node-2", {"spec": {"unschedulable": True}})
    assert c.settle(20).idle
    assert (("node.kubernetes.io/unschedulable", "NoSchedule") in taints(c, "node-2"))
    post_status(c, "node-2", "True")
    c.client.patch(kinds.NODES, "node-2", {"spec": {"unschedulable": None}})
    assert c.settle(20).idle
    assert taints(c, "node-2") == {}
    # a taint somebody else put there stays
    c.client.patch(kinds.NODES, "node-1", {"spec": {"taints": [
        {"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}})
    post_status(c, "node-1", "False")
    assert c.settle(20).idle
    assert set(taints(c, "node-1")) == {("dedicated", "NoSchedule"), (NOT_READY, "NoSchedule"),
                                        (NOT_READY, "NoExecute")}


def replicaset(c: Cluster, name: str, replicas: int) -> None:
    c.client.create(kinds.REPLICASETS, {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})


def bare_pod(c: Cluster, name: str, node: str, tolerations: list[Obj] | None = None) -> None:
    spec: Obj = {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    c.client.create(kinds.PODS, {"apiVersion": "v1", "kind": "Pod",
                                 "metadata": {"name": name, "namespace": NS}, "spec": spec})


def test_pods_are_evicted_after_their_toleration_seconds_and_replaced(c: Cluster) -> None:
    replicaset(c, "web", 4)
    bare_pod(c, "patient", "node-1")  # DefaultTolerationSeconds: 300 s
    bare_pod(c, "quick", "node-1", [{"key": UNREACHABLE, "operator": "Exists",
                                     "effect": "NoExecute", "tolerationSeconds": 30}])
    bare_pod(c, "forever", "node-1", [{"operator": "Exists"}])
    c.settle(20)
    patient = c.client.get(kinds.PODS, "patient", NS)
    assert {t.get("key"): t.get("tolerationSeconds") for t in patient["spec"]["tolerations"]} \
        == {NOT_READY: 300, UNREACHABLE: 300}
    web = [p for p in c.client.list(kinds.PODS, NS, label_selector="app=web").items]
    assert len(web) == 4 and all(p["spec"].get("nodeName") for p in web)
    doomed = {p["metadata"]["name"] for p in web if p["spec"]["nodeName"] == "node-1"}
    assert doomed, "the scheduler put no pod on node-1"

    stop(c, "node-1")
    c.advance(GRACE + 10)  # then settle runs the pending evictions (foreground timers)

    tainted = parse_time(taints(c, "node-1")[(UNREACHABLE, "NoExecute")]["timeAdded"])
    assert tainted is not None

    def evicted_after(name: str) -> float:
        pod = c.client.get(kinds.PODS, name, NS)
        assert pod["metadata"].get("deletionTimestamp"), name
        cond = condition(pod, "DisruptionTarget")
        assert (cond["status"], cond["reason"]) == ("True", "DeletionByTaintManager")
        when = parse_time(cond["lastTransitionTime"])
        assert when is not None
        return when - tainted

    assert 30 <= evicted_after("quick") <= 31
    assert 300 <= evicted_after("patient") <= 301
    for name in doomed:
        assert 300 <= evicted_after(name) <= 301
    assert not c.client.get(kinds.PODS, "forever", NS)["metadata"].get("deletionTimestamp")
    marked = {e["message"] for e in events(c, "TaintManagerEviction")}
    assert {"Marking for deletion Pod default/quick", "Marking for deletion Pod default/patient"
            } <= marked
    # the ReplicaSet replaced what was evicted, elsewhere (node-1 is tainted)
    web = c.client.list(kinds.PODS, NS, label_selector="app=web").items
    alive = [p for p in web if not p["metadata"].get("deletionTimestamp")]
    assert len(alive) == 4
    assert all(p["spec"].get("nodeName") != "node-1" for p in alive)


def test_a_cluster_whose_every_node_is_down_evicts_nothing() -> None:
    with Cluster(nodes=1, speed="max", serve=False, seed=1) as c:
        c.settle(20)
        bare_pod(c, "p", "node-1")
        c.settle(20)
        stop(c, "node-1")
        c.advance(GRACE + 400)
        assert condition(c.client.get(kinds.NODES, "node-1"), "Ready")["status"] == "Unknown"
        assert set(taints(c, "node-1")) == {(UNREACHABLE, "NoSchedule")}
        assert not c.client.get(kinds.PODS, "p", NS)["metadata"].get("deletionTimestamp")


def test_noexecute_tainting_is_rate_limited_per_zone() -> None:
    with Cluster(nodes=5, speed="max", serve=False, seed=1) as c:
        c.settle(20)
        stop(c, "node-1")
        stop(c, "node-2")
        c.advance(GRACE + 30)
        added = sorted(parse_time(taints(c, n)[(UNREACHABLE, "NoExecute")]["timeAdded"]) or 0
                       for n in ("node-1", "node-2"))
        assert 9 <= added[1] - added[0] <= 11  # 0.1 node per second, one at once
        for n in ("node-3", "node-4", "node-5"):
            assert taints(c, n) == {}


class HandNode:
    """A Node and its Lease written by the test: a kubelet that runs nothing."""

    def __init__(self, c: Cluster, name: str) -> None:
        self.c, self.name = c, name
        node = c.client.create(kinds.NODES, {"apiVersion": "v1", "kind": "Node",
                                             "metadata": {"name": name}})
        stamp = now_rfc3339(c.clock.datetime())
        node["status"] = {"conditions": [{
            "type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok",
            "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}]}
        c.client.replace_status(kinds.NODES, node)
        c.client.create(kinds.LEASES, {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                     "renewTime": now_rfc3339_micro(c.clock.datetime())}})
        self.timer: Timer | None = c.clock.call_later(10, self.renew, background=True)

    def renew(self) -> None:
        self.c.client.patch(kinds.LEASES, self.name, {"spec": {
            "renewTime": now_rfc3339_micro(self.c.clock.datetime())}}, "kube-node-lease",
            patch_type=PatchType.MERGE)
        self.timer = self.c.clock.call_later(10, self.renew, background=True)

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()


def running_pod(c: Cluster, name: str, node: str, ip: str) -> None:
    c.client.create(kinds.PODS, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "hand"}},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}],
                 "tolerations": [{"operator": "Exists"}]}})
    pod = c.client.get(kinds.PODS, name, NS)
    stamp = now_rfc3339(c.clock.datetime())
    pod["status"] = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": stamp, "lastProbeTime": None}]}
    c.client.replace_status(kinds.PODS, pod)


def test_pods_of_an_unreachable_node_are_not_ready_and_leave_the_endpoints() -> None:
    with Cluster(nodes=0, speed="max", serve=False, seed=1) as c:
        a, b = HandNode(c, "hand-a"), HandNode(c, "hand-b")
        c.client.create(kinds.SERVICES, {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "hand", "namespace": NS},
            "spec": {"selector": {"app": "hand"}, "ports": [{"port": 80}]}})
        running_pod(c, "on-a", "hand-a", "10.244.1.2")
        running_pod(c, "on-b", "hand-b", "10.244.2.2")
        c.settle(20)
        a.stop()
        c.advance(GRACE + 10)
        pod = c.client.get(kinds.PODS, "on-a", NS)
        assert condition(pod, "Ready")["status"] == "False"
        assert not pod["metadata"].get("deletionTimestamp")  # it tolerates everything
        assert condition(c.client.get(kinds.PODS, "on-b", NS), "Ready")["status"] == "True"
        pod_events = [e for e in events(c, "NodeNotReady")
                      if e["involvedObject"]["kind"] == "Pod"]
        assert [(e["involvedObject"]["name"], e["type"], e["message"]) for e in pod_events] == [
            ("on-a", "Warning", "Node is not ready")]
        ep = c.client.get(kinds.ENDPOINTS, "hand", NS)
        assert [x["ip"] for s in ep["subsets"] for x in s.get("addresses") or ()] == [
            "10.244.2.2"]
        assert [x["ip"] for s in ep["subsets"] for x in s.get("notReadyAddresses") or ()] == [
            "10.244.1.2"]
        # a pod bound to the node now is not ready either (created and marked running in one
        # go: like upstream, the controller looks at a pod when it is bound, not at each status)
        with c.paused():
            running_pod(c, "late", "hand-a", "10.244.1.3")
        c.settle(20)
        assert condition(c.client.get(kinds.PODS, "late", NS), "Ready")["status"] == "False"
        b.stop()
