"""Server-side apply and ``metadata.managedFields``, as the Kubernetes 1.37 apiserver does them.

Why this module exists: ``kubectl apply --server-side``, ``kubectl get --show-managed-fields``
and every client that looks at field ownership expect the exact bookkeeping of the real apiserver,
which lives in two places upstream:

* ``sigs.k8s.io/structured-merge-diff`` (SMD) — field sets, merge, compare, prune, conflicts;
* ``k8s.io/apimachinery/pkg/util/managedfields/internal`` — the chain of managers around SMD
  (strip meta fields, "current-operation", "before-first-apply", the cap of ten update managers,
  the ``kubectl`` last-applied upgrade, encoding and sorting of ``managedFields``).

This module re-implements both on plain JSON values. The behaviours that matter and are easy to get
wrong:

* A field set is a set of paths; a path is a tuple of path elements written the way ``FieldsV1``
  writes them: ``f:<field>``, ``k:<json of the list-map keys, keys sorted>``, ``v:<json>`` for set
  items and ``i:<n>`` (only ever read; the apiserver never writes indices). In ``FieldsV1`` a node
  that is itself a member and has children gets a ``"."`` entry.
* The schema decides the structure (``x-kubernetes-list-type``/``-list-map-keys``, the
  patch-strategy fallback for lists without a list type, ``x-kubernetes-map-type``,
  preserve-unknown-fields → "deduced" maps). Which paths exist in a set differs by operation: an
  *Apply* set is the applied configuration's own field set (no ``"."`` on structs), an *Update*
  set is what changed between the old and the new object (every node that appeared gets a
  ``"."``, so on create the Go zero value of the kind decides which struct nodes "appeared").
* Conflicts, shared ownership, force, pruning of fields an applier stopped specifying, and the
  error messages follow SMD and the apiserver exactly (``Apply failed with 1 conflict: conflict with
  "kubectl-client-side-apply" using apps/v1: .spec.replicas``).

Deliberate simplifications: no conversion between API versions (a manager that wrote another
version is compared in the current one) and no reconciliation of sets after schema changes.
Defaulting of the merged object is the caller's job, as it is the apiserver's after the field
manager has run. Schemas are compiled once and cached by identity, so they must not be mutated.
"""

from __future__ import annotations

import datetime
import functools
import json
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kubenb.apiserver.schemas import SchemaSet

__all__ = [
    "LAST_APPLIED_ANNOTATION",
    "ApplyConflict",
    "ApplyError",
    "FieldManagerInvalid",
    "manager_from_user_agent",
    "record_update",
    "server_side_apply",
    "validate_patch_options",
]

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

FIELD_MANAGER_MAX_LENGTH = 128
_MAX_UPDATE_MANAGERS = 10
_ANCIENT_CHANGES = "ancient-changes"
_BEFORE_FIRST_APPLY = "before-first-apply"
_TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024

Path = tuple[str, ...]
JSON = Any


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ApplyConflict(Exception):
    """An apply that would change fields owned by other managers (HTTP 409, reason Conflict)."""

    def __init__(
        self,
        conflicts: Sequence[tuple[str, str]],
        *,
        printed_managers: Sequence[str] | None = None,
    ) -> None:
        """``conflicts`` are (manager, field path) pairs, grouped by manager; ``printed_managers``
        says how the message names each pair's manager (``"x" using apps/v1`` for updaters,
        ``"x" with subresource "status"`` ...), by default just the quoted name."""
        self.conflicts: list[tuple[str, str]] = list(conflicts)
        self._printed = (
            list(printed_managers)
            if printed_managers is not None
            else [_go_quote(m) for m, _ in self.conflicts]
        )
        super().__init__(self.message())

    def message(self) -> str:
        """The Status message of the real 409 response."""
        return _conflict_message(
            list(zip(self._printed, (p for _, p in self.conflicts), strict=True))
        )

    def causes(self) -> list[dict[str, str]]:
        """The Status ``details.causes``: one FieldManagerConflict per conflicting field."""
        return [
            {"type": "FieldManagerConflict", "message": f"conflict with {printed}", "field": path}
            for printed, (_, path) in zip(self._printed, self.conflicts, strict=True)
        ]

    def status(self) -> dict[str, Any]:
        """The complete ``v1.Status`` body the apiserver sends."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message(),
            "reason": "Conflict",
            "details": {"causes": self.causes()},
            "code": 409,
        }


class ApplyError(Exception):
    """An apply the apiserver rejects before merging (bad type, managedFields sent, invalid fields).

    ``code`` is 400 (reason BadRequest) or 500 (no reason), as the real apiserver answers.
    """

    def __init__(self, message: str, *, code: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.reason = "BadRequest" if code == 400 else ""

    def status(self) -> dict[str, Any]:
        """The ``v1.Status`` body of the error response."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": str(self),
        }
        if self.reason:
            body["reason"] = self.reason
        body["code"] = self.code
        return body


class FieldManagerInvalid(Exception):
    """Invalid PatchOptions/field manager (HTTP 422), e.g. an apply without ``fieldManager``."""

    def __init__(self, causes: Sequence[tuple[str, str, str]]) -> None:
        # (reason, field, body) per error, body as field.Error.ErrorBody() prints it.
        self.errors = list(causes)
        parts = [f"{field}: {body}" for _, field, body in self.errors]
        agg = parts[0] if len(parts) == 1 else "[" + ", ".join(dict.fromkeys(parts)) + "]"
        super().__init__(f'PatchOptions.meta.k8s.io "" is invalid: {agg}')

    def status(self) -> dict[str, Any]:
        """The ``v1.Status`` body (reason Invalid, code 422)."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": str(self),
            "reason": "Invalid",
            "details": {
                "group": "meta.k8s.io",
                "kind": "PatchOptions",
                "causes": [{"reason": r, "message": b, "field": f} for r, f, b in self.errors],
            },
            "code": 422,
        }


class _Conflicts(Exception):
    def __init__(self, sets: dict[tuple[str, str, str, str], set[Path]]) -> None:
        super().__init__("conflicts")
        self.sets = sets


class _DecodeError(Exception):
    pass


class _PathError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Manager names and patch options
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def manager_from_user_agent(user_agent: str | None) -> str:
    """The field manager the apiserver derives when a request names none: the User-Agent up to
    the first ``/``, without unprintable characters, cut to 128 bytes
    (``kubectl/v1.37.0 (linux/amd64)`` → ``kubectl``, ``OpenAPI-Generator/33.1.0/python`` →
    ``OpenAPI-Generator``). An empty result is recorded as ``unknown``."""
    head = (user_agent or "").split("/", 1)[0]
    out: list[str] = []
    size = 0
    for ch in head:
        if not _go_is_print(ch):
            continue
        n = len(ch.encode("utf-8", "surrogatepass"))
        if size + n > FIELD_MANAGER_MAX_LENGTH:
            break
        out.append(ch)
        size += n
    return "".join(out)


def validate_patch_options(
    *, field_manager: str | None, apply: bool, force: bool | None = None
) -> None:
    """Validate ``fieldManager``/``force`` as ValidatePatchOptions does; raise FieldManagerInvalid.

    For create/update requests pass ``apply=False`` and ``force=None``."""
    errs: list[tuple[str, str, str]] = []
    manager = field_manager or ""
    if apply:
        if not manager:
            errs.append(
                (
                    "FieldValueRequired",
                    "fieldManager",
                    "Required value: is required for apply patch",
                )
            )
    elif force is not None:
        errs.append(
            ("FieldValueForbidden", "force", "Forbidden: may not be specified for non-apply patch")
        )
    if len(manager.encode()) > FIELD_MANAGER_MAX_LENGTH:
        errs.append(
            (
                "FieldValueTooLong",
                "fieldManager",
                f"Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes",
            )
        )
    pos = 0
    for ch in manager:
        if not _go_is_print(ch):
            errs.append(
                (
                    "FieldValueInvalid",
                    "fieldManager",
                    f"Invalid value: {_go_quote(manager)}: invalid character "
                    f"U+{ord(ch):04X} (at position {pos})",
                )
            )
        pos += len(ch.encode("utf-8", "surrogatepass"))
    if errs:
        raise FieldManagerInvalid(errs)


def _go_is_print(ch: str) -> bool:
    # unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
    return ch == " " or (ch.isprintable() and not ch.isspace())


# --------------------------------------------------------------------------------------------
# Schema → SMD-like types
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Path elements
# --------------------------------------------------------------------------------------------


class _Nil:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


_NIL: Any = _Nil()


_encode_str = json.encoder.encode_basestring


def _go_json(v: JSON) -> str:
    """Compact JSON as Go's encoder writes it (integral floats as integers, HTML escaped)."""
    tv = type(v)
    if tv is str:
        s = _encode_str(v)
    elif tv is int:
        return str(v)
    elif tv is bool:
        return "true" if v else "false"
    elif tv is float and v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    else:
        s = json.dumps(
            v, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
        )
    if "<" in s or ">" in s or "&" in s or "\u2028" in s or "\u2029" in s:
        s = (
            s.replace("<", "\\u003c")
            .replace(">", "\\u003e")
            .replace("&", "\\u0026")
            .replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029")
        )
    return s


