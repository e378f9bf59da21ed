"""The scheduler's picture of the cluster, kept current from informer events, never rescanned.

Like kube-scheduler's ``internal/cache``: one :class:`NodeInfo` per node with what its
``status.allocatable`` offers (parsed once per node update) and what the pods bound to it
request (added and subtracted as pods come and go), and one :class:`PodInfo` per bound pod that
has not finished. A pod the scheduler has just bound is *assumed* onto its node at once, so the
next pod sees it before the watch event comes back.

Nodes are kept in kube-scheduler's node-tree order (zones taken in turn, nodes of a zone in the
order they came), which is the order the filter walks from its rotating start index.

Two things exist for speed:

- :class:`SelectorCount`: for a (namespace, label selector) pair, how many running pods match on
  each node (topology spreading needs it for every node scored); created on first use, then
  updated by pod events.
- the change log: every node whose pods or labels changed is appended, so per-pod-shape caches
  (:mod:`kubenb.scheduler.fastpath`) redo only those nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from kubenb.api.quantity import milli_value, value
from kubenb.api.selectors import LabelSelector
from kubenb.scheduler.plugins import PodShape, PodTerms, Taint, host_ports, pod_terms
from kubenb.scheduler.resources import Requests, pod_requests

__all__ = ["NodeInfo", "PodInfo", "SchedulerCache", "SelectorCount", "host_ports", "zone_key"]

Obj = dict[str, Any]
Key = tuple[str, str]

ZONE = "topology.kubernetes.io/zone"
REGION = "topology.kubernetes.io/region"
BETA_ZONE = "failure-domain.beta.kubernetes.io/zone"
BETA_REGION = "failure-domain.beta.kubernetes.io/region"
HOSTNAME = "kubernetes.io/hostname"

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"


def zone_key(labels: dict[str, str]) -> str:
    """``utilnode.GetZoneKey``: region and zone, or "" when the node has neither."""
    zone = labels.get(ZONE, labels.get(BETA_ZONE, ""))
    region = labels.get(REGION, labels.get(BETA_REGION, ""))
    if not region and not zone:
        return ""
    return f"{region}:\x00:{zone}"


class PodInfo:
    """A pod bound to a node (or assumed there) that still holds its resources."""

    __slots__ = ("key", "labels", "name", "node", "ns", "ports", "priority", "req", "start",
                 "terminating", "terms", "uid")

    def __init__(self, pod: Obj, node: str, shape: PodShape | None = None) -> None:
        meta = pod["metadata"]
        spec = pod.get("spec") or {}
        self.ns: str = meta.get("namespace") or ""
        self.name: str = meta["name"]
        self.key: Key = (self.ns, self.name)
        self.uid: str = meta.get("uid", "")
        self.labels: dict[str, str] = meta.get("labels") or {}
        self.node = node
        self.terminating = bool(meta.get("deletionTimestamp"))
        #: when it started (what preemption spares first among equals)
        self.start: str = ((pod.get("status") or {}).get("startTime")
                           or meta.get("creationTimestamp") or "")
        if shape is not None:  # the scheduler parsed this spec already
            self.req: Requests = shape.req
            self.priority: int = shape.priority
            self.ports: tuple[tuple[str, str, int], ...] = shape.ports
            self.terms: PodTerms | None = shape.terms
        else:
            self.req = pod_requests(spec)
            self.priority = int(spec.get("priority") or 0)
            self.ports = host_ports(spec)
            self.terms = pod_terms(self.ns, self.labels, spec)


class NodeInfo:
    """One node: its parsed facts and the running totals of the pods bound to it."""

    __slots__ = ("alloc_cpu", "alloc_eph", "alloc_mem", "alloc_pods", "alloc_scalars", "exists",
                 "has_host_label", "labels", "name", "nz_cpu", "nz_mem", "pod_count", "pods",
                 "ports", "pos", "req_cpu", "req_eph", "req_mem", "req_scalars", "static_version",
                 "taints", "unschedulable", "zone", "zone_key")

    def __init__(self, name: str) -> None:
        self.name = name
        self.exists = False  # False: a "ghost" holding pods bound to a node that is gone
        self.labels: dict[str, str] = {}
        self.taints: tuple[Taint, ...] = ()
        self.unschedulable = False
        self.alloc_cpu = self.alloc_mem = self.alloc_eph = self.alloc_pods = 0
        self.alloc_scalars: dict[str, int] = {}
        self.req_cpu = self.req_mem = self.req_eph = 0
        self.req_scalars: dict[str, int] = {}
        self.nz_cpu = self.nz_mem = 0
        self.pod_count = 0
        self.pods: dict[Key, PodInfo] = {}
        self.ports: dict[tuple[str, str, int], int] = {}
        self.pos = -1
        self.static_version = 0
        self.zone: str | None = None  # topology.kubernetes.io/zone label, None when absent
        self.zone_key = ""
        self.has_host_label = False

    def __repr__(self) -> str:
        return f"NodeInfo({self.name})"

    def without(self, gone: list[PodInfo]) -> NodeInfo:
        """A copy of the node as if the ``gone`` pods had left (preemption's dry run)."""
        copy = NodeInfo(self.name)
        for attr in ("exists", "labels", "taints", "unschedulable", "alloc_cpu", "alloc_mem",
                     "alloc_eph", "alloc_pods", "alloc_scalars", "pos", "static_version", "zone",
                     "zone_key", "has_host_label"):
            setattr(copy, attr, getattr(self, attr))
        skip = {p.key for p in gone}
        for p in self.pods.values():
            if p.key not in skip:
                copy.add_pod(p)
        return copy

    def set_node(self, node: Obj) -> bool:
        """Take the node's labels, taints and allocatable; True when any of them changed."""
        meta = node["metadata"]
        spec = node.get("spec") or {}
        status = node.get("status") or {}
        labels = meta.get("labels") or {}
        taints = tuple(Taint(t.get("key", ""), t.get("value") or "", t.get("effect", ""))
                       for t in spec.get("taints") or ())
        taints += _readiness_taints(status, taints)
        alloc = status.get("allocatable") or {}
        cpu = milli_value(alloc.get("cpu", 0))
        mem = value(alloc.get("memory", 0))
        eph = value(alloc.get("ephemeral-storage", 0))
        pods = value(alloc.get("pods", 0))
        scalars = {k: value(v) for k, v in alloc.items()
                   if k not in ("cpu", "memory", "ephemeral-storage", "pods")}
        unschedulable = bool(spec.get("unschedulable"))
        changed = (not self.exists or labels != self.labels or taints != self.taints
                   or unschedulable != self.unschedulable
                   or (cpu, mem, eph, pods) != (self.alloc_cpu, self.alloc_mem, self.alloc_eph,
                                                self.alloc_pods)
                   or scalars != self.alloc_scalars)
        if changed:
            self.exists = True
            self.labels = labels
            self.taints = taints
            self.unschedulable = unschedulable
            self.alloc_cpu, self.alloc_mem, self.alloc_eph, self.alloc_pods = cpu, mem, eph, pods
            self.alloc_scalars = scalars
            self.zone = labels.get(ZONE)
            self.zone_key = zone_key(labels)
            self.has_host_label = HOSTNAME in labels
            self.static_version += 1
        return changed

    # -- pods
    def add_pod(self, p: PodInfo) -> None:
        self.pods[p.key] = p
        r = p.req
        self.req_cpu += r.cpu
        self.req_mem += r.memory
        self.req_eph += r.ephemeral
        for name, amount in r.scalars:
            self.req_scalars[name] = self.req_scalars.get(name, 0) + amount
        self.nz_cpu += r.nz_cpu
        self.nz_mem += r.nz_memory
        self.pod_count += 1
        for port in p.ports:
            self.ports[port] = self.ports.get(port, 0) + 1

    def remove_pod(self, p: PodInfo) -> None:
        if self.pods.pop(p.key, None) is None:
            return
        r = p.req
        self.req_cpu -= r.cpu
        self.req_mem -= r.memory
        self.req_eph -= r.ephemeral
        for name, amount in r.scalars:
            left = self.req_scalars.get(name, 0) - amount
            if left:
                self.req_scalars[name] = left
            else:
                self.req_scalars.pop(name, None)
        self.nz_cpu -= r.nz_cpu
        self.nz_mem -= r.nz_memory
        self.pod_count -= 1
        for port in p.ports:
            left = self.ports.get(port, 0) - 1
            if left > 0:
                self.ports[port] = left
            else:
                self.ports.pop(port, None)


def _readiness_taints(status: Obj, taints: tuple[Taint, ...]) -> tuple[Taint, ...]:
    """A node that is not Ready repels pods as the node lifecycle controller's taints would
    (``node.kubernetes.io/not-ready`` or ``unreachable``, NoSchedule), even before it has
    added them, so pods tolerating those taints (DaemonSets) still land there."""
    ready = None
    for cond in status.get("conditions") or ():
        if cond.get("type") == "Ready":
            ready = cond.get("status")
            break
    if ready == "True":
        return ()
    key = UNREACHABLE if ready == "Unknown" else NOT_READY
    if any(t.key == key and t.effect == "NoSchedule" for t in taints):
        return ()
    return (Taint(key, "", "NoSchedule"),)


class SelectorCount:
    """Running pods of one namespace matching one selector, per node name."""

    __slots__ = ("alive", "counts", "last_used", "ns", "selector")

    def __init__(self, ns: str, selector: LabelSelector) -> None:
        self.ns = ns
        self.selector = selector
        self.counts: dict[str, int] = {}
        self.last_used = 0
        self.alive = True  # False once evicted: its counts are no longer kept

    def get(self, node: str) -> int:
        return self.counts.get(node, 0)


class SchedulerCache:
    """Nodes, bound pods, and the indexes the plugins read."""

    MAX_SELECTOR_COUNTS = 512
    #: the change log is halved past this length (readers that fall behind rebuild)
    MAX_CHANGES = 1 << 16

    def __init__(self) -> None:
        self.nodes: dict[str, NodeInfo] = {}
        self.pods: dict[Key, PodInfo] = {}
        self.by_ns: dict[str, dict[Key, PodInfo]] = {}
        #: node-tree order (only nodes that exist)
        self.order: list[NodeInfo] = []
        self._zones: list[str] = []
        self._tree: dict[str, list[NodeInfo]] = {}
        #: bumped when the order changes other than by appending at the end
        self.order_version = 0
        #: nodes whose pods, labels or allocatable changed, in order (see module docstring)
        self.changes: list[NodeInfo] = []
        self.changes_base = 0  # how many entries were dropped from the front
        self.selector_counts: dict[tuple[str, LabelSelector], SelectorCount] = {}
        self._counts_by_ns: dict[str, list[SelectorCount]] = {}
        self._use = 0
        #: bound pods with pod (anti-)affinity terms, and those with required anti-affinity
        self.affinity_pods: dict[Key, PodInfo] = {}
        self.anti_affinity_pods: dict[Key, PodInfo] = {}
        self.affinity_version = 0
        self.namespace_labels: dict[str, dict[str, str]] = {}
        #: lookups of PersistentVolumeClaims (namespace, name), PersistentVolumes and
        #: StorageClasses (the scheduler points them at its informers)
        self.get_claim: Callable[[str, str], Obj | None] = lambda ns, name: None
        self.get_volume: Callable[[str], Obj | None] = lambda name: None
        self.get_class: Callable[[str], Obj | None] = lambda name: None

    # ------------------------------------------------------------------ nodes

    def node(self, name: str) -> NodeInfo:
        info = self.nodes.get(name)
        if info is None:
            info = self.nodes[name] = NodeInfo(name)
        return info

    def set_node(self, node: Obj) -> tuple[NodeInfo, bool, bool]:
        """Add or update a node: (info, added, changed)."""
        info = self.node(node["metadata"]["name"])
        added = not info.exists
        old_zone = info.zone_key
        changed = info.set_node(node)
        if added:
            self._tree_add(info)
        elif changed and info.zone_key != old_zone:
            self._tree_remove(info, old_zone)
            self._tree_add(info)
        if changed:
            self._changed(info)
        return info, added, changed

    def remove_node(self, name: str) -> None:
        info = self.nodes.get(name)
        if info is None or not info.exists:
            return
        self._tree_remove(info, info.zone_key)
        info.exists = False
        info.static_version += 1
        if not info.pods:
            del self.nodes[name]

    def _tree_add(self, info: NodeInfo) -> None:
        key = info.zone_key
        members = self._tree.get(key)
        if members is None:
            members = self._tree[key] = []
            self._zones.append(key)
        members.append(info)
        if len(self._zones) == 1:  # one zone: the new node simply goes last
            info.pos = len(self.order)
            self.order.append(info)
        else:
            self._rebuild_order()

    def _tree_remove(self, info: NodeInfo, key: str) -> None:
        members = self._tree.get(key, [])
        if info in members:
            members.remove(info)
        if not members and key in self._tree:
            del self._tree[key]
            self._zones.remove(key)
        self._rebuild_order()

    def _rebuild_order(self) -> None:
        """``nodeTree.list()``: one node from each zone in turn."""
        order: list[NodeInfo] = []
        lists = [self._tree[z] for z in self._zones]
        depth = max((len(m) for m in lists), default=0)
        for i in range(depth):
            for members in lists:
                if i < len(members):
                    order.append(members[i])
        for info in self.order:
            info.pos = -1
        for pos, info in enumerate(order):
            info.pos = pos
        self.order = order
        self.order_version += 1

    # ------------------------------------------------------------------ pods

    def add_pod(self, pod: Obj, node: str, shape: PodShape | None = None) -> PodInfo:
        """Account a pod bound (or assumed) to ``node``."""
        p = PodInfo(pod, node, shape)
        old = self.pods.get(p.key)
        if old is not None:
            self.remove_pod(old)
        self._add(p)
        return p

    def _add(self, p: PodInfo) -> None:
        self.pods[p.key] = p
        self.by_ns.setdefault(p.ns, {})[p.key] = p
        info = self.node(p.node)
        info.add_pod(p)
        if p.terms is not None:
            self.affinity_pods[p.key] = p
            if p.terms.required_anti:
                self.anti_affinity_pods[p.key] = p
            self.affinity_version += 1
        if not p.terminating:
            self._count(p, 1)
        self._changed(info)

    def remove_pod(self, p: PodInfo) -> None:
        if self.pods.get(p.key) is not p:
            return
        del self.pods[p.key]
        ns_pods = self.by_ns.get(p.ns)
        if ns_pods is not None:
            ns_pods.pop(p.key, None)
            if not ns_pods:
                del self.by_ns[p.ns]
        info = self.nodes.get(p.node)
        if info is not None:
            info.remove_pod(p)
            self._changed(info)
            if not info.exists and not info.pods:
                del self.nodes[p.node]
        if p.terms is not None:
            self.affinity_pods.pop(p.key, None)
            self.anti_affinity_pods.pop(p.key, None)
            self.affinity_version += 1
        if not p.terminating:
            self._count(p, -1)

    def update_pod(self, p: PodInfo, pod: Obj) -> PodInfo:
        """A bound pod changed (labels, deletion): re-account what depends on it."""
        meta = pod["metadata"]
        labels = meta.get("labels") or {}
        terminating = bool(meta.get("deletionTimestamp"))
        if labels == p.labels and terminating == p.terminating:
            return p
        self.remove_pod(p)
        fresh = PodInfo(pod, p.node)
        self._add(fresh)
        return fresh

    # ------------------------------------------------------------------ selector counts

    def touch(self, sc: SelectorCount) -> None:
        """Note a use of a count held elsewhere (so it is not evicted)."""
        self._use += 1
        sc.last_used = self._use

    def selector_count(self, ns: str, selector: LabelSelector) -> SelectorCount:
        """Per-node counts of running pods in ``ns`` matching ``selector`` (kept current)."""
        self._use += 1
        sc = self.selector_counts.get((ns, selector))
        if sc is None:
            if len(self.selector_counts) >= self.MAX_SELECTOR_COUNTS:
                self._evict()
            sc = self.selector_counts[(ns, selector)] = SelectorCount(ns, selector)
            self._counts_by_ns.setdefault(ns, []).append(sc)
            counts = sc.counts
            matches = selector.matches
            for p in self.by_ns.get(ns, {}).values():
                if not p.terminating and matches(p.labels):
                    counts[p.node] = counts.get(p.node, 0) + 1
        sc.last_used = self._use
        return sc

    def _evict(self) -> None:
        victims = sorted(self.selector_counts.values(), key=lambda s: s.last_used)
        for sc in victims[: len(victims) // 4 or 1]:
            sc.alive = False
            del self.selector_counts[(sc.ns, sc.selector)]
            self._counts_by_ns[sc.ns].remove(sc)

    def _count(self, p: PodInfo, delta: int) -> None:
        for sc in self._counts_by_ns.get(p.ns, ()):
            if sc.selector.matches(p.labels):
                left = sc.counts.get(p.node, 0) + delta
                if left:
                    sc.counts[p.node] = left
                else:
                    sc.counts.pop(p.node, None)

    # ------------------------------------------------------------------ change log

    def changes_since(self, mark: int) -> Iterable[NodeInfo] | None:
        """Nodes changed since ``mark`` (a value of :meth:`mark`), or None when the log no
        longer reaches back that far."""
        if mark < self.changes_base:
            return None
        return self.changes[mark - self.changes_base:]

    def _changed(self, info: NodeInfo) -> None:
        self.changes.append(info)
        if len(self.changes) > self.MAX_CHANGES:
            self.trim_changes(self.changes_base + len(self.changes) // 2)

    def mark(self) -> int:
        return self.changes_base + len(self.changes)

    def trim_changes(self, keep_from: int) -> None:
        """Forget log entries before ``keep_from`` (the oldest mark still in use)."""
        drop = min(keep_from - self.changes_base, len(self.changes))
        if drop > 0:
            del self.changes[:drop]
            self.changes_base += drop

    # ------------------------------------------------------------------ reads

    def pods_on(self, info: NodeInfo) -> Iterator[PodInfo]:
        return iter(info.pods.values())
