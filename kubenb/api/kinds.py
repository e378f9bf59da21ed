"""The built-in resources the control plane works with, by name.

Controllers, the scheduler and the simulated kubelet say ``kinds.PODS`` rather than spelling out
group, version and plural; the values are the :data:`~kubenb.api.resources.BUILTIN` entries, so
they compare equal to what any :class:`~kubenb.api.resources.Registry` serves.
"""

from __future__ import annotations

from kubenb.api.resources import BUILTIN, ResourceType

__all__ = [
    "CONFIGMAPS", "CONTROLLERREVISIONS", "CRONJOBS", "DAEMONSETS", "DEPLOYMENTS",
    "ENDPOINTS", "ENDPOINTSLICES", "EVENTS", "HPAS", "JOBS", "LEASES", "NAMESPACES", "NODES",
    "PDBS", "PODS", "PVCS", "PVS", "REPLICASETS", "SECRETS", "SERVICEACCOUNTS", "SERVICES",
    "STATEFULSETS", "STORAGECLASSES", "builtin",
]

_BY_NAME = {(rt.group, rt.version, rt.plural): rt for rt in BUILTIN}


def builtin(group: str, version: str, plural: str) -> ResourceType:
    """The built-in resource ``group/version/plural`` (KeyError if there is none)."""
    return _BY_NAME[(group, version, plural)]


CONFIGMAPS = builtin("", "v1", "configmaps")
ENDPOINTS = builtin("", "v1", "endpoints")
EVENTS = builtin("", "v1", "events")
NAMESPACES = builtin("", "v1", "namespaces")
NODES = builtin("", "v1", "nodes")
PODS = builtin("", "v1", "pods")
PVCS = builtin("", "v1", "persistentvolumeclaims")
PVS = builtin("", "v1", "persistentvolumes")
SECRETS = builtin("", "v1", "secrets")
SERVICEACCOUNTS = builtin("", "v1", "serviceaccounts")
SERVICES = builtin("", "v1", "services")
CONTROLLERREVISIONS = builtin("apps", "v1", "controllerrevisions")
DAEMONSETS = builtin("apps", "v1", "daemonsets")
DEPLOYMENTS = builtin("apps", "v1", "deployments")
REPLICASETS = builtin("apps", "v1", "replicasets")
STATEFULSETS = builtin("apps", "v1", "statefulsets")
HPAS = builtin("autoscaling", "v2", "horizontalpodautoscalers")
CRONJOBS = builtin("batch", "v1", "cronjobs")
JOBS = builtin("batch", "v1", "jobs")
LEASES = builtin("coordination.k8s.io", "v1", "leases")
ENDPOINTSLICES = builtin("discovery.k8s.io", "v1", "endpointslices")
PDBS = builtin("policy", "v1", "poddisruptionbudgets")
STORAGECLASSES = builtin("storage.k8s.io", "v1", "storageclasses")