def _item_token(t: _Type, item: JSON) -> str:
    """The path element of one item of an associative list (``k:...`` or ``v:...``)."""
    keys = t.keys
    if keys is not None:
        if type(item) is not dict:
            if item is None:
                raise _PathError("associative list with keys may not have a null element")
            raise _PathError("associative list with keys may not have non-map elements")
        if len(keys) == 1:
            k = keys[0]
            if k in item:
                return "k:{" + _go_json(k) + ":" + _go_json(item[k]) + "}"
        parts = []
        for k in keys:
            if k in item:
                parts.append(_go_json(k) + ":" + _go_json(item[k]))
            else:
                default = t.item.defaults.get(k, _NIL) if t.item is not None else _NIL
                if default is not _NIL and default is not None:
                    parts.append(_go_json(k) + ":" + _go_json(default))
        if not parts:
            raise _PathError(
                "associative list with keys has an element that omits all key fields "
                f"[{' '.join(_go_quote(k) for k in keys)}] "
                "(and doesn't have default values for any key fields)"
            )
        return "k:{" + ",".join(parts) + "}"
    if type(item) is dict:
        raise _PathError("associative list without keys has an element that's a map type")
    if type(item) is list:
        raise _PathError("not supported: associative list with lists as elements")
    if item is None:
        raise _PathError("associative list without keys has an element that's an explicit null")
    return "v:" + _go_json(item)


_CANON: dict[str, str | None] = {}


def _canonical_token(tok: str) -> str | None:
    """Validate a FieldsV1 key; return its canonical spelling, None for unknown element types."""
    hit = _CANON.get(tok, _NIL)
    if hit is not _NIL:
        return hit
    if len(tok) < 2 or tok[1] != ":":
        raise _DecodeError(f"parsing key as path element: missing colon: {tok}")
    kind, body = tok[0], tok[2:]
    out: str | None
    try:
        if kind == "f":
            out = tok
        elif kind == "k":
            fields = json.loads(body)
            if not isinstance(fields, dict):
                raise ValueError("key is not an object")
            out = (
                "k:{"
                + ",".join(_go_json(k) + ":" + _go_json(fields[k]) for k in sorted(fields))
                + "}"
            )
        elif kind == "v":
            out = "v:" + _go_json(json.loads(body))
        elif kind == "i":
            out = "i:" + str(int(body))
        else:
            out = None  # a future element type: SMD drops what it doesn't understand
    except (ValueError, TypeError) as e:
        raise _DecodeError(f"parsing key as path element: {e}") from None
    if len(_CANON) > 100_000:
        _CANON.clear()
    _CANON[tok] = out
    return out


def _value_order(v: JSON) -> tuple[Any, ...]:
    # value.Compare: numbers < strings < booleans < lists < maps < null.
    if type(v) is bool:
        return (2, v)
    if type(v) in (int, float):
        return (0, float(v))
    if type(v) is str:
        return (1, v)
    if type(v) is list:
        return (3, tuple(_value_order(x) for x in v))
    if type(v) is dict:
        return (4, tuple((k, _value_order(v[k])) for k in sorted(v)))
    return (5,)


@functools.lru_cache(maxsize=65536)
def _token_order(tok: str) -> tuple[Any, ...]:
    kind = tok[0]
    if kind == "f":
        return (0, tok[2:])
    if kind == "k":
        fields = json.loads(tok[2:])
        return (1, tuple((k, _value_order(v)) for k, v in fields.items()))
    if kind == "v":
        return (2, _value_order(json.loads(tok[2:])))
    return (3, int(tok[2:]))


