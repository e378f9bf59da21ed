"""The values kube-apiserver 1.37 fills in when an object is written.

Why this module exists: real clients compare what they sent with what the server hands back
(``kubectl apply`` and ``kubectl diff``, controllers that compare specs, the official Python
client's models), and controllers rely on fields the server always sets (a Deployment's
``strategy``, a Job's ``selector``, a pod's ``status.phase``, its not-ready tolerations). An
embedded apiserver that stored objects as sent would behave subtly unlike a cluster, so every
create and update goes through here.

Four kinds of behaviour are reproduced, each from its place in Kubernetes:

* **Defaulting** (``apply_defaults``), run whenever a body is decoded, on create, update and on
  every read from storage: the ``SetDefaults_*`` functions in
  ``pkg/apis/<group>/<version>/defaults.go``, the walk over nested types that
  ``zz_generated.defaults.go`` does (a type's defaulter runs wherever the type appears, e.g.
  container defaults in every pod template), and the ``+default=`` markers on ``k8s.io/api`` types.
  A few conversion effects that also show in every response are done here too, because they sit on
  the same paths: ``serviceAccount`` mirrors ``serviceAccountName`` and ``status.podIP``/``podIPs``
  agree (``pkg/apis/core/v1/conversion.go``); a StatefulSet's ``volumeClaimTemplates`` carry
  ``apiVersion: v1, kind: PersistentVolumeClaim`` (``pkg/apis/apps/v1/conversion.go``); and Go
  serialises empty non-pointer structs as ``{}``, so a container without resources reads back
  ``resources: {}`` and a template without metadata ``metadata: {}``.
* **Strategy effects on create** (``prepare_for_create``): ``PrepareForCreate`` and
  ``Canonicalize`` in ``pkg/registry/<group>/<resource>/strategy.go``: status reset (serialised
  with its non-omitempty zero fields, e.g. a ReplicaSet's ``status: {replicas: 0}``),
  ``metadata.generation = 1``, a pod's ``status.phase: Pending`` and ``qosClass``, a Namespace's
  ``kubernetes`` finalizer and ``status.phase: Active``, a Job's generated selector, a DaemonSet's
  template generation annotation. Kubernetes decodes the stored object again before answering, so
  defaults are re-applied at the end (that is how a Job without labels ends up with its template's
  labels).
* **Admission** (``admit_pod``, ``admit_pod_priority``): the DefaultTolerationSeconds plugin
  (``plugin/pkg/admission/defaulttolerationseconds``) and the Priority plugin
  (``plugin/pkg/admission/priority``), both enabled by default and both mutating pods only.

Per group, the defaults come from:

* core/v1 (``pkg/apis/core/v1/defaults.go``): Pod, PodTemplate, ReplicationController, Service,
  Endpoints, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Secret, LimitRange.
* apps/v1 (``pkg/apis/apps/v1/defaults.go``): Deployment, ReplicaSet, StatefulSet, DaemonSet.
* batch/v1 (``pkg/apis/batch/v1/defaults.go``): Job, CronJob.
* autoscaling/v1 and v2 (``pkg/apis/autoscaling/v{1,2}/defaults.go``): HorizontalPodAutoscaler.
* networking.k8s.io/v1: NetworkPolicy, IngressClass (Ingress has no defaults).
* discovery.k8s.io/v1: EndpointSlice.  rbac.authorization.k8s.io/v1: RoleBinding,
  ClusterRoleBinding.
* storage.k8s.io/v1: StorageClass.  scheduling.k8s.io/v1: PriorityClass.
* admissionregistration.k8s.io/v1: ValidatingWebhookConfiguration, MutatingWebhookConfiguration.
* policy/v1 (PodDisruptionBudget), coordination.k8s.io (Lease), ConfigMap, ServiceAccount: none
  visible (ConfigMap's ``data = {}`` default serialises to nothing).

Feature gates are taken at their 1.37 defaults: GA and on-by-default beta behaviour is applied
(StatefulSet ``maxUnavailable: 1``, Job ``podReplacementPolicy``, ``matchLabelKeys`` merging),
alpha behaviour is not.

Deliberately not here: a Service's ``ipFamilyPolicy``/``ipFamilies``/``clusterIPs`` (set by the
service registry's IP allocator, not by defaulting); the ServiceAccount admission plugin
(``serviceAccountName: default`` and the ``kube-api-access-*`` volume); DefaultStorageClass,
DefaultIngressClass and StorageObjectInUseProtection admission; rounding of resource quantities to
milli-units; pod-level ``spec.resources`` defaulting; dropping of alpha fields.

Order on create, as in kube-apiserver: ``apply_defaults``; admission (``admit_pod``,
``admit_pod_priority``); ``uid`` and ``name`` assigned; ``prepare_for_create``; validation;
storage. On update: ``apply_defaults``, then ``admit_pod``.

Everything dispatches through dicts keyed by ``(group, kind)`` and touches only the paths that
carry defaults, so a pod is defaulted in a few tens of microseconds.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from kubenb.api.quantity import parse_or_none

__all__ = [
    "PriorityAdmissionError",
    "admit_pod",
    "admit_pod_priority",
    "apply_defaults",
    "defaulted_kinds",
    "pod_qos_class",
    "prepare_for_create",
    "system_priority_classes",
]

Obj = dict[str, Any]
_NOTHING: tuple[()] = ()


# ---------------------------------------------------------------------------------------------
# Small helpers. Bodies come from JSON, so every step checks the type it descends into: a body of
# the wrong shape is left alone here and rejected by validation, never crashes the server.


def _struct(parent: Obj, key: str) -> Obj | None:
    """``parent[key]`` as a dict, created when absent or null: a Go struct is never nil."""
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
        return value
    return value if isinstance(value, dict) else None


def _dict(parent: Obj, key: str) -> Obj | None:
    """``parent[key]`` if it is a dict (a Go pointer field: absent stays absent)."""
    value = parent.get(key)
    return value if isinstance(value, dict) else None


def _list(parent: Obj, key: str) -> list[Any] | tuple[()]:
    value = parent.get(key)
    return value if isinstance(value, list) else _NOTHING


def _labels(obj: Obj) -> Obj | None:
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        labels = meta.get("labels")
        if isinstance(labels, dict):
            return labels
    return None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# Image references: imagePullPolicy defaults to Always only for an explicit or implied ":latest".
# This follows k8s.io/kubernetes/pkg/util/parsers.ParseImageName over the distribution/reference
# grammar: an unparsable reference yields no tag (so IfNotPresent), a digest without a tag too.

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_REFERENCE = re.compile(
    rf"^(?P<name>{_DOMAIN}/{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
)
_HEX64 = re.compile(r"^[a-f0-9]{64}$")


@functools.lru_cache(maxsize=4096)
def _image_tag(image: str) -> str:
    """The tag ParseImageName reports: "latest" when neither tag nor digest is given."""
    if _HEX64.match(image):
        return ""
    # ParseNormalizedNamed: a first component is a registry only if it has a dot or a port, is
    # "localhost" or has upper case; otherwise the image lives under docker.io(/library).
    first, slash, rest = image.partition("/")
    if not slash or (
        "." not in first and ":" not in first and first != "localhost" and first.lower() == first
    ):
        domain, remainder = "docker.io", image
        if "/" not in remainder:
            remainder = "library/" + remainder
    else:
        domain, remainder = first, rest
    remote = remainder.partition(":")[0]
    if remote.lower() != remote:
        return ""
    match = _REFERENCE.match(domain + "/" + remainder)
    if match is None or len(match["name"]) > 255:
        return ""
    if match["tag"]:
        return match["tag"]
    return "" if match["digest"] else "latest"


def _pull_policy(image: object) -> str:
    if isinstance(image, str) and _image_tag(image) == "latest":
        return "Always"
    return "IfNotPresent"


# ---------------------------------------------------------------------------------------------
# core/v1: containers, volumes, pod specs.


def _http_get(action: Obj) -> None:
    if not action.get("path"):
        action["path"] = "/"
    if not action.get("scheme"):
        action["scheme"] = "HTTP"


def _probe(probe: Obj) -> None:
    # Non-pointer int32 fields: Go cannot tell 0 from unset, so an explicit 0 is defaulted too.
    if not probe.get("timeoutSeconds"):
        probe["timeoutSeconds"] = 1
    if not probe.get("periodSeconds"):
        probe["periodSeconds"] = 10
    if not probe.get("successThreshold"):
        probe["successThreshold"] = 1
    if not probe.get("failureThreshold"):
        probe["failureThreshold"] = 3
    action = probe.get("httpGet")
    if isinstance(action, dict):
        _http_get(action)
    grpc = probe.get("grpc")
    if isinstance(grpc, dict) and grpc.get("service") is None:
        grpc["service"] = ""


_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


def _container(c: Obj, *, requests_from_limits: bool, host_ports: bool) -> None:
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = _pull_policy(c.get("image"))
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = "/dev/termination-log"
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    ports = c.get("ports")
    if isinstance(ports, list):
        for port in ports:
            if isinstance(port, dict):
                if not port.get("protocol"):
                    port["protocol"] = "TCP"
                if host_ports and not port.get("hostPort"):
                    container_port = port.get("containerPort")
                    if container_port:
                        port["hostPort"] = container_port
    env = c.get("env")
    if isinstance(env, list):
        for var in env:
            if isinstance(var, dict):
                source = var.get("valueFrom")
                if isinstance(source, dict):
                    field_ref = source.get("fieldRef")
                    if isinstance(field_ref, dict) and not field_ref.get("apiVersion"):
                        field_ref["apiVersion"] = "v1"
    resources = c.get("resources")
    if resources is None:
        c["resources"] = {}
    elif requests_from_limits and isinstance(resources, dict):
        limits = resources.get("limits")
        if isinstance(limits, dict) and limits:
            requests = resources.get("requests")
            if requests is None:
                requests = resources["requests"] = {}
            if isinstance(requests, dict):
                for name, quantity in limits.items():
                    if name not in requests:
                        requests[name] = quantity
    for key in _PROBES:
        probe = c.get(key)
        if isinstance(probe, dict):
            _probe(probe)
    lifecycle = c.get("lifecycle")
    if isinstance(lifecycle, dict):
        for key in ("postStart", "preStop"):
            handler = lifecycle.get(key)
            if isinstance(handler, dict):
                action = handler.get("httpGet")
                if isinstance(action, dict):
                    _http_get(action)


def _field_refs(items: object) -> None:
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict):
                ref = item.get("fieldRef")
                if isinstance(ref, dict) and not ref.get("apiVersion"):
                    ref["apiVersion"] = "v1"


def _default_mode(source: Obj) -> None:
    if source.get("defaultMode") is None:
        source["defaultMode"] = 420  # 0644


def _downward_api_volume(source: Obj) -> None:
    _default_mode(source)
    _field_refs(source.get("items"))


def _projected_volume(source: Obj) -> None:
    _default_mode(source)
    for projection in _list(source, "sources"):
        if not isinstance(projection, dict):
            continue
        downward = projection.get("downwardAPI")
        if isinstance(downward, dict):
            _field_refs(downward.get("items"))
        token = projection.get("serviceAccountToken")
        if isinstance(token, dict) and token.get("expirationSeconds") is None:
            token["expirationSeconds"] = 3600


def _host_path(source: Obj) -> None:
    if source.get("type") is None:
        source["type"] = ""  # HostPathUnset


def _iscsi(source: Obj) -> None:
    if not source.get("iscsiInterface"):
        source["iscsiInterface"] = "default"


def _rbd(source: Obj) -> None:
    if not source.get("pool"):
        source["pool"] = "rbd"
    if not source.get("user"):
        source["user"] = "admin"
    if not source.get("keyring"):
        source["keyring"] = "/etc/ceph/keyring"


def _azure_disk(source: Obj) -> None:
    if source.get("cachingMode") is None:
        source["cachingMode"] = "ReadWrite"
    if source.get("kind") is None:
        source["kind"] = "Shared"
    if source.get("fsType") is None:
        source["fsType"] = "ext4"
    if source.get("readOnly") is None:
        source["readOnly"] = False


def _scale_io(source: Obj) -> None:
    if not source.get("storageMode"):
        source["storageMode"] = "ThinProvisioned"
    if not source.get("fsType"):
        source["fsType"] = "xfs"


def _pvc_spec(spec: Obj) -> None:
    if spec.get("volumeMode") is None:
        spec["volumeMode"] = "Filesystem"


def _ephemeral_volume(source: Obj) -> None:
    template = source.get("volumeClaimTemplate")
    if isinstance(template, dict):
        spec = _struct(template, "spec")
        if spec is not None:
            _pvc_spec(spec)


def _image_volume(source: Obj) -> None:
    if not source.get("pullPolicy"):
        source["pullPolicy"] = _pull_policy(source.get("reference"))


_VOLUME_SOURCES: dict[str, Callable[[Obj], None]] = {
    "hostPath": _host_path,
    "secret": _default_mode,
    "configMap": _default_mode,
    "downwardAPI": _downward_api_volume,
    "projected": _projected_volume,
    "iscsi": _iscsi,
    "rbd": _rbd,
    "azureDisk": _azure_disk,
    "scaleIO": _scale_io,
    "ephemeral": _ephemeral_volume,
    "image": _image_volume,
}

_PV_SOURCES: dict[str, Callable[[Obj], None]] = {
    "hostPath": _host_path,
    "iscsi": _iscsi,
    "rbd": _rbd,
    "azureDisk": _azure_disk,
    "scaleIO": _scale_io,
}


def _volume(volume: Obj) -> None:
    has_source = False
    for key, source in volume.items():
        if key == "name" or source is None:
            continue
        has_source = True
        default = _VOLUME_SOURCES.get(key)
        if default is not None and isinstance(source, dict):
            default(source)
    if not has_source:
        volume["emptyDir"] = {}


_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def _pod_spec(spec: Obj, *, pod: bool) -> None:
    """SetDefaults_PodSpec and the nested defaulters; ``pod`` adds what only a Pod gets."""
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if not spec.get("schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    # Conversion: serviceAccount is the deprecated alias; serviceAccountName wins, and is mirrored.
    account = spec.get("serviceAccountName")
    if account:
        if spec.get("serviceAccount") != account:
            spec["serviceAccount"] = account
    else:
        alias = spec.get("serviceAccount")
        if alias:
            spec["serviceAccountName"] = alias
    host_network = pod and spec.get("hostNetwork") is True
    for key in _CONTAINER_LISTS:
        containers = spec.get(key)
        if isinstance(containers, list):
            # Requests-from-limits and hostNetwork ports are SetDefaults_Pod: pods only, and only
            # for containers that can have resources and ports.
            pod_only = pod and key != "ephemeralContainers"
            for container in containers:
                if isinstance(container, dict):
                    _container(
                        container,
                        requests_from_limits=pod_only,
                        host_ports=host_network and pod_only,
                    )
    volumes = spec.get("volumes")
    if isinstance(volumes, list):
        for volume in volumes:
            if isinstance(volume, dict):
                _volume(volume)


def _pod_template(parent: Obj, key: str = "template") -> None:
    """A PodTemplateSpec field: pod spec defaults, and ``metadata: {}`` as Go serialises it."""
    template = parent.get(key)
    if not isinstance(template, dict):
        return
    if template.get("metadata") is None:
        template["metadata"] = {}
    spec = template.get("spec")
    if isinstance(spec, dict):
        _pod_spec(spec, pod=False)


def _pod_status_ips(status: Obj) -> None:
    # Conversion: podIP is authoritative when it disagrees with podIPs[0]; otherwise the singular
    # field is filled from the list. The same holds for hostIP/hostIPs.
    for single, plural in (("podIP", "podIPs"), ("hostIP", "hostIPs")):
        ip = status.get(single)
        ips = status.get(plural)
        if ip:
            if not (
                isinstance(ips, list)
                and ips
                and isinstance(ips[0], dict)
                and ips[0].get("ip") == ip
            ):
                status[plural] = [{"ip": ip}]
        elif isinstance(ips, list) and ips and isinstance(ips[0], dict) and ips[0].get("ip"):
            status[single] = ips[0]["ip"]


def _pod(obj: Obj, version: str) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        _pod_spec(spec, pod=True)
        if spec.get("enableServiceLinks") is None:
            spec["enableServiceLinks"] = True
    status = obj.get("status")
    if isinstance(status, dict):
        _pod_status_ips(status)


def _pod_template_kind(obj: Obj, version: str) -> None:
    _pod_template(obj)


def _replication_controller(obj: Obj, version: str) -> None:
    spec = _struct(obj, "spec")
    if spec is None:
        return
    template = spec.get("template")
    labels = _labels(template) if isinstance(template, dict) else None
    if labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        meta = _struct(obj, "metadata")
        if meta is not None and not meta.get("labels"):
            meta["labels"] = dict(labels)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    _pod_template(spec)


def _externally_accessible(spec: Obj, service_type: str) -> bool:
    return service_type in ("LoadBalancer", "NodePort") or (
        service_type == "ClusterIP" and bool(spec.get("externalIPs"))
    )


def _service(obj: Obj, version: str) -> None:
    spec = _struct(obj, "spec")
    if spec is None:
        return
    affinity = spec.get("sessionAffinity")
    if not affinity:
        affinity = spec["sessionAffinity"] = "None"
    if affinity == "None":
        spec.pop("sessionAffinityConfig", None)
    elif affinity == "ClientIP":
        config = spec.get("sessionAffinityConfig")
        client_ip = config.get("clientIP") if isinstance(config, dict) else None
        if not isinstance(client_ip, dict) or client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    service_type = spec.get("type")
    if not service_type:
        service_type = spec["type"] = "ClusterIP"
    for port in _list(spec, "ports"):
        if isinstance(port, dict):
            if not port.get("protocol"):
                port["protocol"] = "TCP"
            target = port.get("targetPort")
            if target is None or target == 0 or target == "":
                number = port.get("port")
                port["targetPort"] = number if number is not None else 0
    if not spec.get("externalTrafficPolicy") and _externally_accessible(spec, service_type):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and service_type in (
        "ClusterIP",
        "NodePort",
        "LoadBalancer",
    ):
        spec["internalTrafficPolicy"] = "Cluster"
    if service_type == "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is None:
            spec["allocateLoadBalancerNodePorts"] = True
        status = _dict(obj, "status")
        balancer = _dict(status, "loadBalancer") if status is not None else None
        if balancer is not None:
            for ingress in _list(balancer, "ingress"):
                if (
                    isinstance(ingress, dict)
                    and ingress.get("ip")
                    and ingress.get("ipMode") is None
                ):
                    ingress["ipMode"] = "VIP"


def _endpoints(obj: Obj, version: str) -> None:
    for subset in _list(obj, "subsets"):
        if isinstance(subset, dict):
            for port in _list(subset, "ports"):
                if isinstance(port, dict) and not port.get("protocol"):
                    port["protocol"] = "TCP"


def _namespace(obj: Obj, version: str) -> None:
    meta = _dict(obj, "metadata")
    name = meta.get("name") if meta is not None else None
    if meta is not None and name:
        labels = meta.get("labels")
        if labels is None:
            labels = meta["labels"] = {}
        if isinstance(labels, dict):
            labels["kubernetes.io/metadata.name"] = name
    status = _struct(obj, "status")
    if status is not None and not status.get("phase"):
        status["phase"] = "Active"


def _node(obj: Obj, version: str) -> None:
    status = _dict(obj, "status")
    if status is not None and status.get("allocatable") is None:
        capacity = status.get("capacity")
        if isinstance(capacity, dict):
            status["allocatable"] = dict(capacity)


def _limit_range(obj: Obj, version: str) -> None:
    spec = _dict(obj, "spec")
    if spec is None:
        return
    for item in _list(spec, "limits"):
        if not isinstance(item, dict) or item.get("type") != "Container":
            continue
        # Go creates the maps and then drops them again when they stay empty (omitempty), so
        # only a map that receives something shows up.
        default = item.get("default")
        default = dict(default) if isinstance(default, dict) else {}
        maximum = item.get("max")
        if isinstance(maximum, dict):
            for name, quantity in maximum.items():
                default.setdefault(name, quantity)
        request = item.get("defaultRequest")
        request = dict(request) if isinstance(request, dict) else {}
        for name, quantity in default.items():
            request.setdefault(name, quantity)
        minimum = item.get("min")
        if isinstance(minimum, dict):
            for name, quantity in minimum.items():
                request.setdefault(name, quantity)
        if default:
            item["default"] = default
        if request:
            item["defaultRequest"] = request


def _secret(obj: Obj, version: str) -> None:
    if not obj.get("type"):
        obj["type"] = "Opaque"


def _persistent_volume(obj: Obj, version: str) -> None:
    status = _struct(obj, "status")
    if status is not None and not status.get("phase"):
        status["phase"] = "Pending"
    spec = _struct(obj, "spec")
    if spec is None:
        return
    if not spec.get("persistentVolumeReclaimPolicy"):
        spec["persistentVolumeReclaimPolicy"] = "Retain"
    if spec.get("volumeMode") is None:
        spec["volumeMode"] = "Filesystem"
    for key, default in _PV_SOURCES.items():
        source = spec.get(key)
        if isinstance(source, dict):
            default(source)


def _claim(claim: Obj) -> None:
    """SetDefaults_PersistentVolumeClaim and its spec: for claims and claim templates alike."""
    status = _struct(claim, "status")
    if status is not None and not status.get("phase"):
        status["phase"] = "Pending"
    spec = _struct(claim, "spec")
    if spec is not None:
        _pvc_spec(spec)


def _persistent_volume_claim(obj: Obj, version: str) -> None:
    _claim(obj)


# ---------------------------------------------------------------------------------------------
# apps/v1


def _deployment(obj: Obj, version: str) -> None:
    spec = _struct(obj, "spec")
    if spec is None:
        return
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = _struct(spec, "strategy")
    if strategy is not None:
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
        if strategy["type"] == "RollingUpdate":
            rolling = _struct(strategy, "rollingUpdate")
            if rolling is not None:
                if rolling.get("maxUnavailable") is None:
                    rolling["maxUnavailable"] = "25%"
                if rolling.get("maxSurge") is None:
                    rolling["maxSurge"] = "25%"
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600
    _pod_template(spec)


def _replica_set(obj: Obj, version: str) -> None:
    spec = _struct(obj, "spec")
    if spec is None:
        return
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    _pod_template(spec)


def _stateful_set(obj: Obj, version: str) -> None:
    spec = _struct(obj, "spec")
    if spec is None:
        return
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    strategy = _struct(spec, "updateStrategy")
    if strategy is not None:
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
            if strategy.get("rollingUpdate") is None:
                strategy["rollingUpdate"] = {}
        # An explicit type RollingUpdate without rollingUpdate gets no partition: as in Go.
        rolling = _dict(strategy, "rollingUpdate")
        if strategy["type"] == "RollingUpdate" and rolling is not None:
            if rolling.get("partition") is None:
                rolling["partition"] = 0
            if rolling.get("maxUnavailable") is None:  # MaxUnavailableStatefulSet, beta in 1.35
                rolling["maxUnavailable"] = 1
    retention = _struct(spec, "persistentVolumeClaimRetentionPolicy")
    if retention is not None:
        if not retention.get("whenDeleted"):
            retention["whenDeleted"] = "Retain"
        if not retention.get("whenScaled"):
            retention["whenScaled"] = "Retain"
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    _pod_template(spec)
    for claim in _list(spec, "volumeClaimTemplates"):
        if isinstance(claim, dict):
            claim["apiVersion"] = "v1"
            claim["kind"] = "PersistentVolumeClaim"
            _claim(claim)


def _daemon_set(obj: Obj, version: str) -> None:
    spec = _struct(obj, "spec")
    if spec is None:
        return
    strategy = _struct(spec, "updateStrategy")
    if strategy is not None:
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
        if strategy["type"] == "RollingUpdate":
            rolling = _struct(strategy, "rollingUpdate")
            if rolling is not None:
                if rolling.get("maxUnavailable") is None:
                    rolling["maxUnavailable"] = 1
                if rolling.get("maxSurge") is None:
                    rolling["maxSurge"] = 0
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    _pod_template(spec)


# ---------------------------------------------------------------------------------------------
# batch/v1


def _pod_failure_policy(spec: Obj) -> None:
    policy = spec.get("podFailurePolicy")
    if isinstance(policy, dict):
        for rule in _list(policy, "rules"):
            if isinstance(rule, dict):
                for pattern in _list(rule, "onPodConditions"):
                    if isinstance(pattern, dict) and not pattern.get("status"):
                        pattern["status"] = "True"


def _job(obj: Obj, version: str) -> None:
    spec = _struct(obj, "spec")
    if spec is None:
        return
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    template = spec.get("template")
    labels = _labels(template) if isinstance(template, dict) else None
    if labels:
        meta = _struct(obj, "metadata")
        if meta is not None and not meta.get("labels"):
            meta["labels"] = dict(labels)
    if spec.get("completionMode") is None:
        spec["completionMode"] = "NonIndexed"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    _pod_failure_policy(spec)
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = (
            "Failed" if spec.get("podFailurePolicy") is not None else "TerminatingOrFailed"
        )
    if spec.get("manualSelector") is None:
        spec["manualSelector"] = False
    _pod_template(spec)


def _cron_job(obj: Obj, version: str) -> None:
    spec = _struct(obj, "spec")
    if spec is None:
        return
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if spec.get("successfulJobsHistoryLimit") is None:
        spec["successfulJobsHistoryLimit"] = 3
    if spec.get("failedJobsHistoryLimit") is None:
        spec["failedJobsHistoryLimit"] = 1
    # SetDefaults_Job is a Job defaulter, not a JobSpec one: the job template gets only the
    # defaults of the types inside it (pod spec, pod failure policy patterns).
    job_template = _struct(spec, "jobTemplate")
    if job_template is None:
        return
    if job_template.get("metadata") is None:
        job_template["metadata"] = {}
    job_spec = _dict(job_template, "spec")
    if job_spec is not None:
        _pod_failure_policy(job_spec)
        _pod_template(job_spec)


# ---------------------------------------------------------------------------------------------
# autoscaling


def _scale_up_rules() -> Obj:
    return {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    }


def _scale_down_rules() -> Obj:
    # No stabilizationWindowSeconds: the controller's --horizontal-pod-autoscaler-downscale-
    # stabilization flag applies when it is unset.
    return {
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    }


_SCALING_RULE_FIELDS = ("selectPolicy", "stabilizationWindowSeconds", "policies", "tolerance")


def _scaling_rules(given: object, rules: Obj) -> Obj:
    if isinstance(given, dict):
        for key in _SCALING_RULE_FIELDS:
            value = given.get(key)
            if value is not None:
                rules[key] = value
    return rules


def _hpa(obj: Obj, version: str) -> None:
    spec = _struct(obj, "spec")
    if spec is None:
        return
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if version == "v1":
        # Stored as autoscaling/v2, where the default CPU metric below applies; read back as v1
        # that metric is targetCPUUtilizationPercentage, unless other metrics ride along in the
        # v1 metrics annotation.
        meta = _dict(obj, "metadata")
        annotations = _dict(meta, "annotations") if meta is not None else None
        if spec.get("targetCPUUtilizationPercentage") is None and not (
            annotations and annotations.get("autoscaling.alpha.kubernetes.io/metrics")
        ):
            spec["targetCPUUtilizationPercentage"] = 80
        return
    if not spec.get("metrics"):
        target = {"type": "Utilization", "averageUtilization": 80}
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": target}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _scaling_rules(behavior.get("scaleUp"), _scale_up_rules())
        behavior["scaleDown"] = _scaling_rules(behavior.get("scaleDown"), _scale_down_rules())


# ---------------------------------------------------------------------------------------------
# networking, discovery, rbac, storage, scheduling, admissionregistration


def _network_policy(obj: Obj, version: str) -> None:
    spec = _struct(obj, "spec")
    if spec is None:
        return
    for direction in ("ingress", "egress"):
        for rule in _list(spec, direction):
            if isinstance(rule, dict):
                for port in _list(rule, "ports"):
                    if isinstance(port, dict) and port.get("protocol") is None:
                        port["protocol"] = "TCP"
    if not spec.get("policyTypes"):
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types


def _ingress_class(obj: Obj, version: str) -> None:
    spec = _dict(obj, "spec")
    parameters = _dict(spec, "parameters") if spec is not None else None
    if parameters is not None and parameters.get("scope") is None:
        parameters["scope"] = "Cluster"


def _endpoint_slice(obj: Obj, version: str) -> None:
    for port in _list(obj, "ports"):
        if isinstance(port, dict):
            if port.get("name") is None:
                port["name"] = ""
            if port.get("protocol") is None:
                port["protocol"] = "TCP"


_RBAC_GROUP = "rbac.authorization.k8s.io"


def _role_binding(obj: Obj, version: str) -> None:
    role_ref = _struct(obj, "roleRef")
    if role_ref is not None and not role_ref.get("apiGroup"):
        role_ref["apiGroup"] = _RBAC_GROUP
    for subject in _list(obj, "subjects"):
        if isinstance(subject, dict) and not subject.get("apiGroup"):
            kind = subject.get("kind")
            if kind in ("User", "Group"):
                subject["apiGroup"] = _RBAC_GROUP
            # A ServiceAccount's group is "" already.


def _storage_class(obj: Obj, version: str) -> None:
    if obj.get("reclaimPolicy") is None:
        obj["reclaimPolicy"] = "Delete"
    if obj.get("volumeBindingMode") is None:
        obj["volumeBindingMode"] = "Immediate"


def _priority_class(obj: Obj, version: str) -> None:
    if obj.get("preemptionPolicy") is None:
        obj["preemptionPolicy"] = "PreemptLowerPriority"


def _webhooks(obj: Obj, *, mutating: bool) -> None:
    for hook in _list(obj, "webhooks"):
        if not isinstance(hook, dict):
            continue
        if hook.get("failurePolicy") is None:
            hook["failurePolicy"] = "Fail"
        if hook.get("matchPolicy") is None:
            hook["matchPolicy"] = "Equivalent"
        if hook.get("namespaceSelector") is None:
            hook["namespaceSelector"] = {}
        if hook.get("objectSelector") is None:
            hook["objectSelector"] = {}
        if hook.get("timeoutSeconds") is None:
            hook["timeoutSeconds"] = 10
        if mutating and hook.get("reinvocationPolicy") is None:
            hook["reinvocationPolicy"] = "Never"
        for rule in _list(hook, "rules"):
            if isinstance(rule, dict) and rule.get("scope") is None:
                rule["scope"] = "*"
        config = _dict(hook, "clientConfig")
        service = _dict(config, "service") if config is not None else None
        if service is not None and service.get("port") is None:
            service["port"] = 443


def _validating_webhooks(obj: Obj, version: str) -> None:
    _webhooks(obj, mutating=False)


def _mutating_webhooks(obj: Obj, version: str) -> None:
    _webhooks(obj, mutating=True)


def _rfc3339(value: Any, *, micro: bool) -> Any:
    """A ``metav1.Time`` (whole seconds) or ``MicroTime`` as Go writes it back: UTC, ``Z``.
    What is already in that form, or is not a time, is returned as it is."""
    if not isinstance(value, str) or (value.endswith("Z") and len(value) == (27 if micro
                                                                                else 20)):
        return value
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if when.tzinfo is None:
        return value
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def _event(obj: Obj, version: str) -> None:
    """An Event's times as the apiserver stores them (clients such as kopf send
    ``2026-01-15T10:00:00.123456+00:00``; Go decodes and writes ``...Z``)."""
    for key in ("firstTimestamp", "lastTimestamp"):
        if key in obj:
            obj[key] = _rfc3339(obj[key], micro=False)
    if "eventTime" in obj:
        obj["eventTime"] = _rfc3339(obj["eventTime"], micro=True)
    series = obj.get("series")
    if isinstance(series, dict) and "lastObservedTime" in series:
        series["lastObservedTime"] = _rfc3339(series["lastObservedTime"], micro=True)


_Defaulter = Callable[[Obj, str], None]

_DEFAULTERS: dict[tuple[str, str], _Defaulter] = {
    ("", "Event"): _event,
    ("", "Pod"): _pod,
    ("", "PodTemplate"): _pod_template_kind,
    ("", "ReplicationController"): _replication_controller,
    ("", "Service"): _service,
    ("", "Endpoints"): _endpoints,
    ("", "Namespace"): _namespace,
    ("", "Node"): _node,
    ("", "LimitRange"): _limit_range,
    ("", "Secret"): _secret,
    ("", "PersistentVolume"): _persistent_volume,
    ("", "PersistentVolumeClaim"): _persistent_volume_claim,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replica_set,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cron_job,
    ("autoscaling", "HorizontalPodAutoscaler"): _hpa,
    ("networking.k8s.io", "NetworkPolicy"): _network_policy,
    ("networking.k8s.io", "IngressClass"): _ingress_class,
    ("discovery.k8s.io", "EndpointSlice"): _endpoint_slice,
    (_RBAC_GROUP, "RoleBinding"): _role_binding,
    (_RBAC_GROUP, "ClusterRoleBinding"): _role_binding,
    ("storage.k8s.io", "StorageClass"): _storage_class,
    ("scheduling.k8s.io", "PriorityClass"): _priority_class,
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): _validating_webhooks,
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): _mutating_webhooks,
}


def defaulted_kinds() -> frozenset[tuple[str, str]]:
    """The ``(group, kind)`` pairs that have defaults; every other kind is left as sent."""
    return frozenset(_DEFAULTERS)


def apply_defaults(*, group: str, version: str, kind: str, obj: dict[str, Any]) -> None:
    """Fill in the defaults kube-apiserver applies when it decodes ``obj``; mutates in place.

    Idempotent, and never overwrites a value the client set (except where Kubernetes itself
    treats a zero value as unset, e.g. a probe's ``timeoutSeconds: 0``). A ``<Kind>List``
    defaults each of its items.
    """
    defaulter = _DEFAULTERS.get((group, kind))
    if defaulter is not None:
        defaulter(obj, version)
        return
    if kind.endswith("List"):
        defaulter = _DEFAULTERS.get((group, kind[:-4]))
        if defaulter is not None:
            for item in _list(obj, "items"):
                if isinstance(item, dict):
                    defaulter(item, version)


# ---------------------------------------------------------------------------------------------
# Quantities and QoS: the pod strategy stores status.qosClass on create, computed as in
# pkg/apis/core/helper/qos.ComputePodQOS (cpu and memory only, positive quantities summed).

_NANO = Fraction(10**9)


def _nanos(value: Fraction) -> int | Fraction:
    # Whole nano-units as a plain int: the sums and comparisons the QoS class needs are then
    # integer arithmetic; anything finer stays an exact Fraction.
    scaled = value * _NANO
    return int(scaled) if scaled.denominator == 1 else scaled


def _quantity(value: object) -> int | Fraction | None:
    """A resource quantity in nano-units, or None when it is not one."""
    parsed = parse_or_none(value)
    return None if parsed is None else _nanos(parsed)


_QOS_RESOURCES = ("cpu", "memory")


def _add_positive(total: dict[str, int | Fraction], resources: object) -> set[str]:
    """Add the positive cpu/memory quantities of ``resources`` to ``total``; return their names."""
    found: set[str] = set()
    if isinstance(resources, dict):
        for name in _QOS_RESOURCES:
            value = _quantity(resources.get(name))
            if value is not None and value > 0:
                previous = total.get(name)
                total[name] = value if previous is None else previous + value
                found.add(name)
    return found


def pod_qos_class(pod: Obj) -> str:
    """The QoS class (Guaranteed, Burstable, BestEffort) Kubernetes computes for a defaulted pod."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return "BestEffort"
    requests: dict[str, int | Fraction] = {}
    limits: dict[str, int | Fraction] = {}
    guaranteed = True
    pod_resources = spec.get("resources")
    if isinstance(pod_resources, dict):
        # PodLevelResources (beta, on): pod-level resources decide the class on their own.
        _add_positive(requests, pod_resources.get("requests"))
        pod_limits = pod_resources.get("limits")
        if isinstance(pod_limits, dict) and pod_limits:
            if len(_add_positive(limits, pod_limits)) < len(_QOS_RESOURCES):
                guaranteed = False
        else:
            guaranteed = False
    else:
        for key in ("containers", "initContainers"):
            for container in _list(spec, key):
                if not isinstance(container, dict):
                    continue
                resources = container.get("resources")
                if not isinstance(resources, dict):
                    resources = {}
                _add_positive(requests, resources.get("requests"))
                if len(_add_positive(limits, resources.get("limits"))) < len(_QOS_RESOURCES):
                    guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed:
        for name, request in requests.items():
            if limits.get(name) != request:
                guaranteed = False
                break
    if guaranteed and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


# ---------------------------------------------------------------------------------------------
# Strategy effects on create.

_SCHEDULING_GATED = "Scheduling is blocked due to non-empty scheduling gates"
_APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
_TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


def _merge_label_keys(term: Obj, labels: Mapping[str, Any], *, mismatch: bool) -> None:
    # matchLabelKeys/mismatchLabelKeys become explicit expressions in the selector, so the
    # scheduler and later readers see what the pod really selects.
    selector = term.get("labelSelector")
    if not isinstance(selector, dict):
        return  # a nil selector matches nothing; Kubernetes leaves it so
    pairs = [("matchLabelKeys", "In")]
    if mismatch:
        pairs.append(("mismatchLabelKeys", "NotIn"))
    for field, operator in pairs:
        for key in _list(term, field):
            if isinstance(key, str) and key in labels:
                expressions = selector.get("matchExpressions")
                if not isinstance(expressions, list):
                    expressions = selector["matchExpressions"] = []
                expressions.append({"key": key, "operator": operator, "values": [labels[key]]})


def _mutate_pod_affinity(spec: Obj, labels: Mapping[str, Any]) -> None:
    affinity = _dict(spec, "affinity")
    if affinity is None:
        return
    for kind in ("podAffinity", "podAntiAffinity"):
        terms = _dict(affinity, kind)
        if terms is None:
            continue
        for weighted in _list(terms, "preferredDuringSchedulingIgnoredDuringExecution"):
            if isinstance(weighted, dict):
                term = _dict(weighted, "podAffinityTerm")
                if term is not None:
                    _merge_label_keys(term, labels, mismatch=True)
        for term in _list(terms, "requiredDuringSchedulingIgnoredDuringExecution"):
            if isinstance(term, dict):
                _merge_label_keys(term, labels, mismatch=True)


def _apparmor_field(annotation: object) -> Obj | None:
    if annotation == "unconfined":
        return {"type": "Unconfined"}
    if annotation == "runtime/default":
        return {"type": "RuntimeDefault"}
    if isinstance(annotation, str) and annotation.startswith("localhost/"):
        profile = annotation[len("localhost/") :]
        # ValidateAppArmorProfileField: non-empty, at most 4095 bytes, not padded.
        if profile and len(profile.encode()) <= 4095 and profile.strip() == profile:
            return {"type": "Localhost", "localhostProfile": profile}
    return None


def _apparmor_version_skew(spec: Obj, annotations: Mapping[str, Any]) -> None:
    # The deprecated per-container annotation is copied into the field when the field is unset,
    # unless it only repeats the pod-level profile.
    os = _dict(spec, "os")
    if os is not None and os.get("name") == "windows":
        return
    pod_context = _dict(spec, "securityContext")
    pod_profile = pod_context.get("appArmorProfile") if pod_context is not None else None
    for key in _CONTAINER_LISTS:
        for container in _list(spec, key):
            if not isinstance(container, dict):
                continue
            annotation = annotations.get(_APPARMOR_PREFIX + str(container.get("name", "")))
            if annotation is None:
                continue
            context = container.get("securityContext")
            if isinstance(context, dict) and context.get("appArmorProfile") is not None:
                continue
            profile = _apparmor_field(annotation)
            if profile is None or profile == pod_profile:
                continue
            if not isinstance(context, dict):
                context = container["securityContext"] = {}
            context["appArmorProfile"] = profile


def _prepare_pod(obj: Obj, now: str | None) -> None:
    meta = _struct(obj, "metadata")
    if meta is not None:
        meta["generation"] = 1
    status: Obj = {"phase": "Pending", "qosClass": pod_qos_class(obj)}
    obj["status"] = status
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("schedulingGates"):
        status["conditions"] = [
            {
                "type": "PodScheduled",
                "status": "False",
                "lastProbeTime": None,
                "lastTransitionTime": now or _now(),
                "reason": "SchedulingGated",
                "message": _SCHEDULING_GATED,
            }
        ]
    labels = _labels(obj) or {}
    _mutate_pod_affinity(spec, labels)
    for constraint in _list(spec, "topologySpreadConstraints"):
        if isinstance(constraint, dict):
            _merge_label_keys(constraint, labels, mismatch=False)
    annotations = meta.get("annotations") if meta is not None else None
    if isinstance(annotations, dict) and annotations:
        _apparmor_version_skew(spec, annotations)


def _prepare_namespace(obj: Obj, now: str | None) -> None:
    obj["status"] = {"phase": "Active"}
    spec = _struct(obj, "spec")
    if spec is not None:
        finalizers = spec.get("finalizers")
        if finalizers is None:
            finalizers = spec["finalizers"] = []
        if isinstance(finalizers, list) and "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
    # Canonicalize repeats the metadata.name label for names generated after defaulting.
    _namespace(obj, "v1")


def _prepare_job(obj: Obj, now: str | None) -> None:
    meta = _struct(obj, "metadata")
    if meta is None:
        return
    meta["generation"] = 1
    obj["status"] = {}
    spec = _dict(obj, "spec")
    if spec is None or spec.get("manualSelector") is True:
        return
    uid = meta.get("uid")
    if not uid:
        # kube-apiserver fills uid (FillObjectMetaSystemFields) just before PrepareForCreate, and
        # the selector must carry the uid the Job is stored with.
        uid = meta["uid"] = str(uuid.uuid4())
    name = meta.get("name") or ""
    template = _struct(spec, "template")
    template_meta = _struct(template, "metadata") if template is not None else None
    if template_meta is None:
        return
    labels = template_meta.get("labels")
    if labels is None:
        labels = template_meta["labels"] = {}
    elif not isinstance(labels, dict):
        return  # validation rejects it
    # Defaulting copied the template labels into the Job's own labels as the *same* Go map, so
    # the generated labels show up on the Job too; a copy here must be refreshed to match.
    shares_labels = bool(labels) and meta.get("labels") == labels
    for key in ("job-name", "batch.kubernetes.io/job-name"):
        labels.setdefault(key, name)
    for key in ("controller-uid", "batch.kubernetes.io/controller-uid"):
        labels.setdefault(key, uid)
    selector = spec.get("selector")
    if selector is None:
        selector = spec["selector"] = {}
    if isinstance(selector, dict):
        match_labels = selector.get("matchLabels")
        if match_labels is None:
            match_labels = selector["matchLabels"] = {}
        if isinstance(match_labels, dict):
            match_labels.setdefault("batch.kubernetes.io/controller-uid", uid)
    if shares_labels:
        meta["labels"] = dict(labels)


def _prepare_daemon_set(obj: Obj, now: str | None) -> None:
    meta = _struct(obj, "metadata")
    if meta is None:
        return
    meta["generation"] = 1
    obj["status"] = {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    }
    # The internal TemplateGeneration round-trips through this annotation in apps/v1.
    annotations = meta.get("annotations")
    if annotations is None:
        annotations = meta["annotations"] = {}
    elif not isinstance(annotations, dict):
        return
    value = annotations.get(_TEMPLATE_GENERATION)
    try:
        current = int(value) if value is not None else 0
    except (TypeError, ValueError):
        return  # conversion rejects it; not ours to repair
    if current < 1:
        annotations[_TEMPLATE_GENERATION] = "1"


def _prepare_pvc(obj: Obj, now: str | None) -> None:
    obj["status"] = {}
    spec = _dict(obj, "spec")
    if spec is None:
        return
    # NormalizeDataSources (AnyVolumeDataSource, GA): each of the two fields implies the other.
    source = _dict(spec, "dataSource")
    ref = _dict(spec, "dataSourceRef")
    if source is not None and ref is None:
        spec["dataSourceRef"] = {
            k: source[k] for k in ("apiGroup", "kind", "name") if source.get(k) is not None
        }
    elif ref is not None and source is None and not ref.get("namespace"):
        spec["dataSource"] = {
            k: ref[k] for k in ("apiGroup", "kind", "name") if ref.get(k) is not None
        }


def _prepare_pv(obj: Obj, now: str | None) -> None:
    obj["status"] = {"phase": "Pending", "lastPhaseTransitionTime": now or _now()}


def _prepare_hpa(obj: Obj, now: str | None) -> None:
    if obj.get("apiVersion") == "autoscaling/v1":
        obj["status"] = {"currentReplicas": 0, "desiredReplicas": 0}
    else:
        obj["status"] = {"currentMetrics": None, "desiredReplicas": 0}  # no omitempty in v2


_Preparer = Callable[[Obj, str | None], None]


def _status_and_generation(status: Obj | None, *, generation: bool) -> _Preparer:
    """A strategy that resets status to ``status`` (None: leaves it) and/or sets generation 1."""

    def prepare(obj: Obj, now: str | None) -> None:
        if generation:
            meta = _struct(obj, "metadata")
            if meta is not None:
                meta["generation"] = 1
        if status is not None:
            # Fresh copies: the zero status must not be shared between stored objects.
            obj["status"] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in status.items()}

    return prepare


