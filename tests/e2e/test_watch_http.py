"""Watch over HTTP: 410 as an ERROR event, watch-list with the initial-events-end bookmark."""

from __future__ import annotations

import json
import ssl
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from kubenb import Cluster

CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture(scope="module")
def small() -> Iterator[tuple[Cluster, urllib3.PoolManager]]:
    with Cluster(history=5) as cluster, tempfile.NamedTemporaryFile(suffix=".pem") as ca:
        ca.write(cluster.ca_pem)
        ca.flush()
        yield cluster, urllib3.PoolManager(cert_reqs=ssl.CERT_REQUIRED, ca_certs=ca.name)


def _events(http: urllib3.PoolManager, cluster: Cluster, query: str) -> list[dict[str, Any]]:
    resp = http.request("GET", f"{cluster.url}{CM}?watch=true&{query}", preload_content=False,
                        headers={"Authorization": f"Bearer {cluster.token}"})
    assert resp.status == 200
    lines = b"".join(resp.stream(65536)).splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _create(http: urllib3.PoolManager, cluster: Cluster, name: str) -> dict[str, Any]:
    resp = http.request("POST", cluster.url + CM, body=json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}),
        headers={"Authorization": f"Bearer {cluster.token}",
                 "Content-Type": "application/json"})
    assert resp.status == 201
    return json.loads(resp.data)


def test_compacted_resource_version_is_an_error_event(small: tuple[Cluster, Any]) -> None:
    cluster, http = small
    first = _create(http, cluster, "first")["metadata"]["resourceVersion"]
    for i in range(10):
        _create(http, cluster, f"later-{i}")
    events = _events(http, cluster, f"resourceVersion={first}&timeoutSeconds=1")
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["kind"] == "Status" and status["code"] == 410
    assert status["reason"] == "Expired"


def test_resume_replays_in_order(small: tuple[Cluster, Any]) -> None:
    cluster, http = small
    start = _create(http, cluster, "resume-0")["metadata"]["resourceVersion"]
    _create(http, cluster, "resume-1")
    _create(http, cluster, "resume-2")
    events = _events(http, cluster, f"resourceVersion={start}&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "resume-1"), ("ADDED", "resume-2")]


def test_watch_list_ends_initial_events_with_a_bookmark(small: tuple[Cluster, Any]) -> None:
    cluster, http = small
    _create(http, cluster, "listed")
    events = _events(http, cluster, "sendInitialEvents=true&allowWatchBookmarks=true"
                                    "&resourceVersionMatch=NotOlderThan&timeoutSeconds=1")
    names = [e["object"]["metadata"]["name"] for e in events if e["type"] == "ADDED"]
    assert "listed" in names
    marks = [e for e in events if e["type"] == "BOOKMARK"]
    assert marks and marks[0]["object"]["metadata"]["annotations"] == {
        "k8s.io/initial-events-end": "true"}
    assert events.index(marks[0]) == len(names)  # after every initial ADDED
    bad = http.request("GET", f"{cluster.url}{CM}?watch=true&sendInitialEvents=true",
                       headers={"Authorization": f"Bearer {cluster.token}"})
    assert bad.status == 422
