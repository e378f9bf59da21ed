"""The scheduler's cache: node-tree order, per-node totals, selector counts, assumed pods."""

from __future__ import annotations

from typing import Any

from kubenb.scheduler.cache import SchedulerCache
from tests.scheduler.util import pod_body

Obj = dict[str, Any]


def node(name: str, zone: str | None = None, cpu: str = "4", ready: str = "True") -> Obj:
    labels = {"kubernetes.io/hostname": name}
    if zone:
        labels["topology.kubernetes.io/zone"] = zone
    return {"metadata": {"name": name, "labels": labels}, "spec": {},
            "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "10"},
                       "conditions": [{"type": "Ready", "status": ready}]}}


def test_node_tree_order_takes_zones_in_turn() -> None:
    cache = SchedulerCache()
    for name, zone in [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("c1", "c"),
                       ("b2", "b")]:
        cache.set_node(node(name, zone))
    assert [n.name for n in cache.order] == ["a1", "b1", "c1", "a2", "b2", "a3"]
    assert [n.pos for n in cache.order] == list(range(6))
    cache.remove_node("b1")
    assert [n.name for n in cache.order] == ["a1", "b2", "c1", "a2", "a3"]
    assert cache.nodes.get("b1") is None


def test_totals_follow_pods_and_terminating_pods_still_hold_resources() -> None:
    cache = SchedulerCache()
    cache.set_node(node("n1"))
    info = cache.nodes["n1"]
    web = pod_body("web", cpu="500m", memory="1Gi", labels={"app": "web"})
    web["metadata"]["uid"] = "u1"
    idle = pod_body("idle", labels={"app": "web"})
    idle["metadata"]["uid"] = "u2"
    p1 = cache.add_pod(web, "n1")
    cache.add_pod(idle, "n1")
    assert (info.req_cpu, info.nz_cpu, info.pod_count) == (500, 600, 2)
    from kubenb.controllers.podutil import selector

    counts = cache.selector_count("default", selector({"matchLabels": {"app": "web"}}))
    assert counts.get("n1") == 2
    gone = dict(web, metadata={**web["metadata"], "deletionTimestamp": "2026-01-01T00:00:00Z"})
    p1 = cache.update_pod(p1, gone)
    assert counts.get("n1") == 1  # spreading ignores terminating pods
    assert info.req_cpu == 500  # but their resources are still taken
    relabelled = dict(idle, metadata={**idle["metadata"], "labels": {"app": "other"}})
    cache.update_pod(cache.pods[("default", "idle")], relabelled)
    assert counts.get("n1") == 0
    cache.remove_pod(p1)
    assert (info.req_cpu, info.pod_count) == (0, 1)


def test_not_ready_nodes_repel_like_the_lifecycle_taints() -> None:
    cache = SchedulerCache()
    cache.set_node(node("sick", ready="False"))
    cache.set_node(node("lost", ready="Unknown"))
    cache.set_node(node("fine"))
    assert [t.key for t in cache.nodes["sick"].taints] == ["node.kubernetes.io/not-ready"]
    assert [t.key for t in cache.nodes["lost"].taints] == ["node.kubernetes.io/unreachable"]
    assert cache.nodes["fine"].taints == ()
    # once the controller has put the taint there, it is not doubled
    tainted = node("sick", ready="False")
    tainted["spec"]["taints"] = [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]
    _, added, changed = cache.set_node(tainted)
    assert not added and not changed
    assert len(cache.nodes["sick"].taints) == 1
