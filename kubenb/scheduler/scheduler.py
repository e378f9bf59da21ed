"""kube-scheduler's default profile: find a node for each pending pod and bind it there.

A pod is scheduled when it has no ``spec.nodeName``, names ``default-scheduler`` (or nothing)
as its scheduler, is not being deleted and has no scheduling gates. Pods wait in a priority
queue (higher ``spec.priority`` first, then first come); each scheduling cycle filters and
scores nodes as :mod:`kubenb.scheduler.plugins` describes, starting where the previous cycle
stopped, binds the pod through ``pods/binding`` and records the ``Scheduled`` event.

A pod that fits nowhere gets ``PodScheduled=False`` (reason ``Unschedulable``) with
kube-scheduler's message, a ``FailedScheduling`` event, and waits among the unschedulable pods
until something that could help happens: a node is added or changes, a pod is deleted or
finishes (or, for spreading and pod affinity, one is added); then it is retried after its
back-off (1s doubling to 10s per attempt). Every 30 seconds of cluster time, pods that have
waited 5 minutes are retried anyway. Nothing polls: an idle cluster costs nothing.

DefaultPreemption: when removing lower-priority pods from a node would make room, the fewest and
least important of them are evicted (DisruptionTarget condition, ``Preempted`` event, delete),
sparing those a PodDisruptionBudget protects where it can and preferring the node where the fewest
budgets would be violated,
the node goes into the pod's ``status.nominatedNodeName``, and the pod is tried there first once
they are gone. VolumeBinding, simplified: claims must exist and be bound unless their class waits
for the first consumer (those get ``volume.kubernetes.io/selected-node``), and bound volumes'
node affinity is honoured.

Ties between equally good nodes are broken by a random generator seeded at construction, so a
run on the virtual clock places every pod the same way every time. What differs from
kube-scheduler is listed in :mod:`kubenb.scheduler`.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from kubenb.api import errors, kinds
from kubenb.api.selectors import LabelSelector, Requirement
from kubenb.client.client import PatchType
from kubenb.controllers.podutil import condition, now_string
from kubenb.controllers.podutil import selector as label_selector
from kubenb.runtime.clock import Timer
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.informer import Handler
from kubenb.runtime.manager import Manager
from kubenb.scheduler.cache import NodeInfo, PodInfo, SchedulerCache
from kubenb.scheduler.fastpath import ShapeState, eligible
from kubenb.scheduler.plugins import (
    INTER_POD_AFFINITY,
    NODE_PORTS,
    NODE_RESOURCES_FIT,
    POD_TOPOLOGY_SPREAD,
    UNRESOLVABLE,
    UNSCHEDULABLE,
    VOLUME_BINDING,
    Cycle,
    PodShape,
    Status,
    num_feasible_nodes_to_find,
    pod_claims,
)

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str]

SCHEDULER_NAME = "default-scheduler"
RC = kinds.builtin("", "v1", "replicationcontrollers")
TOKEN = Request("", "scheduling-queue")

INITIAL_BACKOFF = 1.0  # seconds (podInitialBackoffDuration)
MAX_BACKOFF = 10.0  # seconds (podMaxBackoffDuration)
UNSCHEDULABLE_TIMEOUT = 300.0  # podMaxInUnschedulablePodsDuration
FLUSH_PERIOD = 30.0  # how often pods waiting that long are retried
STEP_BUDGET = 0.02  # wall seconds of scheduling per engine step
NOTE_LENGTH_LIMIT = 1024
NO_NODES = "no nodes available to schedule pods"
NO_CLAIMS = "no new claims to deallocate"
PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
PREEMPTION = "DefaultPreemption"
SELECTED_NODE = "volume.kubernetes.io/selected-node"

ACTIVE, BACKOFF, UNSCHEDULABLE_Q = "active", "backoff", "unschedulable"
#: which rejections a pod deletion (or a pod finishing) may undo
_FREED_BY_DELETE = {NODE_RESOURCES_FIT, NODE_PORTS, POD_TOPOLOGY_SPREAD, INTER_POD_AFFINITY}
#: which rejections a pod landing somewhere (or relabelled) may undo
_HELPED_BY_ADD = {POD_TOPOLOGY_SPREAD, INTER_POD_AFFINITY}


class QueuedPod:
    """A pod waiting for a node, and its history in the queue."""

    __slots__ = ("attempts", "key", "last_attempt", "message", "plugins", "priority", "seq",
                 "since", "state", "timer")

    def __init__(self, key: Key, priority: int) -> None:
        self.key = key
        self.priority = priority
        self.state = ""
        self.seq = 0
        self.attempts = 0
        self.last_attempt = 0.0
        self.since = 0.0  # when it became unschedulable
        self.plugins: set[str] = set()
        self.message = ""
        self.timer: Timer | None = None


class Scheduler(Controller):
    """The default scheduler (one profile, ``default-scheduler``)."""

    name = "default-scheduler"
    primary = kinds.PODS

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.cache = SchedulerCache()
        self.next_start = 0
        self._queued: dict[Key, QueuedPod] = {}
        #: the unschedulable ones among them (what cluster events scan)
        self._unsched: dict[Key, QueuedPod] = {}
        self._active: list[tuple[int, int, Key]] = []
        self._seq = 0
        self._shapes: OrderedDict[str, PodShape] = OrderedDict()
        self._states: OrderedDict[str, ShapeState] = OrderedDict()
        self._workload_version = 0
        self._flush_timer: Timer | None = None
        #: False sends every pod through the plugin-by-plugin cycle (tests compare the two)
        self.fast_path = True
        #: what the scheduler has done, for benchmarks and curiosity
        self.stats: dict[str, float] = {"scheduled": 0, "failed": 0, "fast": 0, "reference": 0,
                                        "algorithm_s": 0.0, "bind_s": 0.0, "event_s": 0.0}

    # ------------------------------------------------------------------ wiring

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kube-scheduler")
        self.clock = mgr.clock
        self.events = mgr.recorder(SCHEDULER_NAME)
        self.pods = mgr.informer(kinds.PODS)
        self.nodes = mgr.informer(kinds.NODES)
        self.services = mgr.informer(kinds.SERVICES)
        self.replicasets = mgr.informer(kinds.REPLICASETS)
        self.statefulsets = mgr.informer(kinds.STATEFULSETS)
        self.rcs = mgr.informer(RC)
        self.namespaces = mgr.informer(kinds.NAMESPACES)
        self.pdbs = mgr.informer(kinds.PDBS)  # read by preemption only
        claims = mgr.informer(kinds.PVCS)
        volumes = mgr.informer(kinds.PVS)
        classes = mgr.informer(kinds.STORAGECLASSES)
        self.cache.get_claim = lambda ns, name: claims.get(name, ns)
        self.cache.get_volume = volumes.get
        self.cache.get_class = classes.get
        for inf in (claims, volumes, classes):
            inf.add_handler(Handler(self._volumes_changed, lambda _o, n: self._volumes_changed(n),
                                    None))
        self.nodes.add_handler(Handler(self._node_added, self._node_updated, self._node_deleted))
        self.namespaces.add_handler(Handler(self._ns_changed, lambda _o, n: self._ns_changed(n),
                                            self._ns_deleted))
        for inf in (self.services, self.replicasets, self.statefulsets, self.rcs):
            inf.add_handler(Handler(self._workload_changed, self._workload_updated,
                                    self._workload_changed))
        self.pods.add_handler(Handler(self._pod_added, self._pod_updated, self._pod_deleted))

    # ------------------------------------------------------------------ node events

    def _node_added(self, node: Obj) -> None:
        self.cache.set_node(node)
        self._move_all("node added")

    def _node_updated(self, _old: Obj, node: Obj) -> None:
        _, added, changed = self.cache.set_node(node)
        if added or changed:
            self._move_all("node changed")

    def _node_deleted(self, node: Obj) -> None:
        self.cache.remove_node(node["metadata"]["name"])

    def _ns_changed(self, ns: Obj) -> None:
        labels = ns["metadata"].get("labels") or {}
        name = ns["metadata"]["name"]
        if self.cache.namespace_labels.get(name) != labels:
            self.cache.namespace_labels[name] = labels
            self.cache.affinity_version += 1
            self._move({INTER_POD_AFFINITY})

    def _ns_deleted(self, ns: Obj) -> None:
        self.cache.namespace_labels.pop(ns["metadata"]["name"], None)
        self.cache.affinity_version += 1

    def _volumes_changed(self, _obj: Obj) -> None:
        self._move({VOLUME_BINDING})

    def _workload_changed(self, obj: Obj) -> None:
        self._workload_version += 1

    def _workload_updated(self, old: Obj, new: Obj) -> None:
        if (old.get("spec") or {}).get("selector") != (new.get("spec") or {}).get("selector"):
            self._workload_version += 1

    # ------------------------------------------------------------------ pod events

    @staticmethod
    def _terminal(pod: Obj) -> bool:
        return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")

    @staticmethod
    def _key(pod: Obj) -> Key:
        meta = pod["metadata"]
        return (meta.get("namespace") or "", meta["name"])

    @staticmethod
    def _ours(pod: Obj) -> bool:
        """An unbound pod this scheduler should place."""
        spec = pod.get("spec") or {}
        return ((spec.get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME
                and not pod["metadata"].get("deletionTimestamp")
                and not spec.get("schedulingGates"))

    def _pod_added(self, pod: Obj) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            if not self._terminal(pod):
                self._assigned(pod, node)
        elif self._ours(pod) and not self._terminal(pod):
            self._enqueue(self._key(pod), pod)

    def _pod_updated(self, old: Obj, pod: Obj) -> None:
        key = self._key(pod)
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            self._forget(key)
            p = self.cache.pods.get(key)
            if self._terminal(pod):
                if p is not None:
                    self.cache.remove_pod(p)
                    self._move(_FREED_BY_DELETE)
                return
            if p is None or p.node != node or p.uid != pod["metadata"].get("uid", ""):
                self._assigned(pod, node)
            else:
                fresh = self.cache.update_pod(p, pod)
                if fresh is not p:
                    self._move(_HELPED_BY_ADD | (_FREED_BY_DELETE if fresh.terminating else set()))
            return
        if not self._ours(pod) or self._terminal(pod):
            self._forget(key)
            return
        qp = self._queued.get(key)
        if qp is None:
            self._enqueue(key, pod)
        elif qp.state == UNSCHEDULABLE_Q and self._changed(old, pod):
            self._requeue(qp)

    @staticmethod
    def _changed(old: Obj, new: Obj) -> bool:
        """``isPodUpdated``: anything but the status (and bookkeeping) changed."""
        om, nm = old["metadata"], new["metadata"]
        return (old.get("spec") != new.get("spec") or om.get("labels") != nm.get("labels")
                or om.get("annotations") != nm.get("annotations"))

    def _pod_deleted(self, pod: Obj) -> None:
        key = self._key(pod)
        self._forget(key)
        p = self.cache.pods.get(key)
        if p is not None:
            self.cache.remove_pod(p)
            self._move(_FREED_BY_DELETE)

    def _assigned(self, pod: Obj, node: str) -> None:
        self.cache.add_pod(pod, node)
        self._move(_HELPED_BY_ADD)

    # ------------------------------------------------------------------ queue

    def _enqueue(self, key: Key, pod: Obj) -> None:
        qp = QueuedPod(key, int((pod.get("spec") or {}).get("priority") or 0))
        self._queued[key] = qp
        self._activate(qp)

    def _activate(self, qp: QueuedPod) -> None:
        if qp.timer is not None:
            qp.timer.cancel()
            qp.timer = None
        self._seq += 1
        qp.seq = self._seq
        qp.state = ACTIVE
        self._unsched.pop(qp.key, None)
        heapq.heappush(self._active, (-qp.priority, qp.seq, qp.key))
        self.queue.add(TOKEN)

    def _forget(self, key: Key) -> None:
        qp = self._queued.pop(key, None)
        if qp is not None:
            self._unsched.pop(key, None)
            if qp.timer is not None:
                qp.timer.cancel()

    def _unschedulable(self, qp: QueuedPod, plugins: set[str]) -> None:
        qp.state = UNSCHEDULABLE_Q
        qp.since = self.clock.now()
        qp.plugins = plugins
        self._unsched[qp.key] = qp

    def _backoff(self, qp: QueuedPod) -> float:
        return min(MAX_BACKOFF, INITIAL_BACKOFF * 2 ** max(0, qp.attempts - 1))

    def _requeue(self, qp: QueuedPod) -> None:
        """Out of the unschedulable pods: to the active queue, or back-off first."""
        due = qp.last_attempt + self._backoff(qp)
        if self.clock.now() >= due:
            self._activate(qp)
            return
        qp.state = BACKOFF
        self._unsched.pop(qp.key, None)
        if qp.timer is None:
            qp.timer = self.clock.call_at(due, lambda: self._backoff_done(qp))

    def _backoff_done(self, qp: QueuedPod) -> None:
        qp.timer = None
        if self._queued.get(qp.key) is qp and qp.state == BACKOFF:
            self._activate(qp)

    def _move(self, plugins: set[str]) -> None:
        """A cluster event that may help pods rejected by ``plugins``."""
        if not self._unsched:
            return
        for qp in list(self._unsched.values()):
            if qp.plugins & plugins:
                self._requeue(qp)

    def _move_all(self, _why: str) -> None:
        for qp in list(self._unsched.values()):
            self._requeue(qp)

    def _flush(self) -> None:
        """Every 30s: pods unschedulable for 5 minutes get another try."""
        self._flush_timer = None
        now = self.clock.now()
        for qp in list(self._unsched.values()):
            if now - qp.since >= UNSCHEDULABLE_TIMEOUT:
                self._requeue(qp)
        self._arm_flush()

    def _arm_flush(self) -> None:
        if self._flush_timer is None and self._unsched:
            self._flush_timer = self.clock.call_later(FLUSH_PERIOD, self._flush,
                                                      background=True)

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, request: Request) -> Result | None:
        deadline = time.perf_counter() + STEP_BUDGET
        done = 0
        active = self._active
        while active:
            if done and time.perf_counter() > deadline:
                self.queue.add(TOKEN)  # handed out again after this step
                break
            _, seq, key = heapq.heappop(active)
            qp = self._queued.get(key)
            if qp is None or qp.state != ACTIVE or qp.seq != seq:
                continue
            pod = self.pods.get(key[1], key[0])
            if (pod is None or (pod.get("spec") or {}).get("nodeName") or not self._ours(pod)
                    or self._terminal(pod)):
                self._forget(key)
                continue
            done += 1
            try:
                self._schedule_one(qp, pod)
            except Exception:  # a bug must not lose the pod nor stop the others
                log.exception("scheduling %s/%s failed", key[0], key[1])
                if self._queued.get(key) is qp:
                    self._unschedulable(qp, set())
                    self._requeue(qp)
        return None

    def unconverged(self) -> list[str]:
        return [f"pod/{qp.key[0]}/{qp.key[1]} (unschedulable: {qp.message})"
                if qp.state == UNSCHEDULABLE_Q else f"pod/{qp.key[0]}/{qp.key[1]} (pending)"
                for qp in self._queued.values()]

    # ------------------------------------------------------------------ one pod

    def shape(self, pod: Obj) -> PodShape:
        """The parsed shape of a pod (cached: replicas share it)."""
        meta = pod["metadata"]
        owner = None
        for ref in meta.get("ownerReferences") or ():
            if ref.get("controller"):
                owner = (ref.get("kind"), ref.get("name"))
                break
        key = orjson.dumps([meta.get("namespace"), meta.get("labels"), pod.get("spec"),
                            owner]).decode()
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = PodShape(key, pod)
            if len(self._shapes) > 2048:
                old, _ = self._shapes.popitem(last=False)
                self._states.pop(old, None)
        else:
            self._shapes.move_to_end(key)
        if shape.workload_version != self._workload_version:
            shape.default_selector = self._default_selector(shape)
            shape.workload_version = self._workload_version
        return shape

    def _default_selector(self, shape: PodShape) -> LabelSelector | None:
        """``helper.DefaultSelector``: what the Services, ReplicationController, ReplicaSet or
        StatefulSet of the pod select (the system default spreading counts those pods)."""
        label_set: dict[str, str] = {}
        labels = shape.labels
        for svc in self.services.list(shape.ns):
            sel = (svc.get("spec") or {}).get("selector")
            if sel is None:
                continue
            if all(labels.get(k) == v for k, v in sel.items()):
                label_set.update(sel)
        reqs = [Requirement(k, "=", (v,)) for k, v in sorted(label_set.items())]
        if shape.owner is not None:
            api, kind, name = shape.owner
            if (api, kind) == ("v1", "ReplicationController"):
                rc = self.rcs.get(name, shape.ns)
                if rc is not None:
                    label_set.update((rc.get("spec") or {}).get("selector") or {})
                    reqs = [Requirement(k, "=", (v,)) for k, v in sorted(label_set.items())]
            elif (api, kind) in (("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet")):
                inf = self.replicasets if kind == "ReplicaSet" else self.statefulsets
                owner = inf.get(name, shape.ns)
                if owner is not None:
                    sel_obj = (owner.get("spec") or {}).get("selector")
                    if sel_obj is not None:
                        reqs.extend(label_selector(sel_obj).requirements)
        if not reqs:
            return None
        unique = sorted(set(reqs), key=lambda r: (r.key, r.op, r.values))
        return LabelSelector(tuple(unique))

    def _fast(self, shape: PodShape) -> ShapeState | None:
        """The shape's incremental state when the fast path applies to it."""
        if not self.fast_path or not eligible(shape):
            return None
        cache = self.cache
        if cache.affinity_pods:
            if shape.affinity_version != cache.affinity_version:
                ns_labels = cache.namespace_labels.get(shape.ns, {})
                shape.affinity_clear = not any(
                    term.matches(shape.ns, shape.labels, ns_labels)
                    for p in cache.affinity_pods.values() if p.terms is not None
                    for group in p.terms for term in group)
                shape.affinity_version = cache.affinity_version
            if not shape.affinity_clear:
                return None
        state = self._states.get(shape.key)
        if state is None:
            state = self._states[shape.key] = ShapeState(shape, cache)
            if len(self._states) > 64:
                self._states.popitem(last=False)
            self._trim_changes()
        else:
            self._states.move_to_end(shape.key)
        return state

    def _trim_changes(self) -> None:
        cache = self.cache
        if len(cache.changes) > 4 * max(1024, len(cache.order)):
            marks = [s.mark for s in self._states.values()]
            cache.trim_changes(min(marks) if marks else cache.mark())

    def schedule(self, shape: PodShape, nominated: str = "",
                 claims: tuple[tuple[str, bool], ...] = ()
                 ) -> tuple[NodeInfo | None, Failure | None]:
        """One scheduling algorithm run (no API calls): the chosen node, or why none. A node
        nominated by an earlier preemption is tried first. ``claims``: the pod's volume claims
        (:func:`~kubenb.scheduler.plugins.pod_claims`)."""
        cache = self.cache
        if not cache.order:
            return None, Failure(0, Status(UNRESOLVABLE, (NO_NODES,), ""), {}, None, shape)
        if nominated:
            node = cache.nodes.get(nominated)
            cycle = Cycle(shape, cache, claims)
            if (node is not None and node.exists and cycle.prefilter() is None
                    and node in cycle.nodes and cycle.filter(node) is None):
                return node, None
        state = None if claims else self._fast(shape)
        if state is not None:
            if len(cache.changes) > 4 * max(1024, len(cache.order)):
                self._trim_changes()
            state.refresh()
            start = self.next_start % state.n
            pos, processed = state.choose(start, self.rng)
            if pos is not None:
                self.next_start = (start + processed) % len(cache.order)
                self.stats["fast"] += 1
                return cache.order[pos], None
        self.stats["reference"] += 1
        return self._reference(shape, claims)

    def _reference(self, shape: PodShape, claims: tuple[tuple[str, bool], ...] = ()
                   ) -> tuple[NodeInfo | None, Failure | None]:
        """The plugin-by-plugin cycle (findNodesThatFitPod, prioritizeNodes, selectHost)."""
        cache = self.cache
        all_nodes = len(cache.order)
        cycle = Cycle(shape, cache, claims)
        rejected = cycle.prefilter()
        if rejected is not None:
            return None, Failure(all_nodes, rejected, {}, None, shape, cycle)
        nodes = cycle.nodes
        m = len(nodes)
        want = num_feasible_nodes_to_find(m)
        start = self.next_start % m if m else 0
        feasible: list[NodeInfo] = []
        statuses: dict[str, Status] = {}
        i = 0
        while i < m and len(feasible) < want:
            node = nodes[(start + i) % m]
            status = cycle.filter(node)
            if status is None:
                feasible.append(node)
            else:
                statuses[node.name] = status
            i += 1
        self.next_start = (self.next_start + i) % all_nodes
        if not feasible:
            return None, Failure(all_nodes, None, statuses, cycle.absent, shape, cycle)
        if len(feasible) == 1:
            return feasible[0], None
        totals = cycle.score(feasible)
        best = max(totals)
        tied = [n for n, t in zip(feasible, totals, strict=True) if t == best]
        return tied[self.rng.randrange(len(tied)) if len(tied) > 1 else 0], None

    def _schedule_one(self, qp: QueuedPod, pod: Obj) -> None:
        t0 = time.perf_counter()
        shape = self.shape(pod)
        qp.attempts += 1
        qp.last_attempt = self.clock.now()
        claims = pod_claims(pod)
        node, failure = self.schedule(shape, (pod.get("status") or {}).get("nominatedNodeName")
                                      or "", claims)
        t1 = time.perf_counter()
        self.stats["algorithm_s"] += t1 - t0
        if node is None:
            assert failure is not None
            self._failed(qp, pod, failure)
            return
        meta = pod["metadata"]
        ns, name = qp.key
        if claims:
            self._select_node_for_claims(ns, claims, node.name)
        assumed = self.cache.add_pod(pod, node.name, shape)  # assume: the next pod sees it
        try:
            self.client.bind(ns, name, node.name, uid=meta.get("uid", ""))
        except errors.APIError as exc:
            self.cache.remove_pod(assumed)
            self._bind_failed(qp, pod, exc)
            return
        except Exception:
            self.cache.remove_pod(assumed)  # forget the assumption, then let it be reported
            raise
        finally:
            self.stats["bind_s"] += time.perf_counter() - t1
        self._forget(qp.key)
        self._move(_HELPED_BY_ADD)
        self.stats["scheduled"] += 1
        t2 = time.perf_counter()
        self.events.normal(pod, "Scheduled", f"Successfully assigned {ns}/{name} to {node.name}")
        self.stats["event_s"] += time.perf_counter() - t2

    def _select_node_for_claims(self, ns: str, claims: tuple[tuple[str, bool], ...],
                                node: str) -> None:
        """VolumeBinding's PreBind, simplified: claims waiting for their first consumer get
        ``volume.kubernetes.io/selected-node`` (the PV controller provisions there)."""
        for name, _ in claims:
            claim = self.cache.get_claim(ns, name)
            if claim is None or (claim.get("spec") or {}).get("volumeName"):
                continue
            sc = self.cache.get_class((claim.get("spec") or {}).get("storageClassName") or "")
            if sc is None or sc.get("volumeBindingMode") != "WaitForFirstConsumer":
                continue
            if (claim["metadata"].get("annotations") or {}).get(SELECTED_NODE) == node:
                continue
            with contextlib.suppress(errors.NotFound, errors.Conflict):
                self.client.patch(kinds.PVCS, name,
                                  {"metadata": {"annotations": {SELECTED_NODE: node}}}, ns)

    def _bind_failed(self, qp: QueuedPod, pod: Obj, exc: errors.APIError) -> None:
        if isinstance(exc, errors.NotFound | errors.Conflict):
            # deleted, already bound, or recreated: the informer will tell what became of it
            self._forget(qp.key)
            return
        log.warning("binding %s/%s failed: %s", qp.key[0], qp.key[1], exc)
        self._unschedulable(qp, set())
        self._requeue(qp)

    # ------------------------------------------------------------------ failures

    def _failed(self, qp: QueuedPod, pod: Obj, failure: Failure) -> None:
        nominated = ((pod.get("status") or {}).get("nominatedNodeName")) or ""
        chosen = None
        if failure.prefilter is None or failure.prefilter.reasons != (NO_NODES,):
            chosen = failure.preemption(self.cache, nominated, self._budgets())
        message = failure.message(self.cache)
        self.stats["failed"] += 1
        self._unschedulable(qp, failure.plugins())
        qp.message = message
        if len(message) > NOTE_LENGTH_LIMIT:
            message = message[:NOTE_LENGTH_LIMIT - 4] + " ..."
        self.events.warning(pod, "FailedScheduling", message)
        self._set_unschedulable(pod, failure.message(self.cache))
        if chosen is not None:
            self._preempt(pod, *chosen)
        self._arm_flush()

    def _budgets(self) -> list[Budget]:
        return [b for pdb in self.pdbs.list() if (b := Budget.of(pdb)) is not None]

    def _preempt(self, preemptor: Obj, node: NodeInfo, victims: list[PodInfo]) -> None:
        """Evict the victims (DisruptionTarget condition, a Preempted event, a delete) and
        nominate the node in the preemptor's status: it is retried when they are gone."""
        meta = preemptor["metadata"]
        now = now_string(self.clock.now())
        for v in victims:
            obj = self.pods.get(v.name, v.ns)
            if obj is None:
                continue
            with contextlib.suppress(errors.NotFound, errors.Conflict):
                self.client.patch(kinds.PODS, v.name, {"status": {"conditions": [{
                    "type": "DisruptionTarget", "status": "True",
                    "reason": "PreemptionByScheduler", "lastTransitionTime": now,
                    "message": f"{SCHEDULER_NAME}: preempting to accommodate a higher "
                               "priority pod"}]}}, v.ns, patch_type=PatchType.STRATEGIC,
                    subresource="status")
                self.events.normal(obj, "Preempted",
                                   f"Preempted by pod {meta.get('uid', '')} on node {node.name}")
                self.client.delete(kinds.PODS, v.name, v.ns)
        with contextlib.suppress(errors.NotFound, errors.Conflict):
            self.client.patch(kinds.PODS, meta["name"],
                              {"status": {"nominatedNodeName": node.name}},
                              meta.get("namespace"), patch_type=PatchType.STRATEGIC,
                              subresource="status")

    def _set_unschedulable(self, pod: Obj, message: str) -> None:
        """``PodScheduled=False``, reason Unschedulable, written only when it changes."""
        old = condition(pod, "PodScheduled")
        if (old is not None and old.get("status") == "False"
                and old.get("reason") == "Unschedulable" and old.get("message") == message):
            return
        now = now_string(self.clock.now())
        cond: Obj = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                     "lastTransitionTime": now if old is None or old.get("status") != "False"
                     else old.get("lastTransitionTime", now),
                     "reason": "Unschedulable", "message": message}
        generation = pod["metadata"].get("generation")
        if generation is not None:
            cond["observedGeneration"] = generation
        meta = pod["metadata"]
        with contextlib.suppress(errors.NotFound, errors.Conflict):
            self.client.patch(kinds.PODS, meta["name"], {"status": {"conditions": [cond]}},
                              meta.get("namespace"), patch_type=PatchType.STRATEGIC,
                              subresource="status")


