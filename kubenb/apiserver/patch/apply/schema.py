"""The JSON schema compiled into the type tree that structured-merge-diff walks.

SMD does not read OpenAPI as it is published: it works on a graph of atoms (scalar, map, list)
that says for every node whether it is atomic or granular, which lists are sets or maps and by
which keys, and which maps are structs with named fields. This module builds that graph from the
shipped JSON schema: ``x-kubernetes-list-type``/``-list-map-keys``, the patch-strategy fallback
for lists without a list type, ``x-kubernetes-map-type``, preserve-unknown-fields as "deduced"
maps, and the Go zero value of a built-in kind (which decides what an Update on create added).

Compiled graphs are cached per SchemaSet and by the identity of the schema object, so schemas
must not be mutated once used.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import Any

from kubenb.apiserver.patch.apply.values import _NIL, _PRUNED, JSON
from kubenb.apiserver.schemas import SchemaSet

_SCALAR, _MAP, _LIST, _MULTI = 1, 2, 3, 4

_RAW_EXTENSION = "io.k8s.apimachinery.pkg.runtime.RawExtension"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

# `+default` markers on list-map key fields that the shipped JSON schema lost; SMD uses them to
# build keys of items that omit the field (k:{"containerPort":80,"protocol":"TCP"}).
_KEY_DEFAULTS: dict[str, dict[str, JSON]] = {
    "io.k8s.api.core.v1.ContainerPort": {"protocol": "TCP"},
    "io.k8s.api.core.v1.ServicePort": {"protocol": "TCP"},
    "io.k8s.api.core.v1.LocalObjectReference": {"name": ""},
}

# Struct fields that Go types hold by value (never nil), so a zero object already has them.
_VALUE_STRUCT_FIELDS = frozenset(
    {"metadata", "spec", "status", "template", "jobTemplate", "strategy", "updateStrategy"}
)


class _Type:
    """One SMD atom set: scalar, map (struct or map) and/or list, with their relationships."""

    __slots__ = (
        "atomic",
        "defaults",
        "elem",
        "fields",
        "item",
        "keys",
        "kind",
        "list_atomic",
        "scalar",
    )

    def __init__(self, kind: int = _SCALAR) -> None:
        self.kind = kind
        self.scalar = "untyped"
        self.fields: dict[str, _Type] = {}
        self.elem: _Type | None = None
        self.atomic = False
        self.defaults: dict[str, JSON] = {}
        self.item: _Type | None = None
        self.list_atomic = True
        self.keys: tuple[str, ...] | None = None

    def copy(self) -> _Type:
        t = _Type(self.kind)
        for name in _Type.__slots__:
            setattr(t, name, getattr(self, name))
        return t


def _multi(*, map_atomic: bool) -> _Type:
    t = _Type(_MULTI)
    t.atomic = map_atomic
    return t


# SMD's "__untyped_atomic_" and "__untyped_deduced_" types.
_UNTYPED = _multi(map_atomic=True)
_UNTYPED.elem = _UNTYPED
_UNTYPED.item = _UNTYPED
_DEDUCED = _multi(map_atomic=False)
_DEDUCED.elem = _DEDUCED
_DEDUCED.item = _UNTYPED
_UNTYPED_SCALAR = _Type(_SCALAR)


class _Compiler:
    """Turns JSON schemas into _Type graphs; one per SchemaSet, caching named definitions."""

    def __init__(self, schemas: SchemaSet | None) -> None:
        self.schemas = schemas
        self.named: dict[str, _Type] = {}
        self.overrides: dict[tuple[str, bool], _Type] = {}
        self.pending: list[tuple[_Type, _Type, bool]] = []
        self.busy: set[str] = set()
        self.roots: dict[int, tuple[Mapping[str, Any], _Type, dict[str, Any] | None]] = {}

    def cached(self, schema: Mapping[str, Any]) -> tuple[_Type, dict[str, Any] | None] | None:
        """The compiled root of a schema seen before (schemas are never mutated)."""
        hit = self.roots.get(id(schema))
        if hit is not None and hit[0] is schema:
            return hit[1], hit[2]
        return None

    def root(self, schema: Mapping[str, Any]) -> tuple[_Type, dict[str, Any] | None]:
        hit = self.cached(schema)
        if hit is not None:
            return hit
        t = self.node(schema, pu=False)
        self._flush()
        builtin = bool(schema.get("x-kubernetes-group-version-kind"))
        zero = self._zero(schema) if builtin else None
        if not builtin and t.kind in (_MAP, _MULTI):
            # Custom resources are published with the standard type and object metadata whatever
            # their own schema says about them, and apply is typed against that.
            t = t.copy()
            t.fields = dict(t.fields)
            for name in ("apiVersion", "kind"):
                if name not in t.fields:
                    t.fields[name] = _Type(_SCALAR)
            t.fields["metadata"] = (
                self.definition(_OBJECT_META)
                if self.schemas is not None
                else t.fields.get("metadata", _DEDUCED)
            )
            self._flush()
        if len(self.roots) > 512:
            self.roots.clear()
        self.roots[id(schema)] = (schema, t, zero)
        return t, zero

    def _flush(self) -> None:
        while self.pending:
            clone, base, atomic = self.pending.pop()
            for name in _Type.__slots__:
                setattr(clone, name, getattr(base, name))
            clone.atomic = atomic

    def node(self, n: Any, *, pu: bool) -> _Type:
        if not isinstance(n, Mapping):
            return _DEDUCED if pu else _UNTYPED
        ref = n.get("$ref")
        if ref is None:
            all_of = n.get("allOf")
            if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
                ref = all_of[0].get("$ref")
        if isinstance(ref, str) and self.schemas is not None:
            name = ref.rpartition("/")[2]
            t = self.definition(name)
            map_type = n.get("x-kubernetes-map-type")
            if (
                map_type in ("atomic", "granular")
                and t.kind in (_MAP, _MULTI)
                and (map_type == "atomic") != t.atomic
            ):
                return self._override(name, t, map_type == "atomic")
            return t
        t = _Type()
        self.fill(t, n, pu=pu, name="")
        return t

    def definition(self, name: str) -> _Type:
        t = self.named.get(name)
        if t is not None:
            return t
        if name == _RAW_EXTENSION:
            return _UNTYPED
        if name == _QUANTITY:
            return _UNTYPED_SCALAR
        assert self.schemas is not None
        d = self.schemas.definitions.get(name)
        if d is None:
            return _UNTYPED
        t = _Type()
        self.named[name] = t
        self.busy.add(name)
        self.fill(t, d, pu=False, name=name)
        self.busy.discard(name)
        return t

    def _override(self, name: str, base: _Type, atomic: bool) -> _Type:
        key = (name, atomic)
        t = self.overrides.get(key)
        if t is None:
            t = base.copy()
            t.atomic = atomic
            if name in self.busy:
                self.pending.append((t, base, atomic))
            self.overrides[key] = t
        return t

    def fill(self, t: _Type, n: Mapping[str, Any], *, pu: bool, name: str) -> None:
        if n.get("x-kubernetes-preserve-unknown-fields") is True:
            pu = True
        typ = n.get("type")
        if isinstance(typ, list):
            typ = next((x for x in typ if x != "null"), "")
        typ = typ or ""
        if typ == "":
            alts = n.get("oneOf") or n.get("anyOf")
            if n.get("x-kubernetes-int-or-string") is True or (
                isinstance(alts, list) and alts and all(_scalar_schema(a) for a in alts)
            ):
                t.kind = _SCALAR
                return
            t.kind = _MULTI
            self._fill_map(t, n, pu=pu, name=name)
            self._fill_list(t, n, pu=pu)
        elif typ == "object":
            t.kind = _MAP
            self._fill_map(t, n, pu=pu, name=name)
        elif typ == "array":
            t.kind = _LIST
            self._fill_list(t, n, pu=pu)
        else:
            t.kind = _SCALAR
            if typ in ("integer", "number"):
                t.scalar = "numeric"
            elif typ == "boolean":
                t.scalar = "boolean"
            elif typ == "string" and n.get("format", "") in ("", "byte"):
                t.scalar = "string"

    def _fill_map(self, t: _Type, n: Mapping[str, Any], *, pu: bool, name: str) -> None:
        props = n.get("properties")
        props = props if isinstance(props, Mapping) else {}
        t.fields = {k: self.node(v, pu=pu) for k, v in props.items()}
        t.defaults = {
            k: v["default"] for k, v in props.items() if isinstance(v, Mapping) and "default" in v
        }
        for k, v in _KEY_DEFAULTS.get(name, {}).items():
            t.defaults.setdefault(k, v)
        extra = n.get("additionalProperties")
        if isinstance(extra, Mapping):
            t.elem = self.node(extra, pu=pu)
        elif extra is True or (extra is None and (pu or not props)):
            t.elem = _DEDUCED
        else:
            t.elem = None
        t.atomic = n.get("x-kubernetes-map-type") == "atomic"

    def _fill_list(self, t: _Type, n: Mapping[str, Any], *, pu: bool) -> None:
        items = n.get("items")
        t.item = self.node(items, pu=pu) if isinstance(items, Mapping) else _UNTYPED
        list_type = n.get("x-kubernetes-list-type")
        t.list_atomic, t.keys = True, None
        if list_type == "set":
            t.list_atomic = False
        elif list_type == "map":
            keys = n.get("x-kubernetes-list-map-keys")
            if isinstance(keys, list) and keys and all(isinstance(k, str) for k in keys):
                t.list_atomic, t.keys = False, tuple(sorted(keys))
        elif list_type is None and n.get("x-kubernetes-patch-strategy") in (
            "merge",
            "merge,retainKeys",
        ):
            merge_key = n.get("x-kubernetes-patch-merge-key")
            t.list_atomic = False
            t.keys = (merge_key,) if isinstance(merge_key, str) else None

    def _zero(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """The shape of the Go zero value of a built-in kind (only what decides "added" nodes)."""
        assert self.schemas is not None
        resolve = self.schemas.resolve

        def struct(node: Mapping[str, Any] | None, depth: int) -> dict[str, Any]:
            out: dict[str, Any] = {}
            if node is None or depth > 6:
                return out
            props = node.get("properties") or {}
            required = set(node.get("required") or ())
            for name, prop in props.items():
                if name not in required and name not in _VALUE_STRUCT_FIELDS:
                    continue
                sub = resolve(prop) if isinstance(prop, dict) else None
                if (
                    sub is not None
                    and sub.get("properties")
                    and sub.get("x-kubernetes-map-type") != "atomic"
                ):
                    out[name] = struct(sub, depth + 1)
                elif name in required:
                    out[name] = None
            return out

        return struct(schema, 0)


def _scalar_schema(n: Any) -> bool:
    if not isinstance(n, Mapping):
        return False
    typ = n.get("type")
    types = typ if isinstance(typ, list) else [typ]
    return bool(types) and all(
        x in ("string", "integer", "number", "boolean", "null") for x in types
    )


_COMPILERS: weakref.WeakKeyDictionary[SchemaSet, _Compiler] = weakref.WeakKeyDictionary()
_PLAIN_COMPILER = _Compiler(None)
# Compiling fills placeholder types in place; other threads must not see them half done.
_COMPILE_LOCK = threading.Lock()


def _root_type(
    schema: Mapping[str, Any] | None, schemas: SchemaSet | None
) -> tuple[_Type, dict[str, Any]]:
    if schema is None:
        return _DEDUCED, {}
    compiler = _PLAIN_COMPILER if schemas is None else _COMPILERS.get(schemas)
    hit = compiler.cached(schema) if compiler is not None else None
    if hit is None:
        with _COMPILE_LOCK:
            if schemas is not None and compiler is None:
                compiler = _COMPILERS.setdefault(schemas, _Compiler(schemas))
            assert compiler is not None
            hit = compiler.root(schema)
    t, zero = hit
    return t, (zero if zero is not None else {})


def _kind_for(t: _Type, v: JSON) -> int:
    """deduceAtom + handleAtom: which atom of a multi-atom type handles a value."""
    k = t.kind
    if k != _MULTI:
        return k
    tv = type(v)
    if tv is list:
        return _LIST
    if tv is dict or v is None or v is _NIL or v is _PRUNED:
        return _MAP
    return _SCALAR


def _value_kind(v: JSON) -> int | None:
    tv = type(v)
    if tv is dict:
        return _MAP
    if tv is list:
        return _LIST
    if v is None or v is _NIL or v is _PRUNED:
        return None
    return _SCALAR
