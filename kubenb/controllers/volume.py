"""PersistentVolumes for PersistentVolumeClaims (``pkg/controller/volume/persistentvolume``, with
the pvc-protection and pv-protection controllers and a simulated dynamic provisioner).

Binding: a claim is bound to the smallest Available volume of its storage class that satisfies it
(capacity, access modes, volume mode, label selector, node affinity once a node is selected), or
to the volume it names in ``spec.volumeName`` / that names it in ``spec.claimRef``. Both sides are
written as kube-controller-manager writes them: the volume's ``claimRef`` and phase Bound, the
claim's ``volumeName``, ``pv.kubernetes.io/bind-completed`` and ``bound-by-controller``
annotations and status (phase Bound, capacity, access modes).

Provisioning: a claim of a StorageClass whose provisioner is ``kubenb.io/simulated`` gets a
volume ``pvc-<claim uid>`` made for it, with the events a CSI provisioner's claim shows
(ExternalProvisioning, Provisioning, ProvisioningSucceeded). ``volumeBindingMode:
WaitForFirstConsumer`` waits (event WaitForFirstConsumer) until the claim's
``volume.kubernetes.io/selected-node`` annotation is set by the scheduler, or a pod using the
claim is bound to a node. A default StorageClass ``standard`` is created when the cluster has
none; claims without ``storageClassName`` get the default class written into them (the
retroactive default StorageClass assignment; the apiserver here does not default it at creation).

Release: when a bound claim is deleted its volume becomes Released, then its reclaim policy
applies: Delete removes the volume (the storage is simulated), Retain keeps it Released, Recycle
makes it Available again. Claims carry ``kubernetes.io/pvc-protection`` (kept while a scheduled,
running pod uses them) and volumes ``kubernetes.io/pv-protection`` (kept while Bound).

Queue keys: ``Request("", volume)`` for volumes (cluster-scoped), ``Request(ns, claim)`` for
claims.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import NODES, PODS, PVCS, PVS, STORAGECLASSES
from kubenb.api.quantity import parse_or_none
from kubenb.client.client import PatchType, deepcopy
from kubenb.controllers.podutil import now_string, selector
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.informer import Handler
from kubenb.runtime.manager import Manager

__all__ = ["PROVISIONER", "PersistentVolumeController", "parse_quantity"]

Obj = dict[str, Any]

PROVISIONER = "kubenb.io/simulated"
DEFAULT_CLASS = "standard"

ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
ANN_BETA_CLASS = "volume.beta.kubernetes.io/storage-class"
ANN_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
ANN_BETA_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"

_BOOTSTRAP = Request("\x00", "default-storage-class")

def parse_quantity(value: Any) -> Fraction | None:
    """A resource quantity (``10Gi``, ``500M``, ``1e3``) as an exact number, None if invalid."""
    return parse_or_none(value)


def _storage(obj: Obj, *path: str) -> Fraction | None:
    cur: Any = obj
    for part in path:
        cur = (cur or {}).get(part)
    return parse_quantity((cur or {}).get("storage"))


def _claim_key(ns: str, name: str) -> str:
    return f"{ns}/{name}"


def _pod_claims(pod: Obj) -> tuple[str, ...]:
    """Index values: the claims (``ns/name``) a pod's volumes use, generic ephemeral included."""
    volumes = (pod.get("spec") or {}).get("volumes")
    if not volumes:
        return ()
    meta = pod["metadata"]
    ns = meta.get("namespace", "")
    out = []
    for vol in volumes:
        pvc = vol.get("persistentVolumeClaim")
        if pvc and pvc.get("claimName"):
            out.append(_claim_key(ns, pvc["claimName"]))
        elif vol.get("ephemeral") is not None:
            out.append(_claim_key(ns, f"{meta['name']}-{vol.get('name', '')}"))
    return tuple(out)


def _volume_claim(pv: Obj) -> tuple[str, ...]:
    ref = (pv.get("spec") or {}).get("claimRef")
    if not ref or not ref.get("name"):
        return ()
    return (_claim_key(ref.get("namespace") or "", ref["name"]),)


def _volume_unbound_class(pv: Obj) -> tuple[str, ...]:
    """Index values: the class of a volume no claim has reserved."""
    spec = pv.get("spec") or {}
    if spec.get("claimRef"):
        return ()
    return (_volume_class(pv),)


