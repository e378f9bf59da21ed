"""Printers for the workload kinds: apps/v1, batch/v1 and autoscaling.

Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision, Job, CronJob,
HorizontalPodAutoscaler and Scale: the kinds whose rows report replicas, completions and targets,
as the matching ``print*`` functions of ``pkg/printers/internalversion`` render them.
"""

from __future__ import annotations

import datetime
from typing import Any

from kubenb.apiserver.printers.cells import (
    Cell,
    Obj,
    _age,
    _bool_word,
    _condition_true,
    _containers,
    _format_labels,
    _format_selector,
    _g,
    _i,
    _l,
    _m,
    _name,
    _parse_time,
    _quantity,
    _s,
    _selector_string,
    _since,
    human_duration,
)
from kubenb.apiserver.printers.columns import _AGE, _CONTAINERS, _IMAGES, _NAME, _Col, _prints

# --------------------------------------------------------------------------------------------------
# apps/v1


@_prints(
    ("apps", "Deployment"),
    columns=(
        _NAME,
        _Col("Ready", doc="Number of the pod with ready state"),
        _Col("Up-to-date", doc=("apps.v1.DeploymentStatus", "updatedReplicas")),
        _Col("Available", doc=("apps.v1.DeploymentStatus", "availableReplicas")),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _Col("Selector", priority=1, doc=("apps.v1.DeploymentSpec", "selector")),
    ),
)
def _deployment(obj: Obj, now: datetime.datetime) -> list[Cell]:
    names, images = _containers(_g(obj, "spec", "template", "spec"))
    ready = f"{_i(obj, 'status', 'readyReplicas')}/{_i(obj, 'spec', 'replicas', default=1)}"
    return [
        _name(obj),
        ready,
        _i(obj, "status", "updatedReplicas"),
        _i(obj, "status", "availableReplicas"),
        _age(obj, now),
        names,
        images,
        _selector_string(_g(obj, "spec", "selector")),
    ]


def _replica_columns(spec_doc: str, status_doc: str) -> tuple[_Col, ...]:
    """ReplicaSet and ReplicationController print the same columns."""
    return (
        _NAME,
        _Col("Desired", "integer", (spec_doc, "replicas")),
        _Col("Current", "integer", (status_doc, "replicas")),
        _Col("Ready", "integer", (status_doc, "readyReplicas")),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _Col("Selector", priority=1, doc=(spec_doc, "selector")),
    )


def _replica_cells(obj: Obj, now: datetime.datetime, selector: str) -> list[Cell]:
    names, images = _containers(_g(obj, "spec", "template", "spec"))
    return [
        _name(obj),
        _i(obj, "spec", "replicas", default=1),
        _i(obj, "status", "replicas"),
        _i(obj, "status", "readyReplicas"),
        _age(obj, now),
        names,
        images,
        selector,
    ]


@_prints(("apps", "ReplicaSet"),
         columns=_replica_columns("apps.v1.ReplicaSetSpec", "apps.v1.ReplicaSetStatus"))
