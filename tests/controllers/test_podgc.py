"""Pod garbage collection: pods on nodes that are gone, terminating pods never scheduled, pods
terminating on out-of-service nodes, and terminated pods beyond the threshold.

The collector is a periodic chore (every 20 s of cluster time), so the tests let time pass with
``Cluster.advance``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.controllers.podgc import PodGCController
from kubenb.sim.node import node_object

Obj = dict[str, Any]
NS = "default"
HOLD = "test.kubenb.io/hold"


@pytest.fixture
def c() -> Iterator[Cluster]:
    with Cluster(nodes=0, speed="max", serve=False, seed=1) as cluster:
        yield cluster


def static_node(c: Cluster, name: str, taints: list[Obj] | None = None) -> None:
    """A Node object no kubelet runs (no status: NotReady) and no scheduler picks."""
    node = node_object(name, index=1, taints=taints)
    node["spec"]["unschedulable"] = True
    c.client.create(kinds.NODES, node)


def pod(c: Cluster, name: str, node: str = "", *, hold: bool = False,
        tolerate: str = "") -> Obj:
    meta: Obj = {"name": name, "namespace": NS}
    if hold:
        meta["finalizers"] = [HOLD]
    spec: Obj = {"containers": [{"name": "c", "image": "nginx:1"}]}
    if tolerate:
        spec["tolerations"] = [{"key": tolerate, "operator": "Exists", "effect": "NoExecute"}]
    created = c.client.create(kinds.PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                                           "spec": spec})
    if node:
        c.client.bind(NS, name, node)
    return created


def get(c: Cluster, name: str) -> Obj | None:
    try:
        return c.client.get(kinds.PODS, name, NS)
    except errors.NotFound:
        return None


def condition(p: Obj, ctype: str) -> Obj | None:
    return next((x for x in p["status"].get("conditions") or () if x["type"] == ctype), None)


def test_pods_of_a_node_that_is_gone_are_deleted_after_a_quarantine(c: Cluster) -> None:
    static_node(c, "here")
    static_node(c, "leaving")
    pod(c, "ghost-1", "never-existed")
    pod(c, "ghost-2", "never-existed", hold=True)
    pod(c, "left-behind", "leaving")
    pod(c, "fine", "here")
    c.client.delete(kinds.NODES, "leaving")
    c.advance(30)
    assert get(c, "ghost-1") is not None  # missing for less than 40 s: not yet
    assert get(c, "left-behind") is not None
    c.advance(40)
    assert get(c, "ghost-1") is None
    assert get(c, "left-behind") is None
    assert get(c, "fine") is not None
    held = get(c, "ghost-2")  # held by its finalizer: what the collector did shows
    assert held is not None and held["metadata"].get("deletionTimestamp")
    assert held["metadata"]["deletionGracePeriodSeconds"] == 0
    assert held["status"]["phase"] == "Failed"
    target = condition(held, "DisruptionTarget")
    assert target is not None
    assert (target["status"], target["reason"], target["message"]) == (
        "True", "DeletionByPodGC", "PodGC: node no longer exists")
    c.client.patch(kinds.PODS, "ghost-2", {"metadata": {"finalizers": None}}, NS)
    c.settle(10)
    assert get(c, "ghost-2") is None


def test_a_node_that_comes_back_saves_its_pods(c: Cluster) -> None:
    pod(c, "patient", "late-node")
    c.advance(30)
    static_node(c, "late-node")
    c.advance(60)
    assert get(c, "patient") is not None


def test_terminating_pods_never_scheduled_are_failed_and_deleted(c: Cluster) -> None:
    pod(c, "unscheduled", hold=True)
    c.client.delete(kinds.PODS, "unscheduled", NS)
    c.settle(10)
    assert get(c, "unscheduled")["status"]["phase"] == "Pending"
    c.advance(25)
    held = get(c, "unscheduled")
    assert held["status"]["phase"] == "Failed"
    assert condition(held, "DisruptionTarget") is None


def test_terminating_pods_on_out_of_service_nodes_are_force_deleted(c: Cluster) -> None:
    static_node(c, "broken", taints=[{"key": "node.kubernetes.io/out-of-service",
                                      "value": "nodeshutdown", "effect": "NoExecute"}])
    static_node(c, "other")
    pod(c, "stuck", "broken")
    pod(c, "waiting", "other")
    # tolerated, so the taint does not evict it: it is not terminating, and stays
    pod(c, "running", "broken", tolerate="node.kubernetes.io/out-of-service")
    c.client.delete(kinds.PODS, "stuck", NS)
    c.client.delete(kinds.PODS, "waiting", NS)
    c.settle(10)
    assert get(c, "stuck")["metadata"]["deletionGracePeriodSeconds"] == 30
    c.advance(25)
    assert get(c, "stuck") is None
    assert get(c, "waiting") is not None  # its node is not out of service: its kubelet ends it
    assert get(c, "running") is not None  # not terminating


def test_terminated_pods_above_the_threshold_go_evicted_first_then_oldest(c: Cluster) -> None:
    gc = next(x for x in c.manager.controllers if isinstance(x, PodGCController))
    gc.threshold = 2
    static_node(c, "n1")
    for name in ("p1", "p2", "p3", "p4", "p5"):
        pod(c, name, "n1")
        c.advance(2)  # distinct creation times, oldest first
    for name, phase, reason in (("p1", "Succeeded", ""), ("p2", "Failed", ""),
                                ("p3", "Succeeded", ""), ("p4", "Failed", "Evicted"),
                                ("p5", "Running", "")):
        current = get(c, name)
        assert current is not None
        current["status"]["phase"] = phase
        if reason:
            current["status"]["reason"] = reason
        c.client.replace_status(kinds.PODS, current)
    c.advance(25)
    # 4 terminated, 2 allowed: the evicted one, then the oldest
    left = sorted(p["metadata"]["name"] for p in c.client.list(kinds.PODS, NS).items)
    assert left == ["p2", "p3", "p5"]
