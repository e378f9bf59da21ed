"""Informers: a local, indexed cache of one resource, kept current by a watch.

As in client-go's ``tools/cache``: list, then watch from the list's resourceVersion; a cache keyed
by ``(namespace, name)``; indexes (by owner, by node...) for the lookups controllers do all the
time; handlers that only enqueue keys. One informer per resource is shared by every controller
(the shared informer factory), so a pod is parsed once per version however many controllers look
at it.

The watch delivers into an inbox from whichever thread wrote; the engine drains inboxes in its own
thread before every reconcile, so a controller always sees its own earlier writes (which is what
client-go needs "expectations" for). A watch that expires (``410 Gone`` over HTTP) is answered by
a re-list whose differences with the cache are replayed as events.

Cached objects are shared and must not be changed; ``managedFields`` are dropped on the way in
(client-go's transform hook is used for the same), since no controller reads them and they are a
large part of an object.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from kubenb.api.resources import ResourceType
from kubenb.client.client import Client, WatchHandle

__all__ = ["Handler", "Informer", "Key", "by_controller_owner", "by_node", "key_of"]

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace "" when cluster-scoped
IndexFunc = Callable[[Obj], Iterable[str]]


def key_of(obj: Obj) -> Key:
    meta = obj["metadata"]
    return (meta.get("namespace") or "", meta["name"])


def by_controller_owner(obj: Obj) -> Iterable[str]:
    """Index value: the uid of the object's controlling owner."""
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return (ref["uid"],)
    return ()


def by_owner(obj: Obj) -> Iterable[str]:
    """Index value: the uid of every owner (what the garbage collector follows)."""
    return tuple(ref["uid"] for ref in obj["metadata"].get("ownerReferences") or ())


#: shared index names: every controller that needs one of these uses the same one, so the pod
#: informer keeps one copy of each index however many controllers read it
BY_CONTROLLER = "controller"  # by_controller_owner
BY_NODE = "node"  # by_node
BY_NAMESPACE = "namespace"  # by_namespace
ORPHANS = "orphans"  # orphan_namespace


def orphan_namespace(obj: Obj) -> Iterable[str]:
    """Index value: the namespace of an object no controller owns (a candidate for adoption)."""
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ()
    return (obj["metadata"].get("namespace") or "",)


def by_node(obj: Obj) -> Iterable[str]:
    node = (obj.get("spec") or {}).get("nodeName")
    return (node,) if node else ()


def by_namespace(obj: Obj) -> Iterable[str]:
    return (obj["metadata"].get("namespace") or "",)


class Interner:
    """Shares equal parts of cached objects, which are immutable by contract.

    A parsed pod is about five times its JSON in Python objects, and most of it is the same in
    many pods: the containers, volumes and tolerations of its template, its labels and owner, and
    in its status the conditions and container states stamped in the same second, its node's
    addresses, and the strings (``True``, ``Ready``, image names, times) that JSON parsing makes
    afresh for every object. Parts of a new version equal to the previous version's are taken
    from it (cheap: most of an update did not move); any other part is hash-consed through a
    bounded table of canonical values keyed by the hash of their JSON (and compared on a hit),
    children first, and short strings are interned. A value pushed out of the table only loses
    sharing.
    """

    #: parts of metadata shared between objects (name, uid and resourceVersion never are)
    _META = ("labels", "annotations", "ownerReferences", "finalizers", "generateName",
             "namespace", "creationTimestamp")

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._table: dict[int, Any] = {}

    def share(self, value: Any) -> Any:
        """The canonical value equal to ``value`` (which may be mutated to share its parts)."""
        kind = type(value)
        if kind is str:
            return sys.intern(value) if len(value) <= 128 else value  # image IDs too
        if kind is not dict and kind is not list:
            return value
        # keyed by the hash of the JSON, not the JSON: orjson's bytes keep the buffer they were
        # built in (a kilobyte or more for a 50-byte key, times the table); a hit is compared
        key = hash(orjson.dumps(value))
        found = self._table.get(key)
        if found is not None and found == value:
            return found
        share = self.share
        if kind is dict:
            for name, child in value.items():  # same keys, new values: no resize mid-loop
                if type(child) is not int and child is not None:
                    value[name] = share(child)
        else:
            for i, child in enumerate(value):
                value[i] = share(child)
        table = self._table
        if len(table) >= self.size:
            del table[next(iter(table))]  # the oldest goes
        table[key] = value
        return value

    def _section(self, new: Obj, old: Obj | None) -> None:
        share = self.share
        for name, value in new.items():
            if type(value) is int or value is None or value is True or value is False:
                continue
            if old is not None:
                prev = old.get(name)
                if prev is value:
                    continue
                if prev is not None and value == prev:
                    new[name] = prev
                    continue
            new[name] = share(value)

    def __call__(self, obj: Obj, old: Obj | None) -> Obj:
        meta = obj["metadata"]
        meta.pop("managedFields", None)
        for name in ("apiVersion", "kind"):
            value = obj.get(name)
            if type(value) is str:
                obj[name] = sys.intern(value)
        old_meta = old["metadata"] if old is not None else {}
        share = self.share
        for name in self._META:
            value = meta.get(name)
            if value is None:
                continue
            prev = old_meta.get(name)
            meta[name] = prev if prev is not None and value == prev else share(value)
        for section in ("spec", "status"):
            new_part = obj.get(section)
            if type(new_part) is not dict:
                continue
            old_part = old.get(section) if old is not None else None
            if type(old_part) is not dict:
                old_part = None
            elif new_part == old_part:
                obj[section] = old_part
                continue
            self._section(new_part, old_part)
        return obj


