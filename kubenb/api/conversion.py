"""Conversion between versions of one stored resource.

Some resources are served under two names for one storage, as kube-apiserver serves them:
``events.k8s.io/v1`` Events are the ``v1`` Events, stored once and converted field by field
(``regarding`` is ``involvedObject``, ``note`` is ``message``, ...). A client-go EventRecorder
writing ``events.k8s.io/v1`` and ``kubectl get events`` reading ``v1`` see the same objects.
The store converts at its boundary, so everything above it sees the version it asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Converter", "converter_for", "field_label_to_storage"]

Obj = dict[str, Any]

# events.k8s.io/v1 name -> core/v1 name; fields not listed have the same name in both
_EVENT_FIELDS = {
    "regarding": "involvedObject",
    "note": "message",
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
}
_EVENT_FIELDS_BACK = {v: k for k, v in _EVENT_FIELDS.items()}


def _rename(obj: Mapping[str, Any], names: Mapping[str, str], api_version: str) -> Obj:
    out: Obj = {}
    for key, value in obj.items():
        out[names.get(key, key)] = value
    out["apiVersion"] = api_version
    out["kind"] = "Event"
    return out


class Converter:
    """Converts one served version to and from its storage form."""

    def __init__(self, to_storage: Callable[[Obj], Obj], from_storage: Callable[[Obj], Obj],
                 field_labels: Mapping[str, str]) -> None:
        self.to_storage = to_storage
        self.from_storage = from_storage
        self.field_labels = field_labels


_EVENTS = Converter(
    to_storage=lambda obj: _rename(obj, _EVENT_FIELDS, "v1"),
    from_storage=lambda obj: _rename(obj, _EVENT_FIELDS_BACK, "events.k8s.io/v1"),
    field_labels={
        "regarding.kind": "involvedObject.kind",
        "regarding.namespace": "involvedObject.namespace",
        "regarding.name": "involvedObject.name",
        "regarding.uid": "involvedObject.uid",
        "regarding.apiVersion": "involvedObject.apiVersion",
        "regarding.resourceVersion": "involvedObject.resourceVersion",
        "regarding.fieldPath": "involvedObject.fieldPath",
        "reportingController": "reportingComponent",
    },
)

_CONVERTERS: dict[tuple[str, str, str], Converter] = {("events.k8s.io", "v1", "Event"): _EVENTS}


def converter_for(group: str, version: str, kind: str) -> Converter | None:
    """The converter of a served version whose storage form differs, or None."""
    return _CONVERTERS.get((group, version, kind))


def field_label_to_storage(converter: Converter | None, label: str) -> str:
    if converter is None:
        return label
    return converter.field_labels.get(label, label)