def _go_quote(s: str) -> str:
    """strconv.Quote."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append(
                {
                    "\a": "\\a",
                    "\b": "\\b",
                    "\f": "\\f",
                    "\n": "\\n",
                    "\r": "\\r",
                    "\t": "\\t",
                    "\v": "\\v",
                }[ch]
            )
        elif _go_is_print(ch):
            out.append(ch)
        elif o < 0x80:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def _go_string(v: JSON) -> str:
    """value.ToString, used in paths of error messages."""
    if v is None:
        return "null"
    if type(v) is bool:
        return "true" if v else "false"
    if type(v) is str:
        return _go_quote(v)
    if type(v) is int:
        return str(v)
    if type(v) is float:
        return _go_float(v)
    if type(v) is list:
        return "[" + ",".join(_go_string(x) for x in v) + "]"
    if type(v) is dict:
        return "".join(f"{k}={_go_string(x)}" for k, x in v.items())
    return str(v)


def _go_float(f: float) -> str:
    # %v of a float64: shortest digits, exponent form below 1e-4 or from 1e21.
    if f != f or f in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(f)]
    r = repr(f)
    if "e" in r or "E" in r or abs(f) >= 1e21 or (f != 0 and abs(f) < 1e-4):
        mant, _, exp = f"{f:e}".partition("e")
        digits = (
            repr(float(mant)).rstrip("0").rstrip(".")
            if "." in repr(float(mant))
            else repr(float(mant))
        )
        e = int(exp)
        return f"{digits}e{'+' if e >= 0 else '-'}{abs(e):02d}"
    return r[:-2] if r.endswith(".0") else r


def _token_str(tok: str) -> str:
    kind = tok[0]
    if kind == "f":
        return "." + tok[2:]
    if kind == "k":
        fields = json.loads(tok[2:])
        return "[" + ",".join(f"{k}={_go_string(v)}" for k, v in fields.items()) + "]"
    if kind == "v":
        return "[=" + _go_string(json.loads(tok[2:])) + "]"
    return "[" + tok[2:] + "]"


def _path_str(path: Path) -> str:
    """fieldpath.Path.String(): ``.spec.template.spec.containers[name="nginx"].image``."""
    return "".join(_token_str(t) for t in path)


# --------------------------------------------------------------------------------------------
# Field sets: flat sets of paths; tries for structure-aware operations
# --------------------------------------------------------------------------------------------


def _trie(paths: Iterable[Path]) -> dict[str, Any]:
    """Nested dicts keyed by path element; a node that is itself a member holds ``".": True``."""
    root: dict[str, Any] = {}
    for p in paths:
        node = root
        for tok in p:
            child = node.get(tok)
            if child is None:
                child = node[tok] = {}
            node = child
        node["."] = True
    return root


def _set_to_fields(paths: Iterable[Path]) -> dict[str, Any]:
    """Encode a set as FieldsV1, children sorted as SMD sorts path elements."""

    def emit(node: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        children = [k for k in node if k != "."]
        if not children:
            return out
        if "." in node:
            out["."] = {}
        if len(children) > 1:
            children.sort(key=_token_order)
        for tok in children:
            out[tok] = emit(node[tok])
        return out

    return emit(_trie(paths))


def _fields_to_set(fields: Any) -> set[Path]:
    """Decode FieldsV1 (already parsed JSON) into a set of paths."""
    out: set[Path] = set()

    def walk(node: Mapping[str, Any], prefix: Path) -> bool:
        """Add the members below prefix; return whether any child was understood."""
        understood = False
        for key, sub in node.items():
            if key == ".":
                if prefix:
                    out.add(prefix)
                understood = True
                continue
            tok = _canonical_token(key)
            if tok is None:
                continue
            if not isinstance(sub, Mapping):
                raise _DecodeError(f"expected an object for {key!r}")
            path = prefix + (tok,)  # noqa: RUF005
            if not sub or not walk(sub, path):
                out.add(path)
            understood = True
        return understood

    if fields is None:
        return out
    if not isinstance(fields, Mapping):
        raise _DecodeError("fieldsV1 must be an object")
    walk(fields, ())
    return out


def _iterate(paths: set[Path]) -> list[Path]:
    """Set.Iterate order: at each node its members, then the children's contents, sorted."""
    out: list[Path] = []

    def walk(node: dict[str, Any], prefix: Path) -> None:
        toks = sorted((k for k in node if k != "."), key=_token_order)
        for tok in toks:
            if "." in node[tok]:
                out.append(prefix + (tok,))  # noqa: RUF005
        for tok in toks:
            child = node[tok]
            if len(child) > ("." in child):
                walk(child, prefix + (tok,))  # noqa: RUF005

    walk(_trie(paths), ())
    return out


def _exclude(paths: set[Path], ignore: tuple[Path, ...]) -> set[Path]:
    """Remove ignored paths and everything below them (fieldpath's exclude filter)."""
    if not ignore or not paths:
        return paths
    return {p for p in paths if not any(p[: len(i)] == i for i in ignore)}


def _ensure_named(t: _Type, paths: set[Path]) -> set[Path]:
    """Set.EnsureNamedFieldsAreMembers: struct fields with children become members too."""
    out = set(paths)

    def walk(tp: _Type | None, node: dict[str, Any], prefix: Path) -> None:
        for tok, child in node.items():
            if tok == ".":
                continue
            has_children = len(child) > ("." in child)
            sub: _Type | None = None
            if tp is not None:
                if tok[0] == "f":
                    if tp.kind in (_MAP, _MULTI):
                        ft = tp.fields.get(tok[2:])
                        if ft is not None:
                            if has_children:
                                out.add(prefix + (tok,))  # noqa: RUF005
                            sub = ft
                        else:
                            sub = tp.elem
                elif tok[0] == "k" and tp.kind in (_LIST, _MULTI):
                    sub = tp.item
            if has_children:
                walk(sub, child, prefix + (tok,))  # noqa: RUF005

    walk(t, _trie(paths), ())
    return out


# --------------------------------------------------------------------------------------------
# Walkers over (type, value): field set, validation, merge, compare, remove
# --------------------------------------------------------------------------------------------


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


def _list_tokens(t: _Type, items: list[JSON]) -> list[str] | None:
    try:
        return [_item_token(t, it) for it in items]
    except _PathError:
        return None


def _to_set(t: _Type, v: JSON, path: Path, out: set[Path]) -> None:
    """TypedValue.ToFieldSet."""
    k = _kind_for(t, v)
    if k == _SCALAR:
        out.add(path)
        return
    if k == _MAP:
        if t.atomic:
            out.add(path)
            return
        if type(v) is not dict:
            return
        fields, elem = t.fields, t.elem
        for key, val in v.items():
            sub = path + ("f:" + key,)  # noqa: RUF005
            ft = fields.get(key)
            if ft is None:
                _to_set(elem or _UNTYPED, val, sub, out)
                out.add(sub)
            else:
                _to_set(ft, val, sub, out)
                if val is None or (type(val) is dict and not val):
                    out.add(sub)
        return
    if t.list_atomic:
        out.add(path)
        return
    if type(v) is not list:
        return
    toks = _list_tokens(t, v)
    if toks is None:
        out.add(path)
        return
    item_t = t.item or _UNTYPED
    seen: set[str] = set()
    dups: set[str] = set()
    for tok in toks:
        if tok in seen:
            dups.add(tok)
        seen.add(tok)
    for tok, item in zip(toks, v, strict=True):
        sub = path + (tok,)  # noqa: RUF005
        if tok in dups:
            out.add(sub)
            continue
        _to_set(item_t, item, sub, out)
        out.add(sub)


def _go_type_name(v: JSON) -> str:
    if type(v) is bool:
        return "bool"
    if type(v) is int:
        return "int64"
    if type(v) is float:
        return "float64"
    if type(v) is str:
        return "string"
    if type(v) is dict:
        return "map[string]interface {}"
    if type(v) is list:
        return "[]interface {}"
    return "<nil>"


def _go_value(v: JSON) -> str:
    if type(v) is str:
        return "&{" + v + "}"
    return "&{" + _go_string(v) + "}"


