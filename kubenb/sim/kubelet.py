"""Simulated kubelets: one per node, all driven by one controller on the engine thread.

A kubelet registers its Node (capacity, conditions, addresses), renews its Lease in
``kube-node-lease`` every 10 seconds of cluster time and re-posts its node status every 5 minutes
(background timers: they recur forever, so they do not keep ``settle`` from returning), and runs
the pods bound to its node, as the real one does:

- **admission**: a sandbox with an IP from the node's ``podCIDR``; the first status (Pending,
  ContainerCreating, host and pod IPs, conditions);
- **containers**, init containers first and in order, then the others one after another: image
  pull (``Pulling``/``Pulled``, or "already present" for ``IfNotPresent``), create, start, each a
  configurable stage on the cluster clock, and the ``postStart`` hook; then the program runs
  (:mod:`kubenb.sim.containers`: ``sleep 10`` exits after ten seconds, nginx serves until
  stopped); a terminated container reports its termination message;
- **probes**: startup, readiness (passing after ``initialDelaySeconds`` unless told otherwise) and
  liveness (a failure restarts the container), with readiness gates;
- **restarts** per ``restartPolicy`` with the CrashLoopBackOff back-off (10 s doubling to 5 min,
  reset after 10 minutes of running), ``ErrImagePull``/``ImagePullBackOff`` for images the
  simulated registry does not have;
- **graceful termination**: a pod deleted with a grace period has its containers stopped
  (``Killing``; each one's ``preStop`` hook first, within the grace period), gets its terminal
  phase, then is deleted for good.

Status is written the way the kubelet's status manager does it: only when it changed, merged
from the kubelet's own state and the pod's conditions owned by others, so a pod costs about two
writes on its way to Running. All state is in compact per-pod records indexed by node; the pods
informer is indexed by node too, so nothing scans all pods.

Behaviour can be tuned per pod with annotations (see ``docs/simulation.md``) and disturbed with
:class:`kubenb.sim.faults.Faults`.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime
import fnmatch
import hashlib
import ipaddress
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubenb.api import errors, services
from kubenb.api.kinds import (
    CONFIGMAPS,
    ENDPOINTS,
    LEASES,
    NODES,
    PODS,
    PVCS,
    SECRETS,
    SERVICES,
)
from kubenb.api.meta import now_rfc3339_micro
from kubenb.client.client import PatchType
from kubenb.runtime.clock import Timer
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.events import EventRecorder
from kubenb.runtime.informer import BY_NAMESPACE, Handler, by_namespace, by_node
from kubenb.runtime.manager import Manager
from kubenb.sim import containers as progs
from kubenb.sim import web
from kubenb.sim.images import ImageRef, ImageRegistry, parse_reference
from kubenb.sim.node import node_address, node_conditions, node_object, node_status

__all__ = ["MIN_GRACE_AFTER_HOOK", "Kubelets", "LogFollow", "NodeState", "Timings"]

#: where a container writes its termination message unless its spec says otherwise
TERMINATION_MESSAGE_PATH = "/dev/termination-log"
#: how much of the message file the kubelet reads
TERMINATION_MESSAGE_MAX = 4096
#: FallbackToLogsOnError: at most this many of the last log lines, and this many bytes
FALLBACK_LOG_LINES = 80
FALLBACK_LOG_BYTES = 2048
#: what a container is given after its preStop hook, however little grace was left
#: (the kubelet's ``minimumGracePeriodInSeconds``)
MIN_GRACE_AFTER_HOOK = 2.0

Obj = dict[str, Any]
Key = tuple[str, str]

LEASE_DURATION = 40  # seconds (the kubelet's nodeLeaseDurationSeconds)
LEASE_RENEW = 10  # seconds (a quarter of the duration, as the kubelet renews)
NODE_STATUS_REPORT = 300  # seconds (nodeStatusReportFrequency when nothing changes)
BACKOFF_INITIAL = 10.0  # CrashLoopBackOff and image pull back-off
BACKOFF_MAX = 300.0
BACKOFF_RESET = 2 * BACKOFF_MAX  # flowcontrol.Backoff forgets an entry after twice the max
SYNC_DELAY = 1.0  # the pod lifecycle event generator notices a dead container within a second
ANNOTATION = "kubenb.io/"
KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                      "PodScheduled")
DEFAULT_ENV_HEAD = (("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),)
DEFAULT_ENV_TAIL = (
    ("KUBERNETES_SERVICE_HOST", "10.96.0.1"), ("KUBERNETES_SERVICE_PORT", "443"),
    ("KUBERNETES_SERVICE_PORT_HTTPS", "443"), ("KUBERNETES_PORT", "tcp://10.96.0.1:443"),
    ("KUBERNETES_PORT_443_TCP", "tcp://10.96.0.1:443"), ("KUBERNETES_PORT_443_TCP_PROTO", "tcp"),
    ("KUBERNETES_PORT_443_TCP_PORT", "443"), ("KUBERNETES_PORT_443_TCP_ADDR", "10.96.0.1"),
    ("HOME", "/root"),
)

# container states and what the kubelet is doing for a container
WAITING, RUNNING, TERMINATED = 0, 1, 2
IDLE, PULLING, CREATING, STARTING, BACKOFF, PULL_BACKOFF, BLOCKED, STOPPING = range(8)
_LAUNCHING = (PULLING, CREATING, STARTING)
# pod stages
INIT, MAIN, STOPPING_POD, DONE = range(4)
#: what stands for a readiness probe a container does not have, when an annotation or a fault
#: decides its readiness: no Unhealthy events, one failure is enough
_PSEUDO_PROBE: Obj = {"periodSeconds": 1, "failureThreshold": 1, "successThreshold": 1}


@dataclass
class Timings:
    """How long the kubelet's stages take, in seconds of cluster time (pods may override some
    with annotations)."""

    pull_base: float = 0.5  # registry round trips (also an ``Always`` pull of a present image)
    pull_bandwidth: float = 100e6  # bytes per second
    pull_fail: float = 1.0  # until a pull of a missing image fails
    create: float = 0.1
    start: float = 0.2
    stop: float = 1.0  # a container that honours SIGTERM stops in this long


@dataclass
class NodeState:
    """One simulated kubelet."""

    name: str
    index: int
    up: bool = True  # the kubelet runs (node_down stops it)
    reachable: bool = True  # the kubelet reaches the API (partition cuts it off)
    heartbeat: Timer | None = None
    report: Timer | None = None
    pods: set[Key] = field(default_factory=set)
    images: dict[str, float] = field(default_factory=dict)  # image -> when it is (was) present
    network: int = 0  # first address of the pod CIDR, as an int
    size: int = 256
    used: set[int] = field(default_factory=set)  # host offsets in use
    next_ip: int = 2
    host_ip: str = ""
    since: str = ""  # when the node's conditions last changed
    recorder: EventRecorder | None = None

    def allocate(self) -> str | None:
        """The next free pod IP (round robin, as host-local IPAM); None when exhausted."""
        span = self.size - 3  # .0 network, .1 gateway, last broadcast
        for k in range(span):
            off = 2 + (self.next_ip - 2 + k) % span
            if off not in self.used:
                self.used.add(off)
                self.next_ip = off + 1
                return str(ipaddress.IPv4Address(self.network + off))
        return None

    def release(self, ip: str) -> None:
        with contextlib.suppress(ValueError):
            self.used.discard(int(ipaddress.IPv4Address(ip)) - self.network)


#: a container's list in the pod spec, by ``init + 2 * eph``
_LISTS = ("containers", "initContainers", "ephemeralContainers")


class Ctr:
    """One container of a pod run: the kubelet's view of it (compact: many thousands exist)."""

    __slots__ = ("backoff", "backoff_at", "bg", "eph", "exit_code", "faults", "finished_at", "fs",
                 "image", "index", "init", "last", "message", "name", "note", "outcome", "probes",
                 "pull_backoff", "pull_backoff_at", "ready", "reason", "runs", "seeds", "sidecar",
                 "started", "started_at", "state", "step", "term_message", "term_reason",
                 "timer")

    def __init__(self, name: str, index: int, init: bool, sidecar: bool,
                 eph: bool = False) -> None:
        self.name = name
        self.index = index
        self.init = init
        self.sidecar = sidecar
        self.eph = eph  # an ephemeral container (kubectl debug): never restarted, never ready
        self.state = WAITING
        self.step = IDLE
        self.reason = "ContainerCreating"
        self.message = ""
        self.timer: Timer | None = None
        self.probes: dict[str, list[Any]] | None = None  # kind -> [timer, successes, failures]
        self.runs = 0  # how many times it started
        self.started_at = 0.0
        self.finished_at = 0.0
        self.exit_code = 0
        self.term_reason = ""
        #: the terminated run's message (its termination-log file, or its last log lines),
        #: worked out once it is first reported; None until then
        self.term_message: str | None = None
        self.note = ""  # a last log line the simulation adds (why it crashed)
        #: the previous run: (exit code, reason, started, finished, attempt, note, message)
        self.last: tuple[int, str, float, float, int, str, str] | None = None
        self.ready = False
        self.started = False
        self.backoff = 0.0
        self.backoff_at = 0.0
        self.pull_backoff = 0.0
        self.pull_backoff_at = 0.0
        self.bg = False  # its timers are background ones (crashing for ever at the max back-off)
        self.faults: set[str] | None = None
        self.outcome: progs.Outcome | None = None
        self.image = ""  # the image (normalised) of the current or last run
        #: what ``kubectl exec`` wrote in this run's own filesystem (gone when it restarts)
        self.fs: dict[str, str | None] | None = None
        #: the files its volumes held when a run started, by the run's start time (the
        #: current run and the one before it): what its program's replays start from
        self.seeds: dict[float, tuple[tuple[str, str], ...]] | None = None

    @property
    def field_path(self) -> str:
        return f"spec.{_LISTS[self.init + 2 * self.eph]}{{{self.name}}}"

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.probes:
            for worker in self.probes.values():
                if worker[0] is not None:
                    worker[0].cancel()
            self.probes = None


class Run:
    """A pod admitted by a simulated kubelet. ``ctrs`` holds its init containers, then its
    containers, then its ephemeral containers (added while it runs)."""

    __slots__ = ("ctrs", "deadline", "held", "init_i", "ip", "key", "message", "n_init", "n_main",
                 "node", "phase", "reason", "rv", "stage", "start", "uid")

    def __init__(self, key: Key, uid: str, node: str) -> None:
        self.key = key
        self.uid = uid
        self.node = node
        self.ip = ""
        self.held = False  # the IP is allocated to this pod's sandbox
        self.start = 0.0
        self.ctrs: list[Ctr] = []
        self.n_init = 0
        self.n_main = 0
        self.init_i = 0
        self.stage = INIT
        self.rv = ""  # the resourceVersion of the kubelet's last status write
        self.phase = ""  # a terminal phase the kubelet decided (deadline, deletion)
        self.reason = ""
        self.message = ""
        self.deadline: Timer | None = None

    @property
    def main(self) -> list[Ctr]:
        return self.ctrs[self.n_init:self.n_init + self.n_main]

    @property
    def ephemeral(self) -> list[Ctr]:
        return self.ctrs[self.n_init + self.n_main:]


class _ConfigError(Exception):
    """CreateContainerConfigError: the container's environment cannot be built."""

    def __init__(self, message: str, ref: tuple[str, str, str] | None = None) -> None:
        super().__init__(message)
        self.ref = ref  # (kind, namespace, name) of the missing object


def _cid(run: Run, c: Ctr, attempt: int) -> str:
    """A container's ID: derived, not stored (a seeded run gives the same IDs every time)."""
    return hashlib.sha256(f"{run.uid}/{c.name}/{attempt}".encode()).hexdigest()


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _go_duration(seconds: float) -> str:
    """A duration as Go prints it (``1.2s``, ``512ms``, ``5m0s``)."""
    if seconds < 1:
        ms = round(seconds * 1000, 3)
        return f"{ms:g}ms"
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)}m{round(secs, 3):g}s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)}h{int(minutes)}m{round(secs, 3):g}s"


