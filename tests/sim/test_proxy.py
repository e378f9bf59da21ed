"""``pods/proxy`` and ``services/proxy``: what ``kubectl proxy`` shows of the demo images'
servers (the Kubernetes Basics tutorial's ``curl .../pods/$POD_NAME:8080/proxy/``), one ready
endpoint of a Service at a time, and the errors of what cannot be reached."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from tests.conftest import Kubectl
from tests.sim.util import make_pod, run_pod

Obj = dict[str, Any]


def deployment(name: str, image: str, replicas: int, port: int) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{
                                      "name": name, "image": image,
                                      "ports": [{"containerPort": port, "name": "http"}]}]}}}}


def service(name: str, port: int, target: int | str) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"app": name},
                     "ports": [{"name": "web", "port": port, "targetPort": target}]}}


def proxy(c: Cluster, rt: Any, target: str, path: str = "/") -> tuple[int, str, str]:
    return c.endpoints.proxy(rt, "default", target, path)


def test_demo_servers_answer_through_the_pod_proxy(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("bootcamp", image="gcr.io/google-samples/kubernetes-bootcamp:v1"))
    run_pod(cluster, make_pod("hello", image="gcr.io/google-samples/hello-app:2.0"))
    run_pod(cluster, make_pod("echo", image="hashicorp/http-echo",
                              args=["-text=hi there", "-listen=:5678"]))
    assert cluster.settle(30)
    assert proxy(cluster, kinds.PODS, "bootcamp:8080") == (
        200, "text/plain; charset=utf-8",
        "Hello Kubernetes bootcamp! | Running on: bootcamp | v=1\n")
    assert proxy(cluster, kinds.PODS, "hello:8080")[2] == \
        "Hello, world!\nVersion: 2.0.0\nHostname: hello\n"
    assert proxy(cluster, kinds.PODS, "echo:5678")[2] == "hi there\n"
    with pytest.raises(errors.ServiceUnavailable) as refused:
        proxy(cluster, kinds.PODS, "bootcamp:9999")
    ip = cluster.client.get(kinds.PODS, "bootcamp", "default")["status"]["podIP"]
    assert refused.value.status["message"] == (
        f"error trying to reach service: dial tcp {ip}:9999: connect: connection refused")


def test_nginx_serves_what_was_written_into_its_docroot(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web", image="nginx:1.27"))
    assert cluster.settle(30)
    status, ctype, body = proxy(cluster, kinds.PODS, "web")  # no port: 80
    assert (status, ctype) == (200, "text/html") and "<h1>Welcome to nginx!</h1>" in body
    assert proxy(cluster, kinds.PODS, "web:80", "/missing.html")[0] == 404
    cluster.endpoints.exec("default", "web", "app", [
        "sh", "-c", 'echo "$(hostname)" > /usr/share/nginx/html/index.html'])
    assert proxy(cluster, kinds.PODS, "web", "/")[2] == "web\n"


def test_the_service_proxy_takes_its_ready_endpoints_in_turn(cluster: Cluster) -> None:
    cluster.client.create(kinds.DEPLOYMENTS, deployment("hello", "gcr.io/google-samples/"
                                                                 "hello-app:1.0", 2, 8080))
    cluster.client.create(kinds.SERVICES, service("hello", 80, "http"))
    assert cluster.settle(60)
    pods = {p["metadata"]["name"] for p in cluster.client.list(
        kinds.PODS, "default", label_selector="app=hello").items}
    seen = {proxy(cluster, kinds.SERVICES, target)[2].splitlines()[-1].split(": ")[1]
            for target in ("hello:80", "hello:web", "http:hello:web", "hello:web")}
    assert seen == pods  # both pods answered
    with pytest.raises(errors.ServiceUnavailable):  # as upstream: a named port must be named
        proxy(cluster, kinds.SERVICES, "hello")
    with pytest.raises(errors.ServiceUnavailable, match='no service port 81 found for service '
                                                        '"hello"'):
        proxy(cluster, kinds.SERVICES, "hello:81")
    cluster.client.patch(kinds.DEPLOYMENTS, "hello", {"spec": {"replicas": 0}}, "default")
    assert cluster.settle(60)
    with pytest.raises(errors.ServiceUnavailable, match='no endpoints available for service '
                                                        '"hello"'):
        proxy(cluster, kinds.SERVICES, "hello:web")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    path: Path = tmp_path_factory.mktemp("proxy") / "kubeconfig"
    with Cluster(nodes=1, kubeconfig=path, speed="max", seed=6) as c:
        c.client.create(kinds.DEPLOYMENTS, deployment(
            "kubernetes-bootcamp", "gcr.io/google-samples/kubernetes-bootcamp:v1", 1, 8080))
        assert c.settle(60)
        yield c


def test_kubectl_reaches_a_pod_through_the_api_server(served: Cluster) -> None:
    kubectl = Kubectl(served.kubeconfig)
    pod = kubectl("get", "pods", "-o", "jsonpath={.items[0].metadata.name}")
    text = kubectl("get", "--raw", f"/api/v1/namespaces/default/pods/{pod}:8080/proxy/")
    assert text == f"Hello Kubernetes bootcamp! | Running on: {pod} | v=1\n"
    missing = kubectl.run("get", "--raw", "/api/v1/namespaces/default/services/none/proxy/",
                          check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr
    resources = kubectl("get", "--raw", "/api/v1")
    assert '"pods/proxy"' in resources and '"services/proxy"' in resources


def test_curl_and_wget_in_exec_reach_pods_and_services(cluster: Cluster) -> None:
    """What ``kubectl exec ... -- curl`` finds: the pod itself on localhost, a Service by any
    of its DNS names or its cluster IP (its ready endpoints in turn, as kube-proxy spreads
    connections), a pod by IP; curl's and wget's errors for what is not there."""
    cluster.client.create(kinds.DEPLOYMENTS, deployment("hello", "gcr.io/google-samples/"
                                                                 "hello-app:1.0", 2, 8080))
    cluster.client.create(kinds.SERVICES, service("hello", 80, 8080))
    run_pod(cluster, make_pod("client", image="nginx:1.27"))
    assert cluster.settle(60)

    def sh(script: str) -> tuple[int, str]:
        return cluster.endpoints.exec("default", "client", "app", ["sh", "-c", script])

    assert sh("curl -s localhost | grep -c '<h1>Welcome to nginx'") == (0, "1\n")
    ip = cluster.client.get(kinds.SERVICES, "hello", "default")["spec"]["clusterIP"]
    hosts = set()
    for name in ("hello", "hello.default", "hello.default.svc.cluster.local", ip, "hello"):
        code, out = sh(f"wget -qO- http://{name}/ | tail -1")
        assert code == 0, out
        hosts.add(out.strip().split(": ")[1])
    pods = cluster.client.list(kinds.PODS, "default", label_selector="app=hello").items
    assert hosts == {p["metadata"]["name"] for p in pods}
    pod_ip = pods[0]["status"]["podIP"]
    assert sh(f"curl -s {pod_ip}:8080 | head -1") == (0, "Hello, world!\n")
    assert sh("curl -s -o /tmp/page http://hello/; cat /tmp/page | head -1") == (
        0, "Hello, world!\n")
    assert sh("curl -s -w '%{http_code}' -o /dev/null http://localhost/nope") == (0, "404\n")
    assert sh("curl -sf http://localhost/nope") == (22, "")
    assert sh("curl -s http://nowhere/") == (6, "")
    assert sh("curl http://nowhere/") == (6, "curl: (6) Could not resolve host: nowhere\n")
    assert sh("curl -sS http://hello:81/")[1] == (
        "curl: (7) Failed to connect to hello port 81 after 0 ms: Couldn't connect to "
        "server\n")
    assert sh("wget -qO- http://nowhere") == (1, "wget: bad address 'nowhere'\n")
    cluster.client.patch(kinds.DEPLOYMENTS, "hello", {"spec": {"replicas": 0}}, "default")
    assert cluster.settle(60)
    assert sh("wget -qO- http://hello") == (
        1, "wget: can't connect to remote host: Connection refused\n")
