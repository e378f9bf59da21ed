"""Printers for the cluster-wide API groups: events, policy, rbac, coordination, scheduling, node,
storage and dynamic resource allocation (resource.k8s.io).

Both Event APIs print from one function: an events.k8s.io/v1 Event is first read in core/v1 field
names, since upstream serves both from the same storage and prints them alike.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from kubenb.apiserver.printers.cells import (
    Cell,
    Obj,
    _age,
    _g,
    _i,
    _int_or_string,
    _l,
    _m,
    _name,
    _parse_time,
    _s,
    _since,
)
from kubenb.apiserver.printers.columns import _AGE, _NAME, _Col, _prints

# --------------------------------------------------------------------------------------------------
# events (core/v1 and events.k8s.io)


_EVENT_COLUMNS = (
    _Col("Last Seen", doc=("core.v1.Event", "lastTimestamp")),
    _Col("Type", doc=("core.v1.Event", "type")),
    _Col("Reason", doc=("core.v1.Event", "reason")),
    _Col("Object", doc=("core.v1.Event", "involvedObject")),
    _Col("Subobject", priority=1, doc=("core.v1.ObjectReference", "fieldPath")),
    _Col("Source", priority=1, doc=("core.v1.Event", "source")),
    _Col("Message", doc=("core.v1.Event", "message")),
    _Col("First Seen", priority=1, doc=("core.v1.Event", "firstTimestamp")),
    _Col("Count", priority=1, doc=("core.v1.Event", "count")),
    _Col("Name", priority=1, format="name", doc=("meta.v1.ObjectMeta", "name")),
)


def _core_event(event: Obj) -> Obj:
    """An events.k8s.io/v1 Event in core/v1 field names; both are printed from the same storage."""
    source = _m(event, "deprecatedSource")
    return {
        "metadata": event.get("metadata"),
        "involvedObject": event.get("regarding"),
        "reason": event.get("reason"),
        "message": event.get("note"),
        "type": event.get("type"),
        "source": source,
        "firstTimestamp": event.get("deprecatedFirstTimestamp"),
        "lastTimestamp": event.get("deprecatedLastTimestamp"),
        "count": event.get("deprecatedCount"),
        "eventTime": event.get("eventTime"),
        "series": event.get("series"),
        "reportingComponent": event.get("reportingController"),
        "reportingInstance": event.get("reportingInstance"),
    }


@_prints(("events.k8s.io", "Event"), columns=_EVENT_COLUMNS)
def _events_v1_event(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return _event(_core_event(obj), now)


@_prints(("", "Event"), columns=_EVENT_COLUMNS)
def _event(event: Obj, now: datetime.datetime) -> list[Cell]:
    first = _since(event.get("firstTimestamp"), now)
    if _parse_time(event.get("firstTimestamp")) is None:
        first = _since(event.get("eventTime"), now)
    last = (
        first
        if _parse_time(event.get("lastTimestamp")) is None
        else _since(event.get("lastTimestamp"), now)
    )
    count = _i(event, "count")
    series = event.get("series")
    if isinstance(series, Mapping):
        last = _since(series.get("lastObservedTime"), now)
        count = _i(series, "count")
    elif count == 0:
        count = 1  # singleton events carry no count in the new API
    involved = _m(event, "involvedObject")
    target = _s(involved, "kind").lower()
    if _s(involved, "name"):
        target = f"{target}/{_s(involved, 'name')}"
    component = _s(event, "source", "component") or _s(event, "reportingComponent")
    host = _s(event, "source", "host") or _s(event, "reportingInstance")
    source = f"{component}, {host}" if host else component
    return [
        last,
        _s(event, "type"),
        _s(event, "reason"),
        target,
        _s(involved, "fieldPath"),
        source,
        _s(event, "message").strip(),
        first,
        count,
        _name(event),
    ]


# --------------------------------------------------------------------------------------------------
# policy, rbac, coordination, scheduling, node


@_prints(
    ("policy", "PodDisruptionBudget"),
    columns=(
        _NAME,
        _Col("Min Available", doc="The minimum number of pods that must be available."),
        _Col("Max Unavailable", doc="The maximum number of pods that may be unavailable."),
        _Col(
            "Allowed Disruptions",
            "integer",
            "Calculated number of pods that may be disrupted at this time.",
        ),
        _AGE,
    ),
)
def _pdb(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    min_available = (
        _int_or_string(spec["minAvailable"]) if spec.get("minAvailable") is not None else "N/A"
    )
    max_unavailable = (
        _int_or_string(spec["maxUnavailable"]) if spec.get("maxUnavailable") is not None else "N/A"
    )
    return [
        _name(obj),
        min_available,
        max_unavailable,
        _i(obj, "status", "disruptionsAllowed"),
        _age(obj, now),
    ]


def _subjects(obj: Obj) -> list[Cell]:
    """``rbac.SubjectsStrings``: users, groups and namespace/name service accounts."""
    users, groups, sas = [], [], []
    for subject in _l(obj, "subjects"):
        kind = _s(subject, "kind")
        if kind == "ServiceAccount":
            sas.append(f"{_s(subject, 'namespace')}/{_s(subject, 'name')}")
        elif kind == "User":
            users.append(_s(subject, "name"))
        elif kind == "Group":
            groups.append(_s(subject, "name"))
    return [", ".join(users), ", ".join(groups), ", ".join(sas)]


def _binding_columns(what: str) -> tuple[_Col, ...]:
    return (
        _NAME,
        _Col("Role", doc=(f"rbac.v1.{what[0].upper()}{what[1:]}", "roleRef")),
        _AGE,
        _Col("Users", priority=1, doc=f"Users in the {what}"),
        _Col("Groups", priority=1, doc=f"Groups in the {what}"),
        _Col("ServiceAccounts", priority=1, doc=f"ServiceAccounts in the {what}"),
    )


@_prints(("rbac.authorization.k8s.io", "RoleBinding"), columns=_binding_columns("roleBinding"))
def _role_binding(obj: Obj, now: datetime.datetime) -> list[Cell]:
    role = f"{_s(obj, 'roleRef', 'kind')}/{_s(obj, 'roleRef', 'name')}"
    return [_name(obj), role, _age(obj, now), *_subjects(obj)]


_prints(
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    columns=_binding_columns("clusterRoleBinding"),
)(_role_binding)


@_prints(
    ("coordination.k8s.io", "Lease"),
    columns=(_NAME, _Col("Holder", doc=("coordination.v1.LeaseSpec", "holderIdentity")), _AGE),
)
def _lease(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _s(obj, "spec", "holderIdentity"), _age(obj, now)]


@_prints(
    ("coordination.k8s.io", "LeaseCandidate"),
    columns=(
        _NAME,
        _Col("LeaseName", doc=("coordination.v1beta1.LeaseCandidateSpec", "leaseName")),
        _Col("BinaryVersion"),
        _Col("EmulationVersion"),
        _AGE,
    ),
)
def _lease_candidate(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    return [
        _name(obj),
        _s(spec, "leaseName"),
        _s(spec, "binaryVersion"),
        _s(spec, "emulationVersion"),
        _age(obj, now),
    ]


@_prints(
    ("scheduling.k8s.io", "PriorityClass"),
    columns=(
        _NAME,
        _Col("Value", "integer", ("scheduling.v1.PriorityClass", "value")),
        _Col("Global-Default", "boolean", ("scheduling.v1.PriorityClass", "globalDefault")),
        _AGE,
        _Col("PreemptionPolicy", doc=("scheduling.v1.PriorityClass", "preemptionPolicy")),
    ),
)
def _priority_class(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [
        _name(obj),
        _i(obj, "value"),
        _g(obj, "globalDefault") is True,
        _age(obj, now),
        _s(obj, "preemptionPolicy") or "PreemptLowerPriority",
    ]


@_prints(("node.k8s.io", "RuntimeClass"), columns=(_NAME, _Col("Handler"), _AGE))
def _runtime_class(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _s(obj, "handler"), _age(obj, now)]


# --------------------------------------------------------------------------------------------------
# storage


@_prints(
    ("storage.k8s.io", "StorageClass"),
    columns=(
        _NAME,
        _Col("Provisioner", doc=("storage.v1.StorageClass", "provisioner")),
        _Col("ReclaimPolicy", doc=("storage.v1.StorageClass", "reclaimPolicy")),
        _Col("VolumeBindingMode", doc=("storage.v1.StorageClass", "volumeBindingMode")),
        _Col("AllowVolumeExpansion", doc=("storage.v1.StorageClass", "allowVolumeExpansion")),
        _AGE,
    ),
)
def _storage_class(obj: Obj, now: datetime.datetime) -> list[Cell]:
    annotations = _m(obj, "metadata", "annotations")
    default = "true" in (
        annotations.get("storageclass.kubernetes.io/is-default-class"),
        annotations.get("storageclass.beta.kubernetes.io/is-default-class"),
    )
    return [
        _name(obj) + (" (default)" if default else ""),
        _s(obj, "provisioner"),
        _s(obj, "reclaimPolicy") or "Delete",
        _s(obj, "volumeBindingMode") or "Immediate",
        _g(obj, "allowVolumeExpansion") is True,
        _age(obj, now),
    ]


@_prints(
    ("storage.k8s.io", "VolumeAttributesClass"),
    columns=(
        _NAME,
        _Col("DriverName", doc=("storage.v1.VolumeAttributesClass", "driverName")),
        _AGE,
    ),
)
def _volume_attributes_class(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _s(obj, "driverName"), _age(obj, now)]


@_prints(
    ("storage.k8s.io", "VolumeAttachment"),
    columns=(
        _NAME,
        _Col("Attacher", format="name", doc=("storage.v1.VolumeAttachmentSpec", "attacher")),
        _Col("PV", doc=("storage.v1.VolumeAttachmentSource", "persistentVolumeName")),
        _Col("Node", doc=("storage.v1.VolumeAttachmentSpec", "nodeName")),
        _Col("Attached", "boolean", ("storage.v1.VolumeAttachmentStatus", "attached")),
        _AGE,
    ),
)
def _volume_attachment(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    return [
        _name(obj),
        _s(spec, "attacher"),
        _s(spec, "source", "persistentVolumeName"),
        _s(spec, "nodeName"),
        _g(obj, "status", "attached") is True,
        _age(obj, now),
    ]


@_prints(
    ("storage.k8s.io", "CSINode"),
    columns=(
        _NAME,
        _Col(
            "Drivers",
            "integer",
            "Drivers indicates the number of CSI drivers registered on the node",
        ),
        _AGE,
    ),
)
def _csi_node(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), len(_l(obj, "spec", "drivers")), _age(obj, now)]


@_prints(
    ("storage.k8s.io", "CSIDriver"),
    columns=(
        _NAME,
        _Col("AttachRequired", "boolean", ("storage.v1.CSIDriverSpec", "attachRequired")),
        _Col("PodInfoOnMount", "boolean", ("storage.v1.CSIDriverSpec", "podInfoOnMount")),
        _Col("StorageCapacity", "boolean", ("storage.v1.CSIDriverSpec", "storageCapacity")),
        _Col("TokenRequests", doc=("storage.v1.CSIDriverSpec", "tokenRequests")),
        _Col("RequiresRepublish", "boolean", ("storage.v1.CSIDriverSpec", "requiresRepublish")),
        _Col("Modes", doc=("storage.v1.CSIDriverSpec", "volumeLifecycleModes")),
        _AGE,
    ),
)
def _csi_driver(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    tokens = spec.get("tokenRequests")
    token_cell = (
        ",".join(_s(t, "audience") for t in tokens) if isinstance(tokens, list) else "<unset>"
    )
    return [
        _name(obj),
        spec.get("attachRequired") is not False,
        spec.get("podInfoOnMount") is True,
        spec.get("storageCapacity") is True,
        token_cell,
        spec.get("requiresRepublish") is True,
        ",".join(str(m) for m in _l(spec, "volumeLifecycleModes")) or "Persistent",
        _age(obj, now),
    ]


# --------------------------------------------------------------------------------------------------
# dynamic resource allocation (resource.k8s.io)


@_prints(
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceClaimTemplate"),
    columns=(_NAME, _AGE),
)
def _name_and_age(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _age(obj, now)]


@_prints(
    ("resource.k8s.io", "ResourceClaim"),
    columns=(
        _NAME,
        _Col("State", doc="A summary of the current state (allocated, pending, reserved, etc.)."),
        _AGE,
    ),
)
def _resource_claim(obj: Obj, now: datetime.datetime) -> list[Cell]:
    deleted = _g(obj, "metadata", "deletionTimestamp") is not None
    states = ["deleted"] if deleted else []
    if _g(obj, "status", "allocation") is None:
        if not deleted:
            states.append("pending")
    else:
        states.append("allocated")
        if _l(obj, "status", "reservedFor"):
            states.append("reserved")
    return [_name(obj), ",".join(states), _age(obj, now)]


@_prints(
    ("resource.k8s.io", "ResourceSlice"),
    columns=(
        _NAME,
        _Col("Node", doc=("resource.v1.ResourceSliceSpec", "nodeName")),
        _Col("Driver", doc=("resource.v1.ResourceSliceSpec", "driver")),
        _Col("Pool", doc=("resource.v1.ResourcePool", "name")),
        _AGE,
    ),
)
def _resource_slice(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    return [
        _name(obj),
        _s(spec, "nodeName"),
        _s(spec, "driver"),
        _s(spec, "pool", "name"),
        _age(obj, now),
    ]


@_prints(
    ("resource.k8s.io", "DeviceTaintRule"),
    columns=(
        _NAME,
        _Col("Key", doc=("resource.v1.DeviceTaint", "key")),
        _Col("Value", doc=("resource.v1.DeviceTaint", "value")),
        _Col("Effect", doc=("resource.v1.DeviceTaint", "effect")),
        _Col("TimeAdded", doc=("resource.v1.DeviceTaint", "timeAdded")),
        _AGE,
    ),
)
def _device_taint_rule(obj: Obj, now: datetime.datetime) -> list[Cell]:
    taint = _m(obj, "spec", "taint")
    added = taint.get("timeAdded")
    return [
        _name(obj),
        _s(taint, "key"),
        _s(taint, "value"),
        _s(taint, "effect"),
        "" if added is None else _since(added, now),
        _age(obj, now),
    ]