def _replica_set(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return _replica_cells(obj, now, _format_selector(_g(obj, "spec", "selector")))


@_prints(
    ("apps", "StatefulSet"),
    columns=(
        _NAME,
        _Col("Ready", doc="Number of the pod with ready state"),
        _AGE,
        _CONTAINERS,
        _IMAGES,
    ),
)
def _stateful_set(obj: Obj, now: datetime.datetime) -> list[Cell]:
    names, images = _containers(_g(obj, "spec", "template", "spec"))
    ready = f"{_i(obj, 'status', 'readyReplicas')}/{_i(obj, 'spec', 'replicas', default=1)}"
    return [_name(obj), ready, _age(obj, now), names, images]


@_prints(
    ("apps", "DaemonSet"),
    columns=(
        _NAME,
        _Col("Desired", "integer", ("apps.v1.DaemonSetStatus", "desiredNumberScheduled")),
        _Col("Current", "integer", ("apps.v1.DaemonSetStatus", "currentNumberScheduled")),
        _Col("Ready", "integer", ("apps.v1.DaemonSetStatus", "numberReady")),
        _Col("Up-to-date", "integer", ("apps.v1.DaemonSetStatus", "updatedNumberScheduled")),
        _Col("Available", "integer", ("apps.v1.DaemonSetStatus", "numberAvailable")),
        _Col("Node Selector", doc=("core.v1.PodSpec", "nodeSelector")),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _Col("Selector", priority=1, doc=("apps.v1.DaemonSetSpec", "selector")),
    ),
)
def _daemon_set(obj: Obj, now: datetime.datetime) -> list[Cell]:
    status = _m(obj, "status")
    names, images = _containers(_g(obj, "spec", "template", "spec"))
    return [
        _name(obj),
        _i(status, "desiredNumberScheduled"),
        _i(status, "currentNumberScheduled"),
        _i(status, "numberReady"),
        _i(status, "updatedNumberScheduled"),
        _i(status, "numberAvailable"),
        _format_labels(_g(obj, "spec", "template", "spec", "nodeSelector")),
        _age(obj, now),
        names,
        images,
        _format_selector(_g(obj, "spec", "selector")),
    ]


def _format_owner(group_version: str, kind: str, name: str) -> str:
    """``formatResourceName`` with kind: ``statefulset.apps/web``."""
    group = group_version.rpartition("/")[0]
    return f"{kind}.{group}".lower() + f"/{name}" if group else f"{kind.lower()}/{name}"


@_prints(
    ("apps", "ControllerRevision"),
    columns=(
        _NAME,
        _Col("Controller", doc="Controller of the object"),
        _Col("Revision", doc=("apps.v1.ControllerRevision", "revision")),
        _AGE,
    ),
)
def _controller_revision(obj: Obj, now: datetime.datetime) -> list[Cell]:
    controller = "<none>"
    for ref in _l(obj, "metadata", "ownerReferences"):
        if _g(ref, "controller") is True:
            controller = _format_owner(_s(ref, "apiVersion"), _s(ref, "kind"), _s(ref, "name"))
            break
    return [_name(obj), controller, _i(obj, "revision"), _age(obj, now)]


# --------------------------------------------------------------------------------------------------
# batch/v1


@_prints(
    ("batch", "Job"),
    columns=(
        _NAME,
        _Col("Status", doc="Status of the job."),
        _Col("Completions", doc=("batch.v1.JobStatus", "succeeded")),
        _Col("Duration", doc="Time required to complete the job."),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _Col("Selector", priority=1, doc=("batch.v1.JobSpec", "selector")),
    ),
)
def _job(job: Obj, now: datetime.datetime) -> list[Cell]:
    spec, status = _m(job, "spec"), _m(job, "status")
    succeeded = _i(status, "succeeded")
    completions, parallelism = _g(spec, "completions"), _g(spec, "parallelism")
    if completions is None and parallelism is None:
        completions = 1  # a non-parallel Job defaults both to 1
    if isinstance(completions, int):
        completions_cell = f"{succeeded}/{completions}"
    elif isinstance(parallelism, int) and parallelism > 1:
        completions_cell = f"{succeeded}/1 of {parallelism}"
    else:
        completions_cell = f"{succeeded}/1"
    start, end = _parse_time(status.get("startTime")), _parse_time(status.get("completionTime"))
    duration = "" if start is None else human_duration((end or now) - start)
    conditions = status.get("conditions")
    if _condition_true(conditions, "Complete"):
        state = "Complete"
    elif _condition_true(conditions, "Failed"):
        state = "Failed"
    elif _g(job, "metadata", "deletionTimestamp") is not None:
        state = "Terminating"
    elif _condition_true(conditions, "Suspended"):
        state = "Suspended"
    elif _condition_true(conditions, "FailureTarget"):
        state = "FailureTarget"
    elif _condition_true(conditions, "SuccessCriteriaMet"):
        state = "SuccessCriteriaMet"
    else:
        state = "Running"
    names, images = _containers(_g(spec, "template", "spec"))
    return [
        _name(job),
        state,
        completions_cell,
        duration,
        _age(job, now),
        names,
        images,
        _format_selector(spec.get("selector")),
    ]


@_prints(
    ("batch", "CronJob"),
    columns=(
        _NAME,
        _Col("Schedule", doc=("batch.v1.CronJobSpec", "schedule")),
        _Col("Timezone", doc=("batch.v1.CronJobSpec", "timeZone")),
        _Col("Suspend", "boolean", ("batch.v1.CronJobSpec", "suspend")),
        _Col("Active", "integer", ("batch.v1.CronJobStatus", "active")),
        _Col("Last Schedule", doc=("batch.v1.CronJobStatus", "lastScheduleTime")),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _Col("Selector", priority=1, doc=("batch.v1.JobSpec", "selector")),
    ),
)
def _cron_job(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    last = _g(obj, "status", "lastScheduleTime")
    suspend = spec.get("suspend", False)  # defaulted to false on create
    names, images = _containers(_g(spec, "jobTemplate", "spec", "template", "spec"))
    return [
        _name(obj),
        _s(spec, "schedule"),
        _s(spec, "timeZone") or "<none>",
        _bool_word(suspend),
        len(_l(obj, "status", "active")),
        "<none>" if last is None else _since(last, now),
        _age(obj, now),
        names,
        images,
        _format_selector(_g(spec, "jobTemplate", "spec", "selector")),
    ]


# --------------------------------------------------------------------------------------------------
# autoscaling


def _hpa_metrics(hpa: Obj) -> tuple[list[Any], list[Any]]:
    """Spec and current metrics in autoscaling/v2 shape, whichever version the object is in."""
    spec, status = _m(hpa, "spec"), _m(hpa, "status")
    if "targetCPUUtilizationPercentage" in spec or _s(hpa, "apiVersion") == "autoscaling/v1":
        target = spec.get("targetCPUUtilizationPercentage")
        specs = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": target},
                },
            }
        ]
        current = status.get("currentCPUUtilizationPercentage")
        statuses = (
            []
            if current is None
            else [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "current": {"averageUtilization": current}},
                }
            ]
        )
        if target is not None:
            return specs, statuses
        return _DEFAULT_HPA_METRICS, statuses
    return _l(spec, "metrics") or _DEFAULT_HPA_METRICS, _l(status, "currentMetrics")


