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
