"""The LimitRanger admission plugin: a namespace's LimitRanges applied to the pods and claims
created in it (``plugin/pkg/admission/limitranger``).

On a pod create, first the defaults: each container (and init container) that does not say a
request or a limit for a resource gets the ``defaultRequest`` / ``default`` of every
``type: Container`` item, and the pod is annotated with what was set
(``kubernetes.io/limit-ranger: LimitRanger plugin set: memory request for container app``).
Then the constraints, per container (``type: Container``) and summed over the pod's containers
(``type: Pod``): ``min`` (a request must be there and at least it, a limit too), ``max`` (a
limit must be there and at most it, a request too) and ``maxLimitRequestRatio``. A claim is held
to its items' ``type: PersistentVolumeClaim`` ``min`` and ``max`` storage. What breaks a
constraint is a 403 whose message lists every failure, as upstream words them::

    pods "big" is forbidden: maximum memory usage per Container is 1Gi, but limit is 1536Mi

Pod updates are not looked at: containers cannot be added or changed in ways that matter here.
Pure functions over plain objects: the caller reads the LimitRanges.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import Any

from kubenb.api import errors
from kubenb.api.quantity import canonical_quantity, format_amount, parse_or_none
from kubenb.api.quota import pod_totals

__all__ = ["ANNOTATION", "admit_claim", "admit_pod"]

Obj = dict[str, Any]

ANNOTATION = "kubernetes.io/limit-ranger"
_CONTAINER, _POD, _CLAIM = "Container", "Pod", "PersistentVolumeClaim"


def _items(limit_ranges: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [item for lr in limit_ranges for item in (lr.get("spec") or {}).get("limits") or ()
            if isinstance(item, Mapping) and item.get("type") == kind]


def _containers(spec: Mapping[str, Any]) -> list[tuple[str, Obj]]:
    return [("init container" if group == "initContainers" else "container", c)
            for group in ("initContainers", "containers")
            for c in spec.get(group) or () if isinstance(c, dict)]


def admit_pod(pod: Obj, limit_ranges: Iterable[Mapping[str, Any]]) -> None:
    """Default and check a pod being created; raises Forbidden when a constraint fails."""
    limit_ranges = list(limit_ranges)
    spec = pod.get("spec")
    if not limit_ranges or not isinstance(spec, dict):
        return
    containers = _containers(spec)
    notes: list[str] = []
    for item in _items(limit_ranges, _CONTAINER):
        for prefix, c in containers:
            notes += _merge(c, item, prefix)
    if notes:
        annotations = pod["metadata"].setdefault("annotations", {})
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)
    failures: list[str] = []
    for item in _items(limit_ranges, _CONTAINER):
        for _prefix, c in containers:
            resources = c.get("resources") or {}
            failures += _check(item, _CONTAINER, resources.get("requests") or {},
                               resources.get("limits") or {})
    for item in _items(limit_ranges, _POD):
        requests, limits = pod_totals(spec, "requests"), pod_totals(spec, "limits")
        failures += _check(item, _POD, requests, limits)
    if failures:
        name = pod["metadata"].get("name") or pod["metadata"].get("generateName") or ""
        raise errors.Forbidden(f'pods "{name}" is forbidden: {_aggregate(failures)}',
                               name=name, kind="pods")


def admit_claim(claim: Obj, limit_ranges: Iterable[Mapping[str, Any]]) -> None:
    """Check a PersistentVolumeClaim being created against ``min``/``max`` storage."""
    failures: list[str] = []
    requests = ((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}
    for item in _items(limit_ranges, _CLAIM):
        # what the user asked for is all that counts: min and max both hold the request
        failures += _bounds(item.get("min"), "minimum", _CLAIM, (requests, "request"),
                            ({}, "limit"), operator.lt)
        failures += _bounds(item.get("max"), "maximum", _CLAIM, (requests, "request"),
                            ({}, "limit"), operator.gt)
    if failures:
        name = claim["metadata"].get("name") or ""
        raise errors.Forbidden(
            f'persistentvolumeclaims "{name}" is forbidden: {_aggregate(failures)}',
            name=name, kind="persistentvolumeclaims")


def _merge(c: Obj, item: Mapping[str, Any], prefix: str) -> list[str]:
    """mergeContainerResources: what the item's defaults give a container that lacks them."""
    resources = c.get("resources")
    if not isinstance(resources, dict):
        resources = c["resources"] = {}
    notes = []
    for key, defaults, what in (("requests", item.get("defaultRequest"), "request"),
                                ("limits", item.get("default"), "limit")):
        if not isinstance(defaults, Mapping) or not defaults:
            continue
        current = resources.get(key)
        if not isinstance(current, dict):
            current = {}
        added = sorted(name for name in defaults if name not in current)
        if not added:
            continue
        for name in added:
            current[name] = defaults[name]
        resources[key] = current
        notes.append(f"{', '.join(added)} {what} for {prefix} {c.get('name', '')}")
    return notes


