"""Server-side printing: objects as ``meta.k8s.io/v1`` Tables, the way kubectl wants them.

``kubectl get`` asks for ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints
whatever columns come back; the columns and the cell text are decided by the apiserver, not by
kubectl. So to look like a real 1.37 cluster, kubenb has to reproduce the apiserver's printers. The
semantics here are those of upstream Kubernetes (re-implemented, not copied):

* Built-in kinds: ``pkg/printers/internalversion/printers.go`` (``AddHandlers`` column definitions
  and the ``print*`` functions). The apiserver's ``TableConvertor`` always calls them with
  ``Wide: true``, so every row carries the priority-1 ("wide") cells too; kubectl hides those
  unless ``-o wide``.
* Kinds whose storage uses ``rest.NewDefaultTableConvertor`` (Role, ClusterRole, LimitRange,
  CustomResourceDefinition, CSIStorageCapacity) and any kind without a printer: ``Name`` and
  ``Created At`` (type ``date``), the cell being the RFC 3339 creation time, not an age.
* Custom resources (``printer_columns`` given, possibly empty): apiextensions' table convertor. It
  prepends ``Name`` and evaluates each ``additionalPrinterColumns`` JSONPath; when a CRD version
  defines no columns at all, the served columns are a single ``Age`` (type ``date``, path
  ``.metadata.creationTimestamp``); when it defines some, no Age is added.
* Ages use apimachinery's ``duration.HumanDuration`` ("45s", "5m30s", "3h12m", "3d4h", "2y10d").

Request-level behaviour, from ``apiserver/pkg/endpoints/handlers`` (``response.go``):

* ``includeObject``: empty or ``Metadata`` (the default) puts a ``PartialObjectMetadata`` in each
  row; ``Object`` the full object; ``None`` leaves the row's object empty, which Go encodes as
  ``"object": null`` (a ``RawExtension`` is never omitted). Any other value is a 400.
* Watch: each event carries a one-row Table; the first event has ``columnDefinitions``, later ones
  are made with ``NoHeaders`` and carry ``"columnDefinitions": null``; pass
  ``include_columns=False`` for those.
* ``metadata`` holds ``resourceVersion``/``continue``/``remainingItemCount`` only when set (ListMeta
  fields are ``omitempty``, the struct itself is always there).

Why a hand-written JSONPath evaluator instead of ``jsonpath-ng``: Kubernetes JSONPath is its own
dialect (``client-go/util/jsonpath``): ``\\.``-escaped field names, ``[?(@.type=="Ready")]`` filters
with Go template comparison rules, missing keys allowed, first result only, Go ``fmt``/``json``
rendering of non-string values. The subset CRDs use is small, and matching those rules exactly is
easier than bending a general library, and adds no dependency.

Objects are read as the apiserver would hold them after defaulting: where a printed field has an
API default (replicas 1, Service type ClusterIP, Job completions 1, ...) and the object lacks it,
the default is used, so undefaulted input still prints as a real cluster would.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from kubenb.api.errors import BadRequest
from kubenb.apiserver.schemas import schemas

__all__ = ["human_duration", "table"]

Obj = Mapping[str, Any]
Cell = Any  # a JSON value: str, int, float, bool or None

_INCLUDE_OBJECT = ("", "Metadata", "Object", "None")


# --------------------------------------------------------------------------------------------------
# Public entry points


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
        columns = [_column_json(c) for c in _DEFAULT_COLUMNS]
        rows = [
            _row([_name(obj), _rfc3339(_g(obj, "metadata", "creationTimestamp"))], obj)
            for obj in objects
        ]
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


def human_duration(delta: datetime.timedelta) -> str:
    """apimachinery's ``duration.HumanDuration``: 2-3 significant figures (``5m30s``, ``3d4h``)."""
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    # Go truncates toward zero; up to 2 seconds in the future counts as "now" (clock skew).
    seconds = -((-micros) // 1_000_000) if micros < 0 else micros // 1_000_000
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m" if seconds % 60 == 0 else f"{minutes}m{seconds % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, hours // 24 % 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


# --------------------------------------------------------------------------------------------------
# Table assembly


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
_DEFAULT_COLUMNS = (_NAME, _Col("Created At", "date", ("meta.v1.ObjectMeta", "creationTimestamp")))

_POD_ROW_CONDITIONS = {
    "Succeeded": {
        "type": "Completed",
        "status": "True",
        "reason": "Succeeded",
        "message": "The pod has completed successfully.",
    },
    "Failed": {
        "type": "Completed",
        "status": "True",
        "reason": "Failed",
        "message": "The pod failed.",
    },
}


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


# --------------------------------------------------------------------------------------------------
# Small readers over JSON objects


def _g(node: Any, *path: str | int) -> Any:
    """``node[path...]`` or None when any step is missing or of the wrong type."""
    for key in path:
        if isinstance(key, int):
            if not isinstance(node, list) or not -len(node) <= key < len(node):
                return None
            node = node[key]
        else:
            if not isinstance(node, Mapping):
                return None
            node = node.get(key)
    return node


def _s(node: Any, *path: str | int) -> str:
    value = _g(node, *path)
    return value if isinstance(value, str) else ""


def _i(node: Any, *path: str | int, default: int = 0) -> int:
    value = _g(node, *path)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _l(node: Any, *path: str | int) -> list[Any]:
    value = _g(node, *path)
    return value if isinstance(value, list) else []


def _m(node: Any, *path: str | int) -> Mapping[str, Any]:
    value = _g(node, *path)
    return value if isinstance(value, Mapping) else {}


def _name(obj: Obj) -> str:
    return _s(obj, "metadata", "name")


# --------------------------------------------------------------------------------------------------
# Time


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


_FRACTION = re.compile(r"\.(\d+)")


def _parse_time(value: Any) -> datetime.datetime | None:
    """An RFC 3339 timestamp (metav1.Time or MicroTime), or None when empty or unparseable."""
    if not isinstance(value, str) or not value or value == "null":
        return None
    # fromisoformat takes at most microseconds; RFC 3339 allows any number of fraction digits.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value, count=1)
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return _aware(parsed)


def _since(value: Any, now: datetime.datetime) -> str:
    """``translateTimestampSince``: the age of a timestamp, ``<unknown>`` when unset."""
    moment = _parse_time(value)
    return "<unknown>" if moment is None else human_duration(now - moment)


def _age(obj: Obj, now: datetime.datetime) -> str:
    return _since(_g(obj, "metadata", "creationTimestamp"), now)


def _rfc3339(value: Any) -> str:
    """``Time.UTC().Format(time.RFC3339)``; an unset time is Go's zero time."""
    moment = _parse_time(value)
    if moment is None:
        return "0001-01-01T00:00:00Z"
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------------
# Labels, selectors, quantities


def _format_labels(labels: Any) -> str:
    """``labels.FormatLabels``: sorted ``k=v`` pairs, ``<none>`` when empty."""
    if not isinstance(labels, Mapping) or not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def _selector_string(selector: Any) -> str:
    """``metav1.LabelSelectorAsSelector(sel).String()``; nil and empty selectors print as ''."""
    if not isinstance(selector, Mapping):
        return ""
    requirements: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        requirements.append((key, f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        key, op = _s(expr, "key"), _s(expr, "operator")
        values = ",".join(sorted(str(v) for v in _l(expr, "values")))
        text = {
            "In": f"{key} in ({values})",
            "NotIn": f"{key} notin ({values})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }.get(op)
        if text is None:
            return "<invalid>"
        requirements.append((key, text))
    return ",".join(text for _, text in sorted(requirements, key=lambda r: r[0]))


def _format_selector(selector: Any) -> str:
    """``metav1.FormatLabelSelector``: like ``_selector_string`` but ``<none>`` when it is empty."""
    text = _selector_string(selector)
    return "<error>" if text == "<invalid>" else text or "<none>"


_DECIMAL_SUFFIXES = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_BINARY_SUFFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_QUANTITY = re.compile(r"^([+-]?)(\d*)(?:\.(\d*))?(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE]?)$")


def _quantity(value: Any) -> str:
    """``resource.Quantity.String()``, canonical: ``1000`` -> ``1k``, ``0.5Gi`` -> ``512Mi``.

    Real objects already hold canonical quantities (the apiserver re-encodes them); canonicalising
    here keeps hand-made objects printing the same. Unparseable text is shown as given.
    """
    if value is None:
        return "<nil>"
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match or not (match.group(2) or match.group(3)):
        return text
    sign, whole, frac, suffix = match.group(1), match.group(2), match.group(3) or "", match.group(4)
    amount = Fraction(int(whole or "0") * 10 ** len(frac) + int(frac or "0"), 10 ** len(frac))
    if suffix in _BINARY_SUFFIXES:
        fmt, amount = "binary", amount * 1024 ** _BINARY_SUFFIXES[suffix]
    elif suffix[:1] in ("e", "E"):
        fmt, amount = "exponent", amount * Fraction(10) ** int(suffix[1:])
    else:
        fmt, amount = "decimal", amount * Fraction(10) ** _DECIMAL_SUFFIXES[suffix]
    # Quantities keep nano precision, rounding anything finer up (away from zero).
    amount = Fraction(math.ceil(amount * 10**9), 10**9)
    if amount == 0:
        return "0"
    sign = "-" if sign == "-" else ""
    if fmt == "binary" and (amount >= 1024 and amount.denominator == 1):
        number, exponent = int(amount), 0
        while number % 1024 == 0 and exponent < 6:
            number, exponent = number // 1024, exponent + 1
        return f"{sign}{number}{['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'][exponent]}"
    # Decimal: strip factors of ten, then lower the exponent to a multiple of three.
    exponent = -9
    mantissa = int(amount * 10**9)
    while mantissa % 10 == 0:
        mantissa, exponent = mantissa // 10, exponent + 1
    shift = exponent % 3
    mantissa, exponent = mantissa * 10**shift, exponent - shift
    if fmt == "exponent":
        return f"{sign}{mantissa}" + (f"e{exponent}" if exponent else "")
    names = {v: k for k, v in _DECIMAL_SUFFIXES.items()}
    return (
        f"{sign}{mantissa}{names[exponent]}"
        if exponent in names
        else f"{sign}{mantissa}e{exponent}"
    )


def _int_or_string(value: Any) -> str:
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""


def _list_with_more(items: list[str], count: int, limit: int = 3) -> str:
    """``listWithMoreString``: ``limit`` items then ``+ N more...``; ``<unset>`` if none."""
    text = ",".join(items[:limit])
    if count > limit:
        return f"{text} + {count - limit} more..."
    return text or "<unset>"


def _containers(template_spec: Any) -> tuple[str, str]:
    """``layoutContainerCells``: container names and images, comma-joined."""
    containers = [c for c in _l(template_spec, "containers") if isinstance(c, Mapping)]
    return ",".join(_s(c, "name") for c in containers), ",".join(_s(c, "image") for c in containers)


def _condition(conditions: Any, type_: str) -> Mapping[str, Any] | None:
    for cond in conditions if isinstance(conditions, list) else []:
        if isinstance(cond, Mapping) and cond.get("type") == type_:
            return cond
    return None


def _condition_true(conditions: Any, type_: str) -> bool:
    cond = _condition(conditions, type_)
    return cond is not None and cond.get("status") == "True"


def _bool_word(value: Any) -> str:
    """``printBoolPtr``: ``True``/``False``, ``<unset>`` for nil."""
    return "<unset>" if not isinstance(value, bool) else ("True" if value else "False")


def _join_host_port(host: str, port: Any) -> str:
    try:
        is_v6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        is_v6 = ":" in host
    return f"[{host}]:{port}" if is_v6 else f"{host}:{port}"


# --------------------------------------------------------------------------------------------------
# core/v1


_POD_COLUMNS = (
    _NAME,
    _Col("Ready", doc="The aggregate readiness state of this pod for accepting traffic."),
    _Col("Status", doc="The aggregate status of the containers in this pod."),
    _Col(
        "Restarts",
        doc="The number of times the containers in this pod have been restarted and when the last "
        "container in this pod has restarted.",
    ),
    _AGE,
    _Col("IP", priority=1, doc=("core.v1.PodStatus", "podIP")),
    _Col("Node", priority=1, doc=("core.v1.PodSpec", "nodeName")),
    _Col("Nominated Node", priority=1, doc=("core.v1.PodStatus", "nominatedNodeName")),
    _Col("Readiness Gates", priority=1, doc=("core.v1.PodSpec", "readinessGates")),
)


def _restartable(container: Any) -> bool:
    """A sidecar: an init container with ``restartPolicy: Always``."""
    return _s(container, "restartPolicy") == "Always"


def _later(current: datetime.datetime | None, status: Any) -> datetime.datetime | None:
    finished = _parse_time(_g(status, "lastState", "terminated", "finishedAt"))
    if finished is not None and (current is None or current < finished):
        return finished
    return current


def _terminated_reason(terminated: Mapping[str, Any], prefix: str) -> str:
    if reason := _s(terminated, "reason"):
        return prefix + reason
    if signal := _i(terminated, "signal"):
        return f"{prefix}Signal:{signal}"
    return f"{prefix}ExitCode:{_i(terminated, 'exitCode')}"


@_prints(("", "Pod"), columns=_POD_COLUMNS)
def _pod(pod: Obj, now: datetime.datetime) -> list[Cell]:
    spec, status = _m(pod, "spec"), _m(pod, "status")
    phase = _s(status, "phase")
    reason = _s(status, "reason") or phase
    for cond in _l(status, "conditions"):
        if _s(cond, "type") == "PodScheduled" and _s(cond, "reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {_s(c, "name"): c for c in _l(spec, "initContainers")}
    total = len(_l(spec, "containers")) + sum(1 for c in init_specs.values() if _restartable(c))
    ready = restarts = sidecar_restarts = 0
    last_restart: datetime.datetime | None = None
    last_sidecar_restart: datetime.datetime | None = None

    initializing = False
    for index, cs in enumerate(_l(status, "initContainerStatuses")):
        sidecar = _restartable(init_specs.get(_s(cs, "name")))
        restarts += _i(cs, "restartCount")
        last_restart = _later(last_restart, cs)
        if sidecar:
            sidecar_restarts += _i(cs, "restartCount")
            last_sidecar_restart = _later(last_sidecar_restart, cs)
        terminated, waiting = _g(cs, "state", "terminated"), _g(cs, "state", "waiting")
        if isinstance(terminated, Mapping) and _i(terminated, "exitCode") == 0:
            continue
        if sidecar and _g(cs, "started") is True:
            ready += 1 if _g(cs, "ready") is True else 0
            continue
        if isinstance(terminated, Mapping):
            reason = _terminated_reason(terminated, "Init:")
        elif _s(waiting, "reason") and _s(waiting, "reason") != "PodInitializing":
            reason = "Init:" + _s(waiting, "reason")
        else:
            reason = f"Init:{index}/{len(_l(spec, 'initContainers'))}"
        initializing = True
        break

    if not initializing or _condition_true(_g(status, "conditions"), "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running, error_reason = False, ""
        for cs in reversed(_l(status, "containerStatuses")):
            restarts += _i(cs, "restartCount")
            last_restart = _later(last_restart, cs)
            terminated, waiting = _g(cs, "state", "terminated"), _g(cs, "state", "waiting")
            if _s(waiting, "reason"):
                reason = _s(waiting, "reason")
            elif isinstance(terminated, Mapping):
                reason = _terminated_reason(terminated, "")
                if _i(terminated, "exitCode") != 0:
                    error_reason = reason
            elif _g(cs, "ready") is True and isinstance(_g(cs, "state", "running"), Mapping):
                has_running = True
                ready += 1
        # A pod whose last-listed container completed is still Running while another one runs.
        if reason == "Completed":
            if has_running and _condition_true(_g(status, "conditions"), "Ready"):
                reason = "Running"
            elif error_reason:
                reason = error_reason
            elif has_running:
                reason = "NotReady"

    deleting = _g(pod, "metadata", "deletionTimestamp") is not None
    if deleting and _s(status, "reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Failed", "Succeeded"):
        reason = "Terminating"

    restarts_cell = str(restarts)
    if restarts and last_restart is not None:
        restarts_cell = f"{restarts} ({human_duration(now - last_restart)} ago)"

    pod_ip = _s(status, "podIPs", 0, "ip") or _s(status, "podIP") or "<none>"
    gates = _l(spec, "readinessGates")
    readiness = "<none>"
    if gates:
        passed = 0
        for gate in gates:
            cond = _condition(_g(status, "conditions"), _s(gate, "conditionType"))
            passed += 1 if cond is not None and cond.get("status") == "True" else 0
        readiness = f"{passed}/{len(gates)}"
    return [
        _name(pod),
        f"{ready}/{total}",
        reason,
        restarts_cell,
        _age(pod, now),
        pod_ip,
        _s(spec, "nodeName") or "<none>",
        _s(status, "nominatedNodeName") or "<none>",
        readiness,
    ]


@_prints(
    ("", "PodTemplate"),
    columns=(
        _NAME,
        _Col("Containers", doc="Names of each container in the template."),
        _Col("Images", doc="Images referenced by each container in the template."),
        _Col("Pod Labels", doc="The labels for the pod template."),
    ),
)
def _pod_template(obj: Obj, now: datetime.datetime) -> list[Cell]:
    names, images = _containers(_g(obj, "template", "spec"))
    return [_name(obj), names, images, _format_labels(_g(obj, "template", "metadata", "labels"))]


@_prints(
    ("", "ReplicationController"),
    columns=(
        _NAME,
        _Col("Desired", "integer", ("core.v1.ReplicationControllerSpec", "replicas")),
        _Col("Current", "integer", ("core.v1.ReplicationControllerStatus", "replicas")),
        _Col("Ready", "integer", ("core.v1.ReplicationControllerStatus", "readyReplicas")),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _Col("Selector", priority=1, doc=("core.v1.ReplicationControllerSpec", "selector")),
    ),
)
def _replication_controller(obj: Obj, now: datetime.datetime) -> list[Cell]:
    names, images = _containers(_g(obj, "spec", "template", "spec"))
    return [
        _name(obj),
        _i(obj, "spec", "replicas", default=1),
        _i(obj, "status", "replicas"),
        _i(obj, "status", "readyReplicas"),
        _age(obj, now),
        names,
        images,
        _format_labels(_g(obj, "spec", "selector")),
    ]


def _service_external_ip(svc: Obj) -> str:
    spec = _m(svc, "spec")
    external = [str(ip) for ip in _l(spec, "externalIPs")]
    svc_type = _s(spec, "type") or "ClusterIP"
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if svc_type == "LoadBalancer":
        # The apiserver prints "wide", so the load-balancer list is never clipped.
        lb = sorted(
            {_s(i, "ip") or _s(i, "hostname") for i in _l(svc, "status", "loadBalancer", "ingress")}
            - {""}
        )
        if external:
            return ",".join(lb + external)
        return ",".join(lb) if lb else "<pending>"
    if svc_type == "ExternalName":
        return _s(spec, "externalName")
    return "<unknown>"


@_prints(
    ("", "Service"),
    columns=(
        _NAME,
        _Col("Type", doc=("core.v1.ServiceSpec", "type")),
        _Col("Cluster-IP", doc=("core.v1.ServiceSpec", "clusterIP")),
        _Col("External-IP", doc=("core.v1.ServiceSpec", "externalIPs")),
        _Col("Port(s)", doc=("core.v1.ServiceSpec", "ports")),
        _AGE,
        _Col("Selector", priority=1, doc=("core.v1.ServiceSpec", "selector")),
    ),
)
def _service(svc: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(svc, "spec")
    cluster_ip = _s(spec, "clusterIPs", 0) or _s(spec, "clusterIP") or "<none>"
    ports = []
    for port in _l(spec, "ports"):
        proto = _s(port, "protocol") or "TCP"
        node_port = _i(port, "nodePort")
        ports.append(
            f"{_i(port, 'port')}:{node_port}/{proto}"
            if node_port > 0
            else f"{_i(port, 'port')}/{proto}"
        )
    return [
        _name(svc),
        _s(spec, "type") or "ClusterIP",
        cluster_ip,
        _service_external_ip(svc),
        ",".join(ports) or "<none>",
        _age(svc, now),
        _format_labels(_g(spec, "selector")),
    ]


@_prints(
    ("", "Endpoints"),
    columns=(_NAME, _Col("Endpoints", doc=("core.v1.Endpoints", "subsets")), _AGE),
)
def _endpoints(obj: Obj, now: datetime.datetime) -> list[Cell]:
    subsets = _l(obj, "subsets")
    if not subsets:
        return [_name(obj), "<none>", _age(obj, now)]
    items: list[str] = []
    count = 0
    for subset in subsets:
        addresses = [_s(a, "ip") for a in _l(subset, "addresses")]
        ports = _l(subset, "ports")
        if not ports:  # headless services may have no ports
            count += len(addresses)
            items.extend(addresses)
            continue
        for port in ports:
            count += len(addresses)
            items.extend(_join_host_port(ip, _i(port, "port")) for ip in addresses)
    text = ",".join(items[:3])
    if count > 3:
        text = f"{text} + {count - 3} more..."
    return [_name(obj), text, _age(obj, now)]


def _node_roles(node: Obj) -> str:
    roles = set()
    for key, value in _m(node, "metadata", "labels").items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/") :]:
            roles.add(key[len("node-role.kubernetes.io/") :])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _node_address(node: Obj, type_: str) -> str:
    for address in _l(node, "status", "addresses"):
        if _s(address, "type") == type_:
            return _s(address, "address")
    return "<none>"


@_prints(
    ("", "Node"),
    columns=(
        _NAME,
        _Col("Status", doc="The status of the node"),
        _Col("Roles", doc="The roles of the node"),
        _AGE,
        _Col("Version", doc=("core.v1.NodeSystemInfo", "kubeletVersion")),
        _Col("Internal-IP", priority=1, doc=("core.v1.NodeStatus", "addresses")),
        _Col("External-IP", priority=1, doc=("core.v1.NodeStatus", "addresses")),
        _Col("OS-Image", priority=1, doc=("core.v1.NodeSystemInfo", "osImage")),
        _Col("Kernel-Version", priority=1, doc=("core.v1.NodeSystemInfo", "kernelVersion")),
        _Col(
            "Container-Runtime",
            priority=1,
            doc=("core.v1.NodeSystemInfo", "containerRuntimeVersion"),
        ),
    ),
)
def _node(node: Obj, now: datetime.datetime) -> list[Cell]:
    ready = None
    for cond in _l(node, "status", "conditions"):
        if _s(cond, "type") == "Ready":
            ready = cond  # the last one wins, as in the Go map
    status = (
        ["Unknown"] if ready is None else ["Ready" if _s(ready, "status") == "True" else "NotReady"]
    )
    if _g(node, "spec", "unschedulable") is True:
        status.append("SchedulingDisabled")
    info = _m(node, "status", "nodeInfo")
    return [
        _name(node),
        ",".join(status),
        _node_roles(node),
        _age(node, now),
        _s(info, "kubeletVersion"),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        _s(info, "osImage") or "<unknown>",
        _s(info, "kernelVersion") or "<unknown>",
        _s(info, "containerRuntimeVersion") or "<unknown>",
    ]


_EVENT_COLUMNS = (
    _Col("Last Seen", doc=("core.v1.Event", "lastTimestamp")),
    _Col("Type", doc=("core.v1.Event", "type")),
    _Col("Reason", doc=("core.v1.Event", "reason")),
    _Col("Object", doc=("core.v1.Event", "involvedObject")),
    _Col("Subobject", priority=1, doc=("core.v1.ObjectReference", "fieldPath")),
    _Col("Source", priority=1, doc=("core.v1.Event", "source")),
    _Col("Message", doc=("core.v1.Event", "message")),
    _Col("First Seen", priority=1, doc=("core.v1.Event", "firstTimestamp")),
    _Col("Count", priority=1, doc=("core.v1.Event", "count")),
    _Col("Name", priority=1, format="name", doc=("meta.v1.ObjectMeta", "name")),
)


def _core_event(event: Obj) -> Obj:
    """An events.k8s.io/v1 Event in core/v1 field names; both are printed from the same storage."""
    source = _m(event, "deprecatedSource")
    return {
        "metadata": event.get("metadata"),
        "involvedObject": event.get("regarding"),
        "reason": event.get("reason"),
        "message": event.get("note"),
        "type": event.get("type"),
        "source": source,
        "firstTimestamp": event.get("deprecatedFirstTimestamp"),
        "lastTimestamp": event.get("deprecatedLastTimestamp"),
        "count": event.get("deprecatedCount"),
        "eventTime": event.get("eventTime"),
        "series": event.get("series"),
        "reportingComponent": event.get("reportingController"),
        "reportingInstance": event.get("reportingInstance"),
    }


@_prints(("events.k8s.io", "Event"), columns=_EVENT_COLUMNS)
def _events_v1_event(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return _event(_core_event(obj), now)


@_prints(("", "Event"), columns=_EVENT_COLUMNS)
def _event(event: Obj, now: datetime.datetime) -> list[Cell]:
    first = _since(event.get("firstTimestamp"), now)
    if _parse_time(event.get("firstTimestamp")) is None:
        first = _since(event.get("eventTime"), now)
    last = (
        first
        if _parse_time(event.get("lastTimestamp")) is None
        else _since(event.get("lastTimestamp"), now)
    )
    count = _i(event, "count")
    series = event.get("series")
    if isinstance(series, Mapping):
        last = _since(series.get("lastObservedTime"), now)
        count = _i(series, "count")
    elif count == 0:
        count = 1  # singleton events carry no count in the new API
    involved = _m(event, "involvedObject")
    target = _s(involved, "kind").lower()
    if _s(involved, "name"):
        target = f"{target}/{_s(involved, 'name')}"
    component = _s(event, "source", "component") or _s(event, "reportingComponent")
    host = _s(event, "source", "host") or _s(event, "reportingInstance")
    source = f"{component}, {host}" if host else component
    return [
        last,
        _s(event, "type"),
        _s(event, "reason"),
        target,
        _s(involved, "fieldPath"),
        source,
        _s(event, "message").strip(),
        first,
        count,
        _name(event),
    ]


@_prints(
    ("", "Namespace"),
    columns=(_NAME, _Col("Status", doc="The status of the namespace"), _AGE),
)
def _namespace(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _s(obj, "status", "phase") or "Active", _age(obj, now)]


@_prints(
    ("", "Secret"),
    columns=(
        _NAME,
        _Col("Type", doc=("core.v1.Secret", "type")),
        _Col("Data", doc=("core.v1.Secret", "data")),
        _AGE,
    ),
)
def _secret(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _s(obj, "type") or "Opaque", len(_m(obj, "data")), _age(obj, now)]


@_prints(("", "ServiceAccount"), columns=(_NAME, _AGE))
def _service_account(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _age(obj, now)]


def _access_modes(modes: Any) -> str:
    """``GetAccessModesAsString``: RWO, ROX, RWX, RWOP in that order, duplicates dropped."""
    present = set(modes) if isinstance(modes, list) else set()
    order = (
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    )
    return ",".join(short for mode, short in order if mode in present)


_BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"


@_prints(
    ("", "PersistentVolume"),
    columns=(
        _NAME,
        _Col("Capacity", doc=("core.v1.PersistentVolumeSpec", "capacity")),
        _Col("Access Modes", doc=("core.v1.PersistentVolumeSpec", "accessModes")),
        _Col(
            "Reclaim Policy", doc=("core.v1.PersistentVolumeSpec", "persistentVolumeReclaimPolicy")
        ),
        _Col("Status", doc=("core.v1.PersistentVolumeStatus", "phase")),
        _Col("Claim", doc=("core.v1.PersistentVolumeSpec", "claimRef")),
        _Col("StorageClass", doc="StorageClass of the pv"),
        _Col("VolumeAttributesClass", doc="VolumeAttributesClass of the pv"),
        _Col("Reason", doc=("core.v1.PersistentVolumeStatus", "reason")),
        _AGE,
        _Col("VolumeMode", priority=1, doc=("core.v1.PersistentVolumeSpec", "volumeMode")),
    ),
)
def _persistent_volume(pv: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(pv, "spec")
    claim = ""
    if isinstance(spec.get("claimRef"), Mapping):
        claim = f"{_s(spec, 'claimRef', 'namespace')}/{_s(spec, 'claimRef', 'name')}"
    phase = _s(pv, "status", "phase") or "Pending"
    if _g(pv, "metadata", "deletionTimestamp") is not None:
        phase = "Terminating"
    annotations = _m(pv, "metadata", "annotations")
    storage_class = (
        annotations[_BETA_STORAGE_CLASS]
        if _BETA_STORAGE_CLASS in annotations
        else _s(spec, "storageClassName")
    )
    return [
        _name(pv),
        _quantity(_g(spec, "capacity", "storage") or "0"),
        _access_modes(spec.get("accessModes")),
        _s(spec, "persistentVolumeReclaimPolicy") or "Retain",
        phase,
        claim,
        storage_class,
        _s(spec, "volumeAttributesClassName") or "<unset>",
        _s(pv, "status", "reason"),
        _age(pv, now),
        _s(spec, "volumeMode") or "Filesystem",
    ]


@_prints(
    ("", "PersistentVolumeClaim"),
    columns=(
        _NAME,
        _Col("Status", doc=("core.v1.PersistentVolumeClaimStatus", "phase")),
        _Col("Volume", doc=("core.v1.PersistentVolumeClaimSpec", "volumeName")),
        _Col("Capacity", doc=("core.v1.PersistentVolumeClaimStatus", "capacity")),
        _Col("Access Modes", doc=("core.v1.PersistentVolumeClaimStatus", "accessModes")),
        _Col("StorageClass", doc="StorageClass of the pvc"),
        _Col("VolumeAttributesClass", doc="VolumeAttributesClass of the pvc"),
        _AGE,
        _Col("VolumeMode", priority=1, doc=("core.v1.PersistentVolumeClaimSpec", "volumeMode")),
    ),
)
def _persistent_volume_claim(pvc: Obj, now: datetime.datetime) -> list[Cell]:
    spec, status = _m(pvc, "spec"), _m(pvc, "status")
    phase = _s(status, "phase") or "Pending"
    if _g(pvc, "metadata", "deletionTimestamp") is not None:
        phase = "Terminating"
    capacity = access = ""
    if _s(spec, "volumeName"):
        access = _access_modes(status.get("accessModes"))
        capacity = _quantity(_g(status, "capacity", "storage") or "0")
    annotations = _m(pvc, "metadata", "annotations")
    storage_class = (
        annotations[_BETA_STORAGE_CLASS]
        if _BETA_STORAGE_CLASS in annotations
        else _s(spec, "storageClassName")
    )
    return [
        _name(pvc),
        phase,
        _s(spec, "volumeName"),
        capacity,
        access,
        storage_class,
        _s(spec, "volumeAttributesClassName") or "<unset>",
        _age(pvc, now),
        _s(spec, "volumeMode") or "Filesystem",
    ]


@_prints(
    ("", "ComponentStatus"),
    columns=(
        _NAME,
        _Col("Status", doc="Status of the component conditions"),
        _Col("Message", doc="Message of the component conditions"),
        _Col("Error", doc="Error of the component conditions"),
    ),
)
def _component_status(obj: Obj, now: datetime.datetime) -> list[Cell]:
    cond = _condition(obj.get("conditions"), "Healthy")
    if cond is None:
        return [_name(obj), "Unknown", "", ""]
    status = "Healthy" if cond.get("status") == "True" else "Unhealthy"
    return [_name(obj), status, _s(cond, "message"), _s(cond, "error")]


@_prints(
    ("", "ConfigMap"),
    columns=(_NAME, _Col("Data", doc=("core.v1.ConfigMap", "data")), _AGE),
)
def _config_map(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), len(_m(obj, "data")) + len(_m(obj, "binaryData")), _age(obj, now)]


@_prints(
    ("", "ResourceQuota"),
    columns=(
        _NAME,
        _Col(
            "Request",
            doc="Request represents a minimum amount of cpu/memory that a container may consume.",
        ),
        _Col(
            "Limit",
            doc="Limits control the maximum amount of cpu/memory that a container may use "
            "independent of contention on the node.",
        ),
        _AGE,
    ),
)
def _resource_quota(obj: Obj, now: datetime.datetime) -> list[Cell]:
    hard, used = _m(obj, "status", "hard"), _m(obj, "status", "used")
    requests, limits = [], []
    for resource in sorted(hard):
        text = f"{resource}: {_quantity(used.get(resource, '0'))}/{_quantity(hard[resource])}"
        pieces = resource.split(".")
        (limits if len(pieces) > 1 and pieces[0] == "limits" else requests).append(text)
    return [_name(obj), ", ".join(requests), ", ".join(limits), _age(obj, now)]


# --------------------------------------------------------------------------------------------------
# apps/v1


@_prints(
    ("apps", "Deployment"),
    columns=(
        _NAME,
        _Col("Ready", doc="Number of the pod with ready state"),
        _Col("Up-to-date", doc=("apps.v1.DeploymentStatus", "updatedReplicas")),
        _Col("Available", doc=("apps.v1.DeploymentStatus", "availableReplicas")),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _Col("Selector", priority=1, doc=("apps.v1.DeploymentSpec", "selector")),
    ),
)
def _deployment(obj: Obj, now: datetime.datetime) -> list[Cell]:
    names, images = _containers(_g(obj, "spec", "template", "spec"))
    ready = f"{_i(obj, 'status', 'readyReplicas')}/{_i(obj, 'spec', 'replicas', default=1)}"
    return [
        _name(obj),
        ready,
        _i(obj, "status", "updatedReplicas"),
        _i(obj, "status", "availableReplicas"),
        _age(obj, now),
        names,
        images,
        _selector_string(_g(obj, "spec", "selector")),
    ]


@_prints(
    ("apps", "ReplicaSet"),
    columns=(
        _NAME,
        _Col("Desired", "integer", ("apps.v1.ReplicaSetSpec", "replicas")),
        _Col("Current", "integer", ("apps.v1.ReplicaSetStatus", "replicas")),
        _Col("Ready", "integer", ("apps.v1.ReplicaSetStatus", "readyReplicas")),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _Col("Selector", priority=1, doc=("apps.v1.ReplicaSetSpec", "selector")),
    ),
)
def _replica_set(obj: Obj, now: datetime.datetime) -> list[Cell]:
    names, images = _containers(_g(obj, "spec", "template", "spec"))
    return [
        _name(obj),
        _i(obj, "spec", "replicas", default=1),
        _i(obj, "status", "replicas"),
        _i(obj, "status", "readyReplicas"),
        _age(obj, now),
        names,
        images,
        _format_selector(_g(obj, "spec", "selector")),
    ]


@_prints(
    ("apps", "StatefulSet"),
    columns=(
        _NAME,
        _Col("Ready", doc="Number of the pod with ready state"),
        _AGE,
        _CONTAINERS,
        _IMAGES,
    ),
)
def _stateful_set(obj: Obj, now: datetime.datetime) -> list[Cell]:
    names, images = _containers(_g(obj, "spec", "template", "spec"))
    ready = f"{_i(obj, 'status', 'readyReplicas')}/{_i(obj, 'spec', 'replicas', default=1)}"
    return [_name(obj), ready, _age(obj, now), names, images]


@_prints(
    ("apps", "DaemonSet"),
    columns=(
        _NAME,
        _Col("Desired", "integer", ("apps.v1.DaemonSetStatus", "desiredNumberScheduled")),
        _Col("Current", "integer", ("apps.v1.DaemonSetStatus", "currentNumberScheduled")),
        _Col("Ready", "integer", ("apps.v1.DaemonSetStatus", "numberReady")),
        _Col("Up-to-date", "integer", ("apps.v1.DaemonSetStatus", "updatedNumberScheduled")),
        _Col("Available", "integer", ("apps.v1.DaemonSetStatus", "numberAvailable")),
        _Col("Node Selector", doc=("core.v1.PodSpec", "nodeSelector")),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _Col("Selector", priority=1, doc=("apps.v1.DaemonSetSpec", "selector")),
    ),
)
def _daemon_set(obj: Obj, now: datetime.datetime) -> list[Cell]:
    status = _m(obj, "status")
    names, images = _containers(_g(obj, "spec", "template", "spec"))
    return [
        _name(obj),
        _i(status, "desiredNumberScheduled"),
        _i(status, "currentNumberScheduled"),
        _i(status, "numberReady"),
        _i(status, "updatedNumberScheduled"),
        _i(status, "numberAvailable"),
        _format_labels(_g(obj, "spec", "template", "spec", "nodeSelector")),
        _age(obj, now),
        names,
        images,
        _format_selector(_g(obj, "spec", "selector")),
    ]


def _format_owner(group_version: str, kind: str, name: str) -> str:
    """``formatResourceName`` with kind: ``statefulset.apps/web``."""
    group = group_version.rpartition("/")[0]
    return f"{kind}.{group}".lower() + f"/{name}" if group else f"{kind.lower()}/{name}"


@_prints(
    ("apps", "ControllerRevision"),
    columns=(
        _NAME,
        _Col("Controller", doc="Controller of the object"),
        _Col("Revision", doc=("apps.v1.ControllerRevision", "revision")),
        _AGE,
    ),
)
def _controller_revision(obj: Obj, now: datetime.datetime) -> list[Cell]:
    controller = "<none>"
    for ref in _l(obj, "metadata", "ownerReferences"):
        if _g(ref, "controller") is True:
            controller = _format_owner(_s(ref, "apiVersion"), _s(ref, "kind"), _s(ref, "name"))
            break
    return [_name(obj), controller, _i(obj, "revision"), _age(obj, now)]


# --------------------------------------------------------------------------------------------------
# batch/v1


@_prints(
    ("batch", "Job"),
    columns=(
        _NAME,
        _Col("Status", doc="Status of the job."),
        _Col("Completions", doc=("batch.v1.JobStatus", "succeeded")),
        _Col("Duration", doc="Time required to complete the job."),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _Col("Selector", priority=1, doc=("batch.v1.JobSpec", "selector")),
    ),
)
def _job(job: Obj, now: datetime.datetime) -> list[Cell]:
    spec, status = _m(job, "spec"), _m(job, "status")
    succeeded = _i(status, "succeeded")
    completions, parallelism = _g(spec, "completions"), _g(spec, "parallelism")
    if completions is None and parallelism is None:
        completions = 1  # a non-parallel Job defaults both to 1
    if isinstance(completions, int):
        completions_cell = f"{succeeded}/{completions}"
    elif isinstance(parallelism, int) and parallelism > 1:
        completions_cell = f"{succeeded}/1 of {parallelism}"
    else:
        completions_cell = f"{succeeded}/1"
    start, end = _parse_time(status.get("startTime")), _parse_time(status.get("completionTime"))
    duration = "" if start is None else human_duration((end or now) - start)
    conditions = status.get("conditions")
    if _condition_true(conditions, "Complete"):
        state = "Complete"
    elif _condition_true(conditions, "Failed"):
        state = "Failed"
    elif _g(job, "metadata", "deletionTimestamp") is not None:
        state = "Terminating"
    elif _condition_true(conditions, "Suspended"):
        state = "Suspended"
    elif _condition_true(conditions, "FailureTarget"):
        state = "FailureTarget"
    elif _condition_true(conditions, "SuccessCriteriaMet"):
        state = "SuccessCriteriaMet"
    else:
        state = "Running"
    names, images = _containers(_g(spec, "template", "spec"))
    return [
        _name(job),
        state,
        completions_cell,
        duration,
        _age(job, now),
        names,
        images,
        _format_selector(spec.get("selector")),
    ]


@_prints(
    ("batch", "CronJob"),
    columns=(
        _NAME,
        _Col("Schedule", doc=("batch.v1.CronJobSpec", "schedule")),
        _Col("Timezone", doc=("batch.v1.CronJobSpec", "timeZone")),
        _Col("Suspend", "boolean", ("batch.v1.CronJobSpec", "suspend")),
        _Col("Active", "integer", ("batch.v1.CronJobStatus", "active")),
        _Col("Last Schedule", doc=("batch.v1.CronJobStatus", "lastScheduleTime")),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _Col("Selector", priority=1, doc=("batch.v1.JobSpec", "selector")),
    ),
)
def _cron_job(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    last = _g(obj, "status", "lastScheduleTime")
    suspend = spec.get("suspend", False)  # defaulted to false on create
    names, images = _containers(_g(spec, "jobTemplate", "spec", "template", "spec"))
    return [
        _name(obj),
        _s(spec, "schedule"),
        _s(spec, "timeZone") or "<none>",
        _bool_word(suspend),
        len(_l(obj, "status", "active")),
        "<none>" if last is None else _since(last, now),
        _age(obj, now),
        names,
        images,
        _format_selector(_g(spec, "jobTemplate", "spec", "selector")),
    ]


# --------------------------------------------------------------------------------------------------
# autoscaling


def _hpa_metrics(hpa: Obj) -> tuple[list[Any], list[Any]]:
    """Spec and current metrics in autoscaling/v2 shape, whichever version the object is in."""
    spec, status = _m(hpa, "spec"), _m(hpa, "status")
    if "targetCPUUtilizationPercentage" in spec or _s(hpa, "apiVersion") == "autoscaling/v1":
        target = spec.get("targetCPUUtilizationPercentage")
        specs = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": target},
                },
            }
        ]
        current = status.get("currentCPUUtilizationPercentage")
        statuses = (
            []
            if current is None
            else [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "current": {"averageUtilization": current}},
                }
            ]
        )
        if target is not None:
            return specs, statuses
        return _DEFAULT_HPA_METRICS, statuses
    return _l(spec, "metrics") or _DEFAULT_HPA_METRICS, _l(status, "currentMetrics")


# autoscaling/v2 defaulting: no metrics means 80% average CPU utilisation.
_DEFAULT_HPA_METRICS = [
    {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
    }
]


def _format_hpa_metrics(specs: list[Any], statuses: list[Any]) -> str:
    if not specs:
        return "<none>"
    items: list[str] = []
    for index, spec in enumerate(specs):
        current_status = statuses[index] if index < len(statuses) else None
        kind = _s(spec, "type")
        field = {
            "External": "external",
            "Pods": "pods",
            "Object": "object",
            "Resource": "resource",
            "ContainerResource": "containerResource",
        }.get(kind)
        if field is None:
            items.append("<unknown type>")
            continue
        source, current = _m(spec, field), _g(current_status, field)
        target = _m(source, "target")
        if kind == "Pods":
            now_value = (
                _quantity(_g(current, "current", "averageValue"))
                if current is not None
                else "<unknown>"
            )
            items.append(f"{now_value}/{_quantity(target.get('averageValue'))}")
        elif kind in ("External", "Object"):
            if target.get("averageValue") is not None:
                avg = _g(current, "current", "averageValue")
                now_value = _quantity(avg) if avg is not None else "<unknown>"
                items.append(f"{now_value}/{_quantity(target['averageValue'])} (avg)")
            else:
                now_value = (
                    _quantity(_g(current, "current", "value"))
                    if current is not None
                    else "<unknown>"
                )
                items.append(f"{now_value}/{_quantity(target.get('value'))}")
        else:  # Resource, ContainerResource
            name = _s(source, "name")
            if target.get("averageValue") is not None:
                now_value = (
                    _quantity(_g(current, "current", "averageValue"))
                    if current is not None
                    else "<unknown>"
                )
                items.append(f"{name}: {now_value}/{_quantity(target['averageValue'])}")
            else:
                utilization = _g(current, "current", "averageUtilization")
                now_value = f"{utilization}%" if isinstance(utilization, int) else "<unknown>"
                goal = target.get("averageUtilization")
                items.append(
                    f"{name}: {now_value}/{f'{goal}%' if isinstance(goal, int) else '<auto>'}"
                )
    if len(items) > 2:
        return f"{', '.join(items[:2])} + {len(items) - 2} more..."
    return ", ".join(items)


@_prints(
    ("autoscaling", "HorizontalPodAutoscaler"),
    columns=(
        _NAME,
        _Col("Reference", doc=("autoscaling.v2.HorizontalPodAutoscalerSpec", "scaleTargetRef")),
        _Col("Targets", doc=("autoscaling.v2.HorizontalPodAutoscalerSpec", "metrics")),
        _Col("MinPods", doc=("autoscaling.v2.HorizontalPodAutoscalerSpec", "minReplicas")),
        _Col("MaxPods", doc=("autoscaling.v2.HorizontalPodAutoscalerSpec", "maxReplicas")),
        _Col("Replicas", doc=("autoscaling.v2.HorizontalPodAutoscalerStatus", "currentReplicas")),
        _AGE,
    ),
)
def _hpa(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    ref = f"{_s(spec, 'scaleTargetRef', 'kind')}/{_s(spec, 'scaleTargetRef', 'name')}"
    min_pods = _g(spec, "minReplicas")
    return [
        _name(obj),
        ref,
        _format_hpa_metrics(*_hpa_metrics(obj)),
        str(min_pods) if isinstance(min_pods, int) else "1",  # minReplicas defaults to 1
        _i(spec, "maxReplicas"),
        _i(obj, "status", "currentReplicas"),
        _age(obj, now),
    ]


@_prints(
    ("autoscaling", "Scale"),
    columns=(
        _Col("Name", doc=("meta.v1.ObjectMeta", "name")),
        _Col("Desired", "integer", ("autoscaling.v1.ScaleSpec", "replicas")),
        _Col("Available", "integer", ("autoscaling.v1.ScaleStatus", "replicas")),
        _AGE,
    ),
)
def _scale(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _i(obj, "spec", "replicas"), _i(obj, "status", "replicas"), _age(obj, now)]


# --------------------------------------------------------------------------------------------------
# policy, networking, discovery, rbac, coordination, scheduling, node


@_prints(
    ("policy", "PodDisruptionBudget"),
    columns=(
        _NAME,
        _Col("Min Available", doc="The minimum number of pods that must be available."),
        _Col("Max Unavailable", doc="The maximum number of pods that may be unavailable."),
        _Col(
            "Allowed Disruptions",
            "integer",
            "Calculated number of pods that may be disrupted at this time.",
        ),
        _AGE,
    ),
)
def _pdb(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    min_available = (
        _int_or_string(spec["minAvailable"]) if spec.get("minAvailable") is not None else "N/A"
    )
    max_unavailable = (
        _int_or_string(spec["maxUnavailable"]) if spec.get("maxUnavailable") is not None else "N/A"
    )
    return [
        _name(obj),
        min_available,
        max_unavailable,
        _i(obj, "status", "disruptionsAllowed"),
        _age(obj, now),
    ]


@_prints(
    ("networking.k8s.io", "Ingress"),
    columns=(
        _NAME,
        _Col(
            "Class",
            doc="The name of the IngressClass resource that should be used for additional "
            "configuration",
        ),
        _Col(
            "Hosts", doc="Hosts that incoming requests are matched against before the ingress rule"
        ),
        _Col("Address", doc="Address is a list containing ingress points for the load-balancer"),
        _Col("Ports", doc="Ports of TLS configurations that open"),
        _AGE,
    ),
)
def _ingress(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    rules = _l(spec, "rules")
    hosts: list[str] = []
    more = False
    for rule in rules:  # formatHosts: "more" once three hosts are listed and another rule follows
        more = more or len(hosts) == 3
        if not more and _s(rule, "host"):
            hosts.append(_s(rule, "host"))
    host_cell = ",".join(hosts) or "*"
    if more and hosts:
        host_cell = f"{host_cell} + {len(rules) - 3} more..."
    lb = sorted(
        {_s(i, "ip") or _s(i, "hostname") for i in _l(obj, "status", "loadBalancer", "ingress")}
        - {""}
    )
    return [
        _name(obj),
        _s(spec, "ingressClassName") or "<none>",
        host_cell,
        ",".join(lb),
        "80, 443" if _l(spec, "tls") else "80",
        _age(obj, now),
    ]


@_prints(
    ("networking.k8s.io", "IngressClass"),
    columns=(
        _NAME,
        _Col("Controller", doc="Controller that is responsible for handling this class"),
        _Col("Parameters", doc="A reference to a resource with additional parameters"),
        _AGE,
    ),
)
def _ingress_class(obj: Obj, now: datetime.datetime) -> list[Cell]:
    params = _g(obj, "spec", "parameters")
    text = "<none>"
    if isinstance(params, Mapping):
        text = _s(params, "kind")
        if isinstance(params.get("apiGroup"), str):
            text = f"{text}.{params['apiGroup']}"
        text = f"{text}/{_s(params, 'name')}"
    return [_name(obj), _s(obj, "spec", "controller"), text, _age(obj, now)]


@_prints(
    ("networking.k8s.io", "NetworkPolicy"),
    columns=(
        _NAME,
        _Col("Pod-Selector", doc=("networking.v1.NetworkPolicySpec", "podSelector")),
        _AGE,
    ),
)
def _network_policy(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _format_selector(_g(obj, "spec", "podSelector") or {}), _age(obj, now)]


@_prints(
    ("networking.k8s.io", "ServiceCIDR"),
    columns=(_NAME, _Col("CIDRs", doc=("networking.v1.ServiceCIDRSpec", "cidrs")), _AGE),
)
def _service_cidr(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), ",".join(str(c) for c in _l(obj, "spec", "cidrs")), _age(obj, now)]


@_prints(
    ("networking.k8s.io", "IPAddress"),
    columns=(_NAME, _Col("ParentRef", doc=("networking.v1.IPAddressSpec", "parentRef"))),
)
def _ip_address(obj: Obj, now: datetime.datetime) -> list[Cell]:
    # Upstream's row has an Age cell beyond its two columns; kubectl prints only the columns.
    ref = _g(obj, "spec", "parentRef")
    parent = "<none>"
    if isinstance(ref, Mapping):
        group_resource = _s(ref, "resource") + (f".{_s(ref, 'group')}" if _s(ref, "group") else "")
        parent = group_resource.lower()
        if _s(ref, "namespace"):
            parent += "/" + _s(ref, "namespace")
        parent += "/" + _s(ref, "name")
    return [_name(obj), parent, _age(obj, now)]


@_prints(
    ("discovery.k8s.io", "EndpointSlice"),
    columns=(
        _NAME,
        _Col("AddressType", doc=("discovery.v1.EndpointSlice", "addressType")),
        _Col("Ports", doc=("discovery.v1.EndpointSlice", "ports")),
        _Col("Endpoints", doc=("discovery.v1.EndpointSlice", "endpoints")),
        _AGE,
    ),
)
def _endpoint_slice(obj: Obj, now: datetime.datetime) -> list[Cell]:
    ports = []
    for port in _l(obj, "ports"):
        number, name = _g(port, "port"), _g(port, "name")
        ports.append(
            str(number) if isinstance(number, int) else name if isinstance(name, str) else "*"
        )
    addresses = [str(a) for e in _l(obj, "endpoints") for a in _l(e, "addresses")]
    return [
        _name(obj),
        _s(obj, "addressType"),
        _list_with_more(ports, len(ports)),
        _list_with_more(addresses, len(addresses)),
        _age(obj, now),
    ]


def _subjects(obj: Obj) -> list[Cell]:
    """``rbac.SubjectsStrings``: users, groups and namespace/name service accounts."""
    users, groups, sas = [], [], []
    for subject in _l(obj, "subjects"):
        kind = _s(subject, "kind")
        if kind == "ServiceAccount":
            sas.append(f"{_s(subject, 'namespace')}/{_s(subject, 'name')}")
        elif kind == "User":
            users.append(_s(subject, "name"))
        elif kind == "Group":
            groups.append(_s(subject, "name"))
    return [", ".join(users), ", ".join(groups), ", ".join(sas)]


def _binding_columns(what: str) -> tuple[_Col, ...]:
    return (
        _NAME,
        _Col("Role", doc=(f"rbac.v1.{what[0].upper()}{what[1:]}", "roleRef")),
        _AGE,
        _Col("Users", priority=1, doc=f"Users in the {what}"),
        _Col("Groups", priority=1, doc=f"Groups in the {what}"),
        _Col("ServiceAccounts", priority=1, doc=f"ServiceAccounts in the {what}"),
    )


@_prints(("rbac.authorization.k8s.io", "RoleBinding"), columns=_binding_columns("roleBinding"))
def _role_binding(obj: Obj, now: datetime.datetime) -> list[Cell]:
    role = f"{_s(obj, 'roleRef', 'kind')}/{_s(obj, 'roleRef', 'name')}"
    return [_name(obj), role, _age(obj, now), *_subjects(obj)]


_prints(
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    columns=_binding_columns("clusterRoleBinding"),
)(_role_binding)


@_prints(
    ("coordination.k8s.io", "Lease"),
    columns=(_NAME, _Col("Holder", doc=("coordination.v1.LeaseSpec", "holderIdentity")), _AGE),
)
def _lease(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _s(obj, "spec", "holderIdentity"), _age(obj, now)]


@_prints(
    ("coordination.k8s.io", "LeaseCandidate"),
    columns=(
        _NAME,
        _Col("LeaseName", doc=("coordination.v1beta1.LeaseCandidateSpec", "leaseName")),
        _Col("BinaryVersion"),
        _Col("EmulationVersion"),
        _AGE,
    ),
)
def _lease_candidate(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    return [
        _name(obj),
        _s(spec, "leaseName"),
        _s(spec, "binaryVersion"),
        _s(spec, "emulationVersion"),
        _age(obj, now),
    ]


@_prints(
    ("scheduling.k8s.io", "PriorityClass"),
    columns=(
        _NAME,
        _Col("Value", "integer", ("scheduling.v1.PriorityClass", "value")),
        _Col("Global-Default", "boolean", ("scheduling.v1.PriorityClass", "globalDefault")),
        _AGE,
        _Col("PreemptionPolicy", doc=("scheduling.v1.PriorityClass", "preemptionPolicy")),
    ),
)
def _priority_class(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [
        _name(obj),
        _i(obj, "value"),
        _g(obj, "globalDefault") is True,
        _age(obj, now),
        _s(obj, "preemptionPolicy") or "PreemptLowerPriority",
    ]


@_prints(("node.k8s.io", "RuntimeClass"), columns=(_NAME, _Col("Handler"), _AGE))
def _runtime_class(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _s(obj, "handler"), _age(obj, now)]


# --------------------------------------------------------------------------------------------------
# storage


@_prints(
    ("storage.k8s.io", "StorageClass"),
    columns=(
        _NAME,
        _Col("Provisioner", doc=("storage.v1.StorageClass", "provisioner")),
        _Col("ReclaimPolicy", doc=("storage.v1.StorageClass", "reclaimPolicy")),
        _Col("VolumeBindingMode", doc=("storage.v1.StorageClass", "volumeBindingMode")),
        _Col("AllowVolumeExpansion", doc=("storage.v1.StorageClass", "allowVolumeExpansion")),
        _AGE,
    ),
)
def _storage_class(obj: Obj, now: datetime.datetime) -> list[Cell]:
    annotations = _m(obj, "metadata", "annotations")
    default = "true" in (
        annotations.get("storageclass.kubernetes.io/is-default-class"),
        annotations.get("storageclass.beta.kubernetes.io/is-default-class"),
    )
    return [
        _name(obj) + (" (default)" if default else ""),
        _s(obj, "provisioner"),
        _s(obj, "reclaimPolicy") or "Delete",
        _s(obj, "volumeBindingMode") or "Immediate",
        _g(obj, "allowVolumeExpansion") is True,
        _age(obj, now),
    ]


@_prints(
    ("storage.k8s.io", "VolumeAttributesClass"),
    columns=(
        _NAME,
        _Col("DriverName", doc=("storage.v1.VolumeAttributesClass", "driverName")),
        _AGE,
    ),
)
def _volume_attributes_class(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _s(obj, "driverName"), _age(obj, now)]


@_prints(
    ("storage.k8s.io", "VolumeAttachment"),
    columns=(
        _NAME,
        _Col("Attacher", format="name", doc=("storage.v1.VolumeAttachmentSpec", "attacher")),
        _Col("PV", doc=("storage.v1.VolumeAttachmentSource", "persistentVolumeName")),
        _Col("Node", doc=("storage.v1.VolumeAttachmentSpec", "nodeName")),
        _Col("Attached", "boolean", ("storage.v1.VolumeAttachmentStatus", "attached")),
        _AGE,
    ),
)
def _volume_attachment(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    return [
        _name(obj),
        _s(spec, "attacher"),
        _s(spec, "source", "persistentVolumeName"),
        _s(spec, "nodeName"),
        _g(obj, "status", "attached") is True,
        _age(obj, now),
    ]


@_prints(
    ("storage.k8s.io", "CSINode"),
    columns=(
        _NAME,
        _Col(
            "Drivers",
            "integer",
            "Drivers indicates the number of CSI drivers registered on the node",
        ),
        _AGE,
    ),
)
def _csi_node(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), len(_l(obj, "spec", "drivers")), _age(obj, now)]


@_prints(
    ("storage.k8s.io", "CSIDriver"),
    columns=(
        _NAME,
        _Col("AttachRequired", "boolean", ("storage.v1.CSIDriverSpec", "attachRequired")),
        _Col("PodInfoOnMount", "boolean", ("storage.v1.CSIDriverSpec", "podInfoOnMount")),
        _Col("StorageCapacity", "boolean", ("storage.v1.CSIDriverSpec", "storageCapacity")),
        _Col("TokenRequests", doc=("storage.v1.CSIDriverSpec", "tokenRequests")),
        _Col("RequiresRepublish", "boolean", ("storage.v1.CSIDriverSpec", "requiresRepublish")),
        _Col("Modes", doc=("storage.v1.CSIDriverSpec", "volumeLifecycleModes")),
        _AGE,
    ),
)
def _csi_driver(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    tokens = spec.get("tokenRequests")
    token_cell = (
        ",".join(_s(t, "audience") for t in tokens) if isinstance(tokens, list) else "<unset>"
    )
    return [
        _name(obj),
        spec.get("attachRequired") is not False,
        spec.get("podInfoOnMount") is True,
        spec.get("storageCapacity") is True,
        token_cell,
        spec.get("requiresRepublish") is True,
        ",".join(str(m) for m in _l(spec, "volumeLifecycleModes")) or "Persistent",
        _age(obj, now),
    ]


# --------------------------------------------------------------------------------------------------
# admission, certificates, flow control, API machinery, DRA


def _webhooks(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), len(_l(obj, "webhooks")), _age(obj, now)]


_WEBHOOK_COLUMNS = (
    _NAME,
    _Col(
        "Webhooks",
        "integer",
        "Webhooks indicates the number of webhooks registered in this configuration",
    ),
    _AGE,
)
_prints(("admissionregistration.k8s.io", "MutatingWebhookConfiguration"), columns=_WEBHOOK_COLUMNS)(
    _webhooks
)
_prints(
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"), columns=_WEBHOOK_COLUMNS
)(_webhooks)


def _admission_policy(rules: str) -> Callable[[Obj, datetime.datetime], list[Cell]]:
    def cells(obj: Obj, now: datetime.datetime) -> list[Cell]:
        param_kind = _g(obj, "spec", "paramKind")
        kind = (
            f"{_s(param_kind, 'apiVersion')}/{_s(param_kind, 'kind')}"
            if isinstance(param_kind, Mapping)
            else "<unset>"
        )
        return [_name(obj), len(_l(obj, "spec", rules)), kind, _age(obj, now)]

    return cells


def _policy_binding(obj: Obj, now: datetime.datetime) -> list[Cell]:
    ref = _g(obj, "spec", "paramRef")
    param = "<unset>"
    if isinstance(ref, Mapping):
        if _s(ref, "name"):
            # Whether the param is cluster-scoped cannot be told here; no namespace prints as */.
            param = f"{_s(ref, 'namespace') or '*'}/{_s(ref, 'name')}"
        elif isinstance(ref.get("selector"), Mapping):
            param = _selector_string(ref["selector"])
    return [_name(obj), _s(obj, "spec", "policyName"), param, _age(obj, now)]


_PARAM_KIND = _Col(
    "ParamKind", doc="ParamKind specifies the kind of resources used to parameterize this policy"
)
_BINDING_COLUMNS = (
    _NAME,
    _Col(
        "PolicyName",
        doc="PolicyName indicates the policy definition which the policy binding binded to",
    ),
    _Col("ParamRef", doc="ParamRef indicates the param resource which sets the configration param"),
    _AGE,
)
_prints(
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    columns=(
        _NAME,
        _Col(
            "Validations",
            "integer",
            "Validations indicates the number of validation rules defined in this configuration",
        ),
        _PARAM_KIND,
        _AGE,
    ),
)(_admission_policy("validations"))
_prints(
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    columns=(
        _NAME,
        _Col(
            "Mutations",
            "integer",
            "Mutation indicates the number of mutations rules defined in this configuration",
        ),
        _PARAM_KIND,
        _AGE,
    ),
)(_admission_policy("mutations"))
_prints(
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"), columns=_BINDING_COLUMNS
)(_policy_binding)
_prints(
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"), columns=_BINDING_COLUMNS
)(_policy_binding)


@_prints(
    ("certificates.k8s.io", "CertificateSigningRequest"),
    columns=(
        _NAME,
        _AGE,
        _Col("SignerName", doc=("certificates.v1.CertificateSigningRequestSpec", "signerName")),
        _Col("Requestor", doc=("certificates.v1.CertificateSigningRequestSpec", "request")),
        _Col(
            "RequestedDuration",
            doc=("certificates.v1.CertificateSigningRequestSpec", "expirationSeconds"),
        ),
        _Col("Condition", doc=("certificates.v1.CertificateSigningRequestStatus", "conditions")),
    ),
)
def _csr(obj: Obj, now: datetime.datetime) -> list[Cell]:
    kinds = {_s(c, "type") for c in _l(obj, "status", "conditions")}
    state = "Denied" if "Denied" in kinds else "Approved" if "Approved" in kinds else "Pending"
    if "Failed" in kinds:
        state += ",Failed"
    if _s(obj, "status", "certificate"):
        state += ",Issued"
    seconds = _g(obj, "spec", "expirationSeconds")
    duration = (
        human_duration(datetime.timedelta(seconds=seconds))
        if isinstance(seconds, int)
        else "<none>"
    )
    return [
        _name(obj),
        _age(obj, now),
        _s(obj, "spec", "signerName") or "<none>",
        _s(obj, "spec", "username"),
        duration,
        state,
    ]


@_prints(
    ("certificates.k8s.io", "ClusterTrustBundle"),
    columns=(
        _NAME,
        _Col("SignerName", doc=("certificates.v1beta1.ClusterTrustBundleSpec", "signerName")),
    ),
)
def _cluster_trust_bundle(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _s(obj, "spec", "signerName") or "<none>"]


@_prints(
    ("certificates.k8s.io", "PodCertificateRequest"),
    columns=(
        _NAME,
        _Col("PodName", doc=("certificates.v1.PodCertificateRequestSpec", "podName")),
        _Col(
            "ServiceAccountName",
            doc=("certificates.v1.PodCertificateRequestSpec", "serviceAccountName"),
        ),
        _Col("NodeName", doc=("certificates.v1.PodCertificateRequestSpec", "nodeName")),
        _Col("SignerName", doc=("certificates.v1.PodCertificateRequestSpec", "signerName")),
        _Col("State", doc="Is the request Pending, Issued, Denied, or Failed?"),
    ),
)
def _pod_certificate_request(obj: Obj, now: datetime.datetime) -> list[Cell]:
    state = "Pending"
    for cond in _l(obj, "status", "conditions"):
        if _s(cond, "type") in ("Issued", "Denied", "Failed"):
            state = _s(cond, "type")
    spec = _m(obj, "spec")
    return [
        _name(obj),
        _s(spec, "podName"),
        _s(spec, "serviceAccountName"),
        _s(spec, "nodeName"),
        _s(spec, "signerName"),
        state,
    ]


@_prints(
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    columns=(
        _NAME,
        _Col("PriorityLevel", doc=("flowcontrol.v1.PriorityLevelConfigurationReference", "name")),
        _Col("MatchingPrecedence", doc=("flowcontrol.v1.FlowSchemaSpec", "matchingPrecedence")),
        _Col("DistinguisherMethod", doc=("flowcontrol.v1.FlowSchemaSpec", "distinguisherMethod")),
        _AGE,
        _Col("MissingPL", doc="references a broken or non-existent PriorityLevelConfiguration"),
    ),
    # FlowSchemaList printing orders by precedence, then name.
    sort_key=lambda fs: (_i(fs, "spec", "matchingPrecedence"), _name(fs)),
)
def _flow_schema(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    dangling = _condition(_g(obj, "status", "conditions"), "Dangling")
    return [
        _name(obj),
        _s(spec, "priorityLevelConfiguration", "name"),
        _i(spec, "matchingPrecedence"),
        _s(spec, "distinguisherMethod", "type") or "<none>",
        _age(obj, now),
        "?" if dangling is None else _s(dangling, "status"),
    ]


@_prints(
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    columns=(
        _NAME,
        _Col("Type", doc=("flowcontrol.v1.PriorityLevelConfigurationSpec", "type")),
        _Col(
            "NominalConcurrencyShares",
            doc=("flowcontrol.v1.LimitedPriorityLevelConfiguration", "nominalConcurrencyShares"),
        ),
        _Col("Queues", doc=("flowcontrol.v1.QueuingConfiguration", "queues")),
        _Col("HandSize", doc=("flowcontrol.v1.QueuingConfiguration", "handSize")),
        _Col("QueueLengthLimit", doc=("flowcontrol.v1.QueuingConfiguration", "queueLengthLimit")),
        _AGE,
    ),
)
def _priority_level(obj: Obj, now: datetime.datetime) -> list[Cell]:
    limited = _g(obj, "spec", "limited")
    cells: list[Cell] = ["<none>"] * 4
    if isinstance(limited, Mapping):
        cells[0] = _i(limited, "nominalConcurrencyShares")
        queuing = _g(limited, "limitResponse", "queuing")
        if isinstance(queuing, Mapping):
            cells[1:] = [
                _i(queuing, "queues"),
                _i(queuing, "handSize"),
                _i(queuing, "queueLengthLimit"),
            ]
    return [_name(obj), _s(obj, "spec", "type"), *cells, _age(obj, now)]


@_prints(
    ("internal.apiserver.k8s.io", "StorageVersion"),
    columns=(
        _NAME,
        _Col(
            "CommonEncodingVersion",
            doc=("apiserverinternal.v1alpha1.StorageVersionStatus", "commonEncodingVersion"),
        ),
        _Col(
            "StorageVersions",
            doc=("apiserverinternal.v1alpha1.StorageVersionStatus", "storageVersions"),
        ),
        _AGE,
    ),
)
def _storage_version(obj: Obj, now: datetime.datetime) -> list[Cell]:
    versions = [
        f"{_s(v, 'apiServerID')}={_s(v, 'encodingVersion')}"
        for v in _l(obj, "status", "storageVersions")
    ]
    common = _g(obj, "status", "commonEncodingVersion")
    return [
        _name(obj),
        common if isinstance(common, str) else "<unset>",
        _list_with_more(versions, len(versions)),
        _age(obj, now),
    ]


@_prints(
    ("storagemigration.k8s.io", "StorageVersionMigration"),
    columns=(
        _Col("Name", doc=("meta.v1.ObjectMeta", "name")),
        _Col("Resource", doc="Fully qualified resource to migrate"),
    ),
)
def _storage_version_migration(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [
        _name(obj),
        f"{_s(obj, 'spec', 'resource', 'resource')}.{_s(obj, 'spec', 'resource', 'group')}",
    ]


@_prints(
    ("apiregistration.k8s.io", "APIService"),
    columns=(
        _NAME,
        _Col("Service", doc="The reference to the service that hosts this API endpoint."),
        _Col("Available", doc="Whether this service is available."),
        _AGE,
    ),
)
def _api_service(obj: Obj, now: datetime.datetime) -> list[Cell]:
    service = _g(obj, "spec", "service")
    where = (
        "Local"
        if not isinstance(service, Mapping)
        else f"{_s(service, 'namespace')}/{_s(service, 'name')}"
    )
    available = "Unknown"
    cond = _condition(_g(obj, "status", "conditions"), "Available")
    if cond is not None:
        available = _s(cond, "status")
        if available != "True" and _s(cond, "reason"):
            available = f"{available} ({_s(cond, 'reason')})"
    return [_name(obj), where, available, _age(obj, now)]


@_prints(
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceClaimTemplate"),
    columns=(_NAME, _AGE),
)
def _name_and_age(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _age(obj, now)]


@_prints(
    ("resource.k8s.io", "ResourceClaim"),
    columns=(
        _NAME,
        _Col("State", doc="A summary of the current state (allocated, pending, reserved, etc.)."),
        _AGE,
    ),
)
def _resource_claim(obj: Obj, now: datetime.datetime) -> list[Cell]:
    deleted = _g(obj, "metadata", "deletionTimestamp") is not None
    states = ["deleted"] if deleted else []
    if _g(obj, "status", "allocation") is None:
        if not deleted:
            states.append("pending")
    else:
        states.append("allocated")
        if _l(obj, "status", "reservedFor"):
            states.append("reserved")
    return [_name(obj), ",".join(states), _age(obj, now)]


@_prints(
    ("resource.k8s.io", "ResourceSlice"),
    columns=(
        _NAME,
        _Col("Node", doc=("resource.v1.ResourceSliceSpec", "nodeName")),
        _Col("Driver", doc=("resource.v1.ResourceSliceSpec", "driver")),
        _Col("Pool", doc=("resource.v1.ResourcePool", "name")),
        _AGE,
    ),
)
def _resource_slice(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    return [
        _name(obj),
        _s(spec, "nodeName"),
        _s(spec, "driver"),
        _s(spec, "pool", "name"),
        _age(obj, now),
    ]


@_prints(
    ("resource.k8s.io", "DeviceTaintRule"),
    columns=(
        _NAME,
        _Col("Key", doc=("resource.v1.DeviceTaint", "key")),
        _Col("Value", doc=("resource.v1.DeviceTaint", "value")),
        _Col("Effect", doc=("resource.v1.DeviceTaint", "effect")),
        _Col("TimeAdded", doc=("resource.v1.DeviceTaint", "timeAdded")),
        _AGE,
    ),
)
def _device_taint_rule(obj: Obj, now: datetime.datetime) -> list[Cell]:
    taint = _m(obj, "spec", "taint")
    added = taint.get("timeAdded")
    return [
        _name(obj),
        _s(taint, "key"),
        _s(taint, "value"),
        _s(taint, "effect"),
        "" if added is None else _since(added, now),
        _age(obj, now),
    ]


# --------------------------------------------------------------------------------------------------
# Custom resources: additionalPrinterColumns


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


def _go_text(value: Any) -> str:
    """How client-go's JSONPath prints one value: JSON for maps and lists, Go ``fmt`` otherwise."""
    if isinstance(value, dict | list):
        return _go_json(value)
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value, json_style=False)
    return str(value)


def _go_json(value: Any) -> str:
    """``encoding/json.Marshal``: sorted keys, no spaces, HTML-safe escapes, Go float format."""
    if isinstance(value, dict):
        return (
            "{" + ",".join(f"{_go_json(str(k))}:{_go_json(value[k])}" for k in sorted(value)) + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(_go_json(v) for v in value) + "]"
    if isinstance(value, float):
        return _go_float(value, json_style=True)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        for char, escape in (
            ("<", "\\u003c"),
            (">", "\\u003e"),
            ("&", "\\u0026"),
            ("\u2028", "\\u2028"),
            ("\u2029", "\\u2029"),
        ):
            text = text.replace(char, escape)
        return text
    return json.dumps(value)


def _go_float(value: float, *, json_style: bool) -> str:
    """A float64 as Go prints it: ``%v`` (shortest ``%g``: exponent form from 1e+06 and below
    1e-04) or encoding/json (exponent form from 1e+21 and below 1e-06)."""
    if math.isinf(value) or math.isnan(value):
        return "+Inf" if value > 0 else "-Inf" if value < 0 else "NaN"
    if value == 0:
        return "0"
    digits_tuple = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(str(d) for d in digits_tuple.digits)
    exponent = int(digits_tuple.exponent) + len(digits) - 1  # decimal exponent of the leading digit
    sign = "-" if digits_tuple.sign else ""
    if json_style:
        scientific = abs(value) < 1e-6 or abs(value) >= 1e21
    else:
        scientific = exponent < -4 or exponent >= 6
    if scientific:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        exp_text = f"{abs(exponent):02d}" if not json_style or exponent >= 0 else str(abs(exponent))
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{exp_text}"
    if exponent >= len(digits) - 1:
        return sign + digits + "0" * (exponent - len(digits) + 1)
    if exponent >= 0:
        return f"{sign}{digits[: exponent + 1]}.{digits[exponent + 1 :]}"
    return f"{sign}0.{'0' * (-exponent - 1)}{digits}"


def _go_json_number(value: float) -> int | float:
    """A float cell: integral values encode without a fraction, as Go's encoder writes them."""
    return int(value) if value.is_integer() and abs(value) < 1e21 else value


# --------------------------------------------------------------------------------------------------
# The JSONPath subset of client-go/util/jsonpath that CRD columns use


class _JSONPathError(Exception):
    """A path that does not parse, or an evaluation client-go would fail."""


class _Step(NamedTuple):
    op: str  # field | wildcard | recursive | slice | union | filter
    arg: Any = None


_SLICE = re.compile(r"^(-?\d*)(:-?\d*)?(:-?\d*)?$")
_FILTER = re.compile(r"^([^!<>=]+)([!<>=]+)(.+?)$")
_TERMINATORS = set(".,[]$@{} \t\r\n")


def _parse_jsonpath(path: str) -> list[_Step]:
    steps: list[_Step] = []
    i, n = 0, len(path)
    while i < n:
        char = path[i]
        if char in " \t@$":
            i += 1
        elif path.startswith("..", i):
            steps.append(_Step("recursive"))
            i += 1  # the second dot starts the field that follows
        elif char == ".":
            i += 1
            start = i
            while i < n and path[i] not in _TERMINATORS:
                i += 2 if path[i] == "\\" else 1
            name = path[start:i].replace("\\", "")
            steps.append(_Step("wildcard") if name == "*" else _Step("field", name))
        elif char == "[":
            if path.startswith("[?(", i):
                i = _parse_filter(path, i, steps)
                continue
            end = path.find("]", i)
            if end < 0:
                raise _JSONPathError("unterminated array")
            _parse_bracket(path[i + 1 : end], steps)
            i = end + 1
        else:
            raise _JSONPathError(f"unrecognized character in action: {char!r}")
    return steps


def _parse_bracket(text: str, steps: list[_Step]) -> None:
    text = ":" if text == "*" else text
    if "," in text:
        steps.append(
            _Step("union", [_parse_jsonpath(f"[{part.strip()}]") for part in text.split(",")])
        )
        return
    if len(text) >= 2 and text[0] == text[-1] == "'":
        steps.append(_Step("field", text[1:-1]))
        return
    match = _SLICE.match(text)
    if not match:
        raise _JSONPathError(f"invalid array index {text}")
    start = int(match.group(1)) if match.group(1) not in ("", "-") else None
    stop_text, step_text = match.group(2), match.group(3)
    if stop_text is None:  # a single index [i]: the range [i, i+1)
        steps.append(_Step("slice", (start or 0, (start or 0) + 1, None, True)))
        return
    stop = int(stop_text[1:]) if stop_text[1:] else None
    step = int(step_text[1:]) if step_text and step_text[1:] else None
    steps.append(_Step("slice", (start, stop, step, False)))


def _parse_filter(path: str, i: int, steps: list[_Step]) -> int:
    j = i + 3
    quote = ""
    while j < len(path):
        char = path[j]
        if quote:
            if char == quote and path[j - 1] != "\\":
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == ")":
            break
        j += 1
    if j + 1 >= len(path) or path[j + 1] != "]":
        raise _JSONPathError("unclosed array expect ]")
    text = path[i + 3 : j]
    match = _FILTER.match(text)
    if match is None:
        steps.append(_Step("filter", (_parse_jsonpath(text.strip()), "exists", None)))
    else:
        left, op, right = match.group(1).strip(), match.group(2), match.group(3).strip()
        steps.append(_Step("filter", (_parse_jsonpath(left), op, _parse_operand(right))))
    return j + 2


def _parse_operand(text: str) -> tuple[str, Any]:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return ("literal", re.sub(r"\\(.)", r"\1", text[1:-1]))
    if text in ("true", "false"):
        return ("literal", text == "true")
    if re.fullmatch(r"[+-]?\d+", text):
        return ("literal", int(text))
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)", text):
        return ("literal", float(text))
    return ("path", _parse_jsonpath(text))


def _eval_steps(steps: list[_Step], values: list[Any]) -> list[Any]:
    for step in steps:
        values = _eval_step(step, values)
    return values


def _eval_step(step: _Step, values: list[Any]) -> list[Any]:
    out: list[Any] = []
    if step.op == "field":
        if step.arg == "":
            return values
        for value in values:
            if isinstance(value, Mapping) and step.arg in value:
                out.append(value[step.arg])
        return out
    if step.op == "wildcard":
        for value in values:
            if isinstance(value, Mapping):
                out.extend(value.values())
        return out
    if step.op == "recursive":
        return _recursive(values)
    if step.op == "union":
        for branch in step.arg:
            out.extend(_eval_steps(branch, values))
        return out
    if step.op == "slice":
        for value in values:
            if value is None:
                continue
            if not isinstance(value, list):
                raise _JSONPathError("not array or slice")
            out.extend(_slice(value, *step.arg))
        return out
    left, op, right = step.arg
    for value in values:
        if value is None:
            continue
        if not isinstance(value, list):
            raise _JSONPathError("not array or slice and cannot be filtered")
        for item in value:
            if _filter_passes(item, left, op, right):
                out.append(item)
    return out


def _recursive(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, Mapping):
            children = list(value.values())
        elif isinstance(value, list | str):
            children = list(value)
        else:
            continue
        if children:
            out.append(value)
            out.extend(_recursive([c for c in children if not isinstance(value, str)]))
    return out


def _slice(
    items: list[Any], start: int | None, stop: int | None, step: int | None, single: bool
) -> list[Any]:
    length = len(items)
    begin = 0 if start is None else start
    if begin < 0:
        begin += length
    end = length if stop is None else stop
    if end < 0 or (single and end == 0):
        end += length
    if end == begin:
        return []
    if not 0 <= begin < length or not 0 <= end <= length or begin > end:
        raise _JSONPathError("array index out of bounds")
    if step is not None and step <= 0:
        raise _JSONPathError("step must be > 0")
    return items[begin : end : step or 1]


def _filter_passes(item: Any, left: list[_Step], op: str, right: tuple[str, Any] | None) -> bool:
    try:
        lefts = _eval_steps(left, [item])
    except _JSONPathError:
        if op == "exists":
            return False
        raise
    if op == "exists":
        return bool(lefts)
    if len(lefts) != 1:
        if not lefts:
            return False
        raise _JSONPathError("can only compare one element at a time")
    assert right is not None
    rights = [right[1]] if right[0] == "literal" else _eval_steps(right[1], [item])
    if len(rights) != 1:
        if not rights:
            return False
        raise _JSONPathError("can only compare one element at a time")
    return _compare(lefts[0], op, rights[0])


def _basic_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


def _compare(left: Any, op: str, right: Any) -> bool:
    """Go text/template's eq/ne/lt/le/gt/ge: same basic kinds only, no ordering of bools."""
    kind = _basic_kind(left)
    if kind != _basic_kind(right) or kind == "other":
        raise _JSONPathError("incompatible types for comparison")
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if kind == "bool":
        raise _JSONPathError("invalid type for comparison")
    comparisons: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: a < b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b,
    }
    if op not in comparisons:
        raise _JSONPathError(f"unrecognized filter operator {op}")
    return comparisons[op](left, right)