class Handler:
    """Callbacks for cache changes; each should only enqueue work."""

    def __init__(self, on_add: Callable[[Obj], None] | None = None,
                 on_update: Callable[[Obj, Obj], None] | None = None,
                 on_delete: Callable[[Obj], None] | None = None) -> None:
        self.on_add = on_add
        self.on_update = on_update
        self.on_delete = on_delete


class Informer:
    """The cache of one resource (optionally one namespace) and its watch."""

    def __init__(self, client: Client, rt: ResourceType, *, namespace: str | None = None,
                 wakeup: Callable[[], None] | None = None,
                 transform: Callable[[Obj, Obj | None], Obj] | None = None) -> None:
        self.client = client
        self.rt = rt
        self.namespace = namespace
        self.transform = transform or Interner()
        self._wakeup = wakeup
        self._cache: dict[Key, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {}
        # index value -> keys, as an insertion-ordered dict: iteration order is then the order of
        # events, which is deterministic, with no sort per lookup
        self._indexes: dict[str, dict[str, dict[Key, None]]] = {}
        self._handlers: list[Handler] = []
        self._inbox: deque[tuple[str, bytes]] = deque()
        self._watch: WatchHandle | None = None
        self._lock = threading.Lock()
        self.resource_version = ""
        self.started = False

    # -- set-up
    def add_index(self, name: str, fn: IndexFunc) -> None:
        if name in self._indexers:
            return
        self._indexers[name] = fn
        index: dict[str, dict[Key, None]] = {}
        for key, obj in self._cache.items():
            for value in fn(obj):
                index.setdefault(value, {})[key] = None
        self._indexes[name] = index

    def add_handler(self, handler: Handler) -> None:
        """Register callbacks; objects already cached are replayed to ``on_add``."""
        self._handlers.append(handler)
        if handler.on_add is not None:
            for obj in list(self._cache.values()):
                handler.on_add(obj)

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        self._start_watch("")

    def _start_watch(self, resource_version: str) -> None:
        self._watch, rv = self.client.watch(self.rt, self._deliver, namespace=self.namespace,
                                            resource_version=resource_version)
        self.resource_version = rv

    def stop(self) -> None:
        if self._watch is not None:
            self._watch.stop()
            self._watch = None

    def _deliver(self, etype: str, raw: bytes) -> None:
        self._inbox.append((etype, raw))  # deque.append is atomic; the engine drains
        if self._wakeup is not None:
            self._wakeup()

    # -- engine side
    def pending(self) -> bool:
        return bool(self._inbox)

    def drain(self) -> int:
        """Apply queued watch events to the cache and call the handlers; returns how many."""
        n = 0
        inbox = self._inbox
        while inbox:
            etype, raw = inbox.popleft()
            n += 1
            if etype == "GONE":
                self._relist()
                continue
            obj = orjson.loads(raw)
            key = key_of(obj)
            obj = self.transform(obj, self._cache.get(key))
            if etype == "DELETED":
                old = self._cache.pop(key, None)
                if old is not None:
                    self._unindex(key, old)
                for h in self._handlers:
                    if h.on_delete is not None:
                        h.on_delete(obj)
                continue
            old = self._cache.get(key)
            self._cache[key] = obj
            if old is not None:
                self._unindex(key, old)
            self._index(key, obj)
            self.resource_version = obj["metadata"].get("resourceVersion", "")
            for h in self._handlers:
                if old is None:
                    if h.on_add is not None:
                        h.on_add(obj)
                elif h.on_update is not None:
                    h.on_update(old, obj)
        return n

    def _relist(self) -> None:
        """The watch expired: list again, replay the differences, watch from the list."""
        self.stop()
        listed = self.client.list(self.rt, self.namespace)
        fresh = {key_of(o): self.transform(o, self._cache.get(key_of(o))) for o in listed.items}
        for key in [k for k in self._cache if k not in fresh]:
            self._inbox.appendleft(("DELETED", orjson.dumps(self._cache[key])))
        for obj in fresh.values():
            old = self._cache.get(key_of(obj))
            if old is None or old["metadata"].get("resourceVersion") != \
                    obj["metadata"].get("resourceVersion"):
                self._inbox.append(("MODIFIED" if old else "ADDED", orjson.dumps(obj)))
        self._start_watch(listed.resource_version)

    def _index(self, key: Key, obj: Obj) -> None:
        for name, fn in self._indexers.items():
            index = self._indexes[name]
            for value in fn(obj):
                index.setdefault(value, {})[key] = None

    def _unindex(self, key: Key, obj: Obj) -> None:
        for name, fn in self._indexers.items():
            index = self._indexes[name]
            for value in fn(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.pop(key, None)
                    if not keys:
                        del index[value]

    # -- reads (engine thread)
    def get(self, name: str, namespace: str | None = None) -> Obj | None:
        return self._cache.get((namespace or "", name) if self.rt.namespaced else ("", name))

    def list(self, namespace: str | None = None) -> list[Obj]:
        if namespace is None:
            return list(self._cache.values())
        return [o for k, o in self._cache.items() if k[0] == namespace]

    def by_index(self, index: str, value: str) -> list[Obj]:
        """Cached objects with ``value`` in ``index``, in the order they were first indexed."""
        keys = self._indexes[index].get(value)
        if not keys:
            return []
        cache = self._cache
        return [cache[k] for k in keys]

    def count_index(self, index: str, value: str) -> int:
        return len(self._indexes[index].get(value) or ())

    def index_values(self, index: str) -> Iterator[str]:
        return iter(list(self._indexes[index]))

    def __len__(self) -> int:
        return len(self._cache)

    def __iter__(self) -> Iterator[Obj]:
        return iter(list(self._cache.values()))