def _annotation(pod: Obj, key: str, container: str = "") -> str | None:
    """``kubenb.io/<key>.<container>``, else ``kubenb.io/<key>``."""
    annotations = pod["metadata"].get("annotations")
    if not annotations:
        return None
    if container:
        value = annotations.get(f"{ANNOTATION}{key}.{container}")
        if value is not None:
            return value
    return annotations.get(ANNOTATION + key)


def _seconds(pod: Obj, key: str, container: str = "") -> float | None:
    value = _annotation(pod, key, container)
    if value is None:
        return None
    try:
        seconds = float(value.rstrip("s"))
    except ValueError:
        return None
    return seconds if seconds >= 0 and math.isfinite(seconds) else None


def _grace_seconds(pod: Obj) -> float:
    """The pod's grace period: the one its deletion set, else its spec's (30 s by default)."""
    grace = pod["metadata"].get("deletionGracePeriodSeconds")
    if grace is None:
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    return max(0.0, float(grace or 0))


def _hook_outcome(hook: Obj) -> tuple[float, bool]:
    """(seconds, succeeded) of a lifecycle hook's handler: ``exec`` runs its command in the
    simulated shell (``sleep 5`` takes five seconds, ``false`` fails; a command the shell does
    not know, such as ``nginx -s quit``, is taken to succeed at once), ``sleep`` waits its
    seconds, ``httpGet`` answers at once."""
    if "exec" in hook:
        argv = tuple(str(a) for a in ((hook.get("exec") or {}).get("command") or ()))
        if not argv:
            return 0.0, False
        program = progs.program_for(argv, None)
        if not isinstance(program, progs.Script):
            return 0.0, True
        end = progs.outcome(program, progs.Context())
        if end.exit_after is None:  # never ends: it runs until the grace period is over
            return math.inf, True
        return end.exit_after, end.code == 0
    if "sleep" in hook:
        return max(0.0, float((hook.get("sleep") or {}).get("seconds") or 0)), True
    return 0.0, True


def _flag(pod: Obj, key: str, container: str = "") -> bool:
    value = _annotation(pod, key, container)
    return value is not None and value.strip().lower() in ("true", "yes", "1", "")


