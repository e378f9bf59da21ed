"""Each filter of the default profile, on a small cluster: where pods can and cannot go."""

from __future__ import annotations

from kubenb.api import kinds
from tests.scheduler.util import add_node, add_pod, cluster, node_of, placements, pod_body


def test_cordoned_node_is_skipped_unless_the_pod_tolerates_it() -> None:
    with cluster() as c:
        add_node(c, "cordoned", unschedulable=True)
        add_node(c, "open")
        for i in range(3):
            add_pod(c, f"p{i}")
        add_pod(c, "tolerant", nodeSelector={"kubernetes.io/hostname": "cordoned"},
                tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                              "effect": "NoSchedule"}])
        assert c.settle(10)
        got = placements(c)
        assert got == {"p0": "open", "p1": "open", "p2": "open", "tolerant": "cordoned"}


def test_noschedule_and_noexecute_taints_repel_untolerating_pods() -> None:
    with cluster() as c:
        add_node(c, "gpu", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
        add_node(c, "drain", taints=[{"key": "maint", "effect": "NoExecute"}])
        add_node(c, "plain")
        add_pod(c, "plain-pod")
        add_pod(c, "gpu-pod", nodeSelector={"kubernetes.io/hostname": "gpu"},
                tolerations=[{"key": "dedicated", "operator": "Equal", "value": "gpu",
                              "effect": "NoSchedule"}])
        add_pod(c, "wrong-value", nodeSelector={"kubernetes.io/hostname": "gpu"},
                tolerations=[{"key": "dedicated", "operator": "Equal", "value": "cpu"}])
        add_pod(c, "any", nodeSelector={"kubernetes.io/hostname": "drain"},
                tolerations=[{"operator": "Exists"}])
        c.settle(10)
        got = placements(c)
        assert got["plain-pod"] == "plain"
        assert got["gpu-pod"] == "gpu"
        assert got["wrong-value"] is None
        assert got["any"] == "drain"


def test_a_node_that_is_not_ready_gets_pods_only_if_they_tolerate_not_ready() -> None:
    with cluster() as c:
        add_node(c, "sick", ready="False")
        add_node(c, "lost", ready="Unknown")
        add_pod(c, "normal")
        add_pod(c, "daemon", nodeSelector={"kubernetes.io/hostname": "sick"},
                tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                              "effect": "NoSchedule"}])
        add_pod(c, "wrong-key", nodeSelector={"kubernetes.io/hostname": "lost"},
                tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                              "effect": "NoSchedule"}])
        c.settle(10)
        got = placements(c)
        assert got == {"normal": None, "daemon": "sick", "wrong-key": None}


def test_cpu_memory_and_pod_count_are_checked_against_allocatable() -> None:
    with cluster() as c:
        add_node(c, "small", cpu="1", memory="1Gi", pods="2")
        add_pod(c, "a", cpu="600m")
        add_pod(c, "b", cpu="600m")  # 1.2 cores > 1
        add_pod(c, "c", memory="2Gi")
        add_pod(c, "d")  # no requests: only the pod count limits it
        add_pod(c, "e")
        c.settle(10)
        got = placements(c)
        assert got["a"] == "small"
        assert got["b"] is None
        assert got["c"] is None
        # two pods allowed: a and exactly one of d, e
        assert sorted(x for x in (got["d"], got["e"]) if x) == ["small"]


def test_extended_resources_and_init_containers_and_overhead() -> None:
    with cluster() as c:
        add_node(c, "gpu", cpu="2", extra={"example.com/gpu": "2"})
        add_node(c, "cpu", cpu="2")
        body = pod_body("trainer")
        body["spec"]["containers"][0]["resources"] = {
            "requests": {"example.com/gpu": "2"}, "limits": {"example.com/gpu": "2"}}
        c.client.create(kinds.PODS, body)
        # init container needs 1500m, containers 2 x 200m: the pod needs 1.5 cores
        init = pod_body("init", cpu="200m")
        init["spec"]["containers"].append({"name": "d", "image": "nginx",
                                           "resources": {"requests": {"cpu": "200m"}}})
        init["spec"]["initContainers"] = [{"name": "i", "image": "busybox",
                                           "resources": {"requests": {"cpu": "1500m"}}}]
        init["spec"]["nodeSelector"] = {"kubernetes.io/hostname": "cpu"}
        c.client.create(kinds.PODS, init)
        over = pod_body("over", cpu="400m", nodeSelector={"kubernetes.io/hostname": "cpu"})
        over["spec"]["overhead"] = {"cpu": "200m"}  # 600m with the overhead: does not fit
        c.client.create(kinds.PODS, over)
        c.settle(10)
        got = placements(c)
        assert got["trainer"] == "gpu"
        assert got["init"] == "cpu"
        assert got["over"] is None
        node = c.scheduler.cache.nodes["cpu"]
        assert node.req_cpu == 1500


