"""Printers for the kinds that configure the control plane itself.

Admission (webhook configurations, admission policies and their bindings), certificates
(CertificateSigningRequest, ClusterTrustBundle, PodCertificateRequest), API priority and fairness
(FlowSchema, PriorityLevelConfiguration), StorageVersion, StorageVersionMigration and APIService,
as the matching ``print*`` functions of ``pkg/printers/internalversion`` render them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping

from kubenb.apiserver.printers.cells import (
    Cell,
    Obj,
    _age,
    _condition,
    _g,
    _i,
    _l,
    _list_with_more,
    _m,
    _name,
    _s,
    _selector_string,
    human_duration,
)
from kubenb.apiserver.printers.columns import _AGE, _NAME, _Col, _prints


def _webhooks(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), len(_l(obj, "webhooks")), _age(obj, now)]


_WEBHOOK_COLUMNS = (
    _NAME,
    _Col(
        "Webhooks",
        "integer",
        "Webhooks indicates the number of webhooks registered in this configuration",
    ),
    _AGE,
)


_prints(("admissionregistration.k8s.io", "MutatingWebhookConfiguration"), columns=_WEBHOOK_COLUMNS)(
    _webhooks
)


_prints(
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"), columns=_WEBHOOK_COLUMNS
)(_webhooks)


def _admission_policy(rules: str) -> Callable[[Obj, datetime.datetime], list[Cell]]:
    def cells(obj: Obj, now: datetime.datetime) -> list[Cell]:
        param_kind = _g(obj, "spec", "paramKind")
        kind = (
            f"{_s(param_kind, 'apiVersion')}/{_s(param_kind, 'kind')}"
            if isinstance(param_kind, Mapping)
            else "<unset>"
        )
        return [_name(obj), len(_l(obj, "spec", rules)), kind, _age(obj, now)]

    return cells


def _policy_binding(obj: Obj, now: datetime.datetime) -> list[Cell]:
    ref = _g(obj, "spec", "paramRef")
    param = "<unset>"
    if isinstance(ref, Mapping):
        if _s(ref, "name"):
            # Whether the param is cluster-scoped cannot be told here; no namespace prints as */.
            param = f"{_s(ref, 'namespace') or '*'}/{_s(ref, 'name')}"
        elif isinstance(ref.get("selector"), Mapping):
            param = _selector_string(ref["selector"])
    return [_name(obj), _s(obj, "spec", "policyName"), param, _age(obj, now)]


_PARAM_KIND = _Col(
    "ParamKind", doc="ParamKind specifies the kind of resources used to parameterize this policy"
)


_BINDING_COLUMNS = (
    _NAME,
    _Col(
        "PolicyName",
        doc="PolicyName indicates the policy definition which the policy binding binded to",
    ),
    _Col("ParamRef", doc="ParamRef indicates the param resource which sets the configration param"),
    _AGE,
)


_prints(
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    columns=(
        _NAME,
        _Col(
            "Validations",
            "integer",
            "Validations indicates the number of validation rules defined in this configuration",
        ),
        _PARAM_KIND,
        _AGE,
    ),
)(_admission_policy("validations"))


_prints(
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    columns=(
        _NAME,
        _Col(
            "Mutations",
            "integer",
            "Mutation indicates the number of mutations rules defined in this configuration",
        ),
        _PARAM_KIND,
        _AGE,
    ),
)(_admission_policy("mutations"))


_prints(
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"), columns=_BINDING_COLUMNS
)(_policy_binding)


_prints(
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"), columns=_BINDING_COLUMNS
)(_policy_binding)


@_prints(
    ("certificates.k8s.io", "CertificateSigningRequest"),
    columns=(
        _NAME,
        _AGE,
        _Col("SignerName", doc=("certificates.v1.CertificateSigningRequestSpec", "signerName")),
        _Col("Requestor", doc=("certificates.v1.CertificateSigningRequestSpec", "request")),
        _Col(
            "RequestedDuration",
            doc=("certificates.v1.CertificateSigningRequestSpec", "expirationSeconds"),
        ),
        _Col("Condition", doc=("certificates.v1.CertificateSigningRequestStatus", "conditions")),
    ),
)
def _csr(obj: Obj, now: datetime.datetime) -> list[Cell]:
    kinds = {_s(c, "type") for c in _l(obj, "status", "conditions")}
    state = "Denied" if "Denied" in kinds else "Approved" if "Approved" in kinds else "Pending"
    if "Failed" in kinds:
        state += ",Failed"
    if _s(obj, "status", "certificate"):
        state += ",Issued"
    seconds = _g(obj, "spec", "expirationSeconds")
    duration = (
        human_duration(datetime.timedelta(seconds=seconds))
        if isinstance(seconds, int)
        else "<none>"
    )
    return [
        _name(obj),
        _age(obj, now),
        _s(obj, "spec", "signerName") or "<none>",
        _s(obj, "spec", "username"),
        duration,
        state,
    ]


@_prints(
    ("certificates.k8s.io", "ClusterTrustBundle"),
    columns=(
        _NAME,
        _Col("SignerName", doc=("certificates.v1beta1.ClusterTrustBundleSpec", "signerName")),
    ),
)
def _cluster_trust_bundle(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [_name(obj), _s(obj, "spec", "signerName") or "<none>"]


@_prints(
    ("certificates.k8s.io", "PodCertificateRequest"),
    columns=(
        _NAME,
        _Col("PodName", doc=("certificates.v1.PodCertificateRequestSpec", "podName")),
        _Col(
            "ServiceAccountName",
            doc=("certificates.v1.PodCertificateRequestSpec", "serviceAccountName"),
        ),
        _Col("NodeName", doc=("certificates.v1.PodCertificateRequestSpec", "nodeName")),
        _Col("SignerName", doc=("certificates.v1.PodCertificateRequestSpec", "signerName")),
        _Col("State", doc="Is the request Pending, Issued, Denied, or Failed?"),
    ),
)
def _pod_certificate_request(obj: Obj, now: datetime.datetime) -> list[Cell]:
    state = "Pending"
    for cond in _l(obj, "status", "conditions"):
        if _s(cond, "type") in ("Issued", "Denied", "Failed"):
            state = _s(cond, "type")
    spec = _m(obj, "spec")
    return [
        _name(obj),
        _s(spec, "podName"),
        _s(spec, "serviceAccountName"),
        _s(spec, "nodeName"),
        _s(spec, "signerName"),
        state,
    ]


@_prints(
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    columns=(
        _NAME,
        _Col("PriorityLevel", doc=("flowcontrol.v1.PriorityLevelConfigurationReference", "name")),
        _Col("MatchingPrecedence", doc=("flowcontrol.v1.FlowSchemaSpec", "matchingPrecedence")),
        _Col("DistinguisherMethod", doc=("flowcontrol.v1.FlowSchemaSpec", "distinguisherMethod")),
        _AGE,
        _Col("MissingPL", doc="references a broken or non-existent PriorityLevelConfiguration"),
    ),
    # FlowSchemaList printing orders by precedence, then name.
    sort_key=lambda fs: (_i(fs, "spec", "matchingPrecedence"), _name(fs)),
)
def _flow_schema(obj: Obj, now: datetime.datetime) -> list[Cell]:
    spec = _m(obj, "spec")
    dangling = _condition(_g(obj, "status", "conditions"), "Dangling")
    return [
        _name(obj),
        _s(spec, "priorityLevelConfiguration", "name"),
        _i(spec, "matchingPrecedence"),
        _s(spec, "distinguisherMethod", "type") or "<none>",
        _age(obj, now),
        "?" if dangling is None else _s(dangling, "status"),
    ]


@_prints(
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    columns=(
        _NAME,
        _Col("Type", doc=("flowcontrol.v1.PriorityLevelConfigurationSpec", "type")),
        _Col(
            "NominalConcurrencyShares",
            doc=("flowcontrol.v1.LimitedPriorityLevelConfiguration", "nominalConcurrencyShares"),
        ),
        _Col("Queues", doc=("flowcontrol.v1.QueuingConfiguration", "queues")),
        _Col("HandSize", doc=("flowcontrol.v1.QueuingConfiguration", "handSize")),
        _Col("QueueLengthLimit", doc=("flowcontrol.v1.QueuingConfiguration", "queueLengthLimit")),
        _AGE,
    ),
)
def _priority_level(obj: Obj, now: datetime.datetime) -> list[Cell]:
    limited = _g(obj, "spec", "limited")
    cells: list[Cell] = ["<none>"] * 4
    if isinstance(limited, Mapping):
        cells[0] = _i(limited, "nominalConcurrencyShares")
        queuing = _g(limited, "limitResponse", "queuing")
        if isinstance(queuing, Mapping):
            cells[1:] = [
                _i(queuing, "queues"),
                _i(queuing, "handSize"),
                _i(queuing, "queueLengthLimit"),
            ]
    return [_name(obj), _s(obj, "spec", "type"), *cells, _age(obj, now)]


@_prints(
    ("internal.apiserver.k8s.io", "StorageVersion"),
    columns=(
        _NAME,
        _Col(
            "CommonEncodingVersion",
            doc=("apiserverinternal.v1alpha1.StorageVersionStatus", "commonEncodingVersion"),
        ),
        _Col(
            "StorageVersions",
            doc=("apiserverinternal.v1alpha1.StorageVersionStatus", "storageVersions"),
        ),
        _AGE,
    ),
)
def _storage_version(obj: Obj, now: datetime.datetime) -> list[Cell]:
    versions = [
        f"{_s(v, 'apiServerID')}={_s(v, 'encodingVersion')}"
        for v in _l(obj, "status", "storageVersions")
    ]
    common = _g(obj, "status", "commonEncodingVersion")
    return [
        _name(obj),
        common if isinstance(common, str) else "<unset>",
        _list_with_more(versions, len(versions)),
        _age(obj, now),
    ]


@_prints(
    ("storagemigration.k8s.io", "StorageVersionMigration"),
    columns=(
        _Col("Name", doc=("meta.v1.ObjectMeta", "name")),
        _Col("Resource", doc="Fully qualified resource to migrate"),
    ),
)
def _storage_version_migration(obj: Obj, now: datetime.datetime) -> list[Cell]:
    return [
        _name(obj),
        f"{_s(obj, 'spec', 'resource', 'resource')}.{_s(obj, 'spec', 'resource', 'group')}",
    ]


@_prints(
    ("apiregistration.k8s.io", "APIService"),
    columns=(
        _NAME,
        _Col("Service", doc="The reference to the service that hosts this API endpoint."),
        _Col("Available", doc="Whether this service is available."),
        _AGE,
    ),
)
def _api_service(obj: Obj, now: datetime.datetime) -> list[Cell]:
    service = _g(obj, "spec", "service")
    where = (
        "Local"
        if not isinstance(service, Mapping)
        else f"{_s(service, 'namespace')}/{_s(service, 'name')}"
    )
    available = "Unknown"
    cond = _condition(_g(obj, "status", "conditions"), "Available")
    if cond is not None:
        available = _s(cond, "status")
        if available != "True" and _s(cond, "reason"):
            available = f"{available} ({_s(cond, 'reason')})"
    return [_name(obj), where, available, _age(obj, now)]
