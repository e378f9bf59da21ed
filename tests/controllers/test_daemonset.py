"""The DaemonSet controller: one pod per eligible node, rolling updates, history.

Nodes are static Node objects written through the client (no simulated kubelet runs them), and
the test plays scheduler and kubelet: it binds each daemon pod to the node its affinity names and
marks it Running and Ready, and finishes graceful deletions. So every intermediate state can be
looked at between two moves.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.api.meta import now_rfc3339
from kubenb.client.client import PatchType
from kubenb.controllers.daemonset import default_tolerations, node_fits, should_run, target_node
from kubenb.controllers.history import REVISION_HASH_LABEL
from kubenb.sim.node import node_object, node_status
from tests.conftest import Kubectl

Obj = dict[str, Any]
NS = "default"


def cluster(**kwargs: Any) -> Cluster:
    return Cluster(nodes=0, speed="max", serve=False, seed=1, **kwargs)


def add_node(c: Cluster, name: str, index: int, labels: dict[str, str] | None = None,
             taints: list[Obj] | None = None) -> None:
    """A Ready node that no simulated kubelet runs (the test is its kubelet)."""
    c.client.create(kinds.NODES, node_object(name, index=index, labels=labels, taints=taints))
    node = c.client.get(kinds.NODES, name)
    node["status"] = node_status(name, index=index, now=now_rfc3339(c.clock.datetime()))
    c.client.replace_status(kinds.NODES, node)


def patch_node(c: Cluster, name: str, patch: Obj) -> None:
    c.client.patch(kinds.NODES, name, patch)


def daemonset(name: str = "agent", *, node_selector: dict[str, str] | None = None,
              strategy: Obj | None = None, image: str = "agent:1") -> Obj:
    spec: Obj = {"containers": [{"name": "agent", "image": image}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    ds: Obj = {"apiVersion": "apps/v1", "kind": "DaemonSet",
               "metadata": {"name": name, "namespace": NS},
               "spec": {"selector": {"matchLabels": {"app": name}},
                        "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}
    if strategy is not None:
        ds["spec"]["updateStrategy"] = strategy
    return ds


def pods(c: Cluster) -> list[Obj]:
    return sorted(c.client.list(kinds.PODS, NS).items, key=lambda p: p["metadata"]["name"])


def live(c: Cluster) -> list[Obj]:
    return [p for p in pods(c) if not p["metadata"].get("deletionTimestamp")]


def by_node(c: Cluster) -> dict[str, list[Obj]]:
    out: dict[str, list[Obj]] = {}
    for p in live(c):
        out.setdefault(target_node(p) or "", []).append(p)
    return out


def status(c: Cluster, name: str = "agent") -> Obj:
    return c.client.get(kinds.DAEMONSETS, name, NS)["status"]


def kubelet(c: Cluster, *, finish_deletions: bool = True, start: bool = True) -> int:
    """One pass of scheduler + kubelet over the test's nodes; returns how many pods it moved."""
    moved = 0
    with c.paused():
        for pod in pods(c):
            meta = pod["metadata"]
            name = meta["name"]
            if meta.get("deletionTimestamp"):
                if finish_deletions:
                    with contextlib.suppress(errors.NotFound):
                        c.client.delete(kinds.PODS, name, NS, grace_period_seconds=0)
                    moved += 1
                continue
            if not start:
                continue
            if not pod["spec"].get("nodeName"):
                with contextlib.suppress(errors.Conflict):
                    c.client.bind(NS, name, target_node(pod) or "")
                pod = c.client.get(kinds.PODS, name, NS)
            st = pod.get("status") or {}
            if st.get("phase") == "Running":
                continue
            now = now_rfc3339(c.clock.datetime())
            st.update(phase="Running", conditions=[
                {"type": "Ready", "status": "True", "lastTransitionTime": now}])
            pod["status"] = st
            c.client.replace_status(kinds.PODS, pod)
            moved += 1
    return moved


def run_until_stable(c: Cluster, check: Callable[[], None] | None = None,
                     limit: int = 50) -> None:
    """Settle, let the test kubelet act, repeat until nothing moves; ``check`` runs at every
    intermediate state."""
    for _ in range(limit):
        c.settle(10)
        if check is not None:
            check()
        if not kubelet(c):
            assert c.settle(10)
            return
    raise AssertionError("the DaemonSet never settled")


