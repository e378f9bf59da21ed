"""Endpoints and EndpointSlices follow the pods a Service selects.

The tests play the kubelet themselves: pods are created already bound to hand-made nodes no
simulated kubelet manages, and their status (IP, phase, Ready) is written through the client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.api.meta import now_rfc3339

Obj = dict[str, Any]
NS = "default"


@pytest.fixture
def c() -> Iterator[Cluster]:
    with Cluster(nodes=0, speed="max", serve=False, seed=1) as cluster:
        yield cluster


def add_node(c: Cluster, name: str, zone: str | None = None) -> None:
    labels = {"kubernetes.io/hostname": name}
    if zone:
        labels["topology.kubernetes.io/zone"] = zone
    node = c.client.create(kinds.NODES, {"apiVersion": "v1", "kind": "Node",
                                         "metadata": {"name": name, "labels": labels}})
    stamp = now_rfc3339(c.clock.datetime())
    node["status"] = {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                      "message": "ready", "lastHeartbeatTime": stamp,
                                      "lastTransitionTime": stamp}]}
    c.client.replace_status(kinds.NODES, node)


def service(c: Cluster, name: str, *, selector: dict[str, str] | None = None,
            ports: list[Obj] | None = None, headless: bool = False, publish: bool = False,
            labels: dict[str, str] | None = None) -> Obj:
    spec: Obj = {}
    if selector is not None:
        spec["selector"] = selector
    if ports is not None:
        spec["ports"] = ports
    if headless:
        spec["clusterIP"] = "None"
    if publish:
        spec["publishNotReadyAddresses"] = True
    return c.client.create(kinds.SERVICES, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": NS, "labels": labels or {}}, "spec": spec})


def pod(c: Cluster, name: str, *, node: str = "ext-1", labels: dict[str, str] | None = None,
        ports: list[Obj] | None = None, ip: str | None = None, ready: bool = True,
        hostname: str = "", subdomain: str = "") -> Obj:
    """A pod bound to ``node``, running with ``ip`` (no IP: still starting)."""
    container: Obj = {"name": "app", "image": "nginx"}
    if ports:
        container["ports"] = ports
    spec: Obj = {"nodeName": node, "containers": [container]}
    if hostname:
        spec["hostname"] = hostname
    if subdomain:
        spec["subdomain"] = subdomain
    created = c.client.create(kinds.PODS, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": labels or {"app": "web"}},
        "spec": spec})
    if ip is not None:
        set_status(c, name, ip=ip, ready=ready)
        return c.client.get(kinds.PODS, name, NS)
    return created


def set_status(c: Cluster, name: str, *, ip: str | None = None, ready: bool = True,
               phase: str = "Running") -> None:
    current = c.client.get(kinds.PODS, name, NS)
    status = current.get("status") or {}
    stamp = now_rfc3339(c.clock.datetime())
    ip = ip or status.get("podIP")
    status.update(phase=phase, podIP=ip, podIPs=[{"ip": ip}], hostIP="172.18.0.2")
    old = {cond["type"]: cond for cond in status.get("conditions") or ()}
    value = "True" if ready else "False"

    def cond(ctype: str) -> Obj:
        prev = old.get(ctype)
        since = prev["lastTransitionTime"] if prev and prev["status"] == value else stamp
        return {"type": ctype, "status": value, "lastTransitionTime": since,
                "lastProbeTime": None}

    status["conditions"] = [cond("Ready"), cond("ContainersReady")]
    current["status"] = status
    c.client.replace_status(kinds.PODS, current)


def endpoints(c: Cluster, name: str) -> Obj:
    return c.client.get(kinds.ENDPOINTS, name, NS)


def slices(c: Cluster, svc: str) -> list[Obj]:
    return c.client.list(kinds.ENDPOINTSLICES, NS,
                         label_selector=f"kubernetes.io/service-name={svc}").items


def slice_ips(c: Cluster, svc: str) -> dict[str, Obj]:
    """Every endpoint of the Service's slices by IP (an IP appearing twice fails the test)."""
    out: dict[str, Obj] = {}
    for s in slices(c, svc):
        for ep in s.get("endpoints") or ():
            (ip,) = ep["addresses"]
            assert ip not in out, f"{ip} in two slices"
            out[ip] = ep
    return out


