"""Ephemeral containers (``kubectl debug``): the ``pods/ephemeralcontainers`` subresource adds
them, its rules keep them append-only, and the simulated kubelet runs them beside the pod's own
containers without touching its readiness, restarts or phase."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.apiserver.endpoints import PatchType, WriteOptions
from tests.conftest import Kubectl
from tests.sim.util import make_pod, pod_events, record_events, run_pod

Obj = dict[str, Any]
PODS = kinds.PODS
USER = WriteOptions(field_manager="kubectl")


def add_debugger(c: Cluster, pod: str, container: Obj) -> Obj:
    """What kubectl debug sends, validated as every client's write is."""
    return c.endpoints.patch(PODS, "default", pod, PatchType.STRATEGIC,
                             {"spec": {"ephemeralContainers": [container]}}, USER,
                             subresource="ephemeralcontainers")


def replace(c: Cluster, pod: Obj, subresource: str = "") -> Obj:
    return c.endpoints.replace(PODS, "default", pod["metadata"]["name"], pod, USER,
                               subresource=subresource)


def ephemeral_status(c: Cluster, pod: str, name: str) -> Obj:
    status = c.client.get(kinds.PODS, pod, "default").get("status") or {}
    for cs in status.get("ephemeralContainerStatuses") or ():
        if cs["name"] == name:
            return cs
    raise AssertionError(f"no ephemeral status for {name}: {status}")


