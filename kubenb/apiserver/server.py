"""Running the HTTP façade: its own thread and event loop, TLS, a bearer token, a kubeconfig.

The server lives beside a notebook kernel, whose main thread may block in a cell at any moment
(``time.sleep``, a synchronous client call against this very server). So the server owns a thread
with its own asyncio loop and never shares the kernel's loop: a blocking cell cannot deadlock it.

Security by default: it binds 127.0.0.1 only, serves HTTPS with a CA and a server certificate made
at start (``trustme``, on top of ``cryptography``), and requires a random bearer token (kubectl only
sends tokens over TLS). ``tls=False`` serves plain HTTP without auth, for debugging only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import os
import secrets
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Any

import trustme
import yaml
from aiohttp import web

from kubenb.apiserver.endpoints import Endpoints
from kubenb.apiserver.http import APIServerApp, build_server

__all__ = ["APIServer", "write_kubeconfig"]

#: the cycle collector's first threshold while a server runs (Python's default is 700)
GC_GEN0_THRESHOLD = 10_000


def _raise_gc_threshold() -> None:
    """Collect the youngest generation after 10,000 net new containers instead of 700.

    Every create leaves a few containers alive (the stored entry, its watch event, the
    informers' copies), so at thousands of creates a second the collector ran hundreds of
    times a second, rescanning what was still young each time and promoting it towards the
    full collections: measured in bench/creates.py's server, 250 young collections in 6 s
    and a tenth of the loop's time in the collector. Nothing here depends on cycles being
    freed sooner, and a threshold someone already raised (the notebook's own tuning) is
    left as it is. The setting is the process's, like everything about ``gc``.
    """
    gen0, gen1, gen2 = gc.get_threshold()
    if 0 < gen0 < GC_GEN0_THRESHOLD:
        gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The server's own loop: uvloop where it is installed (its TLS and socket layers are
    compiled; measured in bench/creates.py), else asyncio's. Either way a loop of its own, in
    its own thread: the kernel's loop is never touched."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class APIServer:
    """The HTTP(S) server for one :class:`Endpoints`, in a background thread."""

    def __init__(self, endpoints: Endpoints, *, host: str = "127.0.0.1", port: int = 0,
                 tls: bool = True, token: str | None = None) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.token = (token or secrets.token_urlsafe(32)) if tls else None
        self.ca_pem: bytes = b""
        self._ssl: ssl.SSLContext | None = None
        if tls:
            ca = trustme.CA(organization_name="kubenb")
            cert = ca.issue_cert("127.0.0.1", "localhost", "::1", "kubernetes",
                                 "kubernetes.default.svc")
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(ctx)
            ctx.set_alpn_protocols(["http/1.1"])
            self._ssl = ctx
            self.ca_pem = ca.cert_pem.bytes()
        self.api = APIServerApp(endpoints, token=self.token, server_address=self._address)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> None:
        if self._thread is not None:
            return
        _raise_gc_threshold()
        self._thread = threading.Thread(target=self._run, name="kubenb-apiserver", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise RuntimeError(f"the API server failed to start: {self._error}") from self._error

    def _run(self) -> None:
        loop = new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # report start-up failures to start()
            self._error = exc
            self._ready.set()
            return
        loop.run_forever()
        loop.close()

    async def _serve(self) -> None:
        self._runner = web.ServerRunner(build_server(self.api), handle_signals=False,
                                        shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self._ssl,
                           backlog=1024, reuse_address=True)
        await site.start()
        server = site._server
        if self.port == 0 and server is not None:
            sockets = getattr(server, "sockets", None) or []
            self.port = sockets[0].getsockname()[1]
        self.api.loop_thread = threading.get_ident()
        self._ready.set()

    async def _shutdown(self) -> None:
        await self.api.close()
        if self._runner is not None:
            await self._runner.cleanup()
        current = asyncio.current_task()
        rest = [t for t in asyncio.all_tasks() if t is not current]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return
        # close connections (cancelling open watches) on the server's own loop, then stop it
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        with contextlib.suppress(Exception):
            future.result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self._loop = None


def write_kubeconfig(path: str | os.PathLike[str] | None, server: APIServer, *,
                     name: str = "kubenb", namespace: str = "default") -> Path:
    """Write a kubeconfig for ``server`` (context ``kubenb``) and return its path."""
    if path is None:
        fd, tmp = tempfile.mkstemp(prefix="kubenb-", suffix=".kubeconfig")
        os.close(fd)
        path = tmp
    out = Path(path)
    cluster: dict[str, Any] = {"server": server.url}
    user: dict[str, Any] = {}
    if server.tls:
        cluster["certificate-authority-data"] = base64.b64encode(server.ca_pem).decode()
        user["token"] = server.token
    config = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name,
                                                 "namespace": namespace}}],
        "current-context": name,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = out.with_name(out.name + ".tmp")
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    os.replace(tmp_path, out)
    return out
