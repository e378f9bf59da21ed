"""What a controller is: ``reconcile(request) -> Result``, and how it is wired.

A request is only a namespace and a name, never the event that caused it (controller-runtime's
rule): a reconcile reads the world from the informers, compares it with the desired state, acts
through the client, and returns. Returning ``Result(requeue_after=s)`` asks to look again after
``s`` seconds of cluster time; raising an exception asks for a rate-limited retry; raising
:class:`TerminalError` says retrying cannot help.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from kubenb.runtime.informer import Handler, key_of

if TYPE_CHECKING:
    from kubenb.runtime.informer import Informer
    from kubenb.runtime.manager import Manager
    from kubenb.runtime.queue import WorkQueue

__all__ = ["Controller", "Request", "Result", "TerminalError", "enqueue_owner", "enqueue_self"]

Obj = dict[str, Any]


class Request(NamedTuple):
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class Result:
    requeue: bool = False
    requeue_after: float = 0.0


class TerminalError(Exception):
    """A reconcile error that retrying will not fix (logged and recorded, not retried)."""


def request_for(obj: Obj) -> Request:
    return Request(*key_of(obj))


class Controller:
    """Base class: subclasses set ``name`` and implement :meth:`setup` and :meth:`reconcile`.

    ``setup`` runs once in :meth:`Manager.add`: it takes the shared informers it reads
    (``mgr.informer(kinds.PODS)``), adds handlers that enqueue requests, and keeps what it needs.
    """

    name = "controller"
    #: the resource whose objects the requests name (used for Events about failed reconciles)
    primary: Any = None

    queue: WorkQueue[Request]
    manager: Manager

    def setup(self, mgr: Manager) -> None:
        raise NotImplementedError

    def reconcile(self, request: Request) -> Result | None:
        raise NotImplementedError

    def unconverged(self) -> list[str]:
        """Objects this controller still has work for (what ``Cluster.settle`` reports)."""
        return []

    # helpers for handlers
    def enqueue(self, obj: Obj) -> None:
        self.queue.add(request_for(obj))

    def watch_self(self, informer: Informer) -> None:
        """Reconcile an object whenever it changes."""
        informer.add_handler(enqueue_self(self))

    def watch_owned(self, informer: Informer, owner_kind: str) -> None:
        """Reconcile the controlling owner (of ``owner_kind``) when an owned object changes."""
        informer.add_handler(enqueue_owner(self, owner_kind))


def enqueue_self(ctrl: Controller) -> Handler:
    return Handler(on_add=ctrl.enqueue, on_update=lambda _old, new: ctrl.enqueue(new),
                   on_delete=ctrl.enqueue)


def enqueue_owner(ctrl: Controller, owner_kind: str,
                  also: Callable[[Obj], None] | None = None, *,
                  defer_updates: bool = False) -> Handler:
    """Reconcile the controlling owner of an object that changes. ``defer_updates``: updates
    (not adds or deletes) reach the owner through :meth:`WorkQueue.add_deferred`, so a burst of
    status changes of many owned objects costs one reconcile of the owner."""

    def owner(obj: Obj, deferred: bool = False) -> None:
        meta = obj["metadata"]
        for ref in meta.get("ownerReferences") or ():
            if ref.get("controller") and ref.get("kind") == owner_kind:
                req = Request(meta.get("namespace") or "", ref["name"])
                if deferred:
                    ctrl.queue.add_deferred(req)
                else:
                    ctrl.queue.add(req)
        if also is not None:
            also(obj)

    def changed(old: Obj, new: Obj) -> None:
        owner(new, defer_updates)
        if old["metadata"].get("ownerReferences") != new["metadata"].get("ownerReferences"):
            owner(old)

    return Handler(on_add=owner, on_update=changed, on_delete=owner)
