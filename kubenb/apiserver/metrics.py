"""The resource metrics API, ``metrics.k8s.io/v1beta1``, as metrics-server serves it.

``kubectl top pods`` and ``kubectl top nodes`` read it. On a real cluster metrics-server scrapes
every kubelet and answers from memory; here nodes have no containers, so each answer is computed
when it is asked for, from the stored pods and nodes and the usage model the HPA controller reads
too (:mod:`kubenb.api.usage`). Nothing is stored and nothing can be watched: ``get`` and ``list``
are the verbs, as upstream.

- ``PodMetrics`` for every Running pod with a running container: its containers' CPU (as
  nanocores, ``"50000000n"``) and memory (``"65536Ki"``), with the pod's labels, so label
  selectors work as ``kubectl top pods -l`` expects. Other pods have no metrics yet.
- ``NodeMetrics`` for every Ready node: what its running pods use plus what the node's own system
  daemons use (``SYSTEM_CPU_MILLI`` and ``SYSTEM_MEMORY``, about what an idle kind node shows).

Samples are stamped with the cluster clock's now and a 15 s window (metrics-server's
``--metric-resolution``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from kubenb.api import errors
from kubenb.api.meta import now_rfc3339
from kubenb.api.resources import Registry, ResourceType
from kubenb.api.selectors import FieldSelector, LabelSelector
from kubenb.api.usage import container_usages, containers, pod_cpu_usage, pod_memory_usage
from kubenb.apiserver.store import Store

__all__ = ["GROUP", "SYSTEM_CPU_MILLI", "SYSTEM_MEMORY", "WINDOW", "MetricsAPI", "is_metrics"]

Obj = dict[str, Any]

GROUP = "metrics.k8s.io"
WINDOW = "15s"
#: what a node's own daemons (kubelet, container runtime, kube-proxy) use
SYSTEM_CPU_MILLI = 100
SYSTEM_MEMORY = 512 * 1024 * 1024


def is_metrics(rt: ResourceType) -> bool:
    """Whether ``rt`` is one of the computed resources of this API."""
    return rt.group == GROUP


def _cpu(milli: int) -> str:
    return f"{milli * 1_000_000}n" if milli else "0"


def _memory(size: int) -> str:
    return f"{size // 1024}Ki" if size else "0"


class MetricsAPI:
    """Answers ``get`` and ``list`` of PodMetrics and NodeMetrics from the store."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        pods = registry.get("", "v1", "pods")
        nodes = registry.get("", "v1", "nodes")
        assert pods is not None and nodes is not None
        self._pods, self._nodes = pods, nodes

    def list(self, rt: ResourceType, namespace: str | None, *,
             labels: LabelSelector = LabelSelector(),
             fields: FieldSelector = FieldSelector()) -> list[bytes]:
        """The metrics objects of ``rt`` that match, as JSON, in name order."""
        if rt.kind == "PodMetrics":
            pods = self._objects(self._pods, namespace if rt.namespaced else None, labels,
                                 fields)
            out = [self._pod_metrics(pod) for pod in pods]
        else:
            usage = self._usage_by_node(FieldSelector())
            out = [self._node_metrics(node, usage) for node in
                   self._objects(self._nodes, None, labels, fields)]
        return [orjson.dumps(m) for m in out if m is not None]

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        source = self._pods if rt.kind == "PodMetrics" else self._nodes
        try:
            obj = self.store.get(source, namespace if rt.namespaced else None, name)
        except errors.NotFound:
            obj = None
        metrics = None
        if obj is not None:
            metrics = (self._pod_metrics(obj) if rt.kind == "PodMetrics" else
                       self._node_metrics(obj, self._usage_by_node(FieldSelector(
                           terms=(("spec.nodeName", True, name),)))))
        if metrics is None:
            raise errors.NotFound(f'{rt.qualified} "{name}" not found', name=name,
                                  group=rt.group, kind=rt.plural)
        return metrics

    # ------------------------------------------------------------------ sampling

    def _objects(self, rt: ResourceType, namespace: str | None, labels: LabelSelector,
                 fields: FieldSelector) -> Iterable[Obj]:
        result = self.store.list(rt, namespace=namespace, labels=labels, fields=fields)
        return (orjson.loads(raw) for raw in result.items)

    def _stamp(self) -> str:
        return now_rfc3339(self.store.now())

    @staticmethod
    def _measured(pod: Obj) -> list[str]:
        """The containers of ``pod`` that have metrics: the running ones of a Running pod."""
        status = pod.get("status") or {}
        if status.get("phase") != "Running":
            return []
        running = {s.get("name") for s in status.get("containerStatuses") or ()
                   if "running" in (s.get("state") or {})}
        running |= {s.get("name") for s in status.get("initContainerStatuses") or ()
                    if "running" in (s.get("state") or {})}
        return [c.get("name") for c in containers(pod.get("spec") or {})
                if c.get("name") in running]

    def _pod_metrics(self, pod: Obj) -> Obj | None:
        names = self._measured(pod)
        if not names:
            return None
        cpu, memory = container_usages(pod, "cpu"), container_usages(pod, "memory")
        meta = pod["metadata"]
        stamp = self._stamp()
        out_meta: Obj = {"name": meta["name"], "namespace": meta.get("namespace", ""),
                         "creationTimestamp": stamp}
        if meta.get("labels"):
            out_meta["labels"] = meta["labels"]
        return {
            "kind": "PodMetrics", "apiVersion": f"{GROUP}/v1beta1", "metadata": out_meta,
            "timestamp": stamp, "window": WINDOW,
            "containers": [{"name": name, "usage": {
                "cpu": _cpu(cpu[name]), "memory": _memory(memory[name])}} for name in names],
        }

    def _usage_by_node(self, fields: FieldSelector) -> dict[str, tuple[int, int]]:
        """(CPU millicores, memory bytes) the pods with metrics use, by node name."""
        usage: dict[str, tuple[int, int]] = {}
        for pod in self._objects(self._pods, None, LabelSelector(), fields):
            node = (pod.get("spec") or {}).get("nodeName")
            if node and self._measured(pod):
                cpu, memory = usage.get(node, (0, 0))
                usage[node] = (cpu + pod_cpu_usage(pod), memory + pod_memory_usage(pod))
        return usage

    def _node_metrics(self, node: Obj, usage: dict[str, tuple[int, int]]) -> Obj | None:
        conditions = (node.get("status") or {}).get("conditions") or ()
        if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            return None  # metrics-server cannot scrape a node that is not Ready
        name = node["metadata"]["name"]
        pods_cpu, pods_memory = usage.get(name, (0, 0))
        stamp = self._stamp()
        out_meta: Obj = {"name": name, "creationTimestamp": stamp}
        if node["metadata"].get("labels"):
            out_meta["labels"] = node["metadata"]["labels"]
        return {"kind": "NodeMetrics", "apiVersion": f"{GROUP}/v1beta1", "metadata": out_meta,
                "timestamp": stamp, "window": WINDOW,
                "usage": {"cpu": _cpu(SYSTEM_CPU_MILLI + pods_cpu),
                          "memory": _memory(SYSTEM_MEMORY + pods_memory)}}
