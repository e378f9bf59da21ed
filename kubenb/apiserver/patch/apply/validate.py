"""The checks the apiserver makes on an applied configuration before it merges anything.

ObjectToTyped rejects values of the wrong type, fields the schema does not declare and duplicate
items in associative lists. Its messages reach the user verbatim in the 500 response kubectl
prints, so they are built with Go's formatting.
"""

from __future__ import annotations

from kubenb.apiserver.patch.apply.errors import _PathError
from kubenb.apiserver.patch.apply.goformat import _go_type_name, _go_value
from kubenb.apiserver.patch.apply.paths import _item_token, _token_str
from kubenb.apiserver.patch.apply.schema import _MAP, _SCALAR, _UNTYPED, _kind_for, _Type
from kubenb.apiserver.patch.apply.values import JSON


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
