"""Strategic merge patch (``application/strategic-merge-patch+json``), as the apiserver applies it.

kubectl sends this patch type for ``kubectl apply`` (client-side), ``edit``, ``patch``, ``label``,
``annotate``, ``set image`` and ``rollout restart``. It is JSON merge patch plus knowledge of the
schema: a list field tagged ``x-kubernetes-patch-strategy: merge`` is merged item by item on its
``x-kubernetes-patch-merge-key`` (containers by ``name``, ports by ``containerPort``), or as a set
when it holds scalars (finalizers); every other list is replaced. On top of that the patch may
carry directives: ``$patch: replace | delete`` in a map or a list item, ``$retainKeys`` (clear the
keys of a union that are not listed), ``$setElementOrder/<list>`` (the order the client wants) and
``$deleteFromPrimitiveList/<list>`` (remove scalars from a set).

No maintained Python library implements this, so this module follows the Go implementation in
``k8s.io/apimachinery/pkg/util/strategicpatch`` (``mergeMap``, ``mergeSlice``,
``mergePatchIntoOriginal``, ``normalizeElementOrder``) step by step, including its quirks, because
clients see the results. In particular an item added to a merged list lands *before* the items the
server already had, unless ``$setElementOrder`` says otherwise (the Kubernetes docs show this for
``kubectl patch``: the new ``patch-demo-ctr-2`` container comes first). ``$patch: merge`` is not a
patch directive in Go (the design doc says it lives only in struct tags), so a patch that carries it
is rejected, as the real apiserver does.

Two deliberate differences, both about what the typed round trip in the real apiserver hides:

* Go copies added or replaced values into the result verbatim, with stray directive keys
  (``$retainKeys``, ``$setElementOrder/...``) and nulls; decoding into Go structs then drops them.
  kubenb keeps objects as plain dicts, so those keys and nulls are dropped here instead.
* A field the schema does not know (or a kind with no schema) is handled like Go's OpenAPI lookup
  with no schema: maps merge, lists are replaced. (Go's struct lookup fails on an unknown field.)

And two leftovers of Go's slice handling that are not reproduced: when a stored set (finalizers)
already holds duplicates, Go's in-place de-duplication can rewrite the live order it then sorts by;
and a ``$setElementOrder`` for a list that is empty on both sides fails in Go ("no elements in any
of the given slices") but is a no-op here. The in-place deletion that does matter in practice
(``kubectl apply`` removing one container and adding another) is reproduced: see ``merge_list``.

Schema lookups are memoized per (schema node, field) so a patch per request costs dict lookups, not
schema walks; the schema itself is never copied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubenb.apiserver.schemas import Schema, SchemaSet

__all__ = ["PatchError", "strategic_merge"]

_PATCH = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder"
_DELETE_FROM = "$deleteFromPrimitiveList"

_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
_BAD_SET_ORDER = "invalid patch format of setElementOrder list"
_BAD_RETAIN_KEYS = "invalid patch format of retainKeys"


class PatchError(ValueError):
    """The patch cannot be applied: bad directive, missing merge key, value of the wrong type."""


@dataclass(frozen=True, slots=True)
class _Meta:
    """What the schema says about one field: its value's schema and how to patch it."""

    node: Schema | None  # resolved schema of the value; for a list, of its items
    strategy: str  # "merge", "replace" or "" (retainKeys is split off: it only needs the directive)
    merge_key: str


_UNKNOWN = _Meta(None, "", "")
_ADDITIONAL = "\x00additionalProperties"  # cache key shared by every key of a free-form map

_meta_cache: dict[tuple[int, int, str, bool], tuple[SchemaSet, Schema, _Meta]] = {}


def strategic_merge(
    original: Mapping[str, Any],
    patch: Mapping[str, Any],
    *,
    schema: Schema | None,
    schemas: SchemaSet,
) -> dict[str, Any]:
    """Apply a strategic merge ``patch`` to ``original`` and return the result as a new dict.

    ``schema`` is the kind's root schema (``schemas.for_kind(...)``) or None when unknown. Neither
    input is modified. Raises ``PatchError`` for a patch the apiserver would reject.
    """
    if not isinstance(original, Mapping):
        raise PatchError("the object to patch must be a JSON object")
    if not isinstance(patch, Mapping):
        raise PatchError("a strategic merge patch must be a JSON object")
    merger = _Merger(schemas)
    # Work on private copies: the algorithm edits both sides as it goes, like the Go code does.
    return merger.merge_map(_copy(original), _copy(patch), schemas.resolve(schema), "")


