"""kubenb: a Kubernetes reconciliation engine that lives in a Jupyter kernel.

Today: the embedded API server (``Cluster``) that kubectl and the official clients use unchanged.
Names are imported lazily, so ``import kubenb`` stays cheap in a kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubenb.api.errors import APIError
    from kubenb.cluster import Cluster

__all__ = ["APIError", "Cluster", "__version__"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Cluster":
        from kubenb.cluster import Cluster

        return Cluster
    if name == "APIError":
        from kubenb.api.errors import APIError

        return APIError
    raise AttributeError(f"module 'kubenb' has no attribute {name!r}")
