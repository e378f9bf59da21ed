"""What containers write stays where Kubernetes keeps it: ``kubectl exec`` writes into the
container's own filesystem (gone when it restarts) or into the volume mounted there, which keeps
it for as long as the volume lives (emptyDir: the pod; a claim's volume: beyond the pod, which is
what a StatefulSet's pods find again); configMap and secret volumes are read-only files."""

from __future__ import annotations

from typing import Any

from kubenb import Cluster
from kubenb.api import kinds
from tests.sim.util import faults_of, make_pod, reasons, run_pod

Obj = dict[str, Any]


def sh(c: Cluster, pod: str, script: str, container: str = "app") -> str:
    code, output = c.endpoints.exec("default", pod, container, ["sh", "-c", script])
    assert code == 0, output
    return output


def test_exec_writes_stay_in_the_container_until_it_restarts(cluster: Cluster) -> None:
    run_pod(cluster, make_pod("web", command=["sh", "-c", "sleep 3600"]))
    assert cluster.settle(30)
    sh(cluster, "web", "echo hello > /tmp/note; echo more >> /tmp/note")
    assert sh(cluster, "web", "cat /tmp/note") == "hello\nmore\n"
    sh(cluster, "web", "rm /tmp/note")
    assert cluster.endpoints.exec("default", "web", "app", ["cat", "/tmp/note"])[0] != 0
    sh(cluster, "web", "echo again > /tmp/note")
    faults_of(cluster).kill_container("default", "web")
    assert cluster.settle(60)
    assert cluster.endpoints.exec("default", "web", "app", ["cat", "/tmp/note"])[0] != 0


def test_an_empty_dir_is_shared_by_the_pods_containers_and_kept_across_restarts(
        cluster: Cluster) -> None:
    mount = [{"name": "shared", "mountPath": "/data"}]
    pod = make_pod("pair", command=["sh", "-c", "sleep 3600"],
                   container={"volumeMounts": mount}, volumes=[{"name": "shared",
                                                                "emptyDir": {}}])
    pod["spec"]["containers"].append({
        "name": "reader", "image": "busybox:1.36", "volumeMounts": [
            {"name": "shared", "mountPath": "/in"}],
        "command": ["sh", "-c", "cat /in/message; sleep 3600"]})
    run_pod(cluster, pod)
    assert cluster.settle(30)
    sh(cluster, "pair", "echo from app > /data/message")
    assert sh(cluster, "pair", "cat /in/message", container="reader") == "from app\n"
    faults_of(cluster).kill_container("default", "pair", "reader")
    assert cluster.settle(60)
    # the restarted reader's program finds the file at its start, and prints it
    assert cluster.endpoints.log("default", "pair", {"container": "reader"}) == "from app\n"
    assert cluster.endpoints.log("default", "pair", {"container": "reader",
                                                     "previous": "true"}) == ""


def test_a_claims_files_outlive_the_pod(cluster: Cluster) -> None:
    cluster.client.create(kinds.PVCS, {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}}})

    def pod(name: str) -> Obj:
        return make_pod(name, command=["sh", "-c", "cat /var/www/index.html; sleep 3600"],
                        container={"volumeMounts": [{"name": "www",
                                                     "mountPath": "/var/www"}]},
                        volumes=[{"name": "www",
                                  "persistentVolumeClaim": {"claimName": "data"}}])

    cluster.client.create(kinds.PODS, pod("first"))
    assert cluster.settle(60)
    sh(cluster, "first", 'echo "$(hostname) was here" > /var/www/index.html')
    cluster.client.delete(kinds.PODS, "first", "default")
    assert cluster.settle(60)
    cluster.client.create(kinds.PODS, pod("second"))
    assert cluster.settle(60)
    assert cluster.endpoints.log("default", "second", {}) == "first was here\n"
    assert sh(cluster, "second", "cat /var/www/index.html") == "first was here\n"


def test_config_map_volumes_are_read_only_files(cluster: Cluster) -> None:
    cluster.client.create(kinds.CONFIGMAPS, {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "game", "namespace": "default"},
        "data": {"lives": "3", "ui.properties": "color.good=purple"}})
    mounts = [{"name": "config", "mountPath": "/etc/game"},
              {"name": "config", "mountPath": "/etc/lives.txt", "subPath": "lives"}]
    run_pod(cluster, make_pod("game", command=["sh", "-c", "sleep 3600"],
                              container={"volumeMounts": mounts},
                              volumes=[{"name": "config", "configMap": {"name": "game"}}]))
    assert cluster.settle(30)
    assert sh(cluster, "game", "cat /etc/game/ui.properties") == "color.good=purple\n"
    assert sh(cluster, "game", "cat /etc/lives.txt") == "3\n"
    sh(cluster, "game", "echo 99 > /etc/game/lives")  # a read-only mount keeps nothing...
    other = make_pod("other", command=["sh", "-c", "cat /etc/game/lives; sleep 3600"],
                     container={"volumeMounts": mounts[:1]},
                     volumes=[{"name": "config", "configMap": {"name": "game"}}])
    run_pod(cluster, other)
    assert cluster.settle(30)
    assert cluster.endpoints.log("default", "other", {}) == "3\n"  # ...for anyone else


def test_removing_what_a_liveness_probe_reads_restarts_the_container(
        cluster: Cluster) -> None:
    probe = {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 5}
    run_pod(cluster, make_pod("live", command=["sh", "-c", "touch /tmp/healthy; sleep 3600"],
                              container={"livenessProbe": probe}))
    assert cluster.settle(30)
    cluster.advance(60)
    assert "Unhealthy" not in reasons(cluster, "live")
    sh(cluster, "live", "rm /tmp/healthy")
    cluster.advance(30)
    assert "Unhealthy" in reasons(cluster, "live")
    assert "Killing" in reasons(cluster, "live")
    status = cluster.client.get(kinds.PODS, "live", "default")["status"]
    assert status["containerStatuses"][0]["restartCount"] == 1
    # the new container's program made the file again: it stays healthy
    cluster.advance(60)
    assert cluster.client.get(kinds.PODS, "live", "default")["status"][
        "containerStatuses"][0]["restartCount"] == 1
