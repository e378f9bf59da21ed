"""What a pod asks of a node: ``resource.PodRequests`` as the scheduler computes it.

Containers run together, so their requests add up; init containers run one after another, so
the pod needs at least the largest of them, while sidecars (init containers with
``restartPolicy: Always``) keep running and add to everything after them. Pod-level
``spec.resources.requests`` (cpu, memory, hugepages) replace the container sum for the resources
they name, and ``spec.overhead`` is added on top.

Scoring uses a second figure, the *non-zero* requests: a container that asks for no CPU or
memory counts as 100m CPU and 200Mi memory (``schedutil.DefaultMilliCPURequest`` and
``DefaultMemoryRequest``), so best-effort pods still spread instead of piling onto one node.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from kubenb.api.quantity import milli_value, value

__all__ = ["DEFAULT_MEMORY_REQUEST", "DEFAULT_MILLI_CPU_REQUEST", "Requests", "pod_requests",
           "resource_amount"]

DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
_NON_MISSING = {"cpu": DEFAULT_MILLI_CPU_REQUEST, "memory": DEFAULT_MEMORY_REQUEST}

Obj = dict[str, Any]


class Requests(NamedTuple):
    """A pod's requests in scheduler units (CPU in millicores, everything else in integers)."""

    cpu: int
    memory: int
    ephemeral: int
    #: the other requested resources (extended resources, hugepages), sorted by name
    scalars: tuple[tuple[str, int], ...]
    #: the non-zero cpu and memory requests (missing container requests count as defaults)
    nz_cpu: int
    nz_memory: int

    @property
    def zero(self) -> bool:
        return not (self.cpu or self.memory or self.ephemeral or self.scalars)


def resource_amount(name: str, quantity: Any) -> int:
    """A quantity in the unit the scheduler keeps ``name`` in."""
    return milli_value(quantity) if name == "cpu" else value(quantity)


def _amounts(resources: Mapping[str, Any] | None) -> dict[str, int]:
    if not resources:
        return {}
    return {name: resource_amount(name, q) for name, q in resources.items()}


def _add(into: dict[str, int], other: Mapping[str, int]) -> None:
    for name, amount in other.items():
        into[name] = into.get(name, 0) + amount


def _max(into: dict[str, int], other: Mapping[str, int]) -> None:
    for name, amount in other.items():
        if amount > into.get(name, 0):
            into[name] = amount


def _aggregate(spec: Obj, non_missing: Mapping[str, int] | None) -> dict[str, int]:
    """``AggregateContainerRequests``: containers summed, init containers as a floor."""
    reqs: dict[str, int] = {}
    for c in spec.get("containers") or ():
        amounts = _amounts((c.get("resources") or {}).get("requests"))
        if non_missing:
            for name, default in non_missing.items():
                amounts.setdefault(name, default)
        _add(reqs, amounts)
    sidecars: dict[str, int] = {}
    init_floor: dict[str, int] = {}
    for c in spec.get("initContainers") or ():
        amounts = _amounts((c.get("resources") or {}).get("requests"))
        if non_missing:
            for name, default in non_missing.items():
                amounts.setdefault(name, default)
        if c.get("restartPolicy") == "Always":
            _add(reqs, amounts)
            _add(sidecars, amounts)
            use = dict(sidecars)
        else:
            use = dict(amounts)
            _add(use, sidecars)
        _max(init_floor, use)
    _max(reqs, init_floor)
    return reqs


def _pod_level(spec: Obj) -> dict[str, int]:
    requests = (spec.get("resources") or {}).get("requests") or {}
    return {name: resource_amount(name, q) for name, q in requests.items()
            if name in ("cpu", "memory") or name.startswith("hugepages-")}


def _total(spec: Obj, non_missing: Mapping[str, int] | None) -> dict[str, int]:
    reqs = _aggregate(spec, non_missing)
    reqs.update(_pod_level(spec))
    _add(reqs, _amounts(spec.get("overhead")))
    return reqs


def pod_requests(spec: Obj) -> Requests:
    """The requests of a pod spec (``resource.PodRequests`` with pod-level resources on)."""
    reqs = _total(spec, None)
    nz = _total(spec, _NON_MISSING)
    scalars = tuple(sorted((name, amount) for name, amount in reqs.items()
                           if name not in ("cpu", "memory", "ephemeral-storage", "pods")
                           and amount > 0))
    return Requests(reqs.get("cpu", 0), reqs.get("memory", 0), reqs.get("ephemeral-storage", 0),
                    scalars, nz.get("cpu", 0), nz.get("memory", 0))