def _expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion of command, args and env values (``$$`` escapes)."""
    if "$" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "$" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = text.find(")", i + 2)
                if end > 0:
                    name = text[i + 2:end]
                    out.append(env[name] if name in env else text[i:end + 1])
                    i = end + 1
                    continue
        out.append(c)
        i += 1
    return "".join(out)


class Kubelets(Controller):
    """Every simulated node's kubelet."""

    name = "kubelet"
    primary = PODS

    def __init__(self, *, node_events: bool = True) -> None:
        self.nodes: dict[str, NodeState] = {}
        self.runs: dict[Key, Run] = {}
        self._turn = 0  # which endpoint a Service's next connection goes to
        #: what volumes hold (see _mounts): written by exec, read by containers as they start
        self.volume_data: dict[tuple[str, ...], dict[str, str | None]] = {}
        self._next_index = 1
        self.timings = Timings()
        self.registry = ImageRegistry()
        #: (image pattern, node or None): pulls that fail (Faults.fail_image_pulls)
        self.pull_failures: list[tuple[str, str | None]] = []
        self.node_events = node_events
        #: pods waiting for a ConfigMap or Secret to exist: (kind, ns, name) -> pod keys
        self._config_waiters: dict[tuple[str, str, str], set[Key]] = {}

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kubelet")
        self.clock = mgr.clock
        self.events = mgr.recorder("kubelet")
        self.pods = mgr.informer(PODS)
        self.pods.add_index("node", by_node)
        self.pods.add_handler(Handler(self._on_add, self._on_update, self._on_delete))
        self.configmaps = mgr.informer(CONFIGMAPS)
        self.secrets = mgr.informer(SECRETS)
        self.services = mgr.informer(SERVICES)
        self.services.add_index(BY_NAMESPACE, by_namespace)
        self.configmaps.add_handler(Handler(self._on_config, lambda _o, n: self._on_config(n)))
        self.secrets.add_handler(Handler(self._on_config, lambda _o, n: self._on_config(n)))

    # ------------------------------------------------------------------ informer handlers

    def _on_add(self, pod: Obj) -> None:
        node = pod["spec"].get("nodeName")
        if node and node in self.nodes:
            meta = pod["metadata"]
            self.queue.add(Request(meta["namespace"], meta["name"]))

    def _on_update(self, old: Obj, pod: Obj) -> None:
        node = pod["spec"].get("nodeName")
        if not node or node not in self.nodes:
            return
        meta = pod["metadata"]
        run = self.runs.get((meta["namespace"], meta["name"]))
        if run is not None and run.rv == meta.get("resourceVersion"):
            return  # the kubelet's own status write
        self.queue.add(Request(meta["namespace"], meta["name"]))

    def _on_delete(self, pod: Obj) -> None:
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"])
        if key in self.runs:
            self.queue.add(Request(*key))

    def _on_config(self, obj: Obj) -> None:
        if not self._config_waiters:
            return
        meta = obj["metadata"]
        kind = "Secret" if obj.get("kind") == "Secret" else "ConfigMap"
        for key in self._config_waiters.pop((kind, meta.get("namespace", ""), meta["name"]),
                                            ()):
            run = self.runs.get(key)
            if run is None:
                continue
            for c in run.ctrs:
                if c.step == BLOCKED and c.reason == "CreateContainerConfigError":
                    c.step = IDLE
                    self._launch(run, c)

    # ------------------------------------------------------------------ nodes

    def add_node(self, name: str, *, index: int = 0, cpu: str = "4", memory: str = "16Gi",
                 pods: str = "110", labels: dict[str, str] | None = None,
                 taints: list[Obj] | None = None) -> Obj:
        """Register a node as its kubelet does: the Node, its status, its Lease."""
        if name in self.nodes:
            return self.client.get(NODES, name)
        index = index or self._next_index
        self._next_index = max(self._next_index, index + 1)
        try:
            node = self.client.create(NODES, node_object(name, index=index, labels=labels,
                                                         taints=taints))
        except errors.AlreadyExists:
            node = self.client.get(NODES, name)
        now = self._now()
        node["status"] = node_status(name, index=index, now=now, cpu=cpu, memory=memory,
                                     pods=pods)
        node = self.client.replace_status(NODES, node)
        state = NodeState(name, index, since=now)
        cidr = ipaddress.IPv4Network((node.get("spec") or {}).get("podCIDR") or "10.244.0.0/24",
                                     strict=False)
        state.network, state.size = int(cidr.network_address), cidr.num_addresses
        state.host_ip = next((a["address"] for a in node["status"].get("addresses", ())
                              if a.get("type") == "InternalIP"), node_address(index))
        state.recorder = self.events.for_host(name)
        self.nodes[name] = state
        self._renew(state, node)
        state.report = self.clock.call_later(NODE_STATUS_REPORT, lambda: self._report(state),
                                             background=True)
        if self.node_events:
            ref = self._node_ref(name)
            state.recorder.journal = self.events.journal
            state.recorder.normal(ref, "Starting", "Starting kubelet.")
            state.recorder.normal(ref, "NodeReady", f"Node {name} status is now: NodeReady")
        return node

    def remove_node(self, name: str) -> None:
        """Stop the node's kubelet and delete its Node object (its pods are left to the
        controllers, as when a machine is deleted)."""
        state = self.nodes.pop(name, None)
        if state is not None:
            state.up = state.reachable = False
            for timer in (state.heartbeat, state.report):
                if timer is not None:
                    timer.cancel()
            self.clock.call_later(0, lambda: self._forget_node(state))
        with contextlib.suppress(errors.NotFound):
            self.client.delete(NODES, name)

    def _forget_node(self, state: NodeState) -> None:
        for key in list(state.pods):
            run = self.runs.get(key)
            if run is not None and run.node == state.name:
                self._discard(run)

    @staticmethod
    def _node_ref(name: str) -> Obj:
        return {"kind": "Node", "apiVersion": "v1", "metadata": {"name": name, "uid": name}}

    def _now(self) -> str:
        return _stamp(self.clock.now())

    def _renew(self, state: NodeState, node: Obj | None = None) -> None:
        """Renew the node's Lease (creating it the first time), then plan the next renewal."""
        if self.nodes.get(state.name) is not state or not state.up:
            return
        if state.reachable:
            renew = now_rfc3339_micro(self.clock.datetime())
            try:
                self.client.patch(LEASES, state.name, {"spec": {"renewTime": renew}},
                                  "kube-node-lease", patch_type=PatchType.MERGE)
            except errors.NotFound:
                node = node or self.client.get(NODES, state.name)
                self.client.create(LEASES, {
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": state.name, "namespace": "kube-node-lease",
                                 "ownerReferences": [{"apiVersion": "v1", "kind": "Node",
                                                      "name": state.name,
                                                      "uid": node["metadata"]["uid"]}]},
                    "spec": {"holderIdentity": state.name,
                             "leaseDurationSeconds": LEASE_DURATION, "renewTime": renew},
                })
        state.heartbeat = self.clock.call_later(LEASE_RENEW, lambda: self._renew(state),
                                                background=True)

    def _report(self, state: NodeState, *, reschedule: bool = True) -> None:
        """Post the node's conditions with a fresh heartbeat time."""
        if self.nodes.get(state.name) is not state or not state.up:
            return
        if state.reachable:
            with contextlib.suppress(errors.NotFound):
                self.client.patch(NODES, state.name, {"status": {"conditions": node_conditions(
                    self._now(), state.since)}}, subresource="status")
        if reschedule:
            state.report = self.clock.call_later(NODE_STATUS_REPORT, lambda: self._report(state),
                                                 background=True)

    def _reconnect(self, state: NodeState) -> None:
        """Back in touch with the API: renew at once, post Ready (a transition if the node
        lifecycle controller marked it otherwise), and look at every pod again."""
        try:
            node = self.client.get(NODES, state.name)
        except errors.NotFound:
            node = None
        if node is not None:
            ready = next((c for c in (node.get("status") or {}).get("conditions") or ()
                          if c.get("type") == "Ready"), None)
            if ready is None or ready.get("status") != "True":
                state.since = self._now()
                if self.node_events and state.recorder is not None:
                    state.recorder.normal(self._node_ref(state.name), "NodeReady",
                                          f"Node {state.name} status is now: NodeReady")
        if state.heartbeat is not None:
            state.heartbeat.cancel()
        self._renew(state, node)
        self._report(state, reschedule=False)
        keys = set(state.pods)
        keys.update((p["metadata"]["namespace"], p["metadata"]["name"])
                    for p in self.pods.by_index("node", state.name))
        for key in sorted(keys):
            self.queue.add(Request(*key))

    # ------------------------------------------------------------------ node faults
    # (called on the engine thread by Faults)

    def node_down(self, name: str) -> None:
        """The machine stops: no heartbeats, no status, its containers are gone."""
        state = self.nodes.get(name)
        if state is None or not state.up:
            return
        state.up = state.reachable = False
        for timer in (state.heartbeat, state.report):
            if timer is not None:
                timer.cancel()
        now = self.clock.now()
        for key in state.pods:
            run = self.runs.get(key)
            if run is None:
                continue
            for c in run.ctrs:
                c.cancel()
                if c.state == RUNNING:  # its process dies with the machine
                    c.state, c.exit_code, c.term_reason = TERMINATED, 255, "Unknown"
                    c.finished_at, c.ready, c.started = now, False, False
                    c.step = STOPPING  # (marks it for a restart when the node is back)
            if run.deadline is not None:
                run.deadline.cancel()

    def node_up(self, name: str) -> None:
        """The machine boots again: the kubelet re-registers and restarts the pods it still
        has (their containers count a restart), as after a reboot."""
        state = self.nodes.get(name)
        if state is None or state.up:
            return
        state.up = state.reachable = True
        for key in sorted(state.pods):
            run = self.runs.get(key)
            if run is None or run.stage == DONE:
                continue
            if run.stage == STOPPING_POD:  # it was being deleted: its containers are gone
                for c in run.ctrs:
                    c.step = IDLE
                self._stopped_all(run)
                self._changed(run)
                continue
            pod = self._pod(run)
            if pod is None:
                continue
            self._event(run, None, "Normal", "SandboxChanged",
                        "Pod sandbox changed, it will be killed and re-created.")
            for c in run.ctrs:
                if c.step == STOPPING and c.state == TERMINATED:  # died with the machine
                    c.step = IDLE
                    self._handle_exit(run, c)
                elif c.step in _LAUNCHING or c.step in (BACKOFF, PULL_BACKOFF, STOPPING):
                    c.step = IDLE
                    if c.runs:
                        self._handle_exit(run, c)
                    else:
                        self._launch(run, c)
            self._advance(run)
        state.report = self.clock.call_later(NODE_STATUS_REPORT, lambda: self._report(state),
                                             background=True)
        self._reconnect(state)

    def partition(self, name: str) -> None:
        """Cut the kubelet off the API: its containers go on, it cannot report or see."""
        state = self.nodes.get(name)
        if state is not None:
            state.reachable = False

    def heal(self, name: str) -> None:
        state = self.nodes.get(name)
        if state is None or state.reachable or not state.up:
            return
        state.reachable = True
        self._reconnect(state)

    # ------------------------------------------------------------------ pods: sync

    def reconcile(self, request: Request) -> Result | None:
        key = (request.namespace, request.name)
        pod = self.pods.get(request.name, request.namespace)
        run = self.runs.get(key)
        if run is not None:
            state = self.nodes.get(run.node)
            if state is None:
                self._discard(run)
                run = None
            elif not state.reachable:
                return None  # it cannot see the API; heal() looks again
            elif pod is None or pod["metadata"].get("uid") != run.uid or \
                    pod["spec"].get("nodeName") != run.node:
                self._discard(run)  # deleted (or replaced) while the kubelet looked away
                run = None
        if pod is None:
            return None
        node = pod["spec"].get("nodeName")
        state = self.nodes.get(node) if node else None
        if state is None or not state.reachable:
            return None
        meta = pod["metadata"]
        if run is None:
            if meta.get("deletionTimestamp"):
                self._delete_now(pod)  # nothing runs here: confirm the deletion
                return None
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                return None
            run = self._admit(pod, state)
        elif meta.get("deletionTimestamp") and run.stage != STOPPING_POD and not (
                run.stage == DONE and run.phase == "deleted"):
            self._terminate(run, pod)
        elif run.stage in (INIT, MAIN):
            self._check_spec(run, pod)
        result = self._write_status(run, pod)
        if result is None and run.stage == DONE and run.phase == "deleted":
            self._delete_now(pod)
        return result

    def _write_status(self, run: Run, pod: Obj) -> Result | None:
        status = self._status(run, pod)
        current = pod.get("status") or {}
        changed = {k: v for k, v in status.items() if current.get(k) != v}
        if not changed:
            return None
        meta = pod["metadata"]
        try:  # a merge patch of what changed, made on the version the status was computed from
            written = self.client.patch(PODS, meta["name"], {
                "metadata": {"resourceVersion": meta["resourceVersion"]}, "status": changed},
                meta["namespace"], subresource="status")
        except errors.Conflict:
            return Result(requeue=True)
        except errors.NotFound:
            return None
        run.rv = written["metadata"]["resourceVersion"]
        return None

    def _delete_now(self, pod: Obj) -> None:
        meta = pod["metadata"]
        with contextlib.suppress(errors.NotFound, errors.Conflict):
            self.client.delete(PODS, meta["name"], meta["namespace"], grace_period_seconds=0,
                               preconditions={"uid": meta["uid"]})

    def _changed(self, run: Run) -> None:
        self.queue.add(Request(*run.key))

    def _pod(self, run: Run) -> Obj | None:
        pod = self.pods.get(run.key[1], run.key[0])
        if pod is None or pod["metadata"].get("uid") != run.uid:
            return None
        return pod

    @staticmethod
    def _spec(pod: Obj, c: Ctr) -> Obj:
        return pod["spec"][_LISTS[c.init + 2 * c.eph]][c.index]

    # ------------------------------------------------------------------ pods: admission

    def _admit(self, pod: Obj, state: NodeState) -> Run:
        meta, spec = pod["metadata"], pod["spec"]
        key = (meta["namespace"], meta["name"])
        run = Run(key, meta["uid"], state.name)
        run.start = self.clock.now()
        if spec.get("hostNetwork"):
            run.ip = state.host_ip
        else:
            ip = state.allocate()
            run.held = ip is not None
            if ip is None:
                self._event(run, None, "Warning", "FailedCreatePodSandBox",
                            "Failed to create pod sandbox: plugin type=\"bridge\" failed (add): "
                            "failed to allocate for range 0: no IP addresses available in range "
                            "set")
            run.ip = ip or ""
        inits = spec.get("initContainers") or ()
        run.ctrs = [Ctr(c["name"], i, True, c.get("restartPolicy") == "Always")
                    for i, c in enumerate(inits)]
        run.ctrs += [Ctr(c["name"], i, False, False)
                     for i, c in enumerate(spec.get("containers") or ())]
        run.n_init = len(inits)
        run.n_main = len(run.ctrs) - run.n_init
        self._add_ephemeral(run, pod)
        if inits:
            for c in run.ctrs:
                c.reason = "PodInitializing"
        else:
            run.stage = MAIN
        self.runs[key] = run
        state.pods.add(key)
        deadline = spec.get("activeDeadlineSeconds")
        if isinstance(deadline, int) and deadline > 0:
            run.deadline = self._at(run, deadline, self._deadline_exceeded, run)
        if run.ip or spec.get("hostNetwork"):
            self._advance(run)
        return run

    def _discard(self, run: Run) -> None:
        """Forget a pod: its containers stop, its IP is free again, its emptyDir volumes go
        (nothing is written)."""
        for key in [k for k in self.volume_data if k[0] == "emptyDir" and k[1] == run.uid]:
            del self.volume_data[key]
        for c in run.ctrs:
            c.cancel()
        if run.deadline is not None:
            run.deadline.cancel()
        if self.runs.get(run.key) is run:
            del self.runs[run.key]
        state = self.nodes.get(run.node)
        if state is not None:
            state.pods.discard(run.key)
        self._release_sandbox(run)

    def _release_sandbox(self, run: Run) -> None:
        """The pod's sandbox is gone: its IP may go to another pod (the status keeps it)."""
        state = self.nodes.get(run.node)
        if state is not None and run.held:
            state.release(run.ip)
        run.held = False

    def _at(self, run: Run, delay: float, fn: Callable[..., None], *args: Any,
            background: bool = False) -> Timer:
        """A timer that fires only while ``run`` is current and its node is up."""

        def fire() -> None:
            if self.runs.get(run.key) is not run:
                return
            state = self.nodes.get(run.node)
            if state is None or not state.up:
                return
            fn(*args)

        return self.clock.call_later(delay, fire, background=background)

    def _event(self, run: Run, c: Ctr | None, etype: str, reason: str, message: str) -> None:
        state = self.nodes.get(run.node)
        if state is None or not state.reachable or state.recorder is None:
            return  # events of a kubelet cut off from the API are lost
        ns, name = run.key
        ref = {"kind": "Pod", "apiVersion": "v1",
               "metadata": {"name": name, "namespace": ns, "uid": run.uid}}
        state.recorder.journal = self.events.journal  # record_journal() may have come later
        state.recorder.event(ref, etype, reason, message,
                             field_path=c.field_path if c is not None else "")

    # ------------------------------------------------------------------ pods: containers

    def _advance(self, run: Run) -> None:
        """Start whatever comes next: init containers in order, then the others one by one."""
        if run.stage >= STOPPING_POD:
            return
        for c in run.ephemeral:  # started once there is a sandbox, initialised or not
            if c.state == WAITING and c.step == IDLE and c.runs == 0:
                self._launch(run, c)
        ctrs = run.ctrs
        while run.stage == INIT:
            if run.init_i >= run.n_init:
                run.stage = MAIN
                for c in run.main:
                    if c.reason == "PodInitializing" and c.state == WAITING:
                        c.reason = "ContainerCreating"
                self._changed(run)
                break
            c = ctrs[run.init_i]
            if c.sidecar:
                if c.state == RUNNING and c.started:
                    run.init_i += 1
                    continue
            elif c.state == TERMINATED and c.exit_code == 0:
                run.init_i += 1
                continue
            if c.state == WAITING and c.step == IDLE and c.runs == 0:
                self._launch(run, c)
            return
        for c in run.main:
            if c.step in _LAUNCHING and c.runs == 0:
                return  # one container at a time, in order
            if c.state == WAITING and c.step == IDLE and c.runs == 0:
                self._launch(run, c)
                if c.step in _LAUNCHING:
                    return

    def _launch(self, run: Run, c: Ctr) -> None:
        """Pull (or not) the container's image, then create and start it."""
        pod = self._pod(run)
        state = self.nodes.get(run.node)
        if pod is None or state is None:
            return
        spec = self._spec(pod, c)
        image = spec.get("image") or ""
        ref = parse_reference(image)
        now = self.clock.now()
        if ref is None:
            message = (f'Failed to apply default image tag "{image}": couldn\'t parse image '
                       f'name "{image}": invalid reference format')
            self._wait(run, c, "InvalidImageName", message, BLOCKED)
            self._event(run, c, "Warning", "InspectFailed", message)
            self._event(run, c, "Warning", "Failed", "Error: InvalidImageName")
            return
        c.image = ref.full
        policy = spec.get("imagePullPolicy") or (
            "Always" if ref.tag == "latest" and not ref.digest else "IfNotPresent")
        present = state.images.get(ref.full)
        if policy != "Always" and present is not None and present <= now:
            self._event(run, c, "Normal", "Pulled",
                        f'Container image "{image}" already present on machine')
            self._create(run, c)
            return
        if policy == "Never":
            message = f'Container image "{image}" is not present with pull policy of Never'
            self._wait(run, c, "ErrImageNeverPull", message, BLOCKED)
            self._event(run, c, "Warning", "ErrImageNeverPull", message)
            return
        self._event(run, c, "Normal", "Pulling", f'Pulling image "{image}"')
        c.step = PULLING
        failure = self._pull_failure(ref, state.name)
        if failure is not None:
            c.timer = self._at(run, self.timings.pull_fail, self._pull_failed, run, c, image,
                               failure, background=c.bg or c.pull_backoff >= BACKOFF_MAX)
            return
        found = self.registry.lookup(ref)
        size = found.size if found else 0
        if present is not None and present > now:
            done = present  # join the pull already under way
        else:
            override = _seconds(pod, "pull-seconds", c.name)
            if override is not None:
                took = override
            elif present is not None:
                took = self.timings.pull_base
            else:
                took = self.timings.pull_base + size / self.timings.pull_bandwidth
            done = now + round(took, 3)
            if present is None:
                state.images[ref.full] = done
        c.timer = self._at(run, done - now, self._pulled, run, c, image, ref, done - now, size,
                           background=c.bg)

    def _pull_failure(self, ref: ImageRef, node: str) -> str | None:
        for pattern, where in self.pull_failures:
            if where is not None and where != node:
                continue
            if fnmatch.fnmatchcase(ref.text, pattern) or fnmatch.fnmatchcase(ref.full, pattern) \
                    or fnmatch.fnmatchcase(ref.repository, pattern):
                host = ref.repository.split("/", 1)[0]
                return (f'failed to pull and unpack image "{ref.full}": failed to resolve '
                        f'reference "{ref.full}": unexpected status from HEAD request to '
                        f"https://{'registry-1.docker.io' if host == 'docker.io' else host}/v2/"
                        f"{ref.repository.split('/', 1)[1]}/manifests/{ref.tag}: "
                        "503 Service Unavailable")
        if self.registry.lookup(ref) is not None:
            return None
        if ref.repository.startswith("docker.io/"):
            return (f'failed to pull and unpack image "{ref.full}": failed to resolve reference '
                    f'"{ref.full}": pull access denied, repository does not exist or may require '
                    "authorization: server message: insufficient_scope: authorization failed")
        return (f'failed to pull and unpack image "{ref.full}": failed to resolve reference '
                f'"{ref.full}": {ref.full}: not found')

    def _pulled(self, run: Run, c: Ctr, image: str, ref: ImageRef, took: float,
                size: int) -> None:
        c.timer = None
        state = self.nodes[run.node]
        now = self.clock.now()
        if state.images.get(ref.full, math.inf) > now:
            state.images[ref.full] = now
        c.pull_backoff = 0.0
        d = _go_duration(took)
        self._event(run, c, "Normal", "Pulled",
                    f'Successfully pulled image "{image}" in {d} ({d} including waiting). '
                    f"Image size: {size} bytes.")
        self._create(run, c)

    def _pull_failed(self, run: Run, c: Ctr, image: str, failure: str) -> None:
        c.timer = None
        self._event(run, c, "Warning", "Failed", f'Failed to pull image "{image}": {failure}')
        self._event(run, c, "Warning", "Failed", "Error: ErrImagePull")
        self._wait(run, c, "ErrImagePull", failure, PULL_BACKOFF)
        now = self.clock.now()
        if c.pull_backoff == 0 or now - c.pull_backoff_at > BACKOFF_RESET:
            c.pull_backoff = BACKOFF_INITIAL
        else:
            c.pull_backoff = min(c.pull_backoff * 2, BACKOFF_MAX)
        c.pull_backoff_at = now
        # the next sync, a second away, shows the back-off (settle ends on ImagePullBackOff)
        c.timer = self._at(run, SYNC_DELAY, self._pull_backing_off, run, c, image, failure)

    def _pull_backing_off(self, run: Run, c: Ctr, image: str, failure: str) -> None:
        self._wait(run, c, "ImagePullBackOff",
                   f'Back-off pulling image "{image}": ErrImagePull: {failure}', PULL_BACKOFF)
        self._event(run, c, "Normal", "BackOff", f'Back-off pulling image "{image}"')
        self._event(run, c, "Warning", "Failed", "Error: ImagePullBackOff")
        background = c.pull_backoff >= BACKOFF_MAX
        left = c.pull_backoff_at + c.pull_backoff - self.clock.now()
        c.timer = self._at(run, max(0.0, left), self._retry_pull, run, c, background=background)

    def _retry_pull(self, run: Run, c: Ctr) -> None:
        c.timer = None
        c.step = IDLE
        self._launch(run, c)

    def _wait(self, run: Run, c: Ctr, reason: str, message: str, step: int) -> None:
        """The container waits (never started, or between runs) for ``reason``."""
        if c.state == TERMINATED and c.runs:
            c.last = self._terminated_record(run, c)
        c.state, c.reason, c.message, c.step = WAITING, reason, message, step
        c.ready = c.started = False
        self._changed(run)

    def _terminated_record(self, run: Run, c: Ctr) -> tuple[int, str, float, float, int, str,
                                                              str]:
        pod = self._pod(run)
        message = self._termination_message(run, c, pod) if pod is not None else ""
        return (c.exit_code, c.term_reason, c.started_at, c.finished_at, c.runs - 1, c.note,
                message)

    def _termination_message(self, run: Run, c: Ctr, pod: Obj) -> str:
        """What the kubelet reports as the terminated run's ``message``: the file at
        ``terminationMessagePath`` as the program left it, else, under
        ``FallbackToLogsOnError`` and a failure, the last 80 log lines (2 KiB at most)."""
        if c.term_message is not None:
            return c.term_message
        spec = self._spec(pod, c)
        message = ""
        path = spec.get("terminationMessagePath") or TERMINATION_MESSAGE_PATH
        if c.outcome is not None and c.outcome.files:
            content = progs.files_at(c.outcome.files, c.finished_at - c.started_at).get(path)
            if content:
                message = (content + "\n").encode()[:TERMINATION_MESSAGE_MAX].decode(
                    errors="ignore")
        if not message and c.exit_code != 0 and spec.get(
                "terminationMessagePolicy") == "FallbackToLogsOnError":
            lines = [text for _t, text in self._program_lines(
                run, c, pod, spec, c.started_at, c.finished_at, limit=FALLBACK_LOG_LINES)]
            if c.note:
                lines = [*lines[-(FALLBACK_LOG_LINES - 1):], c.note]
            tail = "".join(line + "\n" for line in lines).encode()
            message = tail[-FALLBACK_LOG_BYTES:].decode(errors="ignore")
        c.term_message = message
        return message

    def _create(self, run: Run, c: Ctr) -> None:
        pod = self._pod(run)
        if pod is None:
            return
        spec = self._spec(pod, c)
        try:
            if spec.get("env") or spec.get("envFrom"):
                self._env(pod, spec, run)
        except _ConfigError as exc:
            self._wait(run, c, "CreateContainerConfigError", str(exc), BLOCKED)
            self._event(run, c, "Warning", "Failed", f"Error: {exc}")
            if exc.ref is not None:
                self._config_waiters.setdefault(exc.ref, set()).add(run.key)
            return
        c.step = CREATING
        c.outcome = None
        c.timer = self._at(run, self.timings.create, self._created, run, c, background=c.bg)

    def _created(self, run: Run, c: Ctr) -> None:
        self._event(run, c, "Normal", "Created", f"Created container: {c.name}")
        c.step = STARTING
        pod = self._pod(run)
        start = _seconds(pod, "start-seconds", c.name) if pod is not None else None
        c.timer = self._at(run, self.timings.start if start is None else start, self._started,
                           run, c, background=c.bg)

    def _started(self, run: Run, c: Ctr) -> None:
        c.timer = None
        pod = self._pod(run)
        if pod is None:
            return
        spec = self._spec(pod, c)
        now = self.clock.now()
        if c.state == TERMINATED and c.runs:  # restarted at once, without a back-off
            c.last = self._terminated_record(run, c)
        c.runs += 1
        c.term_message = None
        if c.faults and "liveness" in c.faults:  # a hung process does not survive its restart
            c.faults.discard("liveness")
        c.fs = None  # a new container: a fresh writable layer; its volumes stay
        seed = self._volume_seed(run, pod, spec)
        if seed or c.seeds:
            c.seeds = {t: v for t, v in (c.seeds or {}).items() if t == c.started_at}
            c.seeds[now] = seed
        c.started_at = now
        self._event(run, c, "Normal", "Started", f"Started container {c.name}")
        hook = (spec.get("lifecycle") or {}).get("postStart")
        if hook:
            # the kubelet waits for the hook before it reports the container or starts the
            # next one (startContainer's step 4)
            seconds, ok = _hook_outcome(hook)
            if c.state == TERMINATED:
                c.state, c.reason, c.message = WAITING, "ContainerCreating", ""
            c.step = STARTING
            c.timer = self._at(run, seconds, self._post_started, run, c, ok, background=c.bg)
            return
        self._running(run, c, pod, spec)

    def _post_started(self, run: Run, c: Ctr, ok: bool) -> None:
        """The postStart hook returned: the container runs, or, when the hook failed, it is
        reported (``FailedPostStartHook``) and killed, and restarts as its policy says."""
        c.timer = None
        pod = self._pod(run)
        if pod is None:
            return
        self._running(run, c, pod, self._spec(pod, c))
        if not ok and c.state == RUNNING:
            self._event(run, c, "Warning", "FailedPostStartHook", "PostStartHook failed")
            self._event(run, c, "Normal", "Killing", "FailedPostStartHook")
            self._kill(run, c, pod, 0 if c.outcome is progs.RUNS_FOREVER else 143,
                       note="kubenb: the postStart hook failed; the kubelet killed the container")

    def _running(self, run: Run, c: Ctr, pod: Obj, spec: Obj) -> None:
        """The container's program runs (from ``c.started_at``): its end, its probes."""
        c.state, c.step, c.reason, c.message, c.note = RUNNING, IDLE, "", "", ""
        c.ready = False
        # what the program does, and when it ends
        exit_after, code, note = self._plan(run, pod, spec, c)
        if exit_after is not None:
            # the program has run since it started (a postStart hook took some of that time)
            left = max(0.0, exit_after - (self.clock.now() - c.started_at))
            c.timer = self._at(run, left, self._exited, run, c, code, "", note,
                               background=c.bg or self._far(pod, c, left))
        if spec.get("startupProbe"):
            c.started = False
            self._start_probe(run, c, "startup", spec["startupProbe"])
        else:
            c.started = True
            self._after_startup(run, c, pod, spec)
        self._changed(run)
        self._advance(run)

    def _plan(self, run: Run, pod: Obj, spec: Obj, c: Ctr) -> tuple[float | None, int, str]:
        """When this run of the container exits by itself, with which code, and the log line
        the simulation adds to say why (annotations and faults win over the program)."""
        faults = c.faults or ()
        if "crash" in faults:
            return 1.0, 1, "kubenb: simulated crash (Faults.crash_loop), exit code 1"
        env: list[tuple[str, str]] = []
        if spec.get("command") or spec.get("args"):
            with contextlib.suppress(_ConfigError):
                env = self._env(pod, spec, run)
        program = self._program(pod, spec, env)
        if isinstance(program, progs.Script):
            c.outcome = progs.outcome(program,
                                      self._context(pod, spec, env, c.started_at, c))
        else:
            c.outcome = program.outcome(progs.Context())
        outcome = c.outcome
        assert outcome is not None
        exit_after, code, note = outcome.exit_after, outcome.code, ""
        crash = _seconds(pod, "crash-after-seconds", c.name)
        forced = _annotation(pod, "exit-code", c.name)
        if crash is not None and (exit_after is None or crash < exit_after):
            exit_after, code = crash, 1
            note = f"kubenb: simulated crash after {crash:g}s (kubenb.io/crash-after-seconds)"
        if forced is not None and exit_after is not None:
            with contextlib.suppress(ValueError):
                code = int(forced) & 0xFF
        if note:
            note += f", exit code {code}"
        return exit_after, code, note

    @staticmethod
    def _far(pod: Obj, c: Ctr, delay: float) -> bool:
        """Whether something due in ``delay`` seconds is a chore rather than part of
        converging: the next event of a long-running container whose pod restarts it anyway
        (a ``sleep 3600`` in a Deployment would otherwise keep ``settle`` going for ever)."""
        return delay > BACKOFF_RESET and (not c.init or c.sidecar) and pod["spec"].get(
            "restartPolicy", "Always") == "Always"

    def _after_startup(self, run: Run, c: Ctr, pod: Obj, spec: Obj) -> None:
        """Startup passed: readiness and liveness probes begin."""
        readiness = spec.get("readinessProbe")
        ready_after = _seconds(pod, "ready-after-seconds", c.name)
        never = _flag(pod, "never-ready", c.name)
        if (c.init and not c.sidecar) or c.eph:
            c.ready = False  # init and ephemeral containers are never ready
        elif readiness:
            self._start_probe(run, c, "readiness", readiness)
        elif never:
            c.ready = False
        elif ready_after or (c.faults and "readiness" in c.faults):
            self._start_probe(run, c, "readiness", _PSEUDO_PROBE)
        else:
            c.ready = True
        liveness = spec.get("livenessProbe")
        if liveness and self._liveness_may_fail(pod, c, liveness):
            self._start_probe(run, c, "liveness", liveness)

    def _liveness_may_fail(self, pod: Obj, c: Ctr, probe: Obj) -> bool:
        if c.faults and "liveness" in c.faults:
            return True
        if _seconds(pod, "liveness-fail-after-seconds", c.name) is not None:
            return True
        return bool(probe.get("exec") and c.outcome is not None and (c.outcome.files or c.fs))

    # ------------------------------------------------------------------ probes

    def _start_probe(self, run: Run, c: Ctr, kind: str, probe: Obj) -> None:
        if c.probes is None:
            c.probes = {}
        old = c.probes.get(kind)
        if old is not None and old[0] is not None:
            old[0].cancel()
        worker: list[Any] = [None, 0, 0]
        c.probes[kind] = worker
        delay = max(0, int(probe.get("initialDelaySeconds") or 0))
        if kind == "readiness":
            ready_after = self._ready_after(run, c)
            if ready_after is not None:
                delay = max(delay, ready_after)
        pod = self._pod(run)
        far = pod is not None and self._far(pod, c, delay)
        worker[0] = self._at(run, delay, self._probe_tick, run, c, kind,
                             background=c.bg or far)

    def _ready_after(self, run: Run, c: Ctr) -> float | None:
        pod = self._pod(run)
        return _seconds(pod, "ready-after-seconds", c.name) if pod is not None else None

    def _probe_result(self, run: Run, c: Ctr, kind: str, probe: Obj,
                      pod: Obj) -> tuple[bool, str]:
        age = self.clock.now() - c.started_at
        faults = c.faults or ()
        failing = False
        if kind == "readiness":
            failing = "readiness" in faults or _flag(pod, "never-ready", c.name)
            ready_after = _seconds(pod, "ready-after-seconds", c.name)
            if ready_after is not None and age < ready_after - 1e-9:
                failing = True
        elif kind == "liveness":
            fail_after = _seconds(pod, "liveness-fail-after-seconds", c.name)
            failing = "liveness" in faults or (fail_after is not None and age >= fail_after)
        if not failing and probe.get("exec"):
            argv = probe["exec"].get("command") or []
            if argv and c.outcome is not None:
                spec = self._spec(pod, c)
                env = self._env_or_none(pod, spec, run)
                ctx = self._context(pod, spec, env, c.started_at, c)
                code, output = progs.run_probe([str(a) for a in argv], ctx,
                                               self._files(run, c, pod, spec, age))
                if code != 0:
                    return False, output or f"command {argv!r} exited with {code}"
            return True, ""
        if not failing:
            return True, ""
        if probe.get("exec"):
            return False, f"command {probe['exec'].get('command')!r} exited with 1"
        if probe.get("tcpSocket"):
            port = probe["tcpSocket"].get("port", "")
            return False, f"dial tcp {run.ip}:{port}: connect: connection refused"
        if probe.get("grpc"):
            port = probe["grpc"].get("port", "")
            return False, (f'timeout: failed to connect service "{run.ip}:{port}" within 1s: '
                           "context deadline exceeded")
        return False, "HTTP probe failed with statuscode: 503"

    def _change_points(self, run: Run, c: Ctr, kind: str, pod: Obj, probe: Obj) -> list[float]:
        """Cluster times after which the probe's answer may change by itself."""
        points: list[float] = []
        if kind == "readiness":
            ready_after = _seconds(pod, "ready-after-seconds", c.name)
            if ready_after is not None:
                points.append(c.started_at + ready_after)
        elif kind == "liveness":
            fail_after = _seconds(pod, "liveness-fail-after-seconds", c.name)
            if fail_after is not None:
                points.append(c.started_at + fail_after)
        if probe.get("exec") and c.outcome is not None:
            points.extend(c.started_at + t for t, _p, _c in c.outcome.files)
        return points

    def _probe_tick(self, run: Run, c: Ctr, kind: str) -> None:
        worker = (c.probes or {}).get(kind)
        pod = self._pod(run)
        if worker is None or pod is None or c.state != RUNNING:
            return
        spec = self._spec(pod, c)
        probe = spec.get(kind + "Probe") or _PSEUDO_PROBE
        period = max(1, int(probe.get("periodSeconds") or 10))
        success_threshold = max(1, int(probe.get("successThreshold") or 1))
        failure_threshold = max(1, int(probe.get("failureThreshold") or 3))
        ok, message = self._probe_result(run, c, kind, probe, pod)
        if ok:
            worker[1] += 1
            worker[2] = 0
        else:
            worker[2] += 1
            worker[1] = 0
        title = kind.capitalize()
        if not ok and probe is not _PSEUDO_PROBE:
            self._event(run, c, "Warning", "Unhealthy", f"{title} probe failed: {message}")
        if kind == "readiness":
            if ok and worker[1] >= success_threshold and not c.ready:
                c.ready = True
                self._changed(run)
            elif not ok and worker[2] >= failure_threshold and c.ready:
                c.ready = False
                self._changed(run)
        elif kind == "startup":
            if ok:
                c.started = True
                worker[0] = None
                del c.probes[kind]  # type: ignore[union-attr]
                self._changed(run)
                self._after_startup(run, c, pod, spec)
                self._advance(run)
                return
            if worker[2] >= failure_threshold:
                self._event(run, c, "Normal", "Killing",
                            f"Container {c.name} failed startup probe, will be restarted")
                self._kill(run, c, pod, 137)
                return
        elif kind == "liveness" and not ok and worker[2] >= failure_threshold:
            self._event(run, c, "Normal", "Killing",
                        f"Container {c.name} failed liveness probe, will be restarted")
            self._kill(run, c, pod, 137)
            return
        now = self.clock.now()
        future = [p for p in self._change_points(run, c, kind, pod, probe) if p > now + 1e-9]
        if ok and not future and (kind != "readiness" or c.ready):
            worker[0] = None  # steady: nothing will change by itself
            return
        if ok and future and (kind != "readiness" or c.ready):
            wait = period * max(1, math.ceil((min(future) - now) / period - 1e-9))
        else:
            wait = period
        # a readiness probe failing for good is a chore that recurs for ever; a failing
        # liveness or startup probe is on its way to a restart
        background = c.bg or (kind == "readiness" and not ok and not future
                              and not c.ready) or self._far(
            pod, c, wait)
        worker[0] = self._at(run, wait, self._probe_tick, run, c, kind, background=background)

    def kick_probes(self, run: Run, c: Ctr) -> None:
        """A fault changed what the probes will find: probe again now."""
        pod = self._pod(run)
        if pod is None or c.state != RUNNING:
            return
        spec = self._spec(pod, c)
        for kind in ("readiness", "liveness"):
            if c.init and not c.sidecar:
                break
            probe = spec.get(kind + "Probe")
            if probe is None and kind == "readiness":
                probe = _PSEUDO_PROBE  # the fault (or its end) decides readiness
            if probe is None:
                continue
            worker = (c.probes or {}).get(kind)
            if worker is not None and worker[0] is not None:
                worker[0].cancel()
            if c.probes is None:
                c.probes = {}
            c.probes[kind] = [self._at(run, 0, self._probe_tick, run, c, kind), 0, 0]

    # ------------------------------------------------------------------ exits and restarts

    def _kill(self, run: Run, c: Ctr, pod: Obj | None, code: int, *, reason: str = "",
              note: str = "") -> None:
        """Stop a running container (liveness failure, spec change): its preStop hook, then
        SIGTERM, within the grace period."""
        if c.timer is not None:
            c.timer.cancel()
        stop = self._stop_seconds(pod, c) if pod is not None else self.timings.stop
        if pod is not None:
            stop, killed = self._pre_stop(run, c, pod, stop)
            if killed:
                code = 137
        c.step = STOPPING
        c.timer = self._at(run, stop, self._exited, run, c, code, reason, note,
                           background=c.bg)

    def _pre_stop(self, run: Run, c: Ctr, pod: Obj, stop: float) -> tuple[float, bool]:
        """Run the container's preStop hook before the SIGTERM, as the kubelet's
        ``executePreStopHook`` does: the hook takes its time out of the grace period, the
        SIGTERM then gets what is left (at least ``MIN_GRACE_AFTER_HOOK`` seconds), and a hook
        that fails is reported (``FailedPreStopHook``) and the stop goes on. Returns how long the
        whole stop takes and whether the grace ran out (the container is then SIGKILLed: 137)."""
        hook = ((self._spec(pod, c).get("lifecycle") or {}).get("preStop"))
        if not hook:
            return stop, False
        seconds, ok = _hook_outcome(hook)
        grace = _grace_seconds(pod)
        if not ok:
            self._event(run, c, "Warning", "FailedPreStopHook", "PreStopHook failed")
        if seconds >= grace:  # the hook is abandoned when the grace period is over
            left = MIN_GRACE_AFTER_HOOK
            return grace + min(left, stop), stop > left
        left = max(grace - seconds, MIN_GRACE_AFTER_HOOK)
        return seconds + min(left, stop), stop > left

    def _stop_seconds(self, pod: Obj, c: Ctr) -> float:
        grace = _grace_seconds(pod)
        if _flag(pod, "ignore-sigterm", c.name):
            return grace
        stop = _seconds(pod, "stop-seconds", c.name)
        return min(grace, self.timings.stop if stop is None else stop)

    def _exited(self, run: Run, c: Ctr, code: int, reason: str = "", note: str = "") -> None:
        """The container's process ended."""
        if c.state != RUNNING:
            return
        c.cancel()
        now = self.clock.now()
        c.state, c.step = TERMINATED, IDLE
        c.exit_code = code
        c.term_reason = reason or ("Completed" if code == 0 else "Error")
        c.finished_at = now
        c.note = note
        c.ready = c.started = False
        self._changed(run)
        if run.stage >= STOPPING_POD:
            return
        self._handle_exit(run, c)

    def _handle_exit(self, run: Run, c: Ctr) -> None:
        """What follows a container's end: the next init container, a restart (after the next
        sync), or the end of the pod."""
        if c.eph:
            return  # an ephemeral container is never restarted, and the pod does not wait on it
        code = c.exit_code
        pod = self._pod(run)
        policy = (pod or {}).get("spec", {}).get("restartPolicy", "Always")
        if c.init and not c.sidecar:
            if code == 0:
                self._advance(run)
            elif policy == "Never":
                self._finish(run)
            else:
                c.timer = self._at(run, SYNC_DELAY, self._after_exit, run, c)
            return
        if c.sidecar or policy == "Always" or (policy == "OnFailure" and code != 0):
            # the next sync, a second away, decides (settle ends on CrashLoopBackOff)
            c.timer = self._at(run, SYNC_DELAY, self._after_exit, run, c)
            return
        if all(x.state == TERMINATED or (x.runs == 0 and x.step not in _LAUNCHING)
               for x in run.main):
            self._finish(run)

    def _after_exit(self, run: Run, c: Ctr) -> None:
        """The kubelet's next sync after a container died: restart it now or after the
        back-off (CrashLoopBackOff)."""
        c.timer = None
        now = self.clock.now()
        if c.backoff == 0 or c.finished_at - c.backoff_at > BACKOFF_RESET:
            c.backoff, c.backoff_at, c.bg = BACKOFF_INITIAL, now, False
            c.step = IDLE
            self._launch(run, c)
            return
        ns, name = run.key
        pod_id = f"{name}_{ns}({run.uid})"
        self._wait(run, c, "CrashLoopBackOff",
                   f"back-off {_go_duration(c.backoff)} restarting failed container={c.name} "
                   f"pod={pod_id}", BACKOFF)
        self._event(run, c, "Warning", "BackOff",
                    f"Back-off restarting failed container {c.name} in pod {pod_id}")
        left = max(0.0, c.finished_at + c.backoff - now)
        c.bg = c.backoff >= BACKOFF_MAX
        c.timer = self._at(run, left, self._restart, run, c, background=c.bg)

    def _restart(self, run: Run, c: Ctr) -> None:
        c.timer = None
        c.backoff = min(c.backoff * 2, BACKOFF_MAX)
        c.backoff_at = self.clock.now()
        c.step = IDLE
        self._launch(run, c)

    def _finish(self, run: Run) -> None:
        """Every container is done for good (or an init container failed under Never): the
        pod is terminal; sidecars stop and the sandbox goes."""
        now = self.clock.now()
        for c in run.ctrs:
            if (c.sidecar or c.eph) and c.state == RUNNING:
                c.cancel()
                c.state, c.exit_code, c.term_reason, c.finished_at = TERMINATED, 0, "Completed", now
                c.ready = c.started = False
            elif c.step != IDLE:
                c.cancel()
                c.step = IDLE
        if run.deadline is not None:
            run.deadline.cancel()
        run.stage = DONE
        self._release_sandbox(run)
        self._changed(run)

    def _deadline_exceeded(self, run: Run) -> None:
        if run.stage >= STOPPING_POD:
            return
        message = "Pod was active on the node longer than the specified deadline"
        self._event(run, None, "Normal", "DeadlineExceeded", message)
        now = self.clock.now()
        for c in run.ctrs:
            if c.state == RUNNING:
                self._event(run, c, "Normal", "Killing", f"Stopping container {c.name}")
                c.cancel()
                c.state, c.exit_code, c.term_reason, c.finished_at = TERMINATED, 137, "Error", now
                c.ready = c.started = False
        run.phase, run.reason, run.message = "Failed", "DeadlineExceeded", message
        self._finish(run)

    def _terminate(self, run: Run, pod: Obj) -> None:
        """The pod was deleted with a grace period: stop its containers, then delete it."""
        run.stage = STOPPING_POD
        if run.deadline is not None:
            run.deadline.cancel()
        stopping = False
        for c in run.ctrs:
            c.cancel()
            if c.state == RUNNING:
                self._event(run, c, "Normal", "Killing", f"Stopping container {c.name}")
                stop, killed = self._pre_stop(run, c, pod, self._stop_seconds(pod, c))
                code = 137 if killed or _flag(pod, "ignore-sigterm", c.name) else (
                    0 if c.outcome is progs.RUNS_FOREVER else 143)
                c.step = STOPPING
                c.timer = self._at(run, stop, self._stopped, run, c, code)
                stopping = True
            else:
                c.step = IDLE
        if not stopping:
            self._stopped_all(run)
        self._changed(run)

    def _stopped(self, run: Run, c: Ctr, code: int) -> None:
        c.timer = None
        if c.state == RUNNING:
            c.state, c.exit_code = TERMINATED, code
            c.term_reason = "Completed" if code == 0 else "Error"
            c.finished_at = self.clock.now()
            c.ready = c.started = False
        c.step = IDLE
        if not any(x.step == STOPPING for x in run.ctrs):
            self._stopped_all(run)
        self._changed(run)

    def _stopped_all(self, run: Run) -> None:
        run.stage = DONE
        run.phase = "deleted"
        self._release_sandbox(run)

    def _add_ephemeral(self, run: Run, pod: Obj) -> bool:
        """Take on the ephemeral containers added to the pod since the kubelet last looked."""
        known = {c.name for c in run.ephemeral}
        added = False
        for i, c in enumerate(pod["spec"].get("ephemeralContainers") or ()):
            if c.get("name") not in known:
                run.ctrs.append(Ctr(c["name"], i, False, False, eph=True))
                added = True
        return added

    def _check_spec(self, run: Run, pod: Obj) -> None:
        """Ephemeral containers added are started; a container whose image changed is
        restarted with the new one."""
        if self._add_ephemeral(run, pod) and (run.ip or pod["spec"].get("hostNetwork")):
            self._advance(run)
        for c in run.ctrs:
            if c.state != RUNNING or c.step == STOPPING:
                continue
            spec = self._spec(pod, c)
            ref = parse_reference(spec.get("image") or "")
            if c.outcome is not None and ref is not None and c.image not in ("", ref.full):
                self._event(run, c, "Normal", "Killing",
                            f"Container {c.name} definition changed, will be restarted")
                c.backoff = 0.0
                self._kill(run, c, pod, 0 if c.outcome is progs.RUNS_FOREVER else 143)

    # ------------------------------------------------------------------ status

    def _phase(self, run: Run, pod: Obj) -> str:
        if run.phase and run.phase != "deleted":
            return run.phase
        terminal = run.stage == DONE
        policy = pod["spec"].get("restartPolicy", "Always")
        pending_init = failed_init = 0
        running = waiting = stopped = succeeded = 0
        for c in run.ctrs[:run.n_init]:
            if not c.sidecar:
                if c.state == RUNNING:
                    pending_init += 1
                elif c.state == TERMINATED:
                    failed_init += c.exit_code != 0
                elif c.last is not None:
                    failed_init += c.last[0] != 0
                else:
                    pending_init += 1
            elif c.state == RUNNING:
                pending_init += not c.started
                running += 1
            elif c.state == WAITING and c.last is None:
                pending_init += 1
                waiting += 1
        for c in run.main:
            if c.state == RUNNING:
                running += 1
            elif c.state == TERMINATED:
                stopped += 1
                succeeded += c.exit_code == 0
            elif c.last is not None:
                stopped += 1
            else:
                waiting += 1
        if failed_init and policy == "Never":
            return "Failed"
        if (pending_init and not any(c.runs for c in run.main)) or waiting:
            if terminal and run.phase == "deleted":
                return "Failed"
            return "Pending"
        if running:
            return "Running"
        if stopped:
            if terminal:
                return "Succeeded" if stopped == succeeded else "Failed"
            if policy == "Always":
                return "Running"
            if stopped == succeeded:
                return "Succeeded"
            return "Failed" if policy == "Never" else "Running"
        return "Pending"

    def _status(self, run: Run, pod: Obj) -> Obj:
        spec, old = pod["spec"], pod.get("status") or {}
        state = self.nodes.get(run.node)
        host_ip = state.host_ip if state is not None else ""
        phase = self._phase(run, pod)
        if old.get("phase") in ("Succeeded", "Failed"):
            phase = old["phase"]
        now = self._now()
        generation = pod["metadata"].get("generation")
        old_conditions = {c.get("type"): c for c in old.get("conditions") or ()}

        def condition(ctype: str, ok: bool, reason: str = "", message: str = "") -> Obj:
            prev = old_conditions.get(ctype)
            status = "True" if ok else "False"
            cond: Obj = {"type": ctype}
            if generation is not None:
                cond["observedGeneration"] = generation
            cond["status"] = status
            cond["lastProbeTime"] = None
            cond["lastTransitionTime"] = (prev.get("lastTransitionTime") if prev is not None
                                          and prev.get("status") == status else now)
            if reason:
                cond["reason"] = reason
            if message:
                cond["message"] = message
            return cond

        conditions = [c for c in old.get("conditions") or ()
                      if c.get("type") not in KUBELET_CONDITIONS]
        sandbox = run.stage in (INIT, MAIN) and bool(run.ip)
        conditions.append(condition("PodReadyToStartContainers", sandbox))
        incomplete = [c.name for c in run.ctrs[:run.n_init]
                      if not (c.sidecar and c.started) and not (
                          not c.sidecar and c.state == TERMINATED and c.exit_code == 0)]
        if run.stage != INIT and not any(c.sidecar for c in run.ctrs[:run.n_init]):
            incomplete = []
        if incomplete:
            conditions.append(condition("Initialized", False, "ContainersNotInitialized",
                                        f"containers with incomplete status: "
                                        f"[{' '.join(incomplete)}]"))
        else:
            conditions.append(condition("Initialized", True))
        unready = [c.name for c in run.ctrs[:run.n_init + run.n_main]
                   if (not c.init or c.sidecar) and not c.ready]
        gates = [g.get("conditionType") for g in spec.get("readinessGates") or ()]
        gate_problems = []
        for gate in gates:
            cond = old_conditions.get(gate)
            if cond is None:
                gate_problems.append(
                    f'corresponding condition of pod readiness gate "{gate}" does not exist.')
            elif cond.get("status") != "True":
                gate_problems.append(f'the status of pod readiness gate "{gate}" is not '
                                     f'"True", but {cond.get("status")}')
        if phase == "Succeeded":
            ready_cond = condition("Ready", False, "PodCompleted")
            containers_cond = condition("ContainersReady", False, "PodCompleted")
        elif unready:
            message = f"containers with unready status: [{' '.join(unready)}]"
            ready_cond = condition("Ready", False, "ContainersNotReady", message)
            containers_cond = condition("ContainersReady", False, "ContainersNotReady", message)
        elif gate_problems:
            ready_cond = condition("Ready", False, "ReadinessGatesNotReady",
                                   ", ".join(gate_problems))
            containers_cond = condition("ContainersReady", True)
        else:
            ready_cond = condition("Ready", True)
            containers_cond = condition("ContainersReady", True)
        conditions += [ready_cond, containers_cond]
        scheduled = old_conditions.get("PodScheduled")
        if scheduled is None or scheduled.get("status") != "True":
            scheduled = condition("PodScheduled", True)
        conditions.append(scheduled)

        status: Obj = {}
        if generation is not None:
            status["observedGeneration"] = generation
        status["phase"] = phase
        status["conditions"] = conditions
        if run.reason:
            status["reason"] = run.reason
            status["message"] = run.message
        status["hostIP"] = host_ip
        status["hostIPs"] = [{"ip": host_ip}]
        if run.ip:
            status["podIP"] = run.ip
            status["podIPs"] = [{"ip": run.ip}]
        status["startTime"] = old.get("startTime") or _stamp(run.start)
        if run.n_init:
            status["initContainerStatuses"] = [self._container_status(run, c, pod)
                                               for c in run.ctrs[:run.n_init]]
        status["containerStatuses"] = [self._container_status(run, c, pod) for c in run.main]
        if run.n_init + run.n_main < len(run.ctrs):
            status["ephemeralContainerStatuses"] = [self._container_status(run, c, pod)
                                                    for c in run.ephemeral]
        status["qosClass"] = old.get("qosClass") or "BestEffort"
        return status

    def _container_status(self, run: Run, c: Ctr, pod: Obj) -> Obj:
        spec = self._spec(pod, c)
        image = spec.get("image") or ""
        ref = parse_reference(image)
        if c.state == RUNNING:
            state: Obj = {"running": {"startedAt": _stamp(c.started_at)}}
        elif c.state == TERMINATED:
            state = {"terminated": self._terminated(c.exit_code, c.term_reason, c.started_at,
                                                    c.finished_at, _cid(run, c, c.runs - 1),
                                                    self._termination_message(run, c, pod))}
        else:
            waiting: Obj = {"reason": c.reason}
            if c.message:
                waiting["message"] = c.message
            state = {"waiting": waiting}
        last: Obj = {}
        if c.last is not None:
            code, reason, started, finished, attempt, _note, message = c.last
            last = {"terminated": self._terminated(code, reason, started, finished,
                                                   _cid(run, c, attempt), message)}
        ran = c.runs > 0 and ref is not None
        status: Obj = {"name": c.name, "state": state, "lastState": last, "ready": c.ready,
                       "restartCount": max(0, c.runs - 1),
                       "image": ref.full if ran and ref is not None else image,
                       "imageID": ref.image_id if ran and ref is not None else ""}
        if c.runs:
            status["containerID"] = "containerd://" + _cid(run, c, c.runs - 1)
        status["started"] = c.state == RUNNING and c.started
        return status

    @staticmethod
    def _terminated(code: int, reason: str, started: float, finished: float, cid: str,
                    message: str = "") -> Obj:
        out: Obj = {"exitCode": code, "reason": reason}
        if message:
            out["message"] = message
        out["startedAt"] = _stamp(started)
        out["finishedAt"] = _stamp(finished)
        if cid:
            out["containerID"] = "containerd://" + cid
        return out

    # ------------------------------------------------------------------ environment

    def _program_lines(self, run: Run, c: Ctr, pod: Obj, spec: Obj, started: float,
                       finished: float, limit: int = 100_000) -> list[tuple[float, str]]:
        """The lines a run of the container that started at ``started`` wrote by ``finished``
        (at most the last ``limit``), each with its offset from the start."""
        env = self._env_or_none(pod, spec, run)
        return progs.log_lines(self._program(pod, spec, env),
                               self._context(pod, spec, env, started, c), finished - started,
                               limit=limit)

    def _env_or_none(self, pod: Obj, spec: Obj, run: Run) -> list[tuple[str, str]]:
        """The container's environment, or none when a reference in it cannot be resolved
        (what reads a program after the fact: logs, exec, probes, termination messages)."""
        try:
            return self._env(pod, spec, run)
        except _ConfigError:
            return []

    def _env(self, pod: Obj, spec: Obj, run: Run) -> list[tuple[str, str]]:
        """The container's environment, as the kubelet builds it (``envFrom`` then ``env``,
        with ``$(VAR)`` references to earlier variables)."""
        meta = pod["metadata"]
        ns = meta["namespace"]
        hostname = pod["spec"].get("hostname") or meta["name"][:63]
        values: dict[str, str] = {}
        for source in spec.get("envFrom") or ():
            prefix = source.get("prefix") or ""
            for kind in ("configMapRef", "secretRef"):
                ref = source.get(kind)
                if not ref:
                    continue
                data = self._config_data(kind, ns, ref.get("name", ""), bool(ref.get("optional")))
                for k, v in (data or {}).items():
                    name = prefix + k
                    if re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", name):
                        values[name] = v
        service_env = self._service_env(ns) if pod["spec"].get("enableServiceLinks", True) else {}
        for var in spec.get("env") or ():
            name = var.get("name", "")
            if "valueFrom" not in var:
                values[name] = _expand(str(var.get("value") or ""),
                                       {**service_env, **values} if service_env else values)
                continue
            source = var["valueFrom"] or {}
            value = self._value_from(pod, spec, run, source)
            if value is not None:
                values[name] = value
        head = [*DEFAULT_ENV_HEAD, ("HOSTNAME", hostname)]
        tail = [(k, v) for k, v in (*service_env.items(), *DEFAULT_ENV_TAIL) if k not in values]
        return [(k, v) for k, v in head if k not in values] + list(values.items()) + tail

    def _service_env(self, namespace: str) -> dict[str, str]:
        """The variables the kubelet gives a container for each Service of its namespace that
        has a cluster IP (``enableServiceLinks``, the default): ``WEB_SERVICE_HOST``,
        ``WEB_SERVICE_PORT[_<NAME>]`` and the Docker-link ``WEB_PORT_80_TCP...`` ones. The
        ``kubernetes`` Service's are always there (``DEFAULT_ENV_TAIL``)."""
        env: dict[str, str] = {}
        for svc in sorted(self.services.by_index(BY_NAMESPACE, namespace),
                          key=lambda s: s["metadata"]["name"]):
            name = svc["metadata"]["name"]
            spec = svc.get("spec") or {}
            ip, ports = spec.get("clusterIP"), spec.get("ports") or ()
            if not ip or ip == "None" or not ports or (namespace, name) == ("default",
                                                                          "kubernetes"):
                continue
            prefix = name.upper().replace("-", "_")
            env[f"{prefix}_SERVICE_HOST"] = ip
            env[f"{prefix}_SERVICE_PORT"] = str(ports[0].get("port"))
            for p in ports:
                if p.get("name"):
                    env[f"{prefix}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}"] = str(
                        p.get("port"))
            for i, p in enumerate(ports):
                proto = str(p.get("protocol") or "TCP")
                url = f"{proto.lower()}://{ip}:{p.get('port')}"
                if i == 0:
                    env[f"{prefix}_PORT"] = url
                port_prefix = f"{prefix}_PORT_{p.get('port')}_{proto.upper()}"
                env[port_prefix] = url
                env[f"{port_prefix}_PROTO"] = proto.lower()
                env[f"{port_prefix}_PORT"] = str(p.get("port"))
                env[f"{port_prefix}_ADDR"] = ip
        return env

    def _config_data(self, kind: str, ns: str, name: str,
                     optional: bool) -> dict[str, str] | None:
        secret = kind.startswith("secret")
        informer = self.secrets if secret else self.configmaps
        obj = informer.get(name, ns)
        if obj is None:
            if optional:
                return None
            what = "secret" if secret else "configmap"
            raise _ConfigError(f'{what} "{name}" not found',
                               ("Secret" if secret else "ConfigMap", ns, name))
        data: dict[str, str] = {}
        if secret:
            for k, v in (obj.get("data") or {}).items():
                try:
                    data[k] = base64.b64decode(v).decode("utf-8", "replace")
                except (ValueError, TypeError):
                    data[k] = ""
            data.update(obj.get("stringData") or {})
        else:
            data.update(obj.get("data") or {})
        return data

    def _value_from(self, pod: Obj, spec: Obj, run: Run, source: Obj) -> str | None:
        meta = pod["metadata"]
        ns = meta["namespace"]
        if "fieldRef" in source:
            path = (source["fieldRef"] or {}).get("fieldPath", "")
            state = self.nodes.get(run.node)
            host_ip = state.host_ip if state is not None else ""
            simple = {
                "metadata.name": meta["name"], "metadata.namespace": ns,
                "metadata.uid": meta.get("uid", ""), "spec.nodeName": run.node,
                "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
                "status.hostIP": host_ip, "status.hostIPs": host_ip,
                "status.podIP": run.ip, "status.podIPs": run.ip,
            }
            if path in simple:
                return simple[path]
            m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
            if m:
                return (meta.get(m.group(1)) or {}).get(m.group(2), "")
            return ""
        if "resourceFieldRef" in source:
            resource = (source["resourceFieldRef"] or {}).get("resource", "")
            kind, _, what = resource.partition(".")
            value = ((spec.get("resources") or {}).get(kind) or {}).get(what)
            if value is None:
                value = {"cpu": "4", "memory": "17179869184"}.get(what, "0")
            return str(value)
        for kind in ("configMapKeyRef", "secretKeyRef"):
            ref = source.get(kind)
            if not ref:
                continue
            optional = bool(ref.get("optional"))
            data = self._config_data(kind, ns, ref.get("name", ""), optional)
            if data is None:
                return None
            key = ref.get("key", "")
            if key not in data:
                if optional:
                    return None
                what = "Secret" if kind == "secretKeyRef" else "ConfigMap"
                raise _ConfigError(f"couldn't find key {key} in {what} {ns}/{ref.get('name')}",
                                   (what, ns, ref.get("name", "")))
            return data[key]
        return None

    def _program(self, pod: Obj, spec: Obj, env: list[tuple[str, str]]) -> progs.Program:
        values = dict(env)
        argv = tuple(_expand(str(a), values) for a in (
            *(spec.get("command") or ()), *(spec.get("args") or ())))
        ref = parse_reference(spec.get("image") or "")
        image = self.registry.lookup(ref) if ref is not None else None
        return progs.program_for(argv, image, ref.tag if ref is not None else "latest",
                                 bool(spec.get("stdin")))

    # ------------------------------------------------------------------ files and volumes

    def _mounts(self, run: Run, pod: Obj, spec: Obj) -> list[tuple[str, Any, str, bool]]:
        """The container's volume mounts, longest path first: (mount path, where the files
        live, the subPath mounted, read-only). Where they live is a key of ``volume_data`` for
        volumes that keep what is written (emptyDir for the pod's life, a claim's volume and a
        host path beyond it), or the files themselves for a configMap or secret."""
        out: list[tuple[str, Any, str, bool]] = []
        if not spec.get("volumeMounts"):
            return out
        volumes = {v.get("name"): v for v in pod["spec"].get("volumes") or ()}
        for m in spec["volumeMounts"]:
            vol = volumes.get(m.get("name"))
            path = str(m.get("mountPath") or "").rstrip("/")
            if vol is None or not path:
                continue
            sub = str(m.get("subPath") or "").strip("/")
            where: Any = None
            if "emptyDir" in vol:
                where = ("emptyDir", run.uid, vol["name"])
            elif "persistentVolumeClaim" in vol or "ephemeral" in vol:
                claim = ((vol.get("persistentVolumeClaim") or {}).get("claimName")
                         or f"{pod['metadata']['name']}-{vol['name']}")
                where = self._claim_storage(pod["metadata"]["namespace"], claim)
            elif "hostPath" in vol:
                where = ("hostPath", run.node,
                         str((vol["hostPath"] or {}).get("path") or "").rstrip("/"))
            elif "configMap" in vol or "secret" in vol:
                kind = "configMap" if "configMap" in vol else "secret"
                source = vol[kind] or {}
                name = source.get("name") if kind == "configMap" else source.get("secretName")
                try:
                    data = self._config_data(kind, pod["metadata"]["namespace"], str(name),
                                             optional=True) or {}
                except _ConfigError:
                    data = {}
                items = source.get("items")
                if items:
                    data = {str(i.get("path")): data[i.get("key")] for i in items
                            if i.get("key") in data}
                where = data
            if where is not None:
                out.append((path, where, sub, bool(m.get("readOnly")) or isinstance(where, dict)))
        out.sort(key=lambda x: -len(x[0]))
        return out

    def _claim_storage(self, namespace: str, claim: str) -> tuple[str, ...]:
        """Where a claim's files live: its bound volume (they outlive the pod and the claim
        itself, as on a disk), or the claim while it is unbound."""
        try:
            pvc = self.client.get(PVCS, claim, namespace)
        except errors.NotFound:
            return ("claim", namespace, claim, "")
        volume = (pvc.get("spec") or {}).get("volumeName")
        if volume:
            return ("pv", volume)
        return ("claim", namespace, claim, pvc["metadata"].get("uid", ""))

    def _volume_files(self, mounts: list[tuple[str, Any, str, bool]]
                      ) -> dict[str, str | None]:
        files: dict[str, str | None] = {}
        for path, where, sub, _ro in reversed(mounts):  # the deepest mount wins
            if isinstance(where, dict):  # a configMap or secret: files named by its keys
                if not sub:
                    files.update((f"{path}/{k}", v) for k, v in where.items())
                elif sub in where:
                    files[path] = where[sub]  # one key mounted as a file
                continue
            data = self.volume_data.get(where, {})
            prefix = sub + "/" if sub else ""
            for rel, content in data.items():
                if rel.startswith(prefix):
                    files[f"{path}/{rel[len(prefix):]}"] = content
        return files

    def _volume_seed(self, run: Run, pod: Obj, spec: Obj) -> tuple[tuple[str, str], ...]:
        """The files a starting container finds in its volumes."""
        files = self._volume_files(self._mounts(run, pod, spec))
        return tuple(sorted((p, v) for p, v in files.items() if v is not None))

    def _files(self, run: Run, c: Ctr, pod: Obj, spec: Obj, at: float
               ) -> dict[str, str | None]:
        """The container's files ``at`` seconds into its run: its volumes as they are now,
        what its program wrote by then, what ``kubectl exec`` wrote since it started."""
        files = self._volume_files(self._mounts(run, pod, spec))
        if c.outcome is not None and c.outcome.files:
            files.update(progs.files_at(c.outcome.files, at))
        if c.fs:
            files.update(c.fs)
        return files

    def _write_files(self, run: Run, c: Ctr, pod: Obj, spec: Obj,
                     written: Mapping[str, str | None]) -> None:
        """Keep what a command wrote: in the volume mounted there (shared with every container
        that mounts it, and kept as long as the volume is), else in the container's own
        filesystem. A read-only mount keeps nothing."""
        mounts = self._mounts(run, pod, spec)
        for path, content in written.items():
            mount = next((m for m in mounts if path == m[0] or path.startswith(m[0] + "/")),
                         None)
            if mount is not None:
                if mount[3]:
                    continue
                rel = path[len(mount[0]):].lstrip("/")
                if rel:
                    if mount[2]:
                        rel = f"{mount[2]}/{rel}"
                    self.volume_data.setdefault(mount[1], {})[rel] = content
            if c.fs is None:
                c.fs = {}
            c.fs[path] = content

    def _context(self, pod: Obj, spec: Obj, env: list[tuple[str, str]],
                 start: float, c: Ctr | None = None) -> progs.Context:
        """What the run of ``c`` that started at ``start`` saw when it started."""
        hostname = pod["spec"].get("hostname") or pod["metadata"]["name"][:63]
        seed = (c.seeds or {}).get(start, ()) if c is not None else ()
        return progs.Context(tuple(env), hostname, start, bool(spec.get("stdin")), seed)

    # ------------------------------------------------------------------ logs

    def _container_run(self, pod: Obj, container: str) -> tuple[Run | None, Ctr | None]:
        """This kubelet's run of ``pod`` (this very pod: same uid) and its ``container``."""
        meta = pod["metadata"]
        run = self.runs.get((meta.get("namespace", ""), meta["name"]))
        if run is None or run.uid != meta.get("uid"):
            return None, None
        return run, next((x for x in run.ctrs if x.name == container), None)

    def _streaming_to(self, pod: Obj, container: str) -> tuple[Run, Ctr]:
        """The running container an exec or attach reaches, as the kubelet's streaming server
        finds it (an unreachable node cannot be dialled)."""
        node = (pod.get("spec") or {}).get("nodeName")
        state = self.nodes.get(node) if node else None
        if state is not None and not state.reachable:
            raise errors.InternalError(
                f'error dialing backend: dial tcp {state.host_ip}:10250: connect: no route to '
                "host")
        run, c = self._container_run(pod, container)
        if state is None or c is None or run is None or c.state != RUNNING:
            raise errors.BadRequest(
                f'unable to upgrade connection: container not found ("{container}")')
        return run, c

    def http(self, pod: Obj, port: str, path: str) -> web.Answer | str:
        """A GET of ``path`` on the pod's ``port`` (a number, or the name of a container
        port; 80 when empty), answered by the server of the container that listens there
        (:mod:`kubenb.sim.web`); a string says why nothing answered (a dial error)."""
        meta = pod["metadata"]
        run, _ = self._container_run(pod, "")
        state = self.nodes.get(run.node) if run is not None else None
        if run is None or not run.ip or state is None:
            return f"dial tcp: address {port or 80}: missing address"
        number, container = self._listener(pod, port or "80")
        where = f"{run.ip}:{number if number is not None else port}"
        if not state.reachable:
            return f"dial tcp {where}: connect: no route to host"
        c = next((x for x in run.main if x.name == container), None) if container else None
        candidates = [c] if c is not None else [
            x for x in run.main if number is not None and x.state == RUNNING]
        for c in candidates:
            if c.state != RUNNING or number is None:
                continue
            spec = self._spec(pod, c)
            ref = parse_reference(spec.get("image") or "")
            if ref is None:
                continue
            declared = any(p.get("containerPort") == number for p in spec.get("ports") or ())
            argv = [str(a) for a in (*(spec.get("command") or ()), *(spec.get("args") or ()))]
            reply = web.answer(ref.repository, ref.tag, pod=meta["name"], ip=run.ip,
                               port=number, declared=declared, path=path or "/",
                               files=self._files(run, c, pod, spec,
                                                 self.clock.now() - c.started_at), args=argv)
            if reply is not None:
                return reply
        return f"dial tcp {where}: connect: connection refused"

    def _network(self, pod: Obj) -> Callable[[str, int, str], Any]:
        """What ``curl`` and ``wget`` in ``pod`` reach: ``localhost``, pod IPs, Services by
        name (``web``, ``web.ns``, ``web.ns.svc.cluster.local``) or cluster IP through their
        ready endpoints (kube-proxy's job), and a StatefulSet's ``web-0.nginx``. Answers
        (status, body), a dial error, or None for a name nothing resolves."""
        def fetch(host: str, port: int, path: str) -> Any:
            target = self._resolve(pod, host.lower(), port)
            if target is None or isinstance(target, str):
                return target
            reply = self.http(target[0], str(target[1]), path)
            return reply if isinstance(reply, str) else (reply.status, reply.body)
        return fetch

    def _resolve(self, pod: Obj, host: str, port: int) -> tuple[Obj, int] | str | None:
        meta, spec = pod["metadata"], pod["spec"]
        ns = meta["namespace"]
        if host in ("localhost", "127.0.0.1", "::1", meta["name"], spec.get("hostname")):
            return pod, port
        for name in (host, host.removesuffix(".cluster.local").removesuffix(".svc")):
            labels = name.split(".")
            if len(labels) in (2, 3):  # hostname.subdomain[.namespace]: a pod's own record
                other = self.pods.get(labels[0], labels[2] if len(labels) == 3 else ns)
                if other is not None and other["spec"].get("subdomain") == labels[1]:
                    return other, port
            if len(labels) <= 2:
                svc = self.services.get(labels[0], labels[1] if len(labels) == 2 else ns)
                if svc is not None:
                    return self._through(svc, port)
        for other in self.pods.list():
            if (other.get("status") or {}).get("podIP") == host:
                return other, port
        for svc in self.services.list():
            if (svc.get("spec") or {}).get("clusterIP") == host:
                return self._through(svc, port)
        return None

    def _through(self, svc: Obj, port: int) -> tuple[Obj, int] | str:
        """One ready endpoint of ``svc`` for its ``port``, in turn (a headless Service's
        name is its pods' addresses: the port is the pod's own)."""
        meta, spec = svc["metadata"], svc.get("spec") or {}
        headless = spec.get("clusterIP") == "None"
        refused = f"dial tcp {spec.get('clusterIP')}:{port}: connect: connection refused"
        wanted = None if headless else services.port_name(svc, port)
        if not headless and wanted is None:
            return refused
        try:
            endpoints = self.client.get(ENDPOINTS, meta["name"], meta["namespace"])
        except errors.NotFound:
            return refused
        choices = services.backends(endpoints, wanted)
        if not choices:
            return refused
        self._turn += 1
        pod_name, target = choices[self._turn % len(choices)]
        backend = self.pods.get(pod_name, meta["namespace"])
        if backend is None:
            return refused
        return backend, port if headless else target

    @staticmethod
    def _listener(pod: Obj, port: str) -> tuple[int | None, str]:
        """The port number and the container a proxied ``port`` names (a number or a
        container port's name); the container is empty when the number is not declared."""
        for c in pod["spec"].get("containers") or ():
            for p in c.get("ports") or ():
                if p.get("name") == port or str(p.get("containerPort")) == port:
                    return int(p["containerPort"]), c["name"]
        return (int(port), "") if port.isdigit() else (None, "")

    def exec(self, pod: Obj, container: str, argv: list[str]) -> tuple[int, str]:
        """``pods/exec`` in a simulated container: ``argv`` runs in the simulated shell against
        the files the container's program has written by now, with its environment (``env``,
        ``cat /tmp/healthy``, ``sh -c 'echo $HOSTNAME'``). A command the shell does not know
        succeeds with no output. Returns (exit code, output)."""
        run, c = self._streaming_to(pod, container)
        spec = self._spec(pod, c)
        env = self._env_or_none(pod, spec, run)
        ctx = dataclasses.replace(self._context(pod, spec, env, c.started_at, c),
                                  http=self._network(pod))
        files = self._files(run, c, pod, spec, self.clock.now() - c.started_at)
        code, output, written = progs.run_command([str(a) for a in argv], ctx, files)
        if written:
            self._write_files(run, c, pod, spec, written)
            self.kick_probes(run, c)  # what an exec probe finds may have changed
        return code, output + "\n" if output else ""

    def logs(self, pod: Obj, container: str, params: Mapping[str, str]) -> str:
        """``pods/log`` for a simulated container (the apiserver checked the name)."""
        return self._log_text(pod, container, params)[0]

    def follow(self, pod: Obj, container: str, params: Mapping[str, str]) -> LogFollow:
        """``pods/log?follow=true``: the log so far, then what the container writes until
        it ends (or restarts, or its pod goes)."""
        text, upto = self._log_text(pod, container, params)
        run, c = self._container_run(pod, container)
        if run is None or c is None or c.state != RUNNING or _param(params, "previous"):
            return LogFollow(self, text)
        return LogFollow(self, text, run, c, upto, _param(params, "timestamps"))

    def attach(self, pod: Obj, container: str) -> LogFollow:
        """``pods/attach``: what the container writes from now on, until it exits. A container
        started for an attach (``stdinOnce``, as ``kubectl run -i`` makes it) is followed from
        its start, so nothing it wrote before the client got there is lost."""
        run, c = self._streaming_to(pod, container)
        if self._spec(pod, c).get("stdinOnce"):
            return LogFollow(self, "", run, c, c.started_at - 1e-3)  # its first line included
        return LogFollow(self, "", run, c, self.clock.now())

    def _log_text(self, pod: Obj, container: str, params: Mapping[str, str]
                  ) -> tuple[str, float]:
        """The log ``params`` ask for, and the cluster time it runs to."""
        meta = pod["metadata"]
        name = meta["name"]
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or node not in self.nodes:
            return "", self.clock.now()  # not on a simulated node: nothing to ask
        state = self.nodes[node]
        if not state.reachable:
            raise errors.InternalError(
                f'Get "https://{state.host_ip}:10250/containerLogs/{meta.get("namespace")}/'
                f'{name}/{container}": dial tcp {state.host_ip}:10250: connect: no route to '
                "host")
        run, c = self._container_run(pod, container)
        if c is None or run is None:
            raise errors.BadRequest(
                f'container "{container}" in pod "{name}" is waiting to start: '
                "ContainerCreating")
        previous = _param(params, "previous")
        now = self.clock.now()
        if previous:
            if c.last is None:
                raise errors.BadRequest(
                    f'previous terminated container "{container}" in pod "{name}" not found')
            _code, _reason, started, finished, _cid, note, _message = c.last
        elif c.state == RUNNING:
            started, finished, note = c.started_at, now, ""
        elif c.state == TERMINATED:
            started, finished, note = c.started_at, c.finished_at, c.note
        elif c.last is not None:
            _code, _reason, started, finished, _cid, note, _message = c.last
        else:
            reason = {"ErrImagePull": "image can't be pulled",
                      "ImagePullBackOff": "trying and failing to pull image"}.get(c.reason,
                                                                                  c.reason)
            raise errors.BadRequest(
                f'container "{container}" in pod "{name}" is waiting to start: {reason}')
        lines = [(started + t, text) for t, text in self._program_lines(
            run, c, pod, self._spec(pod, c), started, finished)]
        if note:
            lines.append((finished, note))
        return _format_logs(lines, params, now), finished


