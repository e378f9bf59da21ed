"""The official ``kubernetes`` Python client, typed API and DynamicClient, unchanged."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

from kubenb import Cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The apiserver alone: these tests write status and bindings themselves, which the
    controllers and the scheduler would otherwise race them for."""
    path = tmp_path_factory.mktemp("kubenb") / "kubeconfig"
    with Cluster(nodes=2, kubeconfig=path, controllers=False) as c:
        yield c


@pytest.fixture(scope="module")
def api(cluster: Cluster) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=cluster.kubeconfig)
    yield api_client
    api_client.close()


@pytest.fixture
def ns(api: client.ApiClient) -> str:
    name = "py-" + uuid.uuid4().hex[:8]
    client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=name)))
    return name


def _deployment(name: str, replicas: int = 2) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="app",
                                                                     image="nginx:1.27")]))))


def test_typed_crud_and_conflict(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    created = core.create_namespaced_config_map(ns, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="settings", labels={"app": "x"}), data={"a": "1"}))
    assert created.metadata.uid and created.metadata.resource_version
    read = core.read_namespaced_config_map("settings", ns)
    assert read.data == {"a": "1"}
    read.data["a"] = "2"
    replaced = core.replace_namespaced_config_map("settings", ns, read)
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    created.data["a"] = "stale"
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("settings", ns, created)
    assert exc.value.status == 409
    assert core.read_namespaced_config_map("settings", ns).data == {"a": "2"}
    with pytest.raises(ApiException) as dup:
        core.create_namespaced_config_map(ns, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="settings")))
    assert dup.value.status == 409 and '"reason":"AlreadyExists"' in dup.value.body.replace(
        " ", "")
    core.delete_namespaced_config_map("settings", ns)
    with pytest.raises(ApiException) as nf:
        core.read_namespaced_config_map("settings", ns)
    assert nf.value.status == 404


def test_apps_typed_api_defaults_and_status_subresource(api: client.ApiClient, ns: str) -> None:
    apps = client.AppsV1Api(api)
    dep = apps.create_namespaced_deployment(ns, _deployment("web"))
    assert dep.spec.strategy.type == "RollingUpdate"
    assert dep.spec.strategy.rolling_update.max_surge == "25%"
    assert dep.spec.template.spec.containers[0].image_pull_policy == "IfNotPresent"
    assert dep.spec.template.spec.containers[0].termination_message_path == "/dev/termination-log"
    # writes to /status change only status; writes to the main resource ignore status
    apps.patch_namespaced_deployment_status("web", ns, {"status": {"replicas": 2,
                                                                   "readyReplicas": 1}})
    after = apps.read_namespaced_deployment("web", ns)
    assert after.status.ready_replicas == 1 and after.metadata.generation == 1
    apps.patch_namespaced_deployment("web", ns, {"status": {"readyReplicas": 9},
                                                 "spec": {"replicas": 3}})
    after = apps.read_namespaced_deployment("web", ns)
    assert after.status.ready_replicas == 1 and after.spec.replicas == 3
    assert after.metadata.generation == 2
    apps.patch_namespaced_deployment_status("web", ns, {"spec": {"replicas": 10},
                                                        "status": {"readyReplicas": 2}})
    after = apps.read_namespaced_deployment("web", ns)
    assert after.spec.replicas == 3 and after.status.ready_replicas == 2
    scale = apps.read_namespaced_deployment_scale("web", ns)
    assert scale.spec.replicas == 3 and scale.status.selector == "app=web"
    apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 6}})
    assert apps.read_namespaced_deployment("web", ns).spec.replicas == 6


def test_watch_stream(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    start = core.list_namespaced_config_map(ns).metadata.resource_version
    seen: list[tuple[str, str]] = []

    def writer() -> None:
        core.create_namespaced_config_map(ns, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="w1"), data={"x": "1"}))
        core.patch_namespaced_config_map("w1", ns, {"data": {"x": "2"}})
        core.delete_namespaced_config_map("w1", ns)

    w = watch.Watch()
    thread = threading.Thread(target=writer)
    thread.start()
    for event in w.stream(core.list_namespaced_config_map, ns, resource_version=start,
                          timeout_seconds=10):
        if event["object"].metadata.name == "w1":
            seen.append((event["type"], event["object"].data.get("x") if event[
                "object"].data else ""))
        if len(seen) == 3:
            w.stop()
    thread.join()
    assert seen == [("ADDED", "1"), ("MODIFIED", "2"), ("DELETED", "2")]


