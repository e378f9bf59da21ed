"""Label and field selectors: parsing the query-string syntax and matching objects.

Label selectors follow k8s.io/apimachinery/pkg/labels: equality (``a=b``, ``a==b``, ``a!=b``),
set-based (``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``) and numeric (``a>1``, ``a<2``),
combined with commas (AND). ``LabelSelector`` objects (matchLabels/matchExpressions) convert to
the same :class:`LabelSelector`. Field selectors support ``=``, ``==`` and ``!=`` on the fields a
resource declares selectable; unknown fields are a 400, as in Kubernetes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubenb.api.errors import BadRequest

__all__ = ["FieldSelector", "LabelSelector", "Requirement", "parse_field_selector",
           "parse_label_selector", "selector_from_label_selector"]


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # in notin exists !exists = != gt lt
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.op
        if op == "exists":
            return self.key in labels
        if op == "!exists":
            return self.key not in labels
        value = labels.get(self.key)
        if op in ("=", "in"):
            return value is not None and value in self.values
        if op in ("!=", "notin"):
            return value is None or value not in self.values
        if value is None:
            return False
        try:
            number = int(value)
        except ValueError:
            return False
        return number > int(self.values[0]) if op == "gt" else number < int(self.values[0])


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()
    #: a selector that matches nothing (a LabelSelector that is null in Kubernetes terms)
    nothing: bool = False

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements and not self.nothing

    def __str__(self) -> str:
        parts = []
        for r in self.requirements:
            if r.op == "exists":
                parts.append(r.key)
            elif r.op == "!exists":
                parts.append("!" + r.key)
            elif r.op in ("=", "!="):
                parts.append(f"{r.key}{r.op}{r.values[0]}")
            elif r.op in ("gt", "lt"):
                parts.append(f"{r.key}{'>' if r.op == 'gt' else '<'}{r.values[0]}")
            else:
                parts.append(f"{r.key} {r.op} ({','.join(r.values)})")
        return ",".join(parts)


_TOKEN = re.compile(r"\s*(!=|==|=|>|<|\(|\)|,|!|[^\s!=<>(),]+)")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos:].strip() == "":
                break
            raise BadRequest(f"unable to parse requirement: found '{text[pos:]}'")
        out.append(m.group(1))
        pos = m.end()
    return out


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse ``labelSelector=`` syntax; a malformed selector raises :class:`BadRequest`."""
    if not text or not text.strip():
        return LabelSelector()
    toks = _tokens(text)
    reqs: list[Requirement] = []
    i = 0

    def err(msg: str) -> BadRequest:
        return BadRequest(f"unable to parse requirement: {msg}")

    while i < len(toks):
        if toks[i] == "!":
            if i + 1 >= len(toks):
                raise err("found '', expected: identifier")
            reqs.append(Requirement(_key(toks[i + 1]), "!exists"))
            i += 2
        else:
            key = _key(toks[i])
            i += 1
            if i >= len(toks) or toks[i] == ",":
                reqs.append(Requirement(key, "exists"))
            elif toks[i] in ("=", "==", "!="):
                op = "!=" if toks[i] == "!=" else "="
                value = ""
                if i + 1 < len(toks) and toks[i + 1] not in (",",):
                    value = toks[i + 1]
                    i += 1
                reqs.append(Requirement(key, op, (_value(value),)))
                i += 1
            elif toks[i] in (">", "<"):
                if i + 1 >= len(toks) or not re.fullmatch(r"-?\d+", toks[i + 1]):
                    raise err(f"for '{toks[i]}' operator, the value must be an integer")
                reqs.append(Requirement(key, "gt" if toks[i] == ">" else "lt", (toks[i + 1],)))
                i += 2
            elif toks[i] in ("in", "notin"):
                op = toks[i]
                if i + 1 >= len(toks) or toks[i + 1] != "(":
                    raise err(f"found '{toks[i + 1] if i + 1 < len(toks) else ''}', expected: '('")
                i += 2
                values: list[str] = []
                while i < len(toks) and toks[i] != ")":
                    if toks[i] != ",":
                        values.append(_value(toks[i]))
                    i += 1
                if i >= len(toks):
                    raise err("found '', expected: ')'")
                i += 1
                reqs.append(Requirement(key, op, tuple(values)))
            else:
                raise err(f"found '{toks[i]}', expected: in, notin, =, ==, !=, gt, lt")
        if i < len(toks):
            if toks[i] != ",":
                raise err(f"found '{toks[i]}', expected: ',' or 'end of string'")
            i += 1
    return LabelSelector(tuple(reqs))


def _key(token: str) -> str:
    from kubenb.api.meta import validate_qualified_name

    causes = validate_qualified_name(token, "key")
    if causes:
        raise BadRequest(f"unable to parse requirement: {causes[0].message}")
    return token


def _value(token: str) -> str:
    if len(token) > 63 or not re.fullmatch(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", token):
        raise BadRequest(f"unable to parse requirement: values[0]: Invalid value: \"{token}\"")
    return token


def selector_from_label_selector(sel: Mapping[str, Any] | None) -> LabelSelector:
    """Convert a ``metav1.LabelSelector`` object; null matches nothing, ``{}`` everything."""
    if sel is None:
        return LabelSelector(nothing=True)
    match_labels = sel.get("matchLabels") or {}
    reqs = [Requirement(k, "=", (str(v),)) for k, v in sorted(match_labels.items())]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expr in sel.get("matchExpressions") or ():
        op = ops.get(expr.get("operator", ""))
        if op is None:
            raise BadRequest(f"{expr.get('operator')!r} is not a valid label selector operator")
        reqs.append(Requirement(expr["key"], op, tuple(expr.get("values") or ())))
    return LabelSelector(tuple(reqs))


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[tuple[str, bool, str], ...] = ()  # (field, equal?, value)

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all((fields.get(name, "") == value) == equal for name, equal, value in self.terms)

    @property
    def empty(self) -> bool:
        return not self.terms

    def fields(self) -> Iterable[str]:
        return (t[0] for t in self.terms)


def parse_field_selector(text: str | None, *, allowed: Iterable[str] = (),
                         kind: str = "") -> FieldSelector:
    """Parse ``fieldSelector=``; fields outside ``allowed`` (plus metadata.*) are a 400."""
    if not text or not text.strip():
        return FieldSelector()
    allowed_set = {"metadata.name", "metadata.namespace", *allowed}
    terms = []
    for part in _split_unescaped(text):
        m = re.fullmatch(r"\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*", part)
        if not m:
            raise BadRequest(f"invalid selector: '{text}'; can't understand '{part}'")
        name, op, value = m.groups()
        if name not in allowed_set:
            raise BadRequest(f'field label not supported: {name}' if not kind
                             else f'"{name}" is not a known field selector: only '
                             f'"metadata.name", "metadata.namespace"')
        terms.append((name, op != "!=", value.replace("\\,", ",").replace("\\=", "=")))
    return FieldSelector(tuple(terms))


def _split_unescaped(text: str) -> list[str]:
    parts, cur, escape = [], [], False
    for ch in text:
        if escape:
            cur.append("\\" + ch)
            escape = False
        elif ch == "\\":
            escape = True
        elif ch == ",":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in parts if p.strip()]
