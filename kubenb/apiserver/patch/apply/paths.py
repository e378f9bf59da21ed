"""Path elements: how one step into an object is named, ordered and printed.

A path is a tuple of elements written the way ``FieldsV1`` writes them: ``f:<field>``,
``k:<json of the list-map keys, keys sorted>``, ``v:<json>`` for set items and ``i:<n>`` (only
ever read; the apiserver never writes indices). As tuples of these strings, field sets are plain
Python sets and the elements are already the FieldsV1 keys. Elements sort in SMD's order (clients
show managedFields as encoded) and print as ``fieldpath.Path.String`` does in conflict messages.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from kubenb.apiserver.patch.apply.errors import _DecodeError, _PathError
from kubenb.apiserver.patch.apply.goformat import _go_json, _go_quote, _go_string
from kubenb.apiserver.patch.apply.schema import _Type
from kubenb.apiserver.patch.apply.values import _NIL, JSON

Path = tuple[str, ...]


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