_PREPARERS: dict[tuple[str, str], _Preparer] = {
    ("", "Pod"): _prepare_pod,
    ("", "Namespace"): _prepare_namespace,
    ("", "Service"): _status_and_generation({"loadBalancer": {}}, generation=False),
    ("", "ReplicationController"): _status_and_generation({"replicas": 0}, generation=True),
    ("", "PersistentVolumeClaim"): _prepare_pvc,
    ("", "PersistentVolume"): _prepare_pv,
    ("", "ResourceQuota"): _status_and_generation({}, generation=False),
    ("apps", "Deployment"): _status_and_generation({}, generation=True),
    ("apps", "ReplicaSet"): _status_and_generation({"replicas": 0}, generation=True),
    ("apps", "StatefulSet"): _status_and_generation(
        {"replicas": 0, "availableReplicas": 0}, generation=True
    ),
    ("apps", "DaemonSet"): _prepare_daemon_set,
    ("batch", "Job"): _prepare_job,
    ("batch", "CronJob"): _status_and_generation({}, generation=True),
    ("autoscaling", "HorizontalPodAutoscaler"): _prepare_hpa,
    ("policy", "PodDisruptionBudget"): _status_and_generation(
        {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0},
        generation=True,
    ),
    ("networking.k8s.io", "Ingress"): _status_and_generation({"loadBalancer": {}}, generation=True),
    ("networking.k8s.io", "NetworkPolicy"): _status_and_generation(None, generation=True),
    ("discovery.k8s.io", "EndpointSlice"): _status_and_generation(None, generation=True),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): _status_and_generation(
        None, generation=True
    ),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): _status_and_generation(
        None, generation=True
    ),
}


