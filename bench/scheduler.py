"""Scheduler throughput: pods bound per second on a large cluster, in process.

Builds ``Cluster(nodes=0, speed="max", serve=False, controllers=True)``, creates ``--nodes``
static Ready nodes through the client (names no simulated kubelet manages, so nothing runs on
them), a Service selecting the pods (so the system default topology spreading applies, as for a
Deployment behind a Service), then ``--pods`` pending pods while the engine is paused. The
clock starts when the engine is let go and stops when ``settle`` returns; every pod must then be
bound.

Printed: pods bound per second end to end (the scheduling loop, ``pods/binding`` through the
embedded apiserver, the ``Scheduled`` event, informers and every other controller's reaction),
the same per second of process CPU time (a figure a busy machine does not distort), and the
scheduler's own share per pod split into the algorithm (filter and score), the bind call and
the event write (wall time). ``--algorithm`` measures the algorithm alone, without API calls.
Never asserts on time. Run from the repository root::

    .venv/bin/python -m bench.scheduler                  # 5,000 nodes, 10,000 pods
    .venv/bin/python -m bench.scheduler --nodes 500 --pods 2000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run by path: make `kubenb` and `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubenb.api import kinds
from kubenb.cluster import Cluster

__all__ = ["main", "run"]

Obj = dict[str, Any]
NOW = "2026-01-01T00:00:00Z"


def node_body(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  "kubernetes.io/os": "linux"}},
            "spec": {}}


def node_status(cpu: str, memory: str, pods: str) -> Obj:
    resources = {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "100Gi"}
    return {"capacity": resources, "allocatable": dict(resources),
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status",
                            "lastHeartbeatTime": NOW, "lastTransitionTime": NOW}]}


def pod_body(i: int) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"web-{i:06d}", "namespace": "default",
                         "labels": {"app": "web", "pod-template-hash": "7d4b9c8f6d"}},
            "spec": {"containers": [{
                "name": "web", "image": "nginx:1.27",
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                              "limits": {"memory": "256Mi"}}}]}}


def _populate(cluster: Cluster, nodes: int) -> None:
    """``nodes`` Ready nodes (4 CPUs, 16Gi, 110 pods) and the Service the pods belong to."""
    client = cluster.client
    with cluster.paused():
        for i in range(nodes):
            node = client.create(kinds.NODES, node_body(f"bench-node-{i:05d}"))
            node["status"] = node_status("4", "16Gi", "110")
            client.replace_status(kinds.NODES, node)
        client.create(kinds.SERVICES, {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    assert cluster.settle(120), "nodes did not settle"


def run(nodes: int, pods: int, *, profile: bool = False) -> dict[str, float]:
    with Cluster(nodes=0, speed="max", serve=False, controllers=True, seed=1) as cluster:
        client = cluster.client
        t0 = time.perf_counter()
        _populate(cluster, nodes)
        t1 = time.perf_counter()
        with cluster.paused():
            for i in range(pods):
                client.create(kinds.PODS, pod_body(i))
        t2 = time.perf_counter()
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:  # the engine thread does the work: profile its steps
            step = cluster.manager._step

            def profiled_step() -> bool:
                profiler.enable()
                try:
                    return step()
                finally:
                    profiler.disable()

            cluster.manager._step = profiled_step  # type: ignore[method-assign]
        start, cpu = time.perf_counter(), time.process_time()
        report = cluster.settle(600)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        bound = sum(1 for p in client.list(kinds.PODS, "default").items
                    if (p.get("spec") or {}).get("nodeName"))
        stats = dict(cluster.scheduler.stats)
        per_node: dict[str, int] = {}
        for p in cluster.scheduler.cache.pods.values():
            per_node[p.node] = per_node.get(p.node, 0) + 1
    if profiler is not None:
        out = Path(__file__).resolve().parent / "results"
        out.mkdir(exist_ok=True)
        path = out / f"scheduler-{nodes}n-{pods}p.prof"
        profiler.dump_stats(path)
        pstats.Stats(str(path)).sort_stats("cumulative").print_stats(45)
    scheduled = max(1.0, stats["scheduled"])
    return {
        "nodes": nodes, "pods": pods, "bound": bound, "settled": bool(report),
        "node_setup_s": t1 - t0, "pod_create_s": t2 - t1, "schedule_s": elapsed,
        "pods_per_s": bound / elapsed if elapsed else 0.0,
        "pods_per_cpu_s": bound / cpu if cpu else 0.0,
        "algorithm_us": stats["algorithm_s"] / scheduled * 1e6,
        "bind_us": stats["bind_s"] / scheduled * 1e6,
        "event_us": stats["event_s"] / scheduled * 1e6,
        "fast": stats["fast"], "reference": stats["reference"],
        "max_per_node": max(per_node.values(), default=0),
        "min_per_node": min(per_node.values(), default=0) if len(per_node) == nodes else 0,
    }


def run_algorithm(nodes: int, pods: int) -> dict[str, float]:
    """The scheduler's own share: ``Scheduler.schedule`` plus the assume step, per pod, on the
    same cluster, with no API call (the engine is held paused meanwhile)."""
    with Cluster(nodes=0, speed="max", serve=False, controllers=True, seed=1) as cluster:
        _populate(cluster, nodes)
        sched = cluster.scheduler
        bodies = []
        for i in range(pods):
            body = pod_body(i)
            body["metadata"]["uid"] = f"00000000-0000-0000-0000-{i:012d}"
            bodies.append(body)
        with cluster.paused():
            start, cpu = time.perf_counter(), time.thread_time()
            for body in bodies:
                shape = sched.shape(body)
                node, failure = sched.schedule(shape)
                assert node is not None, failure
                sched.cache.add_pod(body, node.name, shape)
            elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu
    return {"nodes": nodes, "pods": pods, "us_per_pod": elapsed / pods * 1e6,
            "cpu_us_per_pod": cpu / pods * 1e6, "pods_per_s": pods / elapsed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--profile", action="store_true",
                        help="profile the scheduling phase (bench/results/*.prof)")
    parser.add_argument("--algorithm", action="store_true",
                        help="only the scheduling algorithm and assume step, no API calls")
    args = parser.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    if args.algorithm:
        a = run_algorithm(args.nodes, args.pods)
        print(f"algorithm only: {a['us_per_pod']:.0f}us per pod wall, "
              f"{a['cpu_us_per_pod']:.0f}us CPU ({a['pods_per_s']:.0f} pods/s) "
              f"on {a['nodes']} nodes, {a['pods']} pods")
        return 0
    r = run(args.nodes, args.pods, profile=args.profile)
    print(f"nodes={r['nodes']} pods={r['pods']} bound={r['bound']} settled={r['settled']}")
    print(f"setup: nodes {r['node_setup_s']:.1f}s, pod creates {r['pod_create_s']:.1f}s "
          "(not counted)")
    print(f"scheduler pods/s={r['pods_per_s']:.0f} ({r['schedule_s']:.2f}s for {r['bound']} "
          f"pods, end to end in process); pods per CPU second={r['pods_per_cpu_s']:.0f} "
          "(what an idle core would give)")
    print(f"per pod: algorithm {r['algorithm_us']:.0f}us, bind {r['bind_us']:.0f}us, "
          f"event {r['event_us']:.0f}us (fast path {r['fast']:.0f}, "
          f"reference {r['reference']:.0f})")
    print(f"spread: {r['min_per_node']}..{r['max_per_node']} pods per node")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
