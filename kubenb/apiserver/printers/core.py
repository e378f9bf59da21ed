"""Printers for the core/v1 kinds other than Pod (``pods``) and Event (``cluster``).

PodTemplate, ReplicationController, Service, Endpoints, Node, Namespace, Secret, ServiceAccount,
PersistentVolume, PersistentVolumeClaim, ComponentStatus, ConfigMap and ResourceQuota, as the
matching ``print*`` functions of ``pkg/printers/internalversion`` render them.
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
    _containers,
    _format_labels,
    _g,
    _i,
    _join_host_port,
    _l,
    _m,
    _name,
    _quantity,
    _s,
)
from kubenb.apiserver.printers.columns import _AGE, _NAME, _Col, _prints
from kubenb.apiserver.printers.workloads import _replica_cells, _replica_columns


@_prints(
    ("", "PodTemplate"),
    columns=(
        _NAME,
        _Col("Containers", doc="Names of each container in the template."),
        _Col("Images", doc="Images referenced by each container in the template."),
        _Col("Pod Labels", doc="The labels for the pod template."),
    ),
)
def _pod_template(obj: Obj, now: datetime.datetime) -> list[Cell]:
    names, images = _containers(_g(obj, "template", "spec"))
    return [_name(obj), names, images, _format_labels(_g(obj, "template", "metadata", "labels"))]


@_prints(("", "ReplicationController"),
         columns=_replica_columns("core.v1.ReplicationControllerSpec",
                                  "core.v1.ReplicationControllerStatus"))
def _replication_controller(obj: Obj, now: datetime.datetime) -> list[Cell]:
    # a ReplicationController's selector is a plain map, printed as labels
    return _replica_cells(obj, now, _format_labels(_g(obj, "spec", "selector")))


def _service_external_ip(svc: Obj) -> str:
    spec = _m(svc, "spec")
    external = [str(ip) for ip in _l(spec, "externalIPs")]
    svc_type = _s(spec, "type") or "ClusterIP"
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if svc_type == "LoadBalancer":
        # The apiserver prints "wide", so the load-balancer list is never clipped.
        lb = sorted(
            {_s(i, "ip") or _s(i, "hostname") for i in _l(svc, "status", "loadBalancer", "ingress")}
            - {""}
        )
        if external:
            return ",".join(lb + external)
        return ",".join(lb) if lb else "<pending>"
    if svc_type == "ExternalName":
        return _s(spec, "externalName")
    return "<unknown>"


@_prints(
    ("", "Service"),
    columns=(
        _NAME,
        _Col("Type", doc=("core.v1.ServiceSpec", "type")),
        _Col("Cluster-IP", doc=("core.v1.ServiceSpec", "clusterIP")),
        _Col("External-IP", doc=("core.v1.ServiceSpec", "externalIPs")),
        _Col("Port(s)", doc=("core.v1.ServiceSpec", "ports")),
        _AGE,
        _Col("Selector", priority=1, doc=("core.v1.ServiceSpec", "selector")),
    ),
)
def _service(svc: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(svc, "spec")
    cluster_ip = _s(spec, "clusterIPs", 0) or _s(spec, "clusterIP") or "<none>"
    ports = []
    for port in _l(spec, "ports"):
        proto = _s(port, "protocol") or "TCP"
        node_port = _i(port, "nodePort")
        ports.append(
            f"{_i(port, 'port')}:{node_port}/{proto}"
            if node_port > 0
            else f"{_i(port, 'port')}/{proto}"
        )
    return [
        _name(svc),
        _s(spec, "type") or "ClusterIP",
        cluster_ip,
        _service_external_ip(svc),
        ",".join(ports) or "<none>",
        _age(svc, now),
        _format_labels(_g(spec, "selector")),
    ]


@_prints(
    ("", "Endpoints"),
    columns=(_NAME, _Col("Endpoints", doc=("core.v1.Endpoints", "subsets")), _AGE),
)
def _endpoints(obj: Obj, now: datetime.datetime) -> list[Cell]:
    subsets = _l(obj, "subsets")
    if not subsets:
        return [_name(obj), "<none>", _age(obj, now)]
    items: list[str] = []
    count = 0
    for subset in subsets:
        addresses = [_s(a, "ip") for a in _l(subset, "addresses")]
        ports = _l(subset, "ports")
        if not ports:  # headless services may have no ports
            count += len(addresses)
            items.extend(addresses)
            continue
        for port in ports:
            count += len(addresses)
            items.extend(_join_host_port(ip, _i(port, "port")) for ip in addresses)
    text = ",".join(items[:3])
    if count > 3:
        text = f"{text} + {count - 3} more..."
    return [_name(obj), text, _age(obj, now)]


def _node_roles(node: Obj) -> str:
    roles = set()
    for key, value in _m(node, "metadata", "labels").items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/") :]:
            roles.add(key[len("node-role.kubernetes.io/") :])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _node_address(node: Obj, type_: str) -> str:
    for address in _l(node, "status", "addresses"):
        if _s(address, "type") == type_:
            return _s(address, "address")
    return "<none>"


@_prints(
    ("", "Node"),
    columns=(
        _NAME,
        _Col("Status", doc="The status of the node"),
        _Col("Roles", doc="The roles of the node"),
        _AGE,
        _Col("Version", doc=("core.v1.NodeSystemInfo", "kubeletVersion")),
        _Col("Internal-IP", priority=1, doc=("core.v1.NodeStatus", "addresses")),
        _Col("External-IP", priority=1, doc=("core.v1.NodeStatus", "addresses")),
        _Col("OS-Image", priority=1, doc=("core.v1.NodeSystemInfo", "osImage")),
        _Col("Kernel-Version", priority=1, doc=("core.v1.NodeSystemInfo", "kernelVersion")),
        _Col(
            "Container-Runtime",
            priority=1,
            doc=("core.v1.NodeSystemInfo", "containerRuntimeVersion"),
        ),
    ),
)
def _node(node: Obj, now: datetime.datetime) -> list[Cell]:
    ready = None
    for cond in _l(node, "status", "conditions"):
        if _s(cond, "type") == "Ready":
            ready = cond  # the last one wins, as in the Go map
    status = (
        ["Unknown"] if ready is None else ["Ready" if _s(ready, "status") == "True" else "NotReady"]
    )
    if _g(node, "spec", "unschedulable") is True:
        status.append("SchedulingDisabled")
    info = _m(node, "status", "nodeInfo")
    return [
        _name(node),
        ",".join(status),
        _node_roles(node),
        _age(node, now),
        _s(info, "kubeletVersion"),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        _s(info, "osImage") or "<unknown>",
        _s(info, "kernelVersion") or "<unknown>",
        _s(info, "containerRuntimeVersion") or "<unknown>",
    ]


@_prints(
    ("", "Namespace"),
    columns=(_NAME, _Col("Status", doc="The status of the namespace"), _AGE),
)
def _namespace(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _s(obj, "status", "phase") or "Active", _age(obj, now)]


@_prints(
    ("", "Secret"),
    columns=(
        _NAME,
        _Col("Type", doc=("core.v1.Secret", "type")),
        _Col("Data", doc=("core.v1.Secret", "data")),
        _AGE,
    ),
)
def _secret(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _s(obj, "type") or "Opaque", len(_m(obj, "data")), _age(obj, now)]


@_prints(("", "ServiceAccount"), columns=(_NAME, _AGE))
def _service_account(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _age(obj, now)]


def _access_modes(modes: Any) -> str:
    """``GetAccessModesAsString``: RWO, ROX, RWX, RWOP in that order, duplicates dropped."""
    present = set(modes) if isinstance(modes, list) else set()
    order = (
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    )
    return ",".join(short for mode, short in order if mode in present)


_BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"


@_prints(
    ("", "PersistentVolume"),
    columns=(
        _NAME,
        _Col("Capacity", doc=("core.v1.PersistentVolumeSpec", "capacity")),
        _Col("Access Modes", doc=("core.v1.PersistentVolumeSpec", "accessModes")),
        _Col(
            "Reclaim Policy", doc=("core.v1.PersistentVolumeSpec", "persistentVolumeReclaimPolicy")
        ),
        _Col("Status", doc=("core.v1.PersistentVolumeStatus", "phase")),
        _Col("Claim", doc=("core.v1.PersistentVolumeSpec", "claimRef")),
        _Col("StorageClass", doc="StorageClass of the pv"),
        _Col("VolumeAttributesClass", doc="VolumeAttributesClass of the pv"),
        _Col("Reason", doc=("core.v1.PersistentVolumeStatus", "reason")),
        _AGE,
        _Col("VolumeMode", priority=1, doc=("core.v1.PersistentVolumeSpec", "volumeMode")),
    ),
)
def _persistent_volume(pv: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(pv, "spec")
    claim = ""
    if isinstance(spec.get("claimRef"), Mapping):
        claim = f"{_s(spec, 'claimRef', 'namespace')}/{_s(spec, 'claimRef', 'name')}"
    phase = _s(pv, "status", "phase") or "Pending"
    if _g(pv, "metadata", "deletionTimestamp") is not None:
        phase = "Terminating"
    annotations = _m(pv, "metadata", "annotations")
    storage_class = (
        annotations[_BETA_STORAGE_CLASS]
        if _BETA_STORAGE_CLASS in annotations
        else _s(spec, "storageClassName")
    )
    return [
        _name(pv),
        _quantity(_g(spec, "capacity", "storage") or "0"),
        _access_modes(spec.get("accessModes")),
        _s(spec, "persistentVolumeReclaimPolicy") or "Retain",
        phase,
        claim,
        storage_class,
        _s(spec, "volumeAttributesClassName") or "<unset>",
        _s(pv, "status", "reason"),
        _age(pv, now),
        _s(spec, "volumeMode") or "Filesystem",
    ]


@_prints(
    ("", "PersistentVolumeClaim"),
    columns=(
        _NAME,
        _Col("Status", doc=("core.v1.PersistentVolumeClaimStatus", "phase")),
        _Col("Volume", doc=("core.v1.PersistentVolumeClaimSpec", "volumeName")),
        _Col("Capacity", doc=("core.v1.PersistentVolumeClaimStatus", "capacity")),
        _Col("Access Modes", doc=("core.v1.PersistentVolumeClaimStatus", "accessModes")),
        _Col("StorageClass", doc="StorageClass of the pvc"),
        _Col("VolumeAttributesClass", doc="VolumeAttributesClass of the pvc"),
        _AGE,
        _Col("VolumeMode", priority=1, doc=("core.v1.PersistentVolumeClaimSpec", "volumeMode")),
    ),
)
def _persistent_volume_claim(pvc: Obj, now: datetime.datetime) -> list[Cell]:
    spec, status = _m(pvc, "spec"), _m(pvc, "status")
    phase = _s(status, "phase") or "Pending"
    if _g(pvc, "metadata", "deletionTimestamp") is not None:
        phase = "Terminating"
    capacity = access = ""
    if _s(spec, "volumeName"):
        access = _access_modes(status.get("accessModes"))
        capacity = _quantity(_g(status, "capacity", "storage") or "0")
    annotations = _m(pvc, "metadata", "annotations")
    storage_class = (
        annotations[_BETA_STORAGE_CLASS]
        if _BETA_STORAGE_CLASS in annotations
        else _s(spec, "storageClassName")
    )
    return [
        _name(pvc),
        phase,
        _s(spec, "volumeName"),
        capacity,
        access,
        storage_class,
        _s(spec, "volumeAttributesClassName") or "<unset>",
        _age(pvc, now),
        _s(spec, "volumeMode") or "Filesystem",
    ]


@_prints(
    ("", "ComponentStatus"),
    columns=(
        _NAME,
        _Col("Status", doc="Status of the component conditions"),
        _Col("Message", doc="Message of the component conditions"),
        _Col("Error", doc="Error of the component conditions"),
    ),
)
def _component_status(obj: Obj, now: datetime.datetime) -> list[Cell]:
    cond = _condition(obj.get("conditions"), "Healthy")
    if cond is None:
        return [_name(obj), "Unknown", "", ""]
    status = "Healthy" if cond.get("status") == "True" else "Unhealthy"
    return [_name(obj), status, _s(cond, "message"), _s(cond, "error")]


@_prints(
    ("", "ConfigMap"),
    columns=(_NAME, _Col("Data", doc=("core.v1.ConfigMap", "data")), _AGE),
)
def _config_map(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), len(_m(obj, "data")) + len(_m(obj, "binaryData")), _age(obj, now)]


@_prints(
    ("", "ResourceQuota"),
    columns=(
        _NAME,
        _Col(
            "Request",
            doc="Request represents a minimum amount of cpu/memory that a container may consume.",
        ),
        _Col(
            "Limit",
            doc="Limits control the maximum amount of cpu/memory that a container may use "
            "independent of contention on the node.",
        ),
        _AGE,
    ),
)
def _resource_quota(obj: Obj, now: datetime.datetime) -> list[Cell]:
    hard, used = _m(obj, "status", "hard"), _m(obj, "status", "used")
    requests, limits = [], []
    for resource in sorted(hard):
        text = f"{resource}: {_quantity(used.get(resource, '0'))}/{_quantity(hard[resource])}"
        pieces = resource.split(".")
        (limits if len(pieces) > 1 and pieces[0] == "limits" else requests).append(text)
    return [_name(obj), ", ".join(requests), ", ".join(limits), _age(obj, now)]
