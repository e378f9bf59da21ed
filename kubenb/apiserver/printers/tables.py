"""The ``meta.k8s.io/v1`` Table: which printer makes the rows, and what wraps them.

A kind is printed by its CRD columns when ``printer_columns`` is given, else by its registered
built-in printer, else by the default Name/Created At convertor (see ``custom``).

Request-level behaviour, from ``apiserver/pkg/endpoints/handlers`` (``response.go``):

* ``includeObject``: empty or ``Metadata`` (the default) puts a ``PartialObjectMetadata`` in each
  row; ``Object`` the full object; ``None`` leaves the row's object empty, which Go encodes as
  ``"object": null`` (a ``RawExtension`` is never omitted). Any other value is a 400.
* Watch: each event carries a one-row Table; the first event has ``columnDefinitions``, later ones
  are made with ``NoHeaders`` and carry ``"columnDefinitions": null``; pass
  ``include_columns=False`` for those.
* ``metadata`` holds ``resourceVersion``/``continue``/``remainingItemCount`` only when set (ListMeta
  fields are ``omitempty``, the struct itself is always there).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from kubenb.api.errors import BadRequest
from kubenb.apiserver.printers.cells import Obj, _aware, _g
from kubenb.apiserver.printers.columns import _PRINTERS, _column_json, _row
from kubenb.apiserver.printers.custom import _custom_resource_rows, _default_rows
from kubenb.apiserver.printers.pods import _POD_ROW_CONDITIONS

_INCLUDE_OBJECT = ("", "Metadata", "Object", "None")


def table(
    *,
    group: str,
    kind: str,
    objects: Sequence[Obj],
    now: datetime.datetime,
    printer_columns: Sequence[Mapping[str, Any]] | None = None,
    include_object: str = "Metadata",
    include_columns: bool = True,
    resource_version: str = "",
    continue_token: str = "",
    remaining_item_count: int | None = None,
) -> dict[str, Any]:
    """Render ``objects`` (all of one ``group``/``kind``) as a ``meta.k8s.io/v1`` Table dict.

    ``printer_columns`` is a CRD version's ``additionalPrinterColumns`` and marks the kind as a
    custom resource (``[]`` means "a CRD with no columns", not None). ``include_columns=False``
    renders the Table of a watch event after the first. Raises ``BadRequest`` for an
    ``include_object`` other than ``Metadata``, ``Object``, ``None`` or empty, as upstream does.
    Row objects reference the inputs (no copies): serialise the result, do not mutate it.
    """
    if include_object not in _INCLUDE_OBJECT:
        raise BadRequest(
            "Unable to convert to Table as requested: includeObject: Invalid value: "
            f'"{include_object}": '
            "must be 'Metadata', 'Object', 'None', or empty"
        )
    now = _aware(now)
    default_convertor = False
    if printer_columns is not None:
        columns, rows = _custom_resource_rows(printer_columns, objects, now)
    elif (printer := _PRINTERS.get((group, kind))) is not None:
        columns = [_column_json(c) for c in printer.columns]
        ordered = sorted(objects, key=printer.sort_key) if printer.sort_key else objects
        rows = [_row(printer.cells(obj, now), obj) for obj in ordered]
    else:
        default_convertor = True
        columns, rows = _default_rows(objects)
    for row in rows:
        source = row.pop("_source")
        if group == "" and kind == "Pod" and printer_columns is None:
            # Finished pods are flagged so clients may hide them (the old --show-all).
            phase = _g(source, "status", "phase")
            if phase in _POD_ROW_CONDITIONS:
                row["conditions"] = [dict(_POD_ROW_CONDITIONS[phase])]
        row["object"] = _row_object(source, include_object)
    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    if remaining_item_count is not None:
        metadata["remainingItemCount"] = remaining_item_count
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns if include_columns else None,
        # The default convertor appends to a nil slice, so an empty result encodes as null there.
        "rows": rows if rows or not default_convertor else None,
    }


def _row_object(obj: Obj, include_object: str) -> Any:
    metadata = obj.get("metadata") or {}
    # The watch-list "initial events end" bookmark always travels as metadata, so clients see it.
    bookmark = (metadata.get("annotations") or {}).get("k8s.io/initial-events-end") == "true"
    if include_object == "Object":
        return obj
    if include_object in ("Metadata", "") or bookmark:
        return {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": metadata,
        }
    return None