def _validate(t: _Type, v: JSON, prefix: str, errs: list[str]) -> None:
    """The checks ObjectToTyped makes on an applied configuration (no duplicates allowed)."""
    k = _kind_for(t, v)
    if k == _SCALAR:
        if v is None:
            return
        tv = type(v)
        s = t.scalar
        if s == "numeric":
            if tv not in (int, float) or tv is bool:
                errs.append(f"{prefix}: expected numeric (int or float), got {_go_type_name(v)}")
        elif s == "string":
            if tv is not str:
                errs.append(f"{prefix}: expected string, got {_go_value(v)}")
        elif s == "boolean":
            if tv is not bool:
                errs.append(f"{prefix}: expected boolean, got {_go_value(v)}")
        elif tv in (dict, list):
            errs.append(f"{prefix}: expected any scalar, got {_go_value(v)}")
        return
    if v is None:
        return
    if k == _MAP:
        if type(v) is not dict:
            errs.append(f"{prefix}: expected map, got {_go_value(v)}")
            return
        for key, val in v.items():
            ft = t.fields.get(key) or t.elem
            if ft is None:
                errs.append(f"{prefix}.{key}: field not declared in schema")
                return
            _validate(ft, val, f"{prefix}.{key}", errs)
        return
    if type(v) is not list:
        errs.append(f"{prefix}: expected list, got {_go_value(v)}")
        return
    item_t = t.item or _UNTYPED
    if t.list_atomic:
        for i, item in enumerate(v):
            _validate(item_t, item, f"{prefix}[{i}]", errs)
        return
    seen: set[str] = set()
    for i, item in enumerate(v):
        try:
            tok = _item_token(t, item)
        except _PathError as e:
            errs.append(f"{prefix}: element {i}: {e}")
            return
        if tok in seen:
            errs.append(f"{prefix}: duplicate entries for key {_token_str(tok)}")
        seen.add(tok)
        _validate(item_t, item, prefix + _token_str(tok), errs)


def _jcopy(v: JSON) -> JSON:
    tv = type(v)
    if tv is dict:
        return {k: _jcopy(x) for k, x in v.items()}
    if tv is list:
        return [_jcopy(x) for x in v]
    return v


def _merge(t: _Type, lhs: JSON, rhs: JSON) -> JSON:
    """TypedValue.Merge with the keep-the-right-hand-side rule; returns _NIL for "no value"."""
    if lhs is _NIL:
        # Merging into nothing reproduces the right-hand side.
        return _jcopy(rhs)
    if rhs is _NIL:
        return _jcopy(lhs)
    k = t.kind
    if k == _MULTI:
        kl, kr = _value_kind(lhs), _value_kind(rhs)
        if kl is not None and kr is not None and kl != kr:
            return _jcopy(rhs)
        k = _LIST if (kr or kl) == _LIST else (_SCALAR if (kr or kl) == _SCALAR else _MAP)
    if k == _MAP:
        lm = lhs if type(lhs) is dict else None
        rm = rhs if type(rhs) is dict else None
        if t.atomic or (not lm and not rm):
            return _jcopy(rhs)
        fields, elem = t.fields, t.elem
        out: dict[str, JSON] = {}
        if lm:
            for key, lv in lm.items():
                rv = rm.get(key, _NIL) if rm else _NIL
                val = _merge(fields.get(key) or elem or _UNTYPED, lv, rv)
                if val is not _NIL:
                    out[key] = val
        if rm:
            for key, rv in rm.items():
                if lm and key in lm:
                    continue
                out[key] = _jcopy(rv)
        return out if out else _NIL
    if k == _LIST:
        ll = lhs if type(lhs) is list else None
        rl = rhs if type(rhs) is list else None
        if t.list_atomic or (not ll and not rl):
            return _jcopy(rhs)
        return _merge_list(t, ll or [], rl or [])
    return rhs


def _merge_list(t: _Type, ll: list[JSON], rl: list[JSON]) -> JSON:
    rtoks = _list_tokens(t, rl)
    ltoks = _list_tokens(t, ll)
    if rtoks is None or ltoks is None:
        return _jcopy(rl)
    item_t = t.item or _UNTYPED
    observed_r = dict(zip(rtoks, rl, strict=True))
    observed_l: dict[str, JSON] = {}
    for tok, item in zip(ltoks, ll, strict=True):
        # Duplicated live items are not merged with the new value.
        observed_l[tok] = None if tok in observed_l else item
    shared = [tok for tok in rtoks if tok in observed_l]
    next_shared = shared[0] if shared else None
    si = 1
    merged_r: set[str] = set()
    out: list[JSON] = []
    li = ri = 0
    n_l, n_r = len(ltoks), len(rtoks)
    while li < n_l or ri < n_r:
        if li < n_l and ri < n_r:
            tok = ltoks[li]
            if tok == rtoks[ri]:
                merged_r.add(tok)
                val = _merge(item_t, observed_l.get(tok, _NIL), observed_r[tok])
                if val is not _NIL:
                    out.append(val)
                li += 1
                ri += 1
                next_shared = shared[si] if si < len(shared) else None
                si += 1
                continue
            if tok in observed_r and next_shared is not None and next_shared != tok:
                li += 1
                continue
        if li < n_l:
            tok = ltoks[li]
            if tok not in observed_r:
                val = _merge(item_t, ll[li], _NIL)
                if val is not _NIL:
                    out.append(val)
                li += 1
                continue
            if tok in merged_r:
                li += 1
        if ri < n_r:
            tok = rtoks[ri]
            merged_r.add(tok)
            val = _merge(item_t, observed_l.get(tok, _NIL), observed_r[tok])
            if val is not _NIL:
                out.append(val)
            ri += 1
            if next_shared is not None and next_shared == tok:
                next_shared = shared[si] if si < len(shared) else None
                si += 1
    return out if out else _NIL


class _Comparison:
    __slots__ = ("added", "modified", "removed")

    def __init__(self) -> None:
        self.added: set[Path] = set()
        self.modified: set[Path] = set()
        self.removed: set[Path] = set()

    def excluding(self, ignore: tuple[Path, ...]) -> _Comparison:
        if not ignore:
            return self
        c = _Comparison()
        c.added = _exclude(self.added, ignore)
        c.modified = _exclude(self.modified, ignore)
        c.removed = _exclude(self.removed, ignore)
        return c


def _compare(t: _Type, lhs: JSON, rhs: JSON, path: Path, c: _Comparison) -> None:
    """TypedValue.Compare: which paths were added, modified or removed from lhs to rhs."""
    if lhs is rhs:
        return
    k = t.kind
    if k == _MULTI:
        kl, kr = _value_kind(lhs), _value_kind(rhs)
        if kl is not None and kr is not None and kl != kr:
            _compare_reshaped(t, lhs, kl, path, c, removed=True)
            _compare_reshaped(t, rhs, kr, path, c, removed=False)
            return
        kk = kr or kl
        k = _LIST if kk == _LIST else (_SCALAR if kk == _SCALAR else _MAP)
    if k == _MAP:
        lm = lhs if type(lhs) is dict else None
        rm = rhs if type(rhs) is dict else None
        if t.atomic or (not lm and not rm):
            _compare_leaf(lhs, rhs, path, c)
            return
        if lhs is not _NIL and rhs is not _NIL and lhs == rhs:
            return
        fields, elem = t.fields, t.elem
        if lm:
            for key, lv in lm.items():
                rv = rm.get(key, _NIL) if rm else _NIL
                sub = path + ("f:" + key,)  # noqa: RUF005
                _compare(fields.get(key) or elem or _UNTYPED, lv, rv, sub, c)
        if rm:
            for key, rv in rm.items():
                if lm and key in lm:
                    continue
                sub = path + ("f:" + key,)  # noqa: RUF005
                _compare(fields.get(key) or elem or _UNTYPED, _NIL, rv, sub, c)
    elif k == _LIST:
        ll = lhs if type(lhs) is list else None
        rl = rhs if type(rhs) is list else None
        if t.list_atomic or (not ll and not rl):
            _compare_leaf(lhs, rhs, path, c)
            return
        if lhs is not _NIL and rhs is not _NIL and lhs == rhs:
            return
        ltoks = _list_tokens(t, ll or [])
        rtoks = _list_tokens(t, rl or [])
        if ltoks is None or rtoks is None:
            _compare_leaf(lhs, rhs, path, c)
            return
        _compare_items(t, ll or [], ltoks, rl or [], rtoks, path, c)
    else:
        _compare_leaf(lhs, rhs, path, c)
        return
    # A non-leaf node that appeared or disappeared is itself added/removed.
    if lhs is _NIL:
        c.added.add(path)
    elif rhs is _NIL:
        c.removed.add(path)


