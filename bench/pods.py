"""Realistic pods for the LIST and memory benchmarks, written the way a cluster writes them.

A pod's size decides both figures (LIST joins the stored bytes; memory holds them), and a pod
created from a three-line body is a fraction of a real one. So each pod here is a Deployment
replica as ``kubectl get pod -o json`` shows it on a real cluster: owner reference, template-hash
label, a container with ports, env, resources, a readiness probe and the service-account token
volume that admission adds, then bound to a node and given a Running status (conditions,
containerStatuses, podIP, hostIP, qosClass).

It reaches that state through the same three writes a cluster makes, each through
:class:`kubenb.apiserver.endpoints.Endpoints` so defaulting and ``managedFields`` are real:

1. ``create`` (the ReplicaSet controller's create; ``validate=False``, as kubenb's own
   controllers write),
2. ``bind`` (the scheduler's ``pods/binding``: ``spec.nodeName`` and the PodScheduled condition),
3. a strategic-merge patch of ``pods/status`` (what the kubelet sends).

``populate(..., fast=True)`` does step 1..3 for one pod and then stores copies of the result
(new name, uid, IPs) with one ``Store.create`` each: the same bytes per pod at a third of the
writes, for quick runs. The default is the full path.
"""

from __future__ import annotations

import copy
import hashlib
import time
from typing import Any

from kubenb.apiserver.endpoints import PatchType, WriteOptions

__all__ = ["bind_body", "node_of", "pod_body", "pod_name", "populate", "running_status",
           "token_volume"]

Obj = dict[str, Any]

_IMAGE = "docker.io/library/nginx:1.27.3"
_IMAGE_ID = "docker.io/library/nginx@sha256:" + hashlib.sha256(b"nginx:1.27.3").hexdigest()
_TEMPLATE_HASH = "7d4b9c8f6d"
_STARTED = "2026-01-15T10:00:00Z"


def _suffix(index: int) -> str:
    """Five lowercase alphanumerics, unique per index, like a generated pod name suffix."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    out = []
    for _ in range(5):
        index, digit = divmod(index, len(alphabet))
        out.append(alphabet[digit])
    return "".join(out)


def pod_name(index: int, *, app: str = "web") -> str:
    """The pod name for ``index``: ``web-7d4b9c8f6d-bcdfg`` style."""
    return f"{app}-{_TEMPLATE_HASH}-{_suffix(index)}"


def token_volume(index: int) -> str:
    """The service-account token volume's name; its suffix is random per pod on a cluster."""
    return f"kube-api-access-{_suffix(index * 7 + 3)}"


def pod_body(index: int, *, namespace: str = "default", app: str = "web") -> Obj:
    """The create body a ReplicaSet controller sends, after ServiceAccount admission."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(index, app=app),
            "generateName": f"{app}-{_TEMPLATE_HASH}-",
            "namespace": namespace,
            "labels": {"app": app, "pod-template-hash": _TEMPLATE_HASH, "tier": "frontend"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-15T09:59:00Z"},
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": f"{app}-{_TEMPLATE_HASH}",
                "uid": "3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b",
                "controller": True, "blockOwnerDeletion": True,
            }],
        },
        "spec": {
            "containers": [{
                "name": app,
                "image": _IMAGE,
                "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                "env": [{"name": "LOG_LEVEL", "value": "info"},
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {
                            "apiVersion": "v1", "fieldPath": "metadata.name"}}}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                              "limits": {"memory": "256Mi"}},
                "readinessProbe": {"httpGet": {"path": "/healthz", "port": 80,
                                               "scheme": "HTTP"},
                                   "periodSeconds": 10, "timeoutSeconds": 1,
                                   "successThreshold": 1, "failureThreshold": 3},
                "volumeMounts": [{"name": token_volume(index), "readOnly": True,
                                  "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
            }],
            "serviceAccountName": "default",
            "volumes": [{"name": token_volume(index), "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt",
                               "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                    "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ]}}],
        },
    }


def node_of(index: int, nodes: int) -> str:
    """Round-robin placement over ``node-1`` .. ``node-N``."""
    return f"node-{index % nodes + 1}"


def bind_body(index: int, *, node: str, app: str = "web") -> Obj:
    """The scheduler's Binding for pod ``index``."""
    return {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod_name(index, app=app)},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node}}


