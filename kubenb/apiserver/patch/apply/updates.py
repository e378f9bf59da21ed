"""record_update for an update of an object whose managedFields are already in canonical form.

The general path decodes every manager's ``fieldsV1`` into a set of paths, runs the manager chain
and encodes every entry again. For an update that changes a few fields (a kubelet's status patch,
a binding, a controller's status write) almost all of that reproduces what was stored: a manager
whose set loses nothing keeps an entry that encodes to exactly the stored one. So when the stored
entries are exactly what ``_encode`` writes (checked here, not assumed), only two kinds of entry
are rebuilt: the writer's, and those that own a path the write changed or removed. Everything
else is handed back as stored. Anything unusual (entries a client wrote by hand, duplicate
managers, the cap of ten update managers, managedFields sent with a PUT that differ from the
stored ones) goes to the general path, which the tests hold this one to.
"""

from __future__ import annotations

from typing import Any

from kubenb.api.memo import exact_dump, remember
from kubenb.apiserver.patch.apply.compare import _comparison
from kubenb.apiserver.patch.apply.errors import _DecodeError
from kubenb.apiserver.patch.apply.fieldset import _emit, _trie
from kubenb.apiserver.patch.apply.managedfields import Ident, _ident, _seconds
from kubenb.apiserver.patch.apply.managers import _MAX_UPDATE_MANAGERS, _STRIP
from kubenb.apiserver.patch.apply.paths import Path, _canonical_token, _token_order
from kubenb.apiserver.patch.apply.schema import _Type

__all__ = ["update_entries"]

Entry = dict[str, Any]


def _canonical_fields(node: dict[str, Any], root: bool) -> bool:
    """Whether FieldsV1 ``node`` is exactly what encoding its own decoded set writes.

    That is: ``"."`` (valued ``{}``) first and only on members that have children, every key a
    known element in its canonical spelling, children in the encoder's order, no empty root."""
    if not node:
        return not root
    children = list(node)
    if children[0] == ".":
        if root or len(children) == 1:
            return False
        dot = node["."]
        if type(dot) is not dict or dot:
            return False
        del children[0]
    only_fields = True
    for tok in children:
        if tok[:2] != "f:":
            # f:<anything> is its own canonical spelling; the others are looked up
            only_fields = False
            try:
                if _canonical_token(tok) != tok:
                    return False
            except _DecodeError:
                return False
        sub = node[tok]
        if type(sub) is not dict:
            return False
        if sub and not _canonical_fields(sub, False):
            return False
    if len(children) > 1:
        order = sorted(children)
        if not only_fields:
            order.sort(key=_token_order)
        if order != children:
            return False
    return True


#: encoded FieldsV1 (orjson bytes) known to be canonical: checked once, or written by this module
#: from a canonical set. Many objects share entries (every replica of a template has the same
#: controller and scheduler entries) and the next write of an object meets the entries the last
#: one wrote, so most checks are a dump and a lookup. The older half goes when it is full.
_CANONICAL: dict[bytes, bool] = {}
_CANONICAL_MAX = 8192


def _store(key: bytes, canonical: bool) -> None:
    remember(_CANONICAL, key, canonical, _CANONICAL_MAX)


def remember_canonical(fields: dict[str, Any], key: bytes | None = None) -> None:
    """Note FieldsV1 just encoded from a set and found canonical (see fieldset
    ._trie_to_canonical_fields), so the next write of the object need not check it. ``key``,
    when the caller has it, is ``fields`` already encoded as an exact-size copy."""
    _store(key if key is not None else exact_dump(fields), True)


def _known_canonical(fields: dict[str, Any]) -> bool:
    key = exact_dump(fields)
    hit = _CANONICAL.get(key)
    if hit is None:
        hit = _canonical_fields(fields, True)
        _store(key, hit)
    return hit


def _is_time(value: Any) -> bool:
    """A time that decoding keeps as it is (see managedfields._normalize_time)."""
    return type(value) is str and len(value) == 20 and value[-1] == "Z" and value[10] == "T"


def _entry_ident(entry: Any) -> Ident | None:
    """The entry's manager identifier if the entry is exactly what ``_encode`` writes for it."""
    if type(entry) is not dict:
        return None
    keys = list(entry)
    i = 0
    manager = ""
    if keys and keys[0] == "manager":
        manager = entry["manager"]
        if type(manager) is not str or not manager:
            return None
        i = 1
    want = ["operation", "apiVersion"]
    if len(keys) < i + 4 or keys[i:i + 2] != want:
        return None
    operation, api_version = entry["operation"], entry["apiVersion"]
    if operation not in ("Apply", "Update") or type(api_version) is not str or not api_version:
        return None
    i += 2
    if keys[i] == "time":
        if not _is_time(entry["time"]):
            return None
        i += 1
    if keys[i:i + 2] != ["fieldsType", "fieldsV1"] or entry["fieldsType"] != "FieldsV1":
        return None
    i += 2
    subresource = ""
    if i < len(keys):
        if keys[i] != "subresource" or i + 1 != len(keys):
            return None
        subresource = entry["subresource"]
        if type(subresource) is not str or not subresource:
            return None
    fields = entry["fieldsV1"]
    if type(fields) is not dict or not _known_canonical(fields):
        return None
    return _ident(manager, operation, api_version, subresource)


