"""Real kubectl 1.37 against the embedded API server, used exactly as a person would."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kubenb import Cluster
from tests.conftest import Kubectl

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rails
  labels:
    app: rails
    tier: web
spec:
  replicas: 5
  selector:
    matchLabels:
      app: rails
  template:
    metadata:
      labels:
        app: rails
    spec:
      containers:
      - name: web
        image: rails:7.1
        ports:
        - containerPort: 3000
        env:
        - name: RAILS_ENV
          value: production
      - name: sidecar
        image: busybox:1.36
        command: ["sleep", "3600"]
"""


def test_version_and_api_resources(kubectl: Kubectl) -> None:
    version = json.loads(kubectl("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == "v1.37.0"
    assert version["serverVersion"]["minor"] == "37"
    resources = kubectl("api-resources")
    lines: dict[str, list[str]] = {}
    for line in resources.splitlines()[1:]:
        lines.setdefault(line.split()[0], line.split())  # the first of a name: core, then groups
    assert lines["deployments"] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert lines["pods"] == ["pods", "po", "v1", "true", "Pod"]
    assert lines["namespaces"] == ["namespaces", "ns", "v1", "false", "Namespace"]
    # as on a cluster with metrics-server: the resource metrics API beside the core resources
    assert [line.split() for line in resources.splitlines() if "metrics.k8s.io" in line] == [
        ["nodes", "metrics.k8s.io/v1beta1", "false", "NodeMetrics"],
        ["pods", "metrics.k8s.io/v1beta1", "true", "PodMetrics"]]
    assert "customresourcedefinitions" in lines
    assert "leases" in lines and "endpointslices" in lines


def test_client_side_apply_then_reapply_after_edits(kubectl: Kubectl, namespace: str,
                                                    manifests: Path) -> None:
    path = manifests / "deploy.yaml"
    path.write_text(DEPLOYMENT)
    out = kubectl("apply", "-n", namespace, "-f", str(path))
    assert out.strip() == "deployment.apps/rails created"
    live = kubectl.json("get", "deployment", "rails", "-n", namespace)
    assert "kubectl.kubernetes.io/last-applied-configuration" in live["metadata"]["annotations"]
    assert live["spec"]["strategy"]["type"] == "RollingUpdate"  # defaulted by the server
    # someone else adds a label; then the manifest changes: replicas, one env var more,
    # the tier label removed, the sidecar's image bumped
    kubectl("label", "deployment", "rails", "-n", namespace, "owner=ops")
    edited = (DEPLOYMENT.replace("replicas: 5", "replicas: 3")
              .replace("    tier: web\n", "")
              .replace("          value: production\n",
                       "          value: production\n        - name: WORKERS\n"
                       "          value: \"4\"\n")
              .replace("busybox:1.36", "busybox:1.37"))
    path.write_text(edited)
    out = kubectl("apply", "-n", namespace, "-f", str(path))
    assert out.strip() == "deployment.apps/rails configured"
    live = kubectl.json("get", "deployment", "rails", "-n", namespace)
    assert live["spec"]["replicas"] == 3
    assert live["metadata"]["labels"] == {"app": "rails", "owner": "ops"}
    containers = {c["name"]: c for c in live["spec"]["template"]["spec"]["containers"]}
    assert [c["name"] for c in live["spec"]["template"]["spec"]["containers"]] == [
        "web", "sidecar"]
    assert containers["web"]["env"] == [{"name": "RAILS_ENV", "value": "production"},
                                        {"name": "WORKERS", "value": "4"}]
    assert containers["sidecar"]["image"] == "busybox:1.37"
    assert live["metadata"]["generation"] == 2
    out = kubectl("apply", "-n", namespace, "-f", str(path))
    assert out.strip() == "deployment.apps/rails unchanged"


def test_server_side_apply_and_conflicts(kubectl: Kubectl, namespace: str,
                                         manifests: Path) -> None:
    path = manifests / "deploy.yaml"
    path.write_text(DEPLOYMENT)
    out = kubectl("apply", "--server-side", "-n", namespace, "-f", str(path))
    assert out.strip() == "deployment.apps/rails serverside-applied"
    live = kubectl.json("get", "deployment", "rails", "-n", namespace, "--show-managed-fields")
    managers = {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers
    kubectl("scale", "deployment", "rails", "-n", namespace, "--replicas=7")
    proc = kubectl.run("apply", "--server-side", "-n", namespace, "-f", str(path), check=False)
    assert proc.returncode != 0
    assert "conflict" in proc.stderr.lower() and ".spec.replicas" in proc.stderr
    kubectl("apply", "--server-side", "--force-conflicts", "-n", namespace, "-f", str(path))
    assert kubectl.json("get", "deployment", "rails", "-n", namespace)["spec"]["replicas"] == 5
    # dropping a field from the applied config removes it
    path.write_text(DEPLOYMENT.replace("    tier: web\n", ""))
    kubectl("apply", "--server-side", "-n", namespace, "-f", str(path))
    labels = kubectl.json("get", "deployment", "rails", "-n", namespace)["metadata"]["labels"]
    assert labels == {"app": "rails"}


def test_get_forms(kubectl: Kubectl, namespace: str, manifests: Path) -> None:
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "-n", namespace)
    # the control plane runs: wait until the rollout is done, so the columns are settled
    kubectl.run("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s",
                timeout=90)
    kubectl("run", "solo", "--image=busybox", "-n", namespace, "--labels=app=solo,tier=x",
            "--overrides", '{"spec": {"schedulerName": "nobody"}}')  # stays Pending
    table = kubectl("get", "deployments", "-n", namespace).splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table[1].split()[:4] == ["web", "2/2", "2", "2"]
    pods = kubectl("get", "pods", "-n", namespace, "-l", "app=solo").splitlines()
    assert pods[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert pods[1].split()[:4] == ["solo", "0/1", "Pending", "0"]
    wide = kubectl("get", "pods", "-o", "wide", "-n", namespace).splitlines()[0].split()
    assert wide[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    as_yaml = kubectl("get", "deployment", "web", "-n", namespace, "-o", "yaml")
    assert "kind: Deployment" in as_yaml and "replicas: 2" in as_yaml
    assert kubectl("get", "deployment", "web", "-n", namespace, "-o",
                   "jsonpath={.spec.replicas}") == "2"
    selected = kubectl("get", "pods", "-l", "app=solo", "-n", namespace, "-o", "name")
    assert selected.split() == ["pod/solo"]
    assert kubectl("get", "pods", "-l", "app=nothing", "-n", namespace, "-o", "name") == ""
    everywhere = kubectl("get", "pods", "-A").splitlines()
    assert everywhere[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert any(line.split()[:2] == [namespace, "solo"] for line in everywhere[1:])
    nodes = kubectl("get", "nodes").splitlines()
    assert nodes[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert nodes[1].split()[1] == "Ready" and nodes[1].split()[-1] == "v1.37.0"


def test_get_watch_streams_changes(kubectl: Kubectl, cluster: Cluster, namespace: str) -> None:
    watchers = cluster.store.watcher_count()
    proc = subprocess.Popen(
        [kubectl.binary, "get", "configmaps", "-w", "-n", namespace, "--kubeconfig",
         kubectl.kubeconfig], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")),
                                  daemon=True)
        reader.start()
        deadline = time.monotonic() + 20
        while cluster.store.watcher_count() <= watchers and time.monotonic() < deadline:
            time.sleep(0.02)
        kubectl("create", "configmap", "watched", "--from-literal=a=1", "-n", namespace)
        while not any(ln.startswith("watched") for ln in lines) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lines and lines[0].split() == ["NAME", "DATA", "AGE"]
        assert any(ln.split()[:2] == ["watched", "1"] for ln in lines)
    finally:
        proc.kill()
        proc.wait()


def test_create_label_annotate_patch_scale(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "deployment", "api", "--image=nginx", "-n", namespace)
    kubectl("label", "deployment", "api", "team=blue", "-n", namespace)
    kubectl("annotate", "deployment", "api", "note=hello", "-n", namespace)
    obj = kubectl.json("get", "deployment", "api", "-n", namespace)
    assert obj["metadata"]["labels"]["team"] == "blue"
    assert obj["metadata"]["annotations"]["note"] == "hello"
    kubectl("label", "deployment", "api", "team-", "-n", namespace)
    kubectl("patch", "deployment", "api", "-n", namespace, "-p",
            '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}}}')
    kubectl("patch", "deployment", "api", "-n", namespace, "--type=merge", "-p",
            '{"spec":{"minReadySeconds":5}}')
    kubectl("patch", "deployment", "api", "-n", namespace, "--type=json", "-p",
            '[{"op":"test","path":"/spec/minReadySeconds","value":5},'
            '{"op":"replace","path":"/spec/revisionHistoryLimit","value":3}]')
    failed = kubectl.run("patch", "deployment", "api", "-n", namespace, "--type=json", "-p",
                         '[{"op":"test","path":"/spec/minReadySeconds","value":99}]', check=False)
    assert failed.returncode != 0
    kubectl("scale", "deployment", "api", "--replicas=4", "-n", namespace)
    obj = kubectl.json("get", "deployment", "api", "-n", namespace)
    assert "team" not in obj["metadata"]["labels"]
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert obj["spec"]["template"]["spec"]["containers"][0]["name"] == "nginx"
    assert obj["spec"]["minReadySeconds"] == 5 and obj["spec"]["revisionHistoryLimit"] == 3
    assert obj["spec"]["replicas"] == 4


def test_delete_wait_and_wait_for_delete(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "configmap", "plain", "-n", namespace)
    assert kubectl("delete", "configmap", "plain", "-n", namespace).strip() == \
        f'configmap "plain" deleted from {namespace} namespace'
    # a finalizer holds the object: `delete --wait` and `wait --for=delete` return once a
    # controller (here: the test) removes it
    kubectl("create", "configmap", "held", "-n", namespace)
    kubectl("patch", "configmap", "held", "-n", namespace, "--type=merge", "-p",
            '{"metadata":{"finalizers":["example.com/hold"]}}')
    waiter = subprocess.Popen(
        [kubectl.binary, "wait", "--for=delete", "configmap/held", "-n", namespace,
         "--timeout=30s", "--kubeconfig", kubectl.kubeconfig],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deleter = subprocess.Popen(
        [kubectl.binary, "delete", "configmap", "held", "-n", namespace, "--wait=true",
         "--timeout=30s", "--kubeconfig", kubectl.kubeconfig],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    assert deleter.poll() is None, deleter.communicate()
    held = kubectl.json("get", "configmap", "held", "-n", namespace)
    assert held["metadata"]["deletionTimestamp"]
    kubectl("patch", "configmap", "held", "-n", namespace, "--type=merge", "-p",
            '{"metadata":{"finalizers":null}}')
    out, err = deleter.communicate(timeout=30)
    assert deleter.returncode == 0, err
    assert 'configmap "held" deleted' in out
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    missing = kubectl.run("get", "configmap", "held", "-n", namespace, check=False)
    assert missing.returncode == 1 and "NotFound" in missing.stderr


def test_diff_explain_describe(kubectl: Kubectl, namespace: str, manifests: Path) -> None:
    path = manifests / "deploy.yaml"
    path.write_text(DEPLOYMENT)
    kubectl("apply", "-n", namespace, "-f", str(path))
    same = kubectl.run("diff", "-n", namespace, "-f", str(path), check=False)
    assert same.returncode == 0, same.stderr
    path.write_text(DEPLOYMENT.replace("replicas: 5", "replicas: 2"))
    changed = kubectl.run("diff", "-n", namespace, "-f", str(path), check=False)
    assert changed.returncode == 1, changed.stderr
    assert "-  replicas: 5" in changed.stdout and "+  replicas: 2" in changed.stdout
    explained = kubectl("explain", "deployment.spec.replicas")
    assert "KIND:       Deployment" in explained and "FIELD: replicas <integer>" in explained
    described = kubectl("describe", "deployment", "rails", "-n", namespace)
    assert "Name:" in described and "rails" in described
    assert "Replicas:" in described and "RollingUpdate" in described
    node = kubectl("describe", "node", "node-1")
    assert "Ready" in node and "Capacity:" in node


CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
    additionalPrinterColumns:
    - name: Spec
      type: string
      jsonPath: .spec.cronSpec
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    selectableFields:
    - jsonPath: .spec.image
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              cronSpec: {type: string}
              image: {type: string}
              replicas: {type: integer, minimum: 0}
          status:
            type: object
            properties:
              replicas: {type: integer}
"""

CRONTAB = """\
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: nightly
spec:
  cronSpec: "* * * * */5"
  image: my-cron-image
  replicas: 2
"""


def test_crd_then_custom_resource(kubectl: Kubectl, namespace: str, manifests: Path) -> None:
    (manifests / "crd.yaml").write_text(CRD)
    kubectl("apply", "-f", str(manifests / "crd.yaml"))
    kubectl("wait", "--for=condition=established", "crd/crontabs.stable.example.com",
            "--timeout=20s")
    (manifests / "ct.yaml").write_text(CRONTAB)
    assert kubectl("apply", "-n", namespace, "-f", str(manifests / "ct.yaml")).strip() == \
        "crontab.stable.example.com/nightly created"
    table = kubectl("get", "crontabs", "-n", namespace).splitlines()
    assert table[0].split() == ["NAME", "SPEC", "REPLICAS", "AGE"]
    assert table[1].split()[:3] == ["nightly", "*", "*"] and "2" in table[1].split()
    assert kubectl("get", "ct", "nightly", "-n", namespace, "-o",
                   "jsonpath={.spec.image}") == "my-cron-image"
    selected = ["get", "ct", "-n", namespace, "-o", "name", "--field-selector"]
    assert kubectl(*selected, "spec.image=my-cron-image").split() == \
        ["crontab.stable.example.com/nightly"]
    assert kubectl(*selected, "spec.image=other").strip() == ""
    kubectl("scale", "crontab", "nightly", "--replicas=4", "-n", namespace)
    assert kubectl.json("get", "ct", "nightly", "-n", namespace)["spec"]["replicas"] == 4
    bad = kubectl.run("apply", "-n", namespace, "-f", "-", check=False,
                      input=CRONTAB.replace("replicas: 2", "replicas: -1")
                      .replace("nightly", "broken"))
    assert bad.returncode != 0 and "spec.replicas" in bad.stderr
    assert "crontabs" in kubectl("api-resources", "--api-group=stable.example.com")
    kubectl("delete", "crd", "crontabs.stable.example.com")
    gone = kubectl.run("get", "crontabs", "-n", namespace, check=False)
    assert gone.returncode != 0


@pytest.mark.parametrize("kind", ["deployment", "pod"])
def test_dry_run_server_stores_nothing(kubectl: Kubectl, namespace: str, kind: str) -> None:
    if kind == "deployment":
        kubectl("create", "deployment", "ghost", "--image=nginx", "--dry-run=server", "-n",
                namespace)
        missing = kubectl.run("get", "deployment", "ghost", "-n", namespace, check=False)
    else:
        kubectl("run", "ghost", "--image=nginx", "--dry-run=server", "-n", namespace)
        missing = kubectl.run("get", "pod", "ghost", "-n", namespace, check=False)
    assert missing.returncode == 1 and "NotFound" in missing.stderr


def test_auth_reviews(kubectl: Kubectl) -> None:
    assert kubectl("auth", "can-i", "create", "deployments").strip() == "yes"
    assert "kubenb-admin" in kubectl("auth", "whoami")


def test_drain_evicts_bound_pods_and_cordons(kubectl: Kubectl, namespace: str,
                                             manifests: Path) -> None:
    for pod in ("drained-a", "drained-b"):  # bound by hand here, not by the scheduler
        kubectl("run", pod, "--image=busybox", "-n", namespace,
                "--overrides", '{"spec": {"schedulerName": "by-hand"}}')
        binding = manifests / f"{pod}.json"
        binding.write_text(json.dumps({"apiVersion": "v1", "kind": "Binding",
                                       "metadata": {"name": pod},
                                       "target": {"kind": "Node", "name": "node-2"}}))
        kubectl("create", "--raw", f"/api/v1/namespaces/{namespace}/pods/{pod}/binding",
                "-f", str(binding))
    wide = kubectl("get", "pods", "-n", namespace, "-o", "wide").splitlines()[1:]
    assert all(line.split()[6] == "node-2" for line in wide) and len(wide) == 2
    out = kubectl("drain", "node-2", "--force", "--grace-period=0", "--ignore-daemonsets",
                  "--timeout=30s")
    assert "pod/drained-a evicted" in out and "pod/drained-b evicted" in out
    assert "node/node-2 drained" in out
    assert kubectl("get", "pods", "-n", namespace, "-o", "name") == ""
    node = kubectl.json("get", "node", "node-2")
    assert node["spec"]["unschedulable"] is True
    kubectl("uncordon", "node-2")
    assert "unschedulable" not in kubectl.json("get", "node", "node-2")["spec"]


def test_replace_and_create_from_a_list(kubectl: Kubectl, namespace: str,
                                        manifests: Path) -> None:
    items = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"listed-{i}"},
         "data": {"n": str(i)}} for i in range(3)]}
    (manifests / "list.json").write_text(json.dumps(items))
    out = kubectl("create", "-n", namespace, "-f", str(manifests / "list.json"))
    assert out.splitlines() == [f"configmap/listed-{i} created" for i in range(3)]
    replaced = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "listed-0"},
                "data": {"n": "replaced"}}
    (manifests / "one.json").write_text(json.dumps(replaced))
    kubectl("replace", "-n", namespace, "-f", str(manifests / "one.json"))
    assert kubectl("get", "cm", "listed-0", "-n", namespace, "-o",
                   "jsonpath={.data.n}") == "replaced"
