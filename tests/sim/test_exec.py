"""``pods/exec``: commands run in the simulated shell of a running container, over the
WebSocket remote-command protocol real kubectl and the official Python client speak."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.stream import stream

from kubenb import Cluster
from kubenb.api import errors, kinds
from tests.conftest import Kubectl


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    path: Path = tmp_path_factory.mktemp("exec") / "kubeconfig"
    with Cluster(nodes=1, kubeconfig=path, speed="max", seed=4) as c:
        c.client.create(kinds.PODS, {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [
                {"name": "app", "image": "busybox:1.36",
                 "command": ["sh", "-c", "echo ok > /tmp/healthy; sleep 3600"],
                 "env": [{"name": "GREETING", "value": "hello"}]},
                {"name": "done", "image": "busybox:1.36", "command": ["true"]}]}})
        assert c.settle(30)
        yield c


def test_kubectl_exec(cluster: Cluster) -> None:
    kubectl = Kubectl(cluster.kubeconfig)
    assert kubectl("exec", "web", "-c", "app", "--", "cat", "/tmp/healthy") == "ok\n"
    assert kubectl("exec", "web", "-c", "app", "--", "sh", "-c",
                   "echo $GREETING from $(hostname)") == "hello from web\n"
    failed = kubectl.run("exec", "web", "-c", "app", "--", "sh", "-c", "exit 3", check=False)
    assert failed.returncode == 3
    assert failed.stderr == "command terminated with exit code 3\n"
    # a command the simulated shell does not know succeeds with no output
    assert kubectl("exec", "web", "-c", "app", "--", "ls", "/") == ""


def test_exec_into_what_cannot_run_it(cluster: Cluster) -> None:
    kubectl = Kubectl(cluster.kubeconfig)
    stopped = kubectl.run("exec", "web", "-c", "done", "--", "env", check=False)
    assert stopped.returncode != 0
    assert 'container not found ("done")' in stopped.stderr
    missing = kubectl.run("exec", "nope", "--", "env", check=False)
    assert 'pods "nope" not found' in missing.stderr
    with pytest.raises(errors.BadRequest, match="a container name must be specified"):
        cluster.endpoints.exec("default", "web", "", ["env"])
    with pytest.raises(errors.BadRequest, match="at least 1 command"):
        cluster.endpoints.exec("default", "web", "app", [])


def test_the_official_client_streams_exec(cluster: Cluster) -> None:
    api = config.new_client_from_config(config_file=cluster.kubeconfig)
    try:
        core = client.CoreV1Api(api)
        out = stream(core.connect_get_namespaced_pod_exec, "web", "default", container="app",
                     command=["cat", "/tmp/healthy"], stderr=True, stdin=False, stdout=True,
                     tty=False)
        assert out == "ok\n"
    finally:
        api.close()
