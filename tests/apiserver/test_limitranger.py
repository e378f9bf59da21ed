"""LimitRanger admission: a namespace's LimitRanges default and bound what is created in it, as
the Kubernetes docs' "Configure Default Memory Requests and Limits" and "Minimum and Maximum
Constraints" tasks show."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.api.kinds import builtin
from kubenb.apiserver.endpoints import WriteOptions

Obj = dict[str, Any]
LIMITRANGES = builtin("", "v1", "limitranges")
USER = WriteOptions(field_manager="kubectl")
NS = "constraints"


@pytest.fixture
def c() -> Iterator[Cluster]:
    with Cluster(controllers=False, serve=False) as cluster:
        cluster.endpoints.create(kinds.NAMESPACES, None, {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}, USER)
        yield cluster


def limits(c: Cluster, *items: Obj) -> None:
    c.endpoints.create(LIMITRANGES, NS, {"apiVersion": "v1", "kind": "LimitRange",
                                         "metadata": {"name": "lr"},
                                         "spec": {"limits": list(items)}}, USER)


def pod(name: str, **resources: Obj) -> Obj:
    container: Obj = {"name": "app", "image": "nginx"}
    if resources:
        container["resources"] = resources
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [container]}}


def create(c: Cluster, obj: Obj) -> Obj:
    return c.endpoints.create(kinds.PODS, NS, obj, USER)


def test_defaults_fill_what_a_container_leaves_out(c: Cluster) -> None:
    limits(c, {"type": "Container", "default": {"memory": "512Mi"},
               "defaultRequest": {"memory": "256Mi"}})
    out = create(c, pod("default-mem-demo"))
    assert out["spec"]["containers"][0]["resources"] == {
        "requests": {"memory": "256Mi"}, "limits": {"memory": "512Mi"}}
    assert out["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: memory request for container app; "
        "memory limit for container app")
    # a container that says its limit keeps it; its request comes from the limit (pod
    # defaulting), not from the LimitRange
    out = create(c, pod("default-mem-demo-2", limits={"memory": "1Gi"}))
    assert out["spec"]["containers"][0]["resources"] == {
        "requests": {"memory": "1Gi"}, "limits": {"memory": "1Gi"}}
    assert "kubernetes.io/limit-ranger" not in (out["metadata"].get("annotations") or {})
    # only a default limit: the LimitRange's own defaulting made the default request
    lr = c.endpoints.get(LIMITRANGES, NS, "lr")
    assert lr["spec"]["limits"][0]["defaultRequest"] == {"memory": "256Mi"}


def test_min_and_max_are_enforced_with_upstreams_messages(c: Cluster) -> None:
    limits(c, {"type": "Container", "max": {"memory": "1Gi"}, "min": {"memory": "500Mi"}})
    created = create(c, pod("constraints-mem-demo", requests={"memory": "600Mi"},
                            limits={"memory": "800Mi"}))
    assert created["spec"]["containers"][0]["resources"]["limits"] == {"memory": "800Mi"}
    before = c.store.resource_version
    with pytest.raises(errors.Forbidden) as big:
        create(c, pod("constraints-mem-demo-2", requests={"memory": "800Mi"},
                      limits={"memory": "1.5Gi"}))
    assert big.value.status["message"] == (
        'pods "constraints-mem-demo-2" is forbidden: maximum memory usage per Container is '
        "1Gi, but limit is 1536Mi")
    assert big.value.status["code"] == 403 and big.value.status["reason"] == "Forbidden"
    with pytest.raises(errors.Forbidden, match="minimum memory usage per Container is 500Mi, "
                                               "but request is 100Mi"):
        create(c, pod("constraints-mem-demo-3", requests={"memory": "100Mi"},
                      limits={"memory": "800Mi"}))
    assert c.store.resource_version == before  # nothing stored
    # defaults from max/min: a bare pod gets limit 1Gi and request 1Gi (the default limit)
    out = create(c, pod("constraints-mem-demo-4"))
    assert out["spec"]["containers"][0]["resources"] == {
        "requests": {"memory": "1Gi"}, "limits": {"memory": "1Gi"}}


def test_ratio_pod_totals_and_several_failures(c: Cluster) -> None:
    limits(c, {"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}},
           {"type": "Pod", "max": {"cpu": "1"}})
    with pytest.raises(errors.Forbidden) as caught:
        create(c, pod("greedy", requests={"cpu": "400m"}, limits={"cpu": "1200m"}))
    assert caught.value.status["message"] == (
        'pods "greedy" is forbidden: [cpu max limit to request ratio per Container is 2, but '
        "provided ratio is 3.000000, maximum cpu usage per Pod is 1, but limit is 1200m]")
    two = pod("pair", requests={"cpu": "300m"}, limits={"cpu": "600m"})
    two["spec"]["containers"].append({"name": "side", "image": "busybox", "resources": {
        "requests": {"cpu": "300m"}, "limits": {"cpu": "600m"}}})
    with pytest.raises(errors.Forbidden, match="maximum cpu usage per Pod is 1, but limit is "
                                               "1200m"):
        create(c, two)
    create(c, pod("fine", requests={"cpu": "300m"}, limits={"cpu": "600m"}))


def test_claims_are_held_to_storage_bounds(c: Cluster) -> None:
    limits(c, {"type": "PersistentVolumeClaim", "max": {"storage": "2Gi"},
               "min": {"storage": "1Gi"}})

    def claim(name: str, size: str) -> Obj:
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": size}}}}

    c.endpoints.create(kinds.PVCS, NS, claim("ok", "1Gi"), USER)
    with pytest.raises(errors.Forbidden, match='persistentvolumeclaims "big" is forbidden: '
                                               "maximum storage usage per "
                                               "PersistentVolumeClaim is 2Gi, but request is "
                                               "5Gi"):
        c.endpoints.create(kinds.PVCS, NS, claim("big", "5Gi"), USER)


def test_other_namespaces_are_not_touched(c: Cluster) -> None:
    limits(c, {"type": "Container", "max": {"memory": "1Gi"}})
    out = c.endpoints.create(kinds.PODS, "default", pod("free", limits={"memory": "4Gi"}),
                             USER)
    assert out["spec"]["containers"][0]["resources"]["limits"] == {"memory": "4Gi"}
