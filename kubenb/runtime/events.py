"""Events, as Kubernetes components record them: what ``kubectl describe`` and ``get events`` show.

A recorder writes core/v1 Events through the client, named ``<object>.<hex time>`` like
client-go's recorder, and correlates repeats: the same source, object, type, reason and message
again bumps ``count`` and ``lastTimestamp`` of the existing Event instead of writing a new one
(``x5 over 2m`` in kubectl).
"""

from __future__ import annotations

import itertools
import logging
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import EVENTS
from kubenb.api.meta import now_rfc3339
from kubenb.client.client import Client, PatchType
from kubenb.runtime.clock import Clock

__all__ = ["EventRecorder"]

log = logging.getLogger(__name__)

Obj = dict[str, Any]

_CORRELATION_CACHE = 4096


class EventRecorder:
    """Records Events for one component (``deployment-controller``, ``kubelet``...)."""

    def __init__(self, client: Client, clock: Clock, component: str, host: str = "",
                 seq: Iterator[int] | None = None) -> None:
        self.client = client
        self.clock = clock
        self.component = component
        self.host = host
        self._seen: OrderedDict[tuple[str, ...], tuple[str, str, int]] = OrderedDict()
        # share one sequence between the recorders of a cluster, so two components writing about
        # one object in the same (virtual) nanosecond never pick the same Event name
        self._seq = seq if seq is not None else itertools.count(1)
        #: every (type, reason, kind, namespace/name, message) recorded, in order, when set to a
        #: list (determinism tests compare two runs)
        self.journal: list[tuple[str, str, str, str, str]] | None = None

    def for_host(self, host: str) -> EventRecorder:
        """A recorder for the same component on another node (the kubelet's source.host)."""
        other = EventRecorder(self.client, self.clock, self.component, host, self._seq)
        other._seen = self._seen
        other.journal = self.journal
        return other

    def normal(self, obj: Obj, reason: str, message: str, *, field_path: str = "") -> None:
        self.event(obj, "Normal", reason, message, field_path=field_path)

    def warning(self, obj: Obj, reason: str, message: str, *, field_path: str = "") -> None:
        self.event(obj, "Warning", reason, message, field_path=field_path)

    def event(self, obj: Obj, etype: str, reason: str, message: str, *,
              field_path: str = "") -> None:
        """Record an event about ``obj``; failures are logged, never raised (as client-go)."""
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        involved: Obj = {"kind": obj.get("kind", ""), "namespace": meta.get("namespace", ""),
                         "name": meta.get("name", ""), "uid": meta.get("uid", ""),
                         "apiVersion": obj.get("apiVersion", ""),
                         "resourceVersion": meta.get("resourceVersion", "")}
        if not involved["namespace"]:
            del involved["namespace"]
        if field_path:
            involved["fieldPath"] = field_path
        if self.journal is not None:
            self.journal.append((etype, reason, involved["kind"],
                                 f"{meta.get('namespace') or ''}/{meta.get('name')}", message))
        now = self.clock.datetime()
        stamp = now_rfc3339(now)
        key = (self.component, self.host, involved["kind"], namespace, involved["name"],
               involved["uid"], field_path, etype, reason, message)
        try:
            seen = self._seen.get(key)
            if seen is not None:
                ev_ns, ev_name, count = seen
                try:
                    self.client.patch(EVENTS, ev_name, {"count": count + 1, "lastTimestamp": stamp},
                                      ev_ns, patch_type=PatchType.MERGE)
                    self._seen[key] = (ev_ns, ev_name, count + 1)
                    self._seen.move_to_end(key)
                    return
                except errors.NotFound:
                    del self._seen[key]
            name = f"{involved['name']}.{int(now.timestamp() * 1e9) + next(self._seq):x}"
            event: Obj = {
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": involved, "reason": reason, "message": message,
                "source": {"component": self.component, **({"host": self.host}
                                                            if self.host else {})},
                "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1, "type": etype,
                "eventTime": None, "reportingComponent": self.component,
                "reportingInstance": self.host or self.component,
            }
            self.client.create(EVENTS, event, namespace)
            self._seen[key] = (namespace, name, 1)
            if len(self._seen) > _CORRELATION_CACHE:
                self._seen.popitem(last=False)
        except errors.APIError as exc:
            log.debug("event %s/%s not recorded: %s", reason, involved["name"], exc)