def _edit(
    node: dict[str, Any], rem: dict[str, Any] | None, add: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Canonical FieldsV1 ``node`` with the members of trie set ``rem`` taken out and those of
    ``add`` put in (fieldset._trie nodes at the same place), as the encoder writes the resulting
    set ``(set - rem) | add``. Returns ``node`` itself when nothing changes and None when
    nothing is left; never changes ``node``, and shares every subtree the edit does not reach.
    """
    member = not node or "." in node
    new_member = (add is not None and "." in add) or (
        member and not (rem is not None and "." in rem))
    changed = new_member != member
    reorder = False  # children come or go: their order is the encoder's again
    edited: dict[str, dict[str, Any] | None] = {}
    if rem:
        for tok, sub in rem.items():
            if tok == ".":
                continue
            child = node.get(tok)
            grow = add.get(tok) if add else None
            if child is None:
                if grow is not None:
                    edited[tok] = _emit(grow)  # nothing there to remove: only what is added
                    changed = reorder = True
                continue
            out = _edit(child, sub, grow)
            if out is not child:
                edited[tok] = out
                changed = True
                reorder = reorder or out is None
    if add:
        for tok, sub in add.items():
            if tok == "." or (rem and tok in rem):
                continue
            child = node.get(tok)
            if child is None:
                edited[tok] = _emit(sub)
                changed = reorder = True
                continue
            out = _edit(child, None, sub)
            if out is not child:
                edited[tok] = out
                changed = True
    if not changed:
        return node
    keys = [k for k in node if k != "."]
    if reorder:
        keys = [k for k in keys if edited.get(k, k) is not None]
        keys += [tok for tok in edited if tok not in node]
        if len(keys) > 1:
            keys.sort()
            if keys[0][0] != "f" or keys[-1][0] != "f":
                keys.sort(key=_token_order)
    if not keys:
        return {} if new_member else None
    result: dict[str, Any] = {".": {}} if new_member else {}
    for tok in keys:
        result[tok] = edited[tok] if tok in edited else node[tok]
    return result


def _canonical_trie(trie: dict[str, Any]) -> bool:
    """Whether every element of trie set ``trie`` is spelled as decoding spells it."""
    for tok, sub in trie.items():
        if tok == ".":
            continue
        if tok[:2] != "f:":
            try:
                if _canonical_token(tok) != tok:
                    return False
            except _DecodeError:
                return False
        if len(sub) > ("." in sub) and not _canonical_trie(sub):
            return False
    return True


def _entry(ident: Ident, api_version: str, time: str | None,
           fields: dict[str, Any]) -> Entry:
    """One entry as ``_encode`` writes it."""
    manager, operation, _, subresource = ident
    entry: Entry = {}
    if manager:
        entry["manager"] = manager
    entry["operation"] = operation
    entry["apiVersion"] = api_version
    if time:
        entry["time"] = time
    entry["fieldsType"] = "FieldsV1"
    entry["fieldsV1"] = fields
    if subresource:
        entry["subresource"] = subresource
    return entry


def _sort_key(entry: Entry) -> tuple[Any, ...]:
    time = entry.get("time")
    return (entry["operation"], int(_seconds(time)), entry.get("manager", ""),
            entry["apiVersion"], entry.get("subresource", ""))


def update_entries(
    root: _Type,
    stored: Any,
    old_body: dict[str, Any],
    new_body: dict[str, Any],
    *,
    manager: str,
    api_version: str,
    now: str,
    subresource: str,
    ignore: tuple[Path, ...],
) -> list[Entry] | None:
    """The managedFields after ``manager`` changed ``old_body`` into ``new_body``, given the
    stored entries; None when the stored entries are not canonical (use the general path).

    The caller has established that the general path would decode exactly ``stored``."""
    if type(stored) is not list or not stored or len(stored) >= _MAX_UPDATE_MANAGERS:
        return None
    idents: list[Ident] = []
    for entry in stored:
        ident = _entry_ident(entry)
        if ident is None:
            return None
        idents.append(ident)
    if len(set(idents)) != len(idents):
        return None
    c = _comparison(root, old_body, new_body).excluding(ignore)
    changed = c.modified | c.added
    gone = changed | c.removed
    if () in gone:
        return None
    taken = changed - _STRIP
    writer = _ident(manager or "unknown", "Update", api_version, subresource)
    removes = _trie(gone)
    adds = _trie(taken)
    # the entries built here are canonical when the paths they gain are spelled canonically
    # (what they keep came from canonical entries)
    canonical = _canonical_trie(adds)
    out: list[Entry] = []
    seen_writer = False
    for entry, ident in zip(stored, idents, strict=True):
        fields = entry["fieldsV1"]
        writes = ident == writer
        if writes:
            seen_writer = True
        # the writer: (stored - gone) | taken; everyone else: stored - gone
        edited = _edit(fields, removes, adds if writes else None)
        if writes and taken:
            # a writer that changed something gets the time of this write, even when it
            # owned all of it before
            assert edited is not None
            if edited is not fields and canonical:
                remember_canonical(edited)
            out.append(_entry(ident, api_version, now, edited))
        elif edited is fields:
            out.append(entry)
        elif edited:
            remember_canonical(edited)
            out.append(_entry(ident, entry["apiVersion"], entry.get("time"), edited))
    if not seen_writer and taken:
        fields = _emit(adds)
        if canonical:
            remember_canonical(fields)
        out.append(_entry(writer, api_version, now, fields))
    out.sort(key=_sort_key)
    return out
