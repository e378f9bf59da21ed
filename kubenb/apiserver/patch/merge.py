"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902, through the ``jsonpatch`` library).

Merge patch is the few lines the RFC gives as pseudo-code; ``jsonpatch`` (a maintained library)
does RFC 6902 including ``test``. Both return new documents and never mutate their inputs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jsonpatch
import jsonpointer

__all__ = ["JSONPatchError", "json_merge_patch", "json_patch"]


class JSONPatchError(ValueError):
    """The patch cannot be applied (bad operation, missing path, failed ``test``)."""


_ATOMS = (str, int, float, bool, type(None))


def _copy(value: Any) -> Any:
    """A deep copy of a JSON value, several times cheaper than :func:`copy.deepcopy` on the dicts,
    lists and scalars patches are made of; anything else is deep-copied as before."""
    tv = type(value)
    if tv is dict:
        return {k: v if type(v) in _ATOMS else _copy(v) for k, v in value.items()}
    if tv is list:
        return [v if type(v) in _ATOMS else _copy(v) for v in value]
    if tv in _ATOMS:
        return value
    return copy.deepcopy(value)


def json_merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch: objects merge recursively, null deletes, the rest replaces."""
    if not isinstance(patch, Mapping):
        return _copy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def json_patch(target: Any, operations: Any) -> Any:
    """Apply an RFC 6902 JSON patch (a list of operations)."""
    if not isinstance(operations, list):
        raise JSONPatchError("a JSON patch must be a list of operations")
    try:
        return jsonpatch.JsonPatch(operations).apply(target, in_place=False)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise JSONPatchError(f"the test operation failed: {exc}") from None
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, KeyError,
            IndexError, TypeError) as exc:
        raise JSONPatchError(str(exc) or type(exc).__name__) from None
