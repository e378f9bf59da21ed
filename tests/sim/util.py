"""Helpers for the simulated kubelet's tests: pods created and bound in one engine pause (so no
scheduler can race the binding), and readers of status, conditions and recorded events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from kubenb import Cluster
from kubenb.api import kinds
from kubenb.sim.faults import Faults

Obj = dict[str, Any]


def make_pod(name: str, image: str = "nginx:1.27", *, command: list[str] | None = None,
             args: list[str] | None = None, annotations: dict[str, str] | None = None,
             restart_policy: str | None = None, namespace: str = "default",
             container: Obj | None = None, **spec: Any) -> Obj:
    """A one-container pod (``container`` adds fields to it; ``spec`` to the pod spec)."""
    c: Obj = {"name": "app", "image": image}
    if command is not None:
        c["command"] = command
    if args is not None:
        c["args"] = args
    c.update(container or {})
    pod_spec: Obj = {"containers": [c], **spec}
    if restart_policy:
        pod_spec["restartPolicy"] = restart_policy
    meta: Obj = {"name": name, "namespace": namespace}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec}


def run_pod(c: Cluster, pod: Obj, node: str = "node-1") -> Obj:
    """Create ``pod`` and bind it to ``node`` before any controller sees it unbound."""
    meta = pod["metadata"]
    with c.paused():
        created = c.client.create(kinds.PODS, pod)
        c.client.bind(meta.get("namespace", "default"), meta["name"], node)
    return created


def get_pod(c: Cluster, name: str, namespace: str = "default") -> Obj:
    return c.client.get(kinds.PODS, name, namespace)


def container_status(c: Cluster, name: str, container: str = "app",
                     namespace: str = "default") -> Obj:
    status = get_pod(c, name, namespace).get("status") or {}
    for cs in (status.get("initContainerStatuses") or []) + (
            status.get("containerStatuses") or []):
        if cs["name"] == container:
            return cs
    raise AssertionError(f"no status for container {container} of {name}: {status}")


def state_of(c: Cluster, name: str, container: str = "app") -> str:
    """``running``, ``terminated:<reason>`` or ``waiting:<reason>``."""
    state = container_status(c, name, container)["state"]
    kind, detail = next(iter(state.items()))
    return kind if kind == "running" else f"{kind}:{detail.get('reason')}"


def condition(c: Cluster, name: str, ctype: str) -> Obj | None:
    for cond in get_pod(c, name).get("status", {}).get("conditions") or ():
        if cond["type"] == ctype:
            return cond
    return None


def pod_events(c: Cluster, name: str, namespace: str = "default") -> list[tuple[str, str, str]]:
    """(type, reason, message) of the recorded Events about one pod, in order."""
    journal = c.manager._journal
    assert journal is not None, "the fixture records the journal"
    return [(etype, reason, message) for etype, reason, kind, key, message in journal
            if kind == "Pod" and key == f"{namespace}/{name}"]


def reasons(c: Cluster, name: str) -> list[str]:
    return [reason for _t, reason, _m in pod_events(c, name)]


def faults_of(c: Cluster) -> Faults:
    assert c.faults is not None, "the cluster runs no control plane"
    return c.faults


class Timeline:
    """Every version of one pod the API stored, stamped with the cluster time of the write
    (in-process watches deliver on the writer's thread, so the stamp is exact)."""

    def __init__(self, c: Cluster, name: str, namespace: str = "default") -> None:
        self.c = c
        self.name = name
        self.t0 = c.clock.now()
        self.entries: list[tuple[float, str, Obj]] = []
        self.handle, _ = c.client.watch(kinds.PODS, self._deliver, namespace=namespace)

    def _deliver(self, etype: str, raw: bytes) -> None:
        obj = orjson.loads(raw)
        if obj["metadata"]["name"] == self.name:
            self.entries.append((self.c.clock.now() - self.t0, etype, obj))

    def stop(self) -> None:
        self.handle.stop()

    def _first(self, predicate: Callable[[Obj], bool]) -> float:
        for t, _etype, obj in self.entries:
            if predicate(obj):
                return t
        raise AssertionError(f"no version of {self.name} matched")

    def when(self, predicate: Callable[[Obj], bool]) -> float:
        """Cluster seconds from the pod's binding until a stored version first matched (the
        binding is written from the test's thread; measuring from it leaves out the wall time
        an idle virtual clock follows)."""
        return self._first(predicate) - self._first(lambda p: bool(p["spec"].get("nodeName")))

    def deleted_at(self) -> float:
        """Cluster seconds from the deletion request until the pod was gone."""
        gone = next(t for t, etype, _ in self.entries if etype == "DELETED")
        return gone - self._first(lambda p: bool(p["metadata"].get("deletionTimestamp")))

    def states(self, container: str = "app") -> list[str]:
        """The distinct successive container states (``running``, ``waiting:<reason>``...)."""
        out: list[str] = []
        for _t, _etype, obj in self.entries:
            state = container_state(obj, container)
            if state and (not out or out[-1] != state):
                out.append(state)
        return out


def container_state(pod: Obj, container: str = "app") -> str:
    status = pod.get("status") or {}
    for cs in (status.get("initContainerStatuses") or []) + (
            status.get("containerStatuses") or []):
        if cs["name"] == container:
            kind, detail = next(iter(cs["state"].items()))
            return kind if kind == "running" else f"{kind}:{detail.get('reason')}"
    return ""


def is_running(pod: Obj, container: str = "app") -> bool:
    return container_state(pod, container) == "running"


def is_ready(pod: Obj) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


class TimedJournal(list):  # type: ignore[type-arg]
    """The manager's event journal, also keeping the cluster time of each entry."""

    def __init__(self, c: Cluster) -> None:
        super().__init__()
        self.clock = c.clock
        self.times: list[float] = []

    def append(self, item: Any) -> None:
        self.times.append(self.clock.now())
        super().append(item)


def record_events(c: Cluster) -> TimedJournal:
    journal = TimedJournal(c)
    c.manager._journal = journal
    for recorder in c.manager._recorders.values():
        recorder.journal = journal
    return journal


def event_times(c: Cluster, name: str, reason: str) -> list[float]:
    """Cluster times at which ``reason`` was recorded about pod ``name`` (repeats included)."""
    journal = c.manager._journal
    assert isinstance(journal, TimedJournal)
    return [t for t, (_e, r, kind, key, _m) in zip(journal.times, journal, strict=True)
            if kind == "Pod" and key.endswith("/" + name) and r == reason]
