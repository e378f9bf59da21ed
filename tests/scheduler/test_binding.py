"""Binding through the API, the order pods are taken in, rotation, and determinism."""

from __future__ import annotations

from kubenb.api import kinds
from tests.scheduler.test_preemption import priority_class
from tests.scheduler.util import add_node, add_pod, cluster, events, node_of, placements


def test_binding_sets_node_name_condition_and_event() -> None:
    with cluster() as c:
        add_node(c, "n1")
        created = add_pod(c, "web")
        assert c.settle(10)
        pod = c.client.get(kinds.PODS, "web", "default")
        assert pod["spec"]["nodeName"] == "n1"
        assert pod["metadata"]["uid"] == created["metadata"]["uid"]
        conds = {x["type"]: x for x in pod["status"]["conditions"]}
        assert conds["PodScheduled"]["status"] == "True"
        (ev,) = events(c, "web", "Scheduled")
        assert ev["type"] == "Normal"
        assert ev["message"] == "Successfully assigned default/web to n1"
        assert ev["source"]["component"] == "default-scheduler"
        # pods/binding writes storage directly, as kube-apiserver's BindingREST does: no field
        # manager records nodeName or the PodScheduled condition
        entries = pod["metadata"]["managedFields"]
        assert entries and all(m.get("subresource") != "binding" for m in entries)
        assert all("f:nodeName" not in str(m["fieldsV1"]) for m in entries)


def test_higher_priority_pods_are_scheduled_first() -> None:
    with cluster() as c:
        add_node(c, "one-slot", pods="1")
        priority_class(c, "low", 0)
        priority_class(c, "high", 1000)
        with c.paused():
            add_pod(c, "low", priorityClassName="low", priority=0)
            add_pod(c, "high", priorityClassName="high", priority=1000)
        c.settle(10)
        assert placements(c) == {"high": "one-slot", "low": None}


def test_start_index_rotates_by_the_nodes_processed() -> None:
    with cluster() as c:
        with c.paused():
            for i in range(200):
                add_node(c, f"n{i:03d}", cpu="100", memory="100Gi")
        assert c.settle(30)
        sched = c.scheduler
        assert sched.next_start == 0
        add_pod(c, "a")
        assert c.settle(10)
        # 200 nodes: 49% is 98, raised to the minimum of 100 feasible nodes
        assert sched.next_start == 100
        first = node_of(c, "a")
        assert first is not None and int(first[1:]) < 100
        add_pod(c, "b")
        assert c.settle(10)
        assert sched.next_start == 0
        second = node_of(c, "b")
        assert second is not None and int(second[1:]) >= 100


def test_same_seed_same_placements() -> None:
    def run() -> dict[str, str | None]:
        with cluster(seed=7) as c:
            for zone in ("a", "b"):
                for i in range(3):
                    add_node(c, f"{zone}{i}", labels={"topology.kubernetes.io/zone": zone})
            with c.paused():
                for i in range(20):
                    add_pod(c, f"p{i}", labels={"app": "x"}, cpu="100m")
            assert c.settle(10)
            return placements(c)

    first, second = run(), run()
    assert first == second
    assert len(set(first.values())) == 6  # and the ties did spread them over every node
