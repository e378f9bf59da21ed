"""Annotations kubenb itself defines (``kubenb.io/...``), shared by the simulation that writes
them and the controllers that read them. The ones that tune a simulated container are in
:mod:`kubenb.sim.containers`; docs/simulation.md lists them all."""

from __future__ import annotations

__all__ = ["CPU_USAGE", "MEMORY_USAGE"]

#: a running pod's simulated CPU usage ("250m", "0.25"), read by the HPA controller and the
#: metrics API (kubenb.api.usage) and set by ``cluster.faults.cpu_load``
CPU_USAGE = "kubenb.io/cpu-usage"
#: a running pod's simulated memory usage ("300Mi"), served by the metrics API
MEMORY_USAGE = "kubenb.io/memory-usage"
