"""The garbage collector: objects whose owners are gone go too
(``pkg/controller/garbagecollector``).

An owner graph over every kind that can carry ``ownerReferences`` (the built-in kinds and the
custom resources of served CustomResourceDefinitions) is kept current by the shared informers, one
event at a time: a node per object uid, with its owners and its dependents. Owners referenced
before they are seen are *virtual* nodes, checked through the client. Three ways of deleting an
owner, as the apiserver records them:

- **Background** (no finalizer): the owner goes at once; when its delete event arrives each
  dependent is looked at, and deleted if none of its owners exists any more (an owner counts as
  gone when a GET of what the reference names finds nothing, or an object of another uid; a
  reference whose uid is an object it names otherwise is checked that way too).
- **Foreground** (``foregroundDeletion`` finalizer with ``deletionTimestamp``): the dependents are
  deleted first (dependents that have dependents of their own in foreground too); the finalizer is
  removed once no dependent whose reference has ``blockOwnerDeletion`` is left.
- **Orphan** (``orphan`` finalizer): the reference to the owner is removed from every dependent,
  then the finalizer.

A dependent with several owners survives while one of them exists (the references to the others
are removed). Only changes are processed (informer events and the queue): nothing is ever rescanned.
Queue keys are ``Request("delete", uid)``, ``Request("orphan", uid)`` and ``Request("crd", name)``.
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import builtin
from kubenb.api.resources import BUILTIN, ResourceType, StorageKey
from kubenb.client.client import Client, PatchType
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.informer import Handler, Informer
from kubenb.runtime.manager import Manager

__all__ = [
    "CRDS", "GarbageCollector", "custom_resource_type", "established", "is_served",
    "watchable_builtins",
]

log = logging.getLogger(__name__)

Obj = dict[str, Any]

CRDS = builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions")

#: what kube-controller-manager's garbage collector leaves alone by default (never owners)
IGNORED: frozenset[StorageKey] = frozenset({("", "events"), ("events.k8s.io", "events")})

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"

_DELETE, _ORPHAN, _CRD = "delete", "orphan", "crd"
#: how long after a dependent left a foreground owner is looked at again
RECHECK_DELAY = 0.5
_ABSENT_CACHE = 1024  # kube-controller-manager keeps 500 known-absent owners
_PROBE = "kubenb.io/served-probe=none"


def watchable_builtins() -> list[ResourceType]:
    """Built-in resources that can be listed, watched and deleted (the graph's kinds)."""
    return [rt for rt in BUILTIN
            if rt.alias_of is None and rt.storage not in IGNORED
            and {"list", "watch", "delete"} <= set(rt.verbs)]


def custom_resource_type(crd: Obj, version: str | None = None,
                         subresource: str = "") -> ResourceType | None:
    """The resource a CRD serves: at ``version`` when given, else its storage version when
    served, else its first served one. None when it serves no such version (or, with
    ``subresource``, when that version does not have it)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    versions = [v for v in spec.get("versions") or () if v.get("served", True)]
    if not versions or not names.get("plural") or not names.get("kind") or not spec.get("group"):
        return None
    chosen = next((v for v in versions if v.get("name") == version), None) \
        if version is not None else next((v for v in versions if v.get("storage")), versions[0])
    if chosen is None or (subresource and subresource not in (chosen.get("subresources") or {})):
        return None
    return ResourceType(group=spec["group"], version=chosen["name"], kind=names["kind"],
                        plural=names["plural"], namespaced=spec.get("scope") == "Namespaced",
                        custom=True)


def established(crd: Obj) -> bool:
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or ())


def is_served(client: Client, rt: ResourceType) -> bool:
    """Whether the apiserver serves ``rt`` yet (a CRD's resource is registered just after the
    CRD is stored, so an informer started on the CRD's event may be a moment early)."""
    try:
        client.list(rt, label_selector=_PROBE)
    except errors.NotFound:
        return False
    return True


_NO_DEPENDENTS: dict[str, None] = {}


class _Node:
    """One object of the graph (or a virtual owner: referenced, not observed)."""

    __slots__ = ("api_version", "being_deleted", "deleting_dependents", "dependents", "kind",
                 "name", "namespace", "orphaning", "owners", "rt", "uid", "virtual")

    def __init__(self, uid: str, api_version: str, kind: str, namespace: str, name: str, *,
                 virtual: bool = False, rt: ResourceType | None = None) -> None:
        self.uid = uid
        self.api_version = api_version
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.virtual = virtual
        self.rt = rt
        self.owners: list[Obj] | tuple[()] = ()
        # insertion-ordered, so runs are deterministic; most objects have none, and share one
        # empty dict that is never written to (_add_dependent gives a node its own)
        self.dependents: dict[str, None] = _NO_DEPENDENTS
        self.being_deleted = False
        self.deleting_dependents = False
        self.orphaning = False

    def describe(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind.lower()}/{where}{self.name}"

    def reference(self) -> str:
        """How ``objectReference.String()`` prints an owner in kube-controller-manager."""
        return (f"[{self.api_version}/{self.kind}, namespace: {self.namespace}, "
                f"name: {self.name}, uid: {self.uid}]")


class GarbageCollector(Controller):
    """kube-controller-manager's garbage collector over shared informers."""

    name = "garbage-collector-controller"
    primary = None

    def __init__(self) -> None:
        self.nodes: dict[str, _Node] = {}
        self.kinds: dict[tuple[str, str], ResourceType] = {
            (rt.group, rt.kind): rt for rt in BUILTIN if rt.alias_of is None}
        self.watched: set[StorageKey] = set()
        #: owners known to be gone: (uid, namespace) for an object seen deleted (no reference
        #: to its uid can be satisfied again), or (uid, namespace, group, kind, name) for a
        #: lookup by what a reference names that found nothing (absentOwnerCache's coordinates)
        self.absent: OrderedDict[tuple[str, ...], None] = OrderedDict()
        #: objects waiting for a kind to be resolvable, by (group, kind)
        self.unresolved: dict[tuple[str, str], dict[str, None]] = {}
        #: uids of objects held by the orphan or foregroundDeletion finalizer
        self.pending: dict[str, None] = {}

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("generic-garbage-collector")
        self.events = mgr.recorder(self.name)
        for rt in watchable_builtins():
            self._watch(mgr.informer(rt), rt)
        self.crds = mgr.informer(CRDS)
        self.crds.add_handler(Handler(
            on_add=lambda crd: self.queue.add(Request(_CRD, crd["metadata"]["name"])),
            on_update=lambda _o, crd: self.queue.add(Request(_CRD, crd["metadata"]["name"]))))

    def _watch(self, informer: Informer, rt: ResourceType) -> None:
        self.watched.add(rt.storage)
        informer.add_handler(Handler(
            on_add=lambda obj: self._observe(rt, obj),
            on_update=lambda _old, new: self._observe(rt, new),
            on_delete=lambda obj: self._removed(obj)))

    # ------------------------------------------------------------------ the graph

    def _enqueue(self, uid: str) -> None:
        self.queue.add(Request(_DELETE, uid))

    def _recheck(self, uid: str) -> None:
        """A foreground owner lost a dependent: look at it again shortly, so that the departures
        of many dependents make one pass over the rest, not one each."""
        self.queue.add_after(Request(_DELETE, uid), RECHECK_DELAY)

    def _observe(self, rt: ResourceType, obj: Obj) -> None:
        """An object was added or changed: update its node, its owner links and its state."""
        meta = obj["metadata"]
        uid = meta.get("uid")
        if not uid:
            return
        refs = meta.get("ownerReferences") or ()
        node = self.nodes.get(uid)
        if node is None:
            node = self.nodes[uid] = _Node(uid, obj.get("apiVersion") or rt.api_version,
                                           obj.get("kind") or rt.kind,
                                           meta.get("namespace") or "", meta["name"], rt=rt)
            old_refs: Iterable[Obj] = ()
        else:
            old_refs = node.owners
            if node.virtual:
                node.virtual = False
                node.api_version = obj.get("apiVersion") or rt.api_version
                node.kind = obj.get("kind") or rt.kind
                node.namespace = meta.get("namespace") or ""
                node.name = meta["name"]
            node.rt = rt
        node.owners = refs
        if refs != old_refs and (refs or old_refs):
            self._owners_changed(node, old_refs, refs)
        deleting = bool(meta.get("deletionTimestamp"))
        node.being_deleted = deleting
        finalizers = meta.get("finalizers") or ()
        orphan = deleting and ORPHAN in finalizers
        foreground = deleting and FOREGROUND in finalizers
        if orphan or foreground:
            self.pending[uid] = None
        else:
            self.pending.pop(uid, None)
        if orphan and not node.orphaning:
            self.queue.add(Request(_ORPHAN, uid))
        node.orphaning = orphan
        if foreground and not node.deleting_dependents:
            node.deleting_dependents = True
            for dep in node.dependents:
                self._enqueue(dep)
            self._enqueue(uid)
        elif not foreground:
            node.deleting_dependents = False

    def _owners_changed(self, node: _Node, old: Iterable[Obj], new: Iterable[Obj]) -> None:
        old_by = {r.get("uid"): r for r in old}
        new_by = {r.get("uid"): r for r in new}
        for uid, ref in new_by.items():
            if uid and uid not in old_by:
                self._add_dependent(node, ref)
        for uid, ref in old_by.items():
            owner = self.nodes.get(uid) if uid else None
            if owner is None:
                continue
            kept = new_by.get(uid)
            if kept is None:
                owner.dependents.pop(node.uid, None)
                if owner.virtual and not owner.dependents:
                    del self.nodes[owner.uid]
                elif owner.deleting_dependents:
                    self._recheck(owner.uid)  # one blocker fewer
            elif ref.get("blockOwnerDeletion") and not kept.get("blockOwnerDeletion") and \
                    owner.deleting_dependents:
                self._recheck(owner.uid)

    def _add_dependent(self, node: _Node, ref: Obj) -> None:
        uid = ref["uid"]
        owner = self.nodes.get(uid)
        if owner is None:
            # referenced before (or without) being seen: a virtual node, checked by a GET
            owner = self.nodes[uid] = _Node(uid, str(ref.get("apiVersion", "")),
                                            str(ref.get("kind", "")), node.namespace,
                                            str(ref.get("name", "")), virtual=True)
            self._enqueue(uid)
        elif not owner.virtual and owner.namespace and owner.namespace != node.namespace:
            # the uid is an object of another namespace: the reference cannot be satisfied
            self._enqueue(node.uid)
        elif not owner.virtual and not _same_coordinates(owner, ref):
            # the uid is an object the reference names otherwise (another name or kind): the
            # dependent is looked at, and the reference checked by what it names
            self._enqueue(node.uid)
        if owner.dependents is _NO_DEPENDENTS:
            owner.dependents = {}
        owner.dependents[node.uid] = None

    def _removed(self, obj: Obj) -> None:
        """An object is gone: its dependents are looked at, its owners told."""
        uid = obj["metadata"].get("uid")
        node = self.nodes.get(uid) if uid else None
        if node is None or node.virtual:
            return
        del self.nodes[uid]
        self.pending.pop(uid, None)
        self._forget(node)
        if node.dependents:
            self._absent_add((uid, node.namespace))
            for dep in node.dependents:
                self._enqueue(dep)

    def _forget(self, node: _Node) -> None:
        """Unlink a node that left the graph from its owners."""
        for ref in node.owners:
            owner = self.nodes.get(ref.get("uid", ""))
            if owner is None:
                continue
            owner.dependents.pop(node.uid, None)
            if owner.deleting_dependents:
                self._recheck(owner.uid)
            elif owner.virtual and not owner.dependents:
                del self.nodes[owner.uid]

    def _virtual_delete(self, node: _Node, ns: str) -> None:
        """A virtual owner turned out not to exist: its dependents are looked at."""
        if self.nodes.get(node.uid) is node:
            del self.nodes[node.uid]
        self._absent_add(_coordinates(node.uid, ns, node.api_version, node.kind, node.name))
        for dep in node.dependents:
            self._enqueue(dep)

    def _is_absent(self, uid: str, ns: str, api_version: str, kind: str, name: str) -> bool:
        return (uid, ns) in self.absent or \
            _coordinates(uid, ns, api_version, kind, name) in self.absent

    def _absent_add(self, key: tuple[str, ...]) -> None:
        self.absent[key] = None
        self.absent.move_to_end(key)
        if len(self.absent) > _ABSENT_CACHE:
            self.absent.popitem(last=False)

    # ------------------------------------------------------------------ kinds

    def _resolve(self, api_version: str, kind: str) -> ResourceType | None:
        return self.kinds.get((api_version.rpartition("/")[0], kind))

    def _park(self, uid: str, api_version: str, kind: str) -> None:
        """Wait for a kind the cluster does not serve (yet): a CRD may bring it."""
        self.unresolved.setdefault((api_version.rpartition("/")[0], kind), {})[uid] = None

    def _sync_crd(self, name: str) -> Result | None:
        crd = self.crds.get(name)
        if crd is None or crd["metadata"].get("deletionTimestamp"):
            return None
        rt = custom_resource_type(crd)
        if rt is None or not established(crd):
            return None
        if rt.storage not in self.watched:
            if not is_served(self.client, rt):
                return Result(requeue=True)
            self._watch(self.manager.informer(rt), rt)
        self.kinds[(rt.group, rt.kind)] = rt
        for uid in self.unresolved.pop((rt.group, rt.kind), {}):
            self._enqueue(uid)
        return None

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, request: Request) -> Result | None:
        what, key = request
        if what == _DELETE:
            return self._attempt_to_delete(key)
        if what == _ORPHAN:
            return self._attempt_to_orphan(key)
        if what == _CRD:
            return self._sync_crd(key)
        return None

    def _get(self, rt: ResourceType, name: str, namespace: str) -> Obj | None:
        try:
            return self.client.get(rt, name, namespace or None)
        except errors.NotFound:
            return None

    def _attempt_to_delete(self, uid: str) -> Result | None:
        node = self.nodes.get(uid)
        if node is None or (node.being_deleted and not node.deleting_dependents):
            return None  # being deleted is a one-way trip: its delete event will follow
        if node.virtual:
            return self._check_virtual(node)
        rt = node.rt
        assert rt is not None
        latest = self._get(rt, node.name, node.namespace)
        if latest is None or latest["metadata"].get("uid") != uid:
            return None  # the delete event is on its way
        if node.deleting_dependents:
            return self._delete_dependents(node)
        refs: list[Obj] = latest["metadata"].get("ownerReferences") or []
        if not refs:
            return None
        solid: list[Obj] = []
        dangling: list[Obj] = []
        waiting: list[Obj] = []
        for ref in refs:
            verdict = self._classify(node, ref)
            if verdict is None:
                return None  # unresolvable kind (parked) or an invalid reference (reported)
            {"solid": solid, "dangling": dangling, "waiting": waiting}[verdict].append(ref)
        meta = latest["metadata"]
        if solid:
            if not dangling and not waiting:
                return None
            # the owners that are gone, or waiting for their dependents, lose this dependent
            drop = {r["uid"] for r in dangling} | {r["uid"] for r in waiting}
            self._patch_refs(rt, meta, [r for r in refs if r.get("uid") not in drop])
            return None
        if waiting and node.dependents:
            if any((dep := self.nodes.get(d)) is not None and dep.deleting_dependents
                   for d in node.dependents):
                # break a possible cycle of foreground deletions: stop blocking our owners
                self._patch_refs(rt, meta, [{**r, "blockOwnerDeletion": False} for r in refs])
            self._delete(rt, meta, "Foreground")
            return None
        finalizers = meta.get("finalizers") or ()
        policy = ("Orphan" if ORPHAN in finalizers else
                  "Foreground" if FOREGROUND in finalizers else "Background")
        self._delete(rt, meta, policy)
        return None

    def _check_virtual(self, node: _Node) -> Result | None:
        """A referenced owner never observed: GET it; gone (or another uid) means absent."""
        rt = self._resolve(node.api_version, node.kind)
        if rt is None:
            self._park(node.uid, node.api_version, node.kind)
            return None
        ns = node.namespace if rt.namespaced else ""
        if self._is_absent(node.uid, ns, node.api_version, node.kind, node.name):
            self._virtual_delete(node, ns)
            return None
        if rt.namespaced and not ns:
            # referenced by cluster-scoped objects only, which cannot have namespaced owners:
            # each is looked at (and the reference reported) as a dependent
            self._virtual_delete(node, ns)
            return None
        owner = self._get(rt, node.name, ns)
        if owner is None or owner["metadata"].get("uid") != node.uid:
            self._virtual_delete(node, ns)
            return None
        if rt.storage in self.watched:
            return Result(requeue=True)  # it exists: its informer event is on its way
        return None

    def _classify(self, node: _Node, ref: Obj) -> str | None:
        """``solid`` (owner exists), ``dangling`` (gone), ``waiting`` (owner in foreground
        deletion), or None when the reference cannot be judged."""
        api_version, kind = str(ref.get("apiVersion", "")), str(ref.get("kind", ""))
        rt = self._resolve(api_version, kind)
        if rt is None:
            self._park(node.uid, api_version, kind)
            return None
        if rt.namespaced and not node.namespace:
            # a cluster-scoped object cannot be owned by a namespaced one
            self.events.warning(self._involved(node), "OwnerRefInvalidNamespace",
                                f"ownerRef [{api_version}/{kind}, namespace: , name: "
                                f"{ref.get('name')}, uid: {ref.get('uid')}] does not exist in "
                                f'namespace ""')
            return None
        ns = node.namespace if rt.namespaced else ""
        uid, name = str(ref.get("uid")), str(ref.get("name", ""))
        if self._is_absent(uid, ns, api_version, kind, name):
            return "dangling"
        owner = self._get(rt, name, ns)
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            self._absent_add(_coordinates(uid, ns, api_version, kind, name))
            known = self.nodes.get(uid)
            if known is not None and not known.virtual and known.namespace != ns:
                self.events.warning(self._involved(node), "OwnerRefInvalidNamespace",
                                    f"ownerRef {known.reference()} does not exist in namespace "
                                    f'"{ns}"')
            return "dangling"
        ometa = owner["metadata"]
        if ometa.get("deletionTimestamp") and FOREGROUND in (ometa.get("finalizers") or ()):
            return "waiting"
        return "solid"

    @staticmethod
    def _involved(node: _Node) -> Obj:
        meta: Obj = {"name": node.name, "uid": node.uid}
        if node.namespace:
            meta["namespace"] = node.namespace
        return {"apiVersion": node.api_version, "kind": node.kind, "metadata": meta}

    def _delete_dependents(self, node: _Node) -> Result | None:
        """Foreground: delete what blocks the owner; drop its finalizer once nothing does."""
        blocking: list[_Node] = []
        for d in node.dependents:
            dep = self.nodes.get(d)
            if dep is not None and any(r.get("uid") == node.uid and r.get("blockOwnerDeletion")
                                       for r in dep.owners):
                blocking.append(dep)
        if not blocking:
            assert node.rt is not None
            self._remove_finalizer(node.rt, node, FOREGROUND)
            return None
        for dep in blocking:
            if not dep.being_deleted:
                self._enqueue(dep.uid)
        return None

    def _attempt_to_orphan(self, uid: str) -> Result | None:
        node = self.nodes.get(uid)
        if node is None or node.virtual or not node.orphaning:
            return None
        for d in list(node.dependents):
            dep = self.nodes.get(d)
            if dep is not None and dep.rt is not None and not dep.virtual:
                self._remove_owner(dep.rt, dep, uid)
        assert node.rt is not None
        self._remove_finalizer(node.rt, node, ORPHAN)
        return None

    # ------------------------------------------------------------------ writes

    def _delete(self, rt: ResourceType, meta: Obj, policy: str) -> None:
        # NotFound: gone; Conflict: replaced by another object of the same name
        with contextlib.suppress(errors.NotFound, errors.Conflict):
            self.client.delete(rt, meta["name"], meta.get("namespace"),
                               propagation_policy=policy, preconditions={"uid": meta["uid"]})

    def _patch_refs(self, rt: ResourceType, meta: Obj, refs: list[Obj]) -> None:
        try:
            self.client.patch(rt, meta["name"], {"metadata": {
                "ownerReferences": refs or None, "resourceVersion": meta["resourceVersion"]}},
                meta.get("namespace"), patch_type=PatchType.MERGE)
        except errors.NotFound:
            pass
        except errors.Conflict:
            self._enqueue(meta["uid"])  # changed meanwhile: look again

    def _remove_owner(self, rt: ResourceType, dep: _Node, owner_uid: str) -> None:
        for _attempt in range(5):
            latest = self._get(rt, dep.name, dep.namespace)
            if latest is None or latest["metadata"].get("uid") != dep.uid:
                return
            meta = latest["metadata"]
            refs = meta.get("ownerReferences") or []
            kept = [r for r in refs if r.get("uid") != owner_uid]
            if len(kept) == len(refs):
                return
            try:
                self.client.patch(rt, dep.name, {"metadata": {
                    "ownerReferences": kept or None, "resourceVersion": meta["resourceVersion"]}},
                    dep.namespace or None, patch_type=PatchType.MERGE)
                return
            except errors.NotFound:
                return
            except errors.Conflict:
                continue
        raise errors.Conflict(f"could not remove the owner reference from {dep.describe()}")

    def _remove_finalizer(self, rt: ResourceType, node: _Node, finalizer: str) -> None:
        for _attempt in range(5):
            latest = self._get(rt, node.name, node.namespace)
            if latest is None or latest["metadata"].get("uid") != node.uid:
                return
            meta = latest["metadata"]
            finalizers = meta.get("finalizers") or []
            if finalizer not in finalizers:
                return
            kept = [f for f in finalizers if f != finalizer]
            try:
                self.client.patch(rt, node.name, {"metadata": {
                    "finalizers": kept or None, "resourceVersion": meta["resourceVersion"]}},
                    node.namespace or None, patch_type=PatchType.MERGE)
                return
            except errors.NotFound:
                return
            except errors.Conflict:
                continue
        raise errors.Conflict(f"could not remove the {finalizer} finalizer of {node.describe()}")

    # ------------------------------------------------------------------ settle

    def unconverged(self) -> list[str]:
        out = []
        for uid in self.pending:
            node = self.nodes.get(uid)
            if node is not None:
                what = ("orphaning dependents" if node.orphaning
                        else f"deleting {len(node.dependents)} dependents")
                out.append(f"{node.describe()} ({what})")
        return out


def _coordinates(uid: str, ns: str, api_version: str, kind: str, name: str
                 ) -> tuple[str, str, str, str, str]:
    """An owner as a reference names it (the group, not the version, as upstream compares)."""
    return (uid, ns, api_version.rpartition("/")[0], kind, name)


def _same_coordinates(owner: _Node, ref: Obj) -> bool:
    """Whether ``ref`` names the observed ``owner`` (group, kind and name; not the version)."""
    return (str(ref.get("apiVersion", "")).rpartition("/")[0] ==
            owner.api_version.rpartition("/")[0]
            and ref.get("kind") == owner.kind and ref.get("name") == owner.name)
