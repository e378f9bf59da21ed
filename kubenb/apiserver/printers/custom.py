"""Tables for custom resources and for kinds without a printer of their own.

* Custom resources (``printer_columns`` given, possibly empty): apiextensions' table convertor. It
  prepends ``Name`` and evaluates each ``additionalPrinterColumns`` JSONPath (see ``jsonpath``);
  when a CRD version defines no columns at all, the served columns are a single ``Age`` (type
  ``date``, path ``.metadata.creationTimestamp``); when it defines some, no Age is added.
* Kinds whose storage uses ``rest.NewDefaultTableConvertor`` (Role, ClusterRole, LimitRange,
  CustomResourceDefinition, CSIStorageCapacity) and any kind without a printer: ``Name`` and
  ``Created At`` (type ``date``), the cell being the RFC 3339 creation time, not an age.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any

from kubenb.apiserver.printers.cells import (
    Cell,
    Obj,
    _g,
    _name,
    _parse_time,
    _rfc3339,
    human_duration,
)
from kubenb.apiserver.printers.columns import _NAME, _Col, _column_json, _openapi_doc, _row
from kubenb.apiserver.printers.jsonpath import (
    _eval_steps,
    _go_text,
    _JSONPathError,
    _parse_jsonpath,
    _Step,
)

_DEFAULT_COLUMNS = (_NAME, _Col("Created At", "date", ("meta.v1.ObjectMeta", "creationTimestamp")))


def _default_rows(objects: Sequence[Obj]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``rest.NewDefaultTableConvertor``: the name and the RFC 3339 creation time of each object."""
    columns = [_column_json(c) for c in _DEFAULT_COLUMNS]
    rows = [
        _row([_name(obj), _rfc3339(_g(obj, "metadata", "creationTimestamp"))], obj)
        for obj in objects
    ]
    return columns, rows


_CRD_DEFAULT_COLUMNS = ({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},)


def _custom_resource_rows(
    printer_columns: Sequence[Mapping[str, Any]], objects: Sequence[Obj], now: datetime.datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    columns = [_column_json(_NAME)]
    paths: list[tuple[str, list[_Step] | None]] = []
    for col in printer_columns or _CRD_DEFAULT_COLUMNS:
        path = str(col.get("jsonPath", ""))
        description = col.get("description") or (
            _openapi_doc("meta.v1.ObjectMeta", "creationTimestamp")
            if not printer_columns
            else f"Custom resource definition column (in JSONPath format): {path}"
        )
        columns.append(
            {
                "name": str(col.get("name", "")),
                "type": str(col.get("type", "")),
                "format": str(col.get("format", "")),
                "description": description,
                "priority": int(col.get("priority", 0) or 0),
            }
        )
        try:
            steps: list[_Step] | None = _parse_jsonpath(path)
        except _JSONPathError:
            steps = (
                None  # upstream then serves the default convertor; a broken column stays empty here
            )
        paths.append((str(col.get("type", "")), steps))
    rows = []
    for obj in objects:
        cells: list[Cell] = [_name(obj)]
        for col_type, steps in paths:
            cells.append(None if steps is None else _custom_cell(col_type, steps, obj, now))
        rows.append(_row(cells, obj))
    return columns, rows


def _custom_cell(col_type: str, steps: list[_Step], obj: Obj, now: datetime.datetime) -> Cell:
    try:
        results = _eval_steps(steps, [obj])
    except _JSONPathError:
        return None
    if not results:
        return None
    value = results[0]  # only simple paths are supported, so the first result is the value
    if col_type == "string":
        return _go_text(value)
    if value is None:
        return None
    if col_type == "integer":
        if isinstance(value, bool):
            return None
        return int(value) if isinstance(value, int | float) else None
    if col_type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return _go_json_number(float(value))
    if col_type == "boolean":
        return value if isinstance(value, bool) else None
    if col_type == "date" and isinstance(value, str):
        if value in ("", "null"):
            return "<unknown>"
        moment = _parse_time(value) if _RFC3339.match(value) else None
        return "<invalid>" if moment is None else human_duration(now - moment)
    return None


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _go_json_number(value: float) -> int | float:
    """A float cell: integral values encode without a fraction, as Go's encoder writes them."""
    return int(value) if value.is_integer() and abs(value) < 1e21 else value
