"""The store's own semantics, without HTTP: versions, conflicts, namespaces, deletion, watch."""

from __future__ import annotations

from typing import Any

import pytest

from kubenb.api import errors
from kubenb.api.resources import Registry
from kubenb.api.selectors import parse_field_selector, parse_label_selector
from kubenb.apiserver.store import Store, WatchEvent

REG = Registry()
CM = REG.get("", "v1", "configmaps")
PODS = REG.get("", "v1", "pods")
DEPLOY = REG.get("apps", "v1", "deployments")
NS = REG.get("", "v1", "namespaces")
NODES = REG.get("", "v1", "nodes")


def cm(name: str, ns: str = "default", **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "labels": labels}, "data": {"k": "v"}}


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas}}


@pytest.fixture
def store() -> Store:
    return Store(REG)


def test_initial_namespaces_exist(store: Store) -> None:
    names = {(r.split(b'"name":"')[1].split(b'"')[0]).decode()
             for r in store.list(NS).items}
    assert names == {"default", "kube-system", "kube-public", "kube-node-lease"}


def test_create_sets_server_fields_and_one_counter_orders_all_writes(store: Store) -> None:
    a = store.create(CM, cm("a"))
    b = store.create(DEPLOY, deployment("b"))
    assert a["metadata"]["uid"] and a["metadata"]["creationTimestamp"].endswith("Z")
    assert int(b["metadata"]["resourceVersion"]) == int(a["metadata"]["resourceVersion"]) + 1
    assert "generation" not in a["metadata"]  # configmaps have no spec
    assert b["metadata"]["generation"] == 1
    assert store.get(CM, "default", "a") == a


def test_generation_moves_on_spec_changes_only(store: Store) -> None:
    store.create(DEPLOY, deployment("web"))

    def label(obj: dict[str, Any]) -> dict[str, Any]:
        obj["metadata"]["labels"] = {"x": "y"}
        obj["status"] = {"replicas": 3}
        return obj

    obj, _ = store.update(DEPLOY, "default", "web", label)
    assert obj["metadata"]["generation"] == 1

    def scale(obj: dict[str, Any]) -> dict[str, Any]:
        obj["spec"]["replicas"] = 5
        return obj

    obj, _ = store.update(DEPLOY, "default", "web", scale)
    assert obj["metadata"]["generation"] == 2


def test_errors_are_kubernetes_statuses(store: Store) -> None:
    store.create(CM, cm("a"))
    with pytest.raises(errors.AlreadyExists) as exc:
        store.create(CM, cm("a"))
    assert exc.value.status["code"] == 409
    assert exc.value.status["details"] == {"name": "a", "kind": "configmaps"}
    with pytest.raises(errors.NotFound) as nf:
        store.get(DEPLOY, "default", "nope")
    assert nf.value.status["message"] == 'deployments.apps "nope" not found'
    with_rv = cm("b")
    with_rv["metadata"]["resourceVersion"] = "5"
    with pytest.raises(errors.BadRequest):
        store.create(CM, with_rv)
    assert not store.exists(CM, "default", "b")


def test_stale_update_conflicts_and_changes_nothing(store: Store) -> None:
    created = store.create(CM, cm("a"))
    stale = created["metadata"]["resourceVersion"]
    store.update(CM, "default", "a", lambda o: {**o, "data": {"k": "2"}})

    def write_stale(obj: dict[str, Any]) -> dict[str, Any]:
        obj["metadata"]["resourceVersion"] = stale
        obj["data"] = {"k": "3"}
        return obj

    with pytest.raises(errors.Conflict) as exc:
        store.update(CM, "default", "a", write_stale)
    assert "the object has been modified" in exc.value.message
    assert store.get(CM, "default", "a")["data"] == {"k": "2"}


def test_noop_update_keeps_resource_version(store: Store) -> None:
    created = store.create(CM, cm("a"))
    same, _ = store.update(CM, "default", "a", lambda o: o)
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_generate_name_makes_unique_names(store: Store) -> None:
    names = set()
    for _ in range(50):
        obj = cm("")
        del obj["metadata"]["name"]
        obj["metadata"]["generateName"] = "web-"
        names.add(store.create(CM, obj)["metadata"]["name"])
    assert len(names) == 50 and all(n.startswith("web-") and len(n) == 9 for n in names)


