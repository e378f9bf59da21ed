"""Control-plane benchmarks: convergence speed, memory at scale, and the notebook's latency.

Three figures, each from a fresh in-process cluster on the ``max`` (virtual) clock, no HTTP:

``converge``  a Deployment of ``--replicas`` (10,000) on ``--nodes`` (5,000) simulated nodes: wall
              time from the create until every pod is Running and Ready and the Deployment reports
              them available, as pods/s. Goal: >= 2,000 pods/s. The nodes are registered before the
              clock starts (that is cluster start-up, not convergence).
``memory``    RSS of the process holding ``--nodes`` (5,000) nodes and ``--pods`` (150,000) running
              pods (Deployments of 1,000 replicas each), after convergence. Goal: <= 3 GB.
``latency``   the notebook case: the main thread asks for a 1 ms sleep in a loop while the engine
              converges ``--replicas`` pods in its thread; the figure is how much later than asked
              each wake-up comes (p50/p99/max), beside the same loop with the engine idle. Goal:
              p99 added delay <= 2 ms. The engine sets the interpreter's switch interval to
              0.25 ms while it runs (``Manager(switch_interval=)``; Python's default is 5 ms);
              ``--switch-interval`` overrides it to compare choices.

Run from the repository root: ``.venv/bin/python -m bench.control_plane converge`` (or ``memory``,
``latency``, ``all``). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubenb import Cluster
from kubenb.api import kinds

__all__ = ["converge", "latency", "main", "memory"]


def deployment(name: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{
                                  "name": "app", "image": "nginx:1.27",
                                  "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                                  "ports": [{"containerPort": 80}]}]}}},
    }


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


#: --gc-threshold: the cycle collector's young-generation threshold to run with instead of the
#: engine's (kubenb.runtime.manager.GC_THRESHOLD); the engine restores the old one when it stops
GC_YOUNG: int | None = None


def _cluster(nodes: int) -> tuple[Cluster, float]:
    t0 = time.perf_counter()
    cluster = Cluster(nodes=nodes, speed="max", serve=False, seed=1,
                      history=20_000).start()
    if GC_YOUNG is not None:
        gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
    report = cluster.settle(600)
    assert report.idle, str(report)
    return cluster, time.perf_counter() - t0


def _ready(cluster: Cluster, name: str, replicas: int) -> bool:
    status = cluster.client.get(kinds.DEPLOYMENTS, name, "default").get("status") or {}
    return (status.get("availableReplicas") == replicas
            and status.get("updatedReplicas") == replicas)


def converge(nodes: int, replicas: int) -> dict[str, float]:
    cluster, startup = _cluster(nodes)
    try:
        sim0 = cluster.clock.now()
        writes0 = dict(cluster.store.counters)
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        cluster.client.create(kinds.DEPLOYMENTS, deployment("web", replicas))
        report = cluster.settle(3600)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        ok = _ready(cluster, "web", replicas)
        running = sum(1 for p in cluster.client.list(kinds.PODS, "default").items
                      if (p.get("status") or {}).get("phase") == "Running")
        writes = {k: cluster.store.counters[k] - writes0[k] for k in writes0}
        out = {"nodes": nodes, "replicas": replicas, "gc_young": gc.get_threshold()[0],
               "startup_s": round(startup, 2),
               "converge_s": round(elapsed, 3), "pods_per_s": round(replicas / elapsed, 1),
               "cpu_s": round(cpu, 2), "simulated_s": round(cluster.clock.now() - sim0, 1),
               "running": running, "available": ok, "settled": bool(report.idle),
               "reconciles": cluster.manager.reconciles, **{f"{k}s": v for k, v in writes.items()}}
        print("converge " + "  ".join(f"{k}={v}" for k, v in out.items()), flush=True)
        return out
    finally:
        cluster.stop()


def memory(nodes: int, pods: int, per_deployment: int = 1000) -> dict[str, float]:
    gc.collect()
    base = _rss_mb()
    cluster, startup = _cluster(nodes)
    try:
        after_nodes = _rss_mb()
        print(f"memory: {nodes} nodes registered in {startup:.1f}s, RSS {after_nodes:.0f} MB",
              flush=True)
        t0 = time.perf_counter()
        made = 0
        i = 0
        while made < pods:
            n = min(per_deployment, pods - made)
            cluster.client.create(kinds.DEPLOYMENTS, deployment(f"app-{i}", n))
            made += n
            i += 1
            if i % 10 == 0:
                cluster.settle(3600)
        report = cluster.settle(3600)
        elapsed = time.perf_counter() - t0
        gc.collect()
        rss = _rss_mb()
        running = cluster.store.count(kinds.PODS)
        out = {"nodes": nodes, "pods": running, "gc_young": gc.get_threshold()[0],
               "rss_mb": round(rss, 1),
               "rss_before_mb": round(base, 1), "rss_nodes_only_mb": round(after_nodes, 1),
               "kb_per_pod": round((rss - after_nodes) * 1024 / max(1, running), 2),
               "converge_s": round(elapsed, 1), "settled": bool(report.idle)}
        print("memory " + "  ".join(f"{k}={v}" for k, v in out.items()), flush=True)
        return out
    finally:
        cluster.stop()


def _sleep_lateness(stop: threading.Event, samples: list[float], interval: float = 0.001,
                    limit: int = 200_000) -> None:
    while not stop.is_set() and len(samples) < limit:
        t = time.perf_counter()
        time.sleep(interval)
        samples.append(time.perf_counter() - t - interval)


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return {"n": len(ordered), "p50_ms": round(pct(0.5), 3), "p99_ms": round(pct(0.99), 3),
            "max_ms": round(ordered[-1] * 1000, 3), "mean_ms": round(
                statistics.fmean(ordered) * 1000, 3)}


def latency(nodes: int, replicas: int, switch_interval: float | None) -> dict[str, Any]:
    old = sys.getswitchinterval()
    cluster, _ = _cluster(nodes)
    if switch_interval is not None:
        cluster.manager.switch_interval = None
        sys.setswitchinterval(switch_interval)
    try:
        idle: list[float] = []
        stop = threading.Event()
        timer = threading.Timer(2.0, stop.set)
        timer.start()
        _sleep_lateness(stop, idle)
        busy: list[float] = []
        stop = threading.Event()
        cluster.client.create(kinds.DEPLOYMENTS, deployment("web", replicas))
        done = threading.Event()

        def wait() -> None:
            cluster.settle(3600)
            done.set()
            stop.set()

        threading.Thread(target=wait, daemon=True).start()
        t0 = time.perf_counter()
        _sleep_lateness(stop, busy)
        elapsed = time.perf_counter() - t0
        done.wait()
        out = {"switch_interval_ms": round(sys.getswitchinterval() * 1000, 3),
               "gc_young": gc.get_threshold()[0],
               "engine_converge_s": round(elapsed, 2),
               "idle": _percentiles(idle), "busy": _percentiles(busy)}
        out["added_p99_ms"] = round(out["busy"]["p99_ms"] - out["idle"]["p99_ms"], 3)
        print(f"latency switch-interval={out['switch_interval_ms']}ms "
              f"gc-young={out['gc_young']} "
              f"engine={out['engine_converge_s']}s  idle {out['idle']}  busy {out['busy']}  "
              f"added-p99={out['added_p99_ms']}ms", flush=True)
        return out
    finally:
        cluster.stop()
        sys.setswitchinterval(old)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["converge", "memory", "latency", "all"])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--replicas", type=int, default=10_000)
    parser.add_argument("--pods", type=int, default=150_000)
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="sys.setswitchinterval for the latency run, in seconds")
    parser.add_argument("--gc-threshold", type=int, default=None,
                        help="the cycle collector's young-generation threshold while the engine "
                        "runs (default: the engine's own)")
    args = parser.parse_args(argv)
    global GC_YOUNG
    GC_YOUNG = args.gc_threshold
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    if args.what in ("converge", "all"):
        converge(args.nodes, args.replicas)
    if args.what in ("latency", "all"):
        latency(args.nodes, args.replicas, args.switch_interval)
    if args.what in ("memory", "all"):
        memory(args.nodes, args.pods)
    return 0


if __name__ == "__main__":
    sys.exit(main())