class Failure:
    """Why a pod fits nowhere: the ``FitError``, and what the PostFilter plugins (DRA's, then
    DefaultPreemption) made of it."""

    def __init__(self, all_nodes: int, prefilter: Status | None, statuses: dict[str, Status],
                 absent: Status | None, shape: PodShape, cycle: Cycle | None = None) -> None:
        self.all_nodes = all_nodes
        self.prefilter = prefilter
        self.statuses = statuses
        self.absent = absent
        self.shape = shape
        self.cycle = cycle
        #: the PostFilter plugins' message ("" when preemption nominated a node); None until
        #: :meth:`preemption` ran
        self.post: str | None = None

    def plugins(self) -> set[str]:
        """The plugins that rejected the pod (what events may move it back)."""
        out = {s.plugin for s in self.statuses.values()}
        for s in (self.prefilter, self.absent):
            if s is not None:
                out.add(s.plugin)
        return out

    def message(self, cache: SchedulerCache) -> str:
        """``FitError.Error()``: the histogram of reasons, then the PostFilter message."""
        if self.prefilter is not None and self.prefilter.reasons == (NO_NODES,):
            return NO_NODES
        msg = f"0/{self.all_nodes} nodes are available:"
        if self.prefilter is not None:
            msg += f" {', '.join(self.prefilter.reasons)}."
        else:
            msg += _histogram(self._filter_reasons())
        if self.post is None:
            self.preemption(cache)
        return f"{msg} {self.post}" if self.post else msg

    def _filter_reasons(self) -> dict[str, int]:
        reasons: dict[str, int] = {}
        for s in self.statuses.values():
            for r in s.reasons:
                reasons[r] = reasons.get(r, 0) + 1
        if self.absent is not None and len(self.statuses) < self.all_nodes:
            for r in self.absent.reasons:
                reasons[r] = reasons.get(r, 0) + self.all_nodes - len(self.statuses)
        return reasons

    def preemption(self, cache: SchedulerCache, nominated: str = "",
                   budgets: Sequence[Budget] = ()) -> tuple[NodeInfo, list[PodInfo]] | None:
        """DefaultPreemption's PostFilter without acting: the node and the victims to evict
        when removing lower-priority pods makes room, else None (and :attr:`post` says why).
        ``budgets`` are the cluster's PodDisruptionBudgets: the choice avoids violating them."""
        shape = self.shape
        prefix = f"{NO_CLAIMS}, preemption: "
        if shape.preempt_never:
            self.post = prefix + "not eligible due to preemptionPolicy=Never."
            return None
        node = cache.nodes.get(nominated) if nominated else None
        if node is not None and any(p.terminating and p.priority < shape.priority
                                    for p in node.pods.values()):
            self.post = prefix + "not eligible due to a terminating pod on the nominated node."
            return None
        found: dict[str, Status] = {}
        candidates: list[Candidate] = []
        if self.prefilter is None and self.cycle is not None:
            # like GetOffsetAndNumCandidates: enough candidates is 10% of the nodes, >= 100
            enough = max(100, self.all_nodes // 10)
            for name, status in self.statuses.items():
                node = cache.nodes.get(name)
                if status.code != UNSCHEDULABLE or node is None:
                    continue
                victims, violations, why = select_victims(self.cycle, node, budgets)
                if why is None:
                    candidates.append((node, victims, violations))
                    if len(candidates) >= enough:
                        break
                else:
                    found[name] = why
        if candidates:
            self.post = ""
            node, victims, _ = pick_candidate(candidates)
            return node, victims
        reasons: dict[str, int] = {}
        for s in found.values():
            for r in s.reasons:
                reasons[r] = reasons.get(r, 0) + 1
        if len(found) < self.all_nodes:
            reasons[PREEMPTION_NOT_HELPFUL] = (reasons.get(PREEMPTION_NOT_HELPFUL, 0)
                                               + self.all_nodes - len(found))
        self.post = prefix + f"0/{self.all_nodes} nodes are available:{_histogram(reasons)}"
        return None


def _histogram(reasons: dict[str, int]) -> str:
    if not reasons:
        return ""
    return " " + ", ".join(sorted(f"{n} {r}" for r, n in reasons.items())) + "."


@dataclass(frozen=True)
class Budget:
    """What preemption needs of a PodDisruptionBudget: whose pods it guards and how many more
    of them may go (``status.disruptionsAllowed``, less the pods already counted as disrupted)."""

    namespace: str
    selector: LabelSelector
    allowed: int
    disrupted: frozenset[str]

    @staticmethod
    def of(pdb: Obj) -> Budget | None:
        """None for a budget whose selector cannot be read (upstream skips those)."""
        try:
            selector = label_selector((pdb.get("spec") or {}).get("selector"))
        except errors.BadRequest:
            return None
        status = pdb.get("status") or {}
        return Budget(pdb["metadata"].get("namespace") or "", selector,
                      int(status.get("disruptionsAllowed") or 0),
                      frozenset(status.get("disruptedPods") or ()))

    def guards(self, pod: PodInfo) -> bool:
        # a budget with a null or empty selector guards nothing
        return (pod.ns == self.namespace and not self.selector.empty
                and not self.selector.nothing and self.selector.matches(pod.labels))


def _split_by_budgets(pods: list[PodInfo], budgets: Sequence[Budget]
                      ) -> tuple[list[PodInfo], list[PodInfo]]:
    """``filterPodsWithPDBViolation``: walking the pods in order, each one a budget guards uses
    up one of its allowed disruptions (unless the budget already counts it as disrupted); a pod
    that takes some budget below zero would violate it. Returns (violating, non-violating)."""
    allowed = [b.allowed for b in budgets]
    violating: list[PodInfo] = []
    fine: list[PodInfo] = []
    for pod in pods:
        violates = False
        if pod.labels:  # a pod without labels matches no budget
            for i, budget in enumerate(budgets):
                if not budget.guards(pod) or pod.name in budget.disrupted:
                    continue
                allowed[i] -= 1
                if allowed[i] < 0:
                    violates = True
        (violating if violates else fine).append(pod)
    return violating, fine


def select_victims(cycle: Cycle, node: NodeInfo, budgets: Sequence[Budget] = ()
                   ) -> tuple[list[PodInfo], int, Status | None]:
    """``SelectVictimsOnNode``: remove every lower-priority pod; if the pod then fits, put back
    as many as possible, the ones whose eviction would violate a PodDisruptionBudget first, each
    group most important first (higher priority, then started earlier); what could not be put
    back are the victims. Returns them, how many of them violate a budget, and why the node
    cannot help when it cannot. (Spreading and inter-pod affinity are judged on the cluster as
    it is, not as it would be without the victims.)"""
    priority = cycle.shape.priority
    lower = [p for p in node.pods.values() if p.priority < priority]
    if not lower:
        return [], 0, Status(UNRESOLVABLE, (NO_VICTIMS,), PREEMPTION)
    shadow = node.without(lower)
    status = cycle.filter(shadow)
    if status is not None:
        return [], 0, status
    lower.sort(key=lambda p: (-p.priority, p.start))
    violating, fine = _split_by_budgets(lower, budgets)
    victims = []
    violations = 0
    for group, counts in ((violating, True), (fine, False)):
        for p in group:
            shadow.add_pod(p)
            if cycle.filter(shadow) is not None:
                shadow.remove_pod(p)
                victims.append(p)
                violations += counts
    return victims, violations, None


Candidate = tuple[NodeInfo, list[PodInfo], int]


def pick_candidate(candidates: list[Candidate]) -> Candidate:
    """``pickOneNodeForPreemption``: the fewest PodDisruptionBudget violations, then the lowest
    highest-priority victim, then the lowest sum of priorities, then the fewest victims, then
    the node whose highest-priority victims started last; then the first."""
    best = candidates
    for measure in (lambda c: c[2],
                    lambda c: max(p.priority for p in c[1]),
                    lambda c: sum(p.priority + 2 ** 31 for p in c[1]),
                    lambda c: len(c[1])):
        low = min(measure(c) for c in best)
        best = [c for c in best if measure(c) == low]

    def earliest(c: Candidate) -> str:
        top = max(p.priority for p in c[1])
        return min(p.start for p in c[1] if p.priority == top)

    latest = max(earliest(c) for c in best)
    return next(c for c in best if earliest(c) == latest)