def _claim_pending_class(claim: Obj) -> tuple[str, ...]:
    """Index value: the class of a claim that waits for a volume."""
    if (claim.get("spec") or {}).get("volumeName"):
        return ()
    return (_claim_class(claim),)


def _volume_class(pv: Obj) -> str:
    ann = pv["metadata"].get("annotations") or {}
    if ANN_BETA_CLASS in ann:
        return str(ann[ANN_BETA_CLASS])
    return str((pv.get("spec") or {}).get("storageClassName") or "")


def _claim_class(claim: Obj) -> str:
    ann = claim["metadata"].get("annotations") or {}
    if ANN_BETA_CLASS in ann:
        return str(ann[ANN_BETA_CLASS])
    return str((claim.get("spec") or {}).get("storageClassName") or "")


def _class_unset(claim: Obj) -> bool:
    ann = claim["metadata"].get("annotations") or {}
    return (claim.get("spec") or {}).get("storageClassName") is None and ANN_BETA_CLASS not in ann


def _is_default(sc: Obj) -> bool:
    ann = sc["metadata"].get("annotations") or {}
    return ann.get(ANN_DEFAULT_CLASS) == "true" or ann.get(ANN_BETA_DEFAULT_CLASS) == "true"


def _bound_to_claim(pv: Obj, claim: Obj) -> bool:
    """The volume's claimRef names the claim (and its uid, if it has one)."""
    ref = (pv.get("spec") or {}).get("claimRef")
    meta = claim["metadata"]
    if not ref or ref.get("name") != meta["name"] or ref.get("namespace") != meta["namespace"]:
        return False
    return not ref.get("uid") or ref["uid"] == meta["uid"]


