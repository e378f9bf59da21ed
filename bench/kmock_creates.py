"""creates/s of kmock, the pip-installable Kubernetes mock server, under the same load as kubenb.

kmock (``kmock.KubernetesEmulator``) is the nearest thing on PyPI to what kubenb's apiserver
does: an aiohttp server that stores the objects POSTed to it and serves them back. It is the
baseline the creates/s figure is compared with, so it gets the same wrk script, body and TLS as
the bare handlers in ``bench.http_stacks``.

How it is served, and why not through ``kmock.Server``: that class wraps aiohttp's test server
(plain HTTP, aiohttp debug mode on). The emulator itself is an ordinary aiohttp low-level handler,
so here it is mounted on an aiohttp ``web.Server`` behind a TLS ``SockSite``, like the bare
``aiohttp-lowlevel`` stack. ``--plain`` adds a row for kmock's own ``kmock.Server`` as shipped.

Server-side count: ``len(emulator.objects)`` (objects stored; nothing is deleted here), copied
into the shared counter after each request on the server's own loop.

kmock stores every request and scans all stored objects on each create, so its rate falls as the
run goes on; the defaults (4 connections, 5 s) keep the run short and are printed with the result.
Where kmock comes from: kmock 0.8 registers a pytest plugin (an entry point) that imports
``pytest_asyncio``, which it does not depend on, so installing it into the project's venv breaks
every pytest run there. It is therefore installed beside the venv, out of site-packages, where
only this bench looks: ``.venv/bin/pip install --no-deps --target .venv/bench-kmock kmock``
(its dependencies, aiohttp, attrs, yarl and jsonpatch, are kubenb's own). A kmock importable
the ordinary way is used first.

Run from the repository root: ``python -m bench.kmock_creates [--seconds 5] [--connections 4]``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import sys
import tempfile
from multiprocessing.connection import Connection
from pathlib import Path
from types import ModuleType

if __package__ in (
    None,
    "",
):  # run by path (python bench/kmock_creates.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import (
    Counter,
    configmap_body,
    format_line,
    loopback_socket,
    run_wrk,
    serve_in_process,
    server_ssl_context,
    tls_files,
)

TOKEN = "bench-token"  # kmock does not check it; sent so the request matches kubenb's byte for byte
CREATE_PATH = "/api/v1/namespaces/default/configmaps"
# Out of site-packages on purpose: see "Where kmock comes from" above.
KMOCK_DIR = Path(sys.prefix) / "bench-kmock"
KMOCK_INSTALL = f"{sys.executable} -m pip install --no-deps --target {KMOCK_DIR} kmock"


def kmock_available() -> bool:
    """Whether ``import_kmock`` will find kmock (installed normally or in ``KMOCK_DIR``)."""
    return importlib.util.find_spec("kmock") is not None or (KMOCK_DIR / "kmock").is_dir()


def import_kmock() -> ModuleType:
    """Import kmock from the environment or, failing that, from ``KMOCK_DIR``."""
    if importlib.util.find_spec("kmock") is None:
        if not (KMOCK_DIR / "kmock").is_dir():
            raise ModuleNotFoundError(f"kmock is not installed; install it with: {KMOCK_INSTALL}")
        sys.path.append(str(KMOCK_DIR))
    return importlib.import_module("kmock")


def serve_kmock(ready: Connection, counter: Counter, tls: tuple[str, str] | None) -> None:
    """Child-process entry: a KubernetesEmulator on aiohttp (TLS when ``tls``), or kmock.Server."""
    from aiohttp import web

    kmock = import_kmock()

    async def main() -> None:
        async with kmock.KubernetesEmulator() as emulator:

            async def counted(request: web.BaseRequest) -> web.StreamResponse:
                response: web.StreamResponse = await emulator(request)
                counter.value = len(emulator.objects)
                return response

            if tls is None:
                # kmock's own server, as its pytest fixture runs it. It calls the emulator
                # directly, not through `counted`, so the count is polled instead.
                async with kmock.Server(emulator) as server:
                    ready.send(server.port)
                    while True:
                        counter.value = len(emulator.objects)
                        await asyncio.sleep(0.01)
            else:
                runner = web.ServerRunner(web.Server(counted), access_log=None)
                await runner.setup()
                sock = loopback_socket()
                context = server_ssl_context(Path(tls[0]), Path(tls[1]))
                await web.SockSite(runner, sock, ssl_context=context).start()
                ready.send(sock.getsockname()[1])
                await asyncio.Event().wait()  # until the parent terminates this process

    asyncio.run(main())


def main(argv: list[str] | None = None) -> None:
    """Drive kmock with wrk and print its creates/s line(s)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--plain", action="store_true", help="also measure kmock.Server over plain HTTP"
    )
    args = parser.parse_args(argv)
    if not kmock_available():
        sys.exit(f"kmock is not installed; install it with: {KMOCK_INSTALL}")

    with tempfile.TemporaryDirectory(prefix="kubenb-bench-tls-") as tmp:
        cert, key = tls_files(Path(tmp))
        runs: list[tuple[str, tuple[str, str] | None]] = [("kmock-tls", (str(cert), str(key)))]
        if args.plain:
            runs.append(("kmock-server-http", None))
        print(
            f"wrk: 1 thread, {args.connections} connections, {args.seconds:g}s per run;"
            f" POST {CREATE_PATH}"
        )
        for label, tls in runs:
            with serve_in_process(serve_kmock, tls) as server:
                result = run_wrk(
                    f"{'https' if tls else 'http'}://127.0.0.1:{server.port}{CREATE_PATH}",
                    token=TOKEN,
                    body_json=configmap_body(),
                    seconds=args.seconds,
                    connections=args.connections,
                    server_count=server.count,
                    timeout_s=30.0,
                )
                stored = server.count()
            print(format_line(label, result) + f"  objects-stored={stored}", flush=True)


if __name__ == "__main__":
    main()
