"""What a simulated pod uses: the one model the HPA controller and the metrics API both read.

Nodes have no containers, so usage is what the pod says it is. A running pod's CPU is its
``kubenb.io/cpu-usage`` annotation (``cluster.faults.cpu_load`` sets it), else 5% of its CPU
requests (at least 1m): an idle server. Its memory is its ``kubenb.io/memory-usage`` annotation,
else half of its memory requests, with 4Mi for a container that requests none. A pod's usage is
split across its containers (and restartable init containers) in proportion to their requests,
evenly when none has one.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from kubenb.api.annotations import CPU_USAGE, MEMORY_USAGE
from kubenb.api.quantity import milli_value, value

__all__ = ["IDLE_FRACTION", "container_usage", "container_usages", "containers",
           "pod_cpu_usage", "pod_memory_usage"]

Obj = dict[str, Any]

#: a pod without a CPU annotation uses this share of its CPU requests
IDLE_FRACTION = Fraction(1, 20)
#: a pod without a memory annotation uses this share of its memory requests
MEMORY_FRACTION = Fraction(1, 2)
#: what a container without a memory request uses (bytes)
MEMORY_FLOOR = 4 * 1024 * 1024


def containers(spec: Obj) -> list[Obj]:
    """The containers that run for the pod's life: regular and restartable init containers."""
    out = list(spec.get("containers") or ())
    out += [c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
    return out


def _requests(pod: Obj, resource: str, parse: Any) -> list[int]:
    return [parse(((c.get("resources") or {}).get("requests") or {}).get(resource) or 0)
            for c in containers(pod.get("spec") or {})]


def _annotated(pod: Obj, annotation: str, parse: Any) -> int | None:
    raw = (pod["metadata"].get("annotations") or {}).get(annotation)
    if raw is None:
        return None
    try:
        return max(0, parse(raw))
    except ValueError:
        return None  # an unreadable annotation is ignored: the default model applies


def pod_cpu_usage(pod: Obj) -> int:
    """The pod's CPU usage in millicores."""
    annotated = _annotated(pod, CPU_USAGE, milli_value)
    if annotated is not None:
        return annotated
    return max(1, math.floor(sum(_requests(pod, "cpu", milli_value)) * IDLE_FRACTION))


def pod_memory_usage(pod: Obj) -> int:
    """The pod's memory usage in bytes."""
    annotated = _annotated(pod, MEMORY_USAGE, value)
    if annotated is not None:
        return annotated
    return sum(_idle_memory(r) for r in _requests(pod, "memory", value))


def _idle_memory(request: int) -> int:
    """What a container uses without an annotation: half its memory request, or the floor."""
    return math.floor(request * MEMORY_FRACTION) if request else MEMORY_FLOOR


def container_usage(pod: Obj, container: str, resource: str = "cpu") -> int | None:
    """One container's share of the pod's ``cpu`` (millicores) or ``memory`` (bytes) usage,
    None when the pod has no such container. The shares add up to the pod's usage exactly."""
    shares = container_usages(pod, resource)
    return shares.get(container)


def container_usages(pod: Obj, resource: str = "cpu") -> dict[str, int]:
    """Every container's share of the pod's usage, by name (see the module docstring)."""
    names = [str(c.get("name")) for c in containers(pod.get("spec") or {})]
    if not names:
        return {}
    if resource == "cpu":
        usage, requests = pod_cpu_usage(pod), _requests(pod, "cpu", milli_value)
    else:
        requests = _requests(pod, "memory", value)
        if _annotated(pod, MEMORY_USAGE, value) is None:
            # the default model is per container
            return {name: _idle_memory(r) for name, r in zip(names, requests, strict=True)}
        usage = pod_memory_usage(pod)
    total = sum(requests)
    weights = requests if total > 0 else [1] * len(names)
    total = sum(weights)
    shares = [usage * w // total for w in weights]
    # what the floors left over goes to the first containers, a unit each
    for i in range(usage - sum(shares)):
        shares[i % len(shares)] += 1
    return dict(zip(names, shares, strict=True))
