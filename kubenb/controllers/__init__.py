"""The controllers of kube-controller-manager, one module each.

Each reads the cluster through shared informers and writes only through the client
(:mod:`kubenb.client`), so the same code could run against a real apiserver. The import-linter
contract "controllers reach the store only through the client" keeps it so.
"""

from __future__ import annotations

from kubenb.runtime.controller import Controller

__all__ = ["default_controllers"]


def default_controllers() -> list[Controller]:
    """One of each controller kube-controller-manager runs by default, in a fixed order (the
    engine takes them in turn, so the order is part of what makes a run deterministic)."""
    from kubenb.controllers.replicaset import ReplicaSetController

    return [
        ReplicaSetController(),
    ]
