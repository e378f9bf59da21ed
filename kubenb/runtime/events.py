"""Events, as Kubernetes components record them: what ``kubectl describe`` and ``get events`` show.

A recorder writes core/v1 Events through the client, named ``<object>.<hex time>`` like
client-go's recorder, and correlates them as client-go's ``EventCorrelator`` does by default:

* **de-duplication**: the same source, object, type, reason and message again bumps ``count`` and
  ``lastTimestamp`` of the existing Event instead of writing a new one (``x5 over 2m``);
* **aggregation**: from the 10th distinct message with the same source, object, type and reason
  within 10 minutes, the events become one ``(combined from similar events): <message>`` Event
  whose count grows (a ReplicaSet creating 100 pods shows 9 ``Created pod`` events and one
  combined one);
* **spam filter**: a source may record 25 events about one object, then one more per 5 minutes of
  cluster time; the rest are dropped (a token bucket per source and object).

The caches are shared by the recorders of one component (all kubelets share theirs), and are
bounded like client-go's LRU caches.
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

_CORRELATION_CACHE = 4096  # client-go's maxLruCacheEntries
_AGGREGATE_MAX_EVENTS = 10
_AGGREGATE_INTERVAL = 600.0  # seconds
_SPAM_BURST = 25
_SPAM_QPS = 1.0 / 300.0
_COMBINED = "(combined from similar events): "


class _Correlation:
    """The three LRU caches of one component's correlator."""

    def __init__(self) -> None:
        # event key -> (namespace, name, count) of the Event last written for it
        self.seen: OrderedDict[tuple[str, ...], tuple[str, str, int]] = OrderedDict()
        # aggregate key -> (distinct messages, time of the last one)
        self.similar: OrderedDict[tuple[str, ...], tuple[dict[str, None], float]] = OrderedDict()
        # source + object -> (tokens, time they were counted)
        self.budget: OrderedDict[tuple[str, ...], tuple[float, float]] = OrderedDict()

    @staticmethod
    def put(cache: OrderedDict[tuple[str, ...], Any], key: tuple[str, ...], value: Any) -> None:
        cache[key] = value
        cache.move_to_end(key)
        if len(cache) > _CORRELATION_CACHE:
            cache.popitem(last=False)

    def aggregate(self, key: tuple[str, ...], message: str, now: float) -> bool:
        """Note ``message`` under ``key``; True when the event is to be combined."""
        record = self.similar.get(key)
        if record is None or now - record[1] > _AGGREGATE_INTERVAL:
            messages: dict[str, None] = {}
        else:
            messages = record[0]
        messages[message] = None
        combine = len(messages) >= _AGGREGATE_MAX_EVENTS
        if combine:  # keep the set from growing past the maximum (client-go's PopAny)
            del messages[next(iter(messages))]
        self.put(self.similar, key, (messages, now))
        return combine

    def allow(self, key: tuple[str, ...], now: float) -> bool:
        """Take a token from the source+object bucket; False when it is empty."""
        tokens, then = self.budget.get(key, (float(_SPAM_BURST), now))
        tokens = min(float(_SPAM_BURST), tokens + (now - then) * _SPAM_QPS)
        allowed = tokens >= 1.0
        self.put(self.budget, key, (tokens - 1.0 if allowed else tokens, now))
        return allowed


class EventRecorder:
    """Records Events for one component (``deployment-controller``, ``kubelet``...)."""

    def __init__(self, client: Client, clock: Clock, component: str, host: str = "",
                 seq: Iterator[int] | None = None) -> None:
        self.client = client
        self.clock = clock
        self.component = component
        self.host = host
        self._correlation = _Correlation()
        # share one sequence between the recorders of a cluster, so two components writing about
        # one object in the same (virtual) nanosecond never pick the same Event name
        self._seq = seq if seq is not None else itertools.count(1)
        #: every (type, reason, kind, namespace/name, message) recorded, in order, when set to a
        #: list (determinism tests compare two runs)
        self.journal: list[tuple[str, str, str, str, str]] | None = None

    def for_host(self, host: str) -> EventRecorder:
        """A recorder for the same component on another node (the kubelet's source.host)."""
        other = EventRecorder(self.client, self.clock, self.component, host, self._seq)
        other._correlation = self._correlation
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
        when = now.timestamp()
        corr = self._correlation
        source = (self.component, self.host, involved["kind"], namespace, involved["name"],
                  involved["uid"], involved["apiVersion"])
        key: tuple[str, ...] = (*source, field_path, etype, reason, message)
        if corr.aggregate((*source, etype, reason), message, when):
            key = (*source, etype, reason)  # one combined Event for all of them
            message = _COMBINED + message
        seen = corr.seen.get(key)
        # the observation counts even when the spam filter then drops the event (as client-go)
        count = seen[2] + 1 if seen is not None else 1
        if seen is not None:
            corr.put(corr.seen, key, (seen[0], seen[1], count))
        if not corr.allow(source, when):
            log.debug("event %s/%s dropped by the spam filter", reason, involved["name"])
            return
        try:
            if seen is not None:
                ev_ns, ev_name, _ = seen
                try:
                    self.client.patch(EVENTS, ev_name, {"count": count, "lastTimestamp": stamp,
                                                        "message": message},
                                      ev_ns, patch_type=PatchType.MERGE)
                    return
                except errors.NotFound:
                    corr.seen.pop(key, None)
            name = f"{involved['name']}.{int(when * 1e9) + next(self._seq):x}"
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
            corr.put(corr.seen, key, (namespace, name, 1))
        except errors.APIError as exc:
            log.debug("event %s/%s not recorded: %s", reason, involved["name"], exc)