def test_namespace_must_exist_and_not_be_terminating(store: Store) -> None:
    with pytest.raises(errors.NotFound) as nf:
        store.create(CM, cm("a", ns="nowhere"))
    assert nf.value.message == 'namespaces "nowhere" not found'
    store.create(NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"},
                      "spec": {"finalizers": ["kubernetes"]}})
    store.create(CM, cm("before", ns="doomed"))
    ns, deleted = store.delete(NS, None, "doomed")
    assert not deleted and ns["status"]["phase"] == "Terminating"
    with pytest.raises(errors.Forbidden) as fb:
        store.create(CM, cm("after", ns="doomed"))
    assert fb.value.code == 403 and "is being terminated" in fb.value.message
    assert store.exists(CM, "doomed", "before")


def test_finalizers_hold_deletion_until_removed(store: Store) -> None:
    obj = cm("held")
    obj["metadata"]["finalizers"] = ["example.com/hold"]
    store.create(CM, obj)
    marked, deleted = store.delete(CM, "default", "held")
    assert not deleted and marked["metadata"]["deletionTimestamp"]
    assert store.exists(CM, "default", "held")

    def release(o: dict[str, Any]) -> dict[str, Any]:
        o["metadata"]["finalizers"] = []
        return o

    store.update(CM, "default", "held", release)
    assert not store.exists(CM, "default", "held")


def test_propagation_policies_become_finalizers(store: Store) -> None:
    store.create(DEPLOY, deployment("orphaned"))
    store.create(DEPLOY, deployment("fg"))
    orphaned, _ = store.delete(DEPLOY, "default", "orphaned", propagation="Orphan")
    fg, _ = store.delete(DEPLOY, "default", "fg", propagation="Foreground")
    assert orphaned["metadata"]["finalizers"] == ["orphan"]
    assert fg["metadata"]["finalizers"] == ["foregroundDeletion"]
    store.create(DEPLOY, deployment("bg"))
    _, deleted = store.delete(DEPLOY, "default", "bg", propagation="Background")
    assert deleted


