"""PersistentVolume binding: static volumes, the simulated provisioner, WaitForFirstConsumer,
reclaim policies, and the pvc-protection and pv-protection finalizers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.client.client import PatchType
from kubenb.controllers.volume import PROVISIONER, parse_quantity
from kubenb.sim.node import node_object

Obj = dict[str, Any]
NS = "default"
NODE = "volume-test-node"


@pytest.fixture
def c() -> Iterator[Cluster]:
    with Cluster(nodes=0, speed="max", serve=False, seed=1) as cluster:
        node = node_object(NODE, index=1)
        node["spec"]["unschedulable"] = True  # the test plays scheduler and kubelet
        cluster.client.create(kinds.NODES, node)
        yield cluster


def settle(c: Cluster) -> Any:
    report = c.settle(20)
    assert report.idle, str(report)
    return report


def claim(c: Cluster, name: str, size: str = "1Gi", *, cls: str | None = None,
          modes: tuple[str, ...] = ("ReadWriteOnce",), **spec: Any) -> Obj:
    body: Obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                 "metadata": {"name": name, "namespace": NS},
                 "spec": {"accessModes": list(modes),
                          "resources": {"requests": {"storage": size}}, **spec}}
    if cls is not None:
        body["spec"]["storageClassName"] = cls
    return c.client.create(kinds.PVCS, body)


def volume(c: Cluster, name: str, size: str, *, cls: str = "manual",
           modes: tuple[str, ...] = ("ReadWriteOnce",), policy: str = "Retain",
           labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    meta: Obj = {"name": name}
    if labels:
        meta["labels"] = labels
    return c.client.create(kinds.PVS, {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta,
        "spec": {"capacity": {"storage": size}, "accessModes": list(modes),
                 "persistentVolumeReclaimPolicy": policy, "storageClassName": cls,
                 "hostPath": {"path": f"/data/{name}"}, **spec}})


def pvc(c: Cluster, name: str) -> Obj | None:
    try:
        return c.client.get(kinds.PVCS, name, NS)
    except errors.NotFound:
        return None


def pv(c: Cluster, name: str) -> Obj | None:
    try:
        return c.client.get(kinds.PVS, name)
    except errors.NotFound:
        return None


def reasons(c: Cluster, obj: Obj) -> list[str]:
    uid = obj["metadata"]["uid"]
    return [e["reason"] for e in c.client.list(kinds.EVENTS, NS).items
            if e["involvedObject"].get("uid") == uid]


def storage_class(c: Cluster, name: str, *, mode: str = "Immediate", policy: str = "Delete",
                  provisioner: str = PROVISIONER) -> None:
    c.client.create(kinds.STORAGECLASSES, {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
        "provisioner": provisioner, "reclaimPolicy": policy, "volumeBindingMode": mode})


def test_quantities() -> None:
    assert parse_quantity("1Gi") == 2**30
    assert parse_quantity("1.5G") == 1_500_000_000
    assert parse_quantity("500m") * 2 == 1
    assert parse_quantity("2e3") == 2000
    assert parse_quantity("ten") is None


def test_a_default_storage_class_exists(c: Cluster) -> None:
    settle(c)
    classes = c.client.list(kinds.STORAGECLASSES).items
    assert [(s["metadata"]["name"], s["provisioner"], s["metadata"]["annotations"]) for s in
            classes] == [("standard", PROVISIONER,
                          {"storageclass.kubernetes.io/is-default-class": "true"})]


def test_a_claim_without_class_is_provisioned_by_the_default_class(c: Cluster) -> None:
    created = claim(c, "data", "2Gi")
    settle(c)
    got = pvc(c, "data")
    assert got["spec"]["storageClassName"] == "standard"
    name = f"pvc-{created['metadata']['uid']}"
    assert got["spec"]["volumeName"] == name
    assert got["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                             "capacity": {"storage": "2Gi"}}
    ann = got["metadata"]["annotations"]
    assert ann["pv.kubernetes.io/bind-completed"] == "yes"
    assert ann["volume.kubernetes.io/storage-provisioner"] == PROVISIONER
    assert got["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    made = pv(c, name)
    assert made["status"]["phase"] == "Bound"
    assert made["spec"]["claimRef"]["uid"] == created["metadata"]["uid"]
    assert made["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert made["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == PROVISIONER
    assert made["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    assert reasons(c, got) == ["ExternalProvisioning", "Provisioning", "ProvisioningSucceeded"]


def test_static_binding_picks_the_smallest_volume_that_fits(c: Cluster) -> None:
    volume(c, "small", "1Gi")
    volume(c, "big", "10Gi")
    volume(c, "right", "5Gi")
    volume(c, "read-only", "4Gi", modes=("ReadOnlyMany",))
    volume(c, "other-class", "3Gi", cls="slow")
    claim(c, "db", "3Gi", cls="manual")
    settle(c)
    assert pvc(c, "db")["spec"]["volumeName"] == "right"
    assert pvc(c, "db")["status"]["capacity"] == {"storage": "5Gi"}
    phases = {n: pv(c, n)["status"]["phase"]
              for n in ("small", "big", "right", "read-only", "other-class")}
    assert phases == {"small": "Available", "big": "Available", "right": "Bound",
                      "read-only": "Available", "other-class": "Available"}
    assert pv(c, "right")["metadata"]["annotations"] == {
        "pv.kubernetes.io/bound-by-controller": "yes"}


def test_selectors_and_named_volumes(c: Cluster) -> None:
    volume(c, "fast-a", "1Gi", labels={"speed": "fast"})
    volume(c, "slow-a", "1Gi", labels={"speed": "slow"})
    volume(c, "named", "2Gi")
    claim(c, "wants-fast", cls="manual", selector={"matchLabels": {"speed": "fast"}})
    claim(c, "wants-named", cls="manual", volumeName="named")
    settle(c)
    assert pvc(c, "wants-fast")["spec"]["volumeName"] == "fast-a"
    got = pvc(c, "wants-named")
    assert got["status"]["phase"] == "Bound"
    assert "pv.kubernetes.io/bound-by-controller" not in got["metadata"]["annotations"]
    assert pv(c, "slow-a")["status"]["phase"] == "Available"


def test_a_claim_nothing_can_satisfy_stays_pending(c: Cluster) -> None:
    stuck = claim(c, "stuck", "1Gi", cls="")
    report = settle(c)
    assert pvc(c, "stuck")["status"]["phase"] == "Pending"
    assert "FailedBinding" in reasons(c, stuck)
    assert "persistentvolumeclaim/default/stuck (Pending)" in report.unconverged
    volume(c, "late", "1Gi", cls="")
    settle(c)
    assert pvc(c, "stuck")["spec"]["volumeName"] == "late"


def test_deleting_the_claim_releases_and_reclaims_the_volume(c: Cluster) -> None:
    volume(c, "kept", "1Gi", policy="Retain")
    claim(c, "keeper", cls="manual")
    dynamic = claim(c, "scratch")
    settle(c)
    provisioned = f"pvc-{dynamic['metadata']['uid']}"
    assert pv(c, provisioned) is not None
    c.client.delete(kinds.PVCS, "keeper", NS)
    c.client.delete(kinds.PVCS, "scratch", NS)
    settle(c)
    assert pvc(c, "keeper") is None and pvc(c, "scratch") is None
    assert pv(c, provisioned) is None  # Delete: the volume went with its claim
    kept = pv(c, "kept")
    assert kept["status"]["phase"] == "Released"  # Retain: kept, still naming its old claim
    assert kept["spec"]["claimRef"]["name"] == "keeper"
    claim(c, "newcomer", cls="manual")
    settle(c)
    assert pvc(c, "newcomer")["status"]["phase"] == "Pending"  # a Released volume is not reused


def test_wait_for_first_consumer_binds_once_a_node_is_selected(c: Cluster) -> None:
    storage_class(c, "local", mode="WaitForFirstConsumer")
    waiting = claim(c, "late", cls="local")
    report = settle(c)
    assert pvc(c, "late")["status"]["phase"] == "Pending"
    assert not [u for u in report.unconverged if "late" in u]  # pending by design
    assert reasons(c, waiting) == ["WaitForFirstConsumer"]
    assert c.client.list(kinds.PVS).items == []
    c.client.patch(kinds.PVCS, "late", {"metadata": {"annotations": {
        "volume.kubernetes.io/selected-node": NODE}}}, NS, patch_type=PatchType.MERGE)
    settle(c)
    assert pvc(c, "late")["status"]["phase"] == "Bound"
    assert "ProvisioningSucceeded" in reasons(c, waiting)


def test_wait_for_first_consumer_follows_a_bound_pod(c: Cluster) -> None:
    storage_class(c, "local", mode="WaitForFirstConsumer")
    claim(c, "used", cls="local")
    c.client.create(kinds.PODS, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user", "namespace": NS},
        "spec": {"containers": [{"name": "c", "image": "nginx:1"}],
                 "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "used"}}]}})
    settle(c)
    assert pvc(c, "used")["status"]["phase"] == "Pending"
    c.client.bind(NS, "user", NODE)
    settle(c)
    assert pvc(c, "used")["status"]["phase"] == "Bound"


def test_a_claim_in_use_is_kept_until_its_pod_is_gone(c: Cluster) -> None:
    made = claim(c, "in-use")
    c.client.create(kinds.PODS, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user", "namespace": NS},
        "spec": {"containers": [{"name": "c", "image": "nginx:1"}],
                 "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "in-use"}}]}})
    c.client.bind(NS, "user", NODE)
    settle(c)
    name = f"pvc-{made['metadata']['uid']}"
    c.client.delete(kinds.PVCS, "in-use", NS)
    c.client.delete(kinds.PVS, name)
    settle(c)
    held = pvc(c, "in-use")
    assert held is not None and held["metadata"].get("deletionTimestamp")
    assert held["status"]["phase"] == "Bound"
    bound = pv(c, name)  # pv-protection: deleted, but Bound, so kept
    assert bound is not None and bound["metadata"].get("deletionTimestamp")
    c.client.delete(kinds.PODS, "user", NS, grace_period_seconds=0)  # play the kubelet
    settle(c)
    assert pvc(c, "in-use") is None
    assert pv(c, name) is None


def test_a_class_of_another_provisioner_waits_for_it(c: Cluster) -> None:
    storage_class(c, "external", provisioner="example.com/csi")
    pending = claim(c, "outside", cls="external")
    settle(c)
    got = pvc(c, "outside")
    assert got["status"]["phase"] == "Pending"
    assert got["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] == (
        "example.com/csi")
    assert reasons(c, pending) == ["ExternalProvisioning"]
    assert c.client.list(kinds.PVS).items == []