def _canonical(q: Any) -> str:
    """A quantity as Go prints it: ``1.5Gi`` is ``1536Mi``, ``0.5`` is ``500m``."""
    return canonical_quantity(str(q))


def _check(item: Mapping[str, Any], kind: str, requests: Mapping[str, Any],
           limits: Mapping[str, Any]) -> list[str]:
    """minConstraint, maxConstraint and limitRequestRatioConstraint of one item."""
    failures = _bounds(item.get("min"), "minimum", kind, (requests, "request"),
                       (limits, "limit"), operator.lt)
    failures += _bounds(item.get("max"), "maximum", kind, (limits, "limit"),
                        (requests, "request"), operator.gt)
    for name, enforced in (item.get("maxLimitRequestRatio") or {}).items():
        ratio = parse_or_none(enforced)
        if ratio is None:
            continue
        req = requests.get(name)
        lim = limits.get(name)
        shown = _canonical(enforced)
        if req is None or _value(req) == 0:
            failures.append(f"{name} max limit to request ratio per {kind} is {shown}, but no "
                            "request is specified or request is 0")
        elif lim is None or _value(lim) == 0:
            failures.append(f"{name} max limit to request ratio per {kind} is {shown}, but no "
                            "limit is specified or limit is 0")
        else:
            observed = _value(lim) / _value(req)
            if observed > ratio:
                failures.append(f"{name} max limit to request ratio per {kind} is {shown}, "
                                f"but provided ratio is {float(observed):f}")
    return failures


def _bounds(enforced: Any, word: str, kind: str, needed: tuple[Mapping[str, Any], str],
            other: tuple[Mapping[str, Any], str],
            beyond: Callable[[Fraction, Fraction], bool]) -> list[str]:
    """minConstraint (``needed`` the requests, ``beyond`` below) or maxConstraint (``needed``
    the limits, ``beyond`` above): the needed value must be there, and neither may be beyond
    the bound."""
    failures = []
    for name, text in (enforced or {}).items():
        bound = parse_or_none(text)
        if bound is None:
            continue
        shown = _canonical(text)
        first, second = needed[0].get(name), other[0].get(name)
        if first is None:
            failures.append(f"{word} {name} usage per {kind} is {shown}.  No {needed[1]} is "
                            "specified")
        elif beyond(_value(first), bound):
            failures.append(f"{word} {name} usage per {kind} is {shown}, but {needed[1]} is "
                            f"{_text(first, name)}")
        elif second is not None and beyond(_value(second), bound):
            failures.append(f"{word} {name} usage per {kind} is {shown}, but {other[1]} is "
                            f"{_text(second, name)}")
    return failures


def _value(q: Any) -> Fraction:
    if isinstance(q, Fraction):
        return q
    return parse_or_none(q) or Fraction(0)


def _text(q: Any, name: str) -> str:
    """How upstream prints an observed quantity: canonical (``1.5Gi`` is ``1536Mi``)."""
    if isinstance(q, Fraction):
        return format_amount(q, in_bytes=name != "cpu")
    return _canonical(q)


def _aggregate(failures: list[str]) -> str:
    """utilerrors.NewAggregate's message: one error as it is, several in brackets."""
    return failures[0] if len(failures) == 1 else "[" + ", ".join(failures) + "]"
