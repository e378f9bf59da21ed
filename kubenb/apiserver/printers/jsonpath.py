"""The subset of client-go's JSONPath (``client-go/util/jsonpath``) that CRD printer columns use.

Why a hand-written evaluator instead of ``jsonpath-ng``: Kubernetes JSONPath is its own dialect:
``\\.``-escaped field names, ``[?(@.type=="Ready")]`` filters with Go template comparison rules,
missing keys allowed, first result only, Go ``fmt``/``json`` rendering of non-string values. The
subset CRDs use is small, and matching those rules exactly is easier than bending a general
library, and adds no dependency.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

# --------------------------------------------------------------------------------------------------
# How client-go prints a result


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


# --------------------------------------------------------------------------------------------------
# Parsing and evaluation


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