def running_status(index: int, *, node_index: int, app: str = "web") -> Obj:
    """The kubelet's status patch once the container runs and is ready."""
    pod_ip = f"10.244.{node_index}.{index % 250 + 2}"
    host_ip = f"172.18.0.{node_index + 1}"
    container_id = "containerd://" + hashlib.sha256(f"{app}-{index}".encode()).hexdigest()

    def cond(ctype: str) -> Obj:
        return {"type": ctype, "status": "True", "lastProbeTime": None,
                "lastTransitionTime": _STARTED}

    return {"status": {
        "phase": "Running",
        "conditions": [cond("PodReadyToStartContainers"), cond("Initialized"), cond("Ready"),
                       cond("ContainersReady"), cond("PodScheduled")],
        "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
        "startTime": _STARTED,
        "containerStatuses": [{
            "name": app, "state": {"running": {"startedAt": _STARTED}}, "lastState": {},
            "ready": True, "restartCount": 0, "image": _IMAGE, "imageID": _IMAGE_ID,
            "containerID": container_id, "started": True,
            "volumeMounts": [{"name": token_volume(index), "readOnly": True,
                              "recursiveReadOnly": "Disabled",
                              "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
        }],
        "qosClass": "Burstable",
    }}


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _write_one(cluster: Any, rt: Any, index: int, *, namespace: str, nodes: int) -> None:
    endpoints = cluster.endpoints
    name = pod_name(index)
    endpoints.create(rt, namespace, pod_body(index, namespace=namespace),
                     WriteOptions(field_manager="kube-controller-manager", validate=False))
    node = node_of(index, nodes)
    endpoints.bind(namespace, name, bind_body(index, node=node),
                   WriteOptions(field_manager="default-scheduler", validate=False))
    endpoints.patch(rt, namespace, name, PatchType.STRATEGIC,
                    running_status(index, node_index=index % nodes + 1),
                    WriteOptions(field_manager="kubelet", validate=False), subresource="status")


def populate(cluster: Any, count: int, *, namespace: str = "default", nodes: int = 3,
             fast: bool = False, start: int = 0) -> float:
    """Write ``count`` Running pods into ``cluster`` (a started or unstarted ``Cluster``).

    Returns the seconds it took. The nodes ``node-1``.. are expected to exist (``Cluster(nodes=)``)
    only for realism: binding does not check them.
    """
    rt = cluster.registry.get("", "v1", "pods")
    began = time.perf_counter()
    if not fast:
        for index in range(start, start + count):
            _write_one(cluster, rt, index, namespace=namespace, nodes=nodes)
        return time.perf_counter() - began
    _write_one(cluster, rt, start, namespace=namespace, nodes=nodes)
    template = cluster.store.get(rt, namespace, pod_name(start))
    for key in ("uid", "resourceVersion", "creationTimestamp"):
        template["metadata"].pop(key)
    store = cluster.store
    for index in range(start + 1, start + count):
        obj = copy.deepcopy(template)
        name = pod_name(index)
        obj["metadata"]["name"] = name
        node_index = index % nodes + 1
        obj["spec"]["nodeName"] = node_of(index, nodes)
        # a null in a strategic-merge patch deletes the field, so the full path stores none
        obj["status"] = _without_nulls(running_status(index, node_index=node_index)["status"])
        volume = token_volume(index)
        obj["spec"]["volumes"][0]["name"] = volume
        obj["spec"]["containers"][0]["volumeMounts"][0]["name"] = volume
        store.create(rt, obj)
    return time.perf_counter() - began
