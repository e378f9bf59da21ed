"""Bounded memo tables keyed by JSON text: how the write path remembers pure results.

Several steps of a write are pure functions of an object's content: the schema check of a
built-in kind, the field set a create records, whether encoded FieldsV1 are canonical. Controllers
write object after object from one template (every replica of a ReplicaSet differs only in name
and uid) and clients post the same shapes again and again, so each step keeps a small table from
the object's JSON to its answer and pays for the work once per distinct content.

The keys are exact: ``json_key`` gives None (remember nothing) for an object JSON cannot say
exactly, and every key is an exact-size copy (orjson's ``bytes`` keep the larger buffer they were
built in, which a table of thousands of keys would hold over and over). Tables are plain
insertion-ordered dicts; when one is full its older half goes.
"""

from __future__ import annotations

import itertools
from typing import Any, TypeVar

import orjson

__all__ = ["exact_dump", "json_key", "remember"]

K = TypeVar("K")
V = TypeVar("V")


def exact_dump(value: Any) -> bytes:
    """``orjson.dumps(value)`` as an exact-size copy, fit to be kept as a key."""
    return bytes(memoryview(orjson.dumps(value)))


def json_key(value: Any) -> bytes | None:
    """``value``'s JSON as a memo key, or None when JSON cannot say it exactly: keys that are
    not strings, integers too large, and NaN or infinities, which JSON writes as null (so no
    value holding a null is remembered; it is computed every time)."""
    try:
        key = exact_dump(value)
    except (TypeError, orjson.JSONEncodeError):
        return None
    return None if b"null" in key else key


def remember(table: dict[K, V], key: K, value: V, limit: int) -> None:
    """``table[key] = value``, first dropping the older half of a table that holds ``limit``.

    Safe to call from several threads at once: the eviction pops with a default, and a table
    that changes size under it is started afresh.
    """
    if len(table) >= limit:
        try:
            older = list(itertools.islice(table, len(table) // 2))
        except RuntimeError:
            table.clear()
            older = []
        for victim in older:
            table.pop(victim, None)
    table[key] = value
