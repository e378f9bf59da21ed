"""The StatefulSet controller: ordinal identity, ordering, rolling updates, claims.

The test plays scheduler and kubelet for one static node that no simulated kubelet runs: it binds
pods there, marks them Running and Ready when told to, and finishes graceful deletions, so the
ordering guarantees can be checked one move at a time.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.api.meta import now_rfc3339
from kubenb.client.client import PatchType
from kubenb.controllers.history import HASH_LABEL, REVISION_HASH_LABEL
from kubenb.controllers.podutil import parse_time
from tests.conftest import Kubectl
from tests.controllers.nodes import static_node

Obj = dict[str, Any]
NS = "default"
NODE = "static-1"


def cluster(**kwargs: Any) -> Cluster:
    c = Cluster(nodes=0, speed="max", serve=kwargs.pop("serve", False), seed=1, **kwargs)
    c.start()
    static_node(c, NODE, 1)
    return c


def statefulset(name: str = "web", replicas: int = 3, *, policy: str | None = None,
                claims: bool = True, strategy: Obj | None = None, **spec: Any) -> Obj:
    sts: Obj = {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name,
                                                                     "namespace": NS},
        "spec": {"serviceName": "nginx", "replicas": replicas,
                 "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {
                     "containers": [{"name": "nginx", "image": "nginx:1"}]}}, **spec}}
    if policy:
        sts["spec"]["podManagementPolicy"] = policy
    if strategy is not None:
        sts["spec"]["updateStrategy"] = strategy
    if claims:
        sts["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "www"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    return sts


def pods(c: Cluster) -> dict[str, Obj]:
    return {p["metadata"]["name"]: p for p in c.client.list(kinds.PODS, NS).items}


def names(c: Cluster) -> list[str]:
    return sorted(pods(c))


def terminating(c: Cluster) -> list[str]:
    return sorted(n for n, p in pods(c).items() if p["metadata"].get("deletionTimestamp"))


def claims(c: Cluster) -> dict[str, Obj]:
    return {p["metadata"]["name"]: p for p in c.client.list(kinds.PVCS, NS).items}


def status(c: Cluster, name: str = "web") -> Obj:
    return c.client.get(kinds.STATEFULSETS, name, NS)["status"]


def start(c: Cluster, name: str, *, ready: bool = True) -> None:
    """Bind a pod to the static node and report it Running (Ready or not)."""
    with c.paused():
        pod = c.client.get(kinds.PODS, name, NS)
        if not pod["spec"].get("nodeName"):
            with contextlib.suppress(errors.Conflict):
                c.client.bind(NS, name, NODE)
            pod = c.client.get(kinds.PODS, name, NS)
        now = now_rfc3339(c.clock.datetime())
        pod["status"].update(phase="Running", conditions=[
            {"type": "Ready", "status": "True" if ready else "False",
             "lastTransitionTime": now}])
        c.client.replace_status(kinds.PODS, pod)


def finish_deletions(c: Cluster) -> list[str]:
    """What the kubelet does once containers stopped: delete terminating pods for good."""
    done = []
    with c.paused():
        for name in terminating(c):
            with contextlib.suppress(errors.NotFound):
                c.client.delete(kinds.PODS, name, NS, grace_period_seconds=0)
            done.append(name)
    return done


def start_all(c: Cluster) -> list[str]:
    started = []
    for name, pod in sorted(pods(c).items()):
        if not pod["metadata"].get("deletionTimestamp") and (
                pod.get("status") or {}).get("phase") != "Running":
            start(c, name)
            started.append(name)
    return started


def kubelet_until_stable(c: Cluster, limit: int = 60) -> None:
    for _ in range(limit):
        c.settle(10)
        if not finish_deletions(c) and not start_all(c):
            assert c.settle(10)
            return
    raise AssertionError("never settled")


def journal_messages(journal: list[tuple[str, str, str, str, str]], reason: str) -> list[str]:
    return [entry[4] for entry in journal if entry[1] == reason]


# --------------------------------------------------------------------------- ordering

def test_ordered_ready_creates_one_at_a_time() -> None:
    c = cluster()
    with c:
        journal = c.manager.record_journal()
        c.client.create(kinds.STATEFULSETS, statefulset(replicas=3))
        c.settle(10)
        assert names(c) == ["web-0"]
        assert sorted(claims(c)) == ["www-web-0"]  # the claim comes first
        pod = pods(c)["web-0"]
        assert pod["spec"]["hostname"] == "web-0"
        assert pod["spec"]["subdomain"] == "nginx"
        labels = pod["metadata"]["labels"]
        assert labels["statefulset.kubernetes.io/pod-name"] == "web-0"
        assert labels["apps.kubernetes.io/pod-index"] == "0"
        assert {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}} in pod[
            "spec"]["volumes"]
        ref = pod["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["controller"]) == ("StatefulSet", "web", True)
        claim = claims(c)["www-web-0"]
        assert claim["metadata"]["labels"] == {"app": "web"}
        assert not claim["metadata"].get("ownerReferences")  # Retain: nobody owns it

        start(c, "web-0", ready=False)  # Running but not Ready: web-1 must wait
        c.settle(10)
        assert names(c) == ["web-0"]
        start(c, "web-0")
        c.settle(10)
        assert names(c) == ["web-0", "web-1"]
        start(c, "web-1")
        c.settle(10)
        assert names(c) == ["web-0", "web-1", "web-2"]
        assert not c.settle(10)  # web-2 is not ready yet
        start(c, "web-2")
        assert c.settle(10)

        st = status(c)
        revision = st["currentRevision"]
        assert st == {"observedGeneration": 1, "replicas": 3, "readyReplicas": 3,
                      "currentReplicas": 3, "updatedReplicas": 3, "currentRevision": revision,
                      "updateRevision": revision, "collisionCount": 0, "availableReplicas": 3}
        (cr,) = c.client.list(kinds.CONTROLLERREVISIONS, NS).items
        assert cr["metadata"]["name"] == revision and cr["revision"] == 1
        assert revision == f"web-{cr['metadata']['labels'][HASH_LABEL]}"
        assert {p["metadata"]["labels"][REVISION_HASH_LABEL] for p in pods(c).values()} == {
            revision}
        assert journal_messages(journal, "SuccessfulCreate") == [
            "create Claim www-web-0 Pod web-0 in StatefulSet web success",
            "create Pod web-0 in StatefulSet web successful",
            "create Claim www-web-1 Pod web-1 in StatefulSet web success",
            "create Pod web-1 in StatefulSet web successful",
            "create Claim www-web-2 Pod web-2 in StatefulSet web success",
            "create Pod web-2 in StatefulSet web successful",
        ]


def test_scale_down_in_reverse_order_keeps_claims() -> None:
    with cluster() as c:
        c.client.create(kinds.STATEFULSETS, statefulset(replicas=4))
        kubelet_until_stable(c)
        assert names(c) == ["web-0", "web-1", "web-2", "web-3"]

        c.client.patch(kinds.STATEFULSETS, "web", {"spec": {"replicas": 1}}, NS)
        for victim in ("web-3", "web-2", "web-1"):
            c.settle(10)
            assert terminating(c) == [victim]  # one at a time, highest ordinal first
            assert finish_deletions(c) == [victim]
        c.settle(10)
        assert names(c) == ["web-0"] and terminating(c) == []
        assert sorted(claims(c)) == ["www-web-0", "www-web-1", "www-web-2", "www-web-3"]
        assert c.settle(10)

        journal = c.manager.record_journal()
        c.client.patch(kinds.STATEFULSETS, "web", {"spec": {"replicas": 2}}, NS)
        c.settle(10)
        assert names(c) == ["web-0", "web-1"]
        assert pods(c)["web-1"]["spec"]["volumes"][0]["persistentVolumeClaim"][
            "claimName"] == "www-web-1"
        # the retained claim is used again, not created again
        assert journal_messages(journal, "SuccessfulCreate") == [
            "create Pod web-1 in StatefulSet web successful"]


def test_ordered_scale_down_waits_for_unhealthy_pods() -> None:
    with cluster() as c:
        c.client.create(kinds.STATEFULSETS, statefulset(replicas=3, claims=False))
        kubelet_until_stable(c)
        start(c, "web-0", ready=False)  # a pod that stays is unready
        c.client.patch(kinds.STATEFULSETS, "web", {"spec": {"replicas": 2}}, NS)
        c.settle(10)
        assert terminating(c) == []  # nothing is removed while it is unhealthy
        start(c, "web-0")
        c.settle(10)
        assert terminating(c) == ["web-2"]


def test_min_ready_seconds_delays_the_next_ordinal() -> None:
    with cluster() as c:
        c.client.create(kinds.STATEFULSETS, statefulset(replicas=2, claims=False,
                                                        minReadySeconds=30))
        c.settle(10)
        start(c, "web-0")
        ready_at = parse_time(pods(c)["web-0"]["status"]["conditions"][0]["lastTransitionTime"])
        c.settle(10)  # the cluster clock jumps to when web-0 is available
        created = parse_time(pods(c)["web-1"]["metadata"]["creationTimestamp"])
        assert ready_at is not None and created is not None and created - ready_at >= 30
        start(c, "web-1")
        assert c.settle(10)
        assert status(c)["availableReplicas"] == 2


def test_parallel_creates_and_deletes_at_once() -> None:
    with cluster() as c:
        c.client.create(kinds.STATEFULSETS, statefulset(replicas=3, policy="Parallel"))
        c.settle(10)
        assert names(c) == ["web-0", "web-1", "web-2"]  # none ready, all there
        assert sorted(claims(c)) == ["www-web-0", "www-web-1", "www-web-2"]
        kubelet_until_stable(c)
        c.client.patch(kinds.STATEFULSETS, "web", {"spec": {"replicas": 0}}, NS)
        c.settle(10)
        assert terminating(c) == ["web-0", "web-1", "web-2"]
        kubelet_until_stable(c)
        assert names(c) == []
        st = status(c)
        assert (st["replicas"], st["availableReplicas"]) == (0, 0)


def test_start_ordinal_and_failed_pod_replacement() -> None:
    with cluster() as c:
        c.client.create(kinds.STATEFULSETS, statefulset(
            replicas=2, claims=False, ordinals={"start": 5}))
        kubelet_until_stable(c)
        assert names(c) == ["web-5", "web-6"]
        pod = pods(c)["web-5"]
        uid = pod["metadata"]["uid"]
        pod["status"]["phase"] = "Failed"
        c.client.replace_status(kinds.PODS, pod)
        kubelet_until_stable(c)
        assert names(c) == ["web-5", "web-6"]
        assert pods(c)["web-5"]["metadata"]["uid"] != uid


# --------------------------------------------------------------------------- updates

def _image(pod: Obj) -> str:
    return str(pod["spec"]["containers"][0]["image"])


def test_partitioned_rolling_update_in_reverse_order() -> None:
    with cluster() as c:
        c.client.create(kinds.STATEFULSETS, statefulset(replicas=4, strategy={
            "type": "RollingUpdate", "rollingUpdate": {"partition": 2}}))
        kubelet_until_stable(c)
        old_revision = status(c)["currentRevision"]
        c.client.patch(kinds.STATEFULSETS, "web", {"spec": {"template": {"spec": {
            "containers": [{"name": "nginx", "image": "nginx:2"}]}}}}, NS,
            patch_type=PatchType.STRATEGIC)
        for victim in ("web-3", "web-2"):
            c.settle(10)
            assert terminating(c) == [victim]
            finish_deletions(c)
            c.settle(10)
            assert _image(pods(c)[victim]) == "nginx:2"
            start(c, victim)
        assert c.settle(10)  # a partitioned roll-out is complete at the partition
        images = {n: _image(p) for n, p in pods(c).items()}
        assert images == {"web-0": "nginx:1", "web-1": "nginx:1", "web-2": "nginx:2",
                          "web-3": "nginx:2"}
        st = status(c)
        assert st["currentRevision"] == old_revision != st["updateRevision"]
        assert (st["updatedReplicas"], st["currentReplicas"]) == (2, 2)

        # a pod below the partition that is recreated keeps the old revision
        c.client.delete(kinds.PODS, "web-0", NS)
        finish_deletions(c)
        kubelet_until_stable(c)
        assert _image(pods(c)["web-0"]) == "nginx:1"

        c.client.patch(kinds.STATEFULSETS, "web", {"spec": {"updateStrategy": {
            "rollingUpdate": {"partition": 0}}}}, NS, patch_type=PatchType.STRATEGIC)
        for victim in ("web-1", "web-0"):
            c.settle(10)
            assert terminating(c) == [victim]
            finish_deletions(c)
            c.settle(10)
            start(c, victim)
        assert c.settle(10)
        st = status(c)
        assert st["currentRevision"] == st["updateRevision"] != old_revision
        assert (st["currentReplicas"], st["updatedReplicas"]) == (4, 4)
        assert {_image(p) for p in pods(c).values()} == {"nginx:2"}


def test_max_unavailable_replaces_several_at_once_then_rollback() -> None:
    with cluster() as c:
        c.client.create(kinds.STATEFULSETS, statefulset(replicas=4, claims=False, strategy={
            "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}}))
        kubelet_until_stable(c)
        first = status(c)["currentRevision"]
        c.client.patch(kinds.STATEFULSETS, "web", {"spec": {"template": {"metadata": {
            "labels": {"v": "2"}}}}}, NS)
        c.settle(10)
        assert terminating(c) == ["web-2", "web-3"]
        kubelet_until_stable(c)
        st = status(c)
        assert st["currentRevision"] == st["updateRevision"] != first
        second = st["updateRevision"]

        # kubectl rollout undo applies the older revision's data: it becomes revision 3
        old = c.client.get(kinds.CONTROLLERREVISIONS, first, NS)
        c.client.patch(kinds.STATEFULSETS, "web", old["data"], NS,
                       patch_type=PatchType.STRATEGIC)
        kubelet_until_stable(c)
        revisions = {r["metadata"]["name"]: r["revision"]
                     for r in c.client.list(kinds.CONTROLLERREVISIONS, NS).items}
        assert revisions == {first: 3, second: 2}
        assert status(c)["currentRevision"] == first
        assert all("v" not in p["metadata"]["labels"] for p in pods(c).values())


def test_on_delete_updates_only_deleted_pods() -> None:
    with cluster() as c:
        c.client.create(kinds.STATEFULSETS, statefulset(replicas=2, claims=False, strategy={
            "type": "OnDelete"}))
        kubelet_until_stable(c)
        c.client.patch(kinds.STATEFULSETS, "web", {"spec": {"template": {"metadata": {
            "labels": {"v": "2"}}}}}, NS)
        kubelet_until_stable(c)
        assert terminating(c) == [] and all(
            "v" not in p["metadata"]["labels"] for p in pods(c).values())
        c.client.delete(kinds.PODS, "web-1", NS)
        kubelet_until_stable(c)
        assert pods(c)["web-1"]["metadata"]["labels"].get("v") == "2"
        assert "v" not in pods(c)["web-0"]["metadata"]["labels"]
        st = status(c)
        assert (st["currentReplicas"], st["updatedReplicas"]) == (1, 1)


def test_revision_history_limit_keeps_live_revisions() -> None:
    with cluster() as c:
        c.client.create(kinds.STATEFULSETS, statefulset(
            replicas=1, claims=False, revisionHistoryLimit=1))
        kubelet_until_stable(c)
        for version in range(2, 5):
            c.client.patch(kinds.STATEFULSETS, "web", {"spec": {"template": {"metadata": {
                "labels": {"v": str(version)}}}}}, NS)
            kubelet_until_stable(c)
        numbers = sorted(r["revision"] for r in
                         c.client.list(kinds.CONTROLLERREVISIONS, NS).items)
        assert numbers == [3, 4]


def test_orphan_pod_is_adopted_and_given_its_identity() -> None:
    with cluster() as c:
        c.client.create(kinds.PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "web-0", "namespace": NS, "labels": {"app": "web"}}, "spec": {
            "containers": [{"name": "nginx", "image": "nginx:1"}]}})
        start(c, "web-0")
        uid = pods(c)["web-0"]["metadata"]["uid"]
        sts = c.client.create(kinds.STATEFULSETS, statefulset(replicas=2, claims=False))
        c.settle(10)
        pod = pods(c)["web-0"]
        assert pod["metadata"]["uid"] == uid
        assert [(r["kind"], r["uid"]) for r in pod["metadata"]["ownerReferences"]] == [
            ("StatefulSet", sts["metadata"]["uid"])]
        assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-0"
        assert "web-1" in pods(c)
        assert "update Pod web-0 in StatefulSet web successful" in [
            e["message"] for e in c.client.list(kinds.EVENTS, NS).items]
        kubelet_until_stable(c)  # it has no revision label: the rolling update replaces it
        assert pods(c)["web-0"]["metadata"]["uid"] != uid
        assert status(c)["updatedReplicas"] == 2


# --------------------------------------------------------------------------- claim retention

def test_claim_retention_policy_delete_sets_owners() -> None:
    with cluster() as c:
        sts = statefulset(replicas=2, persistentVolumeClaimRetentionPolicy={
            "whenDeleted": "Delete", "whenScaled": "Delete"})
        created = c.client.create(kinds.STATEFULSETS, sts)
        kubelet_until_stable(c)
        for name in ("www-web-0", "www-web-1"):
            refs = claims(c)[name]["metadata"]["ownerReferences"]
            assert [(r["kind"], r["uid"]) for r in refs] == [
                ("StatefulSet", created["metadata"]["uid"])]
        c.client.patch(kinds.STATEFULSETS, "web", {"spec": {"replicas": 1}}, NS)
        c.settle(10)
        assert terminating(c) == ["web-1"]
        refs = claims(c)["www-web-1"]["metadata"]["ownerReferences"]
        assert [(r["kind"], r["name"], r["uid"]) for r in refs] == [
            ("Pod", "web-1", pods(c)["web-1"]["metadata"]["uid"])]
        assert [r["kind"] for r in claims(c)["www-web-0"]["metadata"]["ownerReferences"]] == [
            "StatefulSet"]


def test_claim_retention_policy_retain_owns_nothing() -> None:
    with cluster() as c:
        c.client.create(kinds.STATEFULSETS, statefulset(replicas=2))
        kubelet_until_stable(c)
        c.client.patch(kinds.STATEFULSETS, "web", {"spec": {"replicas": 0}}, NS)
        kubelet_until_stable(c)
        assert names(c) == []
        assert sorted(claims(c)) == ["www-web-0", "www-web-1"]
        assert all(not p["metadata"].get("ownerReferences") for p in claims(c).values())


# --------------------------------------------------------------------------- kubectl

def test_kubectl_rollout_status_history_undo(tmp_path: Path) -> None:
    with cluster(serve=True, kubeconfig=tmp_path / "kubeconfig") as c:
        kubectl = Kubectl(c.kubeconfig)
        kubectl("apply", "-f", "-", input=json.dumps(statefulset(replicas=2, claims=False)))
        kubelet_until_stable(c)
        out = kubectl("rollout", "status", "statefulset/web", "--timeout=30s")
        # the defaulted rollingUpdate has a partition (0): kubectl reports the partitioned form
        assert "partitioned roll out complete: 2 new pods have been updated" in out
        kubectl("set", "image", "statefulset/web", "nginx=nginx:2")
        kubelet_until_stable(c)
        out = kubectl("rollout", "status", "statefulset/web", "--timeout=30s")
        assert "partitioned roll out complete: 2 new pods have been updated" in out
        history = kubectl("rollout", "history", "statefulset/web")
        assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == [
            "1", "2"]
        assert "nginx:1" in kubectl("rollout", "history", "statefulset/web", "--revision=1")
        assert "rolled back" in kubectl("rollout", "undo", "statefulset/web")
        kubelet_until_stable(c)
        assert {_image(p) for p in pods(c).values()} == {"nginx:1"}
        history = kubectl("rollout", "history", "statefulset/web")
        assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == [
            "2", "3"]