# autoscaling/v2 defaulting: no metrics means 80% average CPU utilisation.
_DEFAULT_HPA_METRICS = [
    {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
    }
]


def _format_hpa_metrics(specs: list[Any], statuses: list[Any]) -> str:
    if not specs:
        return "<none>"
    items: list[str] = []
    for index, spec in enumerate(specs):
        current_status = statuses[index] if index < len(statuses) else None
        kind = _s(spec, "type")
        field = {
            "External": "external",
            "Pods": "pods",
            "Object": "object",
            "Resource": "resource",
            "ContainerResource": "containerResource",
        }.get(kind)
        if field is None:
            items.append("<unknown type>")
            continue
        source, current = _m(spec, field), _g(current_status, field)
        target = _m(source, "target")
        if kind == "Pods":
            now_value = (
                _quantity(_g(current, "current", "averageValue"))
                if current is not None
                else "<unknown>"
            )
            items.append(f"{now_value}/{_quantity(target.get('averageValue'))}")
        elif kind in ("External", "Object"):
            if target.get("averageValue") is not None:
                avg = _g(current, "current", "averageValue")
                now_value = _quantity(avg) if avg is not None else "<unknown>"
                items.append(f"{now_value}/{_quantity(target['averageValue'])} (avg)")
            else:
                now_value = (
                    _quantity(_g(current, "current", "value"))
                    if current is not None
                    else "<unknown>"
                )
                items.append(f"{now_value}/{_quantity(target.get('value'))}")
        else:  # Resource, ContainerResource
            name = _s(source, "name")
            if target.get("averageValue") is not None:
                now_value = (
                    _quantity(_g(current, "current", "averageValue"))
                    if current is not None
                    else "<unknown>"
                )
                items.append(f"{name}: {now_value}/{_quantity(target['averageValue'])}")
            else:
                utilization = _g(current, "current", "averageUtilization")
                now_value = f"{utilization}%" if isinstance(utilization, int) else "<unknown>"
                goal = target.get("averageUtilization")
                items.append(
                    f"{name}: {now_value}/{f'{goal}%' if isinstance(goal, int) else '<auto>'}"
                )
    if len(items) > 2:
        return f"{', '.join(items[:2])} + {len(items) - 2} more..."
    return ", ".join(items)


@_prints(
    ("autoscaling", "HorizontalPodAutoscaler"),
    columns=(
        _NAME,
        _Col("Reference", doc=("autoscaling.v2.HorizontalPodAutoscalerSpec", "scaleTargetRef")),
        _Col("Targets", doc=("autoscaling.v2.HorizontalPodAutoscalerSpec", "metrics")),
        _Col("MinPods", doc=("autoscaling.v2.HorizontalPodAutoscalerSpec", "minReplicas")),
        _Col("MaxPods", doc=("autoscaling.v2.HorizontalPodAutoscalerSpec", "maxReplicas")),
        _Col("Replicas", doc=("autoscaling.v2.HorizontalPodAutoscalerStatus", "currentReplicas")),
        _AGE,
    ),
)
def _hpa(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    ref = f"{_s(spec, 'scaleTargetRef', 'kind')}/{_s(spec, 'scaleTargetRef', 'name')}"
    min_pods = _g(spec, "minReplicas")
    return [
        _name(obj),
        ref,
        _format_hpa_metrics(*_hpa_metrics(obj)),
        str(min_pods) if isinstance(min_pods, int) else "1",  # minReplicas defaults to 1
        _i(spec, "maxReplicas"),
        _i(obj, "status", "currentReplicas"),
        _age(obj, now),
    ]


@_prints(
    ("autoscaling", "Scale"),
    columns=(
        _Col("Name", doc=("meta.v1.ObjectMeta", "name")),
        _Col("Desired", "integer", ("autoscaling.v1.ScaleSpec", "replicas")),
        _Col("Available", "integer", ("autoscaling.v1.ScaleStatus", "replicas")),
        _AGE,
    ),
)
def _scale(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _i(obj, "spec", "replicas"), _i(obj, "status", "replicas"), _age(obj, now)]
