"""Comparison of an old and a new value: which paths were added, modified or removed.

An Update is recorded as what changed (every node that appeared counts as added, so on create the
Go zero value of the kind decides which struct nodes appeared), and any write takes from other
managers exactly what it modified or added. This is SMD's TypedValue.Compare, including its
treatment of duplicated list items and of values that change shape under an untyped schema.
"""

from __future__ import annotations

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
