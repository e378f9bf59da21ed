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
from tests.sim.util import faults_of, make_pod, run_pod

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


def test_a_followed_log_streams_each_line_then_ends_with_the_container(
        cluster: Cluster) -> None:
    run_pod(cluster, make_pod("ticker", image="busybox:1.36", command=[
        "sh", "-c", "i=1; while true; do echo tick $i; i=$((i+1)); sleep 10; done"]))
    assert cluster.settle(10)  # a never-ending loop keeps no timer
    stream = cluster.endpoints.log_follow("default", "ticker", {})
    assert stream.poll() == ("tick 1\n", False)  # the log so far
    assert stream.poll() == ("", False)  # nothing new yet
    cluster.advance(10)
    assert stream.poll() == ("tick 2\n", False)  # only what came since
    cluster.advance(20)
    assert stream.poll() == ("tick 3\ntick 4\n", False)
    stamped = cluster.endpoints.log_follow("default", "ticker", {"timestamps": "true"})
    cluster.advance(10)
    text, done = stamped.poll()
    assert not done and len(text.splitlines()) == 5
    assert all(STAMP.match(line) for line in text.splitlines())
    faults_of(cluster).kill_container("default", "ticker")
    assert cluster.settle(60)
    assert stream.poll() == ("tick 5\n", True)  # the container exited: the stream ends
    assert stream.poll() == ("", True)


def test_following_a_finished_container_gives_its_log_and_ends(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("done", image="busybox:1.36", restart_policy="Never",
                              command=["sh", "-c", "echo one; sleep 5; echo two"]))
    assert cluster.settle(30)
    assert cluster.endpoints.log_follow("default", "done", {}).poll() == ("one\ntwo\n", True)


def test_attach_streams_from_now_or_from_the_start_of_a_stdin_once_container(
        cluster: Cluster) -> None:
    script = "echo first; while true; do sleep 10; echo again; done"
    run_pod(cluster, make_pod("plain", image="busybox:1.36", command=["sh", "-c", script]))
    run_pod(cluster, make_pod("interactive", image="busybox:1.36",
                              command=["sh", "-c", script],
                              container={"stdin": True, "stdinOnce": True}))
    assert cluster.settle(30)
    plain = cluster.endpoints.attach("default", "plain", "app")
    interactive = cluster.endpoints.attach("default", "interactive", "app")
    assert plain.poll() == ("", False)  # what came before the attach is not sent again
    assert interactive.poll() == ("first\n", False)
    cluster.advance(10)
    assert plain.poll() == ("again\n", False)
    assert interactive.poll() == ("again\n", False)
    with pytest.raises(errors.BadRequest, match="container nope is not valid"):
        cluster.endpoints.attach("default", "plain", "nope")


def test_kubectl_logs_follow_and_run_interactive(tmp_path: Path) -> None:
    """On the real-time clock, as a notebook runs: ``logs -f`` prints each line as the
    container writes it, and ``run -i`` gets its output through ``pods/attach``."""
    kubectl = Path(sys.executable).parent / "kubectl"
    if not kubectl.exists():
        pytest.skip("kubectl is not installed in the venv")
    with Cluster(nodes=1, seed=1, kubeconfig=tmp_path / "kubeconfig") as c:
        env = {**os.environ, "KUBECONFIG": c.kubeconfig}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([str(kubectl), *args], env=env, capture_output=True,
                                  text=True, timeout=60)

        run_pod(c, make_pod("counter", image="busybox:1.36", restart_policy="Never",
                            command=["sh", "-c", "for i in 1 2 3; do echo n $i; sleep 1; "
                                                 "done"]))
        assert run("wait", "--for=condition=Ready", "pod/counter").returncode == 0
        followed = run("logs", "-f", "counter")
        assert followed.returncode == 0, followed.stderr
        assert followed.stdout == "n 1\nn 2\nn 3\n"
        interactive = run("run", "talk", "-i", "--rm", "--restart=Never", "--image=busybox",
                          "--", "sh", "-c", "sleep 5; echo from the pod")
        assert interactive.returncode == 0, interactive.stderr
        assert "from the pod" in interactive.stdout
        assert "falling back" not in interactive.stderr  # it came through the attach
        assert run("get", "pod", "talk").returncode != 0  # removed


def test_services_of_the_namespace_become_environment_variables(cluster: Cluster) -> None:
    """As the kubelet does for ``enableServiceLinks`` (the default): each Service with a
    cluster IP gives ``<NAME>_SERVICE_HOST``, ``_SERVICE_PORT[_<PORT NAME>]`` and the
    Docker-link ``<NAME>_PORT_<port>_<PROTO>...`` variables; headless ones give none."""
    services = cluster.kubelets.services.rt
    cluster.client.create(services, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "my-db", "namespace": "default"},
        "spec": {"selector": {"app": "db"}, "ports": [
            {"name": "sql", "port": 5432, "targetPort": 5432},
            {"name": "metrics", "port": 9187, "protocol": "UDP"}]}})
    cluster.client.create(services, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "peers", "namespace": "default"},
        "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 80}]}})
    assert cluster.settle(10)
    ip = cluster.client.get(services, "my-db", "default")["spec"]["clusterIP"]
    script = "printenv | grep -e MY_DB -e PEERS; echo url=$(MY_DB_SERVICE_HOST):$(MY_DB_PORT)"
    run_pod(cluster, make_pod("client", image="busybox:1.36", restart_policy="Never",
                              command=["sh", "-c", script]))
    run_pod(cluster, make_pod("unlinked", image="busybox:1.36", restart_policy="Never",
                              command=["sh", "-c", "printenv | grep -c MY_DB; true"],
                              enableServiceLinks=False))
    assert cluster.settle(10)
    lines = cluster.client.log("default", "client").splitlines()
    assert lines[:-1] == [
        f"MY_DB_SERVICE_HOST={ip}", "MY_DB_SERVICE_PORT=5432", "MY_DB_SERVICE_PORT_SQL=5432",
        "MY_DB_SERVICE_PORT_METRICS=9187", f"MY_DB_PORT=tcp://{ip}:5432",
        f"MY_DB_PORT_5432_TCP=tcp://{ip}:5432", "MY_DB_PORT_5432_TCP_PROTO=tcp",
        "MY_DB_PORT_5432_TCP_PORT=5432", f"MY_DB_PORT_5432_TCP_ADDR={ip}",
        f"MY_DB_PORT_9187_UDP=udp://{ip}:9187", "MY_DB_PORT_9187_UDP_PROTO=udp",
        "MY_DB_PORT_9187_UDP_PORT=9187", f"MY_DB_PORT_9187_UDP_ADDR={ip}"]
    # $(VAR) in a command is the kubelet's expansion, service variables included
    assert lines[-1] == f"url={ip}:tcp://{ip}:5432"
    assert cluster.client.log("default", "unlinked") == "0\n"
