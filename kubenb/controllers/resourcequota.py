"""The resource quota controller (``pkg/controller/resourcequota``): each ResourceQuota's status.

``status.hard`` is what the spec allows and ``status.used`` what the namespace's objects use of
each of those resources (:mod:`kubenb.api.quota` says what counts), so ``kubectl describe quota``
shows ``Used`` beside ``Hard``. A quota is recounted when it changes and whenever a pod, Service,
claim, ConfigMap or Secret of its namespace does; a ``count/<resource>`` of another kind is
recounted with them (upstream also resyncs every five minutes). What a create may use is decided
at admission, from the stored objects, not from this status.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import CONFIGMAPS, PODS, PVCS, SECRETS, SERVICES, builtin
from kubenb.api.quota import format_usage, matches_scopes, usage
from kubenb.api.resources import BUILTIN, ResourceType
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.informer import BY_NAMESPACE, Handler, Informer, by_namespace
from kubenb.runtime.manager import Manager

__all__ = ["ResourceQuotaController"]

Obj = dict[str, Any]

QUOTAS = builtin("", "v1", "resourcequotas")
_BY_RESOURCE = {(rt.group, rt.plural): rt for rt in BUILTIN if rt.alias_of is None}


def _resource_of(name: str) -> tuple[str, str] | None:
    """The resource (group, plural) whose objects use quota resource ``name``."""
    if name in ("services", "services.nodeports", "services.loadbalancers"):
        return ("", "services")
    if name in ("persistentvolumeclaims", "requests.storage") or \
            ".storageclass.storage.k8s.io/" in name:
        return ("", "persistentvolumeclaims")
    if name in ("configmaps", "secrets", "replicationcontrollers", "resourcequotas"):
        return ("", name)
    if name.startswith("count/"):
        plural, _, group = name[6:].partition(".")
        return (group, plural)
    if name in ("pods", "cpu", "memory", "ephemeral-storage") or \
            name.startswith(("requests.", "limits.")):
        return ("", "pods")
    return None


class ResourceQuotaController(Controller):
    name = "resourcequota-controller"
    primary = QUOTAS

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kube-controller-manager")
        self.quotas = mgr.informer(QUOTAS)
        self.quotas.add_index(BY_NAMESPACE, by_namespace)
        self.watch_self(self.quotas)
        self.informers: dict[tuple[str, str], Informer] = {}
        for rt in (PODS, SERVICES, PVCS, CONFIGMAPS, SECRETS):
            informer = mgr.informer(rt)
            self.informers[(rt.group, rt.plural)] = informer
            informer.add_handler(Handler(on_add=self._changed,
                                         on_update=self._updated(rt.group, rt.plural),
                                         on_delete=self._changed))

    def _updated(self, group: str, plural: str) -> Callable[[Obj, Obj], None]:
        """An update matters only when what the object uses changed (a pod that finished, a
        Service that became a NodePort): the many status writes of running pods do not
        recount the namespace's quotas, as upstream's replenishment does."""
        def updated(old: Obj, new: Obj) -> None:
            if not self.quotas.count_index(BY_NAMESPACE, new["metadata"].get("namespace") or ""):
                return  # no quota to recount (the usual namespace): skip reading the usage
            deadline = [(o.get("spec") or {}).get("activeDeadlineSeconds") for o in (old, new)]
            if usage(group, plural, old) != usage(group, plural, new) or \
                    deadline[0] != deadline[1]:  # the Terminating scope may have changed
                self._changed(new)
        return updated

    def _changed(self, obj: Obj) -> None:
        namespace = obj["metadata"].get("namespace") or ""
        for quota in self.quotas.by_index(BY_NAMESPACE, namespace):
            self.enqueue(quota)

    def reconcile(self, request: Request) -> Result | None:
        quota = self.quotas.get(request.name, request.namespace)
        if quota is None or quota["metadata"].get("deletionTimestamp"):
            return None
        hard = dict((quota.get("spec") or {}).get("hard") or {})
        used = {name: Fraction(0) for name in hard}
        resources = {r for r in map(_resource_of, hard) if r is not None}
        for group, plural in sorted(resources):
            for obj in self._objects(group, plural, request.namespace):
                if not matches_scopes(quota, group, plural, obj):
                    continue
                for name, amount in usage(group, plural, obj).items():
                    if name in used:
                        used[name] += amount
        status = {"hard": hard, "used": {name: format_usage(name, amount)
                                         for name, amount in used.items()}}
        if quota.get("status") == status:
            return None
        try:
            self.client.replace_status(QUOTAS, {**quota, "status": status})
        except errors.Conflict:
            return Result(requeue=True)
        except errors.NotFound:
            pass
        return None

    def _objects(self, group: str, plural: str, namespace: str) -> list[Obj]:
        informer = self.informers.get((group, plural))
        if informer is not None:
            return informer.list(namespace)
        rt: ResourceType | None = _BY_RESOURCE.get((group, plural))
        if rt is None or not rt.namespaced or "list" not in rt.verbs:
            return []
        try:
            return self.client.list(rt, namespace).items
        except errors.APIError:
            return []
