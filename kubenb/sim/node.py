"""What a node looks like to the API: the Node object a kubelet registers, and its status.

Shared by the simulated kubelet (which registers nodes and keeps them alive) and by a cluster run
without the control plane (whose nodes are static Ready objects).
"""

from __future__ import annotations

from typing import Any

from kubenb.api.resources import KUBERNETES_VERSION

__all__ = ["node_address", "node_conditions", "node_object", "node_status", "pod_cidr"]

Obj = dict[str, Any]


def node_object(name: str, *, index: int, labels: dict[str, str] | None = None,
                taints: list[Obj] | None = None) -> Obj:
    """The Node a kubelet creates when it registers (spec and metadata, no status)."""
    node_labels = {
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux", **(labels or {}),
    }
    spec: Obj = {"podCIDR": pod_cidr(index), "podCIDRs": [pod_cidr(index)]}
    if taints:
        spec["taints"] = taints
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": node_labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
            "spec": spec}


def pod_cidr(index: int) -> str:
    """A /24 per node: 10.244.<n>.0/24 as kind and flannel hand them out, continuing through
    10.255.255.0/24 (3,072 nodes), then in 100.64.0.0/10 (16,384 more)."""
    if index < 12 * 256:
        return f"10.{244 + index // 256}.{index % 256}.0/24"
    j = index - 12 * 256
    if j >= 64 * 256:
        raise ValueError(f"no pod CIDR left for node number {index}")
    return f"100.{64 + j // 256}.{j % 256}.0/24"


def node_address(index: int) -> str:
    return f"172.18.{(index + 1) // 256}.{(index + 1) % 256}"


def node_conditions(heartbeat: str, since: str, *, ready: bool = True) -> list[dict[str, str]]:
    """The four conditions a kubelet reports; ``since`` is when they last changed."""

    def condition(ctype: str, status: str, reason: str, message: str) -> dict[str, str]:
        return {"type": ctype, "status": status, "lastHeartbeatTime": heartbeat,
                "lastTransitionTime": since, "reason": reason, "message": message}

    return [
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                  "kubelet has sufficient memory available"),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                  "kubelet has no disk pressure"),
        condition("PIDPressure", "False", "KubeletHasSufficientPID",
                  "kubelet has sufficient PID available"),
        condition("Ready", "True" if ready else "False",
                  "KubeletReady" if ready else "KubeletNotReady",
                  "kubelet is posting ready status" if ready
                  else "container runtime is starting"),
    ]


def node_status(name: str, *, index: int, now: str, cpu: str = "4", memory: str = "16Gi",
                pods: str = "110", ready: bool = True) -> Obj:
    """The status a healthy kubelet posts: capacity, conditions, addresses, versions."""
    resources = {"cpu": cpu, "memory": memory, "pods": pods,
                 "ephemeral-storage": "100Gi", "hugepages-2Mi": "0"}

    return {
        "capacity": resources, "allocatable": dict(resources),
        "conditions": node_conditions(now, now, ready=ready),
        "addresses": [{"type": "InternalIP", "address": node_address(index)},
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