def events(c: Cluster, reason: str) -> list[str]:
    return [e["message"] for e in c.client.list(kinds.EVENTS, NS).items
            if e.get("reason") == reason]


# --------------------------------------------------------------------------- predicates

def test_eligibility_predicates() -> None:
    spec: Obj = {"nodeSelector": {"disk": "ssd"}, "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]},
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["x"]}]},
        ]}}}}
    default_tolerations(spec)

    def node(name: str, labels: dict[str, str], taints: list[Obj] | None = None) -> Obj:
        return {"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints or []}}

    assert node_fits(spec, node("n", {"disk": "ssd", "zone": "a"}))
    assert not node_fits(spec, node("n", {"disk": "hdd", "zone": "a"}))
    assert not node_fits(spec, node("n", {"disk": "ssd", "zone": "c"}))
    assert node_fits(spec, node("x", {"disk": "ssd"}))
    ok = {"disk": "ssd", "zone": "b"}
    assert should_run(spec, node("n", ok)) == (True, True)
    # default tolerations: pressure and cordon taints do not keep daemons away
    assert should_run(spec, node("n", ok, [
        {"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}])) == (True, True)
    # network-unavailable only for host-network pods
    taint = [{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}]
    assert should_run(spec, node("n", ok, taint)) == (False, True)
    host = {**spec, "hostNetwork": True}
    default_tolerations(host)
    assert should_run(host, node("n", ok, taint)) == (True, True)
    # an untolerated NoSchedule taint: no new pod, but a running one stays; NoExecute: it goes
    assert should_run(spec, node("n", ok, [{"key": "a", "value": "b", "effect": "NoSchedule"}])
                      ) == (False, True)
    assert should_run(spec, node("n", ok, [{"key": "a", "value": "b", "effect": "NoExecute"}])
                      ) == (False, False)
    tolerant = {**spec, "tolerations": [*spec["tolerations"],
                                        {"key": "a", "operator": "Equal", "value": "b"}]}
    assert should_run(tolerant, node("n", ok, [{"key": "a", "value": "b",
                                                "effect": "NoExecute"}])) == (True, True)
    # a user toleration equal to a default one is replaced by the infinite default
    user = {"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                             "effect": "NoExecute", "tolerationSeconds": 30}]}
    default_tolerations(user)
    assert [t for t in user["tolerations"] if t["key"] == "node.kubernetes.io/not-ready"] == [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}]


# --------------------------------------------------------------------------- placement

def test_one_pod_per_eligible_node() -> None:
    with cluster() as c:
        add_node(c, "n1", 1, {"disk": "ssd"})
        add_node(c, "n2", 2)
        add_node(c, "n3", 3, {"disk": "ssd"}, [{"key": "dedicated", "value": "db",
                                                "effect": "NoSchedule"}])
        add_node(c, "n4", 4, {"disk": "ssd"}, [{"key": "node.kubernetes.io/unschedulable",
                                                "effect": "NoSchedule"}])
        c.client.create(kinds.DAEMONSETS, daemonset(node_selector={"disk": "ssd"}))
        assert not c.settle(10)  # pods exist but nothing runs them yet
        placed = by_node(c)
        assert sorted(placed) == ["n1", "n4"]
        pod = placed["n1"][0]
        assert pod["metadata"]["generateName"] == "agent-"
        ref = pod["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["controller"]) == ("DaemonSet", "agent", True)
        assert pod["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"] == {"nodeSelectorTerms": [
                {"matchFields": [{"key": "metadata.name", "operator": "In",
                                  "values": ["n1"]}]}]}
        keys = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
        assert {("node.kubernetes.io/not-ready", "NoExecute"),
                ("node.kubernetes.io/unreachable", "NoExecute"),
                ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                ("node.kubernetes.io/unschedulable", "NoSchedule")} <= keys
        assert ("node.kubernetes.io/network-unavailable", "NoSchedule") not in keys
        st = status(c)
        assert (st["desiredNumberScheduled"], st["currentNumberScheduled"],
                st["numberReady"], st.get("numberAvailable", 0),
                st["numberUnavailable"]) == (2, 2, 0, 0, 2)

        run_until_stable(c)
        st = status(c)
        ds = c.client.get(kinds.DAEMONSETS, "agent", NS)
        assert st == {"currentNumberScheduled": 2, "numberMisscheduled": 0,
                      "desiredNumberScheduled": 2, "numberReady": 2, "observedGeneration": 1,
                      "updatedNumberScheduled": 2, "numberAvailable": 2}
        assert ds["metadata"]["generation"] == 1
        assert all(p["spec"]["nodeName"] == target_node(p) for p in pods(c))
        revisions = c.client.list(kinds.CONTROLLERREVISIONS, NS).items
        assert len(revisions) == 1
        (rev,) = revisions
        hash_ = rev["metadata"]["labels"][REVISION_HASH_LABEL]
        assert rev["metadata"]["name"] == f"agent-{hash_}" and rev["revision"] == 1
        assert rev["metadata"]["labels"]["app"] == "agent"
        assert rev["data"]["spec"]["template"]["$patch"] == "replace"
        assert rev["metadata"]["ownerReferences"][0]["uid"] == ds["metadata"]["uid"]
        assert {p["metadata"]["labels"][REVISION_HASH_LABEL] for p in pods(c)} == {hash_}
        assert {p["metadata"]["labels"]["pod-template-generation"] for p in pods(c)} == {"1"}
        assert sorted(events(c, "SuccessfulCreate")) == sorted(
            f"Created pod: {p['metadata']['name']}" for p in pods(c))


def test_nodes_added_relabelled_tainted_and_removed() -> None:
    with cluster() as c:
        add_node(c, "n1", 1, {"role": "edge"})
        c.client.create(kinds.DAEMONSETS, daemonset(node_selector={"role": "edge"}))
        run_until_stable(c)
        assert sorted(by_node(c)) == ["n1"]

        add_node(c, "n2", 2, {"role": "edge"})  # a new node gets its daemon
        add_node(c, "n3", 3)
        run_until_stable(c)
        assert sorted(by_node(c)) == ["n1", "n2"]
        assert status(c)["desiredNumberScheduled"] == 2

        patch_node(c, "n3", {"metadata": {"labels": {"role": "edge"}}})  # label: a pod comes
        run_until_stable(c)
        assert sorted(by_node(c)) == ["n1", "n2", "n3"]

        old = by_node(c)["n1"][0]["metadata"]["name"]
        patch_node(c, "n1", {"metadata": {"labels": {"role": None}}})  # unlabel: it goes
        c.settle(10)
        gone = c.client.get(kinds.PODS, old, NS)
        assert gone["metadata"].get("deletionTimestamp")
        assert f"Deleted pod: {old}" in events(c, "SuccessfulDelete")
        run_until_stable(c)
        assert sorted(by_node(c)) == ["n2", "n3"]

        # NoSchedule the daemon does not tolerate: the running pod stays, counted misscheduled
        patch_node(c, "n2", {"spec": {"taints": [{"key": "maint", "effect": "NoSchedule"}]}})
        run_until_stable(c)
        assert sorted(by_node(c)) == ["n2", "n3"]
        st = status(c)
        assert (st["desiredNumberScheduled"], st["numberMisscheduled"]) == (1, 1)
        # NoExecute it does not tolerate: the pod is deleted
        patch_node(c, "n2", {"spec": {"taints": [{"key": "maint", "effect": "NoExecute"}]}})
        run_until_stable(c)
        assert sorted(by_node(c)) == ["n3"]
        assert status(c)["numberMisscheduled"] == 0

        c.client.delete(kinds.NODES, "n3")  # a removed node no longer counts
        c.settle(10)
        st = status(c)
        assert (st["desiredNumberScheduled"], st["currentNumberScheduled"]) == (0, 0)
        # its bound pod is the pod garbage collector's (after a 40 s quarantine), as upstream;
        # the DaemonSet controller does not replace it anywhere
        c.advance(120)
        if any(type(ctrl).__name__ == "PodGCController" for ctrl in c.manager.controllers):
            assert live(c) == []
        assert all(target_node(p) == "n3" for p in pods(c))


def test_unscheduled_pod_for_a_removed_node_is_deleted() -> None:
    with cluster() as c:
        add_node(c, "n1", 1)
        add_node(c, "n2", 2)
        ds = daemonset()
        # a scheduler of its own (the test): the default scheduler leaves these pods alone
        ds["spec"]["template"]["spec"]["schedulerName"] = "test-scheduler"
        c.client.create(kinds.DAEMONSETS, ds)
        c.settle(10)
        assert sorted(by_node(c)) == ["n1", "n2"]
        assert all(not p["spec"].get("nodeName") for p in pods(c))
        orphan = by_node(c)["n2"][0]["metadata"]["name"]
        c.client.delete(kinds.NODES, "n2")
        c.settle(10)
        assert sorted(by_node(c)) == ["n1"]
        assert f"Deleted pod: {orphan}" in events(c, "SuccessfulDelete")
        run_until_stable(c)
        assert sorted(by_node(c)) == ["n1"]


def test_min_ready_seconds_counts_available_later() -> None:
    with cluster() as c:
        add_node(c, "n1", 1)
        ds = daemonset()
        ds["spec"]["minReadySeconds"] = 20
        c.client.create(kinds.DAEMONSETS, ds)
        c.settle(10)
        kubelet(c)
        c.settle(10)  # the cluster clock jumps to when the pod counts as available
        st = status(c)
        assert (st["numberReady"], st["numberAvailable"]) == (1, 1)
        assert "numberUnavailable" not in st


def test_failed_daemon_pod_is_replaced() -> None:
    with cluster() as c:
        add_node(c, "n1", 1)
        c.client.create(kinds.DAEMONSETS, daemonset())
        run_until_stable(c)
        (pod,) = pods(c)
        pod["status"]["phase"] = "Failed"
        c.client.replace_status(kinds.PODS, pod)
        c.settle(10)
        assert any("Found failed daemon pod default/" + pod["metadata"]["name"] in m
                   for m in events(c, "FailedDaemonPod"))
        run_until_stable(c)
        (new,) = live(c)
        assert new["metadata"]["name"] != pod["metadata"]["name"]


# --------------------------------------------------------------------------- updates

def _nodes_available(c: Cluster) -> int:
    return sum(1 for ps in by_node(c).values() if any(
        (p.get("status") or {}).get("phase") == "Running" for p in ps))


def test_rolling_update_max_unavailable_then_rollback() -> None:
    with cluster() as c:
        for i in range(1, 5):
            add_node(c, f"n{i}", i)
        c.client.create(kinds.DAEMONSETS, daemonset())
        run_until_stable(c)
        first = c.client.list(kinds.CONTROLLERREVISIONS, NS).items[0]
        old_hash = first["metadata"]["labels"][REVISION_HASH_LABEL]

        c.client.patch(kinds.DAEMONSETS, "agent", {"spec": {"template": {"spec": {
            "containers": [{"name": "agent", "image": "agent:2"}]}}}}, NS,
            patch_type=PatchType.STRATEGIC)
        c.settle(10)
        terminating = [p for p in pods(c) if p["metadata"].get("deletionTimestamp")]
        assert len(terminating) == 1  # maxUnavailable 1: one node at a time
        revs = {r["revision"]: r for r in c.client.list(kinds.CONTROLLERREVISIONS, NS).items}
        assert sorted(revs) == [1, 2]
        new_hash = revs[2]["metadata"]["labels"][REVISION_HASH_LABEL]
        assert new_hash != old_hash

        def at_most_one_node_down() -> None:
            assert _nodes_available(c) >= 3
            assert all(len(ps) == 1 for ps in by_node(c).values())

        run_until_stable(c, at_most_one_node_down)
        assert {p["metadata"]["labels"][REVISION_HASH_LABEL] for p in pods(c)} == {new_hash}
        assert {p["spec"]["containers"][0]["image"] for p in pods(c)} == {"agent:2"}
        st = status(c)
        assert (st["updatedNumberScheduled"], st["numberAvailable"],
                st["observedGeneration"]) == (4, 4, 2)

        # kubectl rollout undo: the previous revision's data, as a strategic merge patch
        c.client.patch(kinds.DAEMONSETS, "agent", revs[1]["data"], NS,
                       patch_type=PatchType.STRATEGIC)
        run_until_stable(c, at_most_one_node_down)
        revs_after = {r["metadata"]["name"]: r["revision"]
                      for r in c.client.list(kinds.CONTROLLERREVISIONS, NS).items}
        assert revs_after == {first["metadata"]["name"]: 3, revs[2]["metadata"]["name"]: 2}
        assert {p["metadata"]["labels"][REVISION_HASH_LABEL] for p in pods(c)} == {old_hash}


def test_rolling_update_with_surge_keeps_every_node_served() -> None:
    with cluster() as c:
        for i in range(1, 4):
            add_node(c, f"n{i}", i)
        c.client.create(kinds.DAEMONSETS, daemonset(strategy={
            "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}))
        run_until_stable(c)
        c.client.patch(kinds.DAEMONSETS, "agent", {"spec": {"template": {"metadata": {
            "labels": {"version": "2"}}}}}, NS)
        c.settle(10)
        doubled = [n for n, ps in by_node(c).items() if len(ps) == 2]
        assert len(doubled) == 1  # the new pod comes first, next to the old one

        def all_served() -> None:
            assert _nodes_available(c) == 3
            assert sum(1 for ps in by_node(c).values() if len(ps) == 2) <= 1

        run_until_stable(c, all_served)
        assert all(p["metadata"]["labels"].get("version") == "2" for p in pods(c))
        assert len(pods(c)) == 3


def test_on_delete_waits_for_the_user() -> None:
    with cluster() as c:
        add_node(c, "n1", 1)
        add_node(c, "n2", 2)
        c.client.create(kinds.DAEMONSETS, daemonset(strategy={"type": "OnDelete"}))
        run_until_stable(c)
        before = {p["metadata"]["name"] for p in pods(c)}
        c.client.patch(kinds.DAEMONSETS, "agent", {"spec": {"template": {"metadata": {
            "labels": {"version": "2"}}}}}, NS)
        run_until_stable(c)
        assert {p["metadata"]["name"] for p in pods(c)} == before
        assert status(c).get("updatedNumberScheduled", 0) == 0
        victim = sorted(before)[0]
        c.client.delete(kinds.PODS, victim, NS)
        run_until_stable(c)
        labels = [p["metadata"]["labels"] for p in pods(c)]
        assert sorted(lbl.get("version", "1") for lbl in labels) == ["1", "2"]
        assert status(c)["updatedNumberScheduled"] == 1


def test_revision_history_limit() -> None:
    with cluster() as c:
        add_node(c, "n1", 1)
        ds = daemonset()
        ds["spec"]["revisionHistoryLimit"] = 1
        c.client.create(kinds.DAEMONSETS, ds)
        run_until_stable(c)
        for version in range(2, 5):
            c.client.patch(kinds.DAEMONSETS, "agent", {"spec": {"template": {"metadata": {
                "labels": {"version": str(version)}}}}}, NS)
            run_until_stable(c)
        revisions = sorted(r["revision"] for r in
                           c.client.list(kinds.CONTROLLERREVISIONS, NS).items)
        assert revisions == [3, 4]


# --------------------------------------------------------------------------- kubectl

def test_kubectl_rollout_status_history_undo(tmp_path: Path) -> None:
    with Cluster(nodes=0, speed="max", serve=True, seed=1,
                 kubeconfig=tmp_path / "kubeconfig") as c:
        kubectl = Kubectl(c.kubeconfig)
        add_node(c, "n1", 1)
        add_node(c, "n2", 2)
        manifest = daemonset()
        manifest["metadata"]["annotations"] = {"kubernetes.io/change-cause": "first"}
        kubectl("apply", "-f", "-", input=json.dumps(manifest))
        run_until_stable(c)
        out = kubectl("rollout", "status", "daemonset/agent", "--timeout=30s")
        assert 'daemon set "agent" successfully rolled out' in out

        kubectl("set", "image", "daemonset/agent", "agent=agent:2")
        kubectl("annotate", "daemonset/agent", "kubernetes.io/change-cause=second",
                "--overwrite")
        run_until_stable(c)
        out = kubectl("rollout", "status", "daemonset/agent", "--timeout=30s")
        assert "successfully rolled out" in out
        history = kubectl("rollout", "history", "daemonset/agent")
        rows = [line.split() for line in history.splitlines()[2:] if line.strip()]
        assert [r[0] for r in rows] == ["1", "2"]
        assert rows[0][1] == "first"
        detail = kubectl("rollout", "history", "daemonset/agent", "--revision=1")
        assert "agent:1" in detail and "agent:2" not in detail

        out = kubectl("rollout", "undo", "daemonset/agent")
        assert "rolled back" in out
        run_until_stable(c)
        assert {p["spec"]["containers"][0]["image"] for p in pods(c)} == {"agent:1"}
        history = kubectl("rollout", "history", "daemonset/agent")
        assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == [
            "2", "3"]
