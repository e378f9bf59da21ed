"""The namespace controller: a deleted namespace takes its content with it (``pkg/controller/
namespace``).

Deleting a namespace only marks it (``deletionTimestamp``, phase ``Terminating``): the apiserver
keeps it while ``spec.finalizers`` holds ``kubernetes``. This controller then deletes every
namespaced object in it, built-in kinds and custom resources alike, through the client, reports
progress in the namespace's conditions (``NamespaceDeletionDiscoveryFailure``,
``NamespaceDeletionContentFailure``, ``NamespaceContentRemaining``,
``NamespaceFinalizersRemaining``), and once nothing is left removes its finalizer through the
``namespaces/finalize`` subresource, so the apiserver deletes the namespace.

Content that takes time (pods terminating gracefully on their kubelet, objects held by
finalizers) is waited for as kube-controller-manager does (a requeue after about half the
estimated time), but as a background timer: the deletion of any object in a terminating namespace
re-enqueues it, so convergence is driven by those events and a namespace stuck on a finalizer no
one removes shows up in ``settle()``'s report instead of keeping the clock busy.
"""

from __future__ import annotations

from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import NAMESPACES, PODS
from kubenb.api.resources import BUILTIN, ResourceType
from kubenb.controllers.gc import CRDS, custom_resource_type, established, is_served
from kubenb.controllers.podutil import now_string, parse_time
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.informer import Handler
from kubenb.runtime.manager import Manager

__all__ = ["NamespaceController", "namespaced_content_types"]

Obj = dict[str, Any]

FINALIZER = "kubernetes"
#: how long objects held by a finalizer are expected to take (``finalizerEstimateSeconds``)
FINALIZER_ESTIMATE = 15

#: how long after content left a terminating namespace it is looked at again
RECHECK_DELAY = 0.5

_CRD = "\x00crd"  # request namespace of CRD requests (namespaces are cluster-scoped: "" else)

#: condition types in the order kube-controller-manager writes them, with their "all is well"
#: reason and message
_OK = (
    ("NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered",
     "All resources successfully discovered"),
    ("NamespaceDeletionGroupVersionParsingFailure", "ParsedGroupVersions",
     "All legacy kube types successfully parsed"),
    ("NamespaceDeletionContentFailure", "ContentDeleted",
     "All content successfully deleted, may be waiting on finalization"),
    ("NamespaceContentRemaining", "ContentRemoved", "All content successfully removed"),
    ("NamespaceFinalizersRemaining", "ContentHasNoFinalizers",
     "All content-preserving finalizers finished"),
)


def namespaced_content_types() -> list[ResourceType]:
    """The built-in namespaced resources a namespace's deletion empties."""
    return [rt for rt in BUILTIN if rt.namespaced and rt.alias_of is None
            and {"list", "delete"} <= set(rt.verbs)]


def _gvr(rt: ResourceType) -> str:
    return f"{rt.group}/{rt.version}, Resource={rt.plural}"


