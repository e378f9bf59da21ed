"""The event recorder's correlation, as client-go's EventCorrelator: de-duplication, aggregation of
similar events, and the per source+object spam filter, all on the cluster clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import kinds
from kubenb.runtime.clock import VirtualClock
from kubenb.runtime.events import EventRecorder

START = 1_800_000_000.0


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with Cluster(controllers=False, serve=False, speed="max", seed=5) as c:
        yield c


def _owner(name: str = "web-1", uid: str = "u-1") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "default", "uid": uid}}


def _events(c: Cluster, name: str = "web-1") -> list[dict[str, Any]]:
    items = c.client.list(kinds.EVENTS, "default",
                          field_selector=f"involvedObject.name={name}").items
    return sorted(items, key=lambda e: e["metadata"]["name"])


def _recorder(c: Cluster) -> tuple[EventRecorder, VirtualClock]:
    clock = VirtualClock(START)
    return EventRecorder(c.client, clock, "replicaset-controller"), clock


def test_the_same_event_again_bumps_the_count(cluster: Cluster) -> None:
    rec, clock = _recorder(cluster)
    for _ in range(3):
        rec.warning(_owner(), "FailedCreate", "quota exceeded")
        clock.set(clock.now() + 10)
    (ev,) = _events(cluster)
    assert ev["count"] == 3 and ev["message"] == "quota exceeded"
    assert ev["lastTimestamp"] > ev["firstTimestamp"]


def test_similar_events_are_combined_from_the_tenth_message(cluster: Cluster) -> None:
    rec, _ = _recorder(cluster)
    for i in range(20):
        rec.normal(_owner(), "SuccessfulCreate", f"Created pod: web-1-{i:02d}")
    events = _events(cluster)
    single = [e for e in events if not e["message"].startswith("(combined")]
    combined = [e for e in events if e["message"].startswith("(combined")]
    assert [e["message"] for e in single] == [f"Created pod: web-1-{i:02d}" for i in range(9)]
    assert all(e["count"] == 1 for e in single)
    (agg,) = combined
    assert agg["message"] == "(combined from similar events): Created pod: web-1-19"
    assert agg["count"] == 11 and agg["reason"] == "SuccessfulCreate"


def test_aggregation_starts_afresh_after_ten_quiet_minutes(cluster: Cluster) -> None:
    rec, clock = _recorder(cluster)
    for i in range(9):
        rec.normal(_owner(), "SuccessfulCreate", f"Created pod: a-{i}")
    clock.set(START + 601)
    rec.normal(_owner(), "SuccessfulCreate", "Created pod: b")
    assert not any(e["message"].startswith("(combined") for e in _events(cluster))
    assert len(_events(cluster)) == 10


def test_other_reasons_and_objects_are_aggregated_apart(cluster: Cluster) -> None:
    rec, _ = _recorder(cluster)
    for i in range(9):
        rec.normal(_owner(), "SuccessfulCreate", f"Created pod: a-{i}")
        rec.normal(_owner(), "SuccessfulDelete", f"Deleted pod: a-{i}")
        rec.normal(_owner("api-1", "u-2"), "SuccessfulCreate", f"Created pod: b-{i}")
    assert len(_events(cluster)) == 18 and len(_events(cluster, "api-1")) == 9
    assert not any("combined" in e["message"] for e in _events(cluster))


def test_a_source_gets_25_events_per_object_then_one_per_five_minutes(cluster: Cluster) -> None:
    rec, clock = _recorder(cluster)
    for i in range(40):  # distinct reasons: neither de-duplicated nor aggregated
        rec.warning(_owner(), f"Reason{i:02d}", "something")
    assert len(_events(cluster)) == 25
    # another object, and the same object from another source, have their own budgets
    clock.set(START + 1)  # a new instant: the other recorder counts its names from 1 again
    rec.warning(_owner("api-1", "u-2"), "Reason00", "something")
    EventRecorder(cluster.client, clock, "deployment-controller").warning(
        _owner(), "Reason00", "something")
    assert len(_events(cluster, "api-1")) == 1 and len(_events(cluster)) == 26
    clock.set(START + 299)
    rec.warning(_owner(), "Late1", "something")
    assert len(_events(cluster)) == 26
    clock.set(START + 301)
    rec.warning(_owner(), "Late2", "something")
    rec.warning(_owner(), "Late3", "something")
    assert {e["reason"] for e in _events(cluster)} >= {"Late2"}
    assert len(_events(cluster)) == 27


def test_dropped_repeats_still_count_when_the_next_one_is_written(cluster: Cluster) -> None:
    rec, clock = _recorder(cluster)
    for _ in range(30):
        rec.warning(_owner(), "BackOff", "Back-off restarting failed container")
    (ev,) = _events(cluster)
    assert ev["count"] == 25  # the 26th to 30th were dropped
    clock.set(START + 300)
    rec.warning(_owner(), "BackOff", "Back-off restarting failed container")
    (ev,) = _events(cluster)
    assert ev["count"] == 31  # the observations counted, as client-go's eventLogger does


def test_a_replicaset_of_many_pods_records_what_a_real_cluster_shows() -> None:
    with Cluster(nodes=3, serve=False, speed="max", seed=5) as c:
        c.client.create(kinds.REPLICASETS, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "many", "namespace": "default"},
            "spec": {"replicas": 40, "selector": {"matchLabels": {"app": "many"}},
                     "template": {"metadata": {"labels": {"app": "many"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
        assert c.settle(60)
        assert c.store.count(kinds.PODS) == 40
        creates = [e for e in _events(c, "many") if e["reason"] == "SuccessfulCreate"]
        assert len(creates) == 10  # 9 single events and one combined
        (agg,) = [e for e in creates if e["message"].startswith("(combined")]
        assert agg["count"] == 16  # 25 allowed by the spam filter, 9 of them single


def test_events_are_gone_an_hour_after_their_last_write() -> None:
    from kubenb.cluster import LEASE_CHECK_PERIOD

    with Cluster(nodes=1, serve=False, speed="max", seed=5) as c:
        c.client.create(kinds.PODS, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
        assert c.settle()
        assert {e["reason"] for e in _events(c, "web")} >= {"Scheduled", "Started"}
        c.advance(3000)
        assert _events(c, "web")  # not yet
        rec = EventRecorder(c.client, c.clock, "tester")
        pod = c.client.get(kinds.PODS, "web", "default")
        rec.normal(pod, "Poked", "poked")  # a write after the others: its hour starts later
        c.advance(600 + 1 + LEASE_CHECK_PERIOD)
        assert [e["reason"] for e in _events(c, "web")] == ["Poked"]
        assert c.client.get(kinds.PODS, "web", "default")["status"]["phase"] == "Running"
        c.advance(3000)
        assert _events(c, "web") == []


def test_event_ttl_none_keeps_events() -> None:
    with Cluster(nodes=1, serve=False, speed="max", seed=5, event_ttl=None) as c:
        c.client.create(kinds.PODS, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
        assert c.settle()
        before = _events(c, "web")
        c.advance(7200)
        assert [e["metadata"]["name"] for e in _events(c, "web")] == \
            [e["metadata"]["name"] for e in before]