class LogFollow:
    """An open ``kubectl logs -f`` of one run of a container: ``poll`` gives what it wrote
    since the last poll, and whether the stream is over (the run ended, the container restarted
    or the pod went away), as the kubelet's follow ends when the container exits."""

    def __init__(self, kubelets: Kubelets, first: str, run: Run | None = None,
                 c: Ctr | None = None, upto: float = 0.0, stamps: bool = False) -> None:
        self._kubelets = kubelets
        self._first: str | None = first
        self._run = run
        self._c = c
        self._started = c.started_at if c is not None else 0.0
        self._upto = upto
        self._stamps = {"timestamps": "true"} if stamps else {}

    def poll(self) -> tuple[str, bool]:
        first, self._first = self._first, None
        text, done = self._more()
        return (first or "") + text, done

    def _more(self) -> tuple[str, bool]:
        run, c, k = self._run, self._c, self._kubelets
        if run is None or c is None:
            return "", True
        pod = k._pod(run)
        if k.runs.get(run.key) is not run or pod is None:
            self._run = None
            return "", True
        if c.started_at == self._started:
            ended = c.state != RUNNING
            until, note = (c.finished_at, c.note) if ended else (k.clock.now(), "")
        elif c.last is not None and c.last[2] == self._started:
            ended, until, note = True, c.last[3], c.last[5]  # restarted since: finish that run
        else:
            self._run = None
            return "", True
        lines = [(self._started + t, line) for t, line in k._program_lines(
            run, c, pod, k._spec(pod, c), self._started, until)
            if self._started + t > self._upto + 1e-9]
        if ended and note:
            lines.append((until, note))
        self._upto = until
        if ended:
            self._run = None
        return _format_logs(lines, self._stamps, until), ended


