"""The engine: informers, dispatch, retries, timers, settle and advance, in-process."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import orjson
import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.runtime import Controller, Manager, Request, Result, TerminalError
from kubenb.runtime.informer import Handler


def cm(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"}, "data": data}


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with Cluster(controllers=False, serve=False, speed="max", seed=3) as c:
        yield c


class Mirror(Controller):
    """Keeps ``<name>-mirror`` equal to each ConfigMap labelled ``mirror=yes``."""

    name = "mirror"
    primary = kinds.CONFIGMAPS

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("mirror")
        self.cms = mgr.informer(kinds.CONFIGMAPS)
        self.watch_self(self.cms)

    def reconcile(self, request: Request) -> Result | None:
        obj = self.cms.get(request.name, request.namespace)
        self.seen.append((request.name, (obj or {}).get("data", {}).get("v", "")))
        if obj is None or (obj["metadata"].get("labels") or {}).get("mirror") != "yes":
            return None
        want = cm(request.name + "-mirror", **obj.get("data", {}))
        try:
            current = self.client.get(kinds.CONFIGMAPS, want["metadata"]["name"], "default")
        except errors.NotFound:
            self.client.create(kinds.CONFIGMAPS, want)
            return None
        if current.get("data") != want["data"]:
            current["data"] = want["data"]
            self.client.replace(kinds.CONFIGMAPS, current)
        return None


def test_level_based_reconcile_collapses_events_and_converges(cluster: Cluster) -> None:
    ctrl = cluster.manager.add(Mirror())
    cluster.manager.start()
    with cluster.paused():
        src = cluster.client.create(kinds.CONFIGMAPS, {**cm("a", v="1"),
                                                       "metadata": {"name": "a",
                                                                    "namespace": "default",
                                                                    "labels": {"mirror": "yes"}}})
        for v in "234":
            src["data"]["v"] = v
            src = cluster.client.replace(kinds.CONFIGMAPS, src)
    assert cluster.settle(5)
    mirror = cluster.client.get(kinds.CONFIGMAPS, "a-mirror", "default")
    assert mirror["data"] == {"v": "4"}
    # four writes while paused were one request: the first reconcile already saw the last state
    assert next(s for s in ctrl.seen if s[0] == "a") == ("a", "4")


class Flaky(Controller):
    name = "flaky"
    primary = kinds.CONFIGMAPS

    def __init__(self, failures: int, terminal: bool = False) -> None:
        self.failures = failures
        self.terminal = terminal
        self.calls = 0
        self.times: list[float] = []

    def setup(self, mgr: Manager) -> None:
        self.clock = mgr.clock
        self.watch_self(mgr.informer(kinds.CONFIGMAPS))

    def reconcile(self, request: Request) -> Result | None:
        if request.name.endswith("-mirror"):
            return None
        self.calls += 1
        self.times.append(self.clock.now())
        if self.calls <= self.failures:
            raise (TerminalError if self.terminal else RuntimeError)(f"boom {self.calls}")
        return None


def test_errors_are_retried_with_backoff_and_recorded_as_events(cluster: Cluster) -> None:
    flaky = cluster.manager.add(Flaky(failures=4))
    mirror = cluster.manager.add(Mirror())
    cluster.manager.start()
    cluster.client.create(kinds.CONFIGMAPS, {**cm("x"), "metadata": {
        "name": "x", "namespace": "default", "labels": {"mirror": "yes"}}})
    assert cluster.settle(5)
    assert flaky.calls == 5
    gaps = [round(b - a, 3) for a, b in zip(flaky.times, flaky.times[1:], strict=False)]
    assert gaps == [0.005, 0.01, 0.02, 0.04]  # client-go's per-item exponential back-off
    # the other controller was not held up
    assert cluster.client.get(kinds.CONFIGMAPS, "x-mirror", "default")
    assert mirror.seen
    events = [e for e in cluster.client.list(kinds.EVENTS, "default").items
              if e["involvedObject"]["name"] == "x"]
    assert {e["reason"] for e in events} == {"ReconcileError"}
    assert {e["type"] for e in events} == {"Warning"}
    assert sorted(e["message"] for e in events) == [f"RuntimeError: boom {i}" for i in range(1, 5)]
    assert cluster.manager.failures[0][:2] == ("flaky", "default/x")


def test_terminal_errors_are_not_retried(cluster: Cluster) -> None:
    flaky = cluster.manager.add(Flaky(failures=10, terminal=True))
    cluster.manager.start()
    cluster.client.create(kinds.CONFIGMAPS, cm("t"))
    assert cluster.settle(5)
    assert flaky.calls == 1


class Timed(Controller):
    """Reconciles each object again after 60 s of cluster time, three times."""

    name = "timed"

    def __init__(self) -> None:
        self.times: list[float] = []

    def setup(self, mgr: Manager) -> None:
        self.clock = mgr.clock
        self.watch_self(mgr.informer(kinds.CONFIGMAPS))

    def reconcile(self, request: Request) -> Result | None:
        self.times.append(self.clock.now())
        return Result(requeue_after=60) if len(self.times) < 3 else None


def test_requeue_after_on_the_virtual_clock_jumps_time(cluster: Cluster) -> None:
    timed = cluster.manager.add(Timed())
    cluster.manager.start()
    start = cluster.clock.now()
    cluster.client.create(kinds.CONFIGMAPS, cm("later"))
    report = cluster.settle(5)
    assert report, str(report)
    assert len(timed.times) == 3
    assert timed.times[2] - timed.times[0] == pytest.approx(120)
    assert report.cluster_time - start >= 120
    # the store's clock is the cluster clock: timestamps are in simulated time
    created = cluster.client.get(kinds.CONFIGMAPS, "later", "default")["metadata"][
        "creationTimestamp"]
    assert created.startswith(cluster.clock.datetime().strftime("%Y-"))


def test_background_timers_only_pass_with_advance(cluster: Cluster) -> None:
    ticks: list[float] = []
    clock = cluster.clock

    def tick() -> None:
        ticks.append(clock.now())
        clock.call_later(10, tick, background=True)

    cluster.manager.start()
    clock.call_later(10, tick, background=True)
    assert cluster.settle(5)  # settles although a periodic chore is pending
    before = len(ticks)
    assert before == 0  # an idle virtual clock stands still
    cluster.advance(100)
    assert len(ticks) - before >= 9
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(ticks)}
    assert gaps == {10.0}


def test_settle_reports_unconverged_and_timeouts() -> None:
    class Never(Controller):
        name = "never"

        def setup(self, mgr: Manager) -> None:
            self.cms = mgr.informer(kinds.CONFIGMAPS)
            self.watch_self(self.cms)

        def reconcile(self, request: Request) -> Result | None:
            return None

        def unconverged(self) -> list[str]:
            return [f"configmap/{o['metadata']['name']}" for o in self.cms]

    with Cluster(controllers=False, serve=False, speed="max") as c:
        c.manager.add(Never())
        c.manager.start()
        c.client.create(kinds.CONFIGMAPS, cm("stuck"))
        report = c.settle(5)
        assert report.idle and not report
        assert "configmap/stuck" in report.unconverged
        assert "not converged: " in str(report)


def test_informer_indexes_handlers_and_relist(cluster: Cluster) -> None:
    inf = cluster.manager.informer(kinds.CONFIGMAPS)
    inf.add_index("v", lambda o: [o.get("data", {}).get("v", "")])
    seen: list[tuple[str, str]] = []
    inf.add_handler(Handler(on_add=lambda o: seen.append(("add", o["metadata"]["name"])),
                            on_update=lambda a, b: seen.append(("update", b["metadata"]["name"])),
                            on_delete=lambda o: seen.append(("delete", o["metadata"]["name"]))))
    inf.start()
    cluster.client.create(kinds.CONFIGMAPS, cm("p", v="1"))
    q = cluster.client.create(kinds.CONFIGMAPS, cm("q", v="1"))
    inf.drain()
    assert [o["metadata"]["name"] for o in inf.by_index("v", "1")] == ["p", "q"]
    assert "managedFields" not in inf.get("p", "default")["metadata"]
    q["data"]["v"] = "2"
    cluster.client.replace(kinds.CONFIGMAPS, q)
    inf.drain()
    assert [o["metadata"]["name"] for o in inf.by_index("v", "1")] == ["p"]
    # a watch that expires is answered by a re-list whose differences are replayed as events
    inf.stop()
    cluster.client.delete(kinds.CONFIGMAPS, "p", "default")
    cluster.client.create(kinds.CONFIGMAPS, cm("r", v="1"))
    seen.clear()
    inf._deliver("GONE", b"")
    inf.drain()
    assert ("delete", "p") in seen and ("add", "r") in seen
    assert inf.get("p", "default") is None
    # and the new watch works
    cluster.client.delete(kinds.CONFIGMAPS, "r", "default")
    inf.drain()
    assert inf.get("r", "default") is None
    assert orjson.dumps(sorted(o["metadata"]["name"] for o in inf.list()))


def test_settle_needs_a_running_engine() -> None:
    with Cluster(controllers=False, serve=False) as c, pytest.raises(RuntimeError):
        c.settle(1)


def test_engine_shortens_the_switch_interval_while_it_runs() -> None:
    import sys

    before = sys.getswitchinterval()
    with Cluster(serve=False, speed="max") as c:
        assert sys.getswitchinterval() == min(before, 0.00025)
        assert c.manager.running
    assert sys.getswitchinterval() == before


def test_events_are_written_as_the_component_that_records_them(cluster: Cluster) -> None:
    cm_obj = cluster.client.create(kinds.CONFIGMAPS, cm("about"))
    for component in ("kubelet", "default-scheduler", "replicaset-controller"):
        cluster.manager.recorder(component).normal(cm_obj, "Test", component)
    managers = {e["message"]: e["metadata"]["managedFields"][0]["manager"]
                for e in cluster.client.list(kinds.EVENTS, "default").items}
    assert managers == {"kubelet": "kubelet", "default-scheduler": "kube-scheduler",
                        "replicaset-controller": "kube-controller-manager"}


def test_the_engine_raises_the_young_gc_threshold_while_it_runs() -> None:
    import gc

    from kubenb.runtime.manager import GC_THRESHOLD

    saved = gc.get_threshold()
    gc.set_threshold(700, saved[1], saved[2])
    try:
        with Cluster(nodes=1, serve=False, speed="max"):
            assert gc.get_threshold() == (GC_THRESHOLD, saved[1], saved[2])
        assert gc.get_threshold() == (700, saved[1], saved[2])
    finally:
        gc.set_threshold(*saved)
