"""Resident memory per stored pod, with 100,000 Running pods in a fresh process.

The goal (from the project's issue): at most 20 KB of RSS per stored pod. A notebook kernel that
holds a 100k-pod simulation must not need gigabytes, and what a pod costs is decided by how the
store keeps it (the served JSON bytes, plus labels and selectable fields it reads without
parsing) and by the watch history (the bytes of recent versions).

How: a spawned child, so nothing the benchmark imported or allocated before counts, starts
``Cluster(nodes=3)`` (HTTPS server included, as in a kernel), writes 200 warm-up pods so every
lazily built thing (schemas, validators, caches) exists, collects garbage and reads ``VmRSS``
from ``/proc/self/status``; then writes N more pods (``bench.pods``: create + bind + kubelet
status patch each, through the endpoints, no HTTP), collects again and reads ``VmRSS`` again.
KB/pod is the difference over N. It also reports the peak (``VmHWM``), and, to say where the
memory goes, the average size of a pod's stored JSON and how much the watch history holds
beyond the live objects (older versions of recently written pods; bounded by the Cluster's
``history``, 50,000 events by default).

Run from the repository root: ``.venv/bin/python -m bench.memory [--pods 100000] [--fast]``
(``--fast``: one store write per pod instead of three endpoint writes; same stored bytes, and a
history that holds no older versions).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run by path (python bench/memory.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

__all__ = ["GOAL_KB_PER_POD", "main", "measure"]

GOAL_KB_PER_POD = 20.0
WARMUP_PODS = 200


def _status_kb(field: str) -> int:
    """A ``VmRSS``-style line of ``/proc/self/status``, in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _child(conn: Connection, pods: int, fast: bool) -> None:
    """Spawned-process entry: build the cluster, measure, send a dict of figures."""
    try:
        conn.send(_measure_here(pods, fast))
    except BaseException as exc:  # report instead of leaving the parent waiting
        conn.send(RuntimeError(repr(exc)))
    finally:
        conn.close()


def _measure_here(pods: int, fast: bool) -> dict[str, Any]:
    from bench.pods import populate
    from kubenb import Cluster

    rss_start = _status_kb("VmRSS")
    cluster = Cluster(nodes=3, controllers=False).start()  # the store's cost, not the kubelets'

    try:
        populate(cluster, WARMUP_PODS, fast=fast)
        gc.collect()
        rss_before = _status_kb("VmRSS")
        began = time.perf_counter()
        populate(cluster, pods, fast=fast, start=WARMUP_PODS)
        took = time.perf_counter() - began
        gc.collect()
        rss_after = _status_kb("VmRSS")
        peak = _status_kb("VmHWM")
        rt = cluster.registry.get("", "v1", "pods")
        assert rt is not None
        live = cluster.store.list(rt).items
        live_ids = {id(raw) for raw in live}
        json_bytes = sum(len(raw) for raw in live)
        # The history is private to the store; read here only to attribute memory.
        history = list(cluster.store._history)
        extra = {id(ev.raw): len(ev.raw) for ev in history if id(ev.raw) not in live_ids}
        return {
            "pods": pods, "stored": len(live), "seconds": took,
            "rss_start_kb": rss_start, "rss_before_kb": rss_before, "rss_after_kb": rss_after,
            "peak_kb": peak, "json_bytes_avg": json_bytes / len(live),
            "history_events": len(history), "history_extra_bytes": sum(extra.values()),
        }
    finally:
        cluster.stop()


def measure(*, pods: int = 100_000, fast: bool = False) -> dict[str, Any]:
    """Run the measurement in a fresh spawned process; print and return the figures."""
    one, five, _ = os.getloadavg()
    print(f"memory: {pods} Running pods in a fresh process "
          f"({'one store write each' if fast else 'create + bind + status patch each'}); "
          f"load avg {one:.2f}/{five:.2f}", flush=True)
    ctx = multiprocessing.get_context("spawn")
    parent_end, child_end = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(child_end, pods, fast), daemon=True)
    process.start()
    child_end.close()
    try:
        result = parent_end.recv()
    except EOFError:
        raise RuntimeError(f"the measuring process died (exit code {process.exitcode}); "
                           "out of memory?") from None
    finally:
        process.join(60)
        parent_end.close()
    if isinstance(result, BaseException):
        raise result
    delta_kb = result["rss_after_kb"] - result["rss_before_kb"]
    per_pod = delta_kb / pods
    result["kb_per_pod"] = per_pod
    result["goal_met"] = per_pod <= GOAL_KB_PER_POD
    mb = 1 / 1024
    print(f"  rss: process start {result['rss_start_kb'] * mb:.0f}MB, cluster + "
          f"{WARMUP_PODS} warm-up pods {result['rss_before_kb'] * mb:.0f}MB, after "
          f"{pods} more pods {result['rss_after_kb'] * mb:.0f}MB (peak "
          f"{result['peak_kb'] * mb:.0f}MB); wrote them in {result['seconds']:.0f}s", flush=True)
    print(f"  stored JSON {result['json_bytes_avg'] / 1024:.1f}KB/pod; watch history "
          f"{result['history_events']} events holding "
          f"{result['history_extra_bytes'] / 1024 / pods:.1f}KB/pod of older versions", flush=True)
    print(f"memory {pods} pods: rss delta={delta_kb * mb:.0f}MB  KB/pod={per_pod:.1f}  goal: "
          f"<= {GOAL_KB_PER_POD:.0f} KB/pod -> {'MET' if result['goal_met'] else 'NOT MET'}",
          flush=True)
    return result


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pods", type=int, default=100_000)
    parser.add_argument("--fast", action="store_true",
                        help="one store write per pod instead of three endpoint writes")
    args = parser.parse_args(argv)
    measure(pods=args.pods, fast=args.fast)


if __name__ == "__main__":
    main()