def _node_matches(pv: Obj, node: Obj | None) -> bool:
    """Whether the volume's required node affinity admits ``node`` (no affinity admits all)."""
    required = ((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required")
    if not required:
        return True
    if node is None:
        return False
    labels = node["metadata"].get("labels") or {}
    fields = {"metadata.name": node["metadata"]["name"]}
    for term in required.get("nodeSelectorTerms") or ():
        exprs = [(e, labels) for e in term.get("matchExpressions") or ()]
        exprs += [(e, fields) for e in term.get("matchFields") or ()]
        if exprs and all(_requirement(e, values) for e, values in exprs):
            return True
    return False


def _requirement(expr: Obj, values: dict[str, str]) -> bool:
    key, op, want = expr.get("key", ""), expr.get("operator"), expr.get("values") or []
    have = values.get(key)
    if op == "In":
        return have is not None and have in want
    if op == "NotIn":
        return have is None or have not in want
    if op == "Exists":
        return have is not None
    if op == "DoesNotExist":
        return have is None
    if op in ("Gt", "Lt") and have is not None and want:
        try:
            return int(have) > int(want[0]) if op == "Gt" else int(have) < int(want[0])
        except ValueError:
            return False
    return False


def _mismatch(pv: Obj, claim: Obj) -> str:
    """Why the volume cannot serve the claim ("" when it can): ``checkVolumeSatisfyClaim``."""
    cspec = claim.get("spec") or {}
    vspec = pv.get("spec") or {}
    want = _storage(cspec, "resources", "requests")
    have = _storage(vspec, "capacity")
    if want is not None and (have is None or have < want):
        return "requested PV is too small"
    if _volume_class(pv) != _claim_class(claim):
        return "storageClassName does not match"
    if (vspec.get("volumeMode") or "Filesystem") != (cspec.get("volumeMode") or "Filesystem"):
        return "incompatible volumeMode"
    if not set(cspec.get("accessModes") or ()) <= set(vspec.get("accessModes") or ()):
        return "incompatible accessMode"
    return ""


class PersistentVolumeController(Controller):
    """Binds claims to volumes, provisions, releases and reclaims, protects both in use."""

    name = "persistentvolume-controller"
    primary = PVCS

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kube-controller-manager")
        self.clock = mgr.clock
        self.events = mgr.recorder(self.name)
        self.provisioner_events = mgr.recorder(PROVISIONER)
        self.volumes = mgr.informer(PVS)
        self.volumes.add_index("claim", _volume_claim)
        self.volumes.add_index("unbound-class", _volume_unbound_class)
        self.claims = mgr.informer(PVCS)
        self.claims.add_index("pending-class", _claim_pending_class)
        self.classes = mgr.informer(STORAGECLASSES)
        self.nodes = mgr.informer(NODES)
        self.pods = mgr.informer(PODS)
        self.pods.add_index("pvc", _pod_claims)
        self.volumes.add_handler(Handler(on_add=self._volume_changed,
                                         on_update=self._volume_updated,
                                         on_delete=self._volume_changed))
        self.claims.add_handler(Handler(on_add=self.enqueue,
                                        on_update=lambda _old, new: self.enqueue(new),
                                        on_delete=self._claim_gone))
        self.classes.add_handler(Handler(on_add=self._class_changed,
                                         on_update=lambda _old, new: self._class_changed(new)))
        self.pods.add_handler(Handler(on_add=self._pod_changed,
                                      on_update=self._pod_updated, on_delete=self._pod_changed))
        self.queue.add(_BOOTSTRAP)

    # ------------------------------------------------------------------ handlers

    def _volume_changed(self, pv: Obj) -> None:
        self.queue.add(Request("", pv["metadata"]["name"]))
        self._enqueue_claims(_volume_claim(pv))
        if not (pv.get("spec") or {}).get("claimRef") and (pv.get("status") or {}).get(
                "phase") == "Available":
            # a volume became available: the claims waiting in its class may fit it
            for claim in self.claims.by_index("pending-class", _volume_class(pv)):
                self.enqueue(claim)

    def _volume_updated(self, old: Obj, new: Obj) -> None:
        self._volume_changed(new)
        if _volume_claim(old) != _volume_claim(new):
            self._enqueue_claims(_volume_claim(old))

    def _enqueue_claims(self, keys: Iterable[str]) -> None:
        for key in keys:
            ns, _, name = key.partition("/")
            if self.claims.get(name, ns) is not None:
                self.queue.add(Request(ns, name))

    def _claim_gone(self, claim: Obj) -> None:
        """A deleted claim releases its volume."""
        meta = claim["metadata"]
        name = (claim.get("spec") or {}).get("volumeName")
        if name:
            self.queue.add(Request("", name))
        for pv in self.volumes.by_index("claim", _claim_key(meta["namespace"], meta["name"])):
            self.queue.add(Request("", pv["metadata"]["name"]))

    def _class_changed(self, _sc: Obj) -> None:
        for claim in self.claims:
            if not (claim.get("spec") or {}).get("volumeName"):
                self.enqueue(claim)

    def _pod_changed(self, pod: Obj) -> None:
        for key in _pod_claims(pod):
            ns, _, name = key.partition("/")
            claim = self.claims.get(name, ns)
            if claim is not None and (claim["metadata"].get("deletionTimestamp")
                                      or not (claim.get("spec") or {}).get("volumeName")):
                self.queue.add(Request(ns, name))

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if (old.get("spec") or {}).get("nodeName") != (new.get("spec") or {}).get(
                "nodeName") or (old.get("status") or {}).get("phase") != (
                new.get("status") or {}).get("phase"):
            self._pod_changed(new)

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, request: Request) -> Result | None:
        try:
            if request == _BOOTSTRAP:
                self._ensure_default_class()
                return None
            if not request.namespace:
                return self._sync_volume(request.name)
            return self._sync_claim(request.namespace, request.name)
        except errors.Conflict:
            return Result(requeue=True)  # an object changed under us: look again

    def _ensure_default_class(self) -> None:
        if len(self.classes):
            return
        with contextlib.suppress(errors.AlreadyExists):
            self.client.create(STORAGECLASSES, {
                "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": DEFAULT_CLASS,
                             "annotations": {ANN_DEFAULT_CLASS: "true"}},
                "provisioner": PROVISIONER, "reclaimPolicy": "Delete",
                "volumeBindingMode": "Immediate",
            })

    def _default_class(self) -> Obj | None:
        defaults = [sc for sc in self.classes if _is_default(sc)]
        if not defaults:
            return None
        # several defaults: the newest wins (Kubernetes 1.26+)
        return max(defaults, key=lambda sc: (sc["metadata"].get("creationTimestamp") or "",
                                             sc["metadata"]["name"]))

    # ------------------------------------------------------------------ claims

    def _sync_claim(self, ns: str, name: str) -> Result | None:
        claim = self.claims.get(name, ns)
        if claim is None:
            return None
        meta = claim["metadata"]
        finalizers = list(meta.get("finalizers") or ())
        deleting = bool(meta.get("deletionTimestamp"))
        if deleting:
            if PVC_PROTECTION in finalizers and not self._claim_in_use(claim):
                self._set_finalizers(PVCS, claim, [f for f in finalizers if f != PVC_PROTECTION])
                return None
        elif PVC_PROTECTION not in finalizers:
            claim = self._set_finalizers(PVCS, claim, [*finalizers, PVC_PROTECTION])
        if ANN_BIND_COMPLETED in (claim["metadata"].get("annotations") or {}):
            self._sync_bound_claim(claim)
        else:
            self._sync_unbound_claim(claim, deleting)
        return None

    def _claim_in_use(self, claim: Obj) -> bool:
        """A scheduled pod that has not finished uses the claim (the kubelet would not start
        one on a claim being deleted, so unscheduled pods do not count)."""
        meta = claim["metadata"]
        for pod in self.pods.by_index("pvc", _claim_key(meta["namespace"], meta["name"])):
            if (pod.get("spec") or {}).get("nodeName") and (pod.get("status") or {}).get(
                    "phase") not in ("Succeeded", "Failed"):
                return True
        return False

    def _selected_node(self, claim: Obj) -> str:
        """The node the claim's first consumer runs on: the scheduler's annotation, else the
        node a pod using the claim is bound to."""
        meta = claim["metadata"]
        node = (meta.get("annotations") or {}).get(ANN_SELECTED_NODE)
        if node:
            return str(node)
        for pod in self.pods.by_index("pvc", _claim_key(meta["namespace"], meta["name"])):
            bound = (pod.get("spec") or {}).get("nodeName")
            if bound:
                return str(bound)
        return ""

    def _waits_for_consumer(self, claim: Obj) -> bool:
        sc = self.classes.get(_claim_class(claim))
        return (sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer"
                and not self._selected_node(claim))

    def _sync_unbound_claim(self, claim: Obj, deleting: bool) -> None:
        spec = claim.get("spec") or {}
        if _class_unset(claim) and not spec.get("volumeName"):
            default = self._default_class()
            if default is not None:
                claim = self._patch(PVCS, claim, {"spec": {
                    "storageClassName": default["metadata"]["name"]}})
                spec = claim["spec"]
        name = spec.get("volumeName") or ""
        if not name:
            delay = self._waits_for_consumer(claim)
            volume = self._find_best_match(claim, delay)
            if volume is not None:
                self._bind(volume, claim)
                return
            class_name = _claim_class(claim)
            if delay:
                self.events.normal(claim, "WaitForFirstConsumer",
                                   "waiting for first consumer to be created before binding")
            elif class_name:
                if not deleting:
                    self._provision(claim, class_name)
                return
            else:
                self.events.normal(claim, "FailedBinding",
                                   "no persistent volumes available for this claim and no "
                                   "storage class is set")
            self._claim_status(claim, "Pending", None)
            return
        volume = self.volumes.get(name)
        if volume is None:
            self._claim_status(claim, "Pending", None)  # asked for a volume that is not there
            return
        if not (volume.get("spec") or {}).get("claimRef"):
            why = _mismatch(volume, claim)
            if why:
                self.events.warning(claim, "VolumeMismatch",
                                    f'Cannot bind to requested volume "{name}": {why}')
                self._claim_status(claim, "Pending", None)
                return
            self._bind(volume, claim)
        elif _bound_to_claim(volume, claim):
            self._bind(volume, claim)
        else:
            self.events.warning(claim, "FailedBinding",
                                f'volume "{name}" already bound to a different claim.')
            self._claim_status(claim, "Pending", None)

    def _sync_bound_claim(self, claim: Obj) -> None:
        name = (claim.get("spec") or {}).get("volumeName")
        if not name:
            self._claim_status(claim, "Lost", None, event=(
                "ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on the "
                "volume is lost!"))
            return
        volume = self.volumes.get(name)
        if volume is None:
            self._claim_status(claim, "Lost", None, event=(
                "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is "
                "lost!"))
            return
        ref = (volume.get("spec") or {}).get("claimRef")
        if not ref or ref.get("uid") == claim["metadata"]["uid"]:
            self._bind(volume, claim)
        else:
            self._claim_status(claim, "Lost", None, event=(
                "ClaimMisbound", "Two claims are bound to the same volume, this one is bound "
                "incorrectly"))

    def _find_best_match(self, claim: Obj, delay: bool) -> Obj | None:
        """The volume reserved for the claim, else the smallest Available one that fits."""
        meta = claim["metadata"]
        node_name = self._selected_node(claim)
        node = self.nodes.get(node_name) if node_name else None
        for pv in self.volumes.by_index("claim", _claim_key(meta["namespace"], meta["name"])):
            if _bound_to_claim(pv, claim) and not _mismatch(pv, claim) and (
                    not node_name or _node_matches(pv, node)):
                return pv
        if delay:
            return None  # no node yet: the scheduler chooses, then we bind
        sel = (claim.get("spec") or {}).get("selector")
        matcher = selector(sel) if sel else None
        best: Obj | None = None
        best_size: Fraction | None = None
        for pv in self.volumes.by_index("unbound-class", _claim_class(claim)):
            if (pv.get("status") or {}).get("phase") != "Available" or pv["metadata"].get(
                    "deletionTimestamp") or _mismatch(pv, claim):
                continue
            if matcher is not None and not matcher.matches(pv["metadata"].get("labels")):
                continue
            if node_name and not _node_matches(pv, node):
                continue
            size = _storage(pv.get("spec") or {}, "capacity") or Fraction(0)
            if best_size is None or size < best_size:
                best, best_size = pv, size
        return best

    def _provision(self, claim: Obj, class_name: str) -> None:
        sc = self.classes.get(class_name)
        if sc is None:
            self.events.warning(claim, "ProvisioningFailed",
                                f'storageclass.storage.k8s.io "{class_name}" not found')
            self._claim_status(claim, "Pending", None)
            return
        provisioner = str(sc.get("provisioner") or "")
        if provisioner.startswith("kubernetes.io/"):
            self.events.warning(claim, "ProvisioningFailed",
                                f"no volume plugin matched name: {provisioner}")
            self._claim_status(claim, "Pending", None)
            return
        ann = claim["metadata"].get("annotations") or {}
        if ann.get(ANN_STORAGE_PROVISIONER) != provisioner:
            claim = self._patch(PVCS, claim, {"metadata": {"annotations": {
                ANN_STORAGE_PROVISIONER: provisioner, ANN_BETA_STORAGE_PROVISIONER: provisioner}}})
        self.events.normal(claim, "ExternalProvisioning",
                           f"Waiting for a volume to be created either by the external "
                           f"provisioner '{provisioner}' or manually by the system "
                           "administrator. If volume creation is delayed, please verify that "
                           "the provisioner is running and correctly registered.")
        if provisioner != PROVISIONER:
            return  # someone else's provisioner: we wait, as kube-controller-manager does
        self._simulated_provision(claim, sc)

    def _simulated_provision(self, claim: Obj, sc: Obj) -> None:
        """What a CSI external-provisioner does, instantly: create the volume for the claim."""
        meta, spec = claim["metadata"], claim.get("spec") or {}
        events = self.provisioner_events
        events.normal(claim, "Provisioning", f'External provisioner is provisioning volume for '
                                             f'claim "{meta["namespace"]}/{meta["name"]}"')
        request = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        if request is None:
            events.warning(claim, "ProvisioningFailed",
                           "failed to provision volume: the claim requests no storage")
            return
        name = f"pvc-{meta['uid']}"
        pv: Obj = {
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {ANN_PROVISIONED_BY: PROVISIONER},
                         "finalizers": [PV_PROTECTION]},
            "spec": {
                "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
                "capacity": {"storage": request},
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                             "namespace": meta["namespace"], "name": meta["name"],
                             "uid": meta["uid"], "resourceVersion": meta["resourceVersion"]},
                "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
                "storageClassName": sc["metadata"]["name"],
                "volumeMode": spec.get("volumeMode") or "Filesystem",
                "csi": {"driver": PROVISIONER, "volumeHandle": name, "fsType": "ext4"},
            },
        }
        if sc.get("mountOptions"):
            pv["spec"]["mountOptions"] = list(sc["mountOptions"])
        try:
            self.client.create(PVS, pv)
        except errors.AlreadyExists:
            return  # provisioned before; binding follows its events
        events.normal(claim, "ProvisioningSucceeded", f"Successfully provisioned volume {name}")

    # ------------------------------------------------------------------ binding

    def _bind(self, volume: Obj, claim: Obj) -> None:
        """Volume's claimRef and phase, then claim's volumeName, annotations and status."""
        cmeta = claim["metadata"]
        vspec = volume.get("spec") or {}
        ref = vspec.get("claimRef") or {}
        if ref.get("uid") != cmeta["uid"] or ref.get("name") != cmeta["name"] or ref.get(
                "namespace") != cmeta["namespace"]:
            updated = deepcopy(volume)
            if not _bound_to_claim(volume, claim):
                updated["metadata"].setdefault("annotations", {})[ANN_BOUND_BY_CONTROLLER] = "yes"
            updated["spec"]["claimRef"] = {
                "kind": "PersistentVolumeClaim", "namespace": cmeta["namespace"],
                "name": cmeta["name"], "uid": cmeta["uid"], "apiVersion": "v1",
                "resourceVersion": cmeta["resourceVersion"]}
            volume = self.client.replace(PVS, updated)
        volume = self._volume_phase(volume, "Bound")
        ann = cmeta.get("annotations") or {}
        vname = volume["metadata"]["name"]
        if (claim.get("spec") or {}).get("volumeName") != vname or \
                ann.get(ANN_BIND_COMPLETED) != "yes":
            updated = deepcopy(claim)
            uann = updated["metadata"].setdefault("annotations", {})
            if (claim.get("spec") or {}).get("volumeName") != vname:
                uann[ANN_BOUND_BY_CONTROLLER] = "yes"
            uann[ANN_BIND_COMPLETED] = "yes"
            updated["spec"]["volumeName"] = vname
            claim = self.client.replace(PVCS, updated)
        self._claim_status(claim, "Bound", volume)

    def _claim_status(self, claim: Obj, phase: str, volume: Obj | None, *,
                      event: tuple[str, str] | None = None) -> Obj:
        old = claim.get("status") or {}
        status = {k: v for k, v in old.items() if k not in ("accessModes", "capacity")}
        status["phase"] = phase
        if volume is not None:
            vspec = volume.get("spec") or {}
            if vspec.get("accessModes"):
                status["accessModes"] = vspec["accessModes"]
            if vspec.get("capacity"):
                status["capacity"] = vspec["capacity"]
        if status == old:
            return claim
        if event is not None and old.get("phase") != phase:
            self.events.warning(claim, event[0], event[1])
        updated = deepcopy(claim)
        updated["status"] = status
        return self.client.replace_status(PVCS, updated)

    def _volume_phase(self, volume: Obj, phase: str, message: str = "") -> Obj:
        old = volume.get("status") or {}
        if old.get("phase") == phase and (old.get("message") or "") == message:
            return volume
        updated = deepcopy(volume)
        status = updated.setdefault("status", {})
        if status.get("phase") != phase:
            status["lastPhaseTransitionTime"] = now_string(self.clock.now())
        status["phase"] = phase
        if message:
            status["message"] = message
        else:
            status.pop("message", None)
            status.pop("reason", None)
        return self.client.replace_status(PVS, updated)

    # ------------------------------------------------------------------ volumes

    def _sync_volume(self, name: str) -> Result | None:
        volume = self.volumes.get(name)
        if volume is None:
            return None
        meta = volume["metadata"]
        finalizers = list(meta.get("finalizers") or ())
        phase = (volume.get("status") or {}).get("phase")
        if meta.get("deletionTimestamp"):
            if PV_PROTECTION in finalizers and phase != "Bound":
                self._set_finalizers(PVS, volume, [f for f in finalizers if f != PV_PROTECTION])
                return None
        elif PV_PROTECTION not in finalizers:
            volume = self._set_finalizers(PVS, volume, [*finalizers, PV_PROTECTION])
        ref = (volume.get("spec") or {}).get("claimRef")
        if not ref or not ref.get("uid"):
            # unused, or reserved for a claim by name that the claim's sync will bind
            self._volume_phase(volume, "Available")
            if ref:
                self._enqueue_claims(_volume_claim(volume))
            return None
        claim = self.claims.get(ref.get("name", ""), ref.get("namespace", ""))
        if claim is None:
            try:  # the cache may lag a real apiserver: ask before releasing
                claim = self.client.get(PVCS, ref.get("name", ""), ref.get("namespace"))
            except errors.NotFound:
                claim = None
        if claim is not None and claim["metadata"]["uid"] != ref["uid"]:
            claim = None  # deleted, and another claim of the same name created
        if claim is None:
            if phase not in ("Released", "Failed"):
                volume = self._volume_phase(volume, "Released")
            self._reclaim(volume)
            return None
        claimed = (claim.get("spec") or {}).get("volumeName")
        if not claimed:
            self.enqueue(claim)  # the claim's sync finishes the binding
        elif claimed == name:
            self._volume_phase(volume, "Bound")
        elif ANN_PROVISIONED_BY in (meta.get("annotations") or {}) and (
                volume.get("spec") or {}).get("persistentVolumeReclaimPolicy") == "Delete":
            # made for the claim, which got bound elsewhere: not needed
            if phase not in ("Released", "Failed"):
                volume = self._volume_phase(volume, "Released")
            self._reclaim(volume)
        else:
            self._unbind(volume)
        return None

    def _unbind(self, volume: Obj) -> None:
        updated = deepcopy(volume)
        ann = updated["metadata"].get("annotations") or {}
        if ANN_BOUND_BY_CONTROLLER in ann:
            del ann[ANN_BOUND_BY_CONTROLLER]
            del updated["spec"]["claimRef"]
        else:
            updated["spec"]["claimRef"].pop("uid", None)  # pre-bound by its creator: keep it
        volume = self.client.replace(PVS, updated)
        self._volume_phase(volume, "Available")

    def _reclaim(self, volume: Obj) -> None:
        policy = (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"
        meta = volume["metadata"]
        if policy == "Retain":
            return
        if policy == "Recycle":
            updated = deepcopy(volume)
            updated["spec"].pop("claimRef", None)
            (updated["metadata"].get("annotations") or {}).pop(ANN_BOUND_BY_CONTROLLER, None)
            volume = self.client.replace(PVS, updated)
            self._volume_phase(volume, "Available")
            self.events.normal(volume, "VolumeRecycled", "Volume recycled")
            return
        if policy != "Delete":
            self._volume_phase(volume, "Failed", f"unknown reclaim policy {policy!r}")
            return
        provisioner = (meta.get("annotations") or {}).get(ANN_PROVISIONED_BY)
        if provisioner and provisioner != PROVISIONER:
            return  # its own provisioner deletes it
        if meta.get("deletionTimestamp"):
            return
        with contextlib.suppress(errors.NotFound):
            self.client.delete(PVS, meta["name"], preconditions={"uid": meta["uid"]})

    # ------------------------------------------------------------------ writes

    def _set_finalizers(self, rt: Any, obj: Obj, finalizers: list[str]) -> Obj:
        meta = obj["metadata"]
        try:
            return self.client.patch(rt, meta["name"], {"metadata": {
                "finalizers": finalizers or None, "resourceVersion": meta["resourceVersion"]}},
                meta.get("namespace"), patch_type=PatchType.MERGE)
        except errors.NotFound:
            return obj

    def _patch(self, rt: Any, obj: Obj, patch: Obj) -> Obj:
        meta = obj["metadata"]
        patch.setdefault("metadata", {})["resourceVersion"] = meta["resourceVersion"]
        return self.client.patch(rt, meta["name"], patch, meta.get("namespace"),
                                 patch_type=PatchType.MERGE)

    # ------------------------------------------------------------------ settle

    def unconverged(self) -> list[str]:
        out = []
        for claim in self.claims:
            meta = claim["metadata"]
            if meta.get("deletionTimestamp") or (claim.get("spec") or {}).get("volumeName"):
                continue
            if self._waits_for_consumer(claim):
                continue  # Pending by design until a pod uses it
            out.append(f"persistentvolumeclaim/{meta['namespace']}/{meta['name']} (Pending)")
        for pv in self.volumes:
            if (pv.get("status") or {}).get("phase") in (None, "Pending"):
                out.append(f"persistentvolume/{pv['metadata']['name']} (Pending)")
        return out
