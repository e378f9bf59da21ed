"""The node lifecycle controller and the taint eviction controller
(``pkg/controller/nodelifecycle``, ``pkg/controller/tainteviction``).

Node health. A kubelet proves it is alive by renewing its Lease in ``kube-node-lease`` (every
10 s) and by posting node status. Every ``node-monitor-period`` (5 s) the controller looks at
each node; one not heard of for ``node-monitor-grace-period`` (50 s since Kubernetes 1.32; 60 s
``node-startup-grace-period`` for a node that never posted a Ready condition) gets its Ready,
MemoryPressure, DiskPressure and PIDPressure conditions set to Unknown ("Kubelet stopped posting
node status."), a NodeNotReady event, and its pods marked Ready=False (so Services drop them).
The periodic look is a *background* timer: it recurs forever and does not keep ``settle`` from
returning; time passes for it with ``Cluster.advance``.

Taints. Conditions map to NoSchedule taints (Ready False: ``node.kubernetes.io/not-ready``,
Unknown: ``node.kubernetes.io/unreachable``, memory/disk/PID pressure, network unavailable; and
``node.kubernetes.io/unschedulable`` for a cordoned node). A node that is NotReady or unreachable
also gets the matching NoExecute taint, through a per-zone queue rate-limited to 0.1 node/s
(one at once, then one every 10 s), and not at all in a small zone that is mostly down or when
every node of the cluster is down (then the controller assumes its own network is the problem:
"master disruption mode", which also lifts the NoExecute taints). A node that is Ready again
loses them.

Eviction. The taint eviction controller deletes a pod on a node with a NoExecute taint it does
not tolerate at once, and one it tolerates for ``tolerationSeconds`` (the apiserver's
DefaultTolerationSeconds admission gives every pod 300 s for not-ready and unreachable) that
long after it noticed the taint: a TaintManagerEviction event "Marking for deletion Pod ...",
the DisruptionTarget condition, then a delete. A pending eviction is a *foreground* timer (part
of converging): ``settle`` waits for it. The pod's controller replaces it; the pod itself stays
Terminating until its kubelet comes back or the node is deleted, as in Kubernetes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import LEASES, NODES, PODS
from kubenb.client.client import PatchType, deepcopy
from kubenb.controllers.podutil import now_string, parse_time
from kubenb.runtime.clock import Timer
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.informer import BY_NODE, Handler, Key, by_node, key_of
from kubenb.runtime.manager import Manager

__all__ = ["NodeLifecycleController", "TaintEvictionController", "tolerates"]

Obj = dict[str, Any]

NODE_MONITOR_PERIOD = 5.0
NODE_MONITOR_GRACE_PERIOD = 50.0
NODE_STARTUP_GRACE_PERIOD = 60.0
EVICTION_LIMITER_QPS = 0.1
SECONDARY_EVICTION_LIMITER_QPS = 0.01
LARGE_CLUSTER_THRESHOLD = 50
UNHEALTHY_ZONE_THRESHOLD = 0.55

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
LEASE_NAMESPACE = "kube-node-lease"
EXCLUDE_DISRUPTION_LABEL = "node.kubernetes.io/exclude-disruption"
PODS_BY_NODE = BY_NODE  # the shared index
FIELD_MANAGER = "kube-controller-manager"

#: node condition -> {status: the NoSchedule taint it brings}
CONDITION_TAINTS: dict[str, dict[str, str]] = {
    "Ready": {"False": NOT_READY, "Unknown": UNREACHABLE},
    "MemoryPressure": {"True": "node.kubernetes.io/memory-pressure"},
    "DiskPressure": {"True": "node.kubernetes.io/disk-pressure"},
    "NetworkUnavailable": {"True": "node.kubernetes.io/network-unavailable"},
    "PIDPressure": {"True": "node.kubernetes.io/pid-pressure"},
}
CONDITION_TAINT_KEYS = frozenset(k for m in CONDITION_TAINTS.values() for k in m.values())
#: conditions a silent node's controller sets to Unknown (NetworkUnavailable is the cloud's)
SILENT_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
#: stable label -> its beta twin the controller keeps in step (``reconcileNodeLabels``)
BETA_LABELS = {"kubernetes.io/os": "beta.kubernetes.io/os",
               "kubernetes.io/arch": "beta.kubernetes.io/arch"}

NORMAL, PARTIAL, FULL, INITIAL = "Normal", "PartialDisruption", "FullDisruption", "Initial"


def ready_condition(node: Obj) -> Obj | None:
    for cond in (node.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond
    return None


def zone_key(node: Obj) -> str:
    """``GetZoneKey``: region and zone labels, "" when the node has neither."""
    labels = node["metadata"].get("labels") or {}
    region = labels.get("topology.kubernetes.io/region") or labels.get(
        "failure-domain.beta.kubernetes.io/region", "")
    zone = labels.get("topology.kubernetes.io/zone") or labels.get(
        "failure-domain.beta.kubernetes.io/zone", "")
    return f"{region}:\x00:{zone}" if region or zone else ""


def _has_taint(taints: Iterable[Obj], key: str, effect: str) -> bool:
    return any(t.get("key") == key and t.get("effect") == effect for t in taints)


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """``Toleration.ToleratesTaint``."""
    effect = toleration.get("effect")
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key")
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


@dataclass
class _Health:
    """What the controller last saw of a node (``nodeHealthData``)."""

    probe: float  # when the node was last heard of
    ready_transition: float
    has_ready: bool  # whether it had a Ready condition then
    heartbeat: str | None  # the Ready condition's lastHeartbeatTime then
    transition: str | None  # and its lastTransitionTime


@dataclass
class _Facts:
    """What the periodic look needs of a node, kept from its events (so the look over 5,000
    nodes is a loop over a dict)."""

    zone: str
    ready: str | None  # the Ready condition's status, None when there is none
    excluded: bool  # node.kubernetes.io/exclude-disruption
    settled: bool  # its kubelet's conditions are all Unknown already


class _TaintQueue:
    """One zone's ``RateLimitedTimedQueue``: nodes waiting for a NoExecute taint, let through by
    a token bucket (burst 1). A node stays a member once tainted, until it is Ready again."""

    def __init__(self, qps: float, now: float) -> None:
        self.qps = qps
        self.tokens = 1.0
        self.stamp = now
        self.order: deque[str] = deque()
        self.pending: set[str] = set()
        self.members: set[str] = set()
        self.timer: Timer | None = None

    def add(self, name: str) -> bool:
        if name in self.members:
            return False
        self.members.add(name)
        if name not in self.pending:
            self.pending.add(name)
            self.order.append(name)
        return True

    def remove(self, name: str) -> bool:
        if name in self.members:
            self.members.discard(name)
            return True
        return False

    def _refill(self, now: float) -> None:
        if self.qps > 0:
            self.tokens = min(1.0, self.tokens + (now - self.stamp) * self.qps)
        self.stamp = now

    def take(self, now: float) -> bool:
        self._refill(now)
        if self.qps > 0 and self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait(self, now: float) -> float | None:
        """Seconds until the next token, None when the queue is stopped."""
        if self.qps <= 0:
            return None
        self._refill(now)
        return max(0.0, (1.0 - self.tokens) / self.qps)

    def swap(self, qps: float, now: float) -> None:
        """``SwapLimiter``: a new bucket, empty if the old one was."""
        if qps == self.qps:
            return
        self._refill(now)
        had = self.qps > 0 and self.tokens >= 1.0
        self.qps = qps
        self.tokens = 1.0 if qps > 0 and had else 0.0
        self.stamp = now


class NodeLifecycleController(Controller):
    """``node-lifecycle-controller``: node health, condition taints, NoExecute tainting.

    Requests name Nodes (namespace ""); a request with a namespace names a pod just bound to a
    node that is not Ready (it is marked Ready=False too).
    """

    name = "node-lifecycle-controller"
    primary = NODES

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager(FIELD_MANAGER)
        self.clock = mgr.clock
        self.events = mgr.recorder("node-controller")
        self.nodes = mgr.informer(NODES)
        self.leases = mgr.informer(LEASES, LEASE_NAMESPACE)
        self.pods = mgr.informer(PODS)
        self.pods.add_index(PODS_BY_NODE, by_node)
        self.nodes.add_handler(Handler(on_add=self._node_seen,
                                       on_update=lambda _old, new: self._node_seen(new),
                                       on_delete=lambda node: self.enqueue(node)))
        self.leases.add_handler(Handler(on_add=self._lease_seen,
                                        on_update=lambda _old, new: self._lease_seen(new)))
        self.pods.add_handler(Handler(on_add=self._pod_bound, on_update=self._pod_rebound))
        self._health: dict[str, _Health] = {}
        self._facts: dict[str, _Facts] = {}
        self._renewed: dict[str, float] = {}
        self._known: dict[str, str] = {}  # node -> uid, for RegisteredNode / RemovingNode
        self._zones: dict[str, _TaintQueue] = {}
        self._zone_states: dict[str, str] = {}
        self._cleared: set[str] = set()  # let through by their zone's queue: taint them now
        self._strip: set[str] = set()  # NoExecute taints to lift (master disruption)
        self._retry_pods: set[str] = set()  # nodes whose pods could not all be marked
        self._master_disruption = False
        self.clock.call_later(NODE_MONITOR_PERIOD, self._monitor, background=True)

    # ------------------------------------------------------------------ events

    def _node_seen(self, node: Obj) -> None:
        """Track the node's heartbeats (``tryUpdateNodeHealth``'s bookkeeping), then sync it."""
        name = node["metadata"]["name"]
        now = self.clock.now()
        ready = ready_condition(node)
        beat = ready.get("lastHeartbeatTime") if ready else None
        since = ready.get("lastTransitionTime") if ready else None
        health = self._health.get(name)
        if health is None:
            # first sight: "now", or its creation if it never posted a Ready condition (a
            # renewed Lease counts as a sign of life either way)
            probe = now if ready is not None or name in self._renewed else (
                parse_time(node["metadata"].get("creationTimestamp")) or now)
            self._health[name] = _Health(probe, probe, ready is not None, beat, since)
        elif (ready is not None) != health.has_ready:
            health.probe = health.ready_transition = now  # Ready appeared or vanished
            health.has_ready, health.heartbeat, health.transition = ready is not None, beat, since
        elif ready is not None and beat != health.heartbeat:
            health.probe = now
            if since != health.transition:
                health.ready_transition = now
            health.heartbeat, health.transition = beat, since
        self._facts[name] = _Facts(
            zone_key(node), ready.get("status") if ready else None,
            EXCLUDE_DISRUPTION_LABEL in (node["metadata"].get("labels") or {}),
            not _needs_unknown(node))
        self.enqueue(node)

    def _lease_seen(self, lease: Obj) -> None:
        name = lease["metadata"]["name"]
        renewed = parse_time((lease.get("spec") or {}).get("renewTime"))
        if renewed is None:
            return
        before = self._renewed.get(name)
        if before is None or renewed > before:
            self._renewed[name] = renewed
            health = self._health.get(name)
            if health is not None:
                health.probe = self.clock.now()

    def _pod_bound(self, pod: Obj) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node and self._not_ready(node):
            self.queue.add(Request(*key_of(pod)))

    def _pod_rebound(self, old: Obj, new: Obj) -> None:
        if (old.get("spec") or {}).get("nodeName") != (new.get("spec") or {}).get("nodeName"):
            self._pod_bound(new)

    def _not_ready(self, node_name: str) -> bool:
        node = self.nodes.get(node_name)
        ready = ready_condition(node) if node is not None else None
        return ready is not None and ready.get("status") != "True"

    # ------------------------------------------------------------------ the periodic look

    def _monitor(self) -> None:
        """Every node-monitor-period: nodes gone silent, zone states, the taint queues."""
        self.clock.call_later(NODE_MONITOR_PERIOD, self._monitor, background=True)
        now = self.clock.now()
        readiness: dict[str, list[bool]] = {}
        zones = self._zones
        add = self.queue.add
        for name, facts in self._facts.items():
            health = self._health[name]
            grace = NODE_MONITOR_GRACE_PERIOD if facts.ready else NODE_STARTUP_GRACE_PERIOD
            silent = now > health.probe + grace
            status = "Unknown" if silent else facts.ready or "Unknown"
            if (silent and not facts.settled) or name not in self._known or \
                    name in self._retry_pods:
                add(Request("", name))
            elif status != "True" and facts.ready is not None and (
                    facts.zone not in zones or name not in zones[facts.zone].members):
                add(Request("", name))  # not queued for its NoExecute taint: look again
            if not facts.excluded:
                ready = readiness.get(facts.zone)
                if ready is None:
                    ready = readiness[facts.zone] = []
                ready.append(status == "True")
        self._handle_disruption(readiness, now)
        for zone in list(self._zones):
            self._pump(zone)

    def _zone_of(self, node: Obj) -> _TaintQueue:
        zone = zone_key(node)
        queue = self._zones.get(zone)
        if queue is None:
            queue = self._zones[zone] = _TaintQueue(EVICTION_LIMITER_QPS, self.clock.now())
            self._zone_states.setdefault(zone, INITIAL)
        return queue

    @staticmethod
    def _zone_state(readiness: list[bool]) -> str:
        """``ComputeZoneState``."""
        ready = sum(readiness)
        not_ready = len(readiness) - ready
        if ready == 0 and not_ready > 0:
            return FULL
        if not_ready > 2 and not_ready / len(readiness) >= UNHEALTHY_ZONE_THRESHOLD:
            return PARTIAL
        return NORMAL

    def _handle_disruption(self, readiness: dict[str, list[bool]], now: float) -> None:
        """``handleDisruption``: slow down or stop tainting in zones that are mostly down."""
        states = {zone: self._zone_state(r) for zone, r in readiness.items()}
        for zone in states:
            self._zone_states.setdefault(zone, INITIAL)
            if zone not in self._zones:
                self._zones[zone] = _TaintQueue(EVICTION_LIMITER_QPS, now)
        all_full = all(s == FULL for s in states.values())
        for zone in [z for z in self._zone_states if z not in states]:
            del self._zone_states[zone]
        all_were_full = all(s == FULL for s in self._zone_states.values())
        if all_full and all_were_full:
            return
        if all_full:
            self._master_disruption = True
            for zone in self._zone_states:
                self._zones[zone].swap(0.0, now)
                self._zone_states[zone] = FULL
            for node in self.nodes:
                self._strip.add(node["metadata"]["name"])
                self.enqueue(node)
            return
        if all_were_full:
            self._master_disruption = False
            for health in self._health.values():
                health.probe = health.ready_transition = now
            for zone in self._zone_states:
                self._set_limiter(zone, len(readiness[zone]), states[zone], now)
                self._zone_states[zone] = states[zone]
            return
        for zone, state in self._zone_states.items():
            if state != states[zone]:
                self._set_limiter(zone, len(readiness[zone]), states[zone], now)
                self._zone_states[zone] = states[zone]

    def _set_limiter(self, zone: str, size: int, state: str, now: float) -> None:
        if state == PARTIAL:
            qps = SECONDARY_EVICTION_LIMITER_QPS if size > LARGE_CLUSTER_THRESHOLD else 0.0
        else:
            qps = EVICTION_LIMITER_QPS
        self._zones[zone].swap(qps, now)

    def _pump(self, zone: str) -> None:
        """Let the zone's queued nodes through as its tokens allow (``doNoExecuteTaintingPass``);
        wait for the next token on a foreground timer."""
        queue = self._zones[zone]
        now = self.clock.now()
        while queue.order:
            name = queue.order[0]
            if name not in queue.members or name in self._cleared:
                queue.order.popleft()
                queue.pending.discard(name)
                continue
            if not queue.take(now):
                wait = queue.wait(now)
                if wait is not None and (queue.timer is None or queue.timer.cancelled):
                    def fire(zone: str = zone) -> None:
                        self._zones[zone].timer = None
                        self._pump(zone)

                    queue.timer = self.clock.call_later(wait, fire)
                break
            queue.order.popleft()
            queue.pending.discard(name)
            self._cleared.add(name)
            self.queue.add(Request("", name))

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, request: Request) -> Result | None:
        if request.namespace:
            return self._sync_pod(request)
        name = request.name
        node = self.nodes.get(name)
        if node is None:
            self._node_gone(name)
            return None
        queue = self._zone_of(node)
        now = self.clock.now()
        strip = name in self._strip
        self._strip.discard(name)
        if name not in self._known:
            self._known[name] = node["metadata"].get("uid", "")
            self.events.normal(_node_ref(node), "RegisteredNode",
                               f"Node {name} event: Registered Node {name} in Controller")
            strip = True  # markNodeAsReachable
        observed = ready_condition(node)
        observed_status = (observed or {}).get("status", "Unknown")
        # 1. a silent node: its conditions become Unknown
        current = node
        wrote = False
        health = self._health.get(name)
        grace = NODE_STARTUP_GRACE_PERIOD if observed is None else NODE_MONITOR_GRACE_PERIOD
        if health is not None and now > health.probe + grace and _needs_unknown(node):
            status = _silent_status(node, now_string(now))
            new_ready = next(c for c in status["conditions"] if c["type"] == "Ready")
            if new_ready != observed:
                update = deepcopy(node)
                update["status"] = status
                try:
                    current = self.client.replace_status(NODES, update)
                except errors.Conflict:
                    return Result(requeue=True)
                except errors.NotFound:
                    return None
                current["metadata"].pop("managedFields", None)
                wrote = True
                health.ready_transition = now
        current_ready = ready_condition(current)
        current_status = (current_ready or {}).get("status")
        # 2. its pods are no longer ready
        if (wrote and observed_status == "True" and current_status != "True") or (
                name in self._retry_pods and observed_status != "True"):
            if wrote:
                self.events.normal(_node_ref(current), "NodeNotReady",
                                   f"Node {name} status is now: NodeNotReady")
            if self._mark_pods_not_ready(self.pods.by_index(PODS_BY_NODE, name), name):
                self._retry_pods.discard(name)
            else:
                self._retry_pods.add(name)
        # 3. taints
        taints = list((current.get("spec") or {}).get("taints") or ())
        wanted = self._no_schedule_taints(current)
        out = [t for t in taints if not (
            t.get("effect") == "NoSchedule"
            and (t.get("key") in CONDITION_TAINT_KEYS or t.get("key") == UNSCHEDULABLE)
            and t.get("key") not in wanted)]
        stamp = now_string(now)
        for key in wanted:
            if not _has_taint(out, key, "NoSchedule"):
                out.append({"key": key, "effect": "NoSchedule", "timeAdded": stamp})
        out = self._no_execute(name, zone_key(current), queue, out,
                               observed_status if observed is not None else None,
                               current_status, strip, stamp)
        labels = current["metadata"].get("labels") or {}
        beta = {twin: labels[stable] for stable, twin in BETA_LABELS.items()
                if stable in labels and labels.get(twin) != labels[stable]}
        if out != taints or beta:
            patch: Obj = {"metadata": {"resourceVersion": current["metadata"]["resourceVersion"]}}
            if out != taints:
                patch["spec"] = {"taints": out or None}
            if beta:
                patch["metadata"]["labels"] = beta
            try:
                self.client.patch(NODES, name, patch, patch_type=PatchType.MERGE)
            except errors.Conflict:
                return Result(requeue=True)
            except errors.NotFound:
                return None
        return None

    def _no_execute(self, name: str, zone: str, queue: _TaintQueue, taints: list[Obj],
                    observed: str | None, current: str | None, strip: bool,
                    stamp: str) -> list[Obj]:
        """``processTaintBaseEviction`` and, for a node its queue let through, the tainting.
        A node that never posted a Ready condition waits until the controller marks it
        Unknown (upstream queues it, but cannot taint it before either)."""
        def without(key: str) -> list[Obj]:
            return [t for t in taints if not (t.get("key") == key
                                              and t.get("effect") == "NoExecute")]

        def reachable() -> list[Obj]:
            queue.remove(name)
            self._cleared.discard(name)
            return [t for t in taints if not (t.get("key") in (NOT_READY, UNREACHABLE)
                                              and t.get("effect") == "NoExecute")]

        if strip or self._master_disruption:
            taints = reachable()
            if self._master_disruption:
                return taints
        if observed == "True":
            return reachable()
        if observed is None:
            return taints
        mine, other = (NOT_READY, UNREACHABLE) if observed == "False" else (UNREACHABLE,
                                                                            NOT_READY)
        if _has_taint(taints, other, "NoExecute"):
            # the other NoExecute taint is swapped at once, without waiting for the queue
            return [*without(other), {"key": mine, "effect": "NoExecute", "timeAdded": stamp}]
        if not _has_taint(taints, mine, "NoExecute"):
            queue.remove(name)
        queue.add(name)
        self._pump(zone)
        if name in self._cleared and current in ("False", "Unknown"):
            self._cleared.discard(name)
            mine, other = (NOT_READY, UNREACHABLE) if current == "False" else (UNREACHABLE,
                                                                               NOT_READY)
            taints = without(other)
            if not _has_taint(taints, mine, "NoExecute"):
                taints.append({"key": mine, "effect": "NoExecute", "timeAdded": stamp})
        elif name in self._cleared and current == "True":
            self._cleared.discard(name)
        return taints

    @staticmethod
    def _no_schedule_taints(node: Obj) -> list[str]:
        """``doNoScheduleTaintingPass``: the NoSchedule taints the conditions call for."""
        keys: list[str] = []
        for cond in (node.get("status") or {}).get("conditions") or ():
            key = CONDITION_TAINTS.get(cond.get("type", ""), {}).get(cond.get("status", ""))
            if key and key not in keys:
                keys.append(key)
        if (node.get("spec") or {}).get("unschedulable"):
            keys.append(UNSCHEDULABLE)
        return keys

    def _mark_pods_not_ready(self, pods: list[Obj], node: str) -> bool:
        """``MarkPodsNotReady``: Ready=False on each pod of the node; False if one failed."""
        ok = True
        now = now_string(self.clock.now())
        for pod in pods:
            if (pod.get("spec") or {}).get("nodeName") != node:
                continue
            status = pod.get("status") or {}
            ready = next((c for c in status.get("conditions") or ()
                          if c.get("type") == "Ready"), None)
            if ready is None or ready.get("status") == "False":
                continue
            update = deepcopy(pod)
            for cond in update["status"]["conditions"]:
                if cond.get("type") == "Ready":
                    cond["status"] = "False"
                    cond["lastTransitionTime"] = now
            try:
                self.client.replace_status(PODS, update)
            except errors.NotFound:
                continue
            except errors.APIError:
                ok = False
                continue
            self.events.warning(pod, "NodeNotReady", "Node is not ready")
        return ok

    def _sync_pod(self, request: Request) -> Result | None:
        """``processPod``: a pod bound to a node that is not Ready is not ready either."""
        pod = self.pods.get(request.name, request.namespace)
        if pod is None:
            return None
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or node not in self._health or not self._not_ready(node):
            return None
        if not self._mark_pods_not_ready([pod], node):
            return Result(requeue=True)
        return None

    def _node_gone(self, name: str) -> None:
        uid = self._known.pop(name, None)
        if uid is not None:
            self.events.normal({"apiVersion": "v1", "kind": "Node",
                                "metadata": {"name": name, "uid": uid}},
                               "RemovingNode",
                               f"Node {name} event: Removing Node {name} from Controller")
        self._health.pop(name, None)
        self._facts.pop(name, None)
        self._renewed.pop(name, None)
        self._cleared.discard(name)
        self._retry_pods.discard(name)
        for queue in self._zones.values():
            queue.remove(name)

    def unconverged(self) -> list[str]:
        return []


def _node_ref(node: Obj) -> Obj:
    meta = node["metadata"]
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": meta["name"], "uid": meta.get("uid", "")}}


def _needs_unknown(node: Obj) -> bool:
    """Whether a silent node's conditions are not all Unknown yet."""
    found = {c.get("type"): c.get("status")
             for c in (node.get("status") or {}).get("conditions") or ()}
    return any(found.get(t) != "Unknown" for t in SILENT_CONDITIONS)


