"""The scores: the formulas worked by hand, then each preference on a small cluster."""

from __future__ import annotations

import math

from kubenb.api import kinds
from kubenb.scheduler.cache import NodeInfo
from kubenb.scheduler.plugins import (
    balanced_allocation,
    least_allocated,
    normalize,
    num_feasible_nodes_to_find,
    spread_score,
)
from kubenb.scheduler.resources import pod_requests
from tests.scheduler.util import add_node, add_pod, cluster, node_of, placements

GI = 1024 ** 3


def info(cpu_m: int, mem: int, used_cpu: int = 0, used_mem: int = 0) -> NodeInfo:
    n = NodeInfo("n")
    n.alloc_cpu, n.alloc_mem, n.alloc_pods = cpu_m, mem, 110
    n.req_cpu = n.nz_cpu = used_cpu
    n.req_mem = n.nz_mem = used_mem
    return n


def test_least_allocated_by_hand() -> None:
    # 4 cores / 16Gi with 1 core / 4Gi used; the pod asks 1 core / 4Gi: half of each is left
    assert least_allocated(info(4000, 16 * GI, 1000, 4 * GI), 1000, 4 * GI) == 50
    # cpu (4000-3000)*100//4000 = 25, memory (16-2)*100//16 = 87 (integer division): 56
    assert least_allocated(info(4000, 16 * GI, 2000, 1 * GI), 1000, 1 * GI) == 56
    # more than the node has scores 0 for that resource
    assert least_allocated(info(1000, 16 * GI), 2000, 0) == 50
    # a best-effort pod counts as 100m and 200Mi
    req = pod_requests({"containers": [{"name": "c"}]})
    assert (req.cpu, req.memory, req.nz_cpu, req.nz_memory) == (0, 0, 100, 200 * 1024 ** 2)


def test_balanced_allocation_by_hand() -> None:
    # cpu 2/4 = 0.5, memory 4/16 = 0.25: std 0.125, score int(87.5) = 87
    assert balanced_allocation(info(4000, 16 * GI, 1000, 2 * GI), 1000, 2 * GI) == 87
    assert balanced_allocation(info(4000, 16 * GI), 1000, 4 * GI) == 100
    # fractions are capped at 1
    assert balanced_allocation(info(1000, 16 * GI), 3000, 0) == 50


def test_spread_and_normalization_by_hand() -> None:
    w = math.log(500 + 2)
    assert spread_score([(1, w, 3)]) == round(w + 2)  # 8.22 -> 8
    assert spread_score([(0, w, 3)]) == 2
    assert spread_score([(2, 0.5, 1)]) == 1  # 1.0
    assert spread_score([(1, 0.5, 1)]) == 1  # 0.5 rounds half away from zero
    assert normalize([0, 1, 2], True) == [100, 50, 0]
    assert normalize([0, 0], True) == [100, 100]
    assert normalize([1, 3], False) == [33, 100]


def test_number_of_nodes_to_find() -> None:
    assert num_feasible_nodes_to_find(50) == 50
    assert num_feasible_nodes_to_find(100) == 100
    assert num_feasible_nodes_to_find(1000) == 420  # 50 - 8 = 42 percent
    assert num_feasible_nodes_to_find(5000) == 500  # 10 percent
    assert num_feasible_nodes_to_find(6000) == 300  # 50 - 48 < 5: 5 percent
    assert num_feasible_nodes_to_find(150) == 100  # 49 percent is 73: at least 100


def test_least_allocated_prefers_the_emptier_node() -> None:
    with cluster() as c:
        add_node(c, "busy")
        add_node(c, "idle")
        add_pod(c, "big", cpu="3", nodeSelector={"kubernetes.io/hostname": "busy"})
        assert c.settle(10)
        add_pod(c, "next", cpu="500m", memory="1Gi")
        assert c.settle(10)
        assert node_of(c, "next") == "idle"


def test_prefer_no_schedule_taint_is_avoided_when_possible() -> None:
    with cluster() as c:
        add_node(c, "soft", taints=[{"key": "spot", "effect": "PreferNoSchedule"}])
        add_node(c, "clean")
        for i in range(3):
            add_pod(c, f"p{i}")
        assert c.settle(10)
        assert set(placements(c).values()) == {"clean"}
        # only the tainted node left for a pod that must not use "clean"
        add_pod(c, "forced", nodeSelector={"kubernetes.io/hostname": "soft"})
        assert c.settle(10)
        assert node_of(c, "forced") == "soft"


def test_preferred_node_affinity_wins_over_a_little_load() -> None:
    with cluster() as c:
        add_node(c, "fast", labels={"disk": "ssd"})
        add_node(c, "slow", labels={"disk": "hdd"})
        add_pod(c, "load", cpu="1", nodeSelector={"disk": "ssd"})
        assert c.settle(10)
        pref = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 50, "preference": {"matchExpressions": [
                {"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}}
        add_pod(c, "app", cpu="500m", affinity=pref)
        assert c.settle(10)
        assert node_of(c, "app") == "fast"


def test_preferred_pod_affinity_and_anti_affinity() -> None:
    with cluster() as c:
        for i in range(3):
            add_node(c, f"n{i}")
        add_pod(c, "db", labels={"app": "db"}, cpu="1",
                nodeSelector={"kubernetes.io/hostname": "n1"})
        assert c.settle(10)
        near = {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {
                "labelSelector": {"matchLabels": {"app": "db"}},
                "topologyKey": "kubernetes.io/hostname"}}]}}
        add_pod(c, "client", labels={"app": "client"}, affinity=near)
        away = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {
                "labelSelector": {"matchLabels": {"app": "spread"}},
                "topologyKey": "kubernetes.io/hostname"}}]}}
        for i in range(3):
            add_pod(c, f"s{i}", labels={"app": "spread"}, affinity=away)
        assert c.settle(10)
        got = placements(c)
        assert got["client"] == "n1"
        assert {got[f"s{i}"] for i in range(3)} == {"n0", "n1", "n2"}


def test_schedule_anyway_spread_across_zones() -> None:
    with cluster() as c:
        for zone in ("a", "b"):
            for i in range(2):
                add_node(c, f"{zone}{i}", labels={"topology.kubernetes.io/zone": zone},
                         cpu="1000", memory="1000Gi")
        spread = [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                   "whenUnsatisfiable": "ScheduleAnyway",
                   "labelSelector": {"matchLabels": {"app": "web"}}}]
        for i in range(6):
            add_pod(c, f"w{i}", labels={"app": "web"}, topologySpreadConstraints=spread)
        assert c.settle(10)
        zones = [n[0] for n in placements(c).values() if n]
        assert zones.count("a") == 3 and zones.count("b") == 3


def test_system_default_spreading_for_pods_behind_a_service() -> None:
    def run(with_service: bool) -> list[int]:
        with cluster() as c:
            for i in range(4):
                # huge nodes: LeastAllocated cannot tell them apart, only spreading can
                add_node(c, f"n{i}", cpu="1000", memory="1000Gi")
            if with_service:
                c.client.create(kinds.SERVICES, {
                    "apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": "web", "namespace": "default"},
                    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
            for i in range(8):
                add_pod(c, f"w{i}", labels={"app": "web"})
            assert c.settle(10)
            got = list(placements(c).values())
            return sorted(got.count(f"n{i}") for i in range(4))

    assert run(True) == [2, 2, 2, 2]
    assert run(False) != [2, 2, 2, 2]  # without a Service the ties are drawn at random
