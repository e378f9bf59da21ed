"""kube-scheduler: filter and score nodes for each pending pod, then bind it."""

from kubenb.scheduler.scheduler import Scheduler

__all__ = ["Scheduler"]
