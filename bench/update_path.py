"""Per-operation CPU cost of the apiserver's write path for the control plane's updates.

Converging a large Deployment is mostly updates: the scheduler's ``pods/binding``, the kubelet's
status merge patches, Events, and controllers replacing status. This times each of them through
:class:`kubenb.apiserver.endpoints.Endpoints` exactly as the in-process client calls it
(``validate=False``, the component's field manager), on objects that carry the managedFields a
real cluster gives them, with ``time.process_time`` over many iterations (the machine is shared,
so CPU time is steadier than wall time). Setup writes are not timed.

Operations:

``kubelet-status-patch``  a merge patch of ``pods/status`` by "kubelet" (Pending -> Running) on a
                          pod created by "kube-controller-manager", bound by "kube-scheduler" and
                          given one prior status by "kubelet"
``pods-binding``          ``pods/binding`` by "kube-scheduler" of a freshly created pod
``event-create``          an Event create as the control plane's recorders send it
``deployment-status``     a PUT of ``deployments/status`` by "kube-controller-manager"

Run from the repository root: ``.venv/bin/python -m bench.update_path [--n 2000] [--repeat 3]``.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import copy
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pods import bind_body, pod_body, pod_name, running_status, token_volume
from kubenb import Cluster
from kubenb.apiserver.endpoints import Endpoints, PatchType, WriteOptions

__all__ = ["main", "measure"]

Obj = dict[str, Any]
_STAMP = "2026-01-15T10:00:00Z"


def _opts(manager: str) -> WriteOptions:
    return WriteOptions(field_manager=manager, validate=False)


def pending_status(index: int) -> Obj:
    """The kubelet's first status of a pod: sandbox being created, container waiting."""
    def cond(ctype: str, ok: bool, reason: str = "") -> Obj:
        c: Obj = {"type": ctype, "observedGeneration": 1, "status": "True" if ok else "False",
                  "lastProbeTime": None, "lastTransitionTime": _STAMP}
        if reason:
            c["reason"] = reason
        return c

    return {"status": {
        "phase": "Pending",
        "conditions": [cond("PodReadyToStartContainers", False), cond("Initialized", True),
                       cond("Ready", False, "ContainersNotReady"),
                       cond("ContainersReady", False, "ContainersNotReady"),
                       cond("PodScheduled", True)],
        "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}], "startTime": _STAMP,
        "containerStatuses": [{
            "name": "web", "state": {"waiting": {"reason": "ContainerCreating"}},
            "lastState": {}, "ready": False, "restartCount": 0,
            "image": "docker.io/library/nginx:1.27.3", "imageID": "", "started": False,
            "volumeMounts": [{"name": token_volume(index), "readOnly": True,
                              "recursiveReadOnly": "Disabled",
                              "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]}],
        "qosClass": "Burstable",
    }}


def _running_patch(index: int, rv: str) -> Obj:
    """What the kubelet sends next: the keys of status that changed, guarded by its version."""
    full = running_status(index, node_index=1)["status"]
    prior = pending_status(index)["status"]
    changed = {k: v for k, v in full.items() if prior.get(k) != v}
    return {"metadata": {"resourceVersion": rv}, "status": changed}


def _deployment() -> Obj:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{
                                  "name": "web", "image": "nginx:1.27",
                                  "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                                  "ports": [{"containerPort": 80}]}]}}},
    }


def _deployment_status(i: int, generation: int) -> Obj:
    ready = i % 3
    return {
        "observedGeneration": generation, "replicas": 3, "updatedReplicas": 3,
        "readyReplicas": ready, "availableReplicas": ready,
        "unavailableReplicas": 3 - ready,
        "conditions": [
            {"type": "Available", "status": "True" if ready else "False",
             "lastUpdateTime": _STAMP, "lastTransitionTime": _STAMP,
             "reason": "MinimumReplicasAvailable",
             "message": "Deployment has minimum availability."},
            {"type": "Progressing", "status": "True", "lastUpdateTime": _STAMP,
             "lastTransitionTime": _STAMP, "reason": "NewReplicaSetAvailable",
             "message": 'ReplicaSet "web-7d4b9c8f6d" has successfully progressed.'},
        ],
    }


def _event(i: int) -> Obj:
    name = pod_name(i)
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{name}.{0x18000000 + i:x}", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": name,
                           "uid": "3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b", "apiVersion": "v1",
                           "resourceVersion": "1234"},
        "reason": "Scheduled", "message": f"Successfully assigned default/{name} to node-1",
        "source": {"component": "default-scheduler"},
        "firstTimestamp": _STAMP, "lastTimestamp": _STAMP, "count": 1, "type": "Normal",
        "eventTime": None, "reportingComponent": "default-scheduler",
        "reportingInstance": "default-scheduler",
    }


def _time(fn: Callable[[int], Any], n: int) -> float:
    """CPU microseconds per call of fn(0..n-1)."""
    gc.collect()
    began = time.process_time()
    for i in range(n):
        fn(i)
    return (time.process_time() - began) / n * 1e6


def measure(n: int, *, base: int = 0) -> dict[str, float]:
    """One round of every operation, ``n`` calls each, in a fresh cluster."""
    out: dict[str, float] = {}
    with Cluster(controllers=False, serve=False) as c:
        ep: Endpoints = c.endpoints
        pods = c.registry.get("", "v1", "pods")
        events = c.registry.get("", "v1", "events")
        deployments = c.registry.get("apps", "v1", "deployments")
        assert pods is not None and events is not None and deployments is not None
        kcm, sched, kubelet = _opts("kube-controller-manager"), _opts("kube-scheduler"), \
            _opts("kubelet")

        # setup: pods created, bound and given a first status; then the timed second status
        rvs: list[str] = []
        for i in range(base, base + n):
            ep.create(pods, "default", pod_body(i), kcm)
            ep.bind("default", pod_name(i), bind_body(i, node="node-1"), sched)
            out_pod = ep.patch(pods, "default", pod_name(i), PatchType.MERGE, pending_status(i),
                               kubelet, subresource="status")
            rvs.append(out_pod["metadata"]["resourceVersion"])
        patches = [_running_patch(base + i, rvs[i]) for i in range(n)]
        out["kubelet-status-patch"] = _time(
            lambda i: ep.patch(pods, "default", pod_name(base + i), PatchType.MERGE, patches[i],
                               kubelet, subresource="status"), n)

        # binding: fresh pods
        start = base + n
        for i in range(start, start + n):
            ep.create(pods, "default", pod_body(i), kcm)
        binds = [bind_body(start + i, node=f"node-{i % 7 + 1}") for i in range(n)]
        out["pods-binding"] = _time(
            lambda i: ep.bind("default", pod_name(start + i), binds[i], sched), n)

        bodies = [_event(base + i) for i in range(n)]
        out["event-create"] = _time(
            lambda i: ep.create(events, "default", bodies[i], sched), n)

        dep = ep.create(deployments, "default", _deployment(), _opts("kubectl-client-side-apply"))
        gen = dep["metadata"]["generation"]
        dep = ep.replace(deployments, "default", "web",
                         dict(copy.deepcopy(dep), status=_deployment_status(1, gen)), kcm,
                         subresource="status")
        state = {"dep": dep}

        def replace_status(i: int) -> None:
            body = copy.deepcopy(state["dep"])
            body["status"] = _deployment_status(i + 2, gen)
            state["dep"] = ep.replace(deployments, "default", "web", body, kcm,
                                      subresource="status")
        # the deepcopy of the caller's body is the controller's cost, not the apiserver's
        bodies_cost = _time(lambda i: copy.deepcopy(state["dep"]), n)
        out["deployment-status"] = _time(replace_status, n) - bodies_cost
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="calls per operation and round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (best is reported)")
    args = parser.parse_args(argv)
    rounds = [measure(args.n, base=r * 3 * args.n) for r in range(args.repeat)]
    for op in rounds[0]:
        figures = [r[op] for r in rounds]
        print(f"{op:22s} best={min(figures):8.1f} us  rounds="
              + " ".join(f"{f:.1f}" for f in figures))


if __name__ == "__main__":
    main()
