"""Merging an applied configuration into the live object, and pruning what the applier dropped.

The merge follows SMD: granular maps and associative lists merge item by item (the live order,
with new items woven in where the applied order puts them), atomic nodes are replaced whole.
Pruning removes the fields the applier owned last time, no longer applies and nobody else owns;
a null it leaves behind is ``_PRUNED``, so ownership is still computed as SMD computes it, and
``_without_pruned`` drops it afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubenb.apiserver.patch.apply.fieldset import _ensure_named, _field_set, _list_tokens, _trie
from kubenb.apiserver.patch.apply.paths import Path
from kubenb.apiserver.patch.apply.schema import (
    _LIST,
    _MAP,
    _MULTI,
    _SCALAR,
    _UNTYPED,
    _kind_for,
    _Type,
    _value_kind,
)
from kubenb.apiserver.patch.apply.values import _GONE, _NIL, _PRUNED, JSON, _jcopy


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


def _prune(t: _Type, merged: JSON, owners: Iterable[set[Path]], last: set[Path]) -> JSON:
    """Remove what the applier owned last time (``last``), no longer applies, and nobody else
    owns (``owners``: every manager's set, the new apply's included)."""
    last_e = _ensure_named(t, last)
    pruned = _removed(t, merged, last_e)
    owned: set[Path] = set()
    for paths in owners:
        owned |= paths
    merged_e = _ensure_named(t, _field_set(t, merged))
    keep = _ensure_named(t, _field_set(t, pruned)) | _ensure_named(t, owned)
    pruned = _removed(t, merged, merged_e - keep)
    dangling = (merged_e - _ensure_named(t, _field_set(t, pruned))) & last_e
    return _removed(t, merged, dangling, _PRUNED)
