"""Column definitions and the registry of built-in printers.

The built-in kinds follow ``pkg/printers/internalversion/printers.go``: ``AddHandlers`` declares
each kind's columns and a ``print*`` function makes its row. The apiserver's ``TableConvertor``
always calls them with ``Wide: true``, so every row carries the priority-1 ("wide") cells too;
kubectl hides those unless ``-o wide``. Here a row function is registered with
``@_prints((group, kind), columns=...)`` as its module is imported; ``kubenb.apiserver.printers``
imports every such module, so importing the package registers every printer.

Column descriptions are those upstream takes from the types' ``SwaggerDoc()``: a column names an
OpenAPI field and its text comes from the 1.37 schemas, so it cannot drift from them.

Objects are read as the apiserver would hold them after defaulting: where a printed field has an
API default (replicas 1, Service type ClusterIP, Job completions 1, ...) and the object lacks it,
the default is used, so undefaulted input still prints as a real cluster would.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from kubenb.apiserver.printers.cells import Cell, Obj
from kubenb.apiserver.schemas import schemas


class _Col(NamedTuple):
    """A column definition; ``doc`` is literal text or a (definition, field) of the OpenAPI docs."""

    name: str
    type: str = "string"
    doc: str | tuple[str, str] = ""
    priority: int = 0
    format: str = ""


@dataclasses.dataclass(frozen=True)
class _Printer:
    columns: tuple[_Col, ...]
    cells: Callable[[Obj, datetime.datetime], list[Cell]]
    sort_key: Callable[[Obj], Any] | None = None


_PRINTERS: dict[tuple[str, str], _Printer] = {}


_NAME = _Col("Name", format="name", doc=("meta.v1.ObjectMeta", "name"))


_AGE = _Col("Age", doc=("meta.v1.ObjectMeta", "creationTimestamp"))


_CONTAINERS = _Col("Containers", priority=1, doc="Names of each container in the template.")


_IMAGES = _Col("Images", priority=1, doc="Images referenced by each container in the template.")


def _prints(
    *keys: tuple[str, str], columns: Iterable[_Col], sort_key: Callable[[Obj], Any] | None = None
) -> Callable[
    [Callable[[Obj, datetime.datetime], list[Cell]]], Callable[[Obj, datetime.datetime], list[Cell]]
]:
    """Register a row function for (group, kind) pairs, with its column definitions."""
    cols = tuple(columns)

    def register(
        fn: Callable[[Obj, datetime.datetime], list[Cell]],
    ) -> Callable[[Obj, datetime.datetime], list[Cell]]:
        for key in keys:
            if key in _PRINTERS:
                raise ValueError(f"duplicate printer for {key}")
            _PRINTERS[key] = _Printer(cols, fn, sort_key)
        return fn

    return register


def _row(cells: list[Cell], obj: Obj) -> dict[str, Any]:
    return {"cells": cells, "_source": obj}


def _column_json(col: _Col) -> dict[str, Any]:
    doc = col.doc if isinstance(col.doc, str) else _openapi_doc(*col.doc)
    return {
        "name": col.name,
        "type": col.type,
        "format": col.format,
        "description": doc,
        "priority": col.priority,
    }


@functools.cache
def _openapi_doc(definition: str, field: str) -> str:
    """A field's description, as the Go printers take it from the types' SwaggerDoc().

    Upstream sometimes names an older API version (extensions/v1beta1, batch/v1beta1); the schema
    set only holds what 1.37 serves, so the served version's text stands in.
    """
    prefix = "io.k8s.apimachinery.pkg.apis." if definition.startswith("meta.") else "io.k8s.api."
    node = schemas().definitions.get(prefix + definition) or {}
    prop = (node.get("properties") or {}).get(field) or {}
    return str(prop.get("description", ""))