def ips(subset_list: list[Obj], field: str) -> list[str]:
    return [a["ip"] for s in subset_list for a in s.get(field) or ()]


def settle(c: Cluster) -> None:
    report = c.settle(20)
    assert report.idle, str(report)


HTTP = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]


def test_endpoints_and_slices_follow_readiness_and_deletion(c: Cluster) -> None:
    add_node(c, "ext-1", zone="zone-a")
    svc = service(c, "web", selector={"app": "web"}, labels={"tier": "front"},
                  ports=[{"port": 80, "targetPort": "http"}])
    pod(c, "web-a", ports=HTTP, ip="10.244.1.10", ready=True)
    pod(c, "web-b", ports=HTTP, ip="10.244.1.11", ready=False)
    pod(c, "web-c", ports=HTTP)  # no IP yet: left out
    pod(c, "other", labels={"app": "db"}, ports=HTTP, ip="10.244.1.99")
    settle(c)

    ep = endpoints(c, "web")
    assert ep["metadata"]["labels"] == {"tier": "front",
                                        "endpoints.kubernetes.io/managed-by":
                                            "endpoint-controller"}
    assert ips(ep["subsets"], "addresses") == ["10.244.1.10"]
    assert ips(ep["subsets"], "notReadyAddresses") == ["10.244.1.11"]
    assert ep["subsets"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]
    address = ep["subsets"][0]["addresses"][0]
    assert address["nodeName"] == "ext-1"
    assert address["targetRef"]["name"] == "web-a" and address["targetRef"]["kind"] == "Pod"

    (s,) = slices(c, "web")
    meta = s["metadata"]
    assert meta["name"].startswith("web-") and len(meta["name"]) == len("web-") + 5
    assert meta["labels"] == {"tier": "front", "kubernetes.io/service-name": "web",
                              "endpointslice.kubernetes.io/managed-by":
                                  "endpointslice-controller.k8s.io"}
    (owner,) = meta["ownerReferences"]
    assert owner == {"apiVersion": "v1", "kind": "Service", "name": "web",
                     "uid": svc["metadata"]["uid"], "controller": True,
                     "blockOwnerDeletion": True}
    assert s["addressType"] == "IPv4"
    assert s["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
    by_ip = slice_ips(c, "web")
    assert set(by_ip) == {"10.244.1.10", "10.244.1.11"}
    a = by_ip["10.244.1.10"]
    assert a["conditions"] == {"ready": True, "serving": True, "terminating": False}
    assert a["nodeName"] == "ext-1" and a["zone"] == "zone-a"
    assert a["targetRef"]["name"] == "web-a"
    assert a["targetRef"]["uid"] == c.client.get(kinds.PODS, "web-a", NS)["metadata"]["uid"]
    assert by_ip["10.244.1.11"]["conditions"] == {"ready": False, "serving": False,
                                                  "terminating": False}

    # web-b becomes ready, web-c gets an IP
    set_status(c, "web-b", ready=True)
    set_status(c, "web-c", ip="10.244.1.12", ready=True)
    settle(c)
    ep = endpoints(c, "web")
    assert ips(ep["subsets"], "addresses") == ["10.244.1.10", "10.244.1.11", "10.244.1.12"]
    assert "notReadyAddresses" not in ep["subsets"][0]
    assert ep["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"]
    (s2,) = slices(c, "web")
    assert s2["metadata"]["name"] == meta["name"]  # updated in place
    assert all(e["conditions"]["ready"] for e in s2["endpoints"])

    # web-a is deleted gracefully: it is terminating (nobody runs it to the end)
    c.client.delete(kinds.PODS, "web-a", NS)
    settle(c)
    assert c.client.get(kinds.PODS, "web-a", NS)["metadata"].get("deletionTimestamp")
    assert ips(endpoints(c, "web")["subsets"], "addresses") == ["10.244.1.11", "10.244.1.12"]
    assert slice_ips(c, "web")["10.244.1.10"]["conditions"] == {
        "ready": False, "serving": True, "terminating": True}
    # gone for good
    c.client.delete(kinds.PODS, "web-a", NS, grace_period_seconds=0)
    # a failed pod leaves too
    set_status(c, "web-c", ready=False, phase="Failed")
    settle(c)
    assert ips(endpoints(c, "web")["subsets"], "addresses") == ["10.244.1.11"]
    assert set(slice_ips(c, "web")) == {"10.244.1.11"}


def test_killed_pod_is_replaced_in_the_same_slice(c: Cluster) -> None:
    """The seed scenario: the slice drops the old IP and gains the new one."""
    add_node(c, "ext-1")
    service(c, "rails", selector={"app": "web"}, ports=[{"port": 80, "targetPort": 3000}])
    for i in range(5):
        pod(c, f"rails-{i}", ip=f"10.244.1.{20 + i}")
    settle(c)
    (before,) = slices(c, "rails")
    rv = before["metadata"]["resourceVersion"]
    assert {e["addresses"][0] for e in before["endpoints"]} == {
        f"10.244.1.{20 + i}" for i in range(5)}
    c.client.delete(kinds.PODS, "rails-2", NS, grace_period_seconds=0)
    pod(c, "rails-5", ip="10.244.1.30")
    settle(c)
    (after,) = slices(c, "rails")
    assert after["metadata"]["name"] == before["metadata"]["name"]
    assert after["metadata"]["resourceVersion"] != rv
    got = {e["addresses"][0] for e in after["endpoints"]}
    assert "10.244.1.22" not in got and "10.244.1.30" in got and len(got) == 5
    assert after["ports"] == [{"name": "", "port": 3000, "protocol": "TCP"}]
    assert ips(endpoints(c, "rails")["subsets"], "addresses") == sorted(got)


def test_named_ports_resolve_per_pod(c: Cluster) -> None:
    add_node(c, "ext-1")
    service(c, "api", selector={"app": "web"}, ports=[
        {"name": "web", "port": 80, "targetPort": "http"},
        {"name": "metrics", "port": 9090, "targetPort": 9090}])
    pod(c, "old", ports=[{"name": "http", "containerPort": 8080}], ip="10.244.1.2")
    pod(c, "new", ports=[{"name": "http", "containerPort": 8081}], ip="10.244.1.3")
    pod(c, "none", ports=[{"name": "grpc", "containerPort": 7000}], ip="10.244.1.4")
    settle(c)
    found = {}
    for s in slices(c, "api"):
        for e in s["endpoints"]:
            found[e["addresses"][0]] = sorted((p["name"], p["port"]) for p in s["ports"])
    assert found == {"10.244.1.2": [("metrics", 9090), ("web", 8080)],
                     "10.244.1.3": [("metrics", 9090), ("web", 8081)],
                     "10.244.1.4": [("metrics", 9090)]}
    # Endpoints: the port every pod serves is one subset, each named port its own
    subsets = endpoints(c, "api")["subsets"]
    by_ports = {tuple((p.get("name"), p["port"]) for p in s["ports"]): ips([s], "addresses")
                for s in subsets}
    assert by_ports == {(("metrics", 9090),): ["10.244.1.2", "10.244.1.3", "10.244.1.4"],
                        (("web", 8080),): ["10.244.1.2"], (("web", 8081),): ["10.244.1.3"]}


def test_more_than_100_endpoints_are_split_and_kept_in_place(c: Cluster) -> None:
    add_node(c, "ext-1")
    service(c, "big", selector={"app": "web"}, ports=[{"port": 80}])
    with c.paused():
        for i in range(250):
            pod(c, f"big-{i:03d}", ip=f"10.244.{i // 200 + 1}.{i % 200 + 1}")
    settle(c)
    sizes = sorted(len(s["endpoints"]) for s in slices(c, "big"))
    assert sizes == [50, 100, 100]
    assert len(slice_ips(c, "big")) == 250
    assert len(ips(endpoints(c, "big")["subsets"], "addresses")) == 250
    names = {s["metadata"]["name"] for s in slices(c, "big")}
    for i in range(0, 20):
        c.client.delete(kinds.PODS, f"big-{i:03d}", NS, grace_period_seconds=0)
    settle(c)
    assert {s["metadata"]["name"] for s in slices(c, "big")} == names
    assert len(slice_ips(c, "big")) == 230
    # 30 more fit in the slices with room rather than a new one
    for i in range(250, 280):
        pod(c, f"big-{i:03d}", ip=f"10.244.3.{i - 249}")
    settle(c)
    assert {s["metadata"]["name"] for s in slices(c, "big")} == names
    assert len(slice_ips(c, "big")) == 260
    assert all(len(s["endpoints"]) <= 100 for s in slices(c, "big"))


def test_headless_service_with_hostnames(c: Cluster) -> None:
    add_node(c, "ext-1")
    service(c, "db", selector={"app": "db"}, headless=True)
    pod(c, "db-0", labels={"app": "db"}, ip="10.244.1.50", hostname="db-0", subdomain="db")
    pod(c, "db-1", labels={"app": "db"}, ip="10.244.1.51", ready=False)
    settle(c)
    ep = endpoints(c, "db")
    assert ep["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    (subset,) = ep["subsets"]
    assert "ports" not in subset
    assert subset["addresses"][0]["hostname"] == "db-0"
    assert ips([subset], "notReadyAddresses") == ["10.244.1.51"]
    (s,) = slices(c, "db")
    assert s["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    assert not s.get("ports")
    by_ip = slice_ips(c, "db")
    assert by_ip["10.244.1.50"]["hostname"] == "db-0"
    assert "hostname" not in by_ip["10.244.1.51"]


def test_publish_not_ready_addresses(c: Cluster) -> None:
    add_node(c, "ext-1")
    service(c, "peers", selector={"app": "web"}, ports=[{"port": 80}], publish=True)
    pod(c, "p-0", ip="10.244.1.60", ready=False)
    pod(c, "p-1", node="nowhere", ip="10.244.1.61", ready=False)  # published even so
    settle(c)
    assert ips(endpoints(c, "peers")["subsets"], "addresses") == ["10.244.1.60", "10.244.1.61"]
    for e in slice_ips(c, "peers").values():
        assert e["conditions"] == {"ready": True, "serving": False, "terminating": False}


def test_placeholder_slice_then_reused(c: Cluster) -> None:
    add_node(c, "ext-1")
    service(c, "empty", selector={"app": "later"}, ports=[{"port": 80}])
    settle(c)
    (placeholder,) = slices(c, "empty")
    assert placeholder["endpoints"] in ([], None) and not placeholder.get("ports")
    assert "subsets" not in endpoints(c, "empty") or not endpoints(c, "empty")["subsets"]
    pod(c, "late", labels={"app": "later"}, ip="10.244.1.70")
    settle(c)
    (s,) = slices(c, "empty")
    assert s["metadata"]["name"] == placeholder["metadata"]["name"]
    assert [e["addresses"] for e in s["endpoints"]] == [["10.244.1.70"]]
    assert s["ports"] == [{"name": "", "port": 80, "protocol": "TCP"}]
    c.client.delete(kinds.PODS, "late", NS, grace_period_seconds=0)
    settle(c)
    (back,) = slices(c, "empty")
    assert not back.get("endpoints") and not back.get("ports")


def test_pod_on_unknown_node_waits_for_the_node(c: Cluster) -> None:
    service(c, "web", selector={"app": "web"}, ports=[{"port": 80}])
    pod(c, "w", node="ext-9", ip="10.244.9.2")
    settle(c)
    assert slice_ips(c, "web") == {}
    assert ips(endpoints(c, "web")["subsets"], "addresses") == ["10.244.9.2"]
    reasons = [e["reason"] for e in c.client.list(kinds.EVENTS, NS).items
               if e["involvedObject"]["name"] == "web"]
    assert "FailedToUpdateEndpointSlices" in reasons
    add_node(c, "ext-9", zone="z9")
    settle(c)
    assert slice_ips(c, "web")["10.244.9.2"]["zone"] == "z9"


def test_unrelated_pod_updates_write_nothing(c: Cluster) -> None:
    add_node(c, "ext-1")
    service(c, "web", selector={"app": "web"}, ports=[{"port": 80}])
    pod(c, "w", ip="10.244.1.2")
    settle(c)
    ep_rv = endpoints(c, "web")["metadata"]["resourceVersion"]
    (s,) = slices(c, "web")
    c.client.patch(kinds.PODS, "w", {"metadata": {"annotations": {"note": "x"}}}, NS)
    settle(c)
    assert endpoints(c, "web")["metadata"]["resourceVersion"] == ep_rv
    assert slices(c, "web")[0]["metadata"]["resourceVersion"] == s["metadata"]["resourceVersion"]


def test_selector_and_service_changes(c: Cluster) -> None:
    add_node(c, "ext-1")
    service(c, "web", selector={"app": "web"}, ports=[{"port": 80}])
    pod(c, "w", ip="10.244.1.2")
    pod(c, "d", labels={"app": "db"}, ip="10.244.1.3")
    settle(c)
    c.client.patch(kinds.SERVICES, "web", {"spec": {"selector": {"app": "db"}},
                                           "metadata": {"labels": {"v": "2"}}}, NS)
    settle(c)
    assert ips(endpoints(c, "web")["subsets"], "addresses") == ["10.244.1.3"]
    assert set(slice_ips(c, "web")) == {"10.244.1.3"}
    assert slices(c, "web")[0]["metadata"]["labels"]["v"] == "2"
    # a pod relabelled into the Service joins it
    c.client.patch(kinds.PODS, "w", {"metadata": {"labels": {"app": "db"}}}, NS)
    settle(c)
    assert set(slice_ips(c, "web")) == {"10.244.1.2", "10.244.1.3"}
    # a slice deleted by hand comes back
    c.client.delete(kinds.ENDPOINTSLICES, slices(c, "web")[0]["metadata"]["name"], NS)
    settle(c)
    assert set(slice_ips(c, "web")) == {"10.244.1.2", "10.244.1.3"}
    # the Service goes: so does its Endpoints
    c.client.delete(kinds.SERVICES, "web", NS)
    settle(c)
    with pytest.raises(errors.NotFound):
        endpoints(c, "web")


def test_services_without_selector_are_left_alone(c: Cluster) -> None:
    add_node(c, "ext-1")
    service(c, "manual", ports=[{"port": 80}])
    c.client.create(kinds.ENDPOINTS, {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "manual", "namespace": NS},
        "subsets": [{"addresses": [{"ip": "192.0.2.1"}], "ports": [{"port": 80}]}]})
    pod(c, "w", ip="10.244.1.2")
    settle(c)
    assert ips(endpoints(c, "manual")["subsets"], "addresses") == ["192.0.2.1"]
    assert slices(c, "manual") == []
    # the kubernetes Service's are the apiserver's own, untouched by the controllers
    assert [s["metadata"]["name"] for s in slices(c, "kubernetes")] == ["kubernetes"]
    assert ips(endpoints(c, "kubernetes")["subsets"], "addresses") == ["172.18.0.1"]
    assert "managedFields" not in endpoints(c, "kubernetes")["metadata"] or {
        m["manager"] for m in endpoints(c, "kubernetes")["metadata"]["managedFields"]} == {
        "kube-apiserver"}


def test_the_kubernetes_service_has_the_apiservers_endpoints() -> None:
    from kubenb import Cluster

    with Cluster(nodes=1, speed="max", serve=False, seed=1) as c:
        assert c.settle(10)
        ep = c.client.get(kinds.ENDPOINTS, "kubernetes", "default")
        assert ep["subsets"][0]["ports"][0]["port"] == 6443
        sl = c.client.get(kinds.ENDPOINTSLICES, "kubernetes", "default")
        assert sl["endpoints"][0]["addresses"] == [ep["subsets"][0]["addresses"][0]["ip"]]
        # the controllers leave what the apiserver owns alone
        assert len(c.client.list(kinds.ENDPOINTSLICES, "default",
                                 label_selector="kubernetes.io/service-name=kubernetes")
                   .items) == 1