def test_pagination_and_selectors(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    for i in range(12):
        core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(
            name=f"cm-{i:02d}", labels={"parity": "even" if i % 2 == 0 else "odd",
                                        "n": str(i)})))
    names: list[str] = []
    token = None
    pages = 0
    while True:
        page = core.list_namespaced_config_map(ns, limit=5, _continue=token,
                                               label_selector="parity")
        names += [i.metadata.name for i in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert pages == 3 and names == [f"cm-{i:02d}" for i in range(12)]
    odd = core.list_namespaced_config_map(ns, label_selector="parity=odd,n notin (1,3)")
    assert sorted(i.metadata.name for i in odd.items) == ["cm-05", "cm-07", "cm-09", "cm-11"]
    one = core.list_namespaced_config_map(ns, field_selector="metadata.name=cm-04")
    assert [i.metadata.name for i in one.items] == ["cm-04"]
    with pytest.raises(ApiException) as bad:
        core.list_namespaced_config_map(ns, label_selector="parity in (odd")
    assert bad.value.status == 400


def test_finalizers_and_dry_run(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(
        name="guarded", finalizers=["example.com/guard"])))
    core.delete_namespaced_config_map("guarded", ns)
    held = core.read_namespaced_config_map("guarded", ns)
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("guarded", ns, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("guarded", ns)
    assert gone.value.status == 404
    dry = core.create_namespaced_config_map(ns, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="dry")), dry_run="All")
    assert dry.metadata.name == "dry"
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("dry", ns)


def test_terminating_namespace_refuses_new_objects(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    name = "doomed-" + uuid.uuid4().hex[:6]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    # an object held by a finalizer keeps the namespace Terminating while the namespace
    # controller waits for it
    core.create_namespaced_config_map(name, client.V1ConfigMap(metadata=client.V1ObjectMeta(
        name="held", finalizers=["example.com/hold"])))
    core.delete_namespace(name)
    assert core.read_namespace(name).status.phase == "Terminating"
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(name, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="late")))
    assert exc.value.status == 403
    core.patch_namespaced_config_map("held", name, {"metadata": {"finalizers": None}})


def test_dynamic_client(api: client.ApiClient, ns: str) -> None:
    dyn = dynamic.DynamicClient(api)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    body: dict[str, Any] = api.sanitize_for_serialization(_deployment("dyn"))
    body.update(apiVersion="apps/v1", kind="Deployment")
    created = deployments.create(body=body, namespace=ns)
    assert created.metadata.name == "dyn"
    listed = deployments.get(namespace=ns)
    assert [i.metadata.name for i in listed.items] == ["dyn"]
    patched = deployments.patch(name="dyn", namespace=ns, body={"spec": {"replicas": 4}},
                                content_type="application/merge-patch+json")
    assert patched.spec.replicas == 4
    applied = deployments.server_side_apply(
        body={"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "dyn", "labels": {"applied": "yes"}}},
        namespace=ns, field_manager="pytest")
    assert applied.metadata.labels["applied"] == "yes"
    deployments.delete(name="dyn", namespace=ns)
    assert deployments.get(namespace=ns).items == []


def _pod(name: str, labels: dict[str, str] | None = None) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {"app": name}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]))


