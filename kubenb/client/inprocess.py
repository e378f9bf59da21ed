"""The embedded apiserver as a client transport: direct calls, no HTTP, no serialisation.

Writes go through the same :class:`~kubenb.apiserver.endpoints.Endpoints` as HTTP requests
(defaults, managedFields, admission, the store's rules), minus full schema validation: the
issue says kubenb's own controllers need not pay for it, and what they write is built from
objects that were validated on the way in. Watches are the store's own, delivered synchronously
into the caller's queue, so an in-process watch never falls behind or expires.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from kubenb.api import errors
from kubenb.api.resources import ResourceType
from kubenb.api.selectors import parse_field_selector, parse_label_selector
from kubenb.apiserver.endpoints import Endpoints, WriteOptions
from kubenb.apiserver.store import WatchEvent
from kubenb.client.client import Deliver, ObjectList, WatchHandle, deepcopy

__all__ = ["InProcessTransport"]

Obj = dict[str, Any]


class InProcessTransport:
    """A :class:`~kubenb.client.client.Transport` over an :class:`Endpoints`."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self.store = endpoints.store
        self.registry = endpoints.registry

    def _rt(self, rt: ResourceType) -> ResourceType:
        served = self.registry.get(rt.group, rt.version, rt.plural)
        if served is None:
            raise errors.NotFound(f"the server could not find the requested resource "
                                  f"({rt.plural}.{rt.group or 'core'}/{rt.version})")
        return served

    @staticmethod
    def _opts(manager: str, dry_run: bool = False, force: bool = False) -> WriteOptions:
        return WriteOptions(field_manager=manager, validate=False, dry_run=dry_run, force=force,
                            field_validation="Ignore")

    def get(self, rt: ResourceType, namespace: str | None, name: str, *,
            subresource: str = "") -> Obj:
        rt = self._rt(rt)
        if subresource == "scale":
            return self.endpoints.get_scale(rt, namespace, name)
        return self.endpoints.get(rt, namespace, name)

    def list(self, rt: ResourceType, namespace: str | None, *, label_selector: str = "",
             field_selector: str = "") -> ObjectList:
        rt = self._rt(rt)
        result = self.endpoints.list(
            rt, namespace if rt.namespaced else None,
            labels=parse_label_selector(label_selector),
            fields=parse_field_selector(field_selector, allowed=rt.field_selectors,
                                        kind=rt.kind))
        return ObjectList([orjson.loads(raw) for raw in result.items],
                          str(result.resource_version))

    def create(self, rt: ResourceType, namespace: str | None, obj: Obj, *, manager: str,
               subresource: str = "", name: str = "", dry_run: bool = False) -> Obj:
        rt = self._rt(rt)
        opts = self._opts(manager, dry_run)
        if subresource == "binding":
            return self.endpoints.bind(namespace, name, obj, opts)
        if subresource == "eviction":
            return self.endpoints.evict(namespace, name, obj, opts)
        if subresource:
            raise errors.MethodNotAllowed(f"create is not supported on {rt.plural}/{subresource}")
        # the endpoints take the body over; the caller keeps its dict unchanged, as over HTTP
        return self.endpoints.create(rt, namespace, deepcopy(obj), opts)

    def replace(self, rt: ResourceType, namespace: str | None, name: str, obj: Obj, *,
                manager: str, subresource: str = "", dry_run: bool = False) -> Obj:
        return self.endpoints.replace(self._rt(rt), namespace, name, obj,
                                      self._opts(manager, dry_run), subresource=subresource)

    def patch(self, rt: ResourceType, namespace: str | None, name: str, patch_type: str,
              patch: Any, *, manager: str, subresource: str = "", force: bool = False,
              dry_run: bool = False) -> Obj:
        return self.endpoints.patch(self._rt(rt), namespace, name, patch_type, patch,
                                    self._opts(manager, dry_run, force), subresource=subresource)

    def delete(self, rt: ResourceType, namespace: str | None, name: str,
               options: Mapping[str, Any]) -> Obj:
        return self.endpoints.delete(self._rt(rt), namespace, name, options)

    def watch(self, rt: ResourceType, namespace: str | None, resource_version: str,
              deliver: Deliver, *, label_selector: str = "") -> tuple[WatchHandle, str]:
        rt = self._rt(rt)
        if "watch" not in rt.verbs:  # as over HTTP: computed resources (metrics) cannot be
            raise errors.MethodNotAllowed(  # watched
                "the server does not allow this method on the requested resource")

        def on_event(etype: str, ev: WatchEvent) -> None:
            deliver(etype, ev.raw)

        watch, rv = self.store.watch(rt, on_event, namespace=namespace,
                                     labels=parse_label_selector(label_selector),
                                     resource_version=resource_version)
        return watch, str(rv)

    def log(self, namespace: str, name: str, params: Mapping[str, str]) -> str:
        return self.endpoints.log(namespace, name, params)
