"""The DaemonSet controller: one pod per eligible node (``pkg/controller/daemon`` in Kubernetes).

Each reconcile decides, node by node, whether the daemon should run there: the template's
``nodeName``, ``nodeSelector`` and required node affinity must fit the node, and every
NoSchedule/NoExecute taint must be tolerated (a pod already there may stay while only NoSchedule
taints are not tolerated). Daemon pods get the tolerations upstream adds (not-ready and
unreachable NoExecute; disk, memory and PID pressure, unschedulable NoSchedule; network-unavailable
for host-network pods) and are created unbound with a required node affinity
``matchFields metadata.name In [<node>]``: the scheduler binds them, as upstream.

The template history lives in ControllerRevisions named ``<set>-<hash>``; pods carry the hash in
``controller-revision-hash``. RollingUpdate replaces old pods node by node within
``maxUnavailable`` (delete first) or ``maxSurge`` (new pod first, old one deleted once the new one
is available); OnDelete waits for the user to delete pods. Status carries the desired, current,
ready, available, unavailable, updated and misscheduled counts that ``kubectl rollout status``
reads.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping
from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import CONTROLLERREVISIONS, DAEMONSETS, NODES, PODS
from kubenb.client.client import PatchType, deepcopy
from kubenb.controllers.history import (
    ORPHANS,
    REVISION_HASH_LABEL,
    claim,
    equal_data,
    max_revision,
    new_revision,
    orphan_namespace,
    revision_name,
    sort_revisions,
    template_hash,
    template_patch,
    update_revision_number,
)
from kubenb.controllers.podutil import (
    controller_ref,
    is_pod_available,
    is_pod_ready,
    parse_time,
    pod_from_template,
    pod_ready_since,
    selecting,
    selector,
)
from kubenb.runtime.controller import Controller, Request, Result, enqueue_owner, enqueue_self
from kubenb.runtime.informer import BY_CONTROLLER, Handler, by_controller_owner
from kubenb.runtime.manager import Manager

__all__ = ["DaemonSetController", "default_tolerations", "node_fits", "tolerates"]

Obj = dict[str, Any]

#: creates or deletes per reconcile (the DaemonSet controller's burstReplicas)
BURST_REPLICAS = 250
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
#: failed daemon pods are replaced after an exponential back-off per node (1s doubling to 15min)
FAILED_BACKOFF_INITIAL = 1.0
FAILED_BACKOFF_MAX = 900.0

_DEFAULT_TOLERATIONS: tuple[tuple[str, str], ...] = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
_NETWORK_UNAVAILABLE = ("node.kubernetes.io/network-unavailable", "NoSchedule")


# ------------------------------------------------------------------------- scheduling predicates

def default_tolerations(spec: Obj) -> None:
    """Add the tolerations every daemon pod has (``AddOrUpdateDaemonPodTolerations``): an equal
    toleration (key, operator, value, effect) the user wrote is replaced by the infinite one."""
    wanted = list(_DEFAULT_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append(_NETWORK_UNAVAILABLE)
    tolerations: list[Obj] = list(spec.get("tolerations") or ())
    for key, effect in wanted:
        new = {"key": key, "operator": "Exists", "effect": effect}
        for i, tol in enumerate(tolerations):
            if (tol.get("key", ""), tol.get("operator", ""), tol.get("value", ""),
                    tol.get("effect", "")) == (key, "Exists", "", effect):
                tolerations[i] = new
                break
        else:
            tolerations.append(new)
    spec["tolerations"] = tolerations


def tolerates(tolerations: Iterable[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    """Whether any toleration tolerates ``taint`` (``Toleration.ToleratesTaint``)."""
    for tol in tolerations:
        effect = tol.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        key = tol.get("key") or ""
        if key and key != taint.get("key"):
            continue
        operator = tol.get("operator") or "Equal"
        if operator == "Exists" or (
                operator == "Equal" and (tol.get("value") or "") == (taint.get("value") or "")):
            return True
    return False


def _requirement(req: Mapping[str, Any], value: str | None) -> bool:
    op = req.get("operator")
    values = req.get("values") or ()
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt"):
        if value is None or len(values) != 1:
            return False
        try:
            have, want = int(value), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def _term_matches(term: Mapping[str, Any], labels: Mapping[str, str], name: str) -> bool:
    exprs = term.get("matchExpressions") or ()
    fields = term.get("matchFields") or ()
    if not exprs and not fields:
        return False  # an empty term matches no node
    for req in exprs:
        if not _requirement(req, labels.get(req.get("key", ""))):
            return False
    for req in fields:
        if req.get("key") != "metadata.name" or not _requirement(req, name):
            return False
    return True


def node_fits(spec: Mapping[str, Any], node: Obj) -> bool:
    """``nodeSelector`` and required node affinity of a pod spec against a node."""
    labels = node["metadata"].get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is not None:
        name = node["metadata"]["name"]
        terms = required.get("nodeSelectorTerms") or ()
        if not any(_term_matches(t, labels, name) for t in terms):
            return False
    return True


def _untolerated(taints: Iterable[Mapping[str, Any]], tolerations: list[Obj],
                 effects: tuple[str, ...]) -> bool:
    return any(t.get("effect") in effects and not tolerates(tolerations, t) for t in taints)


def should_run(template_spec: Obj, node: Obj) -> tuple[bool, bool]:
    """``NodeShouldRunDaemonPod``: (should a pod be created here, may an existing one stay).
    ``template_spec`` already carries the default tolerations."""
    name = template_spec.get("nodeName")
    if name and name != node["metadata"]["name"]:
        return False, False
    if not node_fits(template_spec, node):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or ()
    tolerations = template_spec.get("tolerations") or []
    if _untolerated(taints, tolerations, ("NoSchedule", "NoExecute")):
        return False, not _untolerated(taints, tolerations, ("NoExecute",))
    return True, True


def target_node(pod: Obj) -> str | None:
    """The node a daemon pod is for: its nodeName, or its ``metadata.name`` node affinity
    (``GetTargetNodeName``)."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution")) or {}
    for term in required.get("nodeSelectorTerms") or ():
        for req in term.get("matchFields") or ():
            if req.get("key") == "metadata.name" and req.get("operator") == "In" and len(
                    req.get("values") or ()) == 1:
                return req["values"][0]
    return None


