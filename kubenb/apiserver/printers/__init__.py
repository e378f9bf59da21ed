"""Server-side printing: objects as ``meta.k8s.io/v1`` Tables, the way kubectl wants them.

``kubectl get`` asks for ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints
whatever columns come back; the columns and the cell text are decided by the apiserver, not by
kubectl. So to look like a real 1.37 cluster, kubenb has to reproduce the apiserver's printers (the
semantics of upstream Kubernetes, re-implemented, not copied).

``table`` is the one entry point. The modules behind it:

* ``tables``: the Table itself and the request-level options (includeObject, watch, list metadata).
* ``columns``: column definitions and the registry of built-in printers; ``cells``: the helpers
  every printer shares (field readers, ages, labels, selectors, quantities).
* ``pods``, ``core``, ``workloads``, ``networking``, ``cluster``, ``controlplane``: the built-in
  kinds' printers, which register themselves when imported (so this package imports them all).
* ``custom``: CRD ``additionalPrinterColumns`` and the default Name/Created At table, with
  ``jsonpath`` evaluating the columns' paths.
"""

from __future__ import annotations

# Imported for their side effect: each module registers its kinds' printers.
from kubenb.apiserver.printers import (  # noqa: F401
    cluster,
    controlplane,
    core,
    networking,
    pods,
    workloads,
)
from kubenb.apiserver.printers.cells import human_duration
from kubenb.apiserver.printers.tables import table

__all__ = ["human_duration", "table"]
