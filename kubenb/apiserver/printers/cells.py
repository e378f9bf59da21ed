"""Cell helpers every printer shares, each printing as its apimachinery counterpart does.

Readers over JSON objects never raise: a missing or mistyped field reads as empty, because a
printer must turn any stored object into a full row, even a bare ``{"metadata": {"name": ...}}``.
Ages use apimachinery's ``duration.HumanDuration`` ("45s", "5m30s", "3h12m", "3d4h", "2y10d");
labels, selectors and quantities follow ``labels.FormatLabels``, ``metav1.FormatLabelSelector``
and ``resource.Quantity.String()``.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from kubenb.api.quantity import canonical_quantity

Obj = Mapping[str, Any]


Cell = Any  # a JSON value: str, int, float, bool or None


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


def _quantity(value: Any) -> str:
    """``resource.Quantity.String()``, canonical: ``1000`` -> ``1k``, ``0.5Gi`` -> ``512Mi``.

    Real objects already hold canonical quantities (the apiserver re-encodes them); canonicalising
    here keeps hand-made objects printing the same. Unparseable text is shown as given.
    """
    return "<nil>" if value is None else canonical_quantity(str(value))


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
