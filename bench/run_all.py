"""Run every goal benchmark in turn and print one summary table.

The three goals of the project's issue, each measured by its own script (read their docstrings
for how and why): ``bench.creates`` (creates/s over TLS and the ratio to a bare aiohttp handler),
``bench.list_pods`` (server-side LIST latency of 10,000 pods) and ``bench.memory`` (RSS per stored
pod with 100,000 pods). They run one after another, never in parallel: the machine has two cores
and each benchmark needs them. Each prints its own lines as it goes; the table at the end repeats
the headline figures with their goals. A benchmark that fails is reported in the table and the
others still run.

Run from the repository root: ``.venv/bin/python -m bench.run_all`` (about 8 minutes), or
``--quick`` for shorter runs and fewer pods (about 3 minutes; the figures are noisier and the
memory figure is for 20,000 pods, where the watch history weighs more per pod).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run by path (python bench/run_all.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import creates, list_pods, memory

__all__ = ["main", "summary_rows"]

Row = tuple[str, str, str, str]  # (what, measured, goal, verdict)


def _verdict(met: bool | None) -> str:
    return "-" if met is None else ("MET" if met else "NOT MET")


def summary_rows(results: dict[str, Any]) -> list[Row]:
    """The table's rows from each benchmark's returned figures (or its exception)."""
    rows: list[Row] = []
    c = results.get("creates")
    if isinstance(c, dict):
        rows.append(("creates/s kubenb TLS, ConfigMap",
                     f"{c['configmap']:.0f}/s  {c['configmap_ratio']:.2f}x bare",
                     f">= {creates.GOAL_CREATES_PER_S:.0f}/s and >= {creates.GOAL_RATIO}x bare",
                     _verdict(c["goal_met"])))
        rows.append(("creates/s kubenb TLS, Pod",
                     f"{c['pod']:.0f}/s  {c['pod_ratio']:.2f}x bare", "(information)", "-"))
        rows.append(("creates/s bare aiohttp TLS", f"{c['bare']:.0f}/s", "(the limit)", "-"))
        if c.get("kmock") is not None:
            rows.append(("creates/s kmock TLS", f"{c['kmock']:.0f}/s", "(baseline)", "-"))
    elif c is not None:
        rows.append(("creates/s", f"failed: {c!r}"[:60], "", "ERROR"))
    lp = results.get("list")
    if isinstance(lp, dict):
        head = lp[list_pods.CASES[0][0]]
        rows.append(("LIST 10k pods JSON, server-side",
                     f"p50 {head['handler_p50_ms']:.0f}ms  p90 {head['handler_p90_ms']:.0f}ms",
                     f"p50 <= {list_pods.GOAL_P50_MS:.0f}ms", _verdict(lp["goal_met"])))
        rows.append(("LIST 10k pods JSON, round trip",
                     f"p50 {head['round_trip_p50_ms']:.0f}ms  "
                     f"server cpu {head['cpu_per_request_ms']:.0f}ms/req", "(information)", "-"))
        for label, _, _ in list_pods.CASES[2:]:
            case = lp[label]
            rows.append((f"LIST {label}, server-side", f"p50 {case['handler_p50_ms']:.0f}ms",
                         "(information)", "-"))
    elif lp is not None:
        rows.append(("LIST", f"failed: {lp!r}"[:60], "", "ERROR"))
    m = results.get("memory")
    if isinstance(m, dict):
        rows.append((f"memory, {m['pods']} pods", f"{m['kb_per_pod']:.1f} KB/pod",
                     f"<= {memory.GOAL_KB_PER_POD:.0f} KB/pod", _verdict(m["goal_met"])))
    elif m is not None:
        rows.append(("memory", f"failed: {m!r}"[:60], "", "ERROR"))
    return rows


def _run(name: str, fn: Callable[[], dict[str, Any]], results: dict[str, Any]) -> None:
    print(f"\n=== {name}", flush=True)
    began = time.perf_counter()
    try:
        results[name] = fn()
    except Exception as exc:  # one broken benchmark must not hide the others' figures
        traceback.print_exc()
        results[name] = exc
    print(f"=== {name} took {time.perf_counter() - began:.0f}s", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks, then print the summary table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer pods")
    parser.add_argument("--no-kmock", action="store_true")
    args = parser.parse_args(argv)
    quick = args.quick
    results: dict[str, Any] = {}
    _run("creates", lambda: creates.measure(
        seconds=4.0 if quick else 8.0, kmock=not args.no_kmock,
        profile_seconds=2.0 if quick else 4.0, rounds=1 if quick else 3), results)
    _run("list", lambda: list_pods.measure(
        requests=20 if quick else 50, fast=quick), results)
    _run("memory", lambda: memory.measure(
        pods=20_000 if quick else 100_000, fast=False), results)

    rows = summary_rows(results)
    header: Row = ("benchmark", "measured", "goal", "verdict")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    one, five, _ = os.getloadavg()
    print(f"\nsummary ({'quick' if quick else 'full'} run; load avg now {one:.2f}/{five:.2f} on "
          f"{os.cpu_count()} cpus)")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
