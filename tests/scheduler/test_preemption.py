"""DefaultPreemption: a higher-priority pod evicts lower-priority ones when that makes room."""

from __future__ import annotations

from kubenb.api import kinds
from kubenb.cluster import Cluster
from tests.scheduler.util import add_pod, events, node_of, scheduled_condition

PRIORITY_CLASSES = kinds.builtin("scheduling.k8s.io", "v1", "priorityclasses")


def priority_class(c: Cluster, name: str, value: int) -> None:
    """A PriorityClass (pods name it and carry its value, as priority admission writes it)."""
    c.client.create(PRIORITY_CLASSES, {"apiVersion": "scheduling.k8s.io/v1",
                                       "kind": "PriorityClass", "metadata": {"name": name},
                                       "value": value})


def test_higher_priority_pod_preempts_and_lands_when_the_victim_is_gone() -> None:
    # one simulated node (4 cores): its kubelet ends the victim after its grace period
    with Cluster(nodes=1, speed="max", serve=False, seed=1) as c:
        priority_class(c, "low", 10)
        priority_class(c, "high", 1000)
        add_pod(c, "old", cpu="2", priorityClassName="low", priority=10)
        add_pod(c, "young", cpu="2", priorityClassName="low", priority=10)
        assert c.settle(30)
        add_pod(c, "vip", cpu="1", priorityClassName="high", priority=1000)
        c.settle(60)
        assert node_of(c, "vip") == "node-1"
        pods = {p["metadata"]["name"] for p in c.client.list(kinds.PODS, "default").items}
        assert len(pods & {"old", "young"}) == 1  # one victim was enough
        victim = ({"old", "young"} - pods).pop()
        (ev,) = events(c, victim, "Preempted")
        vip = c.client.get(kinds.PODS, "vip", "default")
        assert ev["message"] == f"Preempted by pod {vip['metadata']['uid']} on node node-1"
        assert vip["status"]["nominatedNodeName"] == "node-1"
        failed = events(c, "vip", "FailedScheduling")
        assert failed and failed[0]["message"] == "0/1 nodes are available: 1 Insufficient cpu."
        assert scheduled_condition(c, "vip")["status"] == "True"


def test_no_preemption_when_removing_lower_priority_pods_does_not_help() -> None:
    with Cluster(nodes=1, speed="max", serve=False, seed=1) as c:
        priority_class(c, "low", 10)
        priority_class(c, "high", 1000)
        add_pod(c, "small", cpu="1", priorityClassName="low", priority=10)
        add_pod(c, "peer", cpu="2", priorityClassName="high", priority=1000)
        assert c.settle(30)
        add_pod(c, "greedy", cpu="3500m", priorityClassName="high", priority=1000)
        c.settle(30)
        assert node_of(c, "greedy") is None
        assert node_of(c, "small") == "node-1"  # evicting it would leave only 3 cores
        assert not events(c, "small", "Preempted")
        assert scheduled_condition(c, "greedy")["message"] == (
            "0/1 nodes are available: 1 Insufficient cpu. no new claims to deallocate, "
            "preemption: 0/1 nodes are available: 1 Insufficient cpu.")


def budget(c: Cluster, name: str, app: str, min_available: int = 1) -> None:
    """A PodDisruptionBudget over ``app=<app>`` (the disruption controller fills its status)."""
    c.client.create(kinds.PDBS, {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                 "metadata": {"name": name, "namespace": "default"},
                                 "spec": {"minAvailable": min_available,
                                          "selector": {"matchLabels": {"app": app}}}})


