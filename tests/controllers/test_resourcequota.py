"""ResourceQuotas: admission refuses what would go past ``spec.hard`` (with upstream's
messages), and the quota controller keeps ``status.used`` beside ``status.hard``; the flows of
the Kubernetes docs' "Configure Memory and CPU Quotas" and "Configure a Pod Quota" tasks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.api.kinds import builtin
from kubenb.apiserver.endpoints import WriteOptions

Obj = dict[str, Any]
QUOTAS = builtin("", "v1", "resourcequotas")
USER = WriteOptions(field_manager="kubectl")
NS = "quota-demo"


@pytest.fixture
def c() -> Iterator[Cluster]:
    with Cluster(nodes=2, speed="max", serve=False, seed=3) as cluster:
        cluster.client.create(kinds.NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": NS}})
        yield cluster


def quota(c: Cluster, name: str, hard: dict[str, str], **spec: Any) -> None:
    c.endpoints.create(QUOTAS, NS, {"apiVersion": "v1", "kind": "ResourceQuota",
                                    "metadata": {"name": name},
                                    "spec": {"hard": hard, **spec}}, USER)


def pod(name: str, requests: dict[str, str] | None = None,
        limits: dict[str, str] | None = None, **spec: Any) -> Obj:
    resources: Obj = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": "nginx",
                                     "resources": resources}], **spec}}


def create(c: Cluster, obj: Obj) -> Obj:
    return c.endpoints.create(kinds.PODS, NS, obj, USER)


def status(c: Cluster, name: str) -> Obj:
    return c.client.get(QUOTAS, name, NS).get("status") or {}


def test_memory_and_cpu_quota(c: Cluster) -> None:
    quota(c, "mem-cpu-demo", {"requests.cpu": "1", "requests.memory": "1Gi",
                              "limits.cpu": "2", "limits.memory": "2Gi"})
    assert c.settle(30)
    assert status(c, "mem-cpu-demo") == {
        "hard": {"requests.cpu": "1", "requests.memory": "1Gi", "limits.cpu": "2",
                 "limits.memory": "2Gi"},
        "used": {"requests.cpu": "0", "requests.memory": "0", "limits.cpu": "0",
                 "limits.memory": "0"}}
    create(c, pod("quota-mem-cpu-demo", {"memory": "600Mi", "cpu": "400m"},
                  {"memory": "800Mi", "cpu": "800m"}))
    assert c.settle(30)
    assert status(c, "mem-cpu-demo")["used"] == {
        "requests.cpu": "400m", "requests.memory": "600Mi", "limits.cpu": "800m",
        "limits.memory": "800Mi"}
    before = c.store.resource_version
    with pytest.raises(errors.Forbidden) as caught:
        create(c, pod("quota-mem-cpu-demo-2", {"memory": "700Mi", "cpu": "400m"},
                      {"memory": "1Gi", "cpu": "800m"}))
    assert caught.value.status["message"] == (
        'pods "quota-mem-cpu-demo-2" is forbidden: exceeded quota: mem-cpu-demo, requested: '
        "requests.memory=700Mi, used: requests.memory=600Mi, limited: requests.memory=1Gi")
    assert caught.value.status["code"] == 403
    with pytest.raises(errors.Forbidden) as bare:
        create(c, pod("bare"))
    assert bare.value.status["message"] == (
        'pods "bare" is forbidden: failed quota: mem-cpu-demo: must specify limits.cpu,'
        "limits.memory,requests.cpu,requests.memory")
    assert c.store.resource_version == before  # nothing stored
    # what the first pod used is free again once it is gone
    c.client.delete(kinds.PODS, "quota-mem-cpu-demo", NS)
    assert c.settle(60)
    create(c, pod("quota-mem-cpu-demo-2", {"memory": "700Mi", "cpu": "400m"},
                  {"memory": "1Gi", "cpu": "800m"}))
    assert c.settle(30)
    assert status(c, "mem-cpu-demo")["used"]["requests.memory"] == "700Mi"


def test_pod_count_and_a_deployment_held_by_it(c: Cluster) -> None:
    quota(c, "pod-demo", {"pods": "2"})
    c.client.create(kinds.DEPLOYMENTS, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "pod-quota-demo", "namespace": NS},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"purpose": "quota-demo"}},
                 "template": {"metadata": {"labels": {"purpose": "quota-demo"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
    # the ReplicaSet retries its third pod with back-off for as long as the quota refuses it,
    # so the cluster does not settle: give it a few seconds of the max clock
    assert not c.settle(3)
    deployment = c.client.get(kinds.DEPLOYMENTS, "pod-quota-demo", NS)
    assert deployment["status"]["availableReplicas"] == 2
    assert status(c, "pod-demo")["used"] == {"pods": "2"}
    failed = [e["message"] for e in c.client.list(kinds.EVENTS, NS).items
              if e["reason"] == "FailedCreate"]
    assert failed and "exceeded quota: pod-demo, requested: pods=1, used: pods=2, " \
                      "limited: pods=2" in failed[0]
    job = pod("done", restartPolicy="Never")
    job["spec"]["containers"][0]["command"] = ["true"]
    with pytest.raises(errors.Forbidden):
        create(c, job)
    # one replica less makes room; a pod that has finished no longer counts
    c.client.patch(kinds.DEPLOYMENTS, "pod-quota-demo", {"spec": {"replicas": 1}}, NS)
    assert c.settle(60)
    create(c, job)
    assert c.settle(60)
    assert c.client.get(kinds.PODS, "done", NS)["status"]["phase"] == "Succeeded"
    assert status(c, "pod-demo")["used"] == {"pods": "1"}
    create(c, pod("next"))


def test_object_counts_services_and_scopes(c: Cluster) -> None:
    quota(c, "objects", {"count/deployments.apps": "1", "services.nodeports": "1",
                         "configmaps": "1"})
    quota(c, "best-effort", {"pods": "1"}, scopes=["BestEffort"])
    services = builtin("", "v1", "services")
    c.endpoints.create(services, NS, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"},
        "spec": {"type": "NodePort", "selector": {"a": "b"}, "ports": [{"port": 80}]}}, USER)
    with pytest.raises(errors.Forbidden, match=re.escape(
            'services "np2" is forbidden: exceeded quota: objects, requested: '
            "services.nodeports=1")):
        c.endpoints.create(services, NS, {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "np2"},
            "spec": {"type": "NodePort", "selector": {"a": "b"}, "ports": [{"port": 81}]}},
            USER)
    c.endpoints.create(services, NS, {  # a ClusterIP Service uses no node port
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "plain"},
        "spec": {"selector": {"a": "b"}, "ports": [{"port": 80}]}}, USER)
    c.endpoints.create(kinds.CONFIGMAPS, NS, {"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": {"name": "one"}}, USER)
    with pytest.raises(errors.Forbidden, match="configmaps=1"):
        c.endpoints.create(kinds.CONFIGMAPS, NS, {"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"name": "two"}}, USER)
    def deployment(name: str) -> Obj:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                "spec": {"replicas": 0, "selector": {"matchLabels": {"a": "b"}},
                         "template": {"metadata": {"labels": {"a": "b"}},
                                      "spec": {"containers": [{"name": "c",
                                                               "image": "nginx"}]}}}}

    c.endpoints.create(kinds.DEPLOYMENTS, NS, deployment("d1"), USER)
    with pytest.raises(errors.Forbidden, match=re.escape(
            'deployments.apps "d2" is forbidden: exceeded quota: objects, requested: '
            "count/deployments.apps=1")):
        c.endpoints.create(kinds.DEPLOYMENTS, NS, deployment("d2"), USER)
    # the BestEffort quota counts only pods with no requests or limits
    create(c, pod("be-1"))
    create(c, pod("burstable", {"cpu": "100m"}))
    with pytest.raises(errors.Forbidden, match="exceeded quota: best-effort"):
        create(c, pod("be-2"))
    assert c.settle(60)
    assert status(c, "objects")["used"] == {"count/deployments.apps": "1",
                                            "services.nodeports": "1", "configmaps": "1"}
    assert status(c, "best-effort")["used"] == {"pods": "1"}