class _Merger:
    """One patch application: the recursive merge, with schema lookups through the cache."""

    def __init__(self, schemas: SchemaSet) -> None:
        self.schemas = schemas

    # -- schema lookups --------------------------------------------------------------------------

    def meta(self, node: Schema | None, key: str, *, is_list: bool) -> _Meta:
        if node is None:
            return _UNKNOWN
        props = node.get("properties")
        declared = props is not None and key in props
        cache_key = (id(self.schemas), id(node), key if declared else _ADDITIONAL, is_list)
        hit = _meta_cache.get(cache_key)
        # The entry holds the node and schema set, so their ids cannot be reused while it lives.
        if hit is not None and hit[0] is self.schemas and hit[1] is node:
            return hit[2]
        raw = props[key] if declared else node.get("additionalProperties")
        meta = self._compute_meta(raw, is_list=is_list) if isinstance(raw, dict) else _UNKNOWN
        if len(_meta_cache) > 50_000:
            _meta_cache.clear()
        _meta_cache[cache_key] = (self.schemas, node, meta)
        return meta

    def _compute_meta(self, raw: Schema, *, is_list: bool) -> _Meta:
        # The patch extensions sit next to the $ref on the property, not on the referenced type.
        strategies = str(raw.get("x-kubernetes-patch-strategy", "")).split(",")
        if len(strategies) == 1:
            strategy = "" if strategies[0] == "retainKeys" else strategies[0]
        elif len(strategies) == 2 and "retainKeys" in strategies:
            strategy = strategies[1] if strategies[0] == "retainKeys" else strategies[0]
        else:
            raise PatchError(f"unexpected patch strategy: {strategies}")
        node = self.schemas.items(raw) if is_list else self.schemas.resolve(raw)
        return _Meta(node, strategy, str(raw.get("x-kubernetes-patch-merge-key", "")))

    # -- maps ------------------------------------------------------------------------------------

    def merge_map(
        self, original: dict[str, Any], patch: dict[str, Any], node: Schema | None, path: str
    ) -> dict[str, Any]:
        if _PATCH in patch:
            directive = patch[_PATCH]
            if directive == "replace":
                return _literal({k: v for k, v in patch.items() if k != _PATCH})
            if directive == "delete":
                return {}
            raise PatchError(f"{_where(path)}unknown patch type: {directive!r} in map {patch!r}")

        _apply_retain_keys(original, patch, path)
        self._merge_ordered_lists(original, patch, node, path)

        for key, value in list(patch.items()):
            is_delete_list = key.startswith(_DELETE_FROM)
            if is_delete_list:
                key = _directive_target(key, _DELETE_FROM, _BAD_PRIMITIVE_LIST, path)
            if value is None:
                original.pop(key, None)
                continue
            if key not in original:
                if not is_delete_list:
                    _put(original, key, *_adopt(value))
                continue
            current = original[key]
            if type(current) is not type(value):
                if not is_delete_list:
                    _put(original, key, *_adopt(value))
                continue
            sub = _join(path, key)
            if isinstance(current, dict):
                meta = self.meta(node, key, is_list=False)
                if meta.strategy == "replace":
                    original[key] = _literal(value)
                else:
                    original[key] = self.merge_map(current, value, meta.node, sub)
            elif isinstance(current, list):
                meta = self.meta(node, key, is_list=True)
                original[key] = self.merge_list_field(current, value, meta, is_delete_list, sub)[0]
            else:
                original[key] = value
        return original

    def _merge_ordered_lists(
        self, original: dict[str, Any], patch: dict[str, Any], node: Schema | None, path: str
    ) -> None:
        """Merge each list named by a ``$setElementOrder/<list>`` key and put it in that order."""
        for directive in [k for k in patch if k.startswith(_SET_ORDER)]:
            order = patch.pop(directive)
            if not isinstance(order, list):
                raise PatchError(f"{_where(path)}{directive} must be a list")
            key = _directive_target(directive, _SET_ORDER, _BAD_SET_ORDER, path)
            sub = _join(path, key)
            in_original, in_patch = key in original, key in patch
            current, wanted = original.get(key), patch.get(key)
            if in_original and not isinstance(current, list):
                raise PatchError(f"{_where(sub)}expected a list, but the object has {current!r}")
            if in_patch and not isinstance(wanted, list):
                raise PatchError(f"{_where(sub)}expected a list, but the patch has {wanted!r}")
            meta = self.meta(node, key, is_list=True)
            _check_order(wanted or [], order, meta.merge_key, sub)

            server_order = current or []
            if in_original and not in_patch:
                merged = current
            elif in_patch and not in_original:
                merged = _adopt(wanted)[0]
            elif in_original and in_patch:
                merged, server_order = self.merge_list_field(current, wanted, meta, False, sub)
            else:
                continue
            if meta.merge_key:
                ordered, server_only = _partition_maps(merged, order, meta.merge_key, sub)
            else:
                ordered, server_only = _partition_scalars(merged, order, sub)
            element = _element_type(current or [], wanted or [], path=sub)
            # Go fails here when both lists are empty; there is nothing to order, so keep it.
            if element is not None:
                merged = _normalize_order(
                    ordered,
                    server_only,
                    order,
                    server_order,
                    meta.merge_key,
                    maps=element is dict,
                    path=sub,
                )
            original[key] = merged
            patch.pop(key, None)

    # -- lists -----------------------------------------------------------------------------------

    def merge_list_field(
        self, current: list[Any], wanted: list[Any], meta: _Meta, is_delete_list: bool, path: str
    ) -> tuple[list[Any], list[Any]]:
        """The merged list, and how Go's view of ``current`` looks afterwards (see merge_list)."""
        # A deletion list is honoured whatever the field's strategy, like in Go.
        if meta.strategy == "merge" or is_delete_list:
            return self.merge_list(current, wanted, meta, is_delete_list, path)
        return _literal(wanted), current

    def merge_list(
        self, current: list[Any], wanted: list[Any], meta: _Meta, is_delete_list: bool, path: str
    ) -> tuple[list[Any], list[Any]]:
        """Merge two lists; also return the live list as Go's slice of it reads afterwards.

        Go deletes ``$patch: delete`` items by shifting the live slice's array in place, then
        appends new items into the freed slots. The caller ordering by ``$setElementOrder`` still
        holds the original slice and so sees appended patch items where deleted items were; that
        decides where server-only items land, so it is reproduced here.
        """
        if not current and not wanted:
            return current, current
        element = _element_type(current, wanted, path=path)
        key = meta.merge_key
        view = current
        if element is not dict:
            if is_delete_list:
                gone = {_hashable(v, path) for v in wanted}
                return [v for v in current if _hashable(v, path) not in gone], current
            merged = _dedupe([*current, *wanted], path)
        else:
            if not key:
                raise PatchError(f"{_where(path)}cannot merge lists of objects without a merge key")
            backing, live, replaced, plain = _apply_item_directives(current, wanted, key, path)
            current, wanted = (plain, []) if replaced else (backing[:live], plain)
            merged = self._merge_items(current, wanted, key, meta.node, path)
            view = backing
            if not replaced and live < len(backing):
                appended = merged[live:]
                # The deletions' stale tail is overwritten by as many appended items as fit.
                view = [*backing[:live], *appended, *backing[live + len(appended) :]][
                    : len(backing)
                ]
        if key:
            ordered, server_only = _partition_maps(merged, wanted, key, path)
        else:
            ordered, server_only = _partition_scalars(merged, wanted, path)
        result = _normalize_order(
            ordered, server_only, wanted, current, key, maps=element is dict, path=path
        )
        return result, view

    def _merge_items(
        self, current: list[Any], wanted: list[Any], key: str, node: Schema | None, path: str
    ) -> list[Any]:
        """Merge each patch item into the first item with the same key, or append it."""
        merged = list(current)
        first: dict[Any, int] = {}
        for n, existing in enumerate(merged):
            if key in existing:
                first.setdefault(_hashable(existing[key], path), n)
        for item in wanted:
            if key not in item:
                raise _no_merge_key(item, key, path)
            match = _hashable(item[key], path)
            at = first.get(match)
            if at is not None:
                sub = f"{path}[{key}={item[key]}]"
                merged[at] = self.merge_map(merged[at], item, node, sub)
            else:
                first[match] = len(merged)
                merged.append(_literal(item))
        return merged