def _param(params: Mapping[str, str], key: str) -> bool:
    """A boolean query parameter of ``pods/log`` (``true`` or ``1``)."""
    return str(params.get(key, "")).lower() in ("true", "1")


def _format_logs(lines: list[tuple[float, str]], params: Mapping[str, str], now: float) -> str:
    """Apply ``sinceSeconds``/``sinceTime``, ``tailLines``, ``timestamps``, ``limitBytes``."""
    since = params.get("sinceSeconds")
    if since:
        with contextlib.suppress(ValueError):
            cutoff = now - float(since)
            lines = [x for x in lines if x[0] >= cutoff]
    since_time = params.get("sinceTime")
    if since_time:
        with contextlib.suppress(ValueError):
            cutoff = datetime.datetime.fromisoformat(since_time.replace("Z", "+00:00")).timestamp()
            lines = [x for x in lines if x[0] >= cutoff]
    tail = params.get("tailLines")
    if tail not in (None, ""):
        with contextlib.suppress(ValueError):
            n = int(str(tail))
            if n >= 0:
                lines = lines[-n:] if n else []
    stamps = _param(params, "timestamps")
    out: list[str] = []
    for t, text in lines:
        if stamps:
            whole = math.floor(t)
            nanos = round((t - whole) * 1e9)
            if nanos >= 1_000_000_000:
                whole, nanos = whole + 1, nanos - 1_000_000_000
            out.append(f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(whole))}."
                       f"{nanos:09d}Z {text}\n")
        else:
            out.append(text + "\n")
    text = "".join(out)
    limit = params.get("limitBytes")
    if limit:
        with contextlib.suppress(ValueError):
            n = int(str(limit))
            if n >= 0:
                text = text.encode()[:n].decode("utf-8", "ignore")
    return text

