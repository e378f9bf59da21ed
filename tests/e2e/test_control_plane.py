"""The control plane through real kubectl against ``kubenb serve``: what a learner does.

The seed scenario of the issue (a Deployment of 5 Rails replicas and a Service; ``rollout status``;
a pod is killed and replaced; the EndpointSlice follows), then rollouts and undo, a Job waited
for, logs, a DaemonSet, a StatefulSet, drain, and a namespace cascade. The server runs with a
clock 20 times faster than real time, so simulated image pulls and starts take a fraction of a
second of the test's time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Kubectl

RAILS = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rails
spec:
  replicas: 5
  selector:
    matchLabels: {app: rails}
  template:
    metadata:
      labels: {app: rails}
    spec:
      containers:
      - name: rails
        image: rails:7.1
        ports: [{name: http, containerPort: 3000}]
        readinessProbe:
          httpGet: {path: /up, port: http}
          initialDelaySeconds: 2
---
apiVersion: v1
kind: Service
metadata:
  name: rails
spec:
  selector: {app: rails}
  ports: [{name: http, port: 80, targetPort: http}]
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    tmp = tmp_path_factory.mktemp("serve")
    kubeconfig = tmp / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "kubenb", "serve", "--nodes", "3",
                             "--speed", "20", "--kubeconfig", str(kubeconfig)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "ready" in line, line + (proc.stderr.read() if proc.poll() is not None else "")
    try:
        yield Kubectl(str(kubeconfig))
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0


def eventually(check: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or check}: last {last!r}")


def slice_ips(kubectl: Kubectl, ns: str, service: str) -> set[str]:
    slices = kubectl.json("get", "endpointslices", "-n", ns, "-l",
                          f"kubernetes.io/service-name={service}")["items"]
    return {addr for s in slices for ep in s.get("endpoints") or ()
            if (ep.get("conditions") or {}).get("ready") for addr in ep["addresses"]}


def pods(kubectl: Kubectl, ns: str, selector: str) -> list[dict[str, Any]]:
    return kubectl.json("get", "pods", "-n", ns, "-l", selector)["items"]


def test_seed_scenario_self_healing(served: Kubectl, tmp_path: Path) -> None:
    kubectl = served
    kubectl("create", "namespace", "seed")
    (tmp_path / "rails.yaml").write_text(RAILS)
    kubectl("apply", "-n", "seed", "-f", str(tmp_path / "rails.yaml"))
    out = kubectl.run("rollout", "status", "-n", "seed", "deployment/rails", "--timeout=90s",
                      timeout=120).stdout
    assert 'deployment "rails" successfully rolled out' in out
    running = pods(kubectl, "seed", "app=rails")
    assert len(running) == 5
    assert {p["status"]["phase"] for p in running} == {"Running"}
    ips = {p["status"]["podIP"] for p in running}
    assert len(ips) == 5
    assert eventually(lambda: slice_ips(kubectl, "seed", "rails") == ips, what="5 endpoints")
    table = kubectl("get", "pods", "-n", "seed", "-o", "wide")
    assert table.count("Running") == 5 and "1/1" in table

    victim = running[0]
    kubectl("delete", "pod", "-n", "seed", victim["metadata"]["name"], "--wait=false")

    def replaced() -> bool:
        now = [p for p in pods(kubectl, "seed", "app=rails")
               if not p["metadata"].get("deletionTimestamp")]
        ready = [p for p in now if any(c["type"] == "Ready" and c["status"] == "True"
                                       for c in p["status"].get("conditions") or ())]
        return len(ready) == 5 and victim["metadata"]["name"] not in {
            p["metadata"]["name"] for p in now}

    eventually(replaced, what="a replacement pod")
    new_ips = {p["status"]["podIP"] for p in pods(kubectl, "seed", "app=rails")
               if not p["metadata"].get("deletionTimestamp")}
    assert victim["status"]["podIP"] not in new_ips
    eventually(lambda: slice_ips(kubectl, "seed", "rails") == new_ips,
               what="the EndpointSlice to follow")
    events = kubectl("get", "events", "-n", "seed")
    for reason in ("ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Pulled", "Started",
                   "Killing"):
        assert reason in events, reason
    described = kubectl("describe", "deployment", "-n", "seed", "rails")
    assert "NewReplicaSetAvailable" in described


def test_rolling_update_and_undo(served: Kubectl) -> None:
    kubectl = served
    kubectl("create", "namespace", "roll")
    kubectl("create", "deployment", "web", "-n", "roll", "--image=nginx:1.27", "--replicas=4")
    kubectl.run("rollout", "status", "-n", "roll", "deployment/web", "--timeout=60s", timeout=90)
    kubectl("set", "image", "-n", "roll", "deployment/web", "nginx=nginx:1.28")
    kubectl.run("rollout", "status", "-n", "roll", "deployment/web", "--timeout=60s", timeout=90)
    images = {p["spec"]["containers"][0]["image"] for p in pods(kubectl, "roll", "app=web")
              if not p["metadata"].get("deletionTimestamp")}
    assert images == {"nginx:1.28"}
    history = kubectl("rollout", "history", "-n", "roll", "deployment/web")
    assert "1" in history and "2" in history
    kubectl("rollout", "undo", "-n", "roll", "deployment/web")
    kubectl.run("rollout", "status", "-n", "roll", "deployment/web", "--timeout=60s", timeout=90)
    dep = kubectl.json("get", "deployment", "-n", "roll", "web")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


def test_job_wait_and_logs(served: Kubectl) -> None:
    kubectl = served
    kubectl("create", "namespace", "jobs")
    kubectl("create", "job", "hello", "-n", "jobs", "--image=busybox", "--",
            "sh", "-c", "echo hello from kubenb; sleep 3; echo bye")
    kubectl.run("wait", "-n", "jobs", "--for=condition=complete", "job/hello", "--timeout=60s",
                timeout=90)
    logs = kubectl("logs", "-n", "jobs", "job/hello")
    assert "hello from kubenb" in logs and "bye" in logs


def test_daemonset_statefulset_and_drain(served: Kubectl, tmp_path: Path) -> None:
    kubectl = served
    kubectl("create", "namespace", "sets")
    (tmp_path / "sets.yaml").write_text("""
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: busybox, command: [sleep, "100000"]}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: redis:7}]}
""")
    kubectl("apply", "-n", "sets", "-f", str(tmp_path / "sets.yaml"))
    kubectl.run("rollout", "status", "-n", "sets", "daemonset/agent", "--timeout=60s",
                timeout=90)
    agents = pods(kubectl, "sets", "app=agent")
    assert sorted(p["spec"]["nodeName"] for p in agents) == ["node-1", "node-2", "node-3"]
    kubectl.run("rollout", "status", "-n", "sets", "statefulset/db", "--timeout=60s",
                timeout=90)
    dbs = pods(kubectl, "sets", "app=db")
    assert sorted(p["metadata"]["name"] for p in dbs) == ["db-0", "db-1", "db-2"]
    started = sorted(dbs, key=lambda p: p["status"]["startTime"])
    assert [p["metadata"]["name"] for p in started] == ["db-0", "db-1", "db-2"]

    kubectl.run("drain", "node-3", "--ignore-daemonsets", "--delete-emptydir-data",
                "--timeout=60s", timeout=90)
    assert "SchedulingDisabled" in kubectl("get", "node", "node-3")
    eventually(lambda: all(p["spec"].get("nodeName") != "node-3"
                           for p in pods(kubectl, "sets", "app=db")
                           if not p["metadata"].get("deletionTimestamp")) and len(
        [p for p in pods(kubectl, "sets", "app=db") if p["status"].get("phase") == "Running"]
    ) == 3, what="db pods off node-3 and running")
    kubectl("uncordon", "node-3")


def test_namespace_cascade(served: Kubectl) -> None:
    kubectl = served
    kubectl("create", "namespace", "gone")
    kubectl("create", "deployment", "web", "-n", "gone", "--image=nginx", "--replicas=2")
    kubectl("create", "configmap", "cfg", "-n", "gone", "--from-literal=a=b")
    kubectl.run("rollout", "status", "-n", "gone", "deployment/web", "--timeout=60s", timeout=90)
    kubectl.run("delete", "namespace", "gone", "--timeout=60s", timeout=90)
    assert kubectl.run("get", "namespace", "gone", check=False).returncode != 0
    left = json.loads(kubectl.run("get", "pods", "-A", "-o", "json").stdout)["items"]
    assert not [p for p in left if p["metadata"]["namespace"] == "gone"]


def test_drain_waits_for_the_disruption_budget(served: Kubectl, tmp_path: Path) -> None:
    kubectl = served
    kubectl("create", "namespace", "budget")
    kubectl("create", "deployment", "web", "-n", "budget", "--image=nginx", "--replicas=3")
    kubectl.run("rollout", "status", "-n", "budget", "deployment/web", "--timeout=60s",
                timeout=90)
    (tmp_path / "pdb.yaml").write_text("""
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: budget}
spec:
  minAvailable: 3
  selector: {matchLabels: {app: web}}