class NamespaceController(Controller):
    """Empties terminating namespaces, then finalizes them."""

    name = "namespace-controller"
    primary = NAMESPACES

    def __init__(self) -> None:
        self.watched: set[tuple[str, str]] = set()
        self.progress: dict[str, str] = {}  # namespace -> what it still waits for

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kube-controller-manager")
        self.clock = mgr.clock
        self.namespaces = mgr.informer(NAMESPACES)
        self.namespaces.add_handler(Handler(on_add=self._namespace,
                                            on_update=lambda _old, new: self._namespace(new),
                                            on_delete=self._namespace_gone))
        self.crds = mgr.informer(CRDS)
        self.crds.add_handler(Handler(
            on_add=lambda crd: self.queue.add(Request(_CRD, crd["metadata"]["name"])),
            on_update=lambda _old, crd: self.queue.add(Request(_CRD, crd["metadata"]["name"]))))
        self.content = namespaced_content_types()
        for rt in self.content:
            if rt.storage != ("", "events"):  # too many to watch; they never hold anything up
                self._watch_content(mgr, rt)

    def _watch_content(self, mgr: Manager, rt: ResourceType) -> None:
        self.watched.add(rt.storage)
        mgr.informer(rt).add_handler(Handler(on_delete=self._content_gone))

    def _namespace(self, ns: Obj) -> None:
        if ns["metadata"].get("deletionTimestamp"):
            self.queue.add(Request("", ns["metadata"]["name"]))

    def _namespace_gone(self, ns: Obj) -> None:
        self.progress.pop(ns["metadata"]["name"], None)

    def _content_gone(self, obj: Obj) -> None:
        """Something left a namespace: if it is terminating, look at it again soon (a short
        delay gathers the deletions of many objects into one pass)."""
        namespace = obj["metadata"].get("namespace")
        ns = self.namespaces.get(namespace) if namespace else None
        if ns is not None and ns["metadata"].get("deletionTimestamp"):
            self.queue.add_after(Request("", namespace), RECHECK_DELAY)

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, request: Request) -> Result | None:
        if request.namespace == _CRD:
            return self._sync_crd(request.name)
        cached = self.namespaces.get(request.name)
        if cached is None or not cached["metadata"].get("deletionTimestamp"):
            return None
        try:
            ns = self.client.get(NAMESPACES, request.name)
        except errors.NotFound:
            return None
        if not ns["metadata"].get("deletionTimestamp"):
            return None
        status = ns.setdefault("status", {})
        if status.get("phase") != "Terminating":
            status["phase"] = "Terminating"
            ns = self.client.replace_status(NAMESPACES, ns)
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or ()):
            return None  # finalized: other finalizers (or the apiserver) have the last word
        estimate, remaining = self._delete_content(ns)
        if remaining:
            self.progress[request.name] = remaining
            # content deletions re-enqueue the namespace; this is only a fallback
            self.queue.add_after(request, estimate // 2 + 1 if estimate else FINALIZER_ESTIMATE,
                                 background=True)
            return None
        self.progress.pop(request.name, None)
        self._finalize(ns)
        return None

    def _delete_content(self, ns: Obj) -> tuple[int, str]:
        """Delete everything in the namespace; returns the estimated seconds until what is left
        goes and a description of what is left ("" when nothing), having written the
        namespace's conditions. Raises when deletions failed (retried with back-off)."""
        name = ns["metadata"]["name"]
        deleted_at = parse_time(ns["metadata"]["deletionTimestamp"]) or self.clock.now()
        types = list(self.content)
        discovery: list[str] = []
        for crd in sorted(self.crds, key=lambda c: c["metadata"]["name"]):
            rt = custom_resource_type(crd)
            if rt is not None and rt.namespaced and established(crd):
                types.append(rt)
        estimate = 0
        failures: list[str] = []
        stuck: list[str] = []
        remaining: dict[str, int] = {}
        finalizers: dict[str, int] = {}
        for rt in types:
            try:
                items = self.client.list(rt, name).items
            except errors.NotFound as exc:
                if rt.custom:
                    continue  # not served (yet, or any more): it has no objects to delete
                discovery.append(f"{rt.group}/{rt.version}: {exc}")
                continue
            except errors.APIError as exc:
                failures.append(f"{_gvr(rt)}: {exc}")
                continue
            if not items:
                continue
            grace = self._pod_estimate(items, deleted_at) if rt == PODS else 0
            deleted = False
            for obj in items:
                meta = obj["metadata"]
                if meta.get("deletionTimestamp"):
                    continue  # on its way out already
                deleted = True
                try:
                    self.client.delete(rt, meta["name"], name, propagation_policy="Background")
                except errors.NotFound:
                    pass
                except errors.APIError as exc:
                    failures.append(f"{_gvr(rt)}: {exc}")
            left = self.client.list(rt, name).items if deleted else items
            if not left:
                continue
            remaining[f"{rt.plural}.{rt.group}"] = len(left)
            held = 0
            for obj in left:
                for fin in obj["metadata"].get("finalizers") or ():
                    finalizers[fin] = finalizers.get(fin, 0) + 1
                    held = 1
            if grace:
                estimate = max(estimate, grace)
            elif held:
                estimate = max(estimate, FINALIZER_ESTIMATE)
            else:
                stuck.append(f"unexpected items still remain in namespace: {name} for gvr: "
                             f"{_gvr(rt)}")
        self._set_conditions(ns, discovery, failures + stuck, remaining, finalizers)
        if failures:
            raise errors.InternalError(
                f"failed to delete all resource types, {len(failures)} remaining: "
                + "; ".join(failures))
        parts = [f"{k} has {v} resource instances" for k, v in sorted(remaining.items())]
        parts += [f"{k} in {v} resource instances" for k, v in sorted(finalizers.items())]
        if discovery and not parts:
            parts = ["discovery failed for " + ", ".join(discovery)]
        return estimate, "; ".join(parts)

    def _pod_estimate(self, pods: list[Obj], deleted_at: float) -> int:
        """The longest grace period of the pods still running, while it has not elapsed since
        the namespace was deleted (``estimateGracefulTerminationForPods``)."""
        estimate = 0
        for pod in pods:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
            if grace is not None and int(grace) > estimate:
                estimate = int(grace)
        if self.clock.now() - deleted_at >= estimate:
            return 0
        return estimate

    def _set_conditions(self, ns: Obj, discovery: list[str], failures: list[str],
                        remaining: dict[str, int], finalizers: dict[str, int]) -> None:
        bad: dict[str, tuple[str, str]] = {}
        if discovery:
            bad["NamespaceDeletionDiscoveryFailure"] = (
                "DiscoveryFailed",
                f"Discovery failed for some groups, {len(discovery)} failing: "
                + ", ".join(discovery))
        if failures:
            bad["NamespaceDeletionContentFailure"] = (
                "ContentDeletionFailed",
                f"Failed to delete all resource types, {len(failures)} remaining: "
                + ", ".join(failures))
        if remaining:
            bad["NamespaceContentRemaining"] = (
                "SomeResourcesRemain", "Some resources are remaining: " + ", ".join(
                    f"{k} has {v} resource instances" for k, v in sorted(remaining.items())))
        if finalizers:
            bad["NamespaceFinalizersRemaining"] = (
                "SomeFinalizersRemain",
                "Some content in the namespace has finalizers remaining: " + ", ".join(
                    f"{k} in {v} resource instances" for k, v in sorted(finalizers.items())))
        now = now_string(self.clock.now())
        old = {c.get("type"): c for c in (ns.get("status") or {}).get("conditions") or ()}
        conditions: list[Obj] = []
        for ctype, ok_reason, ok_message in _OK:
            status, (reason, message) = ("True", bad[ctype]) if ctype in bad else (
                "False", (ok_reason, ok_message))
            prev = old.pop(ctype, None)
            since = now
            if prev is not None and prev.get("status") == status:
                since = prev.get("lastTransitionTime") or now
            conditions.append({"type": ctype, "status": status, "lastTransitionTime": since,
                               "reason": reason, "message": message})
        conditions.extend(old.values())  # conditions others set are kept
        if conditions == (ns.get("status") or {}).get("conditions"):
            return
        ns["status"]["conditions"] = conditions
        try:
            updated = self.client.replace_status(NAMESPACES, ns)
        except errors.Conflict:
            return  # the next pass writes them
        ns["metadata"]["resourceVersion"] = updated["metadata"]["resourceVersion"]

    def _finalize(self, ns: Obj) -> None:
        """Remove our token from ``spec.finalizers`` (``namespaces/finalize``)."""
        for _attempt in range(5):
            kept = [f for f in (ns.get("spec") or {}).get("finalizers") or () if f != FINALIZER]
            body = {"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": ns["metadata"]["name"],
                                 "resourceVersion": ns["metadata"]["resourceVersion"]},
                    "spec": {"finalizers": kept}}
            try:
                self.client.replace(NAMESPACES, body, subresource="finalize")
                return
            except errors.NotFound:
                return
            except errors.Conflict:
                try:
                    latest = self.client.get(NAMESPACES, ns["metadata"]["name"])
                except errors.NotFound:
                    return
                if latest["metadata"].get("uid") != ns["metadata"].get("uid"):
                    return
                ns = latest
        raise errors.Conflict(f"namespace {ns['metadata']['name']} kept changing")

    def _sync_crd(self, name: str) -> Result | None:
        """Watch the deletions of a new custom resource (they re-enqueue namespaces)."""
        crd = self.crds.get(name)
        if crd is None or not established(crd):
            return None
        rt = custom_resource_type(crd)
        if rt is None or not rt.namespaced or rt.storage in self.watched:
            return None
        if not is_served(self.client, rt):
            return Result(requeue=True)
        self._watch_content(self.manager, rt)
        return None

    # ------------------------------------------------------------------ settle

    def unconverged(self) -> list[str]:
        out = []
        for ns in self.namespaces:
            meta = ns["metadata"]
            if meta.get("deletionTimestamp"):
                left = self.progress.get(meta["name"])
                out.append(f"namespace/{meta['name']} (Terminating"
                           + (f": {left})" if left else ")"))
        return out
