"""kube-scheduler's default plugins, as plain functions over the scheduler cache.

Filters, in the default profile's order (the first one that rejects a node gives its reason):
NodeUnschedulable, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
PodTopologySpread, InterPodAffinity. Scores, with the default weights: TaintToleration 3,
NodeAffinity 2, NodeResourcesFit (LeastAllocated) 1, PodTopologySpread 2, InterPodAffinity 2,
NodeResourcesBalancedAllocation 1 (ImageLocality, weight 1, scores 0: simulated nodes report no
images). Messages and formulas follow ``pkg/scheduler/framework/plugins`` of Kubernetes 1.37,
integer divisions and rounding included, so a placement can be worked out by hand.

:class:`Cycle` runs them plugin by plugin for one pod (PreFilter, Filter, PreScore, Score,
NormalizeScore): it is the reference every decision can be checked against, and the path taken
by pods with inter-pod affinity, explicit topology spread constraints or host ports. Other pods
take the incremental :mod:`kubenb.scheduler.fastpath`, which must (and is tested to) agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from kubenb.api.selectors import LabelSelector, Requirement
from kubenb.controllers.podutil import selector as label_selector
from kubenb.scheduler.resources import Requests, pod_requests

if TYPE_CHECKING:
    from kubenb.scheduler.cache import NodeInfo, SchedulerCache

__all__ = [
    "AffinityTerm", "Cycle", "PodShape", "PodTerms", "SpreadConstraint", "Status", "Taint",
    "Toleration", "balanced_allocation", "fits_resources", "host_ports", "least_allocated",
    "num_feasible_nodes_to_find", "pod_claims", "pod_terms", "spread_score",
]

Obj = dict[str, Any]

MAX_NODE_SCORE = 100
UNSCHEDULABLE = "Unschedulable"
UNRESOLVABLE = "UnschedulableAndUnresolvable"

# plugin names
NODE_UNSCHEDULABLE = "NodeUnschedulable"
TAINT_TOLERATION = "TaintToleration"
NODE_AFFINITY = "NodeAffinity"
NODE_PORTS = "NodePorts"
NODE_RESOURCES_FIT = "NodeResourcesFit"
POD_TOPOLOGY_SPREAD = "PodTopologySpread"
INTER_POD_AFFINITY = "InterPodAffinity"
VOLUME_BINDING = "VolumeBinding"
BALANCED_ALLOCATION = "NodeResourcesBalancedAllocation"

WEIGHTS = {TAINT_TOLERATION: 3, NODE_AFFINITY: 2, NODE_RESOURCES_FIT: 1, POD_TOPOLOGY_SPREAD: 2,
           INTER_POD_AFFINITY: 2, BALANCED_ALLOCATION: 1}

# filter reasons, word for word
ERR_UNSCHEDULABLE = "node(s) were unschedulable"
ERR_TAINT = "node(s) had untolerated taint(s)"
ERR_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
ERR_AFFINITY_CONFLICT = "pod affinity terms conflict"
ERR_PORTS = "node(s) didn't have free ports for the requested pod ports"
ERR_TOO_MANY_PODS = "Too many pods"
ERR_SPREAD = "node(s) didn't match pod topology spread constraints"
ERR_SPREAD_LABEL = ERR_SPREAD + " (missing required label)"
ERR_POD_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_POD_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
ERR_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
ERR_VOLUME_NODE_AFFINITY = "node(s) didn't match PersistentVolume's node affinity"
ERR_PV_MISSING = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
MAX_INT32 = 2 ** 31 - 1
#: the system default spreading: (topologyKey, maxSkew), both ScheduleAnyway
SYSTEM_DEFAULT_SPREAD = ((HOSTNAME, 3), (ZONE, 5))


class Status(NamedTuple):
    """Why a node was rejected: a code (Unschedulable, or ...AndUnresolvable when preempting
    other pods could not help), the reasons, and the plugin."""

    code: str
    reasons: tuple[str, ...]
    plugin: str


def num_feasible_nodes_to_find(n: int, percentage: int = 0) -> int:
    """``numFeasibleNodesToFind``: stop filtering after this many fit (50 - n/125 percent,
    at least 5 percent and at least 100 nodes)."""
    if n < 100:
        return n
    if percentage == 0:
        percentage = max(5, 50 - n // 125)
    return max(100, n * percentage // 100)


# ---------------------------------------------------------------------- taints and tolerations


class Taint(NamedTuple):
    key: str
    value: str
    effect: str


class Toleration(NamedTuple):
    key: str
    operator: str
    value: str
    effect: str

    def tolerates(self, taint: Taint) -> bool:
        """``Toleration.ToleratesTaint``."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator in ("", "Equal"):
            return self.value == taint.value
        return self.operator == "Exists"


