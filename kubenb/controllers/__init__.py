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
    from kubenb.controllers.cronjob import CronJobController
    from kubenb.controllers.daemonset import DaemonSetController
    from kubenb.controllers.deployment import DeploymentController
    from kubenb.controllers.disruption import DisruptionController
    from kubenb.controllers.endpoints import EndpointsController
    from kubenb.controllers.endpointslice import EndpointSliceController
    from kubenb.controllers.gc import GarbageCollector
    from kubenb.controllers.hpa import HorizontalPodAutoscalerController
    from kubenb.controllers.job import JobController
    from kubenb.controllers.namespace import NamespaceController
    from kubenb.controllers.nodelifecycle import NodeLifecycleController, TaintEvictionController
    from kubenb.controllers.podgc import PodGCController
    from kubenb.controllers.replicaset import ReplicaSetController
    from kubenb.controllers.resourcequota import ResourceQuotaController
    from kubenb.controllers.statefulset import StatefulSetController
    from kubenb.controllers.ttl import TTLAfterFinishedController
    from kubenb.controllers.volume import PersistentVolumeController

    return [
        ReplicaSetController(),
        DeploymentController(),
        StatefulSetController(),
        DaemonSetController(),
        JobController(),
        CronJobController(),
        TTLAfterFinishedController(),
        EndpointsController(),
        EndpointSliceController(),
        NodeLifecycleController(),
        TaintEvictionController(),
        GarbageCollector(),
        NamespaceController(),
        PodGCController(),
        PersistentVolumeController(),
        HorizontalPodAutoscalerController(),
        DisruptionController(),
        ResourceQuotaController(),
    ]
