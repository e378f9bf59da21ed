"""The ``metadata.managedFields`` list: decoding it into one field set per manager and back.

Entries are identified as BuildManagerIdentifier does (manager, operation, apiVersion for
updaters, subresource), and times round-trip as metav1.Time (RFC 3339, whole seconds, UTC). The
encoded list is sorted like the apiserver's (Apply first, then time, manager, apiVersion,
subresource), because clients show it as it comes.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping
from typing import Any

from kubenb.apiserver.patch.apply.errors import _DecodeError
from kubenb.apiserver.patch.apply.fieldset import _fields_to_set, _set_to_fields
from kubenb.apiserver.patch.apply.goformat import _go_json, _go_quote
from kubenb.apiserver.patch.apply.paths import Path

# (manager, operation, apiVersion — empty for Apply —, subresource): BuildManagerIdentifier.
Ident = tuple[str, str, str, str]


class _VSet:
    __slots__ = ("api_version", "applied", "paths")

    def __init__(self, paths: set[Path], api_version: str, applied: bool) -> None:
        self.paths = paths
        self.api_version = api_version
        self.applied = applied


class _Managed:
    __slots__ = ("fields", "times")

    def __init__(
        self, fields: dict[Ident, _VSet] | None = None, times: dict[Ident, str | None] | None = None
    ) -> None:
        self.fields: dict[Ident, _VSet] = fields if fields is not None else {}
        self.times: dict[Ident, str | None] = times if times is not None else {}


def _ident(manager: str, operation: str, api_version: str, subresource: str) -> Ident:
    return (manager, operation, "" if operation == "Apply" else api_version, subresource)


def _ident_json(ident: Ident) -> str:
    manager, operation, api_version, subresource = ident
    parts = []
    if manager:
        parts.append('"manager":' + _go_json(manager))
    if operation:
        parts.append('"operation":' + _go_json(operation))
    if api_version:
        parts.append('"apiVersion":' + _go_json(api_version))
    if subresource:
        parts.append('"subresource":' + _go_json(subresource))
    return "{" + ",".join(parts) + "}"


def _print_manager(ident: Ident) -> str:
    manager, operation, api_version, subresource = ident
    out = _go_quote(manager)
    if subresource:
        out += f" with subresource {_go_quote(subresource)}"
    if operation == "Update":
        out += f" using {api_version}"
    return out


@functools.lru_cache(maxsize=4096)
def _parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))


def _normalize_time(value: Any) -> str | None:
    """metav1.Time round trip: RFC 3339, whole seconds, UTC 'Z'."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _DecodeError("time must be a string")
    if len(value) == 20 and value[-1] == "Z" and value[10] == "T":
        return value
    try:
        parsed = _parse_time(value)
    except ValueError as e:
        raise _DecodeError(f"invalid time {value!r}: {e}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _canonical_now(now: str) -> str:
    try:
        return _normalize_time(now) or now
    except _DecodeError:
        return now


def _seconds(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        return _parse_time(value).timestamp()
    except ValueError:
        return 0.0


def _decode(entries: Any) -> _Managed:
    """DecodeManagedFields."""
    managed = _Managed()
    if entries is None:
        return managed
    if not isinstance(entries, list):
        raise _DecodeError("managedFields must be a list")
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise _DecodeError(f"managed fields entry {i} is not an object")
        operation = entry.get("operation")
        if operation not in ("Apply", "Update"):
            raise _DecodeError("operation must be `Apply` or `Update`")
        api_version = entry.get("apiVersion")
        if not isinstance(api_version, str) or not api_version:
            raise _DecodeError("apiVersion must not be empty")
        fields_type = entry.get("fieldsType")
        if fields_type != "FieldsV1":
            if not fields_type:
                raise _DecodeError(f"missing fieldsType in managed fields entry {i}")
            raise _DecodeError(
                f"invalid fieldsType {_go_quote(str(fields_type))} in managed fields entry {i}"
            )
        manager = entry.get("manager") or ""
        subresource = entry.get("subresource") or ""
        if not isinstance(manager, str) or not isinstance(subresource, str):
            raise _DecodeError(f"invalid manager in managed fields entry {i}")
        ident = _ident(manager, operation, api_version, subresource)
        managed.fields[ident] = _VSet(
            _fields_to_set(entry.get("fieldsV1")), api_version, operation == "Apply"
        )
        managed.times[ident] = _normalize_time(entry.get("time"))
    return managed


def _encode(managed: _Managed) -> list[dict[str, Any]]:
    """encodeManagedFields, sorted like the apiserver: Apply first, then by time, manager,
    apiVersion and subresource."""
    entries: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for ident, vs in managed.fields.items():
        manager, operation, _, subresource = ident
        operation = "Apply" if vs.applied else operation
        entry: dict[str, Any] = {}
        if manager:
            entry["manager"] = manager
        entry["operation"] = operation
        entry["apiVersion"] = vs.api_version
        time = managed.times.get(ident)
        if time:
            entry["time"] = time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = _set_to_fields(vs.paths)
        if subresource:
            entry["subresource"] = subresource
        entries.append(
            ((operation, int(_seconds(time)), manager, vs.api_version, subresource), entry)
        )
    entries.sort(key=lambda e: e[0])
    return [e for _, e in entries]


def _is_reset(entries: Any) -> bool:
    """isResetManagedFields: an empty list or a list of one empty entry."""
    if not isinstance(entries, list):
        return False
    if not entries:
        return True
    return (
        len(entries) == 1
        and isinstance(entries[0], Mapping)
        and all(v is None or v == "" for v in entries[0].values())
    )
