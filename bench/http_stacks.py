"""The bare-handler limit: how many creates/s an HTTP stack serves when the handler does nothing.

kubenb's creates/s goal is stated relative to this limit (>= 0.5x the bare handler over TLS), so
the limit must be measured the same way as kubenb: same machine, same wrk script, same TLS, same
JSON body. The "bare handler" does only what no create can avoid: read the body, parse it as
JSON (orjson), check the bearer token, serialise the object back and answer 201.

Stacks compared, each in its own process so only wrk and the server compete for the two cores:

* ``aiohttp-app``: ``web.Application`` with a router, served from a thread that owns its event
  loop, which is how kubenb embeds its apiserver in a Jupyter kernel;
* ``aiohttp-lowlevel``: aiohttp's ``web.Server`` with a plain handler (no router, no
  middlewares), showing what the Application layer costs;
* ``uvicorn-httptools``: uvicorn with the httptools parser and a raw ASGI app, the usual
  "fast Python HTTP" answer, in the process's main thread as uvicorn expects.

Run from the repository root: ``python -m bench.http_stacks [--seconds 5] [--connections 32]
[--plain]``; ``--plain`` adds plain-HTTP rows to show what TLS costs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run by path (python bench/http_stacks.py): make `bench` importable
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

TOKEN = "bench-token"
CREATE_PATH = "/api/v1/namespaces/default/configmaps"

# (status, body) for a create; shared by every stack so only the HTTP layer differs.
BareResult = tuple[int, bytes]


def bare_create(body: bytes, authorization: str | None, counter: Counter) -> BareResult:
    """The work every create must do at least: authenticate, parse, answer with the object."""
    import orjson

    if authorization != f"Bearer {TOKEN}":
        return 401, b'{"kind":"Status","code":401,"reason":"Unauthorized"}'
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 400, b'{"kind":"Status","code":400,"reason":"BadRequest"}'
    counter.value += 1
    return 201, orjson.dumps(obj)


def _ssl_or_none(tls: tuple[str, str] | None) -> Any:
    return server_ssl_context(Path(tls[0]), Path(tls[1])) if tls else None


def serve_aiohttp(
    ready: Connection, counter: Counter, tls: tuple[str, str] | None, lowlevel: bool
) -> None:
    """Child-process entry: aiohttp in a thread with its own loop (kubenb's embedding)."""
    from aiohttp import web

    async def create(request: web.BaseRequest) -> web.Response:
        if request.method != "POST" or request.path != CREATE_PATH:
            return web.Response(status=404)
        status, body = bare_create(
            await request.read(), request.headers.get("Authorization"), counter
        )
        return web.Response(status=status, body=body, content_type="application/json")

    async def start() -> None:
        runner: web.BaseRunner
        if lowlevel:
            runner = web.ServerRunner(web.Server(create), access_log=None)
        else:
            app = web.Application()
            app.router.add_post("/api/v1/namespaces/{namespace}/configmaps", create)
            runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = loopback_socket()
        await web.SockSite(runner, sock, ssl_context=_ssl_or_none(tls)).start()
        ready.send(sock.getsockname()[1])

    def run_loop() -> None:
        from kubenb.apiserver.server import new_event_loop

        loop = new_event_loop()  # the same loop kubenb's server runs on
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run_loop, name="apiserver-loop", daemon=True)
    thread.start()
    thread.join()  # until the parent terminates this process


ASGIScope = MutableMapping[str, Any]
ASGIReceive = Callable[[], Awaitable[MutableMapping[str, Any]]]
ASGISend = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def serve_uvicorn(ready: Connection, counter: Counter, tls: tuple[str, str] | None) -> None:
    """Child-process entry: uvicorn + httptools with a raw ASGI app, in the main thread."""
    import uvicorn

    async def app(scope: ASGIScope, receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; websockets are not served
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        authorization = next(
            (v.decode() for k, v in scope["headers"] if k == b"authorization"), None
        )
        if scope["method"] == "POST" and scope["path"] == CREATE_PATH:
            status, body = bare_create(b"".join(chunks), authorization, counter)
        else:
            status, body = 404, b""
        # Without a length uvicorn falls back to chunked encoding: an extra write per response
        # that neither aiohttp's Response nor a real apiserver pays.
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    config = uvicorn.Config(
        app,
        http="httptools",
        loop="asyncio",
        lifespan="off",
        access_log=False,
        log_level="warning",
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    server = uvicorn.Server(config)
    sock = loopback_socket()

    async def main() -> None:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if serving.done():
                serving.result()  # startup failed: raise its error
                return
            await asyncio.sleep(0.02)
        ready.send(sock.getsockname()[1])
        await serving

    asyncio.run(main())


def main(argv: list[str] | None = None) -> None:
    """Measure each stack in turn and print one line per stack."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--plain", action="store_true", help="also measure each stack over plain HTTP"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kubenb-bench-tls-") as tmp:
        cert, key = tls_files(Path(tmp))
        tls = (str(cert), str(key))
        runs: list[tuple[str, Callable[..., None], tuple[Any, ...]]] = [
            ("aiohttp-app-tls", serve_aiohttp, (tls, False)),
            ("aiohttp-lowlevel-tls", serve_aiohttp, (tls, True)),
            ("uvicorn-httptools-tls", serve_uvicorn, (tls,)),
        ]
        if args.plain:
            runs += [
                ("aiohttp-app-http", serve_aiohttp, (None, False)),
                ("aiohttp-lowlevel-http", serve_aiohttp, (None, True)),
                ("uvicorn-httptools-http", serve_uvicorn, (None,)),
            ]
        print(
            f"wrk: 1 thread, {args.connections} connections, {args.seconds:g}s per stack;"
            f" POST {CREATE_PATH}"
        )
        for label, target, extra in runs:
            scheme = "https" if extra[0] else "http"
            with serve_in_process(target, *extra) as server:
                result = run_wrk(
                    f"{scheme}://127.0.0.1:{server.port}{CREATE_PATH}",
                    token=TOKEN,
                    body_json=configmap_body(),
                    seconds=args.seconds,
                    connections=args.connections,
                    server_count=server.count,
                )
            print(format_line(label, result), flush=True)


if __name__ == "__main__":
    main()