def _compare_reshaped(
    t: _Type, v: JSON, kind: int, path: Path, c: _Comparison, *, removed: bool
) -> None:
    """One side of a value that changed shape (map ↔ list ↔ scalar) under an untyped schema.

    SMD walks each side with its own atom against nothing: a granular side reports its children
    removed (or added), a leaf side reports the node modified."""
    if kind == _MAP and not t.atomic and v:
        for key, val in v.items():
            sub = path + ("f:" + key,)  # noqa: RUF005
            ft = t.fields.get(key) or t.elem or _UNTYPED
            _compare(ft, val if removed else _NIL, _NIL if removed else val, sub, c)
    elif kind == _LIST and not t.list_atomic and v and (toks := _list_tokens(t, v)) is not None:
        for tok, item in zip(toks, v, strict=True):
            sub = path + (tok,)  # noqa: RUF005
            _compare(
                t.item or _UNTYPED, item if removed else _NIL, _NIL if removed else item, sub, c
            )
    else:
        c.modified.add(path)


def _compare_leaf(lhs: JSON, rhs: JSON, path: Path, c: _Comparison) -> None:
    if lhs is _NIL:
        c.added.add(path)
    elif rhs is _NIL:
        c.removed.add(path)
    elif lhs != rhs or (type(lhs) is bool) != (type(rhs) is bool):
        c.modified.add(path)


def _compare_items(
    t: _Type,
    ll: list[JSON],
    ltoks: list[str],
    rl: list[JSON],
    rtoks: list[str],
    path: Path,
    c: _Comparison,
) -> None:
    lvals: dict[str, list[JSON]] = {}
    for tok, item in zip(ltoks, ll, strict=True):
        lvals.setdefault(tok, []).append(item)
    rvals: dict[str, list[JSON]] = {}
    for tok, item in zip(rtoks, rl, strict=True):
        rvals.setdefault(tok, []).append(item)
    item_t = t.item or _UNTYPED
    for tok in list(lvals) + [x for x in rvals if x not in lvals]:
        lv = lvals.get(tok, ())
        rv = rvals.get(tok, ())
        sub = path + (tok,)  # noqa: RUF005
        if len(lv) <= 1 and len(rv) <= 1:
            _compare(item_t, lv[0] if lv else _NIL, rv[0] if rv else _NIL, sub, c)
        elif len(lv) >= 2 and len(rv) >= 2:
            if list(lv) != list(rv):
                c.modified.add(sub)
        elif len(lv) >= 2:
            if rv:
                _compare(item_t, _NIL, rv[0], sub, c)
            c.removed.add(sub)
        else:
            if lv:
                _compare(item_t, lv[0], _NIL, sub, c)
            c.added.add(sub)


def _comparison(t: _Type, lhs: JSON, rhs: JSON) -> _Comparison:
    c = _Comparison()
    _compare(t, lhs, rhs, (), c)
    return c


_GONE: Any = _Nil()


