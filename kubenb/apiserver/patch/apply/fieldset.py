"""Field sets: the paths a value has, schema-aware set operations, and the FieldsV1 encoding.

A field set is a flat ``set`` of paths; operations that need the structure build a trie on
demand. In ``FieldsV1`` a node that is itself a member and has children gets a ``"."`` entry.
The set of a value computed here (TypedValue.ToFieldSet) is what an *Apply* records: the applied
configuration's own fields, with no ``"."`` on structs. What an *Update* records is what changed,
which compare.py works out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kubenb.apiserver.patch.apply.errors import _DecodeError, _PathError
from kubenb.apiserver.patch.apply.paths import (
    Path,
    _canonical_token,
    _item_token,
    _token_order,
)
from kubenb.apiserver.patch.apply.schema import (
    _LIST,
    _MAP,
    _MULTI,
    _SCALAR,
    _UNTYPED,
    _kind_for,
    _Type,
)
from kubenb.apiserver.patch.apply.values import _GONE, JSON


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
    return _trie_to_fields(_trie(paths))


def _trie_to_fields(trie: dict[str, Any]) -> dict[str, Any]:
    """Encode a set given as a trie (see _trie) as FieldsV1."""
    return _emit(trie)


def _emit(node: dict[str, Any]) -> dict[str, Any]:
    """One trie node as FieldsV1: ``"."`` only on members with children, children sorted."""
    if "." in node:
        if len(node) == 1:
            return {}
        out: dict[str, Any] = {".": {}}
        children = [k for k in node if k != "."]
    else:
        if not node:
            return {}
        out = {}
        children = list(node)
    if len(children) > 1:
        # Field tokens ("f:name") in plain string order are in _token_order already; when the
        # sorted ends are both fields, so is everything between them.
        children.sort()
        if children[0][0] != "f" or children[-1][0] != "f":
            children.sort(key=_token_order)
    for tok in children:
        out[tok] = _emit(node[tok])
    return out


def _trie_to_canonical_fields(trie: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """_trie_to_fields, also telling whether decoding the result gives the trie's set back in
    the same spelling (every element canonical, nothing at the root, not empty): then encoding
    that decoded set writes these same FieldsV1 again."""
    ok = [bool(trie) and "." not in trie]
    return _emit_checked(trie, ok), ok[0]


def _emit_checked(node: dict[str, Any], ok: list[bool]) -> dict[str, Any]:
    """_emit, clearing ``ok[0]`` on an element that decoding would spell differently."""
    if "." in node:
        if len(node) == 1:
            return {}
        out: dict[str, Any] = {".": {}}
        children = [k for k in node if k != "."]
    else:
        if not node:
            return {}
        out = {}
        children = list(node)
    if len(children) > 1:
        children.sort()
        if children[0][0] != "f" or children[-1][0] != "f":
            children.sort(key=_token_order)
            _check_tokens(children, ok)
    elif children[0][0] != "f":
        _check_tokens(children, ok)
    for tok in children:
        out[tok] = _emit_checked(node[tok], ok)
    return out


def _check_tokens(tokens: list[str], ok: list[bool]) -> None:
    for tok in tokens:
        if tok[:2] != "f:":
            try:
                if _canonical_token(tok) != tok:
                    ok[0] = False
            except _DecodeError:
                ok[0] = False


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
    if all(len(i) == 1 for i in ignore):
        # the usual case (status on the main resource, spec on status): one top-level field
        heads = {i[0] for i in ignore}
        return {p for p in paths if not p or p[0] not in heads}
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


def _field_set(t: _Type, v: JSON) -> set[Path]:
    out: set[Path] = set()
    if v is not _GONE and v is not None:
        _to_set(t, v, (), out)
    return out
