"""The disruption controller: PodDisruptionBudget status from the pods it guards, and the
eviction API spending it, as kubectl drain meets them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from kubenb.api import errors, kinds
from kubenb.cluster import Cluster
from kubenb.controllers.disruption import DELETION_TIMEOUT
from kubenb.controllers.podutil import now_string

Obj = dict[str, Any]
NS = "default"


@pytest.fixture
def c() -> Iterator[Cluster]:
    with Cluster(nodes=3, speed="max", serve=False, seed=2) as cluster:
        yield cluster


def deployment(name: str = "web", replicas: int = 3) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def budget(name: str = "web", app: str = "web", **spec: Any) -> Obj:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"selector": {"matchLabels": {"app": app}}, **spec}}


def status(c: Cluster, name: str = "web") -> Obj:
    return c.client.get(kinds.PDBS, name, NS).get("status") or {}


def counts(c: Cluster, name: str = "web") -> tuple[int, int, int, int]:
    st = status(c, name)
    return (st["currentHealthy"], st["desiredHealthy"], st["expectedPods"],
            st["disruptionsAllowed"])


def allowed_condition(c: Cluster, name: str = "web") -> tuple[str, str, str]:
    (cond,) = [x for x in status(c, name)["conditions"] if x["type"] == "DisruptionAllowed"]
    return cond["status"], cond["reason"], cond["message"]


def pods(c: Cluster, app: str = "web") -> list[Obj]:
    return c.client.list(kinds.PODS, NS, label_selector=f"app={app}").items


@pytest.mark.parametrize(("spec", "expected"), [
    ({"minAvailable": 2}, (3, 2, 3, 1)),
    ({"minAvailable": "50%"}, (3, 2, 3, 1)),  # 1.5 rounded up
    ({"maxUnavailable": 1}, (3, 2, 3, 1)),
    ({"maxUnavailable": "100%"}, (3, 0, 3, 3)),
    ({"minAvailable": 3}, (3, 3, 3, 0)),
])
def test_status_follows_the_pods_and_their_controller(c: Cluster, spec: Obj,
                                                      expected: tuple[int, ...]) -> None:
    c.client.create(kinds.DEPLOYMENTS, deployment())
    c.client.create(kinds.PDBS, budget(**spec))
    assert c.settle(30)
    assert counts(c) == expected
    st = status(c)
    assert st["observedGeneration"] == c.client.get(kinds.PDBS, "web", NS)["metadata"][
        "generation"]
    assert allowed_condition(c)[:2] == (("True", "SufficientPods") if expected[3]
                                        else ("False", "InsufficientPods"))


def test_scaling_the_deployment_moves_the_expected_count(c: Cluster) -> None:
    c.client.create(kinds.DEPLOYMENTS, deployment(replicas=2))
    c.client.create(kinds.PDBS, budget(maxUnavailable="50%"))
    assert c.settle(30)
    assert counts(c) == (2, 1, 2, 1)
    c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"replicas": 4}}, NS)
    assert c.settle(30)
    assert counts(c) == (4, 2, 4, 2)


def _statuses(c: Cluster) -> list[tuple[int, int, tuple[str, ...]]]:
    """Every (disruptionsAllowed, currentHealthy, disruptedPods) the budget "web" is written
    with from now on (the engine runs beside the test: what it writes between two reads is only
    seen this way)."""
    seen: list[tuple[int, int, tuple[str, ...]]] = []

    def record(_etype: str, raw: bytes) -> None:
        st = orjson.loads(raw).get("status") or {}
        seen.append((st.get("disruptionsAllowed", -1), st.get("currentHealthy", -1),
                     tuple(st.get("disruptedPods") or ())))

    c.client.watch(kinds.PDBS, record, namespace=NS)
    return seen


def test_evictions_spend_the_budget_until_replacements_are_ready(c: Cluster) -> None:
    c.client.create(kinds.DEPLOYMENTS, deployment())
    c.client.create(kinds.PDBS, budget(minAvailable=2))
    assert c.settle(30)
    first, second, _ = sorted(p["metadata"]["name"] for p in pods(c))
    seen = _statuses(c)
    c.client.evict(NS, first)
    # the eviction spent the one disruption allowed and recorded the pod; the pod goes, its
    # ReplicaSet replaces it, and once the new pod is Ready the budget allows one again
    assert c.settle(60)
    assert any(allowed == 0 and disrupted == (first,) for allowed, _, disrupted in seen)
    assert counts(c) == (3, 2, 3, 1)
    assert "disruptedPods" not in status(c)
    c.client.evict(NS, second)
    assert c.settle(60)
    assert len([p for p in pods(c) if not p["metadata"].get("deletionTimestamp")]) == 3
    assert counts(c) == (3, 2, 3, 1)


def test_a_pod_that_was_not_deleted_counts_again_after_the_timeout(c: Cluster) -> None:
    c.client.create(kinds.DEPLOYMENTS, deployment())
    c.client.create(kinds.PDBS, budget(minAvailable=2))
    assert c.settle(30)
    name = pods(c)[0]["metadata"]["name"]
    # an eviction recorded, but the pod never deleted (as if its delete had failed)
    recorded = c.clock.now()
    seen = _statuses(c)
    c.client.patch(kinds.PDBS, "web", {"status": {"disruptionsAllowed": 0, "disruptedPods": {
        name: now_string(recorded)}}}, NS, subresource="status")
    assert c.settle(30)  # the controller looks again when the pod should have gone
    assert c.clock.now() >= int(recorded) + DELETION_TIMEOUT  # (stamped in whole seconds)
    # while it was expected to go, it did not count as healthy
    assert (0, 2, (name,)) in seen
    assert counts(c) == (3, 2, 3, 1)
    assert "disruptedPods" not in status(c)
    assert any(e["reason"] == "NotDeleted" and e["involvedObject"]["name"] == name
               for e in c.client.list(kinds.EVENTS, NS).items)


def test_unmanaged_pods_and_controllers_without_a_scale(c: Cluster) -> None:
    c.client.create(kinds.PODS, {"apiVersion": "v1", "kind": "Pod",
                                 "metadata": {"name": "loner", "namespace": NS,
                                              "labels": {"app": "loner"}},
                                 "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    c.client.create(kinds.PDBS, budget("loner", "loner", maxUnavailable=1))
    c.client.create(kinds.DAEMONSETS, {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent",
                                                                    "namespace": NS},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
                 "template": {"metadata": {"labels": {"app": "agent"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    c.client.create(kinds.PDBS, budget("agent", "agent", minAvailable="50%"))
    c.client.create(kinds.PDBS, budget("nobody", "nobody", minAvailable=1))
    assert c.settle(30)
    # a pod without a controller is not part of the expected count: a warning says so
    assert counts(c, "loner") == (1, 0, 0, 0)
    reasons = {e["reason"] for e in c.client.list(kinds.EVENTS, NS).items
               if e["involvedObject"]["name"] in ("loner", "agent", "nobody")}
    assert {"UnmanagedPods", "CalculateExpectedPodCountFailed", "NoPods"} <= reasons
    # a DaemonSet has no scale to take a percentage of: the budget fails safe
    assert status(c, "agent")["disruptionsAllowed"] == 0
    cstatus, reason, message = allowed_condition(c, "agent")
    assert (cstatus, reason) == ("False", "SyncFailed")
    assert message in {f'found no controllers for pod "{p["metadata"]["name"]}"'
                       for p in pods(c, "agent")}
    assert counts(c, "nobody") == (0, 1, 0, 0)


def test_unready_pods_may_go_when_the_budget_is_healthy(c: Cluster) -> None:
    c.client.create(kinds.DEPLOYMENTS, deployment())
    c.client.create(kinds.PDBS, budget(minAvailable=3))
    assert c.settle(30)
    assert counts(c)[3] == 0
    name = pods(c)[0]["metadata"]["name"]
    with pytest.raises(errors.TooManyRequests):
        c.client.evict(NS, name)  # Ready: it would take the budget below 3
    # IfHealthyBudget (the default): an unready pod may go only while the budget is healthy
    c.client.patch(kinds.PDBS, "web", {"spec": {"unhealthyPodEvictionPolicy": "AlwaysAllow"}},
                   NS)
    assert c.settle(30)
    pod = c.client.get(kinds.PODS, name, NS)
    for cond in pod["status"]["conditions"]:
        if cond["type"] == "Ready":
            cond["status"] = "False"
    c.client.replace(kinds.PODS, pod, subresource="status")
    c.client.evict(NS, name)  # AlwaysAllow: an unready pod spends nothing
    assert c.client.get(kinds.PODS, name, NS)["metadata"].get("deletionTimestamp")


def test_a_custom_resource_with_a_scale_subresource_gives_the_expected_count(
        c: Cluster) -> None:
    """An operator's resource that declares /scale counts like a built-in controller."""
    crds = kinds.builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    c.client.create(crds, {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "caches.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "caches", "singular": "cache", "kind": "Cache"},
                 "versions": [{
                     "name": "v1", "served": True, "storage": True,
                     "subresources": {"status": {}, "scale": {
                         "specReplicasPath": ".spec.replicas",
                         "statusReplicasPath": ".status.replicas"}},
                     "schema": {"openAPIV3Schema": {
                         "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})
    assert c.settle(30)
    caches = c.registry.get("example.com", "v1", "caches")
    assert caches is not None
    cache = c.client.create(caches, {"apiVersion": "example.com/v1", "kind": "Cache",
                                     "metadata": {"name": "redis", "namespace": NS},
                                     "spec": {"replicas": 4}})
    owner = {"apiVersion": "example.com/v1", "kind": "Cache", "name": "redis",
             "uid": cache["metadata"]["uid"], "controller": True}
    for i in range(3):  # the operator has made three of its four pods so far
        c.client.create(kinds.PODS, {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"redis-{i}", "namespace": NS, "labels": {"app": "redis"},
                         "ownerReferences": [owner]},
            "spec": {"containers": [{"name": "c", "image": "redis:7"}]}})
    c.client.create(kinds.PDBS, budget("redis", "redis", minAvailable="50%"))
    assert c.settle(30)
    assert counts(c, "redis") == (3, 2, 4, 1)
    assert allowed_condition(c, "redis")[:2] == ("True", "SufficientPods")
