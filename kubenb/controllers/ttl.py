"""The TTL-after-finished controller: delete finished Jobs ``ttlSecondsAfterFinished`` after they
finished (``pkg/controller/ttlafterfinished``).

A Job finished when its ``Complete`` or ``Failed`` condition turned True; it expires that many
seconds later on the cluster clock. The wait is a foreground timer (part of converging: a settle
on the ``max`` clock jumps to it). Just before deleting, the Job is read again from the API so a
TTL changed meanwhile is honoured, and it is deleted with ``propagationPolicy: Foreground`` and a
UID precondition, as upstream does, so its pods go first and a new Job of the same name is never
touched.
"""

from __future__ import annotations

import logging
from typing import Any

from kubenb.api import errors
from kubenb.api.kinds import JOBS
from kubenb.controllers.job import is_job_finished
from kubenb.controllers.podutil import parse_time
from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.informer import Handler
from kubenb.runtime.manager import Manager

__all__ = ["TTLAfterFinishedController", "expires_at"]

log = logging.getLogger(__name__)

Obj = dict[str, Any]

#: how expired Jobs are deleted (upstream: ``metav1.DeletePropagationForeground``)
PROPAGATION = "Foreground"


def _needs_cleanup(job: Obj) -> bool:
    return ((job.get("spec") or {}).get("ttlSecondsAfterFinished") is not None
            and not job["metadata"].get("deletionTimestamp") and is_job_finished(job))


def expires_at(job: Obj) -> float | None:
    """When a finished Job with a TTL expires (None when it has no finish time)."""
    for cond in (job.get("status") or {}).get("conditions") or ():
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            finished = parse_time(cond.get("lastTransitionTime"))
            if finished is None:
                return None
            return finished + int(job["spec"]["ttlSecondsAfterFinished"])
    return None


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished-controller"
    primary = JOBS

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kube-controller-manager")
        self.clock = mgr.clock
        self.jobs = mgr.informer(JOBS)
        self.jobs.add_handler(Handler(on_add=self._changed,
                                      on_update=lambda _old, new: self._changed(new)))

    def _changed(self, job: Obj) -> None:
        if _needs_cleanup(job):
            self.enqueue(job)

    def reconcile(self, request: Request) -> Result | None:
        job = self.jobs.get(request.name, request.namespace)
        if job is None or not _needs_cleanup(job):
            return None
        left = self._time_left(job)
        if left is None:
            return None
        if left > 0:
            return Result(requeue_after=left)
        # the cached TTL may be stale: check the Job as the apiserver has it now
        try:
            fresh = self.client.get(JOBS, request.name, request.namespace)
        except errors.NotFound:
            return None
        if not _needs_cleanup(fresh):
            return None
        left = self._time_left(fresh)
        if left is None:
            return None
        if left > 0:
            return Result(requeue_after=left)
        log.debug("cleaning up Job %s", request)
        try:
            self.client.delete(JOBS, request.name, request.namespace,
                               propagation_policy=PROPAGATION,
                               preconditions={"uid": fresh["metadata"]["uid"]})
        except (errors.NotFound, errors.Conflict):
            return None  # gone, or replaced by another Job of the same name
        return None

    def _time_left(self, job: Obj) -> float | None:
        expire = expires_at(job)
        if expire is None:
            return None
        return expire - self.clock.now()
