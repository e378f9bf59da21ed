"""The incremental fast path decides exactly as the plugin-by-plugin cycle does.

On random clusters (node sizes, zones, taints, readiness, cordons, labels) and random pods
(requests or none, node selectors, tolerations, preferred affinity, behind a Service or not),
each pod is scheduled twice from the same start index and random state, once by each path;
the node, the next start index and the random generator's state must agree. Pods are then
assumed onto their nodes, and now and then one is removed or a node relabelled, so the fast
path's change log is exercised too.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from kubenb.api import kinds
from tests.scheduler.util import add_node, cluster, pod_body

Obj = dict[str, Any]
ZONE = "topology.kubernetes.io/zone"


def templates() -> list[Obj]:
    prefer = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 30, "preference": {"matchExpressions": [
            {"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}}
    tolerate = [{"key": "spot", "operator": "Exists"}]
    return [
        pod_body("t", labels={"app": "web"}, cpu="100m", memory="128Mi"),
        pod_body("t", labels={"app": "web"}),
        pod_body("t", labels={"app": "web"}, cpu="900m", memory="3Gi", affinity=prefer),
        pod_body("t", labels={"app": "batch"}, cpu="1500m", tolerations=tolerate),
        pod_body("t", labels={"app": "batch"}, memory="1Gi", nodeSelector={"disk": "hdd"}),
        pod_body("t", labels={"app": "web"}, cpu="250m", affinity=prefer, tolerations=tolerate),
    ]


def build(c: Any, rnd: random.Random, n: int) -> None:
    with c.paused():
        for i in range(n):
            labels = {"disk": rnd.choice(["ssd", "hdd"])}
            if rnd.random() < 0.7:
                labels[ZONE] = rnd.choice(["z1", "z2", "z3"])
            taints = []
            if rnd.random() < 0.1:
                taints.append({"key": "spot", "effect": rnd.choice(["NoSchedule",
                                                                     "PreferNoSchedule"])})
            if rnd.random() < 0.1:
                taints.append({"key": "soft", "effect": "PreferNoSchedule"})
            if rnd.random() < 0.05:  # (a NotReady node would start the lifecycle's timers)
                taints.append({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"})
            add_node(c, f"n{i:03d}", cpu=rnd.choice(["2", "4", "8"]),
                     memory=rnd.choice(["4Gi", "8Gi", "16Gi"]),
                     pods=rnd.choice(["4", "110"]), labels=labels, taints=taints,
                     unschedulable=rnd.random() < 0.05)
        c.client.create(kinds.SERVICES, {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})


@pytest.mark.parametrize(("seed", "nodes", "pods"), [(1, 7, 60), (2, 130, 400), (3, 260, 600)])
def test_fast_path_agrees_with_the_plugins(seed: int, nodes: int, pods: int) -> None:
    rnd = random.Random(seed)
    with cluster() as c:
        build(c, rnd, nodes)
        assert c.settle(30)
        sched = c.scheduler
        assert all(n.taints == () or n.taints[0].key != "node.kubernetes.io/unreachable"
                   for n in sched.cache.order)
        bound: list[Any] = []
        shapes = templates()
        with c.paused():  # the engine is held: the test drives the algorithm itself
            for k in range(pods):
                body = copy.deepcopy(rnd.choice(shapes))
                body["metadata"]["name"] = f"p{k}"
                body["metadata"]["uid"] = f"uid-{k}"
                shape = sched.shape(body)
                saved = (sched.next_start, sched.rng.getstate())
                sched.fast_path = True
                fast, fast_failure = sched.schedule(shape)
                after = (sched.next_start, sched.rng.getstate())
                sched.next_start = saved[0]
                sched.rng.setstate(saved[1])
                sched.fast_path = False
                ref, ref_failure = sched.schedule(shape)
                assert (fast and fast.name, after[0]) == (ref and ref.name, sched.next_start), k
                assert after[1] == sched.rng.getstate(), k
                if fast_failure is not None:
                    assert ref_failure is not None
                    assert fast_failure.message(sched.cache) == ref_failure.message(sched.cache)
                if ref is not None:
                    bound.append(sched.cache.add_pod(body, ref.name, shape))
                if bound and rnd.random() < 0.1:
                    sched.cache.remove_pod(bound.pop(rnd.randrange(len(bound))))
                if rnd.random() < 0.02:
                    name = f"n{rnd.randrange(nodes):03d}"
                    node = copy.deepcopy(c.client.get(kinds.NODES, name))
                    node["metadata"]["labels"]["disk"] = rnd.choice(["ssd", "hdd"])
                    sched.cache.set_node(node)
                if rnd.random() < 0.02:  # a node joins (at the end, or into a zone)
                    node = copy.deepcopy(c.client.get(kinds.NODES, "n000"))
                    name = f"extra{k}"
                    node["metadata"]["name"] = name
                    node["metadata"]["labels"]["kubernetes.io/hostname"] = name
                    if rnd.random() < 0.5:
                        node["metadata"]["labels"].pop(ZONE, None)
                    sched.cache.set_node(node)
        assert sched.stats["fast"] > pods // 3
        assert len(bound) > pods // 4
