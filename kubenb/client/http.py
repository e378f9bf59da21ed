"""A real apiserver as a client transport: HTTPS from a kubeconfig.

This is what lets the same controllers, and later the notebook magics, run against a real cluster,
or against the embedded one from another process. The kubeconfig is read by the official
``kubernetes`` package (contexts, CA data, bearer tokens, client certificates and exec plugins all
work as in kubectl); requests are plain urllib3 with JSON bodies, and errors come back as the
:mod:`kubenb.api.errors` tree built from the server's ``Status``.

Watches run in a thread each: ``watch=1&allowWatchBookmarks=true`` from the given
resourceVersion, resumed from the last seen version when the server ends the stream, and reported
as ``GONE`` when the version has expired (``410``), so the informer re-lists.
"""

from __future__ import annotations

import contextlib
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any

import orjson
import urllib3

from kubenb.api import errors
from kubenb.api.kinds import PODS
from kubenb.api.resources import ResourceType
from kubenb.client.client import Deliver, ObjectList, PatchType

__all__ = ["HTTPTransport"]

Obj = dict[str, Any]


def _path(rt: ResourceType, namespace: str | None, name: str = "", subresource: str = "") -> str:
    base = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    if rt.namespaced and namespace:
        base += f"/namespaces/{urllib.parse.quote(namespace, safe='')}"
    base += f"/{rt.plural}"
    if name:
        base += f"/{urllib.parse.quote(name, safe='')}"
    if subresource:
        base += f"/{subresource}"
    return base


class HTTPTransport:
    """A :class:`~kubenb.client.client.Transport` over HTTPS."""

    def __init__(self, host: str, *, token: str | None = None, ca_file: str | None = None,
                 cert_file: str | None = None, key_file: str | None = None,
                 verify: bool = True, token_source: Any = None) -> None:
        self.host = host.rstrip("/")
        self._token = token
        self._token_source = token_source  # a kubernetes Configuration that can refresh tokens
        kwargs: dict[str, Any] = {"maxsize": 8, "retries": False}
        if self.host.startswith("https"):
            kwargs.update(cert_reqs="CERT_REQUIRED" if verify else "CERT_NONE",
                          ca_certs=ca_file, cert_file=cert_file, key_file=key_file)
        self._pool = urllib3.PoolManager(**kwargs)

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, *, context: str | None = None
                        ) -> HTTPTransport:
        """Connect as ``kubectl --kubeconfig path --context context`` would."""
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=path, context=context, client_configuration=cfg)
        return cls(cfg.host, ca_file=cfg.ssl_ca_cert, cert_file=cfg.cert_file,
                   key_file=cfg.key_file, verify=cfg.verify_ssl, token_source=cfg)

    # ------------------------------------------------------------------ plumbing

    def _headers(self, content_type: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "kubenb"}
        token = self._token
        if self._token_source is not None:
            token = None
            value = self._token_source.get_api_key_with_prefix("BearerToken", "authorization")
            if value:
                headers["Authorization"] = value
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def _request(self, method: str, path: str, query: Mapping[str, str] | None = None,
                 body: Any = None, content_type: str = "application/json",
                 timeout: float | None = 30.0, stream: bool = False) -> Any:
        url = self.host + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v != ""})
        data = None if body is None else orjson.dumps(body)
        try:
            resp = self._pool.request(method, url, body=data,
                                      headers=self._headers(content_type if data else None),
                                      timeout=urllib3.Timeout(connect=10, read=timeout),
                                      preload_content=not stream)
        except urllib3.exceptions.HTTPError as exc:
            raise errors.InternalError(f"{method} {url}: {exc}") from exc
        if stream:
            if resp.status >= 400:
                raise self._error(resp.status, resp.read())
            return resp
        if resp.status >= 400:
            raise self._error(resp.status, resp.data)
        return orjson.loads(resp.data) if resp.data else {}

    @staticmethod
    def _error(code: int, data: bytes) -> errors.APIError:
        try:
            status = orjson.loads(data)
        except orjson.JSONDecodeError:
            status = {"kind": "Status", "message": data.decode("utf-8", "replace")[:500],
                      "code": code}
        if not isinstance(status, dict) or status.get("kind") != "Status":
            status = {"kind": "Status", "message": str(status)[:500], "code": code}
        return errors.error_from_status(status, code=code)

    # ------------------------------------------------------------------ verbs

    def get(self, rt: ResourceType, namespace: str | None, name: str, *,
            subresource: str = "") -> Obj:
        return self._request("GET", _path(rt, namespace, name, subresource))

    def list(self, rt: ResourceType, namespace: str | None, *, label_selector: str = "",
             field_selector: str = "") -> ObjectList:
        items: list[Obj] = []
        token = ""
        while True:
            out = self._request("GET", _path(rt, namespace), {
                "labelSelector": label_selector, "fieldSelector": field_selector,
                "limit": "500", "continue": token})
            for item in out.get("items") or ():
                item.setdefault("apiVersion", rt.api_version)
                item.setdefault("kind", rt.kind)
                items.append(item)
            token = (out.get("metadata") or {}).get("continue") or ""
            if not token:
                return ObjectList(items, (out.get("metadata") or {}).get("resourceVersion", ""))

    def create(self, rt: ResourceType, namespace: str | None, obj: Obj, *, manager: str,
               subresource: str = "", name: str = "", dry_run: bool = False) -> Obj:
        return self._request("POST", _path(rt, namespace, name if subresource else "",
                                           subresource),
                             {"fieldManager": manager, "dryRun": "All" if dry_run else ""}, obj)

    def replace(self, rt: ResourceType, namespace: str | None, name: str, obj: Obj, *,
                manager: str, subresource: str = "", dry_run: bool = False) -> Obj:
        return self._request("PUT", _path(rt, namespace, name, subresource),
                             {"fieldManager": manager, "dryRun": "All" if dry_run else ""}, obj)

    def patch(self, rt: ResourceType, namespace: str | None, name: str, patch_type: str,
              patch: Any, *, manager: str, subresource: str = "", force: bool = False,
              dry_run: bool = False) -> Obj:
        query = {"fieldManager": manager, "dryRun": "All" if dry_run else ""}
        if patch_type == PatchType.APPLY:
            query["force"] = "true" if force else ""
        return self._request("PATCH", _path(rt, namespace, name, subresource), query, patch,
                             content_type=patch_type)

    def delete(self, rt: ResourceType, namespace: str | None, name: str,
               options: Mapping[str, Any]) -> Obj:
        body = {"kind": "DeleteOptions", "apiVersion": "v1", **options}
        return self._request("DELETE", _path(rt, namespace, name), None, body)

    def log(self, namespace: str, name: str, params: Mapping[str, str]) -> str:
        url = self.host + _path(PODS, namespace, name, "log")
        if params:
            url += "?" + urllib.parse.urlencode(params)
        resp = self._pool.request("GET", url, headers=self._headers())
        if resp.status >= 400:
            raise self._error(resp.status, resp.data)
        return resp.data.decode("utf-8", "replace")

    def watch(self, rt: ResourceType, namespace: str | None, resource_version: str,
              deliver: Deliver, *, label_selector: str = "") -> tuple[_HTTPWatch, str]:
        rv = resource_version
        if not rv:  # list first, hand the items over as ADDED, then watch from the list
            listed = self.list(rt, namespace, label_selector=label_selector)
            for item in listed.items:
                deliver("ADDED", orjson.dumps(item))
            rv = listed.resource_version
        watch = _HTTPWatch(self, rt, namespace, rv, deliver, label_selector)
        watch.start()
        return watch, rv