def _version(obj: Obj, group: str) -> str:
    api_version = obj.get("apiVersion")
    if isinstance(api_version, str) and api_version:
        return api_version.rpartition("/")[2]
    return "v2" if group == "autoscaling" else "v1"


def prepare_for_create(
    *, group: str, kind: str, obj: dict[str, Any], now: str | None = None
) -> None:
    """Apply the strategy's create-only effects (``PrepareForCreate``), then defaults again.

    Call once per create, after ``apply_defaults`` and admission, with ``metadata.name`` set (a
    Job's generated labels use it). A Job's selector is built from ``metadata.uid``; when the uid
    is not set yet one is assigned here, as kube-apiserver does right before this step, and the
    store must keep it. ``now`` (RFC 3339) stamps condition and phase transition times; it
    defaults to the current time. Kinds without create effects are only re-defaulted.
    """
    preparer = _PREPARERS.get((group, kind))
    if preparer is not None:
        preparer(obj, now)
    # The apiserver answers with the object decoded back from storage, which defaults again.
    apply_defaults(group=group, version=_version(obj, group), kind=kind, obj=obj)


# ---------------------------------------------------------------------------------------------
# Admission.

_NOT_READY = "node.kubernetes.io/not-ready"
_UNREACHABLE = "node.kubernetes.io/unreachable"
_DEFAULT_TOLERATION_SECONDS = 300