# -- directives ----------------------------------------------------------------------------------


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any], path: str) -> None:
    """``$retainKeys``: drop every key of ``original`` not listed (the union's other members)."""
    if _RETAIN_KEYS not in patch:
        return
    listed = patch.pop(_RETAIN_KEYS)
    if not isinstance(listed, list):
        raise PatchError(f"{_where(path)}{_BAD_RETAIN_KEYS}: $retainKeys must be a list")
    retained = {_hashable(k, path) for k in listed}
    for key, value in patch.items():
        if value is None or key.startswith((_DELETE_FROM, _SET_ORDER)):
            continue
        if (str, key) not in retained:
            raise PatchError(
                f"{_where(path)}{_BAD_RETAIN_KEYS}: {key!r} is set but not in $retainKeys"
            )
    for key in [k for k in original if (str, k) not in retained]:
        del original[key]


def _apply_item_directives(
    current: list[Any], wanted: list[Any], key: str, path: str
) -> tuple[list[Any], int, bool, list[Any]]:
    """Handle the ``$patch`` items of a merged list.

    Returns Go's backing array of ``current`` after the deletions with the count of live items
    at its front, whether ``$patch: replace`` was given, and the plain (directive-free) items.
    """
    backing = list(current)
    live = len(backing)
    plain: list[Any] = []
    replace = False
    for item in wanted:
        if _PATCH not in item:
            plain.append(item)
            continue
        directive = item[_PATCH]
        if directive == "delete":
            if key not in item:
                raise _no_merge_key(item, key, path)
            gone = _hashable(item[key], path)
            # Every item with that key goes, duplicates included; like Go's append(s[:k],
            # s[k+1:]...) each removal shifts the rest left and leaves the last slot stale.
            at = 0
            while at < live:
                existing = backing[at]
                if key in existing and _hashable(existing[key], path) == gone:
                    backing[at : live - 1] = backing[at + 1 : live]
                    live -= 1
                else:
                    at += 1
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise PatchError(f"{_where(path)}merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"{_where(path)}unknown patch type: {directive!r} in map {item!r}")
    if replace:
        # The list becomes exactly the patch's plain items, in the patch's order.
        plain = [_literal(item) for item in plain]
    return backing, live, replace, plain


def _check_order(wanted: list[Any], order: list[Any], key: str, path: str) -> None:
    """The patch's items must appear in ``$setElementOrder`` and in the same relative order."""
    if not order or not wanted:
        return
    items = wanted
    if key:
        for item in wanted:
            if not isinstance(item, dict):
                raise PatchError(f"{_where(path)}expected an object, but received {item!r}")
        items = [item for item in wanted if item.get(_PATCH) != "delete"]
    at = 0
    for entry in order:
        # Items with another directive ($patch: replace) are skipped, but only while entries of
        # the order list remain: Go rejects such an item at the very end, and so does this.
        while at < len(items) and isinstance(items[at], dict) and _PATCH in items[at]:
            at += 1
        if at >= len(items):
            return
        if _order_key(items[at], key, path) == _order_key(entry, key, path):
            at += 1
    if at < len(items):
        raise PatchError(
            f"{_where(path)}the order in patch list {wanted!r} doesn't match "
            f"{_SET_ORDER} list {order!r}"
        )


def _order_key(item: Any, key: str, path: str) -> Any:
    if not key:
        return _hashable(item, path)
    if not isinstance(item, dict):
        raise PatchError(f"{_where(path)}expected an object, but received {item!r}")
    if key not in item:
        raise _no_merge_key(item, key, path)
    return _hashable(item[key], path)


def _directive_target(directive: str, prefix: str, message: str, path: str) -> str:
    head, slash, target = directive.partition("/")
    if not slash or head != prefix:
        raise PatchError(f"{_where(path)}{message}: {directive!r}")
    return target


# -- ordering (normalizeElementOrder and friends) ------------------------------------------------


def _normalize_order(
    ordered: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    key: str,
    *,
    maps: bool,
    path: str,
) -> list[Any]:
    """Sort the patch's items by the patch, the server's own by the live list, then interleave.

    The relative order inside each group is kept; a server-only item goes before a patch item
    only when both are in the live list and it came first there. So new items land in front.
    """
    patch_position = _positions(patch_order, key, maps=maps, path=path)
    ordered = _sort_by(ordered, patch_position, key, maps=maps, path=path)
    position = _positions(server_order, key, maps=maps, path=path)
    server_only = _sort_by(server_only, position, key, maps=maps, path=path)
    left = [position.get(_identity(item, key, maps=maps, path=path)) for item in server_only]
    right = [position.get(_identity(item, key, maps=maps, path=path)) for item in ordered]
    result: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(ordered):
        if i < len(server_only) and j < len(ordered):
            li, rj = left[i], right[j]
            take_left = li is not None and rj is not None and li < rj
        else:
            take_left = i < len(server_only)
        if take_left:
            result.append(server_only[i])
            i += 1
        else:
            result.append(ordered[j])
            j += 1
    return result


def _sort_by(
    items: list[Any], position: dict[Any, int], key: str, *, maps: bool, path: str
) -> list[Any]:
    """Stable sort by first position in the order list; ``$patch: delete`` items go last."""
    deleted: list[Any] = []
    if maps:
        for item in items:
            if not isinstance(item, dict):
                raise PatchError(f"{_where(path)}expected an object, but received {item!r}")
            if key not in item:
                raise _no_merge_key(item, key, path)
        deleted = [item for item in items if item.get(_PATCH) == "delete"]
        items = [item for item in items if item.get(_PATCH) != "delete"]
    ranks = [position.get(_identity(item, key, maps=maps, path=path)) for item in items]
    known = [rank for rank in ranks if rank is not None]
    if len(known) == len(ranks):
        # The usual case: a consistent ordering, where any stable sort gives Go's result.
        indexes = sorted(range(len(items)), key=known.__getitem__)
    else:
        # Go's comparator says "less" whenever a rank is missing; only Go's own stable sort
        # reproduces what that does, so replay it.
        def less(a: int, b: int) -> bool:
            ra, rb = ranks[a], ranks[b]
            return ra is None or rb is None or ra < rb

        indexes = _go_stable_sort(len(items), less)
    return [items[n] for n in indexes] + deleted


def _go_stable_sort(n: int, less: Callable[[int, int], bool]) -> list[int]:
    """The permutation Go's ``sort.SliceStable`` produces: insertion sort runs of 20, then SymMerge.

    Works on indexes into the original sequence; ``less`` compares two of those indexes.
    """
    data = list(range(n))

    def insertion_sort(a: int, b: int) -> None:
        for i in range(a + 1, b):
            j = i
            while j > a and less(data[j], data[j - 1]):
                data[j], data[j - 1] = data[j - 1], data[j]
                j -= 1

    def sym_merge(a: int, m: int, b: int) -> None:
        if m - a == 1:
            lo, hi = m, b
            while lo < hi:
                h = (lo + hi) // 2
                if less(data[h], data[a]):
                    lo = h + 1
                else:
                    hi = h
            data[a:lo] = [*data[a + 1 : lo], data[a]]
            return
        if b - m == 1:
            lo, hi = a, m
            while lo < hi:
                h = (lo + hi) // 2
                if not less(data[m], data[h]):
                    lo = h + 1
                else:
                    hi = h
            data[lo : m + 1] = [data[m], *data[lo:m]]
            return
        mid = (a + b) // 2
        total = mid + m
        if m > mid:
            start, r = total - b, mid
        else:
            start, r = a, m
        p = total - 1
        while start < r:
            c = (start + r) // 2
            if not less(data[p - c], data[c]):
                start = c + 1
            else:
                r = c
        end = total - start
        if start < m < end:
            data[start:end] = [*data[m:end], *data[start:m]]
        if a < start < mid:
            sym_merge(a, start, mid)
        if mid < end < b:
            sym_merge(mid, end, b)

    block = 20
    a = 0
    while a + block <= n:
        insertion_sort(a, a + block)
        a += block
    insertion_sort(a, n)
    while block < n:
        a = 0
        while a + 2 * block <= n:
            sym_merge(a, a + block, a + 2 * block)
            a += 2 * block
        if a + block < n:
            sym_merge(a, a + block, n)
        block *= 2
    return data


def _positions(order: list[Any], key: str, *, maps: bool, path: str) -> dict[Any, int]:
    """First position of each item (of each merge key value, for maps) in ``order``."""
    position: dict[Any, int] = {}
    for n, item in enumerate(order):
        if maps:
            if not isinstance(item, dict):
                raise PatchError(f"{_where(path)}expected an object, but received {item!r}")
            if key not in item:
                raise _no_merge_key(item, key, path)
        position.setdefault(_identity(item, key, maps=maps, path=path), n)
    return position


def _identity(item: Any, key: str, *, maps: bool, path: str) -> Any:
    if maps:
        return _hashable(item.get(key) if isinstance(item, dict) else None, path)
    return _hashable(item, path)


def _partition_maps(
    merged: list[Any], by: list[Any], key: str, path: str
) -> tuple[list[Any], list[Any]]:
    """Split ``merged`` into items whose merge key appears in ``by`` and the others."""
    present = set()
    for item in by:
        if not isinstance(item, dict):
            raise PatchError(f"{_where(path)}expected an object, but received {item!r}")
        if key in item:
            present.add(_hashable(item[key], path))
    inside: list[Any] = []
    outside: list[Any] = []
    for item in merged:
        if not isinstance(item, dict):
            raise PatchError(f"{_where(path)}expected an object, but received {item!r}")
        if key not in item:
            raise _no_merge_key(item, key, path)
        (inside if _hashable(item[key], path) in present else outside).append(item)
    return inside, outside


def _partition_scalars(merged: list[Any], by: list[Any], path: str) -> tuple[list[Any], list[Any]]:
    present = {_hashable(v, path) for v in by}
    inside = [v for v in merged if _hashable(v, path) in present]
    outside = [v for v in merged if _hashable(v, path) not in present]
    return inside, outside


# -- values --------------------------------------------------------------------------------------


def _element_type(*lists: list[Any], path: str) -> type | None:
    """The one type of all elements (None if there are none), as Go's sliceElementType checks."""
    found: type | None = None
    for values in lists:
        for value in values:
            kind = type(value)
            if found is None:
                if kind is list:
                    raise PatchError(f"{_where(path)}lists of lists are not supported")
                found = kind
            elif kind is not found:
                raise PatchError(f"{_where(path)}list element types are not identical")
    return found


def _hashable(value: Any, path: str) -> tuple[type, Any]:
    """A key for Go's ``==`` on decoded JSON: 1, 1.0 and true are three different values."""
    if isinstance(value, dict | list):
        raise PatchError(f"{_where(path)}cannot compare {value!r}: expected a scalar value")
    return (type(value), value)


def _dedupe(values: list[Any], path: str) -> list[Any]:
    seen: set[Any] = set()
    unique = []
    for value in values:
        marker = _hashable(value, path)
        if marker not in seen:
            seen.add(marker)
            unique.append(value)
    return unique


def _is_directive_key(key: str) -> bool:
    return key in (_PATCH, _RETAIN_KEYS) or key.startswith((_SET_ORDER + "/", _DELETE_FROM + "/"))


def _adopt(value: Any) -> tuple[Any, bool]:
    """A patch value taken where there was nothing to merge with (Go's removeDirectives).

    A map carrying ``$patch`` is dropped (False: do not keep it); nulls and the other directive
    keys inside are dropped too, since they have nothing to act on.
    """
    if isinstance(value, dict):
        if _PATCH in value:
            return None, False
        kept: dict[str, Any] = {}
        for key, item in value.items():
            if item is None or _is_directive_key(key):
                continue
            new, keep = _adopt(item)
            if keep:
                kept[key] = new
        return kept, True
    if isinstance(value, list):
        items = []
        for item in value:
            new, keep = _adopt(item)
            if keep:
                items.append(new)
        return items, True
    return value, True


def _literal(value: Any) -> Any:
    """A patch value taken as is (a replace): directive keys and null members are left out."""
    if isinstance(value, dict):
        return {
            k: _literal(v) for k, v in value.items() if v is not None and not _is_directive_key(k)
        }
    if isinstance(value, list):
        return [_literal(v) for v in value]
    return value


def _put(target: dict[str, Any], key: str, value: Any, keep: bool) -> None:
    if keep:
        target[key] = value
    else:
        target.pop(key, None)


def _copy(value: Any) -> Any:
    """Copy decoded JSON (any Mapping / list / tuple) into fresh dicts and lists."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _SCALARS else _copy(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _SCALARS else _copy(v) for v in value]
    if kind not in _SCALARS and isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    return value


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _no_merge_key(item: Any, key: str, path: str) -> PatchError:
    return PatchError(f"{_where(path)}map {item!r} does not contain declared merge key: {key}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _where(path: str) -> str:
    return f"{path}: " if path else ""
