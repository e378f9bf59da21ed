"""Annotations kubenb itself defines (``kubenb.io/...``), shared by the simulation that writes
them and the controllers that read them. The ones that tune a simulated container are in
:mod:`kubenb.sim.containers`; docs/simulation.md lists them all."""

from __future__ import annotations

__all__ = ["CPU_USAGE"]

#: a running pod's simulated CPU usage ("250m", "0.25"), read by the HPA controller in place of a
#: metrics API and set by ``cluster.faults.cpu_load``
CPU_USAGE = "kubenb.io/cpu-usage"