class _Pruned:
    """A null left behind by pruning. It compares like null, so ownership is computed as SMD
    computes it, and is dropped from the object afterwards, as storing the object would."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return other is None or other is self

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "<pruned>"


_PRUNED: Any = _Pruned()


def _remove(t: _Type, v: JSON, node: dict[str, Any], empty: JSON) -> JSON:
    """TypedValue.RemoveItems; containers the removal empties become ``empty`` (null in SMD)."""
    k = _kind_for(t, v)
    if k == _SCALAR:
        return v
    if k == _LIST:
        if type(v) is not list or not v or t.list_atomic:
            return _GONE
        toks = _list_tokens(t, v)
        if toks is None:
            return v
        item_t = t.item or _UNTYPED
        items: list[JSON] = []
        for tok, item in zip(toks, v, strict=True):
            sub = node.get(tok)
            if sub is not None:
                if "." in sub:
                    continue
                item = _remove(item_t, item, sub, empty)
                if item is _GONE:
                    item = empty
            items.append(item)
        return items if items else _GONE
    if type(v) is not dict or not v or t.atomic:
        return _GONE
    fields, elem = t.fields, t.elem
    out: dict[str, JSON] = {}
    for key, val in v.items():
        sub = node.get("f:" + key)
        if sub is not None:
            if "." in sub:
                continue
            val = _remove(fields.get(key) or elem or _UNTYPED, val, sub, empty)
            if val is _GONE:
                val = empty
        out[key] = val
    return out if out else _GONE


def _field_set(t: _Type, v: JSON) -> set[Path]:
    out: set[Path] = set()
    if v is not _GONE and v is not None:
        _to_set(t, v, (), out)
    return out


def _removed(t: _Type, v: JSON, paths: set[Path], empty: JSON = None) -> JSON:
    if not paths:
        return v
    out = _remove(t, v, _trie(paths), empty)
    return empty if out is _GONE else out


def _without_pruned(v: JSON) -> JSON:
    """Drop the nulls pruning left, as storing the object drops nulls."""
    if type(v) is dict:
        return {k: _without_pruned(x) for k, x in v.items() if x is not _PRUNED}
    if type(v) is list:
        return [_without_pruned(x) for x in v if x is not _PRUNED]
    return v


# --------------------------------------------------------------------------------------------
# Managed fields: decode / encode
# --------------------------------------------------------------------------------------------

# (manager, operation, apiVersion — empty for Apply —, subresource): BuildManagerIdentifier.
Ident = tuple[str, str, str, str]


class _VSet:
    __slots__ = ("api_version", "applied", "paths")

    def __init__(self, paths: set[Path], api_version: str, applied: bool) -> None:
        self.paths = paths
        self.api_version = api_version
        self.applied = applied


class _Managed:
    __slots__ = ("fields", "times")

    def __init__(
        self, fields: dict[Ident, _VSet] | None = None, times: dict[Ident, str | None] | None = None
    ) -> None:
        self.fields: dict[Ident, _VSet] = fields if fields is not None else {}
        self.times: dict[Ident, str | None] = times if times is not None else {}


def _ident(manager: str, operation: str, api_version: str, subresource: str) -> Ident:
    return (manager, operation, "" if operation == "Apply" else api_version, subresource)


def _ident_json(ident: Ident) -> str:
    manager, operation, api_version, subresource = ident
    parts = []
    if manager:
        parts.append('"manager":' + _go_json(manager))
    if operation:
        parts.append('"operation":' + _go_json(operation))
    if api_version:
        parts.append('"apiVersion":' + _go_json(api_version))
    if subresource:
        parts.append('"subresource":' + _go_json(subresource))
    return "{" + ",".join(parts) + "}"


def _print_manager(ident: Ident) -> str:
    manager, operation, api_version, subresource = ident
    out = _go_quote(manager)
    if subresource:
        out += f" with subresource {_go_quote(subresource)}"
    if operation == "Update":
        out += f" using {api_version}"
    return out


@functools.lru_cache(maxsize=4096)
def _parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))


def _normalize_time(value: Any) -> str | None:
    """metav1.Time round trip: RFC 3339, whole seconds, UTC 'Z'."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _DecodeError("time must be a string")
    if len(value) == 20 and value[-1] == "Z" and value[10] == "T":
        return value
    try:
        parsed = _parse_time(value)
    except ValueError as e:
        raise _DecodeError(f"invalid time {value!r}: {e}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _canonical_now(now: str) -> str:
    try:
        return _normalize_time(now) or now
    except _DecodeError:
        return now


def _seconds(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        return _parse_time(value).timestamp()
    except ValueError:
        return 0.0


def _decode(entries: Any) -> _Managed:
    """DecodeManagedFields."""
    managed = _Managed()
    if entries is None:
        return managed
    if not isinstance(entries, list):
        raise _DecodeError("managedFields must be a list")
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise _DecodeError(f"managed fields entry {i} is not an object")
        operation = entry.get("operation")
        if operation not in ("Apply", "Update"):
            raise _DecodeError("operation must be `Apply` or `Update`")
        api_version = entry.get("apiVersion")
        if not isinstance(api_version, str) or not api_version:
            raise _DecodeError("apiVersion must not be empty")
        fields_type = entry.get("fieldsType")
        if fields_type != "FieldsV1":
            if not fields_type:
                raise _DecodeError(f"missing fieldsType in managed fields entry {i}")
            raise _DecodeError(
                f"invalid fieldsType {_go_quote(str(fields_type))} in managed fields entry {i}"
            )
        manager = entry.get("manager") or ""
        subresource = entry.get("subresource") or ""
        if not isinstance(manager, str) or not isinstance(subresource, str):
            raise _DecodeError(f"invalid manager in managed fields entry {i}")
        ident = _ident(manager, operation, api_version, subresource)
        managed.fields[ident] = _VSet(
            _fields_to_set(entry.get("fieldsV1")), api_version, operation == "Apply"
        )
        managed.times[ident] = _normalize_time(entry.get("time"))
    return managed


def _encode(managed: _Managed) -> list[dict[str, Any]]:
    """encodeManagedFields, sorted like the apiserver: Apply first, then by time, manager,
    apiVersion and subresource."""
    entries: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for ident, vs in managed.fields.items():
        manager, operation, _, subresource = ident
        operation = "Apply" if vs.applied else operation
        entry: dict[str, Any] = {}
        if manager:
            entry["manager"] = manager
        entry["operation"] = operation
        entry["apiVersion"] = vs.api_version
        time = managed.times.get(ident)
        if time:
            entry["time"] = time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = _set_to_fields(vs.paths)
        if subresource:
            entry["subresource"] = subresource
        entries.append(
            ((operation, int(_seconds(time)), manager, vs.api_version, subresource), entry)
        )
    entries.sort(key=lambda e: e[0])
    return [e for _, e in entries]


def _is_reset(entries: Any) -> bool:
    """isResetManagedFields: an empty list or a list of one empty entry."""
    if not isinstance(entries, list):
        return False
    if not entries:
        return True
    return (
        len(entries) == 1
        and isinstance(entries[0], Mapping)
        and all(v is None or v == "" for v in entries[0].values())
    )


# --------------------------------------------------------------------------------------------
# The managers (structured merge, strip meta, current operation, cap)
# --------------------------------------------------------------------------------------------

_STRIP: frozenset[Path] = frozenset(
    {
        ("f:apiVersion",),
        ("f:kind",),
        ("f:metadata",),
        ("f:metadata", "f:name"),
        ("f:metadata", "f:namespace"),
        ("f:metadata", "f:creationTimestamp"),
        ("f:metadata", "f:selfLink"),
        ("f:metadata", "f:uid"),
        ("f:metadata", "f:clusterName"),
        ("f:metadata", "f:generation"),
        ("f:metadata", "f:managedFields"),
        ("f:metadata", "f:resourceVersion"),
    }
)

_CURRENT_OPERATION: Ident = ("current-operation", "", "", "")


class _FieldManager:
    """The apiserver's manager chain for one kind, API version and subresource."""

    def __init__(
        self,
        root: _Type,
        *,
        api_version: str,
        subresource: str,
        ignore: tuple[Path, ...],
        now: str,
    ) -> None:
        self.t = root
        self.api_version = api_version
        self.subresource = subresource
        self.ignore = ignore
        self.now = now

    # -- SMD Updater -------------------------------------------------------------------------

    def _smd_update(
        self, old: JSON, new: JSON, managers: dict[Ident, _VSet], workflow: Ident, *, force: bool
    ) -> tuple[dict[Ident, _VSet], _Comparison]:
        compare = _comparison(self.t, old, new)
        filtered = compare.excluding(self.ignore)
        changed = filtered.modified | filtered.added
        conflicts: dict[Ident, set[Path]] = {}
        for ident, vs in managers.items():
            if ident == workflow:
                continue
            clash = vs.paths & changed
            if clash:
                conflicts[ident] = clash
        if conflicts and not force:
            raise _Conflicts(conflicts)
        removed = filtered.removed
        for ident, vs in list(managers.items()):
            if ident == workflow:
                continue
            paths = vs.paths
            if ident in conflicts:
                paths = paths - conflicts[ident]
            if removed:
                paths = paths - removed
            if paths is not vs.paths:
                managers[ident] = _VSet(paths, vs.api_version, vs.applied)
        for ident in [i for i, vs in managers.items() if not vs.paths]:
            del managers[ident]
        return managers, compare

    def _prune(self, merged: JSON, managers: dict[Ident, _VSet], last: set[Path]) -> JSON:
        """Remove what the applier owned last time, no longer applies, and nobody else owns."""
        t = self.t
        last_e = _ensure_named(t, last)
        pruned = _removed(t, merged, last_e)
        owned: set[Path] = set()
        for vs in managers.values():
            owned |= vs.paths
        merged_e = _ensure_named(t, _field_set(t, merged))
        keep = _ensure_named(t, _field_set(t, pruned)) | _ensure_named(t, owned)
        pruned = _removed(t, merged, merged_e - keep)
        dangling = (merged_e - _ensure_named(t, _field_set(t, pruned))) & last_e
        return _removed(t, merged, dangling, _PRUNED)

    def _smd_apply(
        self, live: JSON, config: JSON, managers: dict[Ident, _VSet], ident: Ident, *, force: bool
    ) -> tuple[JSON | None, dict[Ident, _VSet]]:
        t = self.t
        merged = _merge(t, live, config)
        if merged is _NIL:
            merged = {}
        last = managers.get(ident)
        applied = _exclude(_field_set(t, config), self.ignore)
        managers[ident] = _VSet(applied, self.api_version, True)
        # Re-applying everything applied last time can never prune anything.
        pruned = last is not None and bool(last.paths) and not last.paths <= applied
        if pruned:
            assert last is not None
            merged = self._prune(merged, managers, last.paths)
        managers, _ = self._smd_update(live, merged, managers, ident, force=force)
        if merged == live:
            return None, managers
        if pruned:
            merged = {} if merged is _PRUNED else _without_pruned(merged)
        return merged, managers

    # -- apimachinery managers ---------------------------------------------------------------

    def update(self, old: JSON, new: JSON, managed: _Managed, manager: str) -> _Managed:
        """capManagers → buildManagerInfo → managedFieldsUpdater → stripMeta → structured Update."""
        ident = _ident(manager or "unknown", "Update", self.api_version, self.subresource)
        fields = dict(managed.fields)
        times = dict(managed.times)
        fields, compare = self._smd_update(old, new, fields, _CURRENT_OPERATION, force=True)
        taken = _exclude(compare.modified | compare.added, self.ignore) - _STRIP
        if taken:
            previous = fields.get(ident)
            if previous is not None:
                taken = taken | previous.paths
            fields[ident] = _VSet(taken, self.api_version, False)
            times[ident] = self.now
        result = _Managed(fields, times)
        _cap_update_managers(result)
        return result

    def apply(
        self, live: JSON, config: JSON, managed: _Managed, manager: str, *, force: bool
    ) -> tuple[JSON, _Managed]:
        """buildManagerInfo → managedFieldsUpdater → stripMeta → structured Apply."""
        ident = _ident(manager or "unknown", "Apply", self.api_version, self.subresource)
        fields = dict(managed.fields)
        times = dict(managed.times)
        new, fields = self._smd_apply(live, config, fields, ident, force=force)
        vs = fields.get(ident)
        if vs is not None:
            stripped = vs.paths - _STRIP
            if stripped:
                fields[ident] = _VSet(stripped, vs.api_version, vs.applied)
            else:
                del fields[ident]
        if new is not None:
            times[ident] = self.now
        else:
            new = _jcopy(live)
        return new, _Managed(fields, times)


def _cap_update_managers(managed: _Managed) -> None:
    """Fold the oldest update managers into "ancient-changes" buckets beyond ten of them."""
    updaters = [i for i, vs in managed.fields.items() if not vs.applied]
    if len(updaters) <= _MAX_UPDATE_MANAGERS:
        return
    updaters.sort(key=lambda i: (int(_seconds(managed.times.get(i))), _ident_json(i)))
    first_of_version: dict[str, Ident] = {}
    length = len(updaters)
    for ident in updaters:
        if length <= _MAX_UPDATE_MANAGERS:
            break
        vs = managed.fields[ident]
        time = managed.times.get(ident)
        bucket = _ident(_ANCIENT_CHANGES, "Update", vs.api_version, "")
        first = first_of_version.get(vs.api_version)
        if first is None:
            first_of_version[vs.api_version] = ident
            continue
        if bucket not in managed.fields:
            managed.fields[bucket] = managed.fields.pop(first)
            managed.times.pop(first, None)
        managed.fields[bucket] = _VSet(
            vs.paths | managed.fields[bucket].paths, vs.api_version, vs.applied
        )
        del managed.fields[ident]
        managed.times.pop(ident, None)
        length -= 1
        managed.times[bucket] = time


# --------------------------------------------------------------------------------------------
# Public operations
# --------------------------------------------------------------------------------------------


def _plain(v: Any) -> JSON:
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _body(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without metadata.managedFields (which is never part of any field set)."""
    body = obj if type(obj) is dict else _plain(obj)
    meta = body.get("metadata")
    if type(meta) is dict and "managedFields" in meta:
        body = dict(body)
        meta = dict(meta)
        del meta["managedFields"]
        body["metadata"] = meta
    return body


def _managed_fields_of(obj: Mapping[str, Any] | None) -> Any:
    if obj is None:
        return None
    meta = obj.get("metadata")
    return meta.get("managedFields") if isinstance(meta, Mapping) else None


def _ignored_paths(
    root: _Type, subresource: str, reset_fields: Iterable[Sequence[str]] | None
) -> tuple[Path, ...]:
    if reset_fields is None:
        # The strategies' GetResetFields: the main resource may not write status, the status
        # subresource may not write spec.
        if subresource == "status":
            reset_fields = [("spec",)] if "spec" in root.fields else []
        elif subresource == "":
            reset_fields = [("status",)] if "status" in root.fields else []
        else:
            reset_fields = []
    return tuple(tuple("f:" + name for name in path) for path in reset_fields if path)


def _gvk_string(api_version: Any, kind: Any) -> str:
    api_version = api_version if isinstance(api_version, str) else ""
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}, Kind={kind if isinstance(kind, str) else ''}"


def _reset(obj: dict[str, Any], live: Mapping[str, Any] | None, paths: tuple[Path, ...]) -> None:
    """Give reset fields their live value back, as the strategy's PrepareForUpdate does."""
    for path in paths:
        names = [tok[2:] for tok in path]
        src: Any = live
        for name in names:
            src = src.get(name, _NIL) if isinstance(src, Mapping) else _NIL
        dst: Any = obj
        for name in names[:-1]:
            nxt = dst.get(name)
            if type(nxt) is not dict:
                if src is _NIL:
                    break
                nxt = dst[name] = {}
            dst = nxt
        else:
            if src is _NIL:
                dst.pop(names[-1], None)
            else:
                dst[names[-1]] = _jcopy(_plain(src))


def _set_managed_fields(obj: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    meta = obj.get("metadata")
    if type(meta) is not dict:
        meta = obj["metadata"] = {}
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)


def server_side_apply(
    live: Mapping[str, Any] | None,
    config: Mapping[str, Any],
    *,
    manager: str,
    force: bool,
    schema: dict[str, Any] | None,
    schemas: SchemaSet | None,
    api_version: str,
    now: str,
    subresource: str = "",
    reset_fields: Iterable[Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Merge an applied configuration into the live object (None: create) and return the new
    object, ``metadata.managedFields`` included.

    ``reset_fields`` are the paths the storage strategy resets (field names, such as
    ``[("status",)]``); by default ``status`` on the main resource and ``spec`` on ``status``, as
    built-in kinds do. Their ownership is never recorded and the result keeps their live values.
    Raises ApplyConflict (409) unless ``force``, and ApplyError (400/500) for configurations the
    apiserver rejects. Inputs are never mutated.
    """
    root, zero = _root_type(schema, schemas)
    ignore = _ignored_paths(root, subresource, reset_fields)
    now = _canonical_now(now)
    cfg = config if type(config) is dict else _plain(config)
    if not isinstance(cfg, dict):
        raise ApplyError("apply configuration must be an object")
    _check_type(cfg, schema, live, api_version)
    meta = cfg.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("managedFields"), list):
        raise ApplyError("metadata.managedFields must be nil")
    errs: list[str] = []
    _validate(root, cfg, "", errs)
    if errs:
        detail = errs[0] if len(errs) == 1 else "errors:\n" + "\n".join("  " + e for e in errs)
        raise ApplyError(f"failed to create typed patch object ({_gvknn(cfg)}): {detail}", code=500)

    live_body = _body(live) if live is not None else {}
    try:
        managed = _decode(_managed_fields_of(live))
    except _DecodeError as e:
        raise ApplyError(f"failed to decode managed fields: {e}", code=500) from None
    fm = _FieldManager(
        root, api_version=api_version, subresource=subresource, ignore=ignore, now=now
    )

    if not managed.fields and live is not None:
        # skipNonAppliedManager: an object nobody tracked yet is first attributed to
        # "before-first-apply", so the apply cannot silently take over existing values.
        managed = fm.update(zero, live_body, managed, _BEFORE_FIRST_APPLY)

    try:
        obj, managed = fm.apply(live_body, cfg, managed, manager, force=force)
    except _Conflicts as c:
        conflicts = [
            (ident, path)
            for ident in sorted(c.sets, key=_ident_json)
            for path in _iterate(c.sets[ident])
        ]
        if manager == "kubectl":
            # lastAppliedManager: fields that kubectl's client-side apply set to the values being
            # applied may change hands without a conflict.
            allowed = _allowed_from_last_applied(root, live_body, api_version)
            if allowed is not None:
                conflicts = [(i, p) for i, p in conflicts if p not in allowed]
                if not conflicts:
                    obj, managed = fm.apply(live_body, cfg, managed, manager, force=True)
        if conflicts:
            raise _conflict_error(conflicts) from None

    if manager == "kubectl":
        _update_last_applied(obj, cfg)
    if ignore:
        _reset(obj, live_body if live is not None else None, ignore)
    _set_managed_fields(obj, _encode(managed))
    return obj


def record_update(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    *,
    manager: str,
    schema: dict[str, Any] | None,
    schemas: SchemaSet | None,
    api_version: str,
    now: str,
    subresource: str = "",
    reset_fields: Iterable[Sequence[str]] | None = None,
) -> list[dict[str, Any]]:
    """The managedFields after a create (``old`` None), update or non-apply patch by ``manager``.

    The fields that changed go to the manager's Update entry and are taken from everyone else.
    managedFields sent in ``new`` replace the stored ones (``[]`` or ``[{}]`` clears them) except on
    subresources; an existing object without managedFields stays untracked until the next apply.
    An empty result means the object carries no managedFields.
    """
    root, zero = _root_type(schema, schemas)
    ignore = _ignored_paths(root, subresource, reset_fields)
    now = _canonical_now(now)
    managed = _live_or_new(old, new, is_subresource=subresource != "")
    if not managed.fields and old is not None:
        return []
    old_body = _body(old) if old is not None else zero
    new_body = _body(new)
    fm = _FieldManager(
        root, api_version=api_version, subresource=subresource, ignore=ignore, now=now
    )
    return _encode(fm.update(old_body, new_body, managed, manager))


def _live_or_new(
    old: Mapping[str, Any] | None, new: Mapping[str, Any], *, is_subresource: bool
) -> _Managed:
    """decodeLiveOrNew: the request's managedFields win when valid and non-empty."""
    if not is_subresource:
        sent = _managed_fields_of(new)
        if _is_reset(sent):
            return _Managed()
        try:
            managed = _decode(sent)
            if managed.fields:
                return managed
        except _DecodeError:
            pass
    try:
        return _decode(_managed_fields_of(old))
    except _DecodeError:
        return _Managed()


def _check_type(
    cfg: dict[str, Any],
    schema: Mapping[str, Any] | None,
    live: Mapping[str, Any] | None,
    api_version: str,
) -> None:
    """versionCheckManager: the applied object must be of the endpoint's kind and version."""
    kinds: set[str] = set()
    group, _, version = api_version.rpartition("/")
    for gvk in (schema or {}).get("x-kubernetes-group-version-kind", ()) or ():
        if gvk.get("group", "") == group and gvk.get("version") == version:
            kinds.add(gvk.get("kind", ""))
    if live is not None and isinstance(live.get("kind"), str):
        kinds = {live["kind"]}
    if cfg.get("apiVersion") != api_version or (kinds and cfg.get("kind") not in kinds):
        raise ApplyError(
            f"invalid object type: {_gvk_string(cfg.get('apiVersion'), cfg.get('kind'))}"
        )


def _gvknn(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    return (
        f"{meta.get('namespace') or ''}/{meta.get('name') or ''}; "
        f"{_gvk_string(obj.get('apiVersion'), obj.get('kind'))}"
    )


def _conflict_message(conflicts: list[tuple[str, str]]) -> str:
    """getConflictMessage from (printed manager, path) pairs."""
    if len(conflicts) == 1:
        return f"Apply failed with 1 conflict: conflict with {conflicts[0][0]}: {conflicts[0][1]}"
    by_manager: dict[str, list[str]] = {}
    for printed, path in conflicts:
        by_manager.setdefault(printed, []).append(path)
    lines: list[str] = []
    for printed, paths in by_manager.items():
        lines.append(f"conflicts with {printed}:")
        lines.extend(f"- {p}" for p in paths)
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


def _conflict_error(conflicts: list[tuple[Ident, Path]]) -> ApplyConflict:
    # Grouped by the sorted manager identifiers, as the apiserver prints them.
    return ApplyConflict(
        [(i[0], _path_str(p)) for i, p in conflicts],
        printed_managers=[_print_manager(i) for i, _ in conflicts],
    )


def _allowed_from_last_applied(
    root: _Type, live: dict[str, Any], api_version: str
) -> set[Path] | None:
    meta = live.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    text = annotations.get(LAST_APPLIED_ANNOTATION) if isinstance(annotations, dict) else None
    if not isinstance(text, str) or not text:
        return None
    try:
        last = json.loads(text)
    except ValueError:
        return None
    if not isinstance(last, dict) or last.get("apiVersion") != api_version:
        return None
    errs: list[str] = []
    _validate(root, last, "", errs)
    if errs:
        return None
    compare = _comparison(root, last, live)
    return _field_set(root, last) - compare.modified - compare.added - compare.removed


def _update_last_applied(obj: dict[str, Any], cfg: dict[str, Any]) -> None:
    """lastAppliedUpdater: keep kubectl's client-side annotation in step with its applies."""
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict) or not annotations.get(LAST_APPLIED_ANNOTATION):
        return
    applied = dict(cfg)
    cfg_meta = applied.get("metadata")
    if isinstance(cfg_meta, dict) and isinstance(cfg_meta.get("annotations"), dict):
        cfg_meta = dict(cfg_meta)
        cfg_meta["annotations"] = {
            k: v for k, v in cfg_meta["annotations"].items() if k != LAST_APPLIED_ANNOTATION
        }
        applied["metadata"] = cfg_meta
    text = _go_json_document(applied) + "\n"
    annotations[LAST_APPLIED_ANNOTATION] = text
    total = sum(
        len(k.encode()) + len(v.encode()) for k, v in annotations.items() if isinstance(v, str)
    )
    if total > _TOTAL_ANNOTATION_SIZE_LIMIT:
        del annotations[LAST_APPLIED_ANNOTATION]


def _go_json_document(v: JSON) -> str:
    s = json.dumps(v, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return (
        s.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
