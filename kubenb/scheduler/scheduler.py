"""kube-scheduler (being written)."""

from __future__ import annotations

from kubenb.runtime.controller import Controller, Request, Result
from kubenb.runtime.manager import Manager


class Scheduler(Controller):
    name = "default-scheduler"

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kube-scheduler")

    def reconcile(self, request: Request) -> Result | None:
        return None
