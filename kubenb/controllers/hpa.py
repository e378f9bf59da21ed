"""The HorizontalPodAutoscaler controller (autoscaling/v2), driven by simulated CPU and memory.

As ``pkg/controller/podautoscaler``: every 15 s of cluster time (``--horizontal-pod-autoscaler-
sync-period``) each HPA reads its target's scale subresource, works out the replicas its metrics
ask for (``ceil(currentReplicas * current / target)``, nothing when within the 0.1 tolerance,
unready and metric-less pods counted conservatively), stabilises and rate-limits that proposal
(the 300 s downscale window and the ``2x or 4`` scale-up limit, or ``spec.behavior``), writes the
new size through the scale subresource and reports status, conditions and events as upstream.

Simplification: upstream reads the resource metrics API; this controller reads the pod informer
cache with the same usage model that API serves (:mod:`kubenb.api.usage`, and
:mod:`kubenb.apiserver.metrics` for ``kubectl top``): a pod whose phase is Running reports the
CPU usage in its ``kubenb.io/cpu-usage`` annotation (a quantity: ``"250m"``, ``"0.25"``), or else
an idle baseline of 5% of its CPU request (at least 1m). :meth:`kubenb.sim.faults.Faults.cpu_load`
sets that annotation. Samples are taken at sync time with a 15 s window (metrics-server's
resolution). ``memory`` works the same way (``kubenb.io/memory-usage``, else half the memory
request), read in thousandths as upstream reads every quantity; Pods, Object and External
metrics fail as on a cluster with no custom or external metrics API.

Recommendations and scale events are kept in memory, per HPA, as upstream (a restarted
controller starts them afresh).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from kubenb.api import errors
from kubenb.api.annotations import CPU_USAGE
from kubenb.api.kinds import HPAS, PODS
from kubenb.api.quantity import format_quantity, milli_value, parse_quantity
from kubenb.api.resources import BUILTIN, ResourceType
from kubenb.api.selectors import LabelSelector, parse_label_selector
from kubenb.api.usage import container_usage, containers, pod_cpu_usage, pod_memory_usage
from kubenb.client.client import deepcopy
from kubenb.controllers.podutil import condition, now_string, parse_time, set_condition
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.informer import BY_NAMESPACE, Handler, by_namespace, key_of
from kubenb.runtime.manager import Manager

__all__ = [
    "CPU_USAGE_ANNOTATION", "HorizontalPodAutoscalerController", "Tolerances",
    "milli_quantity", "pod_cpu_usage",
]

Obj = dict[str, Any]

#: the pod annotation holding its simulated CPU usage (a quantity)
CPU_USAGE_ANNOTATION = CPU_USAGE

#: kube-controller-manager's defaults (--horizontal-pod-autoscaler-*)
SYNC_PERIOD = 15.0
TOLERANCE = 0.1
DOWNSCALE_STABILIZATION = 300
CPU_INITIALIZATION_PERIOD = 300.0
INITIAL_READINESS_DELAY = 30.0
#: the window of a simulated metrics sample (metrics-server's --metric-resolution)
METRIC_WINDOW = 15.0
#: the scale-up limit without ``spec.behavior``: max(2 * current, 4)
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0

_MAX_INT32 = 2 ** 31 - 1
_MIN_INT32 = -(2 ** 31)


# ------------------------------------------------------------------------------ simulated usage


def pod_request(pod: Obj, resource: str, container: str = "") -> int | None:
    """The pod's request of ``resource`` in thousandths (millicores, milli-bytes), as
    ``calculatePodRequests`` sums it: its containers' and restartable init containers', or the
    pod-level request; None when some container has none."""
    spec = pod.get("spec") or {}
    if not container:
        pod_level = ((spec.get("resources") or {}).get("requests") or {}).get(resource)
        if pod_level is not None:
            return milli_value(pod_level)
    total = 0
    for c in containers(spec):
        if container and c.get("name") != container:
            continue
        request = ((c.get("resources") or {}).get("requests") or {}).get(resource)
        if request is None:
            return None
        total += milli_value(request)
    return total


def milli_quantity(milli: int) -> str:
    """``resource.NewMilliQuantity(milli, DecimalSI)`` in canonical form: the largest SI
    suffix that keeps the number whole (``1500m``, ``2``, ``30720k``, ``3M``)."""
    return format_quantity(Fraction(milli, 1000), "decimal")


# ------------------------------------------------------------------------------ replica calculator


@dataclass(frozen=True, slots=True)
class Tolerances:
    """How far below and above 1.0 a usage ratio may be without a rescale."""

    down: float = TOLERANCE
    up: float = TOLERANCE

    def within(self, ratio: float) -> bool:
        return (1.0 - self.down) <= ratio <= (1.0 + self.up)


class MetricError(Exception):
    """A metric could not be computed (the message is the upstream error text)."""


def group_pods(pods: list[Obj], metrics: dict[str, int], cpu: bool,
               now: float) -> tuple[int, set[str], set[str]]:
    """Ready pods counted, pods ignored (pending, or unready CPU samples) and pods missing a
    metric, as upstream ``groupPods``: the samples are taken at ``now``."""
    ready = 0
    ignored: set[str] = set()
    missing: set[str] = set()
    for pod in pods:
        meta, status = pod["metadata"], pod.get("status") or {}
        phase = status.get("phase")
        if meta.get("deletionTimestamp") or phase == "Failed":
            continue
        if phase == "Pending":
            ignored.add(meta["name"])
            continue
        if meta["name"] not in metrics:
            missing.add(meta["name"])
            continue
        if cpu:
            cond = condition(pod, "Ready")
            start = parse_time(status.get("startTime"))
            if cond is None or start is None:
                ignore = True
            else:
                changed = parse_time(cond.get("lastTransitionTime")) or 0.0
                if start + CPU_INITIALIZATION_PERIOD > now:
                    # still starting: a sample counts once a full window followed readiness
                    ignore = cond.get("status") == "False" or now < changed + METRIC_WINDOW
                else:
                    # unready and never ready since start
                    ignore = (cond.get("status") == "False"
                              and start + INITIAL_READINESS_DELAY > changed)
            if ignore:
                ignored.add(meta["name"])
                continue
        ready += 1
    return ready, ignored, missing


def _utilization_ratio(metrics: dict[str, int], requests: dict[str, int],
                       target: int) -> tuple[float, int, int]:
    total = requested = entities = 0
    for name, value in metrics.items():
        if name not in requests:
            continue
        total += value
        requested += requests[name]
        entities += 1
    if requested == 0:
        raise MetricError("no metrics returned matched known pods")
    utilization = total * 100 // requested
    return utilization / target, utilization, total // entities


def _usable(metrics: dict[str, int], pods: list[Obj], cpu: bool, now: float
            ) -> tuple[dict[str, int], int, set[str], set[str]]:
    """The samples to compute with (those of ignored pods dropped, as a copy), and the ready
    count, ignored and missing pods of :func:`group_pods`; an error when no sample is left."""
    ready, ignored, missing = group_pods(pods, metrics, cpu, now)
    usable = {name: value for name, value in metrics.items() if name not in ignored}
    if not usable:
        raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
    return usable, ready, ignored, missing


def resource_replicas(current: int, target_utilization: int, metrics: dict[str, int],
                      pods: list[Obj], requests: dict[str, int], tolerances: Tolerances,
                      cpu: bool, now: float) -> tuple[int, int, int]:
    """``GetResourceReplicas``: (replicas, utilization %, average usage in milli-units)."""
    metrics, ready, ignored, missing = _usable(metrics, pods, cpu, now)
    ratio, utilization, raw = _utilization_ratio(metrics, requests, target_utilization)
    rebalance = bool(ignored) and ratio > 1.0
    if not rebalance and not missing:
        if tolerances.within(ratio):
            return current, utilization, raw
        return math.ceil(ratio * ready), utilization, raw
    if missing:
        if ratio < 1.0:  # scaling down: a pod without a sample may be at 100% of its request
            for name in missing:
                metrics[name] = requests.get(name, 0)
        elif ratio > 1.0:  # scaling up: it may be idle
            for name in missing:
                metrics[name] = 0
    if rebalance:
        for name in ignored:
            metrics[name] = 0
    new_ratio, _, _ = _utilization_ratio(metrics, requests, target_utilization)
    if (tolerances.within(new_ratio) or (ratio < 1.0 < new_ratio)
            or (ratio > 1.0 > new_ratio)):
        return current, utilization, raw
    replicas = math.ceil(new_ratio * len(metrics))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current, utilization, raw
    return replicas, utilization, raw


def plain_replicas(current: int, target: int, metrics: dict[str, int], pods: list[Obj],
                   tolerances: Tolerances, cpu: bool, now: float) -> tuple[int, int]:
    """``calcPlainMetricReplicas`` (AverageValue targets): (replicas, average usage)."""
    metrics, ready, ignored, missing = _usable(metrics, pods, cpu, now)
    usage = sum(metrics.values()) // len(metrics)
    ratio = usage / target
    rebalance = bool(ignored) and ratio > 1.0
    if not rebalance and not missing:
        if tolerances.within(ratio):
            return current, usage
        return math.ceil(ratio * ready), usage
    if missing:
        for name in missing:
            metrics[name] = target if ratio < 1.0 else 0
    if rebalance:
        for name in ignored:
            metrics[name] = 0
    new_ratio = (sum(metrics.values()) // len(metrics)) / target
    if (tolerances.within(new_ratio) or (ratio < 1.0 < new_ratio)
            or (ratio > 1.0 > new_ratio)):
        return current, usage
    return math.ceil(new_ratio * len(metrics)), usage


# ------------------------------------------------------------------------------ the controller


@dataclass(slots=True)
class _State:
    """What upstream keeps in memory per HPA: recommendations and recent scale events."""

    recommendations: list[tuple[int, float]]
    up_events: list[tuple[int, float]]
    down_events: list[tuple[int, float]]


@dataclass(slots=True)
class _Failure:
    reason: str
    message: str  # the error as recorded in the event
    wrapped: str  # the error as returned up (first error of "invalid metrics ...")
    ctype: str = "ScalingActive"


_NO_CUSTOM = ("unable to fetch metrics from custom metrics API: no custom metrics API "
              "(custom.metrics.k8s.io) registered")
_NO_EXTERNAL = ("unable to fetch metrics from external metrics API: no external metrics API "
                "(external.metrics.k8s.io) registered")

#: (group, kind) -> the built-in resource serving its scale subresource
_SCALABLE: dict[tuple[str, str], ResourceType] = {}
for _rt in BUILTIN:
    if _rt.has_scale:
        _SCALABLE.setdefault((_rt.group, _rt.kind), _rt)


class HorizontalPodAutoscalerController(Controller):
    name = "horizontal-pod-autoscaler"
    primary = HPAS

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("horizontal-pod-autoscaler")
        self.clock = mgr.clock
        self.events = mgr.recorder(self.name)
        self.hpas = mgr.informer(HPAS)
        self.pods = mgr.informer(PODS)
        self.state: dict[tuple[str, str], _State] = {}
        # as upstream, every add and update waits for the next sync period (a background timer:
        # syncs recur forever, so settle() does not wait for them; advance() runs them)
        self.hpas.add_handler(Handler(on_add=self._later,
                                      on_update=lambda _old, new: self._later(new)))

    def _later(self, hpa: Obj) -> None:
        self.queue.add_after(Request(*key_of(hpa)), SYNC_PERIOD, background=True)

    def reconcile(self, request: Request) -> Result | None:
        key = (request.namespace, request.name)
        hpa = self.hpas.get(request.name, request.namespace)
        if hpa is None:
            self.state.pop(key, None)
            return None
        try:
            self._sync(deepcopy(hpa), key)
        finally:
            self.queue.add_after(request, SYNC_PERIOD, background=True)
        return None

    # -- one sync

    def _sync(self, hpa: Obj, key: tuple[str, str]) -> None:
        now = self.clock.now()
        stamp = now_string(now)
        meta, spec = hpa["metadata"], hpa.get("spec") or {}
        ns = meta["namespace"]
        original = deepcopy(hpa.get("status") or {})
        status: Obj = hpa.setdefault("status", {})
        ref = spec.get("scaleTargetRef") or {}
        group = (ref.get("apiVersion") or "").rpartition("/")[0]
        rt = _SCALABLE.get((group, ref.get("kind") or ""))
        scale: Obj | None = None
        if rt is None:
            message = f'no matches for kind "{ref.get("kind")}" in group "{group}"'
        else:
            try:
                scale = self.client.get(rt, ref.get("name") or "", ns, subresource="scale")
            except errors.APIError as exc:
                message = exc.status.get("message", str(exc))
        if scale is None or rt is None:
            self.events.warning(hpa, "FailedGetScale", message)
            set_condition(status, "AbleToScale", "False", "FailedGetScale",
                          "the HPA controller was unable to get the target's current scale: "
                          + message, stamp)
            self._write_status(hpa, original)
            return
        set_condition(status, "AbleToScale", "True", "SucceededGetScale",
                      "the HPA controller was able to get the target's current scale", stamp)
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        state = self.state.get(key)
        if state is None:
            state = self.state[key] = _State([(current, now)], [], [])
        min_replicas = spec.get("minReplicas")
        min_replicas = 1 if min_replicas is None else int(min_replicas)
        max_replicas = int(spec.get("maxReplicas") or 0)
        behavior = _behavior(spec.get("behavior"))
        desired, reason, rescale = 0, "", True
        metric_statuses: list[Obj] | None = None
        if current == 0 and min_replicas != 0:
            rescale = False
            set_condition(status, "ScalingActive", "False", "ScalingDisabled",
                          "scaling is disabled since the replica count of the target is zero",
                          stamp)
        elif current > max_replicas:
            reason, desired = "Current number of replicas above Spec.MaxReplicas", max_replicas
        elif current < min_replicas:
            reason, desired = "Current number of replicas below Spec.MinReplicas", min_replicas
        else:
            proposal, metric, metric_statuses, failed = self._compute(
                hpa, scale, behavior, now, stamp)
            if proposal < 0:
                assert failed is not None
                self._set_status(hpa, current, status.get("desiredReplicas", 0),
                                 metric_statuses, False, stamp)
                self._write_status(hpa, original)
                self.events.warning(hpa, "FailedComputeMetricsReplicas", failed)
                return
            rescale_metric = ""
            if proposal > desired:
                desired, rescale_metric = proposal, metric
            if desired > current:
                reason = f"{rescale_metric} above target"
            if desired < current:
                reason = "All metrics below target"
            if behavior is None:
                desired = self._normalize(status, state, current, desired, min_replicas,
                                          max_replicas, now, stamp)
            else:
                desired = self._normalize_with_behavior(status, state, behavior, current,
                                                        desired, min_replicas, max_replicas,
                                                        now, stamp)
            rescale = desired != current
        if rescale:
            scale = {**scale, "spec": {**(scale.get("spec") or {}), "replicas": desired}}
            try:
                self.client.replace(rt, scale, subresource="scale")
            except errors.APIError as exc:
                message = exc.status.get("message", str(exc))
                self.events.warning(hpa, "FailedRescale",
                                    f"New size: {desired}; reason: {reason}; error: {message}")
                set_condition(status, "AbleToScale", "False", "FailedUpdateScale",
                              "the HPA controller was unable to update the target scale: "
                              + message, stamp)
                self._set_status(hpa, current, status.get("desiredReplicas", 0),
                                 status.get("currentMetrics"), False, stamp)
                self._write_status(hpa, original)
                return
            set_condition(status, "AbleToScale", "True", "SucceededRescale",
                          f"the HPA controller was able to update the target scale to {desired}",
                          stamp)
            self.events.normal(hpa, "SuccessfulRescale",
                               f"New size: {desired}; reason: {reason}")
            if behavior is not None:
                _store_event(state, behavior, current, desired, now)
        else:
            desired = current
        self._set_status(hpa, current, desired, metric_statuses, rescale, stamp)
        self._write_status(hpa, original)

    # -- metrics

    def _compute(self, hpa: Obj, scale: Obj, behavior: Obj | None, now: float,
                 stamp: str) -> tuple[int, str, list[Obj], str | None]:
        """``computeReplicasForMetrics``: (replicas or -1, metric, statuses, error)."""
        status = hpa["status"]
        text = (scale.get("status") or {}).get("selector") or ""
        if not text:
            self.events.warning(hpa, "SelectorRequired", "selector is required")
            set_condition(status, "ScalingActive", "False", "InvalidSelector",
                          "the HPA target's scale is missing a selector", stamp)
            return -1, "", [], "selector is required"
        try:
            sel = parse_label_selector(text)
        except errors.APIError as exc:
            message = ("couldn't convert selector into a corresponding internal selector "
                       f"object: {exc.status.get('message', exc)}")
            self.events.warning(hpa, "InvalidSelector", message)
            set_condition(status, "ScalingActive", "False", "InvalidSelector", message, stamp)
            return -1, "", [], message
        spec_replicas = int((scale.get("spec") or {}).get("replicas") or 0)
        specs = (hpa.get("spec") or {}).get("metrics") or []
        pods = self._pods(hpa["metadata"]["namespace"], sel)
        tolerances = _tolerances(behavior)
        statuses: list[Obj] = []
        replicas, metric = 0, ""
        first: _Failure | None = None
        invalid = 0
        for mspec in specs:
            try:
                proposal, name, mstatus = self._metric(mspec, spec_replicas, pods, tolerances,
                                                       now)
            except _MetricFailure as exc:
                failure = exc.failure
                self.events.warning(hpa, failure.reason, failure.message)
                statuses.append({"type": ""})
                if first is None:
                    first = failure
                invalid += 1
                continue
            statuses.append(mstatus)
            if replicas == 0 or proposal > replicas:
                replicas, metric = proposal, name
        error = None
        if first is not None:
            error = (f"invalid metrics ({invalid} invalid out of {len(specs)}), first error is: "
                     f"{first.wrapped}")
        if first is not None and (invalid >= len(specs) or replicas < spec_replicas):
            set_condition(status, first.ctype, "False", first.reason,
                          f"the HPA was unable to compute the replica count: {first.message}",
                          stamp)
            return -1, "", statuses, error
        set_condition(status, "ScalingActive", "True", "ValidMetricFound",
                      f"the HPA was able to successfully calculate a replica count from {metric}",
                      stamp)
        return replicas, metric, statuses, error

    def _pods(self, namespace: str, sel: LabelSelector) -> list[Obj]:
        # built on first use (a no-op afterwards), so a cluster without HPAs pays nothing
        self.pods.add_index(BY_NAMESPACE, by_namespace)
        return [p for p in self.pods.by_index(BY_NAMESPACE, namespace)
                if sel.matches(p["metadata"].get("labels"))]

    def _metric(self, mspec: Obj, current: int, pods: list[Obj], tolerances: Tolerances,
                now: float) -> tuple[int, str, Obj]:
        mtype = mspec.get("type") or ""
        if mtype in ("Resource", "ContainerResource"):
            field = "resource" if mtype == "Resource" else "containerResource"
            source = mspec.get(field) or {}
            container = source.get("container") or "" if mtype == "ContainerResource" else ""
            reason = ("FailedGetResourceMetric" if mtype == "Resource"
                      else "FailedGetContainerResourceMetric")
            resource = source.get("name") or ""
            outer = (f"failed to get {resource} resource metric value" if mtype == "Resource"
                     else f"failed to get {resource} container metric value")
            try:
                replicas, name, current_value = self._resource(
                    source, resource, container, current, pods, tolerances, now)
            except MetricError as exc:
                raise _MetricFailure(_Failure(reason, str(exc), f"{outer}: {exc}")) from None
            out: Obj = {"name": resource, "current": current_value}
            if container:
                out = {"name": resource, "container": container, "current": current_value}
            return replicas, name, {"type": mtype, field: out}
        if mtype in ("Pods", "Object"):
            source = mspec.get("pods" if mtype == "Pods" else "object") or {}
            metric = (source.get("metric") or {}).get("name", "")
            message = f"unable to get metric {metric}: {_NO_CUSTOM}"
            raise _MetricFailure(_Failure(
                f"FailedGet{mtype}Metric", message,
                f"failed to get {mtype.lower()} metric value: {message}"))
        if mtype == "External":
            metric = ((mspec.get("external") or {}).get("metric") or {}).get("name", "")
            message = f"unable to get external metric {metric}: {_NO_EXTERNAL}"
            raise _MetricFailure(_Failure("FailedGetExternalMetric", message,
                                          f"failed to get external metric {metric}: {message}"))
        message = f'unknown metric source type "{mtype}"'
        raise _MetricFailure(_Failure("InvalidMetricSourceType", message, message))

    def _resource(self, source: Obj, resource: str, container: str, current: int,
                  pods: list[Obj], tolerances: Tolerances,
                  now: float) -> tuple[int, str, Obj]:
        target = source.get("target") or {}
        average_value = target.get("averageValue")
        utilization = target.get("averageUtilization")
        if average_value is None and utilization is None:
            raise MetricError("invalid resource metric source: neither an average utilization "
                              "target nor an average value (usage) target was set")
        what = "usage" if average_value is not None else "utilization"
        try:
            metrics = self._usage(resource, container, pods)
            if average_value is not None:
                replicas, usage = plain_replicas(current, milli_value(average_value), metrics,
                                                 pods, tolerances, resource == "cpu", now)
                return (replicas, f"{resource} resource",
                        {"averageValue": milli_quantity(usage)})
            requests = _requests(pods, resource, container)
            replicas, percent, raw = resource_replicas(
                current, int(utilization), metrics, pods, requests, tolerances,
                resource == "cpu", now)
        except MetricError as exc:
            raise MetricError(f"failed to get {resource} {what}: {exc}") from None
        name = (f"{resource} resource utilization (percentage of request)" if not container
                else f"{resource} container resource utilization (percentage of request)")
        return replicas, name, {"averageUtilization": percent,
                                "averageValue": milli_quantity(raw)}

    def _usage(self, resource: str, container: str, pods: list[Obj]) -> dict[str, int]:
        """The simulated resource metrics API: a sample for each running pod."""
        if not pods:
            raise MetricError("no pods returned by selector while calculating replica count")
        metrics: dict[str, int] = {}
        if resource in ("cpu", "memory"):
            # in thousandths, as the metrics client reads every quantity (MilliValue)
            scale = 1 if resource == "cpu" else 1000
            for pod in pods:
                if (pod.get("status") or {}).get("phase") != "Running":
                    continue
                if container:
                    usage = container_usage(pod, container, resource)
                    if usage is None:
                        raise MetricError(
                            f"unable to get metrics for resource {resource}: container "
                            f"{container} not present in metrics for pod "
                            f"{pod['metadata']['namespace']}/{pod['metadata']['name']}")
                elif resource == "cpu":
                    usage = pod_cpu_usage(pod)
                else:
                    usage = pod_memory_usage(pod)
                metrics[pod["metadata"]["name"]] = usage * scale
        if not metrics:
            raise MetricError(f"unable to get metrics for resource {resource}: no metrics "
                              "returned from resource metrics API")
        return metrics

    # -- normalisation

    def _normalize(self, status: Obj, state: _State, current: int, desired: int,
                   min_replicas: int, max_replicas: int, now: float, stamp: str) -> int:
        """Without ``spec.behavior``: the highest recommendation of the downscale window, then
        min/max and the ``max(2 * current, 4)`` scale-up limit."""
        stabilized = desired
        cutoff = now - DOWNSCALE_STABILIZATION
        old = -1
        for i, (recommendation, when) in enumerate(state.recommendations):
            if when < cutoff:
                old = i
            elif recommendation > stabilized:
                stabilized = recommendation
        if old >= 0:
            state.recommendations[old] = (desired, now)
        else:
            state.recommendations.append((desired, now))
        if stabilized != desired:
            set_condition(status, "AbleToScale", "True", "ScaleDownStabilized",
                          "recent recommendations were higher than current one, applying the "
                          "highest recent recommendation", stamp)
        else:
            set_condition(status, "AbleToScale", "True", "ReadyForNewScale",
                          "recommended size matches current size", stamp)
        limit = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
        if max_replicas > limit:
            maximum, reason, message = limit, "ScaleUpLimit", (
                "the desired replica count is increasing faster than the maximum scale rate")
        else:
            maximum, reason, message = max_replicas, "TooManyReplicas", (
                "the desired replica count is more than the maximum replica count")
        if stabilized < min_replicas:
            result, reason, message = min_replicas, "TooFewReplicas", (
                "the desired replica count is less than the minimum replica count")
        elif stabilized > maximum:
            result = maximum
        else:
            result, reason, message = stabilized, "DesiredWithinRange", (
                "the desired count is within the acceptable range")
        set_condition(status, "ScalingLimited", "False" if result == stabilized else "True",
                      reason, message, stamp)
        return result

    def _normalize_with_behavior(self, status: Obj, state: _State, behavior: Obj, current: int,
                                 desired: int, min_replicas: int, max_replicas: int, now: float,
                                 stamp: str) -> int:
        up, down = behavior["scaleUp"], behavior["scaleDown"]
        up_cutoff = now - up["stabilizationWindowSeconds"]
        down_cutoff = now - down["stabilizationWindowSeconds"]
        up_rec = down_rec = desired
        old = -1
        for i, (recommendation, when) in enumerate(state.recommendations):
            if when > up_cutoff:
                up_rec = min(recommendation, up_rec)
            if when > down_cutoff:
                down_rec = max(recommendation, down_rec)
            if when < up_cutoff and when < down_cutoff:
                old = i
        stabilized = max(current, up_rec)
        stabilized = min(stabilized, down_rec)
        if old >= 0:
            state.recommendations[old] = (desired, now)
        else:
            state.recommendations.append((desired, now))
        if stabilized != desired:
            if desired >= current:
                set_condition(status, "AbleToScale", "True", "ScaleUpStabilized",
                              "recent recommendations were lower than current one, applying "
                              "the lowest recent recommendation", stamp)
            else:
                set_condition(status, "AbleToScale", "True", "ScaleDownStabilized",
                              "recent recommendations were higher than current one, applying "
                              "the highest recent recommendation", stamp)
        else:
            set_condition(status, "AbleToScale", "True", "ReadyForNewScale",
                          "recommended size matches current size", stamp)
        result, reason, message = stabilized, "DesiredWithinRange", (
            "the desired count is within the acceptable range")
        if stabilized > current:
            limit = max(_rate_limit(current, state, up, now, up=True), current)
            if max_replicas > limit:
                maximum, reason, message = limit, "ScaleUpLimit", (
                    "the desired replica count is increasing faster than the maximum scale "
                    "rate")
            else:
                maximum, reason, message = max_replicas, "TooManyReplicas", (
                    "the desired replica count is more than the maximum replica count")
            if stabilized > maximum:
                result = maximum
            else:
                reason, message = "DesiredWithinRange", (
                    "the desired count is within the acceptable range")
        elif stabilized < current:
            limit = min(_rate_limit(current, state, down, now, up=False), current)
            if min_replicas < limit:
                minimum, reason, message = limit, "ScaleDownLimit", (
                    "the desired replica count is decreasing faster than the maximum scale "
                    "rate")
            else:
                minimum, reason, message = min_replicas, "TooFewReplicas", (
                    "the desired replica count is less than the minimum replica count")
            if stabilized < minimum:
                result = minimum
            else:
                reason, message = "DesiredWithinRange", (
                    "the desired count is within the acceptable range")
        set_condition(status, "ScalingLimited", "False" if result == stabilized else "True",
                      reason, message, stamp)
        return result

    # -- status

    def _set_status(self, hpa: Obj, current: int, desired: int, metrics: list[Obj] | None,
                    rescale: bool, stamp: str) -> None:
        old = hpa.get("status") or {}
        status: Obj = {}
        if current:
            status["currentReplicas"] = current
        status["desiredReplicas"] = desired
        if metrics:
            status["currentMetrics"] = metrics
        last = stamp if rescale else old.get("lastScaleTime")
        if last:
            status["lastScaleTime"] = last
        if old.get("conditions"):
            status["conditions"] = old["conditions"]
        hpa["status"] = status

    def _write_status(self, hpa: Obj, original: Obj) -> None:
        if hpa.get("status") == original:
            return
        try:
            self.client.replace_status(HPAS, hpa)
        except errors.NotFound:
            pass
        except errors.APIError as exc:
            self.events.warning(hpa, "FailedUpdateStatus", exc.status.get("message", str(exc)))


class _MetricFailure(Exception):
    def __init__(self, failure: _Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def _requests(pods: list[Obj], resource: str, container: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for pod in pods:
        name = pod["metadata"]["name"]
        request = pod_request(pod, resource, container)
        if request is None:
            missing = next(
                (c.get("name") for c in containers(pod.get("spec") or {})
                 if (not container or c.get("name") == container)
                 and ((c.get("resources") or {}).get("requests") or {}).get(resource) is None),
                container)
            raise MetricError(
                f"missing request for {resource} in container {missing} of Pod {name}")
        out[name] = request
    return out


_DEFAULT_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
    {"type": "Pods", "value": 4, "periodSeconds": 15},
    {"type": "Percent", "value": 100, "periodSeconds": 15}]}
_DEFAULT_DOWN = {"stabilizationWindowSeconds": DOWNSCALE_STABILIZATION, "selectPolicy": "Max",
                 "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _behavior(given: Obj | None) -> Obj | None:
    """``spec.behavior`` with every unset field at its default (the apiserver defaults most;
    the controller's --horizontal-pod-autoscaler-downscale-stabilization fills scale-down's
    window)."""
    if given is None:
        return None
    out: Obj = {}
    for direction, defaults in (("scaleUp", _DEFAULT_UP), ("scaleDown", _DEFAULT_DOWN)):
        rules = dict(given.get(direction) or {})
        for field, value in defaults.items():
            if rules.get(field) is None:
                rules[field] = value
        out[direction] = rules
    return out


def _tolerances(behavior: Obj | None) -> Tolerances:
    if behavior is None:
        return Tolerances()
    down = behavior["scaleDown"].get("tolerance")
    up = behavior["scaleUp"].get("tolerance")
    return Tolerances(TOLERANCE if down is None else float(parse_quantity(down)),
                      TOLERANCE if up is None else float(parse_quantity(up)))


def _changed(events: list[tuple[int, float]], period: float, now: float) -> int:
    cutoff = now - period
    return sum(change for change, when in events if when > cutoff)


def _rate_limit(current: int, state: _State, rules: Obj, now: float, *, up: bool) -> int:
    """How far the rate policies of one direction let the target go from ``current``
    (``calculateScaleUpLimitWithScalingRules`` / ``...ScaleDown...``): each policy proposes a
    bound from the replicas at the start of its period; selectPolicy Max takes the most
    permissive, Min the most restrictive."""
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current
    most = max if up else min  # the most permissive bound in this direction
    least = min if up else max
    pick = least if select == "Min" else most
    result = _MAX_INT32 if pick is min else _MIN_INT32
    for policy in rules.get("policies") or ():
        period = int(policy.get("periodSeconds") or 0)
        start = (current - _changed(state.up_events, period, now)
                 + _changed(state.down_events, period, now))
        value = int(policy.get("value") or 0)
        if policy.get("type") == "Pods":
            proposed = start + value if up else start - value
        elif up:
            proposed = math.ceil(start * (1 + value / 100))
        else:
            proposed = int(start * (1 - value / 100))
        result = pick(result, proposed)
    return result


def _store_event(state: _State, behavior: Obj, before: int, after: int, now: float) -> None:
    """Remember a rescale for the rate policies (events older than the longest policy period
    are dropped)."""
    if after > before:
        rules, events, change = behavior["scaleUp"], state.up_events, after - before
    else:
        rules, events, change = behavior["scaleDown"], state.down_events, before - after
    longest = max((int(p.get("periodSeconds") or 0) for p in rules.get("policies") or ()),
                  default=0)
    events[:] = [(c, w) for c, w in events if w >= now - longest]
    events.append((change, now))
