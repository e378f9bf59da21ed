"""Comparison of an old and a new value: which paths were added, modified or removed.

An Update is recorded as what changed (every node that appeared counts as added, so on create the
Go zero value of the kind decides which struct nodes appeared), and any write takes from other
managers exactly what it modified or added. This is SMD's TypedValue.Compare, including its
treatment of duplicated list items and of values that change shape under an untyped schema.
"""

from __future__ import annotations

from typing import Any

from kubenb.apiserver.patch.apply.fieldset import _exclude, _list_tokens
from kubenb.apiserver.patch.apply.paths import Path
from kubenb.apiserver.patch.apply.schema import (
    _LIST,
    _MAP,
    _MULTI,
    _SCALAR,
    _UNTYPED,
    _Type,
    _value_kind,
)
from kubenb.apiserver.patch.apply.values import _NIL, JSON


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
                if rv is lv or (type(rv) is type(lv) and rv == lv):
                    # what _compare finds for equal values of one type: nothing
                    continue
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
            if lv and rv:
                li, ri = lv[0], rv[0]
                if li is ri or (type(li) is type(ri) and li == ri):
                    continue
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


# -- Creates ---------------------------------------------------------------------------------
#
# On create the old value is the kind's Go zero value and nobody owns anything yet, so all an
# Update needs is ``added | modified`` of that one comparison. The walkers below compute exactly
# that set, straight into a trie (nested dicts, ``".": True`` on members, as fieldset._trie
# builds), without the removed set, the path tuples or the set operations of the general path.
# They follow _compare branch for branch; any change there must be mirrored here.


def _trie_added(t: _Type, rhs: JSON, node: dict[str, Any]) -> None:
    """_compare(t, _NIL, rhs): rhs and every node below it that the walk reaches is added."""
    node["."] = True
    k = t.kind
    if k == _MULTI:
        kr = _value_kind(rhs)
        k = _LIST if kr == _LIST else (_SCALAR if kr == _SCALAR else _MAP)
    if k == _MAP:
        if t.atomic or type(rhs) is not dict or not rhs:
            return
        fields, elem = t.fields, t.elem
        for key, rv in rhs.items():
            child: dict[str, Any] = {}
            _trie_added(fields.get(key) or elem or _UNTYPED, rv, child)
            node["f:" + key] = child
    elif k == _LIST:
        if t.list_atomic or type(rhs) is not list or not rhs:
            return
        toks = _list_tokens(t, rhs)
        if toks is None:
            return
        _trie_items(t, [], [], rhs, toks, node)