def test_debugger_runs_its_command_and_stays_terminated(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web", command=["sh", "-c", "sleep 3600"]))
    assert cluster.settle(30)
    pod = add_debugger(cluster, "web", {"name": "dbg", "image": "busybox:1.36",
                                        "command": ["sh", "-c", "echo looking; exit 3"]})
    spec = pod["spec"]["ephemeralContainers"][0]
    assert spec["terminationMessagePath"] == "/dev/termination-log"  # defaulted like containers
    assert spec["imagePullPolicy"] == "IfNotPresent"
    assert cluster.settle(30)
    status = ephemeral_status(cluster, "web", "dbg")
    assert status["state"]["terminated"]["exitCode"] == 3
    assert status["restartCount"] == 0 and status["ready"] is False
    pod = cluster.client.get(kinds.PODS, "web", "default")
    assert pod["status"]["phase"] == "Running"
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"  # an ephemeral container never counts for readiness
    assert [cs["name"] for cs in pod["status"]["containerStatuses"]] == ["app"]
    assert cluster.endpoints.log("default", "web", {"container": "dbg"}) == "looking\n"
    events = [(reason, message) for _t, reason, message in pod_events(cluster, "web")]
    assert ("Started", "Started container dbg") in events
    cluster.advance(600)
    assert ephemeral_status(cluster, "web", "dbg")["restartCount"] == 0


def test_a_running_debugger_answers_exec(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web", command=["sh", "-c", "sleep 3600"]))
    assert cluster.settle(30)
    add_debugger(cluster, "web", {"name": "dbg", "image": "busybox:1.36",
                                  "command": ["sleep", "3600"],
                                  "env": [{"name": "WHO", "value": "debugger"}]})
    assert cluster.settle(30)
    assert "running" in ephemeral_status(cluster, "web", "dbg")["state"]
    assert cluster.endpoints.exec("default", "web", "dbg", ["sh", "-c", "echo $WHO"]) == \
        (0, "debugger\n")


def test_the_pod_does_not_wait_for_its_debugger(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("job", command=["sh", "-c", "sleep 30"], restart_policy="Never"))
    add_debugger(cluster, "job", {"name": "dbg", "image": "busybox:1.36",
                                  "command": ["sleep", "3600"]})
    assert cluster.settle(120)
    pod = cluster.client.get(kinds.PODS, "job", "default")
    assert pod["status"]["phase"] == "Succeeded"
    dbg = ephemeral_status(cluster, "job", "dbg")["state"]["terminated"]
    app = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert dbg["finishedAt"] == app["finishedAt"]  # stopped when the pod ended, not after 3600 s


@pytest.mark.parametrize(("container", "field", "message"), [
    ({"name": "app", "image": "busybox"}, "spec.ephemeralContainers[0].name", "Duplicate value"),
    ({"name": "dbg"}, "spec.ephemeralContainers[0].image", "Required value"),
    ({"name": "dbg", "image": "busybox", "ports": [{"containerPort": 80}]},
     "spec.ephemeralContainers[0].ports", "cannot be set for an Ephemeral Container"),
    ({"name": "dbg", "image": "busybox", "readinessProbe": {"exec": {"command": ["true"]}}},
     "spec.ephemeralContainers[0].readinessProbe", "cannot be set for an Ephemeral Container"),
    ({"name": "dbg", "image": "busybox", "targetContainerName": "nope"},
     "spec.ephemeralContainers[0].targetContainerName", 'Not found: "nope"'),
    ({"name": "Bad_Name", "image": "busybox"}, "spec.ephemeralContainers[0].name",
     "RFC 1123 label"),
])
def test_bad_ephemeral_containers_are_refused(cluster: Cluster, container: Obj, field: str,
                                              message: str) -> None:
    run_pod(cluster, make_pod("web"))
    before = cluster.client.get(kinds.PODS, "web", "default")
    with pytest.raises(errors.Invalid) as caught:
        add_debugger(cluster, "web", container)
    causes = caught.value.status["details"]["causes"]
    assert any(c["field"] == field and message in c["message"] for c in causes), causes
    after = cluster.client.get(kinds.PODS, "web", "default")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_ephemeral_containers_are_append_only(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web"))
    add_debugger(cluster, "web", {"name": "dbg", "image": "busybox"})
    pod = cluster.client.get(kinds.PODS, "web", "default")
    del pod["metadata"]["resourceVersion"]  # unconditional: the kubelet writes status meanwhile
    changed = dict(pod, spec=dict(pod["spec"], ephemeralContainers=[
        dict(pod["spec"]["ephemeralContainers"][0], image="alpine")]))
    with pytest.raises(errors.Invalid, match='existing ephemeral containers "dbg" may not be '
                                             "changed"):
        replace(cluster, changed, "ephemeralcontainers")
    removed = dict(pod, spec=dict(pod["spec"], ephemeralContainers=[]))
    with pytest.raises(errors.Invalid, match='existing ephemeral containers "dbg" may not be '
                                             "removed"):
        replace(cluster, removed, "ephemeralcontainers")
    # the main resource cannot add them, and the subresource changes nothing but them
    plain = dict(pod, spec=dict(pod["spec"], ephemeralContainers=[
        *pod["spec"]["ephemeralContainers"], {"name": "more", "image": "busybox"}]))
    with pytest.raises(errors.Invalid, match="pod updates may not change fields"):
        replace(cluster, plain)
    plain["metadata"]["labels"] = {"sneaked": "in"}
    out = replace(cluster, plain, "ephemeralcontainers")
    assert [c["name"] for c in out["spec"]["ephemeralContainers"]] == ["dbg", "more"]
    assert "labels" not in out["metadata"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    path: Path = tmp_path_factory.mktemp("debug") / "kubeconfig"
    with Cluster(nodes=1, kubeconfig=path, speed="max", seed=5) as c:
        record_events(c)
        c.client.create(kinds.PODS, make_pod("web", command=["sh", "-c", "sleep 3600"]))
        assert c.settle(30)
        yield c


def test_kubectl_debug(served: Cluster) -> None:
    kubectl = Kubectl(served.kubeconfig)
    out = kubectl.run("debug", "web", "--image=busybox:1.36", "--container=dbg", "--",
                      "sh", "-c", "echo from the debugger")
    assert out.returncode == 0, out.stderr
    assert served.settle(30)
    assert kubectl("logs", "web", "-c", "dbg") == "from the debugger\n"
    status = kubectl.json("get", "pod", "web")["status"]
    assert status["ephemeralContainerStatuses"][0]["state"]["terminated"]["reason"] == \
        "Completed"
    assert "dbg" in kubectl("describe", "pod", "web")
    again = kubectl.run("debug", "web", "--image=busybox:1.36", "--container=dbg", "--", "true",
                        check=False)
    assert again.returncode != 0 and "dbg" in again.stderr