""")
    kubectl("apply", "-f", str(tmp_path / "pdb.yaml"))
    eventually(lambda: kubectl.json("get", "pdb", "web", "-n", "budget").get("status", {}).get(
        "currentHealthy") == 3, what="the budget's status")
    assert kubectl("get", "pdb", "web", "-n", "budget", "--no-headers").split()[1:4] == [
        "3", "N/A", "0"]  # MIN AVAILABLE, MAX UNAVAILABLE, ALLOWED DISRUPTIONS
    node = pods(kubectl, "budget", "app=web")[0]["spec"]["nodeName"]
    refused = kubectl.run("drain", node, "--ignore-daemonsets", "--delete-emptydir-data",
                          "--pod-selector=app=web", "--timeout=6s", check=False, timeout=60)
    assert refused.returncode != 0
    assert "violate the pod's disruption budget" in refused.stdout + refused.stderr
    kubectl("patch", "pdb", "web", "-n", "budget", "--type=merge",
            "-p", '{"spec": {"minAvailable": 2}}')
    kubectl.run("drain", node, "--ignore-daemonsets", "--delete-emptydir-data",
                "--pod-selector=app=web", "--timeout=60s", timeout=90)
    eventually(lambda: len([p for p in pods(kubectl, "budget", "app=web")
                            if p["spec"].get("nodeName") != node
                            and p["status"].get("phase") == "Running"]) == 3,
               what="three web pods running off the drained node")
    kubectl("uncordon", node)
