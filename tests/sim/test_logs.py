"""``pods/log`` of simulated containers: what each command form writes, read through the client,
through the apiserver's Endpoints, and through real ``kubectl logs``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kubenb import Cluster
from kubenb.api import errors
from tests.sim.util import make_pod, run_pod

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")


def test_echo_sleep_exit_and_printenv(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("echo", image="busybox:1.36", restart_policy="Never",
                              command=["sh", "-c", "echo hello; sleep 2; echo bye"]))
    run_pod(cluster, make_pod("env", image="busybox:1.36", restart_policy="Never",
                              command=["sh", "-c", "printenv GREETING; echo $POD_IP"],
                              container={"env": [
                                  {"name": "GREETING", "value": "hi"},
                                  {"name": "POD_IP", "valueFrom": {
                                      "fieldRef": {"fieldPath": "status.podIP"}}}]}))
    run_pod(cluster, make_pod("expand", image="busybox:1.36", restart_policy="Never",
                              command=["echo"], args=["$(WHO) and $$(WHO)"],
                              container={"env": [{"name": "WHO", "value": "me"}]}))
    assert cluster.settle(10)
    assert cluster.client.log("default", "echo") == "hello\nbye\n"
    ip = cluster.client.get(cluster.kubelets.pods.rt, "env", "default")["status"]["podIP"]
    assert cluster.client.log("default", "env") == f"hi\n{ip}\n"
    assert cluster.client.log("default", "expand") == "me and $(WHO)\n"


def test_counter_loop_logs_grow_with_time(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("counter", image="busybox:1.28", args=[
        "/bin/sh", "-c", 'i=0; while true; do echo "$i: $(date)"; i=$((i+1)); sleep 1; done']))
    assert cluster.settle(10)  # a never-ending loop keeps no timer
    cluster.advance(10)
    logs = cluster.client.log("default", "counter").splitlines()
    assert len(logs) >= 10
    assert [line.split(":")[0] for line in logs[:3]] == ["0", "1", "2"]
    assert re.match(r"^0: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}$", logs[0])
    tail = cluster.client.log("default", "counter", tailLines="2", timestamps="true")
    lines = tail.splitlines()
    assert len(lines) == 2 and all(STAMP.match(line) for line in lines)
    assert lines[-1].endswith(logs[-1]) or int(lines[-1].split(" ")[1].rstrip(":")) >= len(
        logs) - 1
    recent = cluster.client.log("default", "counter", sinceSeconds="3").splitlines()
    assert 2 <= len(recent) <= 4
    assert cluster.client.log("default", "counter", limitBytes="5") == logs[0][:5]


def test_server_start_lines(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web", image="nginx:1.27"))
    run_pod(cluster, make_pod("cache", image="redis:7.2"))
    assert cluster.settle(10)
    web = cluster.client.log("default", "web")
    assert "Configuration complete; ready for start up" in web
    assert web.rstrip().endswith("start worker processes")
    assert "Ready to accept connections" in cluster.client.log("default", "cache")


def test_previous_logs_after_a_crash(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("crash", image="busybox:1.36",
                              command=["sh", "-c", "echo starting; echo boom; exit 1"]))
    run_pod(cluster, make_pod("flaky", annotations={"kubenb.io/crash-after-seconds": "5"}))
    assert cluster.settle(30)
    assert cluster.client.log("default", "crash") == "starting\nboom\n"  # the last run
    assert cluster.client.log("default", "crash", previous="true") == "starting\nboom\n"
    previous = cluster.client.log("default", "flaky", previous="true")
    assert previous.rstrip().endswith(
        "kubenb: simulated crash after 5s (kubenb.io/crash-after-seconds), exit code 1")
    assert "start worker processes" in previous


def test_log_errors_say_why(cluster: Cluster) -> None:
    with cluster.paused():
        run_pod(cluster, make_pod("creating"))
        with pytest.raises(errors.BadRequest, match=r'container "app" in pod "creating" is '
                                                    "waiting to start: ContainerCreating"):
            cluster.client.log("default", "creating")
    run_pod(cluster, make_pod("typo", image="nginxx"))
    run_pod(cluster, make_pod("web"))
    assert cluster.settle(10)
    with pytest.raises(errors.BadRequest, match="waiting to start: trying and failing to pull"):
        cluster.client.log("default", "typo")
    with pytest.raises(errors.BadRequest, match='previous terminated container "app" in pod '
                                                '"web" not found'):
        cluster.client.log("default", "web", previous="true")
    with pytest.raises(errors.BadRequest, match="container nope is not valid for pod web"):
        cluster.client.log("default", "web", container="nope")


def test_init_container_logs_and_endpoints(cluster: Cluster) -> None:
    pod = make_pod("with-init")
    pod["spec"]["initContainers"] = [{"name": "setup", "image": "busybox:1.36",
                                      "command": ["sh", "-c", "echo preparing; echo done"]}]
    run_pod(cluster, pod)
    assert cluster.settle(10)
    assert cluster.client.log("default", "with-init", container="setup") == "preparing\ndone\n"
    text = cluster.endpoints.log("default", "with-init", {"container": "setup",
                                                          "tailLines": "1"})
    assert text == "done\n"
    stamped = cluster.endpoints.log("default", "with-init", {"timestamps": "true"})
    assert all(STAMP.match(line) for line in stamped.splitlines())


def test_kubectl_logs_over_http(tmp_path: Path) -> None:
    kubectl = Path(sys.executable).parent / "kubectl"
    if not kubectl.exists():
        pytest.skip("kubectl is not installed in the venv")
    with Cluster(nodes=1, speed="max", seed=1, kubeconfig=tmp_path / "kubeconfig") as c:
        run_pod(c, make_pod("hello", image="busybox:1.36", restart_policy="Never",
                            command=["sh", "-c", "for i in 1 2 3; do echo line $i; done"]))
        assert c.settle(10)
        env = {**os.environ, "KUBECONFIG": c.kubeconfig}
        out = subprocess.run([str(kubectl), "logs", "hello", "--tail=2"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout == "line 2\nline 3\n"