def admit_pod(obj: dict[str, Any]) -> None:
    """DefaultTolerationSeconds admission: tolerate not-ready and unreachable nodes for 300s.

    A pod that already tolerates the taint (same key or an empty key, effect NoExecute or empty)
    gets nothing for it. Runs on pod create and update.
    """
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    tolerations = spec.get("tolerations")
    if tolerations is None:
        tolerations = []
    elif not isinstance(tolerations, list):
        return
    not_ready = unreachable = False
    for toleration in tolerations:
        if not isinstance(toleration, dict):
            continue
        if toleration.get("effect") not in (None, "", "NoExecute"):
            continue
        key = toleration.get("key")
        if not key:
            not_ready = unreachable = True
        elif key == _NOT_READY:
            not_ready = True
        elif key == _UNREACHABLE:
            unreachable = True
    if not_ready and unreachable:
        return
    for flag, key in ((not_ready, _NOT_READY), (unreachable, _UNREACHABLE)):
        if not flag:
            tolerations.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": _DEFAULT_TOLERATION_SECONDS,
                }
            )
    spec["tolerations"] = tolerations


class PriorityAdmissionError(Exception):
    """The Priority admission plugin refused the pod; kube-apiserver answers 403 Forbidden."""


def system_priority_classes() -> list[dict[str, Any]]:
    """The two PriorityClasses kube-apiserver creates at start-up, as stored (defaulted)."""
    return [
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": "system-node-critical"},
            "value": 2000001000,
            "description": "Used for system critical pods that must not be moved from their "
            "current node.",
            "preemptionPolicy": "PreemptLowerPriority",
        },
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": "system-cluster-critical"},
            "value": 2000000000,
            "description": "Used for system critical pods that must run in the cluster, but can "
            "be moved to another node if necessary.",
            "preemptionPolicy": "PreemptLowerPriority",
        },
    ]


