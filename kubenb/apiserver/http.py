"""The HTTP façade: Kubernetes REST paths on aiohttp, a thin adapter over the endpoints.

Requests are routed by parsing the path the way kube-apiserver's ``RequestInfoFactory`` does
(``/api/v1/namespaces/{ns}/{resource}/{name}/{subresource}``, ``/apis/{group}/{version}/...``,
the legacy ``/watch/`` prefix), so the route table is data: the registry. Every state change
happens in :mod:`kubenb.apiserver.endpoints`; this module only decodes bodies and query
parameters, negotiates the response form (JSON, ``Table``, ``PartialObjectMetadata``) and streams
watches. Writes that arrive together run together, one after another (``_WriteBatch``): that
keeps the store's code warm in the CPU's caches under load.

The stack is aiohttp's low-level ``web.Server`` on a uvloop loop. Measured with a bare create
handler over TLS on this project's 2-core machines (``bench/http_stacks.py``, creates/s):
aiohttp Application 8.5-10k, aiohttp low-level 9.7-12.5k, uvicorn+httptools 13.2-13.7k, and
aiohttp low-level on uvloop 15.2k. aiohttp also streams chunked watch responses natively and runs
its own event loop in a thread, which is what lets the server live inside a notebook kernel.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import threading
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import orjson
import yaml
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from kubenb.api import errors
from kubenb.api.resources import ResourceType
from kubenb.api.selectors import (
    FieldSelector,
    LabelSelector,
    parse_field_selector,
    parse_label_selector,
)
from kubenb.apiserver import openapi_proto, printers, protobuf
from kubenb.apiserver.discovery import Discovery, version_info
from kubenb.apiserver.endpoints import Endpoints, LogStream, PatchType, WriteOptions
from kubenb.apiserver.openapi import OpenAPI
from kubenb.apiserver.store import WatchEvent

__all__ = ["MAX_BODY_BYTES", "APIServerApp", "build_server"]

#: kube-apiserver's limit on request bodies (3 MiB, --max-request-bytes is etcd's 1.5 MiB x 2).
MAX_BODY_BYTES = 3 * 1024 * 1024
_JSON = "application/json"
_PROTOBUF = "application/vnd.kubernetes.protobuf"
_PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version"})
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: what ``request.query`` is when the URL has no query string, without parsing one per request
_NO_QUERY: MultiDictProxy[str] = MultiDictProxy(MultiDict())
#: resource paths remembered by _dispatch (cleared when full: names make the set unbounded)
_ROUTE_CACHE_SIZE = 4096
_JSON_HEADERS: Mapping[str, str] = {"Content-Type": _JSON}
#: how often (wall seconds) a followed log looks for new lines
_LOG_POLL_SECONDS = 0.2
#: the remote-command subprotocols pods/exec speaks, preferred first
_EXEC_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")


def _json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None
                   ) -> web.Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    # a ready header mapping: content_type= would parse and rebuild the header on every
    # response (aiohttp copies the mapping into its own multidict, so one shared dict is safe)
    out_headers = {**headers, "Content-Type": _JSON} if headers else _JSON_HEADERS
    return web.Response(body=raw, status=status, headers=out_headers)


def _error(exc: errors.APIError) -> web.Response:
    return _json_response(exc.status, exc.code)


class _WriteBatch:
    """Writes that arrive together, run one after another once no more are arriving.

    Why: a ConfigMap create costs about 140 µs of CPU when it runs between the TLS and HTTP
    work of every request, and about 60 µs when creates follow one another (the CPU's caches
    stay warm with the store's code and data), measured in ``bench/creates.py``. Running the
    writes of one event-loop turn together took that benchmark from about 4,100 to about
    6,100 creates/s (13 writes a batch with wrk's 32 connections); letting the batch grow
    while each turn brings more writes made it 31 a batch and about 9% faster again.

    How: each write's handler queues it here and awaits its response. The first write of a
    batch schedules :meth:`_check` with ``call_soon``; each check that finds the batch grown
    since the last one looks again one loop turn later (after the turn's new requests have
    been read and queued theirs), and the first that finds it unchanged, or holding
    :attr:`limit` writes, runs the batch. An idle server's lone request waits two loop turns
    that have nothing else to do. Nothing is merged: every write runs alone, in arrival order,
    under the store's own locking, and its response or error goes back to its own request.
    A request cancelled while it waits (its connection closed) is not written.
    """

    __slots__ = ("_pending", "batches", "ran")

    #: a batch this large runs at once, however fast writes still arrive
    limit = 256

    def __init__(self) -> None:
        self._pending: list[tuple[Callable[[], web.StreamResponse],
                                  asyncio.Future[web.StreamResponse]]] = []
        #: batches run, and the writes they ran (bench/creates.py prints writes per batch)
        self.batches = 0
        self.ran = 0

    def run(self, write: Callable[[], web.StreamResponse]
            ) -> asyncio.Future[web.StreamResponse]:
        """``await`` the response of ``write``, called with the batch it joins."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[web.StreamResponse] = loop.create_future()
        self._pending.append((write, future))
        if len(self._pending) == 1:
            loop.call_soon(self._check, -1)
        return future

    def _check(self, seen: int) -> None:
        size = len(self._pending)
        if size == seen or size >= self.limit:
            self._flush()
        else:
            asyncio.get_running_loop().call_soon(self._check, size)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        self.batches += 1
        self.ran += len(pending)
        for write, future in pending:
            if future.cancelled():
                continue
            try:
                future.set_result(write())
            except Exception as exc:  # an APIError or a bug: the request's handler says which
                future.set_exception(exc)


class _Request:
    """What the path says: resource, namespace, name, subresource, verb."""

    __slots__ = ("name", "namespace", "rt", "subresource", "watch_prefix")

    def __init__(self, rt: ResourceType, namespace: str | None, name: str | None,
                 subresource: str, watch_prefix: bool) -> None:
        self.rt = rt
        self.namespace = namespace
        self.name = name
        self.subresource = subresource
        self.watch_prefix = watch_prefix


class APIServerApp:
    """The aiohttp application: auth, limits, routing, negotiation, watch streaming."""

    def __init__(self, endpoints: Endpoints, *, token: str | None,
                 server_address: Callable[[], str],
                 max_body: int = MAX_BODY_BYTES) -> None:
        self.endpoints = endpoints
        self.store = endpoints.store
        self.registry = endpoints.registry
        self.discovery = Discovery(endpoints.registry)
        builtin: dict[tuple[str, str], list[ResourceType]] = {}
        for rt in endpoints.registry:
            if not rt.custom:
                builtin.setdefault(rt.group_version, []).append(rt)
        self.openapi = OpenAPI(endpoints.schemas, builtin_group_versions=[
            (g, v, rts) for (g, v), rts in builtin.items()])
        self.openapi.set_custom_resources(endpoints.custom_resource_definitions())
        endpoints.on_crds_changed = self._crds_changed
        self.token = token
        self.server_address = server_address
        self.max_body = max_body
        self.loop_thread: int | None = None
        self._watch_queues: set[asyncio.Queue[Any]] = set()
        #: path -> what it names, up to the registry lookup (see _dispatch)
        self._routes: dict[str, tuple[str, str, list[str]]] = {}
        #: the writes waiting to run together (see _WriteBatch)
        self.writes = _WriteBatch()

    async def close(self) -> None:
        """End every open watch stream cleanly (the server is shutting down)."""
        for queue in tuple(self._watch_queues):
            queue.put_nowait(None)
        await asyncio.sleep(0)

    def _crds_changed(self) -> None:
        self.openapi.set_custom_resources(self.endpoints.custom_resource_definitions())

    # ------------------------------------------------------------------ entry

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if self.loop_thread is None:
            self.loop_thread = threading.get_ident()
        path = request.path
        if self.token is not None and path not in _PUBLIC_PATHS:
            header = request.headers.get("Authorization", "")
            if not (header.startswith("Bearer ")
                    and hmac.compare_digest(header[7:].strip().encode(), self.token.encode())):
                return _error(errors.Unauthorized("Unauthorized"))
        try:
            return await self._dispatch(request, path)
        except errors.APIError as exc:
            return _error(exc)
        except (ConnectionResetError, asyncio.CancelledError, web.HTTPException):
            raise
        except Exception as exc:  # a bug must not take the server down; say what happened
            import logging

            logging.getLogger("kubenb.apiserver").exception("internal error on %s %s",
                                                             request.method, path)
            return _error(errors.InternalError(f"Internal error occurred: {exc!r}"))

    async def _dispatch(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        route = self._routes.get(path)
        if route is not None:  # a resource path seen before: skip the splitting and the checks
            return await self._serve(request, self._parse_resource_path(*route))
        parts = path.strip("/").split("/") if path != "/" else []
        if "%" in path:
            parts = [urllib.parse.unquote(p) for p in parts]
        if not parts:
            return _json_response({"paths": sorted(
                ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version",
                 "/openapi/v2", "/openapi/v3"]
                + [f"/apis/{g}" for g in self.registry.group_versions() if g]
                + [f"/apis/{g}/{v}" for g, vs in self.registry.group_versions().items() if g
                   for v in vs])})
        head = parts[0]
        if head in ("healthz", "livez", "readyz") and (
                len(parts) == 1 or parts[1] in ("ping", "log", "etcd", "poststarthook")):
            return web.Response(text="ok", content_type="text/plain")
        if head == "version" and len(parts) == 1:
            return _json_response(version_info())
        if head == "openapi":
            return self._openapi(request, parts[1:])
        if head == "api":
            if len(parts) == 1:
                return _json_response(self.discovery.api_versions(self.server_address()))
            group, version, rest = "", parts[1], parts[2:]
        elif head == "apis":
            if len(parts) == 1:
                return _json_response(self.discovery.api_groups())
            if len(parts) == 2:
                doc = self.discovery.api_group(parts[1])
                if doc is None:
                    raise errors.NotFound("the server could not find the requested resource")
                return _json_response(doc)
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise errors.NotFound("the server could not find the requested resource")
        if not rest:
            doc = self.discovery.resource_list(group, version)
            if doc is None:
                raise errors.NotFound("the server could not find the requested resource")
            return _json_response(doc)
        req = self._parse_resource_path(group, version, rest)
        # only a path that resolved is remembered; the registry lookup is redone every time,
        # so a resource type that comes or goes with a CRD is seen at once
        routes = self._routes
        if len(routes) >= _ROUTE_CACHE_SIZE:
            routes.clear()
        routes[path] = (group, version, rest)
        return await self._serve(request, req)

    def _parse_resource_path(self, group: str, version: str, rest: list[str]) -> _Request:
        watch_prefix = False
        if rest[0] == "watch":
            watch_prefix = True
            rest = rest[1:]
        namespace: str | None = None
        # namespaces/{ns}/{resource}/...; namespaces/{name}/status|finalize is the namespace
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        rt = self.registry.get(group, version, rest[0]) if rest else None
        if rt is None:
            raise errors.NotFound("the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else ""
        if len(rest) > 3 and subresource != "proxy":  # a proxy's path goes on after it
            raise errors.NotFound("the server could not find the requested resource")
        if subresource and subresource not in rt.subresources:
            raise errors.NotFound("the server could not find the requested resource")
        if rt.namespaced is False and namespace is not None:
            raise errors.NotFound("the server could not find the requested resource")
        return _Request(rt, namespace, name, subresource, watch_prefix)

    # ------------------------------------------------------------------ resources

    async def _serve(self, request: web.BaseRequest, req: _Request) -> web.StreamResponse:
        method = request.method
        q = request.query if request.query_string else _NO_QUERY
        rt = req.rt
        ep = self.endpoints
        if req.subresource == "proxy" and req.name is not None:
            return self._proxy(request, req)
        if req.subresource in ("exec", "attach") and req.name is not None and \
                rt.storage == ("", "pods"):
            if method not in ("GET", "POST"):
                raise _not_allowed()
            if req.subresource == "attach":
                return await self._attach(request, req, q)
            return await self._exec(request, req, q)
        if method == "GET":
            if req.watch_prefix or _flag(q.get("watch")):
                if req.name:
                    fs = f"metadata.name={req.name}"
                    q = _with(q, fieldSelector=(q.get("fieldSelector", "") + "," + fs).strip(","))
                return await self._watch(request, rt, req.namespace, q)
            if req.name is None:
                return self._list(request, rt, req.namespace, q)
            if req.subresource == "scale":
                return self._object_response(request, rt, ep.get_scale(rt, req.namespace,
                                                                        req.name))
            if req.subresource == "log":
                if _flag(q.get("follow")):
                    return await self._follow_log(request, req, q)
                text = ep.log(req.namespace, req.name, q)
                return web.Response(text=text, content_type="text/plain")
            if req.subresource not in ("", "status", "ephemeralcontainers") or \
                    "get" not in rt.verbs:
                raise _not_allowed()
            return self._raw_response(request, rt, ep.get_raw(rt, req.namespace, req.name))
        if method == "POST":
            if req.name is not None and req.subresource in ("binding", "eviction"):
                kind = "Binding" if req.subresource == "binding" else "Eviction"
                group_version = "v1" if kind == "Binding" else "policy/v1"
                body = await self._body(request, proto=(group_version, kind))
                opts = self._write_options(request)
                name = req.name
                if req.subresource == "binding":
                    return await self.writes.run(
                        lambda: _json_response(ep.bind(req.namespace, name, body, opts), 201))
                return await self.writes.run(
                    lambda: _json_response(ep.evict(req.namespace, name, body, opts), 201))
            if req.name is not None or "create" not in rt.verbs:
                raise _not_allowed()
            raw = await self._read_body(request)

            def create() -> web.Response:
                body = self._decode(raw, request.headers.get("Content-Type", _JSON), rt=rt)
                opts = self._write_options(request)
                return self._object_response(request, rt, ep.create(rt, req.namespace, body,
                                                                     opts), 201, opts)

            return await self.writes.run(create)
        if method == "PUT":
            if req.name is None or "update" not in rt.verbs:
                raise _not_allowed()
            if req.subresource == "scale":
                body = await self._body(request, proto=("autoscaling/v1", "Scale"))
            else:
                body = await self._body(request, rt=rt)
            opts = self._write_options(request)
            name = req.name
            return await self.writes.run(lambda: self._object_response(
                request, rt, ep.replace(rt, req.namespace, name, body, opts,
                                        subresource=req.subresource), 200, opts))
        if method == "PATCH":
            if req.name is None or "patch" not in rt.verbs:
                raise _not_allowed()
            ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if ctype not in PatchType.ALL:
                raise errors.UnsupportedMediaType(
                    f"the body of the request was in an unknown format - accepted media types "
                    f"include: {', '.join(PatchType.ALL)}")
            body = await self._body(request, yaml_ok=ctype == PatchType.APPLY)
            opts = self._write_options(request)
            name = req.name

            def patch() -> web.Response:
                existed = self.store.exists(rt, req.namespace, name)
                out = ep.patch(rt, req.namespace, name, ctype, body, opts,
                               subresource=req.subresource)
                status = 201 if ctype == PatchType.APPLY and not existed else 200
                return self._object_response(request, rt, out, status, opts)

            return await self.writes.run(patch)
        if method == "DELETE":
            if req.name is not None and "delete" not in rt.verbs:
                raise _not_allowed()
            options: dict[str, Any] = {}
            if request.can_read_body:
                raw = await self._read_body(request)
                if raw.strip():
                    decoded = self._decode(raw, request.headers.get("Content-Type", ""),
                                           proto=("meta.k8s.io/v1", "DeleteOptions"))
                    if not isinstance(decoded, dict):
                        raise errors.BadRequest("DeleteOptions must be an object")
                    options.update(decoded)
            for param in ("propagationPolicy", "gracePeriodSeconds", "orphanDependents"):
                if param in q:
                    value: Any = q[param]
                    if param == "orphanDependents":
                        value = _flag(value)
                    options[param] = value
            dry_run = _dry_run(q) or bool(options.get("dryRun"))
            if req.name is None:
                if "deletecollection" not in rt.verbs:
                    raise _not_allowed()
                labels = parse_label_selector(q.get("labelSelector"))
                fields = parse_field_selector(q.get("fieldSelector"), allowed=rt.field_selectors,
                                              kind=rt.kind)
                return await self.writes.run(lambda: _json_response(ep.delete_collection(
                    rt, req.namespace, labels=labels, fields=fields, options=options,
                    dry_run=dry_run)))
            name = req.name
            return await self.writes.run(lambda: self._object_response(
                request, rt, ep.delete(rt, req.namespace, name, options, dry_run=dry_run), 200))
        raise _not_allowed()

    async def _exec(self, request: web.BaseRequest, req: _Request,
                    q: Mapping[str, str]) -> web.StreamResponse:
        """``pods/exec`` over a WebSocket, as kubectl 1.37 asks for it: the remote-command
        protocol ``v5.channel.k8s.io`` (or v4), one binary message per stream write, its first
        byte the stream (1 stdout, 3 the final Status). The command runs to its end before the
        upgrade (so a refusal is an ordinary error response), then its output and its exit
        Status go out and the connection closes. Nothing is read from stdin: an interactive
        shell ends at once."""
        argv = list(q.getall("command", [])) if isinstance(q, MultiDictProxy) else []
        assert req.name is not None
        code, output = self.endpoints.exec(req.namespace, req.name, q.get("container", ""),
                                           argv)
        ws = await _remote_command(request)
        if output and _flag(q.get("stdout", "true")):
            await ws.send_bytes(b"\x01" + output.encode())
        if code == 0:
            status: dict[str, Any] = {"metadata": {}, "status": "Success"}
        else:
            status = {"metadata": {}, "status": "Failure",
                      "message": f"command terminated with non-zero exit code: error executing "
                                 f"command {argv}, exit code {code}",
                      "reason": "NonZeroExitCode",
                      "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}
        await ws.send_bytes(b"\x03" + orjson.dumps(status))
        await ws.close()
        return ws

    def _proxy(self, request: web.BaseRequest, req: _Request) -> web.StreamResponse:
        """``pods/{name}/proxy/...`` and ``services/{name}/proxy/...``: the simulated server's
        answer to the rest of the path (what ``kubectl proxy`` and ``kubectl get --raw`` use)."""
        assert req.name is not None
        marker = f"/{req.name}/proxy"
        path = request.path
        tail = path[path.index(marker) + len(marker):] if marker in path else ""
        if request.query_string:
            tail += "?" + request.query_string
        status, content_type, body = self.endpoints.proxy(req.rt, req.namespace, req.name,
                                                          tail or "/")
        ctype, _, charset = content_type.partition("; charset=")
        return web.Response(status=status, text=body, content_type=ctype,
                            charset=charset or None)

    async def _attach(self, request: web.BaseRequest, req: _Request,
                      q: Mapping[str, str]) -> web.StreamResponse:
        """``pods/attach`` over the same WebSocket protocol as exec: the container's output
        as it writes it (stream 1), until it exits; then a Success Status (stream 3; the exit
        code is the pod's to tell) and the close. What the client sends (stdin, resizes) is
        read and dropped."""
        assert req.name is not None
        stream = self.endpoints.attach(req.namespace, req.name, q.get("container", ""))
        ws = await _remote_command(request)
        stdout = _flag(q.get("stdout", "true"))

        async def drain() -> None:  # the client's messages, until it closes
            async for _msg in ws:
                pass

        reader = asyncio.ensure_future(drain())
        try:
            text, done = stream.poll()
            if text and stdout:
                await ws.send_bytes(b"\x01" + text.encode())
            if not done:
                async for more in self._polled(stream, reader):
                    if stdout:
                        await ws.send_bytes(b"\x01" + more.encode())
            if not ws.closed:
                await ws.send_bytes(b"\x03" + orjson.dumps({"metadata": {},
                                                             "status": "Success"}))
                await ws.close()
        except (ConnectionResetError, errors.APIError):
            pass
        finally:
            reader.cancel()
        return ws

    # ------------------------------------------------------------------ bodies

    async def _read_body(self, request: web.BaseRequest) -> bytes:
        length = request.content_length
        if length is not None and length > self.max_body:
            raise errors.RequestEntityTooLarge(
                f"the request body is too large: limit is {self.max_body} bytes")
        if length is not None:  # the common case: one read of a known size
            try:
                return await request.content.readexactly(length)
            except asyncio.IncompleteReadError as exc:
                raise errors.BadRequest("the request body ended early") from exc
        chunks = []
        total = 0
        async for chunk in request.content.iter_chunked(65536):
            total += len(chunk)
            if total > self.max_body:
                raise errors.RequestEntityTooLarge(
                    f"the request body is too large: limit is {self.max_body} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _decode(self, raw: bytes, content_type: str, *, yaml_ok: bool = True,
                rt: ResourceType | None = None, proto: tuple[str, str] | None = None) -> Any:
        ctype = _JSON if content_type == _JSON else content_type.split(";")[0].strip().lower()
        if not raw or raw.isspace():  # what `not raw.strip()` says, without copying the body
            raise errors.BadRequest("the body of the request is empty")
        if ctype == _PROTOBUF:
            # client-go's typed clients always send built-in kinds as protobuf
            if rt is not None:
                if rt.custom:
                    raise errors.UnsupportedMediaType(
                        f'the body of the request was in an unknown format - accepted media '
                        f'types include: application/json, application/yaml (got "{ctype}")')
                proto = (rt.api_version, rt.kind)
            try:
                return protobuf.decode(raw, api_version=proto[0] if proto else None,
                                       kind=proto[1] if proto else None)
            except protobuf.ProtobufError as exc:
                raise errors.BadRequest(
                    f"the body of the request could not be decoded as protobuf: {exc}") from None
        if "yaml" in ctype and yaml_ok:
            try:
                return yaml.load(raw, Loader=_YAML_LOADER)
            except yaml.YAMLError as exc:
                raise errors.BadRequest(
                    f"the body of the request could not be decoded as YAML: "
                    f"{str(exc).splitlines()[0]}") from None
        if ctype and "json" not in ctype and ctype not in ("*/*",):
            raise errors.UnsupportedMediaType(
                f'the body of the request was in an unknown format - accepted media types '
                f'include: application/json, application/yaml (got "{ctype}")')
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise errors.BadRequest(
                f"the object provided is unrecognized: json parse error: {exc}") from None

    async def _body(self, request: web.BaseRequest, *, yaml_ok: bool = True,
                    rt: ResourceType | None = None, proto: tuple[str, str] | None = None) -> Any:
        raw = await self._read_body(request)
        return self._decode(raw, request.headers.get("Content-Type", _JSON), yaml_ok=yaml_ok,
                            rt=rt, proto=proto)

    def _write_options(self, request: web.BaseRequest) -> WriteOptions:
        if not request.query_string:  # the usual write: every option at its default
            return WriteOptions(user_agent=request.headers.get("User-Agent", ""))
        q = request.query
        validation = q.get("fieldValidation") or "Warn"
        if validation not in ("Strict", "Warn", "Ignore"):
            raise errors.BadRequest(
                f'fieldValidation: Unsupported value: "{validation}": supported values: '
                '"Ignore", "Strict", "Warn"')
        return WriteOptions(
            dry_run=_dry_run(q), field_manager=q.get("fieldManager", ""),
            field_validation=validation, user_agent=request.headers.get("User-Agent", ""),
            force=_flag(q.get("force")))

    # ------------------------------------------------------------------ responses

    def _warning_headers(self, opts: WriteOptions | None) -> dict[str, str]:
        if not opts or not opts.warnings:
            return {}
        # several Warning headers are allowed; aiohttp takes a multidict-like list below
        return {"Warning": ", ".join(
            '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"'
            for w in opts.warnings)}

    def _object_response(self, request: web.BaseRequest, rt: ResourceType, obj: Any,
                         status: int = 200, opts: WriteOptions | None = None) -> web.Response:
        headers = self._warning_headers(opts) if opts is not None and opts.warnings else None
        form = _negotiate(request)
        if form == "Table" and obj.get("kind") != "Status":
            table = printers.table(group=rt.group, kind=rt.kind, objects=[obj],
                                   now=self.store.now(),
                                   printer_columns=_printer_columns(rt),
                                   include_object=request.query.get("includeObject", "Metadata"))
            return _json_response(table, status, headers)
        if form == "PartialObjectMetadata" and obj.get("kind") != "Status":
            return _json_response(_partial(obj), status, headers)
        return _json_response(obj, status, headers)

    def _raw_response(self, request: web.BaseRequest, rt: ResourceType, raw: bytes
                      ) -> web.Response:
        form = _negotiate(request)
        if form in ("Table", "PartialObjectMetadata"):
            return self._object_response(request, rt, orjson.loads(raw))
        return _json_response(raw)

    def _list(self, request: web.BaseRequest, rt: ResourceType, namespace: str | None,
              q: Mapping[str, str]) -> web.Response:
        labels, fields = _selectors(rt, q, "list")
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise errors.BadRequest(f"invalid limit: {q.get('limit')!r}") from None
        result = self.endpoints.list(rt, namespace, labels=labels, fields=fields,
                                     limit=max(limit, 0), continue_token=q.get("continue", ""))
        items = result.items
        form = _negotiate(request)
        if form == "Table":
            with _collector_paused():
                objs = [orjson.loads(raw) for raw in items]
                table = printers.table(group=rt.group, kind=rt.kind, objects=objs,
                                       now=self.store.now(), printer_columns=_printer_columns(rt),
                                       include_object=q.get("includeObject", "Metadata"),
                                       resource_version=str(result.resource_version),
                                       continue_token=result.continue_token)
                return _json_response(table)
        meta: dict[str, Any] = {"resourceVersion": str(result.resource_version)}
        if result.continue_token:
            meta["continue"] = result.continue_token
            if result.remaining is not None:
                meta["remainingItemCount"] = result.remaining
        if form == "PartialObjectMetadata":
            body = {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                    "metadata": meta, "items": [_partial(orjson.loads(r)) for r in items]}
            return _json_response(body)
        head = orjson.dumps({"kind": rt.list_kind, "apiVersion": rt.api_version,
                             "metadata": meta})[:-1] + b',"items":['
        # one join, one copy: the stored bytes of each object go out as they are
        parts = [head]
        for i, raw in enumerate(items):
            if i:
                parts.append(b",")
            parts.append(raw)
        parts.append(b"]}")
        return _json_response(b"".join(parts))

    # ------------------------------------------------------------------ logs

    async def _follow_log(self, request: web.BaseRequest, req: _Request,
                          q: Mapping[str, str]) -> web.StreamResponse:
        """``kubectl logs -f``: the log so far, then each new line as the container writes it,
        until it exits (the stream ends then, as the kubelet's does) or the client goes."""
        stream = self.endpoints.log_follow(req.namespace, str(req.name), q)
        text, done = stream.poll()  # errors (waiting to start...) are answered as a Status
        response = web.StreamResponse(status=200, headers={
            "Content-Type": "text/plain", "Cache-Control": "no-cache, private"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            if text:
                await response.write(text.encode())
            if not done:
                async for more in self._polled(stream):
                    await response.write(more.encode())
            await response.write_eof()
        except (ConnectionResetError, errors.APIError):
            pass  # the client went, or the pod did: the stream just ends
        return response

    async def _polled(self, stream: LogStream, until: asyncio.Future[Any] | None = None
                      ) -> AsyncIterator[str]:
        """What ``stream`` gives, polled every ``_LOG_POLL_SECONDS``, until it is over, the
        server shuts down, or ``until`` is done (the client went)."""
        closing: asyncio.Queue[Any] = asyncio.Queue()
        self._watch_queues.add(closing)
        try:
            while until is None or not until.done():
                try:
                    await asyncio.wait_for(closing.get(), _LOG_POLL_SECONDS)
                    return  # the server is shutting down
                except TimeoutError:
                    pass
                text, done = stream.poll()
                if text:
                    yield text
                if done:
                    return
        finally:
            self._watch_queues.discard(closing)

    # ------------------------------------------------------------------ watch

    async def _watch(self, request: web.BaseRequest, rt: ResourceType, namespace: str | None,
                     q: Mapping[str, str]) -> web.StreamResponse:
        labels, fields = _selectors(rt, q, "watch")
        send_initial = q.get("sendInitialEvents")
        initial = _flag(send_initial) if send_initial is not None else None
        bookmarks = _flag(q.get("allowWatchBookmarks"))
        if initial and not bookmarks:
            raise errors.Invalid(
                'ListOptions.meta.k8s.io "" is invalid: allowWatchBookmarks: Required value: '
                "allowWatchBookmarks required when sendInitialEvents is true")
        if initial is not None and q.get("resourceVersionMatch") not in ("NotOlderThan",):
            raise errors.Invalid(
                'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
        timeout = None
        if q.get("timeoutSeconds"):
            try:
                timeout = float(q["timeoutSeconds"])
            except ValueError:
                raise errors.BadRequest("invalid timeoutSeconds") from None
        form = _negotiate(request)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, WatchEvent] | None] = asyncio.Queue()
        loop_thread = threading.get_ident()

        def deliver(etype: str, ev: WatchEvent) -> None:
            if threading.get_ident() == loop_thread:
                queue.put_nowait((etype, ev))
            else:
                loop.call_soon_threadsafe(queue.put_nowait, (etype, ev))

        response = web.StreamResponse(status=200, headers={
            "Content-Type": _JSON, "Cache-Control": "no-cache, private"})
        try:
            watch, start_rv = self.store.watch(
                rt, deliver, namespace=namespace, labels=labels, fields=fields,
                resource_version=q.get("resourceVersion", ""), send_initial_events=initial)
        except errors.Gone as exc:
            await response.prepare(request)
            await response.write(orjson.dumps({"type": "ERROR", "object": exc.status}) + b"\n")
            await response.write_eof()
            return response
        response.enable_chunked_encoding()
        await response.prepare(request)
        printer_columns = _printer_columns(rt)
        include_object = q.get("includeObject", "Metadata")
        first_table = True

        def encode(etype: str, ev: WatchEvent) -> bytes:
            nonlocal first_table
            raw = self.endpoints.convert_raw(rt, ev.raw)
            if form == "Table":
                table = printers.table(group=rt.group, kind=rt.kind, objects=[orjson.loads(raw)],
                                       now=self.store.now(), printer_columns=printer_columns,
                                       include_object=include_object,
                                       include_columns=first_table)
                first_table = False
                raw = orjson.dumps(table)
            elif form == "PartialObjectMetadata":
                raw = orjson.dumps(_partial(orjson.loads(raw)))
            return b'{"type":"' + etype.encode() + b'","object":' + raw + b"}\n"

        def bookmark(rv: int, initial_end: bool = False) -> bytes:
            meta: dict[str, Any] = {"resourceVersion": str(rv)}
            if initial_end:
                meta["annotations"] = {"k8s.io/initial-events-end": "true"}
            obj = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}
            return orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n"

        deadline = loop.time() + timeout if timeout else None
        pending_initial = bool(initial)
        self._watch_queues.add(queue)
        try:
            if pending_initial:
                # store.watch queued the initial ADDED events synchronously; live events that
                # arrived since (newer than start_rv) go after the initial-events-end bookmark
                initial_events: list[bytes] = []
                live: list[bytes] = []
                while not queue.empty():
                    item = queue.get_nowait()
                    if item is None:
                        break
                    target = initial_events if item[1].rv <= start_rv and not live else live
                    target.append(encode(*item))
                initial_events.append(bookmark(start_rv, initial_end=True))
                await response.write(b"".join(initial_events + live))
            last_rv = start_rv
            while True:
                wait = 30.0 if bookmarks else None
                if deadline is not None:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    wait = min(wait, remaining) if wait else remaining
                try:
                    item = await asyncio.wait_for(queue.get(), wait)
                except TimeoutError:
                    if deadline is not None and loop.time() >= deadline:
                        break
                    if bookmarks:
                        await response.write(bookmark(max(last_rv, self.store.resource_version)))
                    continue
                if item is None:
                    break
                chunk = [encode(*item)]
                last_rv = item[1].rv
                while not queue.empty() and len(chunk) < 512:
                    nxt = queue.get_nowait()
                    if nxt is None:
                        break
                    chunk.append(encode(*nxt))
                    last_rv = nxt[1].rv
                await response.write(b"".join(chunk))
        except ConnectionResetError:
            pass
        finally:
            watch.stop()
            self._watch_queues.discard(queue)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response

    # ------------------------------------------------------------------ openapi

    def _openapi(self, request: web.BaseRequest, parts: list[str]) -> web.Response:
        if parts == ["v2"]:
            # kubectl asks for protobuf only; JSON for everyone else (kube-openapi's handler)
            content_type = openapi_proto.v2_content_type(request.headers.get("Accept", ""))
            if content_type is None:
                raise errors.NotAcceptable(
                    "only application/json and "
                    f"{openapi_proto.PROTOBUF_CONTENT_TYPE} are served for /openapi/v2")
            vary = {"Vary": "Accept"}
            if content_type == openapi_proto.JSON_CONTENT_TYPE:
                return _json_response(self.openapi.v2(), headers=vary)
            return web.Response(body=self.openapi.v2_protobuf(),
                                headers={**vary, "Content-Type": content_type})
        if parts and parts[0] == "v3":
            if len(parts) == 1:
                return _json_response(self.openapi.v3_index())
            path = "/".join(parts[1:])
            doc = self.openapi.v3_document(path)
            if doc is None:
                raise errors.NotFound("the server could not find the requested resource")
            current = self.openapi.v3_hash(path)
            wanted = request.query.get("hash")
            if wanted and wanted != current:
                raise web.HTTPMovedPermanently(f"/openapi/v3/{path}?hash={current}")
            etag = '"' + current + '"'
            headers = {"ETag": etag, "Vary": "Accept"}
            if wanted:
                headers["Cache-Control"] = "public, immutable"
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers=headers)
            return _json_response(doc, headers=headers)
        raise errors.NotFound("the server could not find the requested resource")


# ---------------------------------------------------------------------- helpers

@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a Table is built from many parsed objects.

    Parsing thousands of objects allocates millions of containers, and the collector would
    rescan them again and again: measured (bench/list_pods.py) at 10,000 pods the Table took
    1.9 s with it and 0.75 s without. Nothing built here forms cycles; reference counting still
    frees everything, and the collector resumes afterwards (unless something else paused it).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _not_allowed() -> errors.MethodNotAllowed:
    return errors.MethodNotAllowed(
        "the server does not allow this method on the requested resource")


def _selectors(rt: ResourceType, q: Mapping[str, str], verb: str
               ) -> tuple[LabelSelector, FieldSelector]:
    """The verb must be served; the label and field selectors of a list or watch."""
    if verb not in rt.verbs:
        raise _not_allowed()
    return (parse_label_selector(q.get("labelSelector")),
            parse_field_selector(q.get("fieldSelector"), allowed=rt.field_selectors,
                                 kind=rt.kind))


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


def _dry_run(q: Mapping[str, str]) -> bool:
    value = q.get("dryRun")
    if not value:
        return False
    if value != "All":
        raise errors.BadRequest(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return True


def _with(q: Mapping[str, str], **extra: str) -> dict[str, str]:
    out = dict(q)
    out.update(extra)
    return out


def _negotiate(request: web.BaseRequest) -> str:
    """``Table``, ``PartialObjectMetadata`` or ``json`` from the Accept header."""
    accept = request.headers.get("Accept", "")
    if not accept or accept == _JSON or accept == "*/*":
        return "json"
    if "as=Table" in accept:
        return "Table"
    if "as=PartialObjectMetadata" in accept:
        return "PartialObjectMetadata"
    if accept and "json" not in accept and "*/*" not in accept and "yaml" not in accept:
        raise errors.NotAcceptable(
            f"only the following media types are accepted: application/json, application/yaml "
            f"(got {accept})")
    return "json"


def _partial(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata", {})}


def _printer_columns(rt: ResourceType) -> Any:
    return rt.extra.get("printer_columns") if rt.custom else None


def build_server(api: APIServerApp) -> web.Server:
    """aiohttp's low-level server: kubenb routes by parsing the path itself, so the
    Application's URL dispatcher and middleware chain would only add cost to every request."""
    return web.Server(api.handle, access_log=None)


async def _remote_command(request: web.BaseRequest) -> web.WebSocketResponse:
    """The WebSocket of exec and attach, in the remote-command protocol (``v5.channel.k8s.io``
    or v4); a request that does not ask to upgrade is a 400."""
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise errors.BadRequest("Upgrade request required")
    ws = web.WebSocketResponse(protocols=_EXEC_PROTOCOLS, autoping=True)
    await ws.prepare(request)
    return ws
