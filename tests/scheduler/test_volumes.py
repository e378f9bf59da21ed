"""VolumeBinding: pods wait for their claims, and follow their volumes' node affinity."""

from __future__ import annotations

from kubenb.api import kinds
from tests.scheduler.util import add_node, add_pod, cluster, node_of, scheduled_condition

VOLUME = {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}


def claim(name: str, storage_class: str | None = None) -> dict:
    spec: dict = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def test_a_pod_waits_for_its_claim_to_exist_and_be_bound() -> None:
    with cluster() as c:
        add_node(c, "n1")
        add_pod(c, "db", volumes=[VOLUME])
        c.settle(10)
        assert node_of(c, "db") is None
        assert scheduled_condition(c, "db")["message"] == (
            '0/1 nodes are available: persistentvolumeclaim "data" not found. '
            "no new claims to deallocate, preemption: 0/1 nodes are available: "
            "1 Preemption is not helpful for scheduling.")
        c.client.create(kinds.PVCS, claim("data"))  # the default class provisions it at once
        assert c.settle(10)
        assert node_of(c, "db") == "n1"
        assert c.client.get(kinds.PVCS, "data", "default")["status"]["phase"] == "Bound"


def test_an_unbound_immediate_claim_keeps_the_pod_pending() -> None:
    with cluster() as c:
        add_node(c, "n1")
        c.client.create(kinds.PVCS, claim("data", storage_class="nowhere"))  # no such class
        add_pod(c, "db", volumes=[VOLUME])
        c.settle(10)
        assert node_of(c, "db") is None
        assert scheduled_condition(c, "db")["message"].startswith(
            "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.")


def test_pods_follow_their_volumes_node_affinity() -> None:
    with cluster() as c:
        add_node(c, "n1")
        add_node(c, "n2")
        c.client.create(kinds.PVS, {
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "local-n2"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                     "storageClassName": "local", "local": {"path": "/mnt/disk"},
                     "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                         {"key": "kubernetes.io/hostname", "operator": "In",
                          "values": ["n2"]}]}]}}}})
        body = claim("data", storage_class="local")
        body["spec"]["volumeName"] = "local-n2"
        c.client.create(kinds.PVCS, body)
        for i in range(3):
            add_pod(c, f"reader{i}", volumes=[VOLUME])
        c.settle(10)
        assert {node_of(c, f"reader{i}") for i in range(3)} == {"n2"}


def test_wait_for_first_consumer_gets_the_chosen_node() -> None:
    with cluster() as c:
        add_node(c, "n1")
        c.client.create(kinds.STORAGECLASSES, {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "late"}, "provisioner": "kubenb.io/simulated",
            "volumeBindingMode": "WaitForFirstConsumer"})
        c.client.create(kinds.PVCS, claim("data", storage_class="late"))
        assert c.settle(10)
        assert c.client.get(kinds.PVCS, "data", "default")["status"]["phase"] == "Pending"
        add_pod(c, "db", volumes=[VOLUME])
        assert c.settle(10)
        assert node_of(c, "db") == "n1"
        pvc = c.client.get(kinds.PVCS, "data", "default")
        assert pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "n1"
        assert pvc["status"]["phase"] == "Bound"
