"""What objects count against a ResourceQuota (``pkg/quota/v1/evaluator/core``), as pure data.

A quota's ``spec.hard`` names resources; each object of a namespace uses some of them:

- a pod that is not finished: ``pods``, ``count/pods``, and its compute resources, summed over
  its containers (an init container's own when larger): ``requests.cpu`` (also plain ``cpu``),
  ``requests.memory`` (``memory``), ``limits.cpu``, ``limits.memory``, the same for
  ``ephemeral-storage``, and ``requests.<name>`` for other resources;
- a claim: ``persistentvolumeclaims``, ``requests.storage`` and the per-class
  ``<class>.storageclass.storage.k8s.io/requests.storage`` and ``.../persistentvolumeclaims``;
- a Service: ``services``, ``services.nodeports``, ``services.loadbalancers``;
- any object: ``count/<resource>`` for core resources, ``count/<resource>.<group>`` otherwise,
  and the legacy names ``configmaps``, ``secrets``, ``replicationcontrollers``,
  ``resourcequotas``.

Scopes narrow a quota to pods: ``BestEffort`` / ``NotBestEffort`` (no requests or limits at
all, or some) and ``Terminating`` / ``NotTerminating`` (``activeDeadlineSeconds`` set or not). A
quota that constrains ``cpu`` or ``memory`` requests or limits makes every container of a new
pod say them (``must specify limits.memory``), a backward-compatibility rule upstream keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from kubenb.api.quantity import format_amount, parse_or_none

__all__ = ["COMPUTE_CONSTRAINED", "format_usage", "matches_scopes", "missing_constraints",
           "pod_totals", "usage"]

Obj = Mapping[str, Any]

#: the resources whose quota makes each container state its request or limit
COMPUTE_CONSTRAINED = frozenset(("cpu", "memory", "requests.cpu", "requests.memory",
                                 "limits.cpu", "limits.memory"))
_LEGACY = {("", "configmaps"), ("", "secrets"), ("", "replicationcontrollers"),
           ("", "resourcequotas"), ("", "services"), ("", "persistentvolumeclaims"),
           ("", "pods")}
_POD_SCOPES = frozenset(("BestEffort", "NotBestEffort", "Terminating", "NotTerminating"))


def _count_name(group: str, plural: str) -> str:
    return f"count/{plural}.{group}" if group else f"count/{plural}"


def usage(group: str, plural: str, obj: Obj) -> dict[str, Fraction]:
    """What ``obj`` (of resource ``group/plural``) uses, by quota resource name."""
    one = Fraction(1)
    out: dict[str, Fraction] = {_count_name(group, plural): one}
    if (group, plural) in _LEGACY:
        out[plural] = one
    if (group, plural) == ("", "pods"):
        if _finished(obj):
            return {}
        out.update(_pod_compute(obj.get("spec") or {}))
    elif (group, plural) == ("", "persistentvolumeclaims"):
        spec = obj.get("spec") or {}
        size = parse_or_none(((spec.get("resources") or {}).get("requests") or {}).get(
            "storage"))
        klass = spec.get("storageClassName")
        if size is not None:
            out["requests.storage"] = size
        if klass:
            prefix = f"{klass}.storageclass.storage.k8s.io/"
            out[prefix + "persistentvolumeclaims"] = one
            if size is not None:
                out[prefix + "requests.storage"] = size
    elif (group, plural) == ("", "services"):
        spec = obj.get("spec") or {}
        kind = spec.get("type") or "ClusterIP"
        if kind == "LoadBalancer":
            out["services.loadbalancers"] = one
        if kind in ("NodePort", "LoadBalancer"):
            out["services.nodeports"] = Fraction(len(spec.get("ports") or ()))
    return out


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


_COMPUTE = ("cpu", "memory", "ephemeral-storage")


def _amounts(c: Obj, key: str) -> dict[str, Fraction]:
    """A container's ``requests`` or ``limits``, parsed (what does not parse is left out)."""
    out = {}
    for name, q in ((c.get("resources") or {}).get(key) or {}).items():
        amount = parse_or_none(q)
        if amount is not None:
            out[name] = amount
    return out


def pod_totals(spec: Obj, key: str) -> dict[str, Fraction]:
    """The pod's ``requests`` or ``limits`` by resource: its containers' sums, or an init
    container's own when that is larger (init containers run one at a time)."""
    total: dict[str, Fraction] = {}
    for c in spec.get("containers") or ():
        for name, amount in _amounts(c, key).items():
            total[name] = total.get(name, Fraction(0)) + amount
    for c in spec.get("initContainers") or ():
        for name, amount in _amounts(c, key).items():
            if amount > total.get(name, Fraction(0)):
                total[name] = amount
    return total


def _compute(requests: Mapping[str, Fraction], limits: Mapping[str, Fraction]
             ) -> dict[str, Fraction]:
    """Requests and limits by quota resource name: ``requests.<name>`` (``cpu``, ``memory``
    and ``ephemeral-storage`` also plain) and ``limits.<name>`` for those three."""
    out: dict[str, Fraction] = {}
    for name, amount in requests.items():
        out[f"requests.{name}"] = amount
        if name in _COMPUTE:
            out[name] = amount
    for name, amount in limits.items():
        if name in _COMPUTE:
            out[f"limits.{name}"] = amount
    return out


def _container_compute(c: Obj) -> dict[str, Fraction]:
    return _compute(_amounts(c, "requests"), _amounts(c, "limits"))


def _pod_compute(spec: Obj) -> dict[str, Fraction]:
    return _compute(pod_totals(spec, "requests"), pod_totals(spec, "limits"))


def missing_constraints(pod: Obj, hard: Iterable[str]) -> list[str]:
    """The constrained compute resources some container of ``pod`` does not state."""
    required = COMPUTE_CONSTRAINED.intersection(hard)
    missing: set[str] = set()
    spec = pod.get("spec") or {}
    for c in (*(spec.get("containers") or ()), *(spec.get("initContainers") or ())):
        missing |= required - set(_container_compute(c))
    return sorted(missing)


def matches_scopes(quota: Obj, group: str, plural: str, obj: Obj) -> bool:
    """Whether ``obj`` is tracked by ``quota`` at all (its scopes only track pods)."""
    scopes = set((quota.get("spec") or {}).get("scopes") or ())
    if not scopes:
        return True
    if (group, plural) != ("", "pods") or not scopes <= _POD_SCOPES:
        return False
    spec = obj.get("spec") or {}
    best_effort = not any((c.get("resources") or {}).get("requests")
                          or (c.get("resources") or {}).get("limits")
                          for c in (*(spec.get("containers") or ()),
                                    *(spec.get("initContainers") or ())))
    terminating = spec.get("activeDeadlineSeconds") is not None
    return all({"BestEffort": best_effort, "NotBestEffort": not best_effort,
                "Terminating": terminating, "NotTerminating": not terminating}[s]
               for s in scopes)


def format_usage(name: str, amount: Fraction) -> str:
    """A used amount as the quota's status shows it (``1536Mi``, ``500m``, ``3``)."""
    return format_amount(amount, in_bytes=any(part in name for part in ("memory", "storage")))
