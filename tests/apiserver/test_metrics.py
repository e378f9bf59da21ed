"""The resource metrics API (metrics.k8s.io/v1beta1): what kubectl top reads, computed from the
simulated usage, never stored, read-only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.api.annotations import MEMORY_USAGE
from kubenb.apiserver.metrics import SYSTEM_CPU_MILLI, SYSTEM_MEMORY
from tests.conftest import Kubectl


def _pod(name: str, *, cpu: str | None = "200m", memory: str | None = "64Mi",
         node: str | None = None, image: str = "nginx:1.27", **annotations: str) -> Any:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    spec: dict[str, Any] = {"containers": [
        {"name": "app", "image": image, "resources": {"requests": requests}},
        {"name": "side", "image": image}]}
    if node:
        spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": name},
                         "annotations": annotations}, "spec": spec}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    path = tmp_path_factory.mktemp("metrics") / "kubeconfig"
    with Cluster(nodes=2, kubeconfig=path, speed="max", seed=3) as c:
        c.client.create(kinds.PODS, _pod("web", node="node-1"))
        c.client.create(kinds.PODS, _pod("db", cpu=None, memory=None, node="node-1",
                                         **{MEMORY_USAGE: "300Mi"}))
        c.client.create(kinds.PODS, _pod("broken", node="node-2", image="no-such-image:0"))
        assert c.settle()
        assert c.faults is not None
        c.faults.cpu_load("default", "web", "500m")
        assert c.settle()
        yield c


def _metrics(c: Cluster, plural: str) -> Any:
    rt = c.registry.get("metrics.k8s.io", "v1beta1", plural)
    assert rt is not None
    return rt


def test_running_pods_report_their_containers_usage(cluster: Cluster) -> None:
    pods = cluster.client.list(_metrics(cluster, "pods"), "default").items
    by_name = {p["metadata"]["name"]: p for p in pods}
    assert set(by_name) == {"web", "db"}  # a pod whose image never pulled has no metrics yet
    web = by_name["web"]
    assert web["window"] == "15s" and web["metadata"]["labels"] == {"app": "web"}
    # 500m split by the CPU requests (200m and none), 64Mi / 2 for one, 4Mi without a request
    assert web["containers"] == [
        {"name": "app", "usage": {"cpu": "500000000n", "memory": "32768Ki"}},
        {"name": "side", "usage": {"cpu": "0", "memory": "4096Ki"}}]
    db = by_name["db"]
    # no requests at all: 1m idle CPU and the annotated memory, split evenly
    assert [c["usage"] for c in db["containers"]] == [
        {"cpu": "1000000n", "memory": "153600Ki"}, {"cpu": "0", "memory": "153600Ki"}]
    one = cluster.client.get(_metrics(cluster, "pods"), "web", "default")
    assert one["containers"] == web["containers"]
    assert [p["metadata"]["name"] for p in cluster.client.list(
        _metrics(cluster, "pods"), "default", label_selector="app=db").items] == ["db"]
    with pytest.raises(errors.NotFound):
        cluster.client.get(_metrics(cluster, "pods"), "broken", "default")


def test_nodes_report_their_pods_and_their_own_daemons(cluster: Cluster) -> None:
    nodes = {n["metadata"]["name"]: n["usage"]
             for n in cluster.client.list(_metrics(cluster, "nodes"), None).items}
    web_memory = (32 + 4) * 1024 * 1024
    db_memory = 300 * 1024 * 1024
    assert nodes["node-1"] == {
        "cpu": f"{(SYSTEM_CPU_MILLI + 500 + 1) * 1_000_000}n",
        "memory": f"{(SYSTEM_MEMORY + web_memory + db_memory) // 1024}Ki"}
    assert nodes["node-2"] == {"cpu": f"{SYSTEM_CPU_MILLI * 1_000_000}n",
                               "memory": f"{SYSTEM_MEMORY // 1024}Ki"}
    assert cluster.client.get(_metrics(cluster, "nodes"), "node-1")["usage"] == nodes["node-1"]


def test_kubectl_top(cluster: Cluster) -> None:
    kubectl = Kubectl(cluster.kubeconfig)
    rows = [line.split() for line in kubectl("top", "pods", "--no-headers").splitlines()]
    assert sorted(rows) == [["db", "1m", "300Mi"], ["web", "500m", "36Mi"]]
    containers = kubectl("top", "pods", "web", "--containers", "--no-headers").split()
    assert containers == ["web", "app", "500m", "32Mi", "web", "side", "0m", "4Mi"]
    nodes = {line.split()[0]: line.split()[1]
             for line in kubectl("top", "nodes", "--no-headers").splitlines()}
    assert nodes == {"node-1": "601m", "node-2": "100m"}
    missing = kubectl.run("top", "pod", "broken", check=False)
    assert missing.returncode != 0 and "not found" in missing.stderr


@pytest.mark.parametrize("verb", ["create", "replace", "patch", "delete", "watch"])
def test_the_metrics_api_is_read_only(cluster: Cluster, verb: str, tmp_path: Path) -> None:
    kubectl = Kubectl(cluster.kubeconfig)
    body = tmp_path / "m.json"
    body.write_text('{"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics", '
                    '"metadata": {"name": "web", "namespace": "default"}}')
    args = {"create": ["create", "-f", str(body)],
            "replace": ["replace", "-f", str(body)],
            "patch": ["patch", "podmetrics", "web", "--type=merge", "-p", '{"window": "1s"}'],
            "delete": ["delete", "podmetrics", "web"],
            "watch": ["get", "podmetrics", "--watch-only", "--request-timeout=5s"]}[verb]
    proc = kubectl.run(*args, check=False)
    assert proc.returncode != 0
    assert "MethodNotAllowed" in proc.stderr or "not allow" in proc.stderr, proc.stderr
    assert {p["metadata"]["name"] for p in cluster.client.list(
        _metrics(cluster, "pods"), "default").items} == {"web", "db"}


def test_in_process_clients_cannot_watch_metrics_either(cluster: Cluster) -> None:
    with pytest.raises(errors.MethodNotAllowed):
        cluster.client.transport.watch(_metrics(cluster, "pods"), "default", "",
                                       lambda etype, raw: None)
