"""kubenb's ``Cluster`` in a child process, steered from the benchmark through a control pipe.

Why a child process: the figures are about the server, and the machine has two cores. In one
process the benchmark's own bookkeeping (sampling counters, reading 60 MB LIST responses) would
take the GIL from the server's event loop and be measured as server time. In a spawned child the
server has its interpreter to itself; the benchmark and wrk share the other core.

Why a control pipe and not a shared counter polled by a thread: polling would wake a second
thread in the server a hundred times a second, and each wake-up takes the GIL from the event
loop. A thread blocked in ``Connection.recv`` holds no GIL until the benchmark asks something,
which it does a handful of times per run. It answers:

* ``count``: ``store.counters["create"]`` (the server-side create count the goal is stated in),
* ``batches``: how many batches of writes the server ran, and how many writes they held (the
  HTTP façade runs writes that arrive together as a batch: ``kubenb.apiserver.http._WriteBatch``),
* ``cpu``: the process's CPU seconds (user + system), to show how busy the server was,
* ``profile-start`` / ``profile-stop PATH``: a ``cProfile`` of the event-loop thread (the one that
  runs every request, TLS included), dumped to PATH for ``pstats``,
* ``timings``: (and clear) the wall time of each ``APIServerApp.handle`` call, when the server
  was started with ``time_handler=True``,
* ``direct PATH ACCEPT N [DUMP]``: N calls of the handler in-process with a mocked request (no
  socket, no TLS), timed, for the LIST benchmark; with DUMP, under cProfile dumped there,
* ``populate N FAST``: write N Running pods (``bench.pods.populate``) and answer the seconds.

Use: ``with kubenb_in_process(nodes=3, time_handler=True) as server: server.ask("count")``.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # imported by path: make `bench` and `kubenb` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import Counter, ServerProcess, serve_in_process

__all__ = ["TOKEN", "KubenbServer", "kubenb_in_process", "serve_kubenb"]

TOKEN = "bench-token"  # the same token the bare handlers check, so wrk's requests are identical


@dataclass(frozen=True)
class KubenbServer:
    """A running child-process cluster: its port and the control pipe."""

    process: ServerProcess
    control: Connection

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.process.port}"

    def ask(self, *command: Any, timeout_s: float = 600.0) -> Any:
        """Send one command (see the module docstring) and return the child's answer."""
        self.control.send(command)
        if not self.control.poll(timeout_s):
            raise TimeoutError(f"the kubenb server did not answer {command[0]!r}")
        answer = self.control.recv()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def count(self) -> int:
        """Objects created so far, server-side: pass as ``run_wrk(server_count=...)``."""
        return int(self.ask("count"))


@contextmanager
def kubenb_in_process(*, nodes: int = 0, time_handler: bool = False,
                      controllers: bool = False,
                      ready_timeout_s: float = 120.0) -> Iterator[KubenbServer]:
    """Start ``Cluster(nodes=...)`` in a spawned child; stop it when the block exits.

    The API-server benchmarks measure the API server, so by default the child runs no control
    plane (``controllers=False``: static nodes); ``controllers=True`` adds it, informers and all,
    as in a notebook kernel."""
    import multiprocessing

    parent_end, child_end = multiprocessing.get_context("spawn").Pipe(duplex=True)
    options = {"nodes": nodes, "time_handler": time_handler, "controllers": controllers}
    try:
        with serve_in_process(serve_kubenb, child_end, options,
                              ready_timeout_s=ready_timeout_s) as process:
            child_end.close()
            yield KubenbServer(process=process, control=parent_end)
    finally:
        parent_end.close()


def serve_kubenb(ready: Connection, counter: Counter, control: Connection,
                 options: dict[str, Any]) -> None:
    """Child-process entry (see ``bench.loadgen.serve_in_process``): serve until terminated."""
    from kubenb import Cluster

    cluster = Cluster(nodes=int(options.get("nodes", 0)), token=TOKEN,
                      controllers=bool(options.get("controllers", False)))
    timings: list[tuple[str, str, float]] = []
    if options.get("time_handler"):
        # build_server routes to `api.handle` when the server starts; an instance attribute set
        # before then is what gets routed, so every request passes through this timer.
        api = cluster.server.api
        handle = api.handle

        async def timed(request: Any) -> Any:
            began = time.perf_counter()
            try:
                return await handle(request)
            finally:
                timings.append((request.path_qs, request.headers.get("Accept", ""),
                                time.perf_counter() - began))

        api.handle = timed  # type: ignore[method-assign]
    cluster.start()
    profiler: cProfile.Profile | None = None

    def on_loop(fn: Any) -> None:
        """Run ``fn`` on the server's event-loop thread and wait: cProfile is per thread."""
        loop: asyncio.AbstractEventLoop | None = cluster.server._loop  # no public accessor
        assert loop is not None
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()

        loop.call_soon_threadsafe(run)
        done.wait()

    def answer(command: tuple[Any, ...]) -> Any:
        nonlocal profiler
        verb = command[0]
        if verb == "count":
            counter.value = cluster.store.counters["create"]
            return counter.value
        if verb == "batches":
            writes = cluster.server.api.writes
            return writes.batches, writes.ran
        if verb == "cpu":
            t = os.times()
            return t.user + t.system
        if verb == "profile-start":
            profiler = cProfile.Profile()
            on_loop(profiler.enable)
            return True
        if verb == "profile-stop":
            assert profiler is not None
            on_loop(profiler.disable)
            profiler.dump_stats(command[1])
            profiler = None
            return True
        if verb == "timings":
            out = list(timings)
            timings.clear()
            return out
        if verb == "direct":
            return _direct(cluster, command[1], command[2], int(command[3]),
                           profile_path=command[4] if len(command) > 4 else None)
        if verb == "populate":
            from bench.pods import populate

            return populate(cluster, int(command[1]), fast=bool(command[2]),
                            nodes=max(1, int(options.get("nodes", 0))))
        raise ValueError(f"unknown command {verb!r}")

    def serve_control() -> None:
        while True:
            try:
                command = control.recv()
            except EOFError:
                return
            try:
                control.send(answer(command))
            except Exception as exc:  # report to the benchmark instead of dying silently
                control.send(RuntimeError(f"{command[0]}: {exc!r}"))

    threading.Thread(target=serve_control, name="bench-control", daemon=True).start()
    ready.send(cluster.server.port)
    threading.Event().wait()  # until the parent terminates this process


def _direct(cluster: Any, path_qs: str, accept: str, n: int, *,
            profile_path: str | None = None) -> list[float]:
    """Time ``n`` calls of the HTTP handler with a mocked request: routing, list, encoding.

    With ``profile_path``, the calls run under cProfile and its stats are dumped there.
    """
    from aiohttp.test_utils import make_mocked_request

    api = cluster.server.api
    handle = type(api).handle.__get__(api)  # the class's own handler, not the timed wrapper
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": accept}
    loop = asyncio.new_event_loop()
    out: list[float] = []
    profiler = cProfile.Profile() if profile_path else None
    try:
        for _ in range(n):
            request = make_mocked_request("GET", path_qs, headers=headers)
            if profiler is not None:
                profiler.enable()
            began = time.perf_counter()
            response = loop.run_until_complete(handle(request))
            out.append(time.perf_counter() - began)
            if profiler is not None:
                profiler.disable()
            if response.status != 200:
                raise RuntimeError(f"GET {path_qs} answered {response.status}: "
                                   f"{bytes(response.body or b'')[:200]!r}")
    finally:
        loop.close()
    if profiler is not None and profile_path:
        profiler.dump_stats(profile_path)
    return out
