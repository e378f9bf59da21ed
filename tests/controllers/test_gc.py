"""The garbage collector: Background, Foreground and Orphan deletion, several owners, absent
owners, custom resources, and a ReplicaSet's pods.

Owners and dependents are ConfigMaps made by the test (plus a ReplicaSet whose controller makes
pods); bound pods go to a Node object no kubelet runs, so the test finishes their graceful
deletion.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.api.resources import ResourceType
from kubenb.client.client import PatchType
from kubenb.controllers.gc import GarbageCollector
from tests.controllers.nodes import parked_node

Obj = dict[str, Any]
NS = "default"
NODE = "gc-test-node"  # a Node object no kubelet runs: the test ends graceful deletions
CRDS = kinds.builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions")


@pytest.fixture
def c() -> Iterator[Cluster]:
    with Cluster(nodes=0, speed="max", serve=False, seed=1) as cluster:
        cluster.client.create(kinds.NODES, parked_node(NODE))
        yield cluster


def ref(owner: Obj, *, block: bool = False, controller: bool = False) -> Obj:
    r: Obj = {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
              "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}
    if block:
        r["blockOwnerDeletion"] = True
    if controller:
        r["controller"] = True
    return r


def cm(c: Cluster, name: str, *owners: Obj, finalizers: list[str] | None = None,
       ns: str = NS) -> Obj:
    meta: Obj = {"name": name, "namespace": ns}
    if owners:
        meta["ownerReferences"] = list(owners)
    if finalizers:
        meta["finalizers"] = finalizers
    return c.client.create(kinds.CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": meta})


def get(c: Cluster, name: str, rt: Any = kinds.CONFIGMAPS, ns: str | None = NS) -> Obj | None:
    try:
        return c.client.get(rt, name, ns)
    except errors.NotFound:
        return None


def unhold(c: Cluster, name: str, rt: Any = kinds.CONFIGMAPS, ns: str | None = NS) -> None:
    c.client.patch(rt, name, {"metadata": {"finalizers": None}}, ns)


def settle(c: Cluster) -> None:
    report = c.settle(20)
    assert report.idle, str(report)


def test_background_deletes_dependents_transitively(c: Cluster) -> None:
    owner = cm(c, "owner")
    child = cm(c, "child", ref(owner))
    cm(c, "grandchild", ref(child))
    keep = cm(c, "unrelated")
    settle(c)
    c.client.delete(kinds.CONFIGMAPS, "owner", NS)  # Background is the default
    settle(c)
    assert get(c, "owner") is None
    assert get(c, "child") is None
    assert get(c, "grandchild") is None
    assert get(c, "unrelated")["metadata"]["uid"] == keep["metadata"]["uid"]


def test_foreground_waits_for_blocking_dependents_only(c: Cluster) -> None:
    owner = cm(c, "owner")
    cm(c, "blocker", ref(owner, block=True), finalizers=["test.kubenb.io/hold"])
    cm(c, "bystander", ref(owner), finalizers=["test.kubenb.io/hold"])
    settle(c)
    c.client.delete(kinds.CONFIGMAPS, "owner", NS, propagation_policy="Foreground")
    report = c.settle(20)
    assert report.idle
    held = get(c, "owner")
    assert held is not None and held["metadata"].get("deletionTimestamp")
    assert held["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert any("configmap/default/owner" in u for u in report.unconverged), report
    # both dependents were deleted, and wait on their own finalizer
    assert get(c, "blocker")["metadata"].get("deletionTimestamp")
    assert get(c, "bystander")["metadata"].get("deletionTimestamp")
    unhold(c, "blocker")
    settle(c)
    assert get(c, "owner") is None  # only the blocking dependent held it
    assert get(c, "bystander") is not None
    unhold(c, "bystander")
    settle(c)
    assert get(c, "bystander") is None


def test_foreground_propagates_down_the_chain(c: Cluster) -> None:
    top = cm(c, "top")
    middle = cm(c, "middle", ref(top, block=True))
    cm(c, "bottom", ref(middle, block=True), finalizers=["test.kubenb.io/hold"])
    settle(c)
    c.client.delete(kinds.CONFIGMAPS, "top", NS, propagation_policy="Foreground")
    settle(c)
    # the middle is deleted in the foreground too: it waits for the bottom, the top for it
    assert get(c, "middle")["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert get(c, "top")["metadata"]["finalizers"] == ["foregroundDeletion"]
    unhold(c, "bottom")
    settle(c)
    assert [get(c, n) for n in ("top", "middle", "bottom")] == [None, None, None]


def test_orphan_removes_the_owner_reference_from_every_dependent(c: Cluster) -> None:
    owner = cm(c, "owner")
    other = cm(c, "other")
    cm(c, "only-child", ref(owner, block=True))
    cm(c, "shared-child", ref(owner), ref(other))
    settle(c)
    c.client.delete(kinds.CONFIGMAPS, "owner", NS, propagation_policy="Orphan")
    settle(c)
    assert get(c, "owner") is None
    assert "ownerReferences" not in get(c, "only-child")["metadata"]
    assert get(c, "shared-child")["metadata"]["ownerReferences"] == [ref(other)]


def test_a_dependent_survives_while_one_owner_remains(c: Cluster) -> None:
    first, second = cm(c, "first"), cm(c, "second")
    cm(c, "shared", ref(first), ref(second))
    settle(c)
    c.client.delete(kinds.CONFIGMAPS, "first", NS)
    settle(c)
    shared = get(c, "shared")
    assert shared is not None
    assert shared["metadata"]["ownerReferences"] == [ref(second)]  # the dangling one is dropped
    c.client.delete(kinds.CONFIGMAPS, "second", NS)
    settle(c)
    assert get(c, "shared") is None


def test_owners_that_never_existed_or_were_replaced_are_absent(c: Cluster) -> None:
    replaced = cm(c, "replaced")
    c.client.delete(kinds.CONFIGMAPS, "replaced", NS)
    settle(c)
    now = cm(c, "replaced")  # same name, another uid
    cm(c, "of-ghost", {"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost",
                       "uid": "00000000-0000-0000-0000-000000000001"})
    cm(c, "of-old", ref(replaced))
    cm(c, "of-new", ref(now))
    settle(c)
    assert get(c, "of-ghost") is None
    assert get(c, "of-old") is None
    assert get(c, "of-new") is not None


def test_owner_created_after_the_dependent_is_not_mistaken_for_absent(c: Cluster) -> None:
    with c.paused():
        owner = cm(c, "late-owner")
        cm(c, "early-child", ref(owner))
    settle(c)
    assert get(c, "early-child") is not None
    gc = next(x for x in c.manager.controllers if isinstance(x, GarbageCollector))
    node = gc.nodes[owner["metadata"]["uid"]]
    assert not node.virtual and list(node.dependents)


def test_cluster_scoped_dependent_of_a_namespaced_owner_is_reported(c: Cluster) -> None:
    owner = cm(c, "owner")
    role = c.client.create(kinds.builtin("rbac.authorization.k8s.io", "v1", "clusterroles"), {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "odd", "ownerReferences": [ref(owner)]}, "rules": []})
    settle(c)
    rt = kinds.builtin("rbac.authorization.k8s.io", "v1", "clusterroles")
    assert get(c, "odd", rt, None) is not None  # not deleted: the reference is invalid
    events = [e for e in c.client.list(kinds.EVENTS, NS).items
              if e["involvedObject"].get("uid") == role["metadata"]["uid"]]
    assert [e["reason"] for e in events] == ["OwnerRefInvalidNamespace"]
    assert events[0]["type"] == "Warning"


def replicaset(name: str = "web", replicas: int = 3) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "containers": [{"name": "c", "image": "nginx:1"}]}}}}


def pods_of(c: Cluster, app: str = "web") -> list[Obj]:
    return c.client.list(kinds.PODS, NS, label_selector=f"app={app}").items


def bind_all(c: Cluster, app: str = "web") -> None:
    """Play the scheduler: bind the pods to a node no kubelet runs."""
    for pod in pods_of(c, app):
        if not pod["spec"].get("nodeName"):
            c.client.bind(NS, pod["metadata"]["name"], NODE)


def finish_terminating(c: Cluster, app: str = "web") -> int:
    """Play the kubelet: end the graceful deletion of the pods being deleted."""
    n = 0
    for pod in pods_of(c, app):
        if pod["metadata"].get("deletionTimestamp"):
            c.client.delete(kinds.PODS, pod["metadata"]["name"], NS, grace_period_seconds=0)
            n += 1
    return n


def test_replicaset_background_deletion_deletes_its_pods(c: Cluster) -> None:
    c.client.create(kinds.REPLICASETS, replicaset())
    settle(c)
    assert len(pods_of(c)) == 3
    bind_all(c)
    settle(c)
    c.client.delete(kinds.REPLICASETS, "web", NS, propagation_policy="Background")
    settle(c)
    assert get(c, "web", kinds.REPLICASETS) is None
    assert finish_terminating(c) == 3  # every pod was deleted, gracefully
    settle(c)
    assert pods_of(c) == []


def test_replicaset_foreground_deletion_waits_for_its_pods(c: Cluster) -> None:
    c.client.create(kinds.REPLICASETS, replicaset())
    settle(c)
    bind_all(c)
    settle(c)
    c.client.delete(kinds.REPLICASETS, "web", NS, propagation_policy="Foreground")
    settle(c)
    rs = get(c, "web", kinds.REPLICASETS)
    assert rs is not None and rs["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert len(pods_of(c)) == 3  # terminating, not replaced
    assert finish_terminating(c) == 3
    settle(c)
    assert get(c, "web", kinds.REPLICASETS) is None
    assert pods_of(c) == []


def test_replicaset_orphan_deletion_keeps_its_pods(c: Cluster) -> None:
    c.client.create(kinds.REPLICASETS, replicaset())
    settle(c)
    before = {p["metadata"]["uid"] for p in pods_of(c)}
    c.client.delete(kinds.REPLICASETS, "web", NS, propagation_policy="Orphan")
    settle(c)
    assert get(c, "web", kinds.REPLICASETS) is None
    left = pods_of(c)
    assert {p["metadata"]["uid"] for p in left} == before
    assert all("ownerReferences" not in p["metadata"] for p in left)


def crd(group: str = "test.kubenb.io", kind: str = "Widget", plural: str = "widgets",
        scope: str = "Namespaced") -> Obj:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": scope,
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                         "openAPIV3Schema": {"type": "object",
                                             "x-kubernetes-preserve-unknown-fields": True}}}]}}


def test_custom_resources_are_owners_and_dependents(c: Cluster) -> None:
    c.client.create(CRDS, crd())
    settle(c)
    widgets = ResourceType(group="test.kubenb.io", version="v1", kind="Widget",
                           plural="widgets", namespaced=True, custom=True)
    owner = cm(c, "owner")
    w = c.client.create(widgets, {"apiVersion": "test.kubenb.io/v1", "kind": "Widget",
                                  "metadata": {"name": "w1", "namespace": NS,
                                               "ownerReferences": [ref(owner)]}})
    cm(c, "of-widget", ref(w, block=True))
    settle(c)
    c.client.delete(kinds.CONFIGMAPS, "owner", NS)
    settle(c)
    assert get(c, "w1", widgets) is None
    assert get(c, "of-widget") is None


def test_dependent_of_a_custom_kind_defined_later_waits_for_its_crd(c: Cluster) -> None:
    gadgets = ResourceType(group="test.kubenb.io", version="v1", kind="Gadget",
                           plural="gadgets", namespaced=True, custom=True)
    # a reference to a kind nobody serves yet is left alone...
    cm(c, "waiting", {"apiVersion": "test.kubenb.io/v1", "kind": "Gadget", "name": "g",
                      "uid": "00000000-0000-0000-0000-0000000000aa"})
    settle(c)
    assert get(c, "waiting") is not None
    # ...until the kind exists: then the owner is looked for, and found absent
    c.client.create(CRDS, crd(kind="Gadget", plural="gadgets"))
    settle(c)
    assert get(c, "waiting") is None
    g = c.client.create(gadgets, {"apiVersion": "test.kubenb.io/v1", "kind": "Gadget",
                                  "metadata": {"name": "g", "namespace": NS}})
    cm(c, "of-gadget", ref(g))
    settle(c)
    assert get(c, "of-gadget") is not None


def test_namespace_foreground_finalizer_is_removed(c: Cluster) -> None:
    c.client.create(kinds.NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": "fg"}})
    settle(c)
    c.client.delete(kinds.NAMESPACES, "fg", propagation_policy="Foreground")
    settle(c)
    assert get(c, "fg", kinds.NAMESPACES, None) is None


def test_removing_the_reference_unblocks_a_foreground_owner(c: Cluster) -> None:
    owner = cm(c, "owner")
    cm(c, "blocker", ref(owner, block=True), finalizers=["test.kubenb.io/hold"])
    settle(c)
    c.client.delete(kinds.CONFIGMAPS, "owner", NS, propagation_policy="Foreground")
    settle(c)
    assert get(c, "owner") is not None
    c.client.patch(kinds.CONFIGMAPS, "blocker", {"metadata": {"ownerReferences": None}}, NS,
                   patch_type=PatchType.MERGE)
    settle(c)
    assert get(c, "owner") is None
    assert get(c, "blocker") is not None  # still held by its own finalizer


def test_a_reference_that_names_its_owner_wrongly_is_dangling_alone(c: Cluster) -> None:
    # as upstream's absentOwnerCache, what a lookup by name did not find is remembered by the
    # reference's coordinates: a good reference to the same uid is not taken for gone
    owner = cm(c, "owner")
    settle(c)
    wrong = {**ref(owner), "name": "no-such"}
    cm(c, "misnamed", wrong)
    cm(c, "right", ref(owner))
    settle(c)
    assert get(c, "misnamed") is None  # its only owner, as it names it, does not exist
    assert get(c, "right") is not None
    assert get(c, "owner") is not None
    c.client.delete(kinds.CONFIGMAPS, "owner", NS)
    settle(c)
    assert get(c, "right") is None  # and the real owner still takes its dependent with it


def test_other_versions_of_the_owners_kind_name_it_rightly(c: Cluster) -> None:
    deployment = c.client.create(kinds.DEPLOYMENTS, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    settle(c)
    other_version = {**ref(deployment), "apiVersion": "apps/v1beta2"}  # the group is what counts
    cm(c, "config", other_version)
    settle(c)
    assert get(c, "config") is not None
