"""Tests of the goal benchmarks' machinery (no timing asserts): what their figures rest on.

The realistic pods must really be Running pods whatever path wrote them; the child-process server
must count creates server-side and time its handler; the Lua quoting must survive a body whose
escaped bytes are followed by digits (a Pod body is; a ConfigMap body happened not to be).
"""

from __future__ import annotations

import json
import shutil
import ssl
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bench import creates, list_pods, memory, run_all
from bench.kubenb_server import TOKEN, KubenbServer, kubenb_in_process
from bench.loadgen import _lua_string, run_wrk
from bench.pods import pod_name, populate

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


def _stored_pods(fast: bool, count: int = 3) -> list[dict[str, Any]]:
    from kubenb import Cluster

    # not started: populate needs only the store and endpoints
    cluster = Cluster(nodes=3, controllers=False)
    populate(cluster, count, fast=fast)
    rt = cluster.registry.get("", "v1", "pods")
    assert rt is not None
    return [cluster.store.get(rt, "default", pod_name(i)) for i in range(count)]


@pytest.mark.parametrize("fast", [False, True])
def test_populated_pods_are_running_bound_and_distinct(fast: bool) -> None:
    pods = _stored_pods(fast)
    for i, pod in enumerate(pods):
        status = pod["status"]
        assert status["phase"] == "Running"
        assert status["podIP"].startswith("10.244.")
        assert {c["type"] for c in status["conditions"]} >= {"Ready", "PodScheduled"}
        assert status["containerStatuses"][0]["state"]["running"]
        assert pod["spec"]["nodeName"] == f"node-{i % 3 + 1}"
        volume = pod["spec"]["volumes"][0]["name"]
        assert pod["spec"]["containers"][0]["volumeMounts"][0]["name"] == volume
    assert len({p["metadata"]["uid"] for p in pods}) == len(pods)
    assert len({p["status"]["podIP"] for p in pods}) == len(pods)


def test_fast_and_full_paths_store_the_same_shape() -> None:
    full, fast = _stored_pods(False)[1], _stored_pods(True)[1]
    assert sorted(full) == sorted(fast)
    assert sorted(full["spec"]) == sorted(fast["spec"])
    assert full["status"] == fast["status"]
    managers = {m["manager"] for m in fast["metadata"]["managedFields"]}
    # pods/binding records no managedFields entry (kube-apiserver writes storage directly)
    assert managers == {"kube-controller-manager", "kubelet"}


def test_lua_escapes_are_three_digits_so_a_following_digit_is_not_swallowed() -> None:
    assert _lua_string('"7') == '"\\0347"'
    assert _lua_string("\n1") == '"\\0101"'


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert list_pods.percentile(values, 50) == 5.0
    assert list_pods.percentile(values, 90) == 9.0
    assert list_pods.percentile(values, 100) == 10.0
    assert list_pods.percentile([3.0], 50) == 3.0


def test_rss_is_read_from_proc() -> None:
    assert memory._status_kb("VmRSS") > 1000


@pytest.fixture(scope="module")
def server() -> Iterator[KubenbServer]:
    with kubenb_in_process(nodes=1, time_handler=True) as running:
        yield running


def _post_configmap(server: KubenbServer, name: str) -> int:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    request = urllib.request.Request(
        server.url + creates.CONFIGMAPS, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=context) as response:
        return int(response.status)


def test_child_server_counts_creates_and_times_its_handler(server: KubenbServer) -> None:
    server.ask("timings")
    before = server.count()
    assert _post_configmap(server, "counted") == 201
    assert server.count() == before + 1
    timings = server.ask("timings")
    assert [path for path, _, _ in timings] == [creates.CONFIGMAPS]
    assert all(seconds > 0 for _, _, seconds in timings)
    assert server.ask("timings") == []


def test_child_server_populates_and_lists_directly(server: KubenbServer) -> None:
    assert server.ask("populate", 5, True) > 0
    times = server.ask("direct", "/api/v1/namespaces/default/pods", list_pods.JSON, 3)
    assert len(times) == 3
    with pytest.raises(RuntimeError, match="404"):
        server.ask("direct", "/api/v1/nosuchthing", list_pods.JSON, 1)


@needs_wrk
def test_wrk_pod_creates_are_all_accepted_and_counted(server: KubenbServer) -> None:
    result = run_wrk(server.url + creates.PODS, token=TOKEN, body_json=creates.pod_create_body(),
                     seconds=1, connections=2, server_count=server.count)
    assert result["non_2xx"] == 0 and result["first_non_2xx"] == ""
    assert result["server_creates"] is not None and result["server_creates"] > 0


def test_summary_rows_show_goals_and_failures() -> None:
    figures = {
        "creates": {"configmap": 6000.0, "configmap_ratio": 0.6, "pod": 2000.0,
                    "pod_ratio": 0.2, "bare": 10000.0, "kmock": 60.0, "goal_met": True},
        "list": ValueError("boom"),
        "memory": {"pods": 100, "kb_per_pod": 25.0, "goal_met": False},
    }
    rows = run_all.summary_rows(figures)
    verdicts = {what: verdict for what, _, _, verdict in rows}
    assert verdicts["creates/s kubenb TLS, ConfigMap"] == "MET"
    assert verdicts["LIST"] == "ERROR"
    assert verdicts["memory, 100 pods"] == "NOT MET"