def test_binding_eviction_and_disruption_budgets(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    policy = client.PolicyV1Api(api)
    for name in ("a", "b"):
        created = core.create_namespaced_pod(ns, _pod(name, {"app": "guarded"}))
        assert created.status.phase == "Pending" and created.spec.node_name is None
    core.create_namespaced_pod_binding("a", ns, client.V1Binding(
        metadata=client.V1ObjectMeta(name="a"),
        target=client.V1ObjectReference(kind="Node", name="node-1")),
        _preload_content=False)
    bound = core.read_namespaced_pod("a", ns)
    assert bound.spec.node_name == "node-1"
    assert bound.metadata.generation == 1  # binding bypasses the pod update strategy
    assert [(c.type, c.status) for c in bound.status.conditions] == [("PodScheduled", "True")]
    with pytest.raises(ApiException) as twice:
        core.create_namespaced_pod_binding("a", ns, client.V1Binding(
            metadata=client.V1ObjectMeta(name="a"),
            target=client.V1ObjectReference(kind="Node", name="node-2")),
            _preload_content=False)
    assert twice.value.status == 409
    # no kubelet runs here: "b" is made Running and Ready as its kubelet would report it
    core.patch_namespaced_pod_status("b", ns, {"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True"}]}})
    policy.create_namespaced_pod_disruption_budget(ns, client.V1PodDisruptionBudget(
        metadata=client.V1ObjectMeta(name="keep-one"),
        spec=client.V1PodDisruptionBudgetSpec(
            min_available=2, selector=client.V1LabelSelector(match_labels={"app": "guarded"}))))
    eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name="b", namespace=ns))

    def refused() -> str:
        with pytest.raises(ApiException) as blocked:
            core.create_namespaced_pod_eviction("b", ns, eviction)
        assert blocked.value.status == 429
        status = json.loads(blocked.value.body)
        assert status["reason"] == "TooManyRequests"
        (cause,) = status["details"]["causes"]
        assert cause["reason"] == "DisruptionBudget"
        return str(cause["message"])

    # no disruption controller either: the budget's status is not computed yet
    assert refused() == "The disruption budget keep-one is still being processed by the server."
    policy.patch_namespaced_pod_disruption_budget_status("keep-one", ns, {"status": {
        "disruptionsAllowed": 0, "currentHealthy": 1, "desiredHealthy": 2,
        "expectedPods": 2, "observedGeneration": 1}})
    assert refused() == "The disruption budget keep-one needs 2 healthy pods and has 1 currently"
    core.read_namespaced_pod("b", ns)  # still there
    policy.patch_namespaced_pod_disruption_budget_status("keep-one", ns, {"status": {
        "disruptionsAllowed": 1, "currentHealthy": 2, "desiredHealthy": 1}})
    core.create_namespaced_pod_eviction("b", ns, eviction)
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_pod("b", ns)
    assert gone.value.status == 404
    budget = policy.read_namespaced_pod_disruption_budget("keep-one", ns)
    assert budget.status.disruptions_allowed == 0
    assert list(budget.status.disrupted_pods) == ["b"]  # not healthy while it goes
    # a pod that is not running yet may always go: "a" is bound but still Pending
    core.create_namespaced_pod_eviction("a", ns, client.V1Eviction(
        metadata=client.V1ObjectMeta(name="a", namespace=ns)))
    # bound, so its deletion is graceful: it waits for a kubelet this cluster does not run
    assert core.read_namespaced_pod("a", ns).metadata.deletion_timestamp is not None