def test_preemption_spares_a_pod_its_budget_protects() -> None:
    # Without the budget "young" would go (the most important, "old", is put back first); with
    # "young" guarded by a budget that allows no disruption, it is put back first and "old" goes.
    with Cluster(nodes=1, speed="max", serve=False, seed=1) as c:
        priority_class(c, "low", 10)
        priority_class(c, "high", 1000)
        add_pod(c, "old", cpu="2", priorityClassName="low", priority=10,
                labels={"app": "old"})
        assert c.settle(30)
        add_pod(c, "young", cpu="2", priorityClassName="low", priority=10,
                labels={"app": "young"})
        budget(c, "young", "young")
        assert c.settle(30)
        pdb = c.client.get(kinds.PDBS, "young", "default")
        assert pdb["status"]["disruptionsAllowed"] == 0
        add_pod(c, "vip", cpu="1", priorityClassName="high", priority=1000)
        c.settle(60)
        assert node_of(c, "vip") == "node-1"
        pods = {p["metadata"]["name"] for p in c.client.list(kinds.PODS, "default").items}
        assert "young" in pods and "old" not in pods
        assert events(c, "old", "Preempted")


def _two_full_nodes_then_a_vip(c: Cluster, *, guarded: bool) -> None:
    """node-2 full with "free", node-1 full with "guarded" (started later, so without budgets
    node-1 is where preemption strikes), optionally protected by a budget; then a vip."""
    priority_class(c, "low", 10)
    priority_class(c, "high", 1000)
    add_pod(c, "free", cpu="4", priorityClassName="low", priority=10,
            labels={"app": "free"}, nodeSelector={"kubernetes.io/hostname": "node-2"})
    assert c.settle(30)
    add_pod(c, "guarded", cpu="4", priorityClassName="low", priority=10,
            labels={"app": "guarded"}, nodeSelector={"kubernetes.io/hostname": "node-1"})
    if guarded:
        budget(c, "guarded", "guarded")
    assert c.settle(30)
    add_pod(c, "vip", cpu="2", priorityClassName="high", priority=1000)
    c.settle(60)


def test_preemption_picks_the_node_where_no_budget_is_violated() -> None:
    with Cluster(nodes=2, speed="max", serve=False, seed=1) as c:
        _two_full_nodes_then_a_vip(c, guarded=True)
        assert node_of(c, "vip") == "node-2"
        assert node_of(c, "guarded") == "node-1"
        assert events(c, "free", "Preempted") and not events(c, "guarded", "Preempted")


def test_preemption_without_budgets_strikes_the_later_started_node() -> None:
    with Cluster(nodes=2, speed="max", serve=False, seed=1) as c:
        _two_full_nodes_then_a_vip(c, guarded=False)
        assert node_of(c, "vip") == "node-1"
        assert events(c, "guarded", "Preempted")


def test_budgets_are_used_up_in_order_and_count_disrupted_pods_once() -> None:
    from kubenb.api.selectors import LabelSelector, Requirement
    from kubenb.scheduler.cache import PodInfo
    from kubenb.scheduler.scheduler import Budget, _split_by_budgets

    def pod(name: str, ns: str = "default", **labels: str) -> PodInfo:
        return PodInfo({"metadata": {"name": name, "namespace": ns, "labels": labels},
                        "spec": {"containers": []}}, "node-1")

    web = LabelSelector((Requirement("app", "=", ("web",)),))
    pods = [pod("a", app="web"), pod("b", app="web"), pod("c", app="web"), pod("d"),
            pod("e", "other", app="web")]
    one_left = Budget("default", web, 1, frozenset())
    violating, fine = _split_by_budgets(pods, [one_left])
    assert [p.name for p in violating] == ["b", "c"]
    assert [p.name for p in fine] == ["a", "d", "e"]  # no labels, or another namespace
    # a pod the budget already counts as disrupted uses none of it
    counted = Budget("default", web, 1, frozenset({"a"}))
    violating, _ = _split_by_budgets(pods, [counted])
    assert [p.name for p in violating] == ["c"]
    # an empty or null selector guards nothing
    for selector in (LabelSelector(), LabelSelector(nothing=True)):
        violating, _ = _split_by_budgets(pods, [Budget("default", selector, 0, frozenset())])
        assert violating == []
