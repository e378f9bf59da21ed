"""The namespace controller: deleting a namespace deletes its content (built-in kinds and custom
resources), reports what remains in its conditions, and lets the namespace go once it is empty.

Bound pods go to a Node object no kubelet runs (it exists, so pod GC leaves its pods alone), and
the test ends their graceful deletion itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.api.resources import ResourceType
from tests.controllers.nodes import parked_node

Obj = dict[str, Any]
NS = "shop"
NODE = "ns-test-node"
CRDS = kinds.builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions")
WIDGETS = ResourceType(group="test.kubenb.io", version="v1", kind="Widget", plural="widgets",
                       namespaced=True, custom=True)


@pytest.fixture
def c() -> Iterator[Cluster]:
    with Cluster(nodes=0, speed="max", serve=False, seed=1) as cluster:
        cluster.client.create(CRDS, {
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.test.kubenb.io"},
            "spec": {"group": "test.kubenb.io", "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                         "openAPIV3Schema": {"type": "object",
                                             "x-kubernetes-preserve-unknown-fields": True}}}]}})
        cluster.client.create(kinds.NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": NS}})
        cluster.client.create(kinds.NODES, parked_node(NODE))
        yield cluster


def settle(c: Cluster) -> Any:
    report = c.settle(20)
    assert report.idle, str(report)
    return report


def namespace(c: Cluster, name: str = NS) -> Obj | None:
    try:
        return c.client.get(kinds.NAMESPACES, name)
    except errors.NotFound:
        return None


def conditions(ns: Obj) -> dict[str, Obj]:
    return {cond["type"]: cond for cond in ns["status"].get("conditions") or ()}


def fill(c: Cluster) -> None:
    """Objects of several kinds, a custom resource, a Deployment and a bound pod."""
    client = c.client
    client.create(kinds.CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "settings", "namespace": NS}})
    client.create(kinds.SECRETS, {"apiVersion": "v1", "kind": "Secret",
                                  "metadata": {"name": "token", "namespace": NS}})
    client.create(kinds.SERVICES, {"apiVersion": "v1", "kind": "Service",
                                   "metadata": {"name": "web", "namespace": NS},
                                   "spec": {"selector": {"app": "web"},
                                            "ports": [{"port": 80}]}})
    client.create(kinds.DEPLOYMENTS, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                     "containers": [{"name": "web", "image": "nginx:1"}]}}}})
    client.create(WIDGETS, {"apiVersion": "test.kubenb.io/v1", "kind": "Widget",
                            "metadata": {"name": "w1", "namespace": NS}})
    client.create(kinds.PODS, {"apiVersion": "v1", "kind": "Pod",
                               "metadata": {"name": "bound", "namespace": NS},
                               "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}})
    client.bind(NS, "bound", NODE)


CONTENT = (kinds.CONFIGMAPS, kinds.SECRETS, kinds.SERVICES, kinds.DEPLOYMENTS,
           kinds.REPLICASETS, kinds.PODS, WIDGETS)


def left(c: Cluster) -> dict[str, list[str]]:
    out = {}
    for rt in CONTENT:
        items = c.client.list(rt, NS).items
        if items:
            out[rt.plural] = sorted(i["metadata"]["name"] for i in items)
    return out


def test_deleting_a_namespace_deletes_its_content_then_itself(c: Cluster) -> None:
    settle(c)
    fill(c)
    settle(c)
    assert {"configmaps", "secrets", "services", "deployments", "pods", "widgets"} <= set(
        left(c))
    c.client.delete(kinds.NAMESPACES, NS)
    report = settle(c)
    # everything went but the bound pod, which waits for a kubelet to end it
    assert left(c) == {"pods": ["bound"]}
    ns = namespace(c)
    assert ns is not None and ns["status"]["phase"] == "Terminating"
    conds = conditions(ns)
    assert conds["NamespaceContentRemaining"]["status"] == "True"
    assert conds["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: pods. has 1 resource instances")
    assert conds["NamespaceDeletionDiscoveryFailure"]["status"] == "False"
    assert any(u.startswith(f"namespace/{NS} (Terminating") for u in report.unconverged)
    with pytest.raises(errors.Forbidden):
        c.client.create(kinds.CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"name": "late", "namespace": NS}})
    # play the kubelet: the pod's containers stopped
    c.client.delete(kinds.PODS, "bound", NS, grace_period_seconds=0)
    settle(c)
    assert namespace(c) is None
    assert left(c) == {}


def test_finalizers_of_the_content_hold_the_namespace(c: Cluster) -> None:
    settle(c)
    c.client.create(WIDGETS, {"apiVersion": "test.kubenb.io/v1", "kind": "Widget",
                              "metadata": {"name": "held", "namespace": NS,
                                           "finalizers": ["test.kubenb.io/cleanup"]}})
    c.client.create(kinds.CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "also-held", "namespace": NS,
                                                    "finalizers": ["test.kubenb.io/cleanup"]}})
    settle(c)
    c.client.delete(kinds.NAMESPACES, NS)
    settle(c)
    ns = namespace(c)
    assert ns is not None
    conds = conditions(ns)
    assert conds["NamespaceFinalizersRemaining"]["message"] == (
        "Some content in the namespace has finalizers remaining: test.kubenb.io/cleanup in 2 "
        "resource instances")
    assert conds["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: configmaps. has 1 resource instances, "
        "widgets.test.kubenb.io has 1 resource instances")
    assert c.client.get(WIDGETS, "held", NS)["metadata"].get("deletionTimestamp")
    c.client.patch(WIDGETS, "held", {"metadata": {"finalizers": None}}, NS)
    settle(c)
    assert namespace(c) is not None  # the ConfigMap still holds it
    c.client.patch(kinds.CONFIGMAPS, "also-held", {"metadata": {"finalizers": None}}, NS)
    settle(c)
    assert namespace(c) is None


def test_an_empty_namespace_goes_at_once_and_others_are_untouched(c: Cluster) -> None:
    settle(c)
    c.client.create(kinds.CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "keep", "namespace": "default"}})
    c.client.delete(kinds.NAMESPACES, NS)
    settle(c)
    assert namespace(c) is None
    assert c.client.get(kinds.CONFIGMAPS, "keep", "default") is not None
    assert namespace(c, "default")["status"]["phase"] == "Active"


def test_other_spec_finalizers_keep_the_namespace_after_ours(c: Cluster) -> None:
    c.client.create(kinds.NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": "extra"},
                                       "spec": {"finalizers": ["example.com/audit"]}})
    settle(c)
    c.client.delete(kinds.NAMESPACES, "extra")
    settle(c)
    ns = namespace(c, "extra")
    assert ns is not None and ns["spec"]["finalizers"] == ["example.com/audit"]
    ns["spec"]["finalizers"] = []
    c.client.replace(kinds.NAMESPACES, ns, subresource="finalize")
    settle(c)
    assert namespace(c, "extra") is None


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
def test_system_namespaces_may_not_be_deleted(c: Cluster, name: str) -> None:
    with pytest.raises(errors.Forbidden, match="this namespace may not be deleted"):
        c.client.delete(kinds.NAMESPACES, name)
    assert not namespace(c, name)["metadata"].get("deletionTimestamp")
