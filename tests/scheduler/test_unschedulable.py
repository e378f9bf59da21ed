"""Pods that fit nowhere: the condition, the event, the message, and when they are retried."""

from __future__ import annotations

from kubenb.api import kinds
from tests.scheduler.util import (
    add_node,
    add_pod,
    cluster,
    events,
    node_of,
    scheduled_condition,
)

MESSAGE = ("0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu. "
           "no new claims to deallocate, preemption: 0/3 nodes are available: "
           "1 Preemption is not helpful for scheduling, "
           "2 No preemption victims found for incoming pod.")


def test_condition_event_and_message_say_why() -> None:
    with cluster() as c:
        add_node(c, "master", taints=[{"key": "node-role", "value": "x", "effect": "NoSchedule"}])
        add_node(c, "w1", cpu="4")
        add_node(c, "w2", cpu="4")
        for n in ("w1", "w2"):
            add_pod(c, f"filler-{n}", cpu="2", nodeSelector={"kubernetes.io/hostname": n})
        assert c.settle(10)
        add_pod(c, "huge", cpu="3")
        report = c.settle(10)
        assert not report and "pod/default/huge" in str(report)
        pod = c.client.get(kinds.PODS, "huge", "default")
        assert pod["status"]["phase"] == "Pending"
        assert "nodeName" not in pod["spec"]
        cond = scheduled_condition(c, "huge")
        assert cond is not None
        assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
        assert cond["message"] == MESSAGE
        assert cond["lastTransitionTime"]
        failed = events(c, "huge", "FailedScheduling")
        assert len(failed) == 1
        assert failed[0]["type"] == "Warning"
        assert failed[0]["message"] == MESSAGE
        assert failed[0]["source"]["component"] == "default-scheduler"
        assert failed[0]["count"] == 1  # no retry without a reason: nothing busy-loops
        # bigger than any node: preempting other pods could not help
        add_pod(c, "enormous", cpu="5")
        c.settle(10)
        assert scheduled_condition(c, "enormous")["message"] == (
            "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu. "
            "no new claims to deallocate, preemption: 0/3 nodes are available: "
            "3 Preemption is not helpful for scheduling.")


def test_messages_of_other_filters() -> None:
    with cluster() as c:
        add_node(c, "n1", unschedulable=True)
        add_node(c, "n2", labels={"disk": "hdd"})
        add_pod(c, "picky", nodeSelector={"disk": "ssd"})
        c.settle(10)
        cond = scheduled_condition(c, "picky")
        assert cond is not None
        assert cond["message"] == (
            "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
            "1 node(s) were unschedulable. no new claims to deallocate, preemption: 0/2 nodes "
            "are available: 2 Preemption is not helpful for scheduling.")


def test_no_nodes_and_preemption_never() -> None:
    with cluster() as c:
        add_pod(c, "alone")
        c.settle(10)
        assert scheduled_condition(c, "alone")["message"] == "no nodes available to schedule pods"
        add_node(c, "tiny", cpu="1")
        add_pod(c, "polite", cpu="2", preemptionPolicy="Never")
        c.settle(10)
        assert node_of(c, "alone") == "tiny"  # retried when the node came
        assert scheduled_condition(c, "polite")["message"] == (
            "0/1 nodes are available: 1 Insufficient cpu. no new claims to deallocate, "
            "preemption: not eligible due to preemptionPolicy=Never.")


def test_retried_when_a_node_is_added() -> None:
    with cluster() as c:
        add_node(c, "small", cpu="1")
        add_pod(c, "wants-2", cpu="2")
        c.settle(10)
        assert node_of(c, "wants-2") is None
        add_node(c, "big", cpu="8")
        assert c.settle(10)
        assert node_of(c, "wants-2") == "big"
        cond = scheduled_condition(c, "wants-2")
        assert cond["status"] == "True"
        assert events(c, "wants-2", "Scheduled")


def test_retried_when_a_node_changes() -> None:
    with cluster() as c:
        node = add_node(c, "n1", taints=[{"key": "k", "effect": "NoSchedule"}])
        add_pod(c, "p")
        c.settle(10)
        assert node_of(c, "p") is None
        node = c.client.get(kinds.NODES, "n1")
        node["spec"]["taints"] = []
        c.client.replace(kinds.NODES, node)
        assert c.settle(10)
        assert node_of(c, "p") == "n1"


def test_resources_come_back_when_a_pod_is_deleted() -> None:
    with cluster() as c:
        add_node(c, "n1", cpu="2")
        add_pod(c, "first", cpu="1500m")
        assert c.settle(10)
        add_pod(c, "second", cpu="1")
        c.settle(10)
        assert node_of(c, "second") is None
        node = c.scheduler.cache.nodes["n1"]
        assert (node.req_cpu, node.pod_count) == (1500, 1)
        c.client.delete(kinds.PODS, "first", "default", grace_period_seconds=0)
        assert c.settle(10)
        assert node_of(c, "second") == "n1"
        assert (node.req_cpu, node.pod_count) == (1000, 1)


def test_resources_come_back_when_a_pod_finishes() -> None:
    with cluster() as c:
        add_node(c, "n1", cpu="1")
        add_pod(c, "job", cpu="1")
        assert c.settle(10)
        add_pod(c, "next", cpu="1")
        c.settle(10)
        assert node_of(c, "next") is None
        pod = c.client.get(kinds.PODS, "job", "default")
        pod["status"]["phase"] = "Succeeded"
        c.client.replace_status(kinds.PODS, pod)
        assert c.settle(10)
        assert node_of(c, "next") == "n1"


def test_unschedulable_pods_are_retried_every_five_minutes() -> None:
    with cluster() as c:  # no nodes: no node event can trigger a retry
        add_pod(c, "lonely")
        c.settle(10)
        assert events(c, "lonely", "FailedScheduling")[0]["count"] == 1
        c.advance(120)
        assert events(c, "lonely", "FailedScheduling")[0]["count"] == 1
        c.advance(240)  # past 5 minutes (flushed by the 30-second sweep)
        assert events(c, "lonely", "FailedScheduling")[0]["count"] == 2


def test_other_schedulers_gated_and_deleting_pods_are_left_alone() -> None:
    with cluster() as c:
        add_node(c, "n1")
        add_pod(c, "custom", schedulerName="my-scheduler")
        add_pod(c, "gated", schedulingGates=[{"name": "example.com/wait"}])
        add_pod(c, "mine")
        assert c.settle(10)
        assert node_of(c, "custom") is None
        assert node_of(c, "gated") is None
        assert node_of(c, "mine") == "n1"
        assert not events(c, "custom") and not events(c, "gated")
        pod = c.client.get(kinds.PODS, "gated", "default")
        pod["spec"]["schedulingGates"] = []
        c.client.replace(kinds.PODS, pod)
        assert c.settle(10)
        assert node_of(c, "gated") == "n1"