def _node_affinity(spec: Obj, node: str) -> None:
    """Pin a pod to ``node`` (``ReplaceDaemonSetPodNodeNameNodeAffinity``): the required node
    selector becomes one term, ``metadata.name In [node]`` (the node already fits the rest)."""
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
    affinity = spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [term]}


def _scaled(value: Any, total: int, *, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``."""
    if value is None:
        return 0
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            try:
                pct = int(text[:-1])
            except ValueError:
                return 0
            exact = pct * total / 100
            return math.ceil(exact) if round_up else math.floor(exact)
        try:
            return int(text)
        except ValueError:
            return 0
    return int(value)


def _by_creation(pods: list[Obj]) -> list[Obj]:
    """Scheduled first, then oldest first, then by name (``podByCreationTimestampAndPhase``)."""
    return sorted(pods, key=lambda p: (
        0 if (p.get("spec") or {}).get("nodeName") else 1,
        parse_time(p["metadata"].get("creationTimestamp")) or 0.0, p["metadata"]["name"]))


def _phase(pod: Obj) -> str:
    return (pod.get("status") or {}).get("phase") or ""


# ------------------------------------------------------------------------------- controller

class DaemonSetController(Controller):
    name = "daemonset-controller"
    primary = DAEMONSETS
    kind = "DaemonSet"

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kube-controller-manager")
        self.clock = mgr.clock
        self.events = mgr.recorder(self.name)
        self.sets = mgr.informer(DAEMONSETS)
        self.pods = mgr.informer(PODS)
        self.nodes = mgr.informer(NODES)
        self.revisions = mgr.informer(CONTROLLERREVISIONS)
        for inf in (self.pods, self.revisions):
            inf.add_index(BY_CONTROLLER, by_controller_owner)
            inf.add_index(ORPHANS, orphan_namespace)
        self.sets.add_handler(enqueue_self(self))
        self.pods.add_handler(enqueue_owner(self, self.kind, also=self._orphan))
        self.revisions.add_handler(enqueue_owner(self, self.kind, also=self._orphan))
        self.nodes.add_handler(Handler(on_add=self._all, on_update=self._node_changed,
                                       on_delete=self._all))
        #: (ds uid, node) -> (delay, not before): back-off for replacing failed daemon pods
        self._backoff: dict[tuple[str, str], tuple[float, float]] = {}
        #: ds uid -> (template spec, the spec with the default tolerations,
        #: {node name: (labels, taints, (run, stay))})
        self._fits: dict[str, tuple[Obj, Obj, dict[str, tuple[Any, Any, tuple[bool, bool]]]]] = {}

    # -- event handlers
    def _orphan(self, obj: Obj) -> None:
        if controller_ref(obj) is not None or obj["metadata"].get("deletionTimestamp"):
            return
        for ds in selecting(self.sets.list(obj["metadata"].get("namespace", "")), obj):
            self.enqueue(ds)

    def _all(self, _node: Obj) -> None:
        for ds in self.sets:
            self.enqueue(ds)

    def _node_changed(self, old: Obj, new: Obj) -> None:
        """Heartbeats change only condition times: those cannot change where daemons run."""
        om, nm = old["metadata"], new["metadata"]
        if om.get("labels") != nm.get("labels") or old.get("spec") != new.get("spec") or [
                (c.get("type"), c.get("status")) for c in (old.get("status") or {}).get(
                    "conditions") or ()] != [(c.get("type"), c.get("status")) for c in (
                        new.get("status") or {}).get("conditions") or ()]:
            self._all(new)

    # -- eligibility (memoised per node while its labels and taints stay the same)
    def _prepare_fits(self, ds: Obj) -> None:
        """Start a fresh eligibility memo when the DaemonSet's pod spec changed."""
        uid = ds["metadata"]["uid"]
        spec = (ds["spec"].get("template") or {}).get("spec") or {}
        cached = self._fits.get(uid)
        if cached is None or cached[0] != spec:
            probe = deepcopy(spec)
            default_tolerations(probe)
            self._fits[uid] = (deepcopy(spec), probe, {})

    def _should_run(self, ds: Obj, node: Obj) -> tuple[bool, bool]:
        _, probe, memo = self._fits[ds["metadata"]["uid"]]
        name = node["metadata"]["name"]
        labels = node["metadata"].get("labels")
        taints = (node.get("spec") or {}).get("taints")
        hit = memo.get(name)
        if hit is not None and hit[0] == labels and hit[1] == taints:
            return hit[2]
        result = should_run(probe, node)
        memo[name] = (labels, taints, result)
        return result

    # -- reconcile
    def reconcile(self, request: Request) -> Result | None:
        ds = self.sets.get(request.name, request.namespace)
        if ds is None:
            for key in [k for k in self._backoff if k[0] not in {
                    d["metadata"]["uid"] for d in self.sets}]:
                del self._backoff[key]
            self._fits = {k: v for k, v in self._fits.items()
                          if any(d["metadata"]["uid"] == k for d in self.sets)}
            return None
        meta = ds["metadata"]
        if meta.get("deletionTimestamp"):
            return None  # its pods and revisions are the garbage collector's
        sel_spec = ds["spec"].get("selector")
        if sel_spec == {} or (isinstance(sel_spec, dict) and not sel_spec.get("matchLabels")
                              and not sel_spec.get("matchExpressions")):
            self.events.warning(ds, "SelectingAll", "This daemon set is selecting all pods. "
                                "A non-empty selector is required.")
            return None
        sel = selector(sel_spec)
        self._prepare_fits(ds)
        cur, old = self._construct_history(ds, sel)
        hash_ = cur["metadata"]["labels"][REVISION_HASH_LABEL]
        pods = claim(self.client, PODS, self.pods, ds,
                     lambda p: sel.matches(p["metadata"].get("labels")))
        nodes = sorted(self.nodes, key=lambda n: n["metadata"]["name"])
        now = self.clock.now()
        by_node = self._pods_by_node(pods)
        requeue: list[float] = []
        acted = self._manage(ds, nodes, by_node, hash_, now, requeue)
        if not acted and (ds["spec"].get("updateStrategy") or {}).get("type") == "RollingUpdate":
            self._rolling_update(ds, nodes, by_node, hash_, now)
        self._cleanup_history(ds, old, pods)
        result = self._update_status(ds, nodes, by_node, hash_, now)
        if result is not None and result.requeue:
            return result
        if result is not None:
            requeue.append(result.requeue_after)
        return Result(requeue_after=max(min(requeue), 0.001)) if requeue else None

    def _pods_by_node(self, pods: list[Obj]) -> dict[str, list[Obj]]:
        """Daemon pods per target node, leaving out finished pods already being deleted."""
        out: dict[str, list[Obj]] = {}
        for pod in pods:
            if pod["metadata"].get("deletionTimestamp") and _phase(pod) in ("Succeeded",
                                                                             "Failed"):
                continue
            node = target_node(pod)
            if node is not None:
                out.setdefault(node, []).append(pod)
        return out

    # -- history
    def _construct_history(self, ds: Obj, sel: Any) -> tuple[Obj, list[Obj]]:
        """The revision of the current template (created or renumbered as needed) and the
        others (``constructHistory``)."""
        template = ds["spec"].get("template") or {}
        histories = claim(self.client, CONTROLLERREVISIONS, self.revisions, ds,
                          lambda r: sel.matches(r["metadata"].get("labels")))
        current: list[Obj] = []
        old: list[Obj] = []
        for h in histories:
            if REVISION_HASH_LABEL not in (h["metadata"].get("labels") or {}):
                hm = h["metadata"]
                h = self.client.patch(CONTROLLERREVISIONS, hm["name"], {"metadata": {
                    "labels": {REVISION_HASH_LABEL: hm["name"]},
                    "resourceVersion": hm["resourceVersion"]}}, hm["namespace"])
            (current if equal_data(h, template) else old).append(h)
        number = max_revision(old) + 1
        if not current:
            return self._snapshot(ds, template, number), old
        cur = self._dedup(ds, current)
        if int(cur.get("revision") or 0) < number:
            cur = update_revision_number(self.client, cur, number)
        return cur, old

    def _snapshot(self, ds: Obj, template: Obj, number: int) -> Obj:
        meta = ds["metadata"]
        collision = (ds.get("status") or {}).get("collisionCount")
        hash_ = template_hash(template, collision)
        labels = {**((template.get("metadata") or {}).get("labels") or {}),
                  REVISION_HASH_LABEL: hash_}
        cr = new_revision(ds, name=revision_name(meta["name"], hash_),
                          data=template_patch(template), revision=number, labels=labels,
                          annotations=meta.get("annotations"))
        try:
            return self.client.create(CONTROLLERREVISIONS, cr, meta["namespace"])
        except errors.AlreadyExists:
            existing = self.client.get(CONTROLLERREVISIONS, cr["metadata"]["name"],
                                       meta["namespace"])
            if equal_data(existing, template):
                return existing
            # a hash collision with a different template: count it, hash again next time
            fresh = self.client.get(DAEMONSETS, meta["name"], meta["namespace"])
            status = fresh.setdefault("status", {})
            if status.get("collisionCount") == collision:
                status["collisionCount"] = int(collision or 0) + 1
                self.client.replace_status(DAEMONSETS, fresh)
            raise

    def _dedup(self, ds: Obj, current: list[Obj]) -> Obj:
        """Several revisions hold the current template: keep the newest, move pods to it."""
        if len(current) == 1:
            return current[0]
        keep = sort_revisions(current)[-1]
        keep_hash = keep["metadata"]["labels"][REVISION_HASH_LABEL]
        for pod in self.pods.by_index(BY_CONTROLLER, ds["metadata"]["uid"]):
            if (pod["metadata"].get("labels") or {}).get(REVISION_HASH_LABEL) != keep_hash:
                with contextlib.suppress(errors.NotFound):
                    self.client.patch(PODS, pod["metadata"]["name"], {"metadata": {"labels": {
                        REVISION_HASH_LABEL: keep_hash}}}, pod["metadata"]["namespace"],
                        patch_type=PatchType.MERGE)
        for cr in current:
            if cr is not keep:
                with contextlib.suppress(errors.NotFound):
                    self.client.delete(CONTROLLERREVISIONS, cr["metadata"]["name"],
                                       cr["metadata"]["namespace"])
        return keep

    def _cleanup_history(self, ds: Obj, old: list[Obj], pods: list[Obj]) -> None:
        """Keep ``revisionHistoryLimit`` old revisions, never one a live pod was made from."""
        limit = ds["spec"].get("revisionHistoryLimit")
        limit = 10 if limit is None else int(limit)
        extra = len(old) - limit
        if extra <= 0:
            return
        live = {(p["metadata"].get("labels") or {}).get(REVISION_HASH_LABEL) for p in pods}
        for cr in sort_revisions(old):
            if extra <= 0:
                break
            if (cr["metadata"].get("labels") or {}).get(REVISION_HASH_LABEL) in live:
                continue
            with contextlib.suppress(errors.NotFound):
                self.client.delete(CONTROLLERREVISIONS, cr["metadata"]["name"],
                                   cr["metadata"]["namespace"])
            extra -= 1

    # -- pods
    def _manage(self, ds: Obj, nodes: list[Obj], by_node: dict[str, list[Obj]], hash_: str,
                now: float, requeue: list[float]) -> bool:
        """Create the missing daemon pods and delete the ones that must go; True if it did."""
        create: list[str] = []
        delete: list[str] = []
        surge = self._max_surge(ds, 1) > 0
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        uid = ds["metadata"]["uid"]
        known = set()
        for node in nodes:
            name = node["metadata"]["name"]
            known.add(name)
            run, stay = self._should_run(ds, node)
            pods = by_node.get(name)
            if run and not pods:
                create.append(name)
            elif stay:
                running: list[Obj] = []
                for pod in pods or ():
                    if pod["metadata"].get("deletionTimestamp"):
                        continue
                    phase = _phase(pod)
                    pname = pod["metadata"]["name"]
                    if phase == "Failed":
                        key = (uid, name)
                        delay, not_before = self._backoff.get(key, (0.0, 0.0))
                        if now < not_before:
                            requeue.append(not_before - now)
                            continue
                        delay = min(max(delay * 2, FAILED_BACKOFF_INITIAL), FAILED_BACKOFF_MAX)
                        self._backoff[key] = (delay, now + delay)
                        pns = pod["metadata"]["namespace"]
                        self.events.warning(ds, "FailedDaemonPod",
                                            f"Found failed daemon pod {pns}/{pname} on node "
                                            f"{name}, will try to kill it")
                        delete.append(pname)
                    elif phase == "Succeeded":
                        self.events.normal(ds, "SucceededDaemonPod",
                                           f"Found succeeded daemon pod "
                                           f"{pod['metadata']['namespace']}/{pname} on node "
                                           f"{name}, will try to delete it")
                        delete.append(pname)
                    else:
                        running.append(pod)
                if not surge:
                    delete.extend(p["metadata"]["name"] for p in _by_creation(running)[1:])
                    continue
                if len(running) <= 1:
                    if not running and run:
                        create.append(name)
                    continue
                oldest_new: Obj | None = None
                oldest_old: Obj | None = None
                for pod in _by_creation(running):
                    if (pod["metadata"].get("labels") or {}).get(REVISION_HASH_LABEL) == hash_:
                        if oldest_new is None:
                            oldest_new = pod
                            continue
                    elif oldest_old is None:
                        oldest_old = pod
                        continue
                    delete.append(pod["metadata"]["name"])
                if oldest_new is not None and oldest_old is not None and (
                        not is_pod_ready(oldest_old)
                        or is_pod_available(oldest_new, min_ready, now)):
                    delete.append(oldest_old["metadata"]["name"])
            else:
                delete.extend(p["metadata"]["name"] for p in pods or ()
                              if not p["metadata"].get("deletionTimestamp"))
        # unscheduled pods for nodes that are gone would never be scheduled, and the pod
        # garbage collector only removes bound ones: delete them here (as upstream)
        for name, pods in by_node.items():
            if name not in known:
                delete.extend(p["metadata"]["name"] for p in pods
                              if not (p.get("spec") or {}).get("nodeName"))
        self._sync_nodes(ds, delete, create, hash_)
        return bool(create or delete)

    def _max_surge(self, ds: Obj, desired: int) -> int:
        strategy = ds["spec"].get("updateStrategy") or {}
        if strategy.get("type") != "RollingUpdate":
            return 0
        return _scaled((strategy.get("rollingUpdate") or {}).get("maxSurge"), desired,
                       round_up=True)

    def _max_unavailable(self, ds: Obj, desired: int) -> int:
        strategy = ds["spec"].get("updateStrategy") or {}
        if strategy.get("type") != "RollingUpdate":
            return 0
        return _scaled((strategy.get("rollingUpdate") or {}).get("maxUnavailable"), desired,
                       round_up=True)

    def _rolling_update(self, ds: Obj, nodes: list[Obj], by_node: dict[str, list[Obj]],
                        hash_: str, now: float) -> None:
        """Replace old pods within maxUnavailable (delete first) or maxSurge (create first)."""
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        node_objs = {n["metadata"]["name"]: n for n in nodes}
        per_node = dict(by_node)
        desired = 0
        for node in nodes:
            if self._should_run(ds, node)[0]:
                desired += 1
                per_node.setdefault(node["metadata"]["name"], [])
        max_surge = self._max_surge(ds, desired)
        max_unavailable = self._max_unavailable(ds, desired)
        if desired > 0 and max_surge == 0 and max_unavailable == 0:
            max_unavailable = 1

        def available(pod: Obj) -> bool:
            return is_pod_available(pod, min_ready, now)

        if max_surge == 0:
            unavailable = 0
            replace: list[str] = []
            candidates: list[str] = []
            for name in sorted(per_node):
                found = _new_and_old(per_node[name], hash_)
                if found is None:
                    unavailable += 1
                    continue
                new, old = found
                if (old is None) == (new is None):
                    unavailable += 1
                elif new is not None:
                    if not available(new):
                        unavailable += 1
                elif old is not None and not available(old):
                    replace.append(old["metadata"]["name"])
                    unavailable += 1
                elif unavailable < max_unavailable and old is not None:
                    candidates.append(old["metadata"]["name"])
            room = min(max(max_unavailable - unavailable, 0), len(candidates))
            self._sync_nodes(ds, replace + candidates[:room], [], hash_)
            return

        to_delete: list[str] = []
        should_not_run: list[str] = []
        candidate_nodes: list[str] = []
        allowed_nodes: list[str] = []
        surging = 0
        available_count = 0
        for name in sorted(per_node):
            found = _new_and_old(per_node[name], hash_)
            if found is None:
                surging += 1
                continue
            new, old = found
            if old is not None:
                available_count += available(old)
            elif new is not None:
                available_count += available(new)
            if old is None:
                continue
            node = node_objs.get(name)
            runs = node is not None and self._should_run(ds, node)[0]
            if new is None:
                if not available(old):
                    if not runs:
                        to_delete.append(old["metadata"]["name"])
                        continue
                    allowed_nodes.append(name)
                else:
                    if not runs:
                        should_not_run.append(old["metadata"]["name"])
                        continue
                    if surging >= max_surge:
                        continue
                    candidate_nodes.append(name)
            elif not available(new):
                surging += 1
            else:
                to_delete.append(old["metadata"]["name"])
        deletable = available_count - desired
        if deletable > 0:
            to_delete.extend(should_not_run[:deletable])
        room = min(max(max_surge - surging, 0), len(candidate_nodes))
        self._sync_nodes(ds, to_delete, allowed_nodes + candidate_nodes[:room], hash_)

    def _sync_nodes(self, ds: Obj, delete: list[str], create: list[str], hash_: str) -> None:
        """Create daemon pods on ``create`` nodes (slow-start batches) and delete ``delete``."""
        meta = ds["metadata"]
        template = deepcopy(ds["spec"].get("template") or {})
        extra = {REVISION_HASH_LABEL: hash_}
        generation = (meta.get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION)
        if generation is not None:
            extra[TEMPLATE_GENERATION_LABEL] = str(generation)
        create = create[:BURST_REPLICAS]
        done, batch = 0, 1
        while done < len(create):
            failed = False
            for node in create[done:done + batch]:
                pod = pod_from_template(template, ds, extra_labels=extra)
                default_tolerations(pod["spec"])
                _node_affinity(pod["spec"], node)
                try:
                    created = self.client.create(PODS, pod, meta["namespace"])
                except errors.APIError as exc:
                    self.events.warning(ds, "FailedCreate",
                                        f"Error creating: {exc.status.get('message', exc)}")
                    failed = True
                    continue
                self.events.normal(ds, "SuccessfulCreate",
                                   f"Created pod: {created['metadata']['name']}")
            done += batch
            batch *= 2
            if failed:
                break
        for name in delete[:BURST_REPLICAS]:
            self._delete(ds, name)

    def _delete(self, ds: Obj, name: str) -> None:
        try:
            self.client.delete(PODS, name, ds["metadata"]["namespace"])
        except errors.NotFound:
            return
        except errors.APIError as exc:
            self.events.warning(ds, "FailedDelete",
                                f"Error deleting: {exc.status.get('message', exc)}")
            return
        self.events.normal(ds, "SuccessfulDelete", f"Deleted pod: {name}")

    # -- status
    def _update_status(self, ds: Obj, nodes: list[Obj], by_node: dict[str, list[Obj]],
                       hash_: str, now: float) -> Result | None:
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        desired = current = misscheduled = ready = updated = available = 0
        wait: float | None = None
        for node in nodes:
            run, _ = self._should_run(ds, node)
            pods = by_node.get(node["metadata"]["name"])
            if not run:
                if pods:
                    misscheduled += 1
                continue
            desired += 1
            if not pods:
                continue
            current += 1
            pod = _by_creation(pods)[0]
            if is_pod_ready(pod):
                ready += 1
                if is_pod_available(pod, min_ready, now):
                    available += 1
                else:
                    left = (pod_ready_since(pod) or now) + min_ready - now
                    wait = left if wait is None else min(wait, left)
            if (pod["metadata"].get("labels") or {}).get(REVISION_HASH_LABEL) == hash_:
                updated += 1
        old = ds.get("status") or {}
        status: Obj = {k: v for k, v in old.items() if k in ("collisionCount", "conditions")}
        status.update(currentNumberScheduled=current, numberMisscheduled=misscheduled,
                      desiredNumberScheduled=desired, numberReady=ready)
        generation = ds["metadata"].get("generation")
        observed = max(int(old.get("observedGeneration") or 0), int(generation or 0))
        for key, value in (("observedGeneration", observed), ("updatedNumberScheduled", updated),
                           ("numberAvailable", available),
                           ("numberUnavailable", desired - available)):
            if value:
                status[key] = value
        if status != old:
            try:
                self.client.replace_status(DAEMONSETS, {
                    "apiVersion": ds["apiVersion"], "kind": ds["kind"],
                    "metadata": {"name": ds["metadata"]["name"],
                                 "namespace": ds["metadata"]["namespace"],
                                 "resourceVersion": ds["metadata"]["resourceVersion"]},
                    "spec": ds["spec"], "status": status})
            except errors.Conflict:
                return Result(requeue=True)
            except errors.NotFound:
                return None
        if wait is not None:
            return Result(requeue_after=max(wait, 0.001))
        return None

    # -- settle
    def unconverged(self) -> list[str]:
        out = []
        for ds in self.sets:
            meta = ds["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            status = ds.get("status") or {}
            desired = int(status.get("desiredNumberScheduled") or 0)
            rolling = (ds["spec"].get("updateStrategy") or {}).get("type") == "RollingUpdate"
            if (int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0)
                    or int(status.get("numberAvailable") or 0) < desired
                    or int(status.get("currentNumberScheduled") or 0) < desired
                    or (rolling and int(status.get("updatedNumberScheduled") or 0) < desired)):
                out.append(f"daemonset/{meta['namespace']}/{meta['name']}")
        return out


def _new_and_old(pods: list[Obj], hash_: str) -> tuple[Obj | None, Obj | None] | None:
    """The one up-to-date and the one old pod on a node (``findUpdatedPodsOnNode``); None when
    there are more of either (the manage loop prunes those first)."""
    new: Obj | None = None
    old: Obj | None = None
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        if (pod["metadata"].get("labels") or {}).get(REVISION_HASH_LABEL) == hash_:
            if new is not None:
                return None
            new = pod
        else:
            if old is not None:
                return None
            old = pod
    return new, old

