"""Resources as data: what the API serves, described once.

A :class:`ResourceType` names one served resource (group, version, kind, plural, scope, verbs,
subresources). The :class:`Registry` is the single place that knows them: discovery, the OpenAPI
documents, the store and the HTTP routes all read it. Built-in kinds of Kubernetes 1.37 are listed
in :data:`BUILTIN`; CustomResourceDefinitions add and remove theirs at run time. Registering a
different resource under a name that is taken raises, so two parts of kubenb can never disagree
about what ``deployments`` means.

Storage identity is ``(group, plural)``: the versions of a custom resource share one table, as they
share one etcd prefix in Kubernetes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["BUILTIN", "KUBERNETES_VERSION", "Registry", "ResourceType", "StorageKey"]

#: The Kubernetes release whose API (kinds, schemas, behaviour) kubenb follows.
KUBERNETES_VERSION = "1.37.0"

StorageKey = tuple[str, str]  # (group, plural)

ALL_VERBS: tuple[str, ...] = (
    "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch",
)


@dataclass(frozen=True)
class ResourceType:
    """One resource as served at ``/apis/{group}/{version}/{plural}``."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    #: Writes to the main resource keep ``.status``; ``/status`` writes keep everything else.
    #: Follows from "status" being a subresource, but kept explicit for custom resources.
    custom: bool = False
    #: Extra field-selector labels beyond metadata.name / metadata.namespace.
    field_selectors: tuple[str, ...] = ()
    #: Where each of ``field_selectors`` reads its value, when that is not the label itself
    #: (an Event's ``source`` is its ``source.component``); empty means the labels are the paths.
    field_paths: tuple[str, ...] = ()
    #: ``metadata.generation`` is maintained (kinds with a spec, and every custom resource).
    generation: bool = True
    singular: str = ""
    #: The scale subresource's replica paths (custom resources declare their own).
    scale_paths: tuple[str, str, str] = (".spec.replicas", ".status.replicas", ".status.selector")
    #: (group, plural) of the resource this one is another version of (stored once, converted)
    alias_of: tuple[str, str] | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> tuple[str, str]:
        return (self.group, self.version)

    @property
    def storage(self) -> StorageKey:
        return self.alias_of or (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def has_scale(self) -> bool:
        return "scale" in self.subresources

    @property
    def qualified(self) -> str:
        """``deployments.apps`` / ``pods``: how error messages name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()


def _r(group: str, version: str, kind: str, plural: str, namespaced: bool = True, *,
       short: str = "", cat: str = "", sub: str = "", verbs: tuple[str, ...] = ALL_VERBS,
       fields: str = "", generation: bool = True,
       alias_of: tuple[str, str] | None = None) -> ResourceType:
    """``fields`` lists field-selector labels, each ``label`` or ``label=path``."""
    labels = tuple(f.partition("=")[0] for f in fields.split())
    paths = tuple(f.partition("=")[2] or f for f in fields.split())
    return ResourceType(
        group=group, version=version, kind=kind, plural=plural, namespaced=namespaced,
        short_names=tuple(short.split()), categories=tuple(cat.split()),
        subresources=tuple(sub.split()), verbs=verbs, field_selectors=labels,
        field_paths=paths if paths != labels else (), generation=generation, alias_of=alias_of,
    )


_NO_DELETECOLLECTION = tuple(v for v in ALL_VERBS if v != "deletecollection")

#: The built-in resources kubenb serves (Kubernetes 1.37 names, scopes, short names, categories).
BUILTIN: tuple[ResourceType, ...] = (
    # core/v1
    _r("", "v1", "Binding", "bindings", verbs=("create",), generation=False),
    _r("", "v1", "ConfigMap", "configmaps", short="cm", generation=False),
    _r("", "v1", "Endpoints", "endpoints", short="ep", generation=False),
    _r("", "v1", "Event", "events", short="ev", generation=False,
       fields="involvedObject.kind involvedObject.namespace involvedObject.name "
              "involvedObject.uid involvedObject.apiVersion involvedObject.resourceVersion "
              "involvedObject.fieldPath reason reportingComponent source=source.component type"),
    _r("", "v1", "LimitRange", "limitranges", short="limits"),
    _r("", "v1", "Namespace", "namespaces", False, short="ns", sub="status finalize",
       verbs=_NO_DELETECOLLECTION, fields="status.phase", generation=False),
    _r("", "v1", "Node", "nodes", False, short="no", sub="status", fields="spec.unschedulable"),
    _r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short="pvc", sub="status"),
    _r("", "v1", "PersistentVolume", "persistentvolumes", False, short="pv", sub="status"),
    _r("", "v1", "Pod", "pods", short="po", cat="all",
       sub="status binding eviction log exec attach proxy ephemeralcontainers",
       fields="spec.nodeName spec.restartPolicy spec.schedulerName spec.serviceAccountName "
              "spec.hostNetwork status.phase status.podIP status.nominatedNodeName"),
    _r("", "v1", "PodTemplate", "podtemplates", generation=False),
    _r("", "v1", "ReplicationController", "replicationcontrollers", short="rc", cat="all",
       sub="status scale", fields="status.replicas"),
    _r("", "v1", "ResourceQuota", "resourcequotas", short="quota", sub="status"),
    _r("", "v1", "Secret", "secrets", fields="type", generation=False),
    _r("", "v1", "ServiceAccount", "serviceaccounts", short="sa", generation=False),
    _r("", "v1", "Service", "services", short="svc", cat="all", sub="status proxy"),
    # apps/v1
    _r("apps", "v1", "ControllerRevision", "controllerrevisions", generation=False),
    _r("apps", "v1", "DaemonSet", "daemonsets", short="ds", cat="all", sub="status"),
    _r("apps", "v1", "Deployment", "deployments", short="deploy", cat="all", sub="status scale"),
    _r("apps", "v1", "ReplicaSet", "replicasets", short="rs", cat="all", sub="status scale",
       fields="status.replicas"),
    _r("apps", "v1", "StatefulSet", "statefulsets", short="sts", cat="all", sub="status scale"),
    # authentication.k8s.io/v1 and authorization.k8s.io/v1: reviews are answered, never stored
    _r("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False,
       verbs=("create",), generation=False),
    _r("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
       False, verbs=("create",), generation=False),
    _r("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
       True, verbs=("create",), generation=False),
    # autoscaling/v2
    _r("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short="hpa",
       cat="all", sub="status"),
    # batch/v1
    _r("batch", "v1", "CronJob", "cronjobs", short="cj", cat="all", sub="status"),
    _r("batch", "v1", "Job", "jobs", cat="all", sub="status", fields="status.successful"),
    # coordination.k8s.io/v1
    _r("coordination.k8s.io", "v1", "Lease", "leases"),
    # discovery.k8s.io/v1
    _r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", fields="addressType"),
    # events.k8s.io/v1
    _r("events.k8s.io", "v1", "Event", "events", short="ev", generation=False,
       fields="regarding.kind regarding.namespace regarding.name regarding.uid "
              "regarding.apiVersion regarding.resourceVersion regarding.fieldPath reason type "
              "reportingController", alias_of=("", "events")),
    # networking.k8s.io/v1
    _r("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    _r("networking.k8s.io", "v1", "Ingress", "ingresses", short="ing", sub="status"),
    _r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short="netpol"),
    # policy/v1
    _r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short="pdb", sub="status"),
    # rbac.authorization.k8s.io/v1
    _r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False,
       generation=False),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False,
       generation=False),
    _r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", generation=False),
    _r("rbac.authorization.k8s.io", "v1", "Role", "roles", generation=False),
    # scheduling.k8s.io/v1
    _r("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, short="pc",
       generation=False),
    # storage.k8s.io/v1
    _r("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, short="sc",
       generation=False),
    # apiextensions.k8s.io/v1
    _r("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
       False, short="crd crds", cat="api-extensions", sub="status"),
    # metrics.k8s.io/v1beta1 (metrics-server's API, for kubectl top): computed, never stored
    _r("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", False, verbs=("get", "list"),
       generation=False),
    _r("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", verbs=("get", "list"),
       generation=False),
)

#: Group order in discovery, as kube-apiserver lists its groups (legacy core first).
GROUP_PRIORITY: tuple[str, ...] = (
    "", "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io",
    "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io",
    "policy", "rbac.authorization.k8s.io", "storage.k8s.io", "admissionregistration.k8s.io",
    "apiextensions.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "node.k8s.io",
    "discovery.k8s.io", "flowcontrol.apiserver.k8s.io", "resource.k8s.io", "metrics.k8s.io",
)


class Registry:
    """All served resources, looked up by group/version/plural, by kind, or by storage."""

    def __init__(self, resources: Iterable[ResourceType] = BUILTIN) -> None:
        self._lock = threading.Lock()
        self._by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        self._by_gvk: dict[tuple[str, str, str], ResourceType] = {}
        #: bumped on every change, so caches of discovery documents know when to rebuild
        self.generation = 0
        for rt in resources:
            self.register(rt)

    def register(self, rt: ResourceType) -> None:
        """Serve ``rt``; re-registering the same definition is a no-op, a different one raises."""
        with self._lock:
            key = (rt.group, rt.version, rt.plural)
            existing = self._by_gvr.get(key)
            if existing is not None and existing != rt and not (existing.custom and rt.custom):
                raise ValueError(f"resource {rt.plural}.{rt.group}/{rt.version} is taken")
            kind_owner = self._by_gvk.get((rt.group, rt.version, rt.kind))
            if kind_owner is not None and kind_owner.plural != rt.plural:
                raise ValueError(
                    f"kind {rt.kind} in {rt.api_version} is already served as {kind_owner.plural}"
                )
            self._by_gvr[key] = rt
            self._by_gvk[(rt.group, rt.version, rt.kind)] = rt
            self.generation += 1

    def unregister(self, group: str, version: str, plural: str) -> None:
        with self._lock:
            rt = self._by_gvr.pop((group, version, plural), None)
            if rt is not None:
                self._by_gvk.pop((group, version, rt.kind), None)
                self.generation += 1

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_gvr.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> ResourceType | None:
        return self._by_gvk.get((group, version, kind))

    def by_api_version(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        return self._by_gvk.get((group, version, kind))

    def versions_of(self, storage: StorageKey) -> list[ResourceType]:
        return [rt for rt in self._by_gvr.values() if rt.storage == storage]

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(list(self._by_gvr.values()))

    def group_versions(self) -> dict[str, list[str]]:
        """Group → served versions, groups in discovery order, versions newest first."""
        out: dict[str, list[str]] = {}
        for rt in self:
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        order = {g: i for i, g in enumerate(GROUP_PRIORITY)}
        for versions in out.values():
            versions.sort(key=_version_priority)
        return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def _version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version ordering: GA before beta before alpha, higher numbers first."""
    import re

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0)
    stability = {"": 0, "beta": 1, "alpha": 2}[m.group(2) or ""]
    return (stability, -int(m.group(1)), -int(m.group(3) or 0))
