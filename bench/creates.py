"""creates/s through kubenb's HTTPS API, beside the bare-handler limit and kmock, in one run.

The goal (from the project's issue): at least 5,000 creates/s over TLS, and at least half of what
a bare aiohttp handler over TLS manages on the same machine under the same load. Both figures are
measured here back to back, because the machine is shared and its speed drifts from run to run:
a ratio of two runs minutes apart would measure the drift. Even back to back, a neighbour's load
moves one run by a third, so the pair is measured ``--rounds`` times (3), alternating, and the
figures are the medians (every run is printed).

What runs, each server in its own spawned process (``bench.kubenb_server``), each driven by the
same wrk script (``bench.loadgen``; a unique name per request, every non-2xx a failure):

* ``bare-aiohttp-tls``: ``bench.http_stacks``'s ``aiohttp-lowlevel`` stack (aiohttp's
  ``web.Server`` in a thread with its own uvloop loop, the stack kubenb's server runs on):
  read, parse, check the token, answer 201,
* ``kubenb-tls`` with a ConfigMap body and with a Pod body (a ReplicaSet-style pod, see
  ``bench.pods``), POSTed without query parameters as the official Python client does, so the
  server validates the body against the schema (``fieldValidation`` defaults to Warn),
* ``kmock-tls``: kmock's ``KubernetesEmulator`` (``bench.kmock_creates``), a short run with few
  connections because its rate falls as objects accumulate (skipped when kmock is missing).

creates/s is server-side: ``store.counters["create"]`` sampled right before wrk starts and right
after it exits, over that wall-clock window. Each kubenb server first answers one create of the
body (waited for however long it takes: the kind's validator is compiled then), then gets a
one-second warm-up run whose figures are dropped (caches); without the first step a compile
longer than the warm-up ran on into the measured window. ``server-cpu`` is the server process's
CPU time over the window: near 100% means the server's one interpreter was the bottleneck.

Then, on a fresh kubenb server, a shorter run per body under ``cProfile`` (event-loop thread
only: it runs every request, TLS included). The profile goes to
``bench/results/creates-profile.txt``: top functions by cumulative time, by own time, and
kubenb's functions by cumulative time. cProfile slows the server several-fold; read the shares,
not the absolute times.

Run from the repository root: ``.venv/bin/python -m bench.creates [--seconds 8]
[--connections 32] [--threads 1] [--rounds 3] [--no-kmock] [--no-profile]``.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import io
import json
import os
import pstats
import ssl
import statistics
import sys
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run by path (python bench/creates.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.http_stacks import serve_aiohttp
from bench.kmock_creates import kmock_available, serve_kmock
from bench.kubenb_server import TOKEN, KubenbServer, kubenb_in_process
from bench.loadgen import (
    WrkResult,
    configmap_body,
    format_line,
    run_wrk,
    serve_in_process,
    tls_files,
)
from bench.pods import pod_body

__all__ = ["GOAL_CREATES_PER_S", "GOAL_RATIO", "main", "measure"]

GOAL_CREATES_PER_S = 5000.0
GOAL_RATIO = 0.5
RESULTS = Path(__file__).resolve().parent / "results"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"


def pod_create_body() -> dict[str, Any]:
    """The Pod body wrk sends: a ReplicaSet replica's create body, name made unique by wrk."""
    body = pod_body(0)
    body["metadata"].pop("generateName")
    body["metadata"]["name"] = "web-7d4b9c8f6d"
    return body


BODIES: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "configmap": (CONFIGMAPS, configmap_body),
    "pod": (PODS, pod_create_body),
}


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load avg {one:.2f}/{five:.2f} (1/5 min) on {os.cpu_count()} cpus"


def _wrk(url: str, body: dict[str, Any], *, seconds: float, connections: int, threads: int,
         count: Callable[[], int], timeout_s: float = 10.0) -> WrkResult:
    return run_wrk(url, token=TOKEN, body_json=copy.deepcopy(body), seconds=seconds,
                   connections=connections, threads=threads, server_count=count,
                   timeout_s=timeout_s)


