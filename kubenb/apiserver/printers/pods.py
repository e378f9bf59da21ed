"""The Pod printer (upstream ``printPod``): READY, STATUS and RESTARTS as kubectl users know them.

The STATUS cell is the most involved one in the apiserver: scheduling gates, init containers,
sidecars (restartable init containers), waiting and terminated reasons, deletion and node loss all
feed it, so it has a module of its own. Finished pods also get a ``Completed`` row condition, which
lets clients hide them (the old ``--show-all``).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from kubenb.apiserver.printers.cells import (
    Cell,
    Obj,
    _age,
    _condition,
    _condition_true,
    _g,
    _i,
    _l,
    _m,
    _name,
    _parse_time,
    _s,
    human_duration,
)
from kubenb.apiserver.printers.columns import _AGE, _NAME, _Col, _prints

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