class _HTTPWatch:
    """One watch stream, in its own thread, resumed when the server closes it."""

    def __init__(self, transport: HTTPTransport, rt: ResourceType, namespace: str | None,
                 rv: str, deliver: Deliver, label_selector: str) -> None:
        self.transport = transport
        self.rt = rt
        self.namespace = namespace
        self.rv = rv
        self.deliver = deliver
        self.label_selector = label_selector
        self._stopped = threading.Event()
        self._resp: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"kubenb-watch-{rt.plural}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        resp = self._resp
        if resp is not None:
            with contextlib.suppress(Exception):  # the stream may already be closed
                resp.shutdown()  # unblocks a read in the thread

    def _run(self) -> None:
        failures = 0
        while not self._stopped.is_set():
            try:
                self._resp = self.transport._request(
                    "GET", _path(self.rt, self.namespace),
                    {"watch": "1", "resourceVersion": self.rv, "allowWatchBookmarks": "true",
                     "labelSelector": self.label_selector, "timeoutSeconds": "300"},
                    timeout=330, stream=True)
                failures = 0
                buffer = b""
                for chunk in self._resp.stream(65536, decode_content=True):
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        if line.strip() and self._event(line):
                            return
                    if self._stopped.is_set():
                        return
            except errors.Gone:
                self.deliver("GONE", b"")
                return
            except Exception:  # a broken stream is retried
                if self._stopped.is_set():
                    return
                failures += 1
                self._stopped.wait(min(30.0, 0.2 * 2 ** failures))

    def _event(self, line: bytes) -> bool:
        """Handle one event line; True when the watch must end (expired)."""
        event = orjson.loads(line)
        etype = event.get("type")
        obj = event.get("object") or {}
        if etype == "ERROR":
            if obj.get("code") == 410:
                self.deliver("GONE", b"")
                return True
            return False
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv:
            self.rv = rv
        if etype in ("ADDED", "MODIFIED", "DELETED"):
            self.deliver(etype, orjson.dumps(obj))
        return False