def _prime(url: str, body: dict[str, Any], timeout_s: float = 300.0) -> None:
    """One create of ``body`` (under a name of its own), waited for: whatever a kind's first
    object costs the server (compiling its validator) is paid before anything is measured."""
    parsed = urllib.parse.urlsplit(url)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    obj = copy.deepcopy(body)
    obj["metadata"]["name"] = "bench-prime"
    conn = http.client.HTTPSConnection(parsed.hostname or "127.0.0.1", parsed.port,
                                       context=context, timeout=timeout_s)
    try:
        conn.request("POST", parsed.path, body=json.dumps(obj),
                     headers={"Authorization": f"Bearer {TOKEN}",
                              "Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            raise RuntimeError(f"priming create answered {response.status}")
    finally:
        conn.close()


def _kubenb_run(server: KubenbServer, path: str, body: dict[str, Any], *, seconds: float,
                connections: int, threads: int) -> tuple[WrkResult, float, float]:
    """One measured wrk run against ``server``; returns the result, the server's CPU share and
    how many writes the server ran per batch (see ``kubenb.apiserver.http._WriteBatch``)."""
    cpu_before = server.ask("cpu")
    batches_before, ran_before = server.ask("batches")
    result = _wrk(server.url + path, body, seconds=seconds, connections=connections,
                  threads=threads, count=server.count)
    cpu = (server.ask("cpu") - cpu_before) / (result["server_window_s"] or 1.0)
    batches, ran = server.ask("batches")
    per_batch = (ran - ran_before) / max(1, batches - batches_before)
    return result, cpu, per_batch


@contextmanager
def _tls() -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="kubenb-bench-tls-") as tmp:
        cert, key = tls_files(Path(tmp))
        yield str(cert), str(key)


def measure(*, seconds: float = 8.0, connections: int = 32, threads: int = 1,
            kmock: bool = True, profile: bool = True, profile_seconds: float = 4.0,
            controllers: bool = False, rounds: int = 3) -> dict[str, Any]:
    """Run every stack, print one line each plus the verdict; return the figures.

    The machine is shared, and a neighbour's load moves any one run by a third, so the bare
    handler and kubenb's ConfigMap creates are measured ``rounds`` times, alternating, each
    ratio against the bare run just before it; the figures are the medians, and every run is
    printed. The Pod body, for information, is measured once."""
    print(f"creates: wrk {threads} thread(s), {connections} connections, {seconds:g}s per run "
          f"(after a 1s warm-up), {rounds} round(s); {_load()}", flush=True)
    figures: dict[str, Any] = {}
    warm = {"seconds": 1.0, "connections": connections, "threads": threads}
    run = {"seconds": seconds, "connections": connections, "threads": threads}

    def bare_run(label: str) -> float:
        with _tls() as tls, serve_in_process(serve_aiohttp, tls, True) as bare:
            url = f"https://127.0.0.1:{bare.port}{CONFIGMAPS}"
            _wrk(url, configmap_body(), count=bare.count, **warm)
            result = _wrk(url, configmap_body(), count=bare.count, **run)
        print(format_line(label, result), flush=True)
        return float(result["server_creates_per_s"] or 0.0)

    def kubenb_run(label: str, body: str, bare: float) -> tuple[float, float, float]:
        path, make_body = BODIES[body]
        with kubenb_in_process(controllers=controllers) as server:
            _prime(server.url + path, make_body())
            _wrk(server.url + path, make_body(), count=server.count, **warm)
            result, cpu, per_batch = _kubenb_run(server, path, make_body(), **run)
        rate = float(result["server_creates_per_s"] or 0.0)
        ratio = rate / bare if bare else float("nan")
        print(format_line(label, result)
              + f"  server-cpu={cpu:.0%}  writes/batch={per_batch:.1f}  ratio-to-bare={ratio:.2f}",
              flush=True)
        return rate, ratio, cpu

    bares: list[float] = []
    rates: list[float] = []
    ratios: list[float] = []
    cpus: list[float] = []
    for i in range(rounds):
        tag = f" {i + 1}/{rounds}" if rounds > 1 else ""
        bares.append(bare_run(f"bare-aiohttp-tls{tag}"))
        rate, ratio, cpu = kubenb_run(f"kubenb-tls-configmap{tag}", "configmap", bares[-1])
        rates.append(rate)
        ratios.append(ratio)
        cpus.append(cpu)
    figures["bare"] = statistics.median(bares)
    figures["configmap"] = statistics.median(rates)
    figures["configmap_ratio"] = statistics.median(ratios)
    figures["configmap_cpu"] = statistics.median(cpus)
    figures["configmap_rounds"] = list(zip(bares, rates, ratios, strict=True))
    rate, ratio, cpu = kubenb_run("kubenb-tls-pod", "pod", figures["bare"])
    figures["pod"], figures["pod_ratio"], figures["pod_cpu"] = rate, ratio, cpu

    if kmock and kmock_available():
        with _tls() as tls, serve_in_process(serve_kmock, tls) as km:
            result = _wrk(f"https://127.0.0.1:{km.port}{CONFIGMAPS}", configmap_body(),
                          seconds=3.0, connections=4, threads=1, count=km.count, timeout_s=30.0)
        figures["kmock"] = result["server_creates_per_s"]
        print(format_line("kmock-tls (4 conns, 3s)", result), flush=True)
    elif kmock:
        print("kmock-tls: skipped (kmock is not installed; see bench/kmock_creates.py)")

    rate, ratio = figures["configmap"], figures["configmap_ratio"]
    met = rate >= GOAL_CREATES_PER_S and ratio >= GOAL_RATIO
    median = " (medians)" if rounds > 1 else ""
    print(f"kubenb-tls creates/s={rate:.0f} ratio-to-bare={ratio:.2f}{median}  (ConfigMap; Pod: "
          f"{figures['pod']:.0f}/s, {figures['pod_ratio']:.2f}x)  goal: >= "
          f"{GOAL_CREATES_PER_S:.0f}/s and >= {GOAL_RATIO}x bare -> "
          f"{'MET' if met else 'NOT MET'}", flush=True)
    figures["goal_met"] = met

    if profile:
        out = RESULTS / "creates-profile.txt"
        report = profile_creates(seconds=profile_seconds, connections=connections,
                                 threads=threads)
        RESULTS.mkdir(exist_ok=True)
        out.write_text(report)
        figures["profile"] = str(out)
        print(f"profile written to {out}; where create time goes (cProfile shares):",
              flush=True)
        for label in BODIES:
            print(_head_of_section(report, f"-- {label}: where", len(CREATE_BUCKETS) + 1),
                  flush=True)
    return figures


def profile_creates(*, seconds: float, connections: int, threads: int) -> str:
    """cProfile the server's loop thread under load for each body; return the report text."""
    sections = [f"kubenb create profile: cProfile of the apiserver's event-loop thread, wrk "
                f"{threads} thread(s) x {connections} connections, {seconds:g}s per body; "
                f"{_load()}\n"]
    for label, (path, make_body) in BODIES.items():
        with kubenb_in_process() as server, tempfile.TemporaryDirectory() as tmp:
            _prime(server.url + path, make_body())
            _wrk(server.url + path, make_body(), seconds=1.0, connections=connections,
                 threads=threads, count=server.count)
            dump = str(Path(tmp) / "profile.pstats")
            server.ask("profile-start")
            result = _wrk(server.url + path, make_body(), seconds=seconds,
                          connections=connections, threads=threads, count=server.count)
            server.ask("profile-stop", dump)
            sections.append(f"== {label}: {result['server_creates']} creates under the "
                            f"profiler ({result['server_creates_per_s']:.0f}/s profiled)\n")
            sections.append(_stats_text(dump, label))
    return "\n".join(sections)


def _stats_text(dump: str, label: str) -> str:
    def render(title: str, sort: str, limit: int, *restrict: str) -> str:
        buf = io.StringIO()
        stats = pstats.Stats(dump, stream=buf)
        if not restrict:  # the kubenb table filters on the path, so it keeps directories
            stats.strip_dirs()
        stats.sort_stats(sort).print_stats(*restrict, limit)
        body = buf.getvalue()
        # pstats prints a preamble (file name, totals) before its table; keep from the table on
        start = body.find("   ncalls")
        totals = next((ln for ln in body.splitlines() if "function calls" in ln), "")
        return f"-- {label}: {title}  [{totals.strip()}]\n{body[start:].rstrip()}\n"

    return "\n".join([
        _buckets_text(dump, label, CREATE_BUCKETS),
        render("top by cumulative time", "cumulative", 15),
        render("top by own time", "tottime", 25),
        render("kubenb functions by cumulative time", "cumulative", 25, "kubenb/"),
    ])


# (label, file suffix, function name): the stages of a create, as shares of the loop's time.
Bucket = tuple[str, str, str]
CREATE_BUCKETS: list[Bucket] = [
    ("kubenb handler (http.py handle)", "apiserver/http.py", "handle"),
    ("  body read + JSON decode", "apiserver/http.py", "_body"),
    ("  endpoints.create", "apiserver/endpoints.py", "create"),
    ("    schema validation", "apiserver/validation.py", "validate"),
    ("    defaulting (apply_defaults)", "apiserver/defaults.py", "apply_defaults"),
    ("    prepare_for_create", "apiserver/defaults.py", "prepare_for_create"),
    ("    managedFields (record_update)", "apiserver/endpoints.py", "_managed"),
    ("    store.create", "apiserver/store.py", "create"),
    ("  response encoding", "apiserver/http.py", "_object_response"),
]


def _buckets_text(dump: str, label: str, buckets: list[Bucket]) -> str:
    """Cumulative time of each named stage as a share of everything the loop thread did."""
    stats = pstats.Stats(dump)
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in table.values())  # own times add up to the thread's total
    lines = [f"-- {label}: where the loop thread's time goes ({total:.2f}s profiled)"]
    handler = 0.0
    for title, suffix, func in buckets:
        cum = sum(row[3] for (file, _, name), row in table.items()
                  if name == func and file.endswith(suffix))
        if title.startswith("kubenb handler"):
            handler = cum
        lines.append(f"   {title:<40} {cum / total:6.1%}  {cum:7.3f}s")
    lines.append(f"   {'outside the handler (aiohttp, TLS, loop)':<40} "
                 f"{(total - handler) / total:6.1%}  {total - handler:7.3f}s")
    return "\n".join(lines) + "\n"


def _head_of_section(report: str, marker: str, lines: int) -> str:
    """The first ``lines`` rows of the report's table titled ``marker``, for the console."""
    start = report.find(marker)
    if start < 0:
        return ""
    rows = report[start:].splitlines()
    return "\n".join(rows[: lines + 1])


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile-seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating bare/kubenb ConfigMap runs; the figures are medians")
    parser.add_argument("--no-kmock", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--controllers", action="store_true",
                        help="run the control plane in the server process too (its informers "
                             "parse every object the load creates)")
    args = parser.parse_args(argv)
    measure(seconds=args.seconds, connections=args.connections, threads=args.threads,
            kmock=not args.no_kmock, profile=not args.no_profile,
            profile_seconds=args.profile_seconds, controllers=args.controllers,
            rounds=args.rounds)


if __name__ == "__main__":
    main()