def admit_pod_priority(
    obj: dict[str, Any], *, priority_classes: Mapping[str, Mapping[str, Any]]
) -> None:
    """Priority admission on pod create: resolve ``priority`` and ``preemptionPolicy``.

    ``priority_classes`` maps names to the stored PriorityClass objects. Without a class name the
    global default class (lowest value if several) applies, else priority 0 and
    PreemptLowerPriority. Raises PriorityAdmissionError for an unknown class or a ``priority`` /
    ``preemptionPolicy`` in the pod that disagrees with the class.
    """
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    class_name = spec.get("priorityClassName")
    policy: object
    if not class_name:
        default: Mapping[str, Any] | None = None
        for candidate in priority_classes.values():
            if candidate.get("globalDefault") is True and (
                default is None or candidate.get("value", 0) < default.get("value", 0)
            ):
                default = candidate
        if default is None:
            priority, policy = 0, "PreemptLowerPriority"
        else:
            priority, policy = default.get("value", 0), default.get("preemptionPolicy")
            default_name = (default.get("metadata") or {}).get("name")
            if default_name:
                spec["priorityClassName"] = default_name
    else:
        found = priority_classes.get(class_name)
        if found is None:
            raise PriorityAdmissionError(f"no PriorityClass with name {class_name} was found")
        priority, policy = found.get("value", 0), found.get("preemptionPolicy")
    given = spec.get("priority")
    if given is not None and given != priority:
        raise PriorityAdmissionError(
            f"the integer value of priority ({given}) must not be provided in pod spec; "
            f"priority admission controller computed {priority} from the given PriorityClass name"
        )
    spec["priority"] = priority
    if policy is not None:
        given_policy = spec.get("preemptionPolicy")
        if given_policy is not None and given_policy != policy:
            raise PriorityAdmissionError(
                f"the string value of PreemptionPolicy ({given_policy}) must not be provided in "
                f"pod spec; priority admission controller computed {policy} from the given "
                "PriorityClass name"
            )
        spec["preemptionPolicy"] = policy
