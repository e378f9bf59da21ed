"""The versioned object store: what etcd plus kube-apiserver's generic registry give Kubernetes.

The store knows nothing of HTTP. It holds every object as the JSON bytes it will be served as
(serialised once per object version, so LIST and WATCH only join bytes), beside the few things it
must read without parsing (labels, selectable fields). One counter gives every write its
``resourceVersion``; a bounded history of events lets watchers resume from a version and be told
``410 Gone`` when it has been compacted away.

The rules applied here are the ones every resource shares: uid, creationTimestamp, generation
(bumped when anything but metadata and status changes), optimistic concurrency (409 on a stale
resourceVersion), namespaces that must exist and that refuse new objects while terminating,
finalizers that hold a deleted object with ``deletionTimestamp`` set, graceful deletion of bound
pods, delete preconditions, and leases: objects of a resource given a ttl (Events, as
kube-apiserver's ``--event-ttl`` gives them an etcd lease) are deleted by :meth:`Store.expire` a ttl
after their last write. What differs per resource (validation, defaults, status and scale
subresources, patches) lives in :mod:`kubenb.apiserver.endpoints`, which calls in here.

Thread safety: one re-entrant lock orders every write; watcher callbacks run under it and must only
enqueue. A durable :class:`Backend` (SQLite, in :mod:`kubenb.apiserver.sqlite`) sees every write
before it is acknowledged.
"""

from __future__ import annotations

import base64
import bisect
import datetime
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import orjson

from kubenb.api import errors
from kubenb.api.conversion import Converter, converter_for, field_label_to_storage
from kubenb.api.meta import generate_name, new_uid, now_rfc3339
from kubenb.api.resources import Registry, ResourceType, StorageKey
from kubenb.api.selectors import FieldSelector, LabelSelector

__all__ = ["Backend", "Entry", "ListResult", "Store", "Watch", "WatchEvent"]

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects

INITIAL_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
_EMPTY: Mapping[str, str] = {}


class Backend(Protocol):
    """Where writes go before they are acknowledged (a no-op for the in-memory store)."""

    def load(self) -> tuple[int, Iterable[tuple[StorageKey, Key, bytes]]]: ...
    def put(self, storage: StorageKey, key: Key, raw: bytes, rv: int) -> None: ...
    def delete(self, storage: StorageKey, key: Key, rv: int) -> None: ...
    def close(self) -> None: ...


class Entry:
    """One stored object version."""

    __slots__ = ("fields", "labels", "raw", "rv")

    def __init__(self, raw: bytes, rv: int, labels: Mapping[str, str],
                 fields: Mapping[str, str]) -> None:
        self.raw = raw
        self.rv = rv
        self.labels = labels
        self.fields = fields


class WatchEvent(NamedTuple):
    """A change, as kept in the history and offered to watchers.

    Immutable like a frozen dataclass, but a named tuple: one is made per write, and a tuple is
    built in a fraction of the time a frozen dataclass's ``__init__`` takes (measured ~0.4 us
    against ~2.2 us).
    """

    type: str  # ADDED MODIFIED DELETED (BOOKMARK and ERROR are made by the transport)
    storage: StorageKey
    key: Key
    rv: int
    raw: bytes
    labels: Mapping[str, str]
    fields: Mapping[str, str]
    prev_labels: Mapping[str, str] | None = None
    prev_fields: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class ListResult:
    items: list[bytes]
    resource_version: int
    continue_token: str
    remaining: int | None


class Watch:
    """A registered watcher; ``deliver`` is called (under the store lock) for each match."""

    def __init__(self, store: Store, storage: StorageKey, namespace: str | None,
                 labels: LabelSelector, fields: FieldSelector,
                 deliver: Callable[[str, WatchEvent], None]) -> None:
        self._store = store
        self.storage = storage
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.deliver = deliver
        self.stopped = False

    def _matches(self, labels: Mapping[str, str] | None, fields: Mapping[str, str] | None) -> bool:
        if labels is None or fields is None:
            return False
        return self.labels.matches(labels) and self.fields.matches(fields)

    def offer(self, ev: WatchEvent) -> None:
        if self.namespace and ev.key[0] != self.namespace:
            return
        now = self._matches(ev.labels, ev.fields)
        if ev.type == "MODIFIED":
            before = self._matches(ev.prev_labels, ev.prev_fields)
            if now and not before:
                self.deliver("ADDED", ev)
            elif before and not now:
                self.deliver("DELETED", ev)
            elif now:
                self.deliver("MODIFIED", ev)
        elif now:
            self.deliver(ev.type, ev)

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self._store._remove_watch(self)