def _trie_changed(t: _Type, lhs: JSON, rhs: JSON, node: dict[str, Any]) -> None:
    """The added and modified paths of _compare(t, lhs, rhs) for a present lhs."""
    if lhs is rhs or rhs is _NIL:
        # Identical, or only removals below.
        return
    k = t.kind
    if k == _MULTI:
        kl, kr = _value_kind(lhs), _value_kind(rhs)
        if kl is not None and kr is not None and kl != kr:
            # The old side only contributes removals, or "modified" when it is a leaf.
            if not (
                (kl == _MAP and not t.atomic and lhs)
                or (kl == _LIST and not t.list_atomic and lhs and _list_tokens(t, lhs) is not None)
            ):
                node["."] = True
            if kr == _MAP and not t.atomic and rhs:
                fields, elem = t.fields, t.elem
                for key, rv in rhs.items():
                    child: dict[str, Any] = {}
                    _trie_added(fields.get(key) or elem or _UNTYPED, rv, child)
                    node["f:" + key] = child
            elif (
                kr == _LIST
                and not t.list_atomic
                and rhs
                and (toks := _list_tokens(t, rhs)) is not None
            ):
                # Each item is walked on its own, so duplicated items add up.
                item_t = t.item or _UNTYPED
                for tok, item in zip(toks, rhs, strict=True):
                    sub = {}
                    _trie_added(item_t, item, sub)
                    prev = node.get(tok)
                    node[tok] = sub if prev is None else _trie_union(prev, sub)
            else:
                node["."] = True
            return
        kk = kr or kl
        k = _LIST if kk == _LIST else (_SCALAR if kk == _SCALAR else _MAP)
    if k == _MAP:
        lm = lhs if type(lhs) is dict else None
        rm = rhs if type(rhs) is dict else None
        if t.atomic or (not lm and not rm):
            _trie_leaf(lhs, rhs, node)
            return
        if lhs == rhs:
            return
        fields, elem = t.fields, t.elem
        if lm:
            for key, lv in lm.items():
                rv = rm.get(key, _NIL) if rm else _NIL
                if rv is _NIL:
                    continue
                child = {}
                _trie_changed(fields.get(key) or elem or _UNTYPED, lv, rv, child)
                if child:
                    node["f:" + key] = child
        if rm:
            for key, rv in rm.items():
                if lm and key in lm:
                    continue
                child = {}
                _trie_added(fields.get(key) or elem or _UNTYPED, rv, child)
                node["f:" + key] = child
    elif k == _LIST:
        ll = lhs if type(lhs) is list else None
        rl = rhs if type(rhs) is list else None
        if t.list_atomic or (not ll and not rl):
            _trie_leaf(lhs, rhs, node)
            return
        if lhs == rhs:
            return
        ltoks = _list_tokens(t, ll or [])
        rtoks = _list_tokens(t, rl or [])
        if ltoks is None or rtoks is None:
            _trie_leaf(lhs, rhs, node)
            return
        _trie_items(t, ll or [], ltoks, rl or [], rtoks, node)
    else:
        _trie_leaf(lhs, rhs, node)


def _trie_leaf(lhs: JSON, rhs: JSON, node: dict[str, Any]) -> None:
    # lhs and rhs are both present here.
    if lhs != rhs or (type(lhs) is bool) != (type(rhs) is bool):
        node["."] = True


def _trie_items(
    t: _Type,
    ll: list[JSON],
    ltoks: list[str],
    rl: list[JSON],
    rtoks: list[str],
    node: dict[str, Any],
) -> None:
    """_compare_items, keeping only what was added or modified."""
    lvals: dict[str, list[JSON]] = {}
    for tok, item in zip(ltoks, ll, strict=True):
        lvals.setdefault(tok, []).append(item)
    rvals: dict[str, list[JSON]] = {}
    for tok, item in zip(rtoks, rl, strict=True):
        rvals.setdefault(tok, []).append(item)
    item_t = t.item or _UNTYPED
    for tok, rv in rvals.items():
        lv = lvals.get(tok, ())
        child: dict[str, Any] = {}
        if len(lv) <= 1 and len(rv) <= 1:
            if lv:
                _trie_changed(item_t, lv[0], rv[0], child)
            else:
                _trie_added(item_t, rv[0], child)
        elif len(lv) >= 2 and len(rv) >= 2:
            if list(lv) != list(rv):
                child["."] = True
        elif len(lv) >= 2:
            # Added from nothing (and also removed, which an Update does not record).
            _trie_added(item_t, rv[0], child)
        else:
            if lv:
                _trie_changed(item_t, lv[0], _NIL, child)
            child["."] = True
        if child:
            node[tok] = child


def _trie_union(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Merge trie b into trie a (the union of their sets)."""
    for tok, sub in b.items():
        if tok == ".":
            a["."] = True
            continue
        prev = a.get(tok)
        a[tok] = sub if prev is None else _trie_union(prev, sub)
    return a


def _changed_trie(t: _Type, lhs: JSON, rhs: JSON) -> dict[str, Any]:
    """``added | modified`` of _comparison(t, lhs, rhs) as a trie, for a present lhs."""
    node: dict[str, Any] = {}
    if lhs is _NIL:
        _trie_added(t, rhs, node)
    else:
        _trie_changed(t, lhs, rhs, node)
    return node