def _tolerations(spec: Obj) -> tuple[Toleration, ...]:
    return tuple(Toleration(t.get("key") or "", t.get("operator") or "", str(t.get("value") or ""),
                            t.get("effect") or "")
                 for t in spec.get("tolerations") or ())


def tolerated(tolerations: Sequence[Toleration], taint: Taint) -> bool:
    return any(t.tolerates(taint) for t in tolerations)


# ---------------------------------------------------------------------- node selectors


class NodeRequirement(NamedTuple):
    key: str
    op: str
    values: tuple[str, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.op
        if op == "In":
            return labels.get(self.key) in self.values
        if op == "NotIn":
            v = labels.get(self.key)
            return v is None or v not in self.values
        if op == "Exists":
            return self.key in labels
        if op == "DoesNotExist":
            return self.key not in labels
        if op in ("Gt", "Lt"):
            v = labels.get(self.key)
            if v is None or len(self.values) != 1:
                return False
            try:
                have, want = int(v), int(self.values[0])
            except ValueError:
                return False
            return have > want if op == "Gt" else have < want
        return False


class NodeTerm(NamedTuple):
    """A ``nodeSelectorTerm``: its expressions and fields are ANDed; an empty term matches
    nothing; a term that does not parse matches nothing."""

    labels: tuple[NodeRequirement, ...]
    fields: tuple[NodeRequirement, ...]
    valid: bool

    def matches(self, node_labels: Mapping[str, str], node_name: str) -> bool:
        if not self.valid or (not self.labels and not self.fields):
            return False
        for r in self.labels:
            if not r.matches(node_labels):
                return False
        if self.fields:
            fields = {"metadata.name": node_name}
            for r in self.fields:
                if not r.matches(fields):
                    return False
        return True


def _node_term(term: Obj | None) -> NodeTerm:
    term = term or {}
    valid = True
    labels = []
    for e in term.get("matchExpressions") or ():
        op = e.get("operator", "")
        values = tuple(str(v) for v in e.get("values") or ())
        if op not in ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"):
            valid = False
        labels.append(NodeRequirement(e.get("key", ""), op, values))
    fields = []
    for e in term.get("matchFields") or ():
        op = e.get("operator", "")
        if e.get("key") != "metadata.name" or op not in ("In", "NotIn"):
            valid = False
        fields.append(NodeRequirement(e.get("key", ""), op,
                                      tuple(str(v) for v in e.get("values") or ())))
    return NodeTerm(tuple(labels), tuple(fields), valid)


# ---------------------------------------------------------------------- pod (anti-)affinity


class AffinityTerm(NamedTuple):
    """A parsed ``podAffinityTerm`` (with its weight when it is a preferred one)."""

    selector: LabelSelector
    namespaces: frozenset[str]
    ns_selector: LabelSelector | None
    key: str
    weight: int

    def matches(self, ns: str, labels: Mapping[str, str],
                ns_labels: Mapping[str, str] | None) -> bool:
        """``AffinityTerm.Matches``: the pod's namespace is one of the term's (or its labels
        match the namespace selector) and the pod's labels match the label selector."""
        if ns in self.namespaces or (self.ns_selector is not None
                                     and self.ns_selector.matches(ns_labels or {})):
            return self.selector.matches(labels)
        return False


class PodTerms(NamedTuple):
    required_affinity: tuple[AffinityTerm, ...]
    required_anti: tuple[AffinityTerm, ...]
    preferred_affinity: tuple[AffinityTerm, ...]
    preferred_anti: tuple[AffinityTerm, ...]


def _merge_keys(selector: LabelSelector, labels: Mapping[str, str], match: Sequence[str],
                mismatch: Sequence[str]) -> LabelSelector:
    """``matchLabelKeys`` / ``mismatchLabelKeys``: the pod's own values become requirements."""
    extra = [Requirement(k, "in", (labels[k],)) for k in match if k in labels]
    extra += [Requirement(k, "notin", (labels[k],)) for k in mismatch if k in labels]
    if not extra or selector.nothing:
        return selector
    return LabelSelector(selector.requirements + tuple(extra))


def _affinity_term(ns: str, labels: Mapping[str, str], term: Obj, weight: int) -> AffinityTerm:
    sel = label_selector(term.get("labelSelector"))
    sel = _merge_keys(sel, labels, term.get("matchLabelKeys") or (),
                      term.get("mismatchLabelKeys") or ())
    namespaces = frozenset(term.get("namespaces") or ())
    ns_sel_obj = term.get("namespaceSelector")
    ns_sel = label_selector(ns_sel_obj) if ns_sel_obj is not None else None
    if not namespaces and ns_sel is None:
        namespaces = frozenset((ns,))
    return AffinityTerm(sel, namespaces, ns_sel, term.get("topologyKey", ""), weight)


def pod_terms(ns: str, labels: Mapping[str, str], spec: Obj) -> PodTerms | None:
    """A pod's inter-pod (anti-)affinity terms, or None when it has none."""
    affinity = spec.get("affinity") or {}
    pa = affinity.get("podAffinity") or {}
    paa = affinity.get("podAntiAffinity") or {}
    if not pa and not paa:
        return None

    def required(section: Obj) -> tuple[AffinityTerm, ...]:
        return tuple(_affinity_term(ns, labels, t, 1)
                     for t in section.get("requiredDuringSchedulingIgnoredDuringExecution") or ())

    def preferred(section: Obj) -> tuple[AffinityTerm, ...]:
        return tuple(_affinity_term(ns, labels, w.get("podAffinityTerm") or {},
                                    int(w.get("weight") or 0))
                     for w in section.get("preferredDuringSchedulingIgnoredDuringExecution") or ())

    terms = PodTerms(required(pa), required(paa), preferred(pa), preferred(paa))
    if not any(terms):
        return None
    return terms


# ---------------------------------------------------------------------- topology spread


class SpreadConstraint(NamedTuple):
    max_skew: int
    key: str
    selector: LabelSelector
    min_domains: int
    honor_affinity: bool
    honor_taints: bool


def _spread_constraints(labels: Mapping[str, str], spec: Obj,
                        action: str) -> tuple[SpreadConstraint, ...]:
    out = []
    for c in spec.get("topologySpreadConstraints") or ():
        if c.get("whenUnsatisfiable", "DoNotSchedule") != action:
            continue
        sel = label_selector(c.get("labelSelector"))
        keys = c.get("matchLabelKeys") or ()
        if keys and not sel.nothing:
            sel = _merge_keys(sel, labels, keys, ())
        out.append(SpreadConstraint(
            int(c.get("maxSkew") or 1), c.get("topologyKey", ""), sel,
            int(c.get("minDomains") or 1), c.get("nodeAffinityPolicy", "Honor") == "Honor",
            c.get("nodeTaintsPolicy", "Ignore") == "Honor"))
    return tuple(out)


def spread_score(contributions: Iterable[tuple[int, float, int]]) -> int:
    """PodTopologySpread's raw score of a node: ``round(sum(cnt * weight + maxSkew - 1))``."""
    score = 0.0
    for cnt, weight, max_skew in contributions:
        score += float(cnt) * weight + float(max_skew - 1)
    return math.floor(score + 0.5)


def normalizing_weight(size: int) -> float:
    """``topologyNormalizingWeight``: log(domains + 2)."""
    return math.log(size + 2)


# ---------------------------------------------------------------------- the pod's shape


class PodShape:
    """Everything the plugins read from a pod, parsed once for all pods of the same shape
    (the replicas of one ReplicaSet share one)."""

    def __init__(self, key: str, pod: Obj) -> None:
        meta = pod["metadata"]
        spec: Obj = pod.get("spec") or {}
        self.key = key
        self.ns: str = meta.get("namespace") or ""
        self.labels: dict[str, str] = meta.get("labels") or {}
        self.owner: tuple[str, str, str] | None = None
        for ref in meta.get("ownerReferences") or ():
            if ref.get("controller"):
                self.owner = (ref.get("apiVersion", ""), ref.get("kind", ""), ref.get("name", ""))
                break
        self.req: Requests = pod_requests(spec)
        self.best_effort = not self.req.cpu and not self.req.memory
        self.priority = int(spec.get("priority") or 0)
        self.preempt_never = spec.get("preemptionPolicy") == "Never"
        self.tolerations = _tolerations(spec)
        self.prefer_tolerations = tuple(t for t in self.tolerations
                                        if t.effect in ("", "PreferNoSchedule"))
        self.tolerates_unschedulable = tolerated(self.tolerations,
                                                 Taint(UNSCHEDULABLE_TAINT, "", "NoSchedule"))
        self.node_selector: dict[str, str] | None = spec.get("nodeSelector")
        node_affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
        required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
        self.required_terms: tuple[NodeTerm, ...] | None = None
        self.name_set: frozenset[str] | None = None
        self.name_conflict = False
        if required is not None:
            raw_terms = required.get("nodeSelectorTerms") or ()
            self.required_terms = tuple(_node_term(t) for t in raw_terms)
            self._node_names(raw_terms)
        self.has_node_affinity = self.node_selector is not None or self.required_terms is not None
        self.preferred_terms = tuple(
            (int(p.get("weight") or 0), _node_term(p.get("preference")))
            for p in node_affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or ()
            if int(p.get("weight") or 0) != 0)
        self.ports = host_ports(spec)
        self.explicit_spread = bool(spec.get("topologySpreadConstraints"))
        self.hard_spread = _spread_constraints(self.labels, spec, "DoNotSchedule")
        self.soft_spread = _spread_constraints(self.labels, spec, "ScheduleAnyway")
        self.terms = pod_terms(self.ns, self.labels, spec)
        #: set by the scheduler: the selector of the system default spreading (None: none)
        self.default_selector: LabelSelector | None = None
        self.workload_version = -1
        #: set by the scheduler: no existing pod's affinity terms concern this shape (as of
        #: the cache's ``affinity_version`` noted here)
        self.affinity_clear = True
        self.affinity_version = -1

    def _node_names(self, raw_terms: Sequence[Obj]) -> None:
        """NodeAffinity's PreFilter: terms that all pin ``metadata.name`` narrow the nodes."""
        names: set[str] | None = None
        for t in raw_terms:
            term_names: set[str] | None = None
            for r in t.get("matchFields") or ():
                if r.get("key") == "metadata.name" and r.get("operator") == "In":
                    vals = set(r.get("values") or ())
                    term_names = vals if term_names is None else term_names & vals
            if term_names is None:
                return
            names = term_names if names is None else names | term_names
        if names is not None:
            if not names:
                self.name_conflict = True
            else:
                self.name_set = frozenset(names)

    # -- per-node checks shared by both paths
    def matches_node_affinity(self, node: NodeInfo) -> bool:
        """The pod's nodeSelector and required node affinity (``GetRequiredNodeAffinity``)."""
        labels = node.labels
        if self.node_selector:
            for k, v in self.node_selector.items():
                if labels.get(k) != v:
                    return False
        if self.required_terms is not None:
            name = node.name
            return any(t.matches(labels, name) for t in self.required_terms)
        return True

    def untolerated_taint(self, node: NodeInfo) -> bool:
        """A NoSchedule or NoExecute taint the pod does not tolerate."""
        tols = self.tolerations
        for taint in node.taints:
            if taint.effect in ("NoSchedule", "NoExecute") and not tolerated(tols, taint):
                return True
        return False

    def static_filter(self, node: NodeInfo) -> Status | None:
        """The filters that only read the node object: NodeUnschedulable, TaintToleration,
        NodeAffinity."""
        if node.unschedulable and not self.tolerates_unschedulable:
            return Status(UNRESOLVABLE, (ERR_UNSCHEDULABLE,), NODE_UNSCHEDULABLE)
        if node.taints and self.untolerated_taint(node):
            return Status(UNRESOLVABLE, (ERR_TAINT,), TAINT_TOLERATION)
        if self.has_node_affinity and not self.matches_node_affinity(node):
            return Status(UNRESOLVABLE, (ERR_NODE_AFFINITY,), NODE_AFFINITY)
        return None

    def prefer_taint_count(self, node: NodeInfo) -> int:
        """TaintToleration's raw score: PreferNoSchedule taints the pod does not tolerate."""
        n = 0
        for taint in node.taints:
            if taint.effect == "PreferNoSchedule" and not tolerated(self.prefer_tolerations,
                                                                    taint):
                n += 1
        return n

    def preferred_affinity_score(self, node: NodeInfo) -> int:
        """NodeAffinity's raw score: the weights of the preferred terms the node matches."""
        return sum(w for w, t in self.preferred_terms if t.matches(node.labels, node.name))


def host_ports(spec: Obj) -> tuple[tuple[str, str, int], ...]:
    """The (protocol, hostIP, hostPort) triples the pod's containers claim on their node."""
    out = []
    for c in spec.get("containers") or ():
        for p in c.get("ports") or ():
            port = p.get("hostPort") or 0
            if port:
                out.append((p.get("protocol") or "TCP", p.get("hostIP") or "0.0.0.0", int(port)))
    for c in spec.get("initContainers") or ():
        if c.get("restartPolicy") == "Always":
            for p in c.get("ports") or ():
                port = p.get("hostPort") or 0
                if port:
                    out.append((p.get("protocol") or "TCP", p.get("hostIP") or "0.0.0.0",
                                int(port)))
    return tuple(out)


def ports_conflict(wanted: Sequence[tuple[str, str, int]],
                   used: Mapping[tuple[str, str, int], int]) -> bool:
    """NodePorts: a wanted (protocol, ip, port) clashes with a used one on the same port and
    protocol when either address is 0.0.0.0 or both are the same."""
    if not used:
        return False
    for proto, ip, port in wanted:
        for uproto, uip, uport in used:
            if uport == port and uproto == proto and (
                    ip == uip or ip == "0.0.0.0" or uip == "0.0.0.0"):
                return True
    return False


def fits_resources(req: Requests, node: NodeInfo) -> Status | None:
    """NodeResourcesFit's filter: pods count, cpu, memory, ephemeral-storage, the rest."""
    reasons: list[str] = []
    unresolvable = False
    if node.pod_count + 1 > node.alloc_pods:
        reasons.append(ERR_TOO_MANY_PODS)
    if req.cpu or req.memory or req.ephemeral or req.scalars:
        if req.cpu and req.cpu > node.alloc_cpu - node.req_cpu:
            reasons.append("Insufficient cpu")
            unresolvable |= req.cpu > node.alloc_cpu
        if req.memory and req.memory > node.alloc_mem - node.req_mem:
            reasons.append("Insufficient memory")
            unresolvable |= req.memory > node.alloc_mem
        if req.ephemeral and req.ephemeral > node.alloc_eph - node.req_eph:
            reasons.append("Insufficient ephemeral-storage")
            unresolvable |= req.ephemeral > node.alloc_eph
        for name, amount in req.scalars:
            alloc = node.alloc_scalars.get(name, 0)
            if amount > alloc - node.req_scalars.get(name, 0):
                reasons.append(f"Insufficient {name}")
                unresolvable |= amount > alloc
    if not reasons:
        return None
    return Status(UNRESOLVABLE if unresolvable else UNSCHEDULABLE, tuple(reasons),
                  NODE_RESOURCES_FIT)


def least_allocated(node: NodeInfo, nz_cpu: int, nz_mem: int) -> int:
    """NodeResourcesFit's score (LeastAllocated, cpu and memory weight 1) on non-zero
    requests: the free share of each resource after the pod, averaged."""
    total = weights = 0
    cap = node.alloc_cpu
    if cap:
        req = node.nz_cpu + nz_cpu
        total += 0 if req > cap else (cap - req) * MAX_NODE_SCORE // cap
        weights += 1
    cap = node.alloc_mem
    if cap:
        req = node.nz_mem + nz_mem
        total += 0 if req > cap else (cap - req) * MAX_NODE_SCORE // cap
        weights += 1
    return total // weights if weights else 0


def balanced_allocation(node: NodeInfo, cpu: int, mem: int) -> int:
    """NodeResourcesBalancedAllocation: 100 * (1 - std of the cpu and memory fractions)."""
    fractions = []
    if node.alloc_cpu:
        fractions.append(min(1.0, (node.req_cpu + cpu) / node.alloc_cpu))
    if node.alloc_mem:
        fractions.append(min(1.0, (node.req_mem + mem) / node.alloc_mem))
    std = abs((fractions[0] - fractions[1]) / 2) if len(fractions) == 2 else 0.0
    return int((1 - std) * MAX_NODE_SCORE)


def normalize(scores: list[int], reverse: bool) -> list[int]:
    """``helper.DefaultNormalizeScore``."""
    top = max(scores, default=0)
    if top == 0:
        return [MAX_NODE_SCORE] * len(scores) if reverse else scores
    if reverse:
        return [MAX_NODE_SCORE - MAX_NODE_SCORE * s // top for s in scores]
    return [MAX_NODE_SCORE * s // top for s in scores]


def matching_counts(cache: SchedulerCache, ns: str, selector: LabelSelector) -> dict[str, int]:
    """``countPodsMatchSelector`` for every node at once: node name -> running, non-terminating
    pods of ``ns`` matching ``selector`` (an empty selector counts nothing)."""
    if selector.empty or selector.nothing:
        return {}
    return cache.selector_count(ns, selector).counts


# ---------------------------------------------------------------------- one scheduling cycle


def pod_claims(pod: Obj) -> tuple[tuple[str, bool], ...]:
    """The PersistentVolumeClaims a pod's volumes use: (name, made for an ephemeral volume)."""
    out = []
    name = pod["metadata"]["name"]
    for v in (pod.get("spec") or {}).get("volumes") or ():
        if "persistentVolumeClaim" in v:
            out.append(((v["persistentVolumeClaim"] or {}).get("claimName", ""), False))
        elif "ephemeral" in v:
            out.append((f"{name}-{v.get('name', '')}", True))
    return tuple(out)


class Cycle:
    """One pod's trip through the plugins, in the framework's order."""

    def __init__(self, shape: PodShape, cache: SchedulerCache,
                 claims: tuple[tuple[str, bool], ...] = ()) -> None:
        self.shape = shape
        self.cache = cache
        self.claims = claims
        #: VolumeBinding's PreFilter: the volumes bound claims use (None: the PV is missing)
        self._volumes: list[Obj | None] = []
        #: claims waiting for their first consumer (the chosen node is written into them)
        self.delayed: list[Obj] = []
        self.ns_labels = cache.namespace_labels.get(shape.ns, {})
        self.nodes: list[NodeInfo] = cache.order
        self.absent: Status | None = None
        self._spread: list[dict[str, int]] = []
        self._spread_min: list[int] = []
        self._ipa = False
        self._existing_anti: dict[tuple[str, str], int] = {}
        self._affinity: dict[tuple[str, str], int] = {}
        self._anti: dict[tuple[str, str], int] = {}
        self.plugins_rejecting: set[str] = set()

    # ------------------------------------------------------------------ PreFilter
    def prefilter(self) -> Status | None:
        """Returns a rejection for every node, or None; may narrow :attr:`nodes`."""
        shape, cache = self.shape, self.cache
        if shape.name_conflict:
            return Status(UNRESOLVABLE, (ERR_AFFINITY_CONFLICT,), NODE_AFFINITY)
        if shape.name_set is not None:
            self.nodes = sorted((cache.nodes[n] for n in shape.name_set
                                 if n in cache.nodes and cache.nodes[n].exists),
                                key=lambda i: i.pos)
            self.absent = Status(UNRESOLVABLE, (f"node(s) didn't satisfy plugin(s) "
                                                f"[{NODE_AFFINITY}]",), NODE_AFFINITY)
        if self.claims:
            status = self._volume_prefilter()
            if status is not None:
                return status
        if shape.hard_spread:
            self._spread_prefilter()
        self._ipa_prefilter()
        return None

    def _volume_prefilter(self) -> Status | None:
        """VolumeBinding's PreFilter: every claim exists, and is bound unless its class waits
        for the first consumer."""
        cache, ns = self.cache, self.shape.ns
        immediate = False
        for name, ephemeral in self.claims:
            claim = cache.get_claim(ns, name)
            if claim is None:
                why = (f'waiting for ephemeral volume controller to create the '
                       f'persistentvolumeclaim "{name}"' if ephemeral
                       else f'persistentvolumeclaim "{name}" not found')
                return Status(UNRESOLVABLE, (why,), VOLUME_BINDING)
            if claim["metadata"].get("deletionTimestamp"):
                return Status(UNRESOLVABLE, (f'persistentvolumeclaim "{name}" is being deleted',),
                              VOLUME_BINDING)
            spec = claim.get("spec") or {}
            if spec.get("volumeName"):
                self._volumes.append(cache.get_volume(spec["volumeName"]))
                continue
            sc = cache.get_class(spec.get("storageClassName") or "")
            if sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer":
                self.delayed.append(claim)
            else:
                immediate = True
        if immediate:
            return Status(UNRESOLVABLE, (ERR_UNBOUND_IMMEDIATE,), VOLUME_BINDING)
        return None

    def _volume_filter(self, node: NodeInfo) -> Status | None:
        for pv in self._volumes:
            if pv is None:
                return Status(UNRESOLVABLE, (ERR_PV_MISSING,), VOLUME_BINDING)
            required = ((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required")
            if required is not None and not any(
                    _node_term(t).matches(node.labels, node.name)
                    for t in required.get("nodeSelectorTerms") or ()):
                return Status(UNRESOLVABLE, (ERR_VOLUME_NODE_AFFINITY,), VOLUME_BINDING)
        return None

    def _spread_prefilter(self) -> None:
        shape, cache = self.shape, self.cache
        constraints = shape.hard_spread
        counts: list[dict[str, int]] = [{} for _ in constraints]
        matching = [matching_counts(cache, shape.ns, c.selector) for c in constraints]
        for node in cache.order:
            labels = node.labels
            if any(c.key not in labels for c in constraints):
                continue
            for i, c in enumerate(constraints):
                if not self._included(c, node):
                    continue
                value = labels[c.key]
                counts[i][value] = counts[i].get(value, 0) + matching[i].get(node.name, 0)
        self._spread = counts
        self._spread_min = [min(d.values()) if d else MAX_INT32 for d in counts]

    def _included(self, c: SpreadConstraint, node: NodeInfo) -> bool:
        """``matchNodeInclusionPolicies``."""
        if c.honor_affinity and not self.shape.matches_node_affinity(node):
            return False
        return not (c.honor_taints and self.shape.untolerated_taint(node))

    def _ipa_prefilter(self) -> None:
        shape, cache = self.shape, self.cache
        terms = shape.terms
        nodes = cache.nodes
        for p in cache.anti_affinity_pods.values():
            node = nodes.get(p.node)
            if node is None or not node.exists or p.terms is None:
                continue
            for t in p.terms.required_anti:
                if t.matches(shape.ns, shape.labels, self.ns_labels) and t.key in node.labels:
                    pair = (t.key, node.labels[t.key])
                    self._existing_anti[pair] = self._existing_anti.get(pair, 0) + 1
        if terms is not None and (terms.required_affinity or terms.required_anti):
            ns_labels = cache.namespace_labels
            for p in cache.pods.values():
                node = nodes.get(p.node)
                if node is None or not node.exists:
                    continue
                p_ns_labels = ns_labels.get(p.ns, {})
                if terms.required_affinity and all(
                        t.matches(p.ns, p.labels, p_ns_labels) for t in terms.required_affinity):
                    for t in terms.required_affinity:
                        if t.key in node.labels:
                            pair = (t.key, node.labels[t.key])
                            self._affinity[pair] = self._affinity.get(pair, 0) + 1
                for t in terms.required_anti:
                    if t.key in node.labels and t.matches(p.ns, p.labels, p_ns_labels):
                        pair = (t.key, node.labels[t.key])
                        self._anti[pair] = self._anti.get(pair, 0) + 1
        self._ipa = bool(self._existing_anti) or (
            terms is not None and bool(terms.required_affinity or terms.required_anti))

    # ------------------------------------------------------------------ Filter
    def filter(self, node: NodeInfo) -> Status | None:
        shape = self.shape
        status = shape.static_filter(node)
        if status is not None:
            return status
        if shape.ports and ports_conflict(shape.ports, node.ports):
            return Status(UNSCHEDULABLE, (ERR_PORTS,), NODE_PORTS)
        status = fits_resources(shape.req, node)
        if status is not None:
            return status
        if self._volumes:
            status = self._volume_filter(node)
            if status is not None:
                return status
        if shape.hard_spread:
            status = self._spread_filter(node)
            if status is not None:
                return status
        if self._ipa:
            return self._ipa_filter(node)
        return None

    def _spread_filter(self, node: NodeInfo) -> Status | None:
        shape = self.shape
        for i, c in enumerate(shape.hard_spread):
            value = node.labels.get(c.key)
            if value is None:
                return Status(UNRESOLVABLE, (ERR_SPREAD_LABEL,), POD_TOPOLOGY_SPREAD)
            domains = self._spread[i]
            min_match = 0 if len(domains) < c.min_domains else self._spread_min[i]
            self_match = 1 if c.selector.matches(shape.labels) else 0
            if domains.get(value, 0) + self_match - min_match > c.max_skew:
                return Status(UNSCHEDULABLE, (ERR_SPREAD,), POD_TOPOLOGY_SPREAD)
        return None

    def _ipa_filter(self, node: NodeInfo) -> Status | None:
        terms = self.shape.terms
        labels = node.labels
        if terms is not None and terms.required_affinity:
            exist = True
            for t in terms.required_affinity:
                value = labels.get(t.key)
                if value is None:
                    return Status(UNRESOLVABLE, (ERR_POD_AFFINITY,), INTER_POD_AFFINITY)
                if self._affinity.get((t.key, value), 0) <= 0:
                    exist = False
            if not exist and not (not self._affinity and all(
                    t.matches(self.shape.ns, self.shape.labels, None)
                    for t in terms.required_affinity)):
                return Status(UNRESOLVABLE, (ERR_POD_AFFINITY,), INTER_POD_AFFINITY)
        if terms is not None and self._anti:
            for t in terms.required_anti:
                value = labels.get(t.key)
                if value is not None and self._anti.get((t.key, value), 0) > 0:
                    return Status(UNSCHEDULABLE, (ERR_POD_ANTI_AFFINITY,), INTER_POD_AFFINITY)
        if self._existing_anti:
            for pair in labels.items():
                if self._existing_anti.get(pair, 0) > 0:
                    return Status(UNSCHEDULABLE, (ERR_EXISTING_ANTI_AFFINITY,),
                                  INTER_POD_AFFINITY)
        return None

    # ------------------------------------------------------------------ Score
    def score(self, nodes: list[NodeInfo]) -> list[int]:
        """PreScore, Score, NormalizeScore and the weighted sum, for the feasible nodes."""
        shape = self.shape
        totals = [0] * len(nodes)

        def add(plugin: str, scores: Iterable[int]) -> None:
            w = WEIGHTS[plugin]
            for i, s in enumerate(scores):
                totals[i] += s * w

        add(TAINT_TOLERATION, normalize([shape.prefer_taint_count(n) for n in nodes], True))
        if shape.preferred_terms:
            add(NODE_AFFINITY,
                normalize([shape.preferred_affinity_score(n) for n in nodes], False))
        req = shape.req
        add(NODE_RESOURCES_FIT, (least_allocated(n, req.nz_cpu, req.nz_memory) for n in nodes))
        spread = self._spread_scores(nodes)
        if spread is not None:
            add(POD_TOPOLOGY_SPREAD, spread)
        ipa = self._ipa_scores(nodes)
        if ipa is not None:
            add(INTER_POD_AFFINITY, ipa)
        if not shape.best_effort:
            add(BALANCED_ALLOCATION, (balanced_allocation(n, req.cpu, req.memory) for n in nodes))
        return totals

    def spread_constraints(self) -> tuple[tuple[SpreadConstraint, ...], bool]:
        """The soft constraints and whether they are the system defaults."""
        shape = self.shape
        if shape.explicit_spread:
            return shape.soft_spread, False
        sel = shape.default_selector
        if sel is None:
            return (), True
        return tuple(SpreadConstraint(skew, key, sel, 1, True, False)
                     for key, skew in SYSTEM_DEFAULT_SPREAD), True

    def _spread_scores(self, nodes: list[NodeInfo]) -> list[int] | None:
        shape, cache = self.shape, self.cache
        constraints, system = self.spread_constraints()
        if not constraints:
            return None
        require_all = not system
        ignored = [require_all and any(c.key not in n.labels for c in constraints)
                   for n in nodes]
        domains: list[dict[str, int]] = [{} for _ in constraints]
        for n, ign in zip(nodes, ignored, strict=True):
            if ign:
                continue
            for i, c in enumerate(constraints):
                if c.key != HOSTNAME:
                    domains[i].setdefault(n.labels.get(c.key, ""), 0)
        matching = [matching_counts(cache, shape.ns, c.selector) for c in constraints]
        weights = []
        scored = len(nodes) - sum(ignored)
        for i, c in enumerate(constraints):
            weights.append(normalizing_weight(scored if c.key == HOSTNAME else len(domains[i])))
        if any(c.key != HOSTNAME for c in constraints):
            for node in cache.order:
                if require_all and any(c.key not in node.labels for c in constraints):
                    continue
                for i, c in enumerate(constraints):
                    if c.key == HOSTNAME or not self._included(c, node):
                        continue
                    value = node.labels.get(c.key, "")
                    if value in domains[i]:
                        domains[i][value] += matching[i].get(node.name, 0)
        raw = []
        for n, ign in zip(nodes, ignored, strict=True):
            if ign:
                raw.append(0)
                continue
            contrib = []
            for i, c in enumerate(constraints):
                value = n.labels.get(c.key)
                if value is None:
                    continue
                cnt = (matching[i].get(n.name, 0) if c.key == HOSTNAME
                       else domains[i][value])
                contrib.append((cnt, weights[i], c.max_skew))
            raw.append(spread_score(contrib))
        kept = [s for s, ign in zip(raw, ignored, strict=True) if not ign]
        lo, hi = (min(kept), max(kept)) if kept else (0, 0)
        out = []
        for s, ign in zip(raw, ignored, strict=True):
            if ign:
                out.append(0)
            elif hi == 0:
                out.append(MAX_NODE_SCORE)
            else:
                out.append(MAX_NODE_SCORE * (hi + lo - s) // hi)
        return out

    def _ipa_scores(self, nodes: list[NodeInfo]) -> list[int] | None:
        shape, cache = self.shape, self.cache
        terms = shape.terms
        pref_aff = terms.preferred_affinity if terms else ()
        pref_anti = terms.preferred_anti if terms else ()
        candidates = cache.pods if (pref_aff or pref_anti) else cache.affinity_pods
        if not candidates:
            return None
        topo: dict[str, dict[str, int]] = {}

        def bump(key: str, labels: Mapping[str, str], amount: int) -> None:
            value = labels.get(key)
            if value is not None:
                by = topo.setdefault(key, {})
                by[value] = by.get(value, 0) + amount

        ns_labels = cache.namespace_labels
        for p in candidates.values():
            node = cache.nodes.get(p.node)
            if node is None or not node.exists or not node.labels:
                continue
            labels = node.labels
            p_ns = ns_labels.get(p.ns, {})
            for t in pref_aff:
                if t.matches(p.ns, p.labels, p_ns):
                    bump(t.key, labels, t.weight)
            for t in pref_anti:
                if t.matches(p.ns, p.labels, p_ns):
                    bump(t.key, labels, -t.weight)
            if p.terms is not None:
                for t in p.terms.required_affinity:
                    if t.matches(shape.ns, shape.labels, self.ns_labels):
                        bump(t.key, labels, 1)
                for t in p.terms.preferred_affinity:
                    if t.matches(shape.ns, shape.labels, self.ns_labels):
                        bump(t.key, labels, t.weight)
                for t in p.terms.preferred_anti:
                    if t.matches(shape.ns, shape.labels, self.ns_labels):
                        bump(t.key, labels, -t.weight)
        if not topo:
            return None
        raw = []
        for n in nodes:
            s = 0
            for key, by in topo.items():
                value = n.labels.get(key)
                if value is not None:
                    s += by.get(value, 0)
            raw.append(s)
        lo, hi = min(raw), max(raw)
        diff = hi - lo
        if diff <= 0:
            return [0] * len(raw)
        return [int(MAX_NODE_SCORE * ((s - lo) / diff)) for s in raw]