def _silent_status(node: Obj, now: str) -> Obj:
    """The node's status with its kubelet's conditions set to Unknown."""
    status = deepcopy(node.get("status") or {})
    conditions = status.setdefault("conditions", [])
    by_type = {c.get("type"): c for c in conditions}
    created = node["metadata"].get("creationTimestamp")
    for ctype in SILENT_CONDITIONS:
        cond = by_type.get(ctype)
        if cond is None:
            conditions.append({"type": ctype, "status": "Unknown",
                               "lastHeartbeatTime": created, "lastTransitionTime": now,
                               "reason": "NodeStatusNeverUpdated",
                               "message": "Kubelet never posted node status."})
        elif cond.get("status") != "Unknown":
            cond.update(status="Unknown", reason="NodeStatusUnknown",
                        message="Kubelet stopped posting node status.", lastTransitionTime=now)
    return status


# ---------------------------------------------------------------------------------------------


@dataclass
class _Eviction:
    created: float
    trigger: float
    timer: Timer | None


class TaintEvictionController(Controller):
    """``taint-eviction-controller``: pods leave nodes whose NoExecute taints they do not
    tolerate (or no longer tolerate: ``tolerationSeconds``).

    Requests name Nodes (namespace "") whose NoExecute taints changed, or pods (bound, or whose
    tolerations changed, or deleted, or whose eviction is due).
    """

    name = "taint-eviction-controller"
    primary = PODS

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager(FIELD_MANAGER)
        self.clock = mgr.clock
        self.events = mgr.recorder(self.name)
        self.nodes = mgr.informer(NODES)
        self.pods = mgr.informer(PODS)
        self.pods.add_index(PODS_BY_NODE, by_node)
        self.nodes.add_handler(Handler(on_add=self._node_added, on_update=self._node_updated,
                                       on_delete=self.enqueue))
        self.pods.add_handler(Handler(on_add=self._pod_added, on_update=self._pod_updated,
                                      on_delete=self._pod_deleted))
        self._tainted: dict[str, list[Obj]] = {}  # node -> its NoExecute taints
        self._evictions: dict[Key, _Eviction] = {}
        self._due: set[Key] = set()

    @staticmethod
    def _no_execute(node: Obj) -> list[Obj]:
        return [t for t in (node.get("spec") or {}).get("taints") or ()
                if t.get("effect") == "NoExecute"]

    def _node_added(self, node: Obj) -> None:
        if self._no_execute(node):
            self.enqueue(node)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if self._no_execute(old) != self._no_execute(new):
            self.enqueue(new)

    # Pods matter only on a tainted node or with an eviction planned: the others are not even
    # queued (a node's taint change looks at all its pods anyway).
    def _pod_added(self, pod: Obj) -> None:
        if (pod.get("spec") or {}).get("nodeName") in self._tainted:
            self.enqueue(pod)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        before, after = old.get("spec") or {}, new.get("spec") or {}
        if (before.get("nodeName") != after.get("nodeName")
                or before.get("tolerations") != after.get("tolerations")) and (
                after.get("nodeName") in self._tainted or key_of(new) in self._evictions):
            self.enqueue(new)

    def _pod_deleted(self, pod: Obj) -> None:
        if key_of(pod) in self._evictions:
            self.enqueue(pod)

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, request: Request) -> Result | None:
        if not request.namespace:
            self._sync_node(request.name)
            return None
        key = (request.namespace, request.name)
        if key in self._due:
            self._due.discard(key)
            work = self._evictions.get(key)
            if work is not None and work.trigger <= self.clock.now():
                del self._evictions[key]
                self._evict(key)
                return None
        pod = self.pods.get(request.name, request.namespace)
        if pod is None:
            self._cancel(key)
            return None
        node = (pod.get("spec") or {}).get("nodeName")
        taints = self._tainted.get(node) if node else None
        if taints:
            self._process(key, (pod.get("spec") or {}).get("tolerations") or [], taints,
                          self.clock.now())
        return None

    def _sync_node(self, name: str) -> None:
        node = self.nodes.get(name)
        if node is None:
            self._tainted.pop(name, None)
            return
        taints = self._no_execute(node)
        if taints:
            self._tainted[name] = taints
        else:
            self._tainted.pop(name, None)
        now = self.clock.now()
        for pod in self.pods.by_index(PODS_BY_NODE, name):
            key = key_of(pod)
            if not taints:
                self._cancel(key)
            else:
                self._process(key, (pod.get("spec") or {}).get("tolerations") or [], taints,
                              now)

    def _process(self, key: Key, tolerations: list[Obj], taints: list[Obj], now: float) -> None:
        """``processPodOnNode``: evict now, at the earliest tolerationSeconds, or never."""
        used: list[Obj] = []
        for taint in taints:
            match = next((t for t in tolerations if tolerates(t, taint)), None)
            if match is None:
                self._cancel(key)
                self._schedule(key, now, now)
                return
            used.append(match)
        seconds = [t.get("tolerationSeconds") for t in used
                   if t.get("tolerationSeconds") is not None]
        if not seconds:
            self._cancel(key)  # tolerated forever
            return
        wait = max(0, min(int(s) for s in seconds))
        start = now
        work = self._evictions.get(key)
        if work is not None:
            start = work.created
            if start + wait < now + wait:
                return  # an earlier eviction is already planned
            self._cancel(key)
        self._schedule(key, start, start + wait)

    def _schedule(self, key: Key, created: float, trigger: float) -> None:
        def fire() -> None:
            work = self._evictions.get(key)
            if work is not None and work.timer is timer:
                self._due.add(key)
                self.queue.add(Request(*key))

        timer = self.clock.call_at(trigger, fire)
        self._evictions[key] = _Eviction(created, trigger, timer)

    def _cancel(self, key: Key) -> None:
        work = self._evictions.pop(key, None)
        self._due.discard(key)
        if work is None:
            return
        if work.timer is not None:
            work.timer.cancel()
        self.events.normal(_pod_ref(key), "TaintManagerEviction",
                           f"Cancelling deletion of Pod {key[0]}/{key[1]}")

    def _evict(self, key: Key) -> None:
        """``deletePodHandler``: the event, the DisruptionTarget condition, the delete."""
        ns, name = key
        self.events.normal(_pod_ref(key), "TaintManagerEviction",
                           f"Marking for deletion Pod {ns}/{name}")
        last: errors.APIError | None = None
        for _ in range(5):
            try:
                pod = self.client.get(PODS, name, ns)
                if _set_disruption_target(pod, now_string(self.clock.now())):
                    self.client.replace_status(PODS, pod)
                self.client.delete(PODS, name, ns)
                return
            except errors.NotFound:
                return
            except errors.APIError as exc:
                last = exc
        if last is not None:
            raise last

    def unconverged(self) -> list[str]:
        return []


def _pod_ref(key: Key) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": key[0], "name": key[1]}}


def _set_disruption_target(pod: Obj, now: str) -> bool:
    """Add (or refresh) the DisruptionTarget condition; True when the status changed."""
    status = pod.setdefault("status", {})
    conditions = status.setdefault("conditions", [])
    want = {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
            "message": "Taint manager: deleting due to NoExecute taint"}
    for cond in conditions:
        if cond.get("type") == "DisruptionTarget":
            if all(cond.get(k) == v for k, v in want.items()):
                return False
            if cond.get("status") != "True":
                cond["lastTransitionTime"] = now
            cond.update(want)
            return True
    conditions.append({**want, "lastProbeTime": None, "lastTransitionTime": now})
    return True
