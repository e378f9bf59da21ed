"""What several controllers need to know about pods and owners (``k8s.io/kubernetes/pkg/api/v1/pod``
and ``pkg/controller/controller_utils.go`` in Kubernetes): readiness, availability, owner
references, selectors, making a pod from a template, and the order pods are deleted in.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from kubenb.api.meta import now_rfc3339
from kubenb.api.selectors import LabelSelector, selector_from_label_selector
from kubenb.client.client import deepcopy

__all__ = [
    "condition", "controller_ref", "is_pod_active", "is_pod_available", "is_pod_ready",
    "owner_reference", "parse_time", "pod_from_template", "pod_ready_since", "selector",
    "set_condition", "deletion_rank", "spec_replicas",
]

Obj = dict[str, Any]


def parse_time(value: str | None) -> float | None:
    """An RFC 3339 timestamp as Unix seconds (None stays None)."""
    if not value:
        return None
    return _parse(value)


@functools.lru_cache(maxsize=4096)
def _parse(value: str) -> float:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@functools.lru_cache(maxsize=1024)
def _selector(frozen: str) -> LabelSelector:
    import orjson

    return selector_from_label_selector(orjson.loads(frozen))


def selector(sel: Mapping[str, Any] | None) -> LabelSelector:
    """A ``metav1.LabelSelector`` as a matcher (parsed once per distinct selector)."""
    if sel is None:
        return LabelSelector(nothing=True)
    import orjson

    return _selector(orjson.dumps(sel, option=orjson.OPT_SORT_KEYS).decode())


def selecting(owners: Iterable[Obj], obj: Obj) -> list[Obj]:
    """The ``owners`` whose ``spec.selector`` matches ``obj``'s labels: who may adopt it (or,
    for PodDisruptionBudgets, which guard it)."""
    labels = obj["metadata"].get("labels")
    return [o for o in owners
            if selector((o.get("spec") or {}).get("selector")).matches(labels)]


def spec_replicas(obj: Obj) -> int:
    """``spec.replicas`` of a workload, 1 when unset (the API's default)."""
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def condition(obj: Mapping[str, Any], ctype: str) -> Obj | None:
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if cond.get("type") == ctype:
            return cond
    return None


def set_condition(status: Obj, ctype: str, cstatus: str, reason: str, message: str,
                  now: str, *, probe_time: bool = False, update_time: bool = False) -> bool:
    """Set a condition in ``status``, keeping lastTransitionTime when the status is unchanged.
    Returns True when anything changed."""
    conditions = status.setdefault("conditions", [])
    for cond in conditions:
        if cond.get("type") == ctype:
            changed = (cond.get("status"), cond.get("reason"), cond.get("message")) != (
                cstatus, reason, message)
            if cond.get("status") != cstatus:
                cond["lastTransitionTime"] = now
            cond.update(status=cstatus, reason=reason, message=message)
            if update_time and changed:
                cond["lastUpdateTime"] = now
            return changed
    new: Obj = {"type": ctype, "status": cstatus}
    if update_time:
        new["lastUpdateTime"] = now
    if probe_time:
        new["lastProbeTime"] = None
    new.update(lastTransitionTime=now, reason=reason, message=message)
    conditions.append(new)
    return True


def is_pod_active(pod: Obj) -> bool:
    """Not finished and not being deleted (what a ReplicaSet counts)."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp")


def is_pod_ready(pod: Obj) -> bool:
    cond = condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def pod_ready_since(pod: Obj) -> float | None:
    cond = condition(pod, "Ready")
    if cond is None or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime"))


def is_pod_available(pod: Obj, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least ``minReadySeconds``."""
    since = pod_ready_since(pod)
    if since is None:
        return False
    return min_ready_seconds <= 0 or since + min_ready_seconds <= now


def controller_ref(obj: Obj) -> Obj | None:
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def owner_reference(owner: Obj, *, block: bool = True) -> Obj:
    """The ``controller: true`` reference a controller puts on what it creates."""
    meta = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"],
            "uid": meta["uid"], "controller": True, "blockOwnerDeletion": block}


def pod_from_template(template: Mapping[str, Any], owner: Obj, *, name: str = "",
                      generate_name: str = "", extra_labels: Mapping[str, str] | None = None,
                      annotations: Mapping[str, str] | None = None) -> Obj:
    """A Pod to create from ``spec.template`` of ``owner`` (``GetPodFromTemplate``)."""
    tmeta = template.get("metadata") or {}
    meta: Obj = {"namespace": owner["metadata"].get("namespace", "default"),
                 "labels": {**(tmeta.get("labels") or {}), **(extra_labels or {})},
                 "ownerReferences": [owner_reference(owner)]}
    if tmeta.get("annotations") or annotations:
        meta["annotations"] = {**(tmeta.get("annotations") or {}), **(annotations or {})}
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = generate_name or owner["metadata"]["name"] + "-"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": deepcopy(template.get("spec") or {})}


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_rank(pods: Iterable[Obj], now: float) -> list[Obj]:
    """Pods in the order a ReplicaSet deletes them (``ActivePodsWithRanks``, most expendable
    first): unscheduled, then Pending/Unknown/Running, not ready before ready, lower
    ``controller.kubernetes.io/pod-deletion-cost``, more pods of the set on the same node,
    ready for less time, more restarts, newer."""
    pods = list(pods)
    per_node: dict[str, int] = {}
    for p in pods:
        node = (p.get("spec") or {}).get("nodeName") or ""
        per_node[node] = per_node.get(node, 0) + 1

    def key(p: Obj) -> tuple[Any, ...]:
        spec = p.get("spec") or {}
        status = p.get("status") or {}
        node = spec.get("nodeName") or ""
        try:
            cost = int((p["metadata"].get("annotations") or {}).get(
                "controller.kubernetes.io/pod-deletion-cost", "0"))
        except ValueError:
            cost = 0
        since = pod_ready_since(p)
        restarts = sum(int(c.get("restartCount", 0))
                       for c in status.get("containerStatuses") or ())
        created = parse_time(p["metadata"].get("creationTimestamp")) or 0.0
        return (1 if node else 0, _PHASE_RANK.get(status.get("phase", ""), 0),
                1 if since is not None else 0, cost, -per_node.get(node, 0) if node else 0,
                -(since if since is not None else now), -restarts, -created)

    return sorted(pods, key=key)


def now_string(now: float) -> str:
    return now_rfc3339(datetime.datetime.fromtimestamp(now, datetime.UTC))