def test_bound_pods_delete_gracefully_unbound_immediately(store: Store) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 30,
                    "containers": [{"name": "c", "image": "nginx"}]}}
    store.create(PODS, pod)
    marked, deleted = store.delete(PODS, "default", "p")
    assert not deleted and marked["metadata"]["deletionGracePeriodSeconds"] == 30
    _forced, deleted = store.delete(PODS, "default", "p", grace_period=0)
    assert deleted
    unbound = {**pod, "metadata": {"name": "q", "namespace": "default"},
               "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    store.create(PODS, unbound)
    _, deleted = store.delete(PODS, "default", "q")
    assert deleted


def test_delete_preconditions(store: Store) -> None:
    created = store.create(CM, cm("a"))
    with pytest.raises(errors.Conflict):
        store.delete(CM, "default", "a", preconditions={"uid": "other"})
    with pytest.raises(errors.Conflict):
        store.delete(CM, "default", "a", preconditions={"resourceVersion": "1"})
    _, deleted = store.delete(CM, "default", "a", preconditions={
        "uid": created["metadata"]["uid"],
        "resourceVersion": created["metadata"]["resourceVersion"]})
    assert deleted


def test_dry_run_stores_nothing(store: Store) -> None:
    rv = store.resource_version
    out = store.create(CM, cm("dry"), dry_run=True)
    assert out["metadata"]["uid"] and not store.exists(CM, "default", "dry")
    assert store.resource_version == rv


def test_list_selectors_and_pagination(store: Store) -> None:
    store.create(NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    for i in range(7):
        store.create(CM, cm(f"c{i}", tier="web" if i % 2 else "db", n=str(i)))
    store.create(CM, cm("elsewhere", ns="other", tier="web"))
    web = store.list(CM, namespace="default", labels=parse_label_selector("tier=web"))
    assert len(web.items) == 3
    assert len(store.list(CM, labels=parse_label_selector("tier in (web)")).items) == 4
    assert len(store.list(CM, labels=parse_label_selector("n>4")).items) == 2
    by_name = store.list(CM, fields=parse_field_selector("metadata.name=c3"))
    assert len(by_name.items) == 1
    seen: list[bytes] = []
    page = store.list(CM, namespace="default", limit=3)
    seen += page.items
    assert page.remaining == 4 and page.continue_token
    while page.continue_token:
        page = store.list(CM, namespace="default", limit=3, continue_token=page.continue_token)
        seen += page.items
    assert len(seen) == 7 and len(set(seen)) == 7


def test_watch_resumes_in_order_and_reports_gone(store: Store) -> None:
    small = Store(REG, history=5)
    first = small.create(CM, cm("w0"))
    for i in range(1, 10):
        small.create(CM, cm(f"w{i}"))
    with pytest.raises(errors.Gone) as gone:
        small.watch(CM, lambda t, e: None, resource_version=first["metadata"]["resourceVersion"])
    assert gone.value.code == 410
    got: list[tuple[str, WatchEvent]] = []
    rv = store.create(CM, cm("x"))["metadata"]["resourceVersion"]
    store.create(CM, cm("y"))
    store.update(CM, "default", "y", lambda o: {**o, "data": {"k": "changed"}})
    store.delete(CM, "default", "x")
    watch, _ = store.watch(CM, lambda t, e: got.append((t, e)), resource_version=rv)
    store.create(CM, cm("z"))
    watch.stop()
    store.create(CM, cm("after-stop"))
    assert [(t, e.key[1]) for t, e in got] == [
        ("ADDED", "y"), ("MODIFIED", "y"), ("DELETED", "x"), ("ADDED", "z")]
    rvs = [e.rv for _, e in got]
    assert rvs == sorted(rvs)


def test_watch_initial_state_and_selector_transitions(store: Store) -> None:
    store.create(CM, cm("a", app="web"))
    store.create(CM, cm("b", app="db"))
    got: list[tuple[str, str]] = []
    store.watch(CM, lambda t, e: got.append((t, e.key[1])),
                labels=parse_label_selector("app=web"), send_initial_events=True)
    assert got == [("ADDED", "a")]

    def relabel(app: str) -> Any:
        def fn(o: dict[str, Any]) -> dict[str, Any]:
            o["metadata"]["labels"] = {"app": app}
            return o
        return fn

    store.update(CM, "default", "b", relabel("web"))   # enters the selection
    store.update(CM, "default", "a", relabel("db"))    # leaves it
    assert got[1:] == [("ADDED", "b"), ("DELETED", "a")]


def test_pod_field_selectors(store: Store) -> None:
    for name, node in (("p1", "node-1"), ("p2", "node-2"), ("p3", "")):
        spec: dict[str, Any] = {"containers": [{"name": "c", "image": "x"}]}
        if node:
            spec["nodeName"] = node
        store.create(PODS, {"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": name, "namespace": "default"}, "spec": spec})
    sel = parse_field_selector("spec.nodeName=node-1", allowed=PODS.field_selectors)
    assert len(store.list(PODS, fields=sel).items) == 1
    unbound = parse_field_selector("spec.nodeName=", allowed=PODS.field_selectors)
    assert len(store.list(PODS, fields=unbound).items) == 1
    with pytest.raises(errors.BadRequest):
        parse_field_selector("spec.bogus=1", allowed=PODS.field_selectors)


def test_event_source_selects_on_the_reporting_component(store: Store) -> None:
    """``source`` is an Event's ``source.component``, as kube-apiserver's event strategy has it
    (``kubectl get events --field-selector source=kubelet``)."""
    events = REG.get("", "v1", "events")
    for name, component in (("a", "kubelet"), ("b", "default-scheduler"), ("c", "kubelet")):
        store.create(events, {"apiVersion": "v1", "kind": "Event",
                              "metadata": {"name": name, "namespace": "default"},
                              "involvedObject": {"kind": "Pod", "name": "p"},
                              "reason": "Pulled", "source": {"component": component}})

    def names(selector: str) -> list[str]:
        sel = parse_field_selector(selector, allowed=events.field_selectors)
        return sorted(r.split(b'"name":"')[1].split(b'"')[0].decode()
                      for r in store.list(events, fields=sel).items)

    assert names("source=kubelet") == ["a", "c"]
    assert names("source!=kubelet") == ["b"]
    assert names("involvedObject.name=p,source=default-scheduler") == ["b"]


def test_sqlite_backend_survives_restart(tmp_path: Any) -> None:
    from kubenb.apiserver.sqlite import SQLiteBackend

    path = tmp_path / "state.db"
    first = Store(REG, backend=SQLiteBackend(path))
    first.create(CM, cm("kept"))
    first.create(CM, cm("gone"))
    first.delete(CM, "default", "gone")
    rv = first.resource_version
    first.close()
    second = Store(REG, backend=SQLiteBackend(path))
    assert second.get(CM, "default", "kept")["data"] == {"k": "v"}
    assert not second.exists(CM, "default", "gone")
    assert second.resource_version == rv
    created = second.create(CM, cm("next"))
    assert int(created["metadata"]["resourceVersion"]) == rv + 1
    second.close()


# -- leases: objects that expire a ttl after their last write (kube-apiserver's --event-ttl) ----

EVENTS = REG.get("", "v1", "events")
EVENTS_V1 = REG.get("events.k8s.io", "v1", "events")


def event(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reason": "Started", "message": "m", "count": 1}


class FakeTime:
    def __init__(self) -> None:
        import datetime

        self.t = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)

    def __call__(self) -> Any:
        return self.t

    def forward(self, seconds: float) -> None:
        import datetime

        self.t += datetime.timedelta(seconds=seconds)

    @property
    def now(self) -> float:
        return self.t.timestamp()


def _names(store: Store, rt: Any) -> list[str]:
    import orjson

    return sorted(orjson.loads(raw)["metadata"]["name"] for raw in store.list(rt).items)


def test_objects_expire_a_ttl_after_their_last_write() -> None:
    clock = FakeTime()
    store = Store(REG, clock=clock, ttl={EVENTS.storage: 3600})
    seen: list[tuple[str, str]] = []
    store.watch(EVENTS, lambda etype, ev: seen.append(
        (etype, ev.key[1])))
    store.create(EVENTS, event("a"))
    store.create(CM, cm("kept"))
    clock.forward(1200)
    store.create(EVENTS, event("b"))
    a = store.get(EVENTS, "default", "a")
    clock.forward(600)  # t=1800: "a" is written again (count 2), its hour starts afresh
    a["count"] = 2
    store.update(EVENTS, "default", "a", lambda old: a)
    clock.forward(1801)  # t=3601: "a"'s first hour is over, but it was written since
    assert store.expire() == 0
    clock.forward(1200)  # t=4801: "b" (written at 1200) is past its hour
    assert store.expire() == 1
    assert _names(store, EVENTS) == ["a"]
    assert ("DELETED", "b") in seen
    clock.forward(600)  # t=5401: "a" (last written at 1800) goes too
    assert store.expire() == 1
    assert _names(store, EVENTS) == [] and _names(store, EVENTS_V1) == []
    assert _names(store, CM) == ["kept"]  # kinds without a ttl are never touched
    assert store.counters["expire"] == 2
    with pytest.raises(errors.NotFound):
        store.get(EVENTS, "default", "a")


def test_expiry_ignores_finalizers_and_reaches_other_versions() -> None:
    clock = FakeTime()
    store = Store(REG, clock=clock, ttl={EVENTS.storage: 60})
    held = event("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    store.create(EVENTS, held)
    new_style = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
                 "metadata": {"name": "n", "namespace": "default"},
                 "eventTime": "2026-01-01T00:00:00.000000Z", "reason": "R", "action": "A",
                 "reportingController": "c", "reportingInstance": "i",
                 "regarding": {"kind": "Pod", "name": "p", "namespace": "default"}}
    store.create(EVENTS_V1, new_style)
    clock.forward(59)
    assert store.expire() == 0
    clock.forward(2)
    assert store.expire() == 2  # an etcd lease does not wait for finalizers
    assert _names(store, EVENTS) == []


def test_a_restarted_store_gives_what_it_loaded_a_full_ttl(tmp_path: Any) -> None:
    from kubenb.apiserver.sqlite import SQLiteBackend

    path = str(tmp_path / "state.db")
    clock = FakeTime()
    first = Store(REG, backend=SQLiteBackend(path), clock=clock, ttl={EVENTS.storage: 3600})
    first.create(EVENTS, event("old"))
    clock.forward(3000)
    first.create(EVENTS, event("newer"))
    first.close()
    clock.forward(3000)  # "old" expired while the cluster was down
    second = Store(REG, backend=SQLiteBackend(path), clock=clock, ttl={EVENTS.storage: 3600})
    assert second.expire() == 0  # as etcd renews leases on restart: a full hour from now
    clock.forward(100)
    second.create(EVENTS, event("later"))
    clock.forward(3501)
    assert second.expire() == 2
    assert _names(second, EVENTS) == ["later"]
    second.close()
    third = Store(REG, backend=SQLiteBackend(path), clock=clock)
    assert _names(third, EVENTS) == ["later"]  # the expiry reached the backend
    third.close()


def test_a_create_reads_the_clock_once() -> None:
    """creationTimestamp and the managedFields entry's time come from one clock reading, however
    far the clock moves while the create runs (here: a second at every reading)."""
    import datetime

    from kubenb.apiserver.endpoints import Endpoints, WriteOptions
    from kubenb.apiserver.schemas import schemas

    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    readings = iter(range(1_000))

    def ticking() -> datetime.datetime:
        return start + datetime.timedelta(seconds=next(readings))

    registry = Registry()
    endpoints = Endpoints(Store(registry, clock=ticking), registry, schemas())
    out = endpoints.create(registry.get("", "v1", "configmaps"), "default",
                           {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
                            "data": {"k": "v"}},
                           WriteOptions(field_manager="tester"))
    meta = out["metadata"]
    assert meta["creationTimestamp"] == meta["managedFields"][0]["time"]
