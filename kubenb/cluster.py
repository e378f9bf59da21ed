"""``Cluster``: the embedded Kubernetes cluster, wired together.

One object owns the resource registry, the store (optionally on SQLite), the API endpoints and the
HTTPS server, and writes a kubeconfig that kubectl and the official clients use unchanged::

    with kubenb.Cluster(nodes=3) as cluster:
        subprocess.run(["kubectl", "--kubeconfig", cluster.kubeconfig, "get", "nodes"])

The control plane (controllers, scheduler, simulated kubelets) joins it in later work; today the
nodes are Ready Node objects with capacity, conditions and addresses.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any

from kubenb.api.resources import Registry
from kubenb.apiserver.endpoints import Endpoints, WriteOptions
from kubenb.apiserver.schemas import KUBERNETES_VERSION, schemas
from kubenb.apiserver.server import APIServer, write_kubeconfig
from kubenb.apiserver.store import Backend, Store

__all__ = ["Cluster"]


class Cluster:
    """An embedded cluster: store + API server (+ nodes). A context manager."""

    def __init__(self, *, nodes: int = 0, port: int = 0, host: str = "127.0.0.1",
                 kubeconfig: str | os.PathLike[str] | None = None, tls: bool = True,
                 state: str | os.PathLike[str] | None = None, token: str | None = None,
                 history: int = 50_000) -> None:
        self.registry = Registry()
        self.schemas = schemas()
        backend: Backend | None = None
        if state is not None:
            from kubenb.apiserver.sqlite import SQLiteBackend

            backend = SQLiteBackend(state)
        self.store = Store(self.registry, backend=backend, history=history)
        self.endpoints = Endpoints(self.store, self.registry, self.schemas)
        self.server = APIServer(self.endpoints, host=host, port=port, tls=tls, token=token)
        self._kubeconfig_path = kubeconfig
        self.kubeconfig: str = ""
        self._nodes = nodes
        self.started = False

    def start(self) -> Cluster:
        if self.started:
            return self
        self.server.start()
        self.kubeconfig = str(write_kubeconfig(self._kubeconfig_path, self.server))
        self._bootstrap()
        self.started = True
        return self

    def stop(self) -> None:
        if not self.started:
            return
        self.server.stop()
        self.store.close()
        self.started = False
        if self._kubeconfig_path is None and self.kubeconfig:
            Path(self.kubeconfig).unlink(missing_ok=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def token(self) -> str | None:
        return self.server.token

    @property
    def ca_pem(self) -> bytes:
        return self.server.ca_pem

    # ------------------------------------------------------------------ bootstrap

    def _bootstrap(self) -> None:
        """What a fresh cluster has: the ``kubernetes`` Service and the requested nodes."""
        services = self.registry.get("", "v1", "services")
        assert services is not None
        opts = WriteOptions(field_manager="kube-apiserver", validate=False)
        if not self.store.exists(services, "default", "kubernetes"):
            self.endpoints.create(services, "default", {
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "kubernetes", "labels": {
                    "component": "apiserver", "provider": "kubernetes"}},
                "spec": {"clusterIP": "10.96.0.1", "ports": [
                    {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
            }, opts)
        for i in range(1, self._nodes + 1):
            self.add_node(f"node-{i}", index=i)

    def add_node(self, name: str, *, index: int = 0, cpu: str = "4", memory: str = "16Gi",
                 pods: str = "110", labels: dict[str, str] | None = None) -> dict[str, Any]:
        """Register a Ready node with the given capacity (status written as a kubelet would)."""
        nodes = self.registry.get("", "v1", "nodes")
        assert nodes is not None
        if self.store.exists(nodes, None, name):
            return self.store.get(nodes, None, name)
        opts = WriteOptions(field_manager="kubelet", validate=False)
        node_labels = {
            "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux", **(labels or {}),
        }
        self.endpoints.create(nodes, None, {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": node_labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
            "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]},
        }, opts)
        now = self.endpoints._now()
        resources = {"cpu": cpu, "memory": memory, "pods": pods,
                     "ephemeral-storage": "100Gi", "hugepages-2Mi": "0"}

        def condition(ctype: str, status: str, reason: str, message: str) -> dict[str, str]:
            return {"type": ctype, "status": status, "lastHeartbeatTime": now,
                    "lastTransitionTime": now, "reason": reason, "message": message}

        status = {
            "capacity": resources, "allocatable": resources,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                          "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                          "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID",
                          "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [{"type": "InternalIP", "address": f"172.18.0.{index + 1}"},
                          {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": f"{index:032x}", "systemUUID": f"{index:032x}",
                "bootID": f"{index:032x}", "kernelVersion": "6.1.0-kubenb",
                "osImage": "kubenb simulated node", "containerRuntimeVersion": "kubenb://0.1.0",
                "kubeletVersion": f"v{KUBERNETES_VERSION}",
                "kubeProxyVersion": f"v{KUBERNETES_VERSION}",
                "operatingSystem": "linux", "architecture": "amd64",
            },
        }
        return self.endpoints.replace(nodes, None, name, {
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "status": status,
        }, opts, subresource="status")