def test_node_selector_and_required_node_affinity_operators() -> None:
    with cluster() as c:
        add_node(c, "ssd-1", labels={"disk": "ssd", "cores": "16", "zone": "a"})
        add_node(c, "hdd-1", labels={"disk": "hdd", "cores": "4"})
        add_node(c, "bare")

        def affinity(*exprs: dict, fields: list | None = None) -> dict:
            term: dict = {"matchExpressions": list(exprs)}
            if fields:
                term = {"matchFields": fields}
            return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [term]}}}

        add_pod(c, "selector", nodeSelector={"disk": "hdd"})
        add_pod(c, "in", affinity=affinity({"key": "disk", "operator": "In", "values": ["ssd"]}))
        add_pod(c, "notin", affinity=affinity(
            {"key": "disk", "operator": "NotIn", "values": ["ssd", "hdd"]}))
        add_pod(c, "exists", affinity=affinity(
            {"key": "zone", "operator": "Exists"}))
        add_pod(c, "gt", affinity=affinity({"key": "cores", "operator": "Gt", "values": ["8"]}))
        add_pod(c, "lt", affinity=affinity({"key": "cores", "operator": "Lt", "values": ["8"]}))
        add_pod(c, "absent", affinity=affinity(
            {"key": "cores", "operator": "DoesNotExist"}))
        add_pod(c, "by-name", affinity=affinity(fields=[
            {"key": "metadata.name", "operator": "In", "values": ["hdd-1"]}]))
        add_pod(c, "nowhere", affinity=affinity(
            {"key": "disk", "operator": "In", "values": ["nvme"]}))
        c.settle(10)
        assert placements(c) == {"selector": "hdd-1", "in": "ssd-1", "notin": "bare",
                                 "exists": "ssd-1", "gt": "ssd-1", "lt": "hdd-1",
                                 "absent": "bare", "by-name": "hdd-1", "nowhere": None}


def test_host_ports_are_not_shared() -> None:
    with cluster() as c:
        add_node(c, "only")
        for name in ("a", "b"):
            body = pod_body(name)
            body["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080}]
            c.client.create(kinds.PODS, body)
        c.settle(10)
        assert sorted(v or "" for v in placements(c).values()) == ["", "only"]


def test_required_pod_anti_affinity_puts_one_replica_per_node() -> None:
    with cluster() as c:
        for i in range(3):
            add_node(c, f"n{i}")
        anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"app": "db"}},
            "topologyKey": "kubernetes.io/hostname"}]}}
        for i in range(4):
            add_pod(c, f"db{i}", labels={"app": "db"}, affinity=anti)
        c.settle(10)
        got = placements(c)
        nodes = [n for n in got.values() if n]
        assert len(nodes) == 3 and len(set(nodes)) == 3
        assert list(got.values()).count(None) == 1


def test_existing_pods_anti_affinity_keeps_others_away() -> None:
    with cluster() as c:
        add_node(c, "n0", labels={"zone": "a"})
        add_node(c, "n1", labels={"zone": "a"})
        add_node(c, "n2", labels={"zone": "b"})
        loner = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"role": "noisy"}}, "topologyKey": "zone"}]}}
        add_pod(c, "loner", labels={"role": "quiet"}, affinity=loner,
                nodeSelector={"kubernetes.io/hostname": "n0"})
        assert c.settle(10)
        for i in range(3):
            add_pod(c, f"noisy{i}", labels={"role": "noisy"})
        assert c.settle(10)
        assert {placements(c)[f"noisy{i}"] for i in range(3)} == {"n2"}


def test_required_pod_affinity_follows_the_matching_pods_topology() -> None:
    with cluster() as c:
        add_node(c, "a1", labels={"zone": "a"})
        add_node(c, "a2", labels={"zone": "a"})
        add_node(c, "b1", labels={"zone": "b"})
        add_node(c, "nozone")
        add_pod(c, "cache", labels={"app": "cache"}, nodeSelector={"kubernetes.io/hostname": "b1"})
        assert c.settle(10)
        near = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "zone"}]}}
        for i in range(3):
            add_pod(c, f"web{i}", labels={"app": "web"}, affinity=near)
        # the first of a group with affinity to itself may go anywhere with the label
        self_aff = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"app": "solo"}}, "topologyKey": "zone"}]}}
        add_pod(c, "solo", labels={"app": "solo"}, affinity=self_aff)
        # other namespaces are not looked at unless the term says so
        other = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "zone",
            "namespaces": ["elsewhere"]}]}}
        add_pod(c, "stranger", affinity=other)
        c.settle(10)
        got = placements(c)
        assert {got[f"web{i}"] for i in range(3)} == {"b1"}
        assert got["solo"] in ("a1", "a2", "b1")
        assert got["stranger"] is None


def test_topology_spread_do_not_schedule_with_max_skew() -> None:
    with cluster() as c:
        add_node(c, "a1", labels={"zone": "a"})
        add_node(c, "b1", labels={"zone": "b"})
        add_node(c, "nolabel")
        spread = [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
                   "labelSelector": {"matchLabels": {"app": "web"}}}]
        # a pod already in zone a: the next must go to b, then either
        add_pod(c, "seed", labels={"app": "web"}, nodeSelector={"zone": "a"})
        assert c.settle(10)
        add_pod(c, "w1", labels={"app": "web"}, topologySpreadConstraints=spread)
        assert c.settle(10)
        assert node_of(c, "w1") == "b1"
        add_pod(c, "w2", labels={"app": "web"}, topologySpreadConstraints=spread)
        add_pod(c, "w3", labels={"app": "web"}, topologySpreadConstraints=spread)
        assert c.settle(10)
        zones = {"a1": "a", "b1": "b"}
        got = placements(c)
        counts = {"a": 0, "b": 0}
        for name in ("seed", "w1", "w2", "w3"):
            counts[zones[got[name]]] += 1
        assert counts == {"a": 2, "b": 2}  # never the unlabelled node, skew stays <= 1


def test_topology_spread_min_domains_counts_missing_domains_as_zero() -> None:
    with cluster() as c:
        add_node(c, "a1", labels={"zone": "a"})
        add_node(c, "a2", labels={"zone": "a"})
        spread = [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
                   "minDomains": 2, "labelSelector": {"matchLabels": {"app": "web"}}}]
        for i in range(3):
            add_pod(c, f"w{i}", labels={"app": "web"}, topologySpreadConstraints=spread)
        c.settle(10)
        # one domain only (< minDomains): the global minimum is 0, so zone a takes 1 pod
        got = placements(c)
        assert sum(1 for n in got.values() if n) == 1