def _dump(obj: Obj) -> bytes:
    # orjson's bytes keep the over-allocated buffer they were built in (2-3x the length, measured
    # by bench/memory.py); a copy of exact size halves what every stored version costs
    return bytes(memoryview(orjson.dumps(obj)))


def _get_path(obj: Mapping[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


class FieldValues(Mapping[str, str]):
    """The selectable fields of one stored object: a values tuple beside a key table shared by
    every object of its kind (a dict per object cost ~10x as much, times every pod and event)."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: Mapping[str, int], values: tuple[str, ...]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: str) -> str:
        return self._values[self._index[key]]

    def get(self, key: str, default: Any = None) -> Any:
        i = self._index.get(key)
        return default if i is None else self._values[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._values)


_FIELD_INDEXES: dict[tuple[str, ...], dict[str, int]] = {}
_FIELD_PARTS: dict[tuple[str, ...], tuple[tuple[str, ...], ...]] = {}


def selectable_fields(rt: ResourceType, obj: Mapping[str, Any]) -> FieldValues:
    """The values a field selector can test, as strings (``true``/``false`` for booleans).

    Values other than the name repeat across objects (namespace, phase, node, event reason...):
    they are interned, so a million events share a handful of strings."""
    labels = rt.field_selectors
    index = _FIELD_INDEXES.get(labels)
    if index is None:
        keys = ("metadata.name", "metadata.namespace", *labels)
        index = _FIELD_INDEXES[labels] = {k: i for i, k in enumerate(keys)}
    paths = rt.field_paths or labels
    parts_of = _FIELD_PARTS.get(paths)
    if parts_of is None:
        parts_of = _FIELD_PARTS[paths] = tuple(tuple(p.split(".")) for p in paths)
    meta = obj.get("metadata") or {}
    intern = sys.intern
    values = [meta.get("name", ""), intern(meta.get("namespace", ""))]
    append = values.append
    for parts in parts_of:
        value: Any = obj
        for part in parts:  # _get_path, with the paths split once per kind
            if type(value) is dict or isinstance(value, Mapping):
                value = value.get(part)
            else:
                value = None
                break
        if type(value) is str:  # most values: no conversion
            append(intern(value) if len(value) <= 64 else value)
        elif value is None:
            append("")
        elif isinstance(value, bool):
            append("true" if value else "false")
        else:
            text = str(value)
            append(intern(text) if len(text) <= 64 else text)
    return FieldValues(index, tuple(values))


def encode_continue(rv: int, start: Key) -> str:
    token = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": f"{start[0]}/{start[1]}\x00"})
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, Key]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        ns, _, name = data["start"].rstrip("\x00").partition("/")
        return int(data["rv"]), (ns, name)
    except Exception as exc:  # any malformed token is the client's fault
        raise errors.BadRequest(f"continue key is not valid: {exc}") from None


class Store:
    """Versioned objects of every resource, with watch history. See the module docstring."""

    def __init__(self, registry: Registry, *, backend: Backend | None = None,
                 history: int = 50_000,
                 clock: Callable[[], datetime.datetime] | None = None,
                 ttl: Mapping[StorageKey, float] | None = None) -> None:
        self.registry = registry
        self._lock = threading.RLock()
        self._tables: dict[StorageKey, dict[Key, Entry]] = {}
        self._sorted: dict[StorageKey, list[Key]] = {}
        self._unsorted: set[StorageKey] = set()
        self._watchers: dict[StorageKey, set[Watch]] = {}
        self._history: deque[WatchEvent] = deque()
        self._history_limit = history
        self._compacted = 0  # events with rv <= this are no longer in the history
        self._rv = 0
        self._backend = backend
        self._clock = clock or (lambda: datetime.datetime.now(datetime.UTC))
        #: Objects written since start, by operation; read by benchmarks and tests.
        self.counters = {"create": 0, "update": 0, "delete": 0, "expire": 0}
        #: seconds each object of these resources lives after its last write (see expire)
        self._ttl = {storage: float(seconds) for storage, seconds in (ttl or {}).items()}
        #: per resource with a ttl: (second, last resourceVersion written in that second)
        self._lease_marks: dict[StorageKey, deque[tuple[int, int]]] = {
            storage: deque() for storage in self._ttl}
        if backend is not None:
            rv, rows = backend.load()
            for storage, key, raw in rows:
                obj = orjson.loads(raw)
                rt = self._resource_for(storage, obj)
                self._table(storage)[key] = Entry(raw, int(obj["metadata"]["resourceVersion"]),
                                                  _labels(obj), selectable_fields(rt, obj))
            self._rv = self._compacted = rv
            for storage in self._ttl:
                # as etcd renews leases when it restarts, what was loaded lives one ttl from now
                table = self._tables.get(storage)
                if table:
                    ordered = sorted(table.items(), key=lambda item: item[1].rv)
                    table.clear()
                    table.update(ordered)
                    self._lease_marks[storage].append(
                        (int(self._clock().timestamp()), ordered[-1][1].rv))
        ns_rt = self._namespaces_rt()
        for name in INITIAL_NAMESPACES:
            if ("", name) not in self._table(ns_rt.storage):
                self.create(ns_rt, {"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": name},
                                    "spec": {"finalizers": ["kubernetes"]},
                                    "status": {"phase": "Active"}})

    # ------------------------------------------------------------------ helpers

    def _namespaces_rt(self) -> ResourceType:
        rt = self.registry.get("", "v1", "namespaces")
        assert rt is not None
        return rt

    def _resource_for(self, storage: StorageKey, obj: Mapping[str, Any]) -> ResourceType:
        for rt in self.registry.versions_of(storage):
            if rt.alias_of is None:
                return rt
        # a custom resource whose CRD is not registered yet at load time
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        return ResourceType(group=group, version=version, kind=str(obj.get("kind", "")),
                            plural=storage[1], namespaced=bool(obj["metadata"].get("namespace")),
                            custom=True)

    def _table(self, storage: StorageKey) -> dict[Key, Entry]:
        table = self._tables.get(storage)
        if table is None:
            table = self._tables[storage] = {}
        return table

    def _sorted_keys(self, storage: StorageKey) -> list[Key]:
        keys = self._sorted.get(storage)
        if keys is None:
            keys = self._sorted[storage] = sorted(self._table(storage))
        elif storage in self._unsorted:
            keys.sort()
            self._unsorted.discard(storage)
        return keys

    def _storage_rt(self, rt: ResourceType) -> ResourceType:
        """The resource whose form is stored (itself, unless ``rt`` is another version)."""
        if rt.alias_of is None:
            return rt
        for other in self.registry.versions_of(rt.storage):
            if other.alias_of is None:
                return other
        return rt

    @staticmethod
    def _converter(rt: ResourceType) -> Converter | None:
        return converter_for(rt.group, rt.version, rt.kind) if rt.alias_of else None

    def _out(self, rt: ResourceType, obj: Obj) -> Obj:
        conv = self._converter(rt)
        return conv.from_storage(obj) if conv else obj

    def _out_raw(self, rt: ResourceType, raw: bytes) -> bytes:
        conv = self._converter(rt)
        return _dump(conv.from_storage(orjson.loads(raw))) if conv else raw

    def _storage_fields(self, rt: ResourceType, fields: FieldSelector) -> FieldSelector:
        conv = self._converter(rt)
        if conv is None or fields.empty:
            return fields
        return FieldSelector(tuple((field_label_to_storage(conv, name), eq, value)
                                   for name, eq, value in fields.terms))

    def now(self) -> datetime.datetime:
        return self._clock()

    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def _key(self, rt: ResourceType, namespace: str | None, name: str) -> Key:
        return (namespace or "", name) if rt.namespaced else ("", name)

    def _not_found(self, rt: ResourceType, name: str) -> errors.NotFound:
        return errors.NotFound(f'{rt.qualified} "{name}" not found', name=name, group=rt.group,
                               kind=rt.plural)

    def _emit(self, ev: WatchEvent) -> None:
        self._history.append(ev)
        if len(self._history) > self._history_limit:
            self._compacted = self._history.popleft().rv
        for w in tuple(self._watchers.get(ev.storage, ())):
            w.offer(ev)

    def _commit(self, rt: ResourceType, key: Key, obj: Obj, etype: str,
                prev: Entry | None) -> Obj:
        """Give ``obj`` the next resourceVersion, store it, persist it, tell the watchers."""
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        raw = _dump(obj)
        storage = rt.storage
        labels = _labels(obj)
        fields = selectable_fields(self._storage_rt(rt), obj)
        table = self._table(storage)
        if etype == "DELETED":
            if self._backend is not None:
                self._backend.delete(storage, key, self._rv)
            del table[key]
            keys = self._sorted_keys(storage) if storage in self._sorted else None
            if keys is not None:
                i = bisect.bisect_left(keys, key)
                if i < len(keys) and keys[i] == key:
                    del keys[i]
            self.counters["delete"] += 1
        else:
            if self._backend is not None:
                self._backend.put(storage, key, raw, self._rv)
            marks = self._lease_marks.get(storage) if self._ttl else None
            if marks is not None:
                self._lease(marks)
                if prev is not None:
                    del table[key]  # to the end: the table stays in order of last write
            table[key] = Entry(raw, self._rv, labels, fields)
            if prev is None:
                keys = self._sorted.get(storage)
                if keys is not None:
                    # appended now, sorted when next listed: timsort merges the sorted run and
                    # the few new keys in linear time, where insort would move memory per create
                    keys.append(key)
                    self._unsorted.add(storage)
                self.counters["create"] += 1
            else:
                self.counters["update"] += 1
        self._emit(WatchEvent(etype, storage, key, self._rv, raw, labels, fields,
                              prev.labels if prev else None, prev.fields if prev else None))
        return obj

    def reindex_fields(self, rt: ResourceType) -> None:
        """Recompute the selectable fields of every stored object of ``rt``, whose field
        selectors changed (a CRD that declares ``selectableFields``, or stops declaring them)."""
        with self._lock:
            table = self._tables.get(rt.storage)
            for entry in (table or {}).values():
                entry.fields = selectable_fields(rt, orjson.loads(entry.raw))

    # ------------------------------------------------------------------ leases

    def _lease(self, marks: deque[tuple[int, int]]) -> None:
        """Note the write being committed (resourceVersion ``self._rv``) in its resource's
        lease marks: one mark per second of writes, holding the last version of that second."""
        second = int(self._clock().timestamp())
        if marks and marks[-1][0] == second:
            marks[-1] = (second, self._rv)
        else:
            marks.append((second, self._rv))

    def expire(self, now: float | None = None) -> int:
        """Delete the objects whose ttl ran out since their last write; returns how many.

        This is what kube-apiserver's ``--event-ttl`` does with an etcd lease on every Event
        write: the object is gone (watchers see DELETED, finalizers or not) once the ttl has
        passed since it was last written, and every write starts the wait again. A table of a
        resource with a ttl is kept in order of last write, and the marks say which version was
        written by when, so expiry reads only what expires. It runs when it is called (the
        engine calls it on the cluster clock), so objects may outlive their ttl by the time
        between calls and by up to a second more.
        """
        if not self._ttl:
            return 0
        now = self._clock().timestamp() if now is None else now
        expired = 0
        with self._lock:
            for storage, ttl in self._ttl.items():
                marks = self._lease_marks[storage]
                watermark = 0
                # every write with a version up to a mark's happened before the end of its
                # second, so it expired once that second plus the ttl has passed
                while marks and marks[0][0] + 1 + ttl <= now:
                    watermark = marks.popleft()[1]
                table = self._tables.get(storage)
                if not watermark or not table:
                    continue
                victims = []
                for key, entry in table.items():
                    if entry.rv > watermark:
                        break
                    victims.append((key, entry))
                for key, entry in victims:
                    obj = orjson.loads(entry.raw)
                    rt = self._resource_for(storage, obj)
                    self._commit(rt, key, obj, "DELETED", entry)
                    self.counters["expire"] += 1
                    expired += 1
        return expired

    def _check_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        ns_entry = self._tables.get(("", "namespaces"), {}).get(("", namespace))
        if ns_entry is None:
            raise errors.NotFound(f'namespaces "{namespace}" not found', name=namespace,
                                  kind="namespaces")
        if ns_entry.fields.get("status.phase") == "Terminating":
            raise errors.Forbidden(
                f'{rt.qualified} "{name}" is forbidden: unable to create new content in '
                f"namespace {namespace} because it is being terminated",
                name=name, group=rt.group, kind=rt.plural,
                causes=[errors.Cause("NamespaceTerminating",
                                     f"namespace {namespace} is being terminated",
                                     "metadata.namespace")],
            )

    # ------------------------------------------------------------------ reads

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        return orjson.loads(self.get_raw(rt, namespace, name))

    def get_raw(self, rt: ResourceType, namespace: str | None, name: str) -> bytes:
        entry = self._tables.get(rt.storage, {}).get(self._key(rt, namespace, name))
        if entry is None:
            raise self._not_found(rt, name)
        return self._out_raw(rt, entry.raw)

    def exists(self, rt: ResourceType, namespace: str | None, name: str) -> bool:
        return self._key(rt, namespace, name) in self._tables.get(rt.storage, {})

    def count(self, rt: ResourceType) -> int:
        return len(self._tables.get(rt.storage, {}))

    def list(self, rt: ResourceType, *, namespace: str | None = None,
             labels: LabelSelector = LabelSelector(), fields: FieldSelector = FieldSelector(),
             limit: int = 0, continue_token: str = "") -> ListResult:
        """Objects in key order; ``limit``/``continue`` page through them."""
        fields = self._storage_fields(rt, fields)
        with self._lock:
            table = self._tables.get(rt.storage, {})
            keys = self._sorted_keys(rt.storage)
            rv = self._rv
            start = 0
            if continue_token:
                token_rv, after = decode_continue(continue_token)
                rv = token_rv
                start = bisect.bisect_right(keys, after)
            elif namespace and rt.namespaced:
                start = bisect.bisect_left(keys, (namespace, ""))
            check_labels = not labels.empty
            check_fields = not fields.empty
            items: list[bytes] = []
            last: Key | None = None
            i = start
            n = len(keys)
            while i < n:
                key = keys[i]
                if namespace and rt.namespaced and key[0] != namespace:
                    if key[0] > namespace:
                        break
                    i += 1
                    continue
                entry = table[key]
                i += 1
                if check_labels and not labels.matches(entry.labels):
                    continue
                if check_fields and not fields.matches(entry.fields):
                    continue
                items.append(entry.raw)
                last = key
                if limit and len(items) >= limit:
                    break
            token = ""
            remaining = None
            if limit and last is not None and len(items) >= limit:
                more = any(
                    (not namespace or not rt.namespaced or k[0] == namespace)
                    for k in keys[i:i + 1]
                ) if i < n else False
                if more:
                    token = encode_continue(rv, last)
                    if not check_labels and not check_fields:
                        remaining = sum(1 for k in keys[i:]
                                        if not namespace or not rt.namespaced or k[0] == namespace)
            if self._converter(rt) is not None:
                items = [self._out_raw(rt, raw) for raw in items]
            return ListResult(items, rv, token, remaining)

    # ------------------------------------------------------------------ writes

    def create(self, rt: ResourceType, obj: Obj, *, dry_run: bool = False,
               now: str | None = None) -> Obj:
        """Store a new object. ``obj`` is taken over (the caller must not keep using it).
        ``now``: the creationTimestamp, when the caller read the clock for this create already
        (so it matches the managedFields time); otherwise the store's clock now."""
        conv = self._converter(rt)
        if conv is not None:
            return conv.from_storage(self.create(self._storage_rt(rt), conv.to_storage(obj),
                                                 dry_run=dry_run, now=now))
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.BadRequest("metadata must be an object")
        if meta.get("resourceVersion"):
            raise errors.BadRequest("resourceVersion should not be set on objects to be created",
                                    kind=rt.kind)
        with self._lock:
            namespace = meta.get("namespace") or ""
            if rt.namespaced:
                if not namespace:
                    raise errors.BadRequest("the namespace of the object cannot be empty")
            elif "namespace" in meta:
                del meta["namespace"]
            generated = not meta.get("name") and meta.get("generateName")
            for _attempt in range(8):
                if generated:
                    meta["name"] = generate_name(meta["generateName"])
                name = meta.get("name")
                if not name:
                    raise errors.Invalid(
                        f"{rt.kind} \"\" is invalid: metadata.name: Required value: name or "
                        "generateName is required", kind=rt.kind, group=rt.group,
                        causes=[errors.Cause("FieldValueRequired",
                                             "Required value: name or generateName is required",
                                             "metadata.name")])
                key = self._key(rt, namespace, name)
                if key not in self._table(rt.storage):
                    break
                if not generated:
                    raise errors.AlreadyExists(f'{rt.qualified} "{name}" already exists',
                                               name=name, group=rt.group, kind=rt.plural)
            else:
                raise errors.AlreadyExists(f'{rt.qualified} "{name}" already exists', name=name,
                                           group=rt.group, kind=rt.plural)
            if rt.namespaced:
                self._check_namespace(rt, namespace, name)
            if not meta.get("uid"):
                meta["uid"] = new_uid()
            meta["creationTimestamp"] = now or now_rfc3339(self._clock())
            for transient in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
                meta.pop(transient, None)
            if rt.generation:
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            if dry_run:
                meta["resourceVersion"] = ""
                return obj
            return self._commit(rt, key, obj, "ADDED", None)

    def update(self, rt: ResourceType, namespace: str | None, name: str,
               mutate: Callable[..., Obj], *, dry_run: bool = False,
               allow_create: Callable[[], Obj] | None = None,
               bump_generation: bool = True, with_old: bool = False,
               copy: Callable[[Obj], Obj] | None = None) -> tuple[Obj, bool]:
        """Read-modify-write one object atomically (etcd's GuaranteedUpdate).

        ``mutate`` receives a private copy of the current object and returns the new one; it may
        raise an :class:`APIError`. A ``metadata.resourceVersion`` in the result that differs from
        the current one is a 409 Conflict. When the object is absent and ``allow_create`` is given,
        its result is created instead. ``bump_generation=False`` is for writes that change the
        spec without going through the resource's update strategy (``pods/binding``).
        ``with_old=True`` calls ``mutate(copy, old)``: ``old`` is the current object as the store
        compares against it, which the caller reads but never changes, so a caller that needs
        the object before and after its change does not have to copy it once more. ``copy``
        makes the private copy from ``old`` when the caller knows a cheaper one is enough
        (default: a second parse, a full deep copy); what it shares with ``old`` must not be
        changed in place. Returns ``(object, created)``.
        """
        conv = self._converter(rt)
        if conv is not None:
            def mutate_stored(stored: Obj, stored_old: Obj | None = None) -> Obj:
                if with_old:
                    assert stored_old is not None
                    return conv.to_storage(mutate(conv.from_storage(stored),
                                                  conv.from_storage(stored_old)))
                return conv.to_storage(mutate(conv.from_storage(stored)))

            def create_stored() -> Obj:
                assert allow_create is not None
                return conv.to_storage(allow_create())

            out, created = self.update(self._storage_rt(rt), namespace, name, mutate_stored,
                                       dry_run=dry_run,
                                       allow_create=create_stored if allow_create else None,
                                       bump_generation=bump_generation, with_old=with_old,
                                       copy=copy)
            return conv.from_storage(out), created
        with self._lock:
            key = self._key(rt, namespace, name)
            prev = self._tables.get(rt.storage, {}).get(key)
            if prev is None:
                if allow_create is None:
                    raise self._not_found(rt, name)
                return self.create(rt, allow_create(), dry_run=dry_run), True
            # parsing is the cheapest deep copy there is (an orjson parse is several times
            # faster than any copy made in Python), so the private copy is a second parse
            old = orjson.loads(prev.raw)
            mine = copy(old) if copy is not None else orjson.loads(prev.raw)
            new = mutate(mine, old) if with_old else mutate(mine)
            return self._replace(rt, key, prev, old, new, dry_run=dry_run,
                                 bump_generation=bump_generation), False

    def _replace(self, rt: ResourceType, key: Key, prev: Entry, old: Obj, new: Obj, *,
                 dry_run: bool, bump_generation: bool = True) -> Obj:
        old_meta = old["metadata"]
        meta = new.get("metadata")
        if not isinstance(meta, dict):
            raise errors.BadRequest("metadata must be an object")
        rv = meta.get("resourceVersion")
        if rv and str(rv) != old_meta["resourceVersion"]:
            raise errors.Conflict(
                f'Operation cannot be fulfilled on {rt.qualified} "{key[1]}": the object has '
                "been modified; please apply your changes to the latest version and try again",
                name=key[1], group=rt.group, kind=rt.plural)
        if meta.get("name", key[1]) != key[1]:
            raise errors.BadRequest(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({key[1]})")
        if rt.namespaced and meta.get("namespace", key[0]) != key[0]:
            raise errors.BadRequest(
                "the namespace of the provided object does not match the namespace sent on "
                "the request")
        if meta.get("uid") and meta["uid"] != old_meta["uid"]:
            raise errors.Invalid(
                f'{rt.kind} "{key[1]}" is invalid: metadata.uid: Invalid value: '
                f'"{meta["uid"]}": field is immutable', name=key[1], group=rt.group,
                kind=rt.kind, causes=[errors.Cause("FieldValueInvalid",
                                                   "field is immutable", "metadata.uid")])
        # fields only the server sets are carried over from the stored object
        meta["name"] = key[1]
        if rt.namespaced:
            meta["namespace"] = key[0]
        meta["uid"] = old_meta["uid"]
        meta["creationTimestamp"] = old_meta["creationTimestamp"]
        for carried in ("deletionTimestamp", "deletionGracePeriodSeconds"):
            if carried in old_meta:
                meta[carried] = old_meta[carried]
            else:
                meta.pop(carried, None)
        if rt.generation:
            generation = old_meta.get("generation", 1)
            if bump_generation and _spec_of(new) != _spec_of(old):
                generation += 1
            meta["generation"] = generation
        if "deletionTimestamp" in meta and meta.get("finalizers") and not old_meta.get(
                "finalizers"):
            # Kubernetes refuses to add finalizers once deletion has started and none are left
            meta["finalizers"] = []
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if not meta.get("finalizers"):
            meta.pop("finalizers", None)
        if new == old:  # a no-op write keeps the resourceVersion and emits nothing
            return new
        if dry_run:
            return new
        if "deletionTimestamp" in meta and not meta.get("finalizers") and not (
                rt.storage == ("", "namespaces") and (new.get("spec") or {}).get("finalizers")
        ) and not _grace_pending(rt, meta):
            return self._commit(rt, key, new, "DELETED", prev)
        return self._commit(rt, key, new, "MODIFIED", prev)

    def delete(self, rt: ResourceType, namespace: str | None, name: str, *,
               preconditions: Mapping[str, Any] | None = None,
               propagation: str | None = None, grace_period: int | None = None,
               dry_run: bool = False) -> tuple[Obj, bool]:
        """Delete, or mark for deletion. Returns ``(object, deleted_now)``."""
        if self._converter(rt) is not None:
            obj, deleted = self.delete(self._storage_rt(rt), namespace, name,
                                       preconditions=preconditions, propagation=propagation,
                                       grace_period=grace_period, dry_run=dry_run)
            return self._out(rt, obj), deleted
        with self._lock:
            key = self._key(rt, namespace, name)
            prev = self._tables.get(rt.storage, {}).get(key)
            if prev is None:
                raise self._not_found(rt, name)
            obj = orjson.loads(prev.raw)
            meta = obj["metadata"]
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != meta.get("uid"):
                raise errors.Conflict(
                    f'Operation cannot be fulfilled on {rt.qualified} "{name}": Precondition '
                    f"failed: UID in precondition: {pre['uid']}, UID in object meta: "
                    f"{meta.get('uid')}", name=name, group=rt.group, kind=rt.plural)
            if pre.get("resourceVersion") and str(pre["resourceVersion"]) != meta[
                    "resourceVersion"]:
                raise errors.Conflict(
                    f'Operation cannot be fulfilled on {rt.qualified} "{name}": Precondition '
                    "failed: ResourceVersion in precondition: "
                    f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                    f"{meta['resourceVersion']}", name=name, group=rt.group, kind=rt.plural)
            finalizers = list(meta.get("finalizers") or ())
            if propagation == "Orphan" and "orphan" not in finalizers:
                finalizers.append("orphan")
            elif propagation == "Foreground" and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
            elif propagation == "Background":
                finalizers = [f for f in finalizers if f not in ("orphan", "foregroundDeletion")]
            now = self._clock()
            graceful = False
            if rt.storage == ("", "pods"):
                spec = obj.get("spec") or {}
                grace = grace_period
                if grace is None:
                    grace = spec.get("terminationGracePeriodSeconds", 30)
                phase = (obj.get("status") or {}).get("phase")
                # Unbound or finished pods have no kubelet to wait for (pod strategy
                # CheckGracefulDelete).
                if spec.get("nodeName") and grace and phase not in ("Succeeded", "Failed"):
                    old_grace = meta.get("deletionGracePeriodSeconds")
                    if old_grace is None or grace < old_grace:
                        meta["deletionGracePeriodSeconds"] = int(grace)
                        meta["deletionTimestamp"] = now_rfc3339(
                            now + datetime.timedelta(seconds=int(grace)))
                    graceful = True
                elif grace_period == 0 or not spec.get("nodeName") or phase:
                    meta["deletionGracePeriodSeconds"] = 0
            is_namespace = rt.storage == ("", "namespaces")
            if is_namespace:
                obj.setdefault("status", {})["phase"] = "Terminating"
            if finalizers or graceful or (is_namespace and (obj.get("spec") or {}).get(
                    "finalizers")):
                if finalizers:
                    meta["finalizers"] = finalizers
                meta.setdefault("deletionTimestamp", now_rfc3339(now))
                meta.setdefault("deletionGracePeriodSeconds", 0)
                if dry_run:
                    return obj, False
                if orjson.loads(prev.raw) == obj:
                    return obj, False
                return self._commit(rt, key, obj, "MODIFIED", prev), False
            if dry_run:
                return obj, True
            meta.setdefault("deletionTimestamp", now_rfc3339(now))
            meta.setdefault("deletionGracePeriodSeconds", 0)
            return self._commit(rt, key, obj, "DELETED", prev), True

    # ------------------------------------------------------------------ watch

    def watch(self, rt: ResourceType, deliver: Callable[[str, WatchEvent], None], *,
              namespace: str | None = None, labels: LabelSelector = LabelSelector(),
              fields: FieldSelector = FieldSelector(), resource_version: str = "",
              send_initial_events: bool | None = None) -> tuple[Watch, int]:
        """Register a watcher; returns it with the resourceVersion the initial state is at.

        With no resourceVersion (or "0"), or with ``send_initial_events``, the current matching
        objects are first delivered as ADDED. A resourceVersion older than the history raises
        :class:`Gone`. Registration and the initial state happen atomically, so no event is
        missed or repeated.
        """
        storage = rt.storage
        conv = self._converter(rt)
        if conv is not None:
            fields = self._storage_fields(rt, fields)
            inner = deliver

            def deliver(etype: str, ev: WatchEvent) -> None:
                inner(etype, WatchEvent(ev.type, ev.storage, ev.key, ev.rv,
                                        self._out_raw(rt, ev.raw), ev.labels, ev.fields))

        w = Watch(self, storage, namespace if rt.namespaced else None, labels, fields, deliver)
        with self._lock:
            initial = send_initial_events or resource_version in ("", "0")
            since: int | None = None
            if resource_version not in ("", "0"):
                try:
                    since = int(resource_version)
                except ValueError:
                    raise errors.BadRequest(
                        f"invalid resource version: {resource_version!r}") from None
                if since < self._compacted and not send_initial_events:
                    raise errors.Gone(f"too old resource version: {since} ({self._compacted})")
            if initial:
                table = self._tables.get(storage, {})
                for key in self._sorted_keys(storage):
                    e = table[key]
                    w.offer(WatchEvent("ADDED", storage, key, e.rv, e.raw, e.labels, e.fields))
            elif since is not None:
                for ev in self._history:
                    if ev.rv > since and ev.storage == storage:
                        w.offer(ev)
            self._watchers.setdefault(storage, set()).add(w)
            return w, self._rv

    def _remove_watch(self, w: Watch) -> None:
        with self._lock:
            self._watchers.get(w.storage, set()).discard(w)

    def watcher_count(self) -> int:
        return sum(len(s) for s in self._watchers.values())

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()


_LABEL_SETS: dict[tuple[tuple[str, str], ...], Mapping[str, str]] = {}
_LABEL_SETS_MAX = 65536


def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    """The object's labels as a private, shared mapping: the pods of one ReplicaSet all carry
    the same labels, and what the caller does with its object later cannot change them here."""
    labels = (obj.get("metadata") or {}).get("labels")
    if not isinstance(labels, dict) or not labels:
        return _EMPTY
    try:
        key = tuple(sorted(labels.items()))
        shared = _LABEL_SETS.get(key)
    except TypeError:  # a value that is not a string: kept as it is
        return dict(labels)
    if shared is None:
        if len(_LABEL_SETS) >= _LABEL_SETS_MAX:
            _LABEL_SETS.clear()  # only sharing is lost
        shared = _LABEL_SETS[key] = {sys.intern(k): v for k, v in key}
    return shared


def _spec_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _grace_pending(rt: ResourceType, meta: Mapping[str, Any]) -> bool:
    return rt.storage == ("", "pods") and bool(meta.get("deletionGracePeriodSeconds"))