def test_pod_log_of_a_pod_that_has_not_started(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(ns, _pod("quiet"))
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod_log("quiet", ns)
    assert exc.value.status == 400
    status = json.loads(exc.value.body)
    assert status["reason"] == "BadRequest"
    assert status["message"] == \
        'container "c" in pod "quiet" is waiting to start: ContainerCreating'


def test_events_are_one_resource_in_two_versions(api: client.ApiClient, ns: str) -> None:
    """events.k8s.io/v1 and v1 Events are the same stored objects, converted field by field."""
    core = client.CoreV1Api(api)
    events = client.EventsV1Api(api)
    created = events.create_namespaced_event(ns, client.EventsV1Event(
        metadata=client.V1ObjectMeta(name="web.1"),
        event_time="2026-11-30T07:00:00.000000Z", reporting_controller="example.com/ctl",
        reporting_instance="ctl-1", action="Scaling", reason="ScalingReplicaSet",
        note="Scaled up replica set web-1 to 3", type="Normal",
        regarding=client.V1ObjectReference(kind="Deployment", name="web", namespace=ns)))
    assert created.note == "Scaled up replica set web-1 to 3"
    legacy = core.read_namespaced_event("web.1", ns)
    assert legacy.message == "Scaled up replica set web-1 to 3"
    assert legacy.involved_object.name == "web"
    assert legacy.reporting_component == "example.com/ctl"
    found = core.list_namespaced_event(ns, field_selector="involvedObject.name=web")
    assert [e.metadata.name for e in found.items] == ["web.1"]
    found = events.list_namespaced_event(ns, field_selector="regarding.name=web")
    assert [e.note for e in found.items] == ["Scaled up replica set web-1 to 3"]
    assert events.list_namespaced_event(ns, field_selector="regarding.name=other").items == []
    core.patch_namespaced_event("web.1", ns, {"message": "changed"})
    assert events.read_namespaced_event("web.1", ns).note == "changed"
    events.delete_namespaced_event("web.1", ns)
    assert core.list_namespaced_event(ns).items == []


def test_custom_resource_served_in_two_versions(api: client.ApiClient, ns: str) -> None:
    """A CRD with two served versions and no conversion webhook: one stored object, each version
    reading it with its own apiVersion (conversion strategy None)."""
    ext = client.ApiextensionsV1Api(api)
    schema = {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
        "type": "object", "properties": {"size": {"type": "integer"}}}}}}
    ext.create_custom_resource_definition({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.toys.example.com"},
        "spec": {"group": "toys.example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [
                     {"name": "v1", "served": True, "storage": True, "schema": schema},
                     {"name": "v2", "served": True, "storage": False, "schema": schema}]}})
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object("toys.example.com", "v1", ns, "widgets", {
        "apiVersion": "toys.example.com/v1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {"size": 3, "colour": "dropped"}})
    as_v2 = custom.get_namespaced_custom_object("toys.example.com", "v2", ns, "widgets", "w")
    assert as_v2["apiVersion"] == "toys.example.com/v2"
    assert as_v2["spec"] == {"size": 3}  # unknown fields are pruned, as structural schemas do
    listed = custom.list_namespaced_custom_object("toys.example.com", "v2", ns, "widgets")
    assert [i["apiVersion"] for i in listed["items"]] == ["toys.example.com/v2"]
    as_v1 = custom.get_namespaced_custom_object("toys.example.com", "v1", ns, "widgets", "w")
    assert as_v1["apiVersion"] == "toys.example.com/v1"
    with pytest.raises(ApiException) as bad:
        custom.create_namespaced_custom_object("toys.example.com", "v1", ns, "widgets", {
            "apiVersion": "toys.example.com/v1", "kind": "Widget",
            "metadata": {"name": "bad"}, "spec": {"size": "big"}})
    assert bad.value.status == 422
    assert json.loads(bad.value.body)["details"]["causes"][0]["field"] == "spec.size"
    ext.delete_custom_resource_definition("widgets.toys.example.com")
    with pytest.raises(ApiException) as gone:
        custom.list_namespaced_custom_object("toys.example.com", "v1", ns, "widgets")
    assert gone.value.status == 404


def test_services_get_cluster_ips_and_node_ports(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)

    def service(name: str, stype: str = "ClusterIP", ip: str | None = None) -> Any:
        return core.create_namespaced_service(ns, client.V1Service(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1ServiceSpec(type=stype, cluster_ip=ip, selector={"app": name},
                                      ports=[client.V1ServicePort(port=80)])))

    a, b = service("svc-a"), service("svc-b")
    ips = {a.spec.cluster_ip, b.spec.cluster_ip}
    assert len(ips) == 2 and "10.96.0.1" not in ips  # 10.96.0.1 is default/kubernetes
    assert all(ip.startswith("10.") for ip in ips) and a.spec.cluster_ips == [a.spec.cluster_ip]
    with pytest.raises(ApiException) as taken:
        service("svc-c", ip=a.spec.cluster_ip)
    assert taken.value.status == 422 and "already allocated" in taken.value.body
    exposed = service("svc-np", stype="NodePort")
    port = exposed.spec.ports[0].node_port
    assert 30000 <= port <= 32767
    second = service("svc-np2", stype="NodePort").spec.ports[0].node_port
    assert second != port
    patched = core.patch_namespaced_service("svc-np", ns, {"metadata": {"labels": {"x": "y"}}})
    assert patched.spec.ports[0].node_port == port
    assert patched.spec.cluster_ip == exposed.spec.cluster_ip
