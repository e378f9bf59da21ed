"""The Deployment controller: ReplicaSets per template, rolling and recreate rollouts, rollback,
pause, progress deadline, history, proportional scaling, adoption.

No simulated node runs these pods: the test plays the kubelet on a node no simulation knows.
Two ways: :func:`kubelet_step` (main thread, between two ``settle()`` calls) makes pods Running
and Ready a few at a time, so every intermediate state of a rollout can be looked at;
:class:`AutoKubelet` runs in the engine and readies each pod as soon as it exists (unless told
to hold it), so a whole rollout settles in one go, as with a real kubelet.

A stepped rollout never makes progress during ``settle()``, so there the progress deadline is
switched off (``progressDeadlineSeconds: MaxInt32``, the API's "no deadline"): otherwise the
virtual clock would rightly jump to the deadline at every step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.api.meta import now_rfc3339
from kubenb.client.client import Client, PatchType, deepcopy
from kubenb.controllers.deployment import (
    DESIRED_REPLICAS,
    HASH_LABEL,
    MAX_INT32,
    MAX_REPLICAS,
    REVISION,
    REVISION_HISTORY,
    equal_ignore_hash,
    pod_template_hash,
    resolve_fenceposts,
    scaled_value,
)
from kubenb.controllers.podutil import controller_ref, is_pod_ready
from kubenb.runtime.controller import Controller, Request, Result, enqueue_self
from kubenb.runtime.manager import Manager

Obj = dict[str, Any]
NS = "default"
NODE = "test-node"  # no simulated kubelet runs it
Hold = Callable[[Obj], bool]


def never(_pod: Obj) -> bool:
    return False


def broken(pod: Obj) -> bool:
    """Pods of the image ``broken`` run but never become ready (a failing readiness probe)."""
    return any(c.get("image") == "broken" for c in pod["spec"].get("containers") or ())


# ------------------------------------------------------------------------------------ kubelet


def _run(client: Client, pod: Obj, now: str, hold: Hold) -> bool:
    """One kubelet move for ``pod``: finish its deletion, or bind it and report it Running
    (Ready unless held). Returns True when it wrote something."""
    meta = pod["metadata"]
    name = meta["name"]
    if meta.get("deletionTimestamp"):
        with contextlib.suppress(errors.NotFound):
            client.delete(kinds.PODS, name, NS, grace_period_seconds=0)
        return True
    ready = not hold(pod)
    status = pod.get("status") or {}
    if status.get("phase") == "Running" and is_pod_ready(pod) == ready:
        return False
    if not pod["spec"].get("nodeName"):
        client.bind(NS, name, NODE)
    flag = "True" if ready else "False"
    conditions = [{"type": t, "status": s, "lastProbeTime": None, "lastTransitionTime": now}
                  for t, s in (("Initialized", "True"), ("Ready", flag),
                               ("ContainersReady", flag), ("PodScheduled", "True"))]
    client.replace_status(kinds.PODS, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
        "spec": pod["spec"], "status": {"phase": "Running", "conditions": conditions,
                                        "hostIP": "10.0.0.1", "podIP": "10.244.0.10",
                                        "startTime": now}})
    return True


def kubelet_step(c: Cluster, *, limit: int | None = None, hold: Hold = never) -> int:
    """Finish every graceful deletion, then start at most ``limit`` pods (oldest first).
    Returns how many pods were started."""
    started = 0
    now = now_rfc3339(c.clock.datetime())
    with c.paused():
        items = sorted(c.client.list(kinds.PODS, NS).items,
                       key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"]))
        for pod in items:
            if pod["metadata"].get("deletionTimestamp"):
                _run(c.client, pod, now, hold)
            elif (limit is None or started < limit) and _run(c.client, pod, now, hold) \
                    and not hold(pod):
                started += 1
    return started


class AutoKubelet(Controller):
    """A kubelet in the engine: every pod is started (and deletions finished) as soon as it
    shows up. ``check`` runs after each of its moves, so an invariant can be asserted at
    every intermediate step of a rollout."""

    name = "test-kubelet"

    def __init__(self, hold: Hold = never, check: Callable[[], None] | None = None) -> None:
        self.hold = hold
        self.check = check
        self.violations: list[str] = []

    def setup(self, mgr: Manager) -> None:
        self.client = mgr.client.as_manager("kubelet")
        self.clock = mgr.clock
        self.pods = mgr.informer(kinds.PODS)
        self.sets = mgr.informer(kinds.REPLICASETS)
        self.pods.add_handler(enqueue_self(self))

    def reconcile(self, request: Request) -> Result | None:
        pod = self.pods.get(request.name, request.namespace)
        if pod is None:
            return None
        try:
            _run(self.client, pod, now_rfc3339(self.clock.datetime()), self.hold)
        except errors.NotFound:
            return None
        if self.check is not None:
            try:
                self.check()
            except AssertionError as exc:
                self.violations.append(str(exc))
        return None


def start(hold: Hold = never, check: Callable[[AutoKubelet], None] | None = None,
          ) -> tuple[Cluster, AutoKubelet]:
    """A cluster whose pods are run by an :class:`AutoKubelet`."""
    c = Cluster(nodes=0, speed="max", serve=False, seed=1)
    kubelet = AutoKubelet(hold)
    if check is not None:
        kubelet.check = lambda: check(kubelet)
    c.manager.add(kubelet)
    return c, kubelet


# ------------------------------------------------------------------------------------ objects


def deployment(name: str = "web", *, replicas: int = 3, image: str = "nginx:1",
               strategy: Obj | None = None, deadline: int | None = None,
               **spec: Any) -> Obj:
    d: Obj = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": name, "namespace": NS},
              "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                       "template": {"metadata": {"labels": {"app": name}},
                                    "spec": {"containers": [{"name": "app", "image": image}]}},
                       **spec}}
    if strategy is not None:
        d["spec"]["strategy"] = strategy
    if deadline is not None:
        d["spec"]["progressDeadlineSeconds"] = deadline
    return d


def rolling(surge: int | str, unavailable: int | str) -> Obj:
    return {"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}


def get(c: Cluster, name: str = "web") -> Obj:
    return c.client.get(kinds.DEPLOYMENTS, name, NS)


def set_image(c: Cluster, image: str, name: str = "web") -> None:
    c.client.patch(kinds.DEPLOYMENTS, name, {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": image}]}}}}, NS,
        patch_type=PatchType.STRATEGIC)


def replicasets(c: Cluster) -> list[Obj]:
    return sorted(c.client.list(kinds.REPLICASETS, NS).items,
                  key=lambda rs: int(rs["metadata"].get("annotations", {}).get(REVISION, 0)))


def rs_for_image(c: Cluster, image: str) -> Obj:
    found = [rs for rs in replicasets(c)
             if rs["spec"]["template"]["spec"]["containers"][0]["image"] == image]
    assert len(found) == 1, [rs["metadata"]["name"] for rs in replicasets(c)]
    return found[0]


def live_pods(c: Cluster) -> list[Obj]:
    return [p for p in c.client.list(kinds.PODS, NS).items
            if not p["metadata"].get("deletionTimestamp")]


def condition(d: Obj, ctype: str) -> Obj:
    for cond in d["status"].get("conditions") or ():
        if cond["type"] == ctype:
            return cond
    raise AssertionError(f"no {ctype} condition in {d['status']}")


def scaling_events(c: Cluster) -> list[str]:
    events = [e for e in c.client.list(kinds.EVENTS, NS).items
              if e["reason"] == "ScalingReplicaSet"]
    events.sort(key=lambda e: (e["firstTimestamp"], e["metadata"]["name"]))
    for e in events:
        assert e["source"]["component"] == "deployment-controller"
        assert e["involvedObject"]["kind"] == "Deployment"
    return [e["message"] for e in events]


def rollout_complete(d: Obj) -> bool:
    """What ``kubectl rollout status`` calls success."""
    status = d.get("status") or {}
    want = d["spec"]["replicas"]
    return (d["metadata"]["generation"] <= status.get("observedGeneration", 0)
            and status.get("updatedReplicas", 0) >= want
            and status.get("replicas", 0) <= status.get("updatedReplicas", 0)
            and status.get("availableReplicas", 0) >= status.get("updatedReplicas", 0))


def progressing_reasons(c: Cluster, name: str = "web") -> list[str]:
    """Start recording every distinct Progressing reason the Deployment goes through (a watch
    sees each write, not just where things settle)."""
    seen: list[str] = []

    def deliver(etype: str, raw: bytes) -> None:
        obj = orjson.loads(raw)
        if obj.get("metadata", {}).get("name") != name or etype not in ("ADDED", "MODIFIED"):
            return
        for cond in (obj.get("status") or {}).get("conditions") or ():
            if cond["type"] == "Progressing" and (not seen or seen[-1] != cond["reason"]):
                seen.append(cond["reason"])

    c.client.watch(kinds.DEPLOYMENTS, deliver, namespace=NS,
                   resource_version=c.client.list(kinds.DEPLOYMENTS, NS).resource_version)
    return seen


def kubectl_undo(c: Cluster, name: str = "web", to_revision: int = 0) -> None:
    """What ``kubectl rollout undo`` does for apps/v1: copy the template of the ReplicaSet of
    the chosen revision (the previous one by default) into the Deployment, client side."""
    d = get(c, name)
    owned = [rs for rs in c.client.list(kinds.REPLICASETS, NS).items
             if (controller_ref(rs) or {}).get("uid") == d["metadata"]["uid"]]
    by_rev = {int(rs["metadata"]["annotations"][REVISION]): rs for rs in owned}
    if to_revision == 0:
        to_revision = sorted(by_rev)[-2]
    rs = by_rev[to_revision]
    template = deepcopy(rs["spec"]["template"])
    del template["metadata"]["labels"][HASH_LABEL]
    skip = {REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS,
            "kubectl.kubernetes.io/last-applied-configuration",
            "deprecated.deployment.rollback.to"}
    annotations = {k: v for k, v in (d["metadata"].get("annotations") or {}).items() if k in skip}
    annotations.update({k: v for k, v in rs["metadata"]["annotations"].items() if k not in skip})
    c.client.patch(kinds.DEPLOYMENTS, name, [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations}], NS,
        patch_type=PatchType.JSON)


# ------------------------------------------------------------------------------------ helpers


def test_fenceposts_round_surge_up_and_unavailable_down() -> None:
    assert scaled_value("25%", 10, True) == 3
    assert scaled_value("25%", 10, False) == 2
    assert scaled_value(2, 10, False) == 2
    assert resolve_fenceposts("25%", "25%", 3) == (1, 0)
    assert resolve_fenceposts("50%", "50%", 5) == (3, 2)
    # both rounding to zero: one may be unavailable, or a rollout could never move
    assert resolve_fenceposts(0, "30%", 3) == (0, 1)
    assert resolve_fenceposts("0%", "0%", 0) == (0, 1)


def test_pod_template_hash_is_stable_and_ignores_its_own_label() -> None:
    t1 = deployment()["spec"]["template"]
    t2 = deployment(image="nginx:2")["spec"]["template"]
    assert pod_template_hash(t1) == pod_template_hash(deepcopy(t1))
    assert pod_template_hash(t1) != pod_template_hash(t2)
    assert pod_template_hash(t1, 1) != pod_template_hash(t1)
    labelled = deepcopy(t1)
    labelled["metadata"]["labels"][HASH_LABEL] = pod_template_hash(t1)
    assert pod_template_hash(labelled) == pod_template_hash(t1)
    assert equal_ignore_hash(labelled, t1) and not equal_ignore_hash(t1, t2)
    nulls = deepcopy(t1)
    nulls["metadata"]["creationTimestamp"] = None
    nulls["spec"]["volumes"] = []
    assert equal_ignore_hash(nulls, t1)
    # only safe characters, and the same value in every process (no salted hash() involved)
    assert set(pod_template_hash(t1)) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert pod_template_hash({"spec": {"containers": [{"name": "a", "image": "b"}]}}) \
        == "b778769f"  # FNV-1a of {"spec":{"containers":[{"image":"b","name":"a"}]}}


# ------------------------------------------------------------------------------------ basics


def test_deployment_creates_a_replicaset_and_pods() -> None:
    c, _ = start()
    with c:
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=3))
        report = c.settle(10)
        assert report, str(report)
        d = get(c)
        [rs] = replicasets(c)
        h = pod_template_hash(d["spec"]["template"])
        meta = rs["metadata"]
        assert meta["name"] == f"web-{h}"
        assert meta["labels"] == {"app": "web", HASH_LABEL: h}
        assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", HASH_LABEL: h}}
        assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", HASH_LABEL: h}
        [ref] = meta["ownerReferences"]
        assert ref["controller"] and ref["blockOwnerDeletion"]
        assert (ref["kind"], ref["name"], ref["uid"]) == ("Deployment", "web",
                                                          d["metadata"]["uid"])
        # 25% surge of 3 rounds up to 1: at most 4 pods during a rollout
        assert meta["annotations"] == {REVISION: "1", DESIRED_REPLICAS: "3", MAX_REPLICAS: "4"}
        assert rs["spec"]["replicas"] == 3
        pods = live_pods(c)
        assert len(pods) == 3
        assert all(p["metadata"]["labels"][HASH_LABEL] == h for p in pods)
        assert d["metadata"]["annotations"][REVISION] == "1"
        status = d["status"]
        assert status["observedGeneration"] == d["metadata"]["generation"]
        assert (status["replicas"], status["updatedReplicas"], status["readyReplicas"],
                status["availableReplicas"]) == (3, 3, 3, 3)
        assert "unavailableReplicas" not in status
        available = condition(d, "Available")
        assert (available["status"], available["reason"]) == ("True",
                                                               "MinimumReplicasAvailable")
        progressing = condition(d, "Progressing")
        assert (progressing["status"], progressing["reason"]) == ("True",
                                                                  "NewReplicaSetAvailable")
        assert progressing["message"] == f'ReplicaSet "web-{h}" has successfully progressed.'
        assert scaling_events(c) == [f"Scaled up replica set web-{h} from 0 to 3"]
        assert rollout_complete(d)


def test_status_while_pods_start() -> None:
    """Before any pod is ready: Available=False and the rollout is not complete; settle says
    which Deployment is not converged, and the progress deadline eventually runs out."""
    with Cluster(nodes=0, speed="max", serve=False, seed=1) as c:
        t0 = c.clock.now()
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=2, deadline=60))
        report = c.settle(10)
        assert "deployment/default/web" in report.unconverged
        d = get(c)
        assert d["status"]["unavailableReplicas"] == 2
        assert "availableReplicas" not in d["status"]
        assert condition(d, "Available")["reason"] == "MinimumReplicasUnavailable"
        assert condition(d, "Progressing")["reason"] == "ProgressDeadlineExceeded"
        assert c.clock.now() - t0 >= 60
        assert not rollout_complete(d)
        kubelet_step(c)
        assert c.settle(10)
        d = get(c)
        assert condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"
        assert condition(d, "Available")["status"] == "True"


def test_scaling_without_a_rollout() -> None:
    c, _ = start()
    with c:
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=3))
        assert c.settle(10)
        c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"replicas": 5}}, NS)
        assert c.settle(10)
        [rs] = replicasets(c)
        assert rs["spec"]["replicas"] == 5 and len(live_pods(c)) == 5
        assert rs["metadata"]["annotations"][DESIRED_REPLICAS] == "5"
        assert rs["metadata"]["annotations"][MAX_REPLICAS] == "7"  # ceil(25% of 5) = 2
        c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"replicas": 2}}, NS,
                       subresource="scale")
        assert c.settle(10)
        [rs] = replicasets(c)
        assert rs["spec"]["replicas"] == 2 and len(live_pods(c)) == 2
        name = rs["metadata"]["name"]
        assert scaling_events(c) == [f"Scaled up replica set {name} from 0 to 3",
                                     f"Scaled up replica set {name} from 3 to 5",
                                     f"Scaled down replica set {name} from 5 to 2"]
        assert get(c)["metadata"]["annotations"][REVISION] == "1"


# ------------------------------------------------------------------------------------ rolling


@pytest.mark.parametrize(("replicas", "surge", "unavailable"), [
    (4, 1, 0), (4, 0, 1), (10, "25%", "25%"), (5, "50%", "0%"), (3, 0, "30%"), (6, 2, 2)])
def test_rolling_update_keeps_its_bounds_at_every_step(replicas: int, surge: int | str,
                                                       unavailable: int | str) -> None:
    max_surge, max_unavailable = resolve_fenceposts(surge, unavailable, replicas)
    ceiling, floor = replicas + max_surge, replicas - max_unavailable
    with Cluster(nodes=0, speed="max", serve=False, seed=1) as c:
        c.client.create(kinds.DEPLOYMENTS, deployment(
            replicas=replicas, strategy=rolling(surge, unavailable), deadline=MAX_INT32))
        assert c.settle(10).idle
        kubelet_step(c)
        assert c.settle(10)
        set_image(c, "nginx:2")
        steps = 0

        def check(when: str) -> None:
            pods = live_pods(c)
            ready = [p for p in pods if is_pod_ready(p)]
            sizes = sum(rs["spec"]["replicas"] for rs in replicasets(c))
            assert len(pods) <= ceiling, f"{when}: {len(pods)} pods > {ceiling}"
            assert sizes <= ceiling, f"{when}: ReplicaSets sized {sizes} > {ceiling}"
            assert len(ready) >= floor, f"{when}: {len(ready)} available < {floor}"

        while True:
            report = c.settle(10)
            assert report.idle, str(report)
            check(f"step {steps}, settled")
            if rollout_complete(get(c)):
                break
            assert kubelet_step(c, limit=1) or steps == 0, "the rollout is stuck"
            check(f"step {steps}, one more pod started")
            steps += 1
            assert steps < 100
        assert steps >= replicas - 1  # one pod at a time: many intermediate states were seen
        old, new = replicasets(c)
        assert old["spec"]["replicas"] == 0 and new["spec"]["replicas"] == replicas
        assert new["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
        assert new["metadata"]["annotations"][REVISION] == "2"
        assert get(c)["metadata"]["annotations"][REVISION] == "2"
        assert all(p["metadata"]["labels"][HASH_LABEL] == new["metadata"]["labels"][HASH_LABEL]
                   for p in live_pods(c))
        assert len(live_pods(c)) == replicas


def test_rolling_update_bounds_hold_inside_the_engine() -> None:
    """With pods starting as soon as they exist, check the ReplicaSet sizes and the available
    pods after every move of the kubelet, i.e. between any two reconciles."""
    replicas, ceiling, floor = 10, 13, 8

    def check(k: AutoKubelet) -> None:
        sizes = sum(rs["spec"]["replicas"] for rs in k.sets.list(NS))
        ready = sum(1 for p in k.pods.list(NS)
                    if is_pod_ready(p) and not p["metadata"].get("deletionTimestamp"))
        assert sizes <= ceiling, f"ReplicaSets sized {sizes}"
        if started[0]:
            assert ready >= floor, f"{ready} available"

    started = [False]
    c, kubelet = start(check=check)
    with c:
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=replicas,
                                                      strategy=rolling(3, 2)))
        assert c.settle(10)
        started[0] = True
        for image in ("nginx:2", "nginx:3", "nginx:2"):
            set_image(c, image)
            assert c.settle(10)
            assert rollout_complete(get(c))
        assert kubelet.violations == []
        assert len(live_pods(c)) == replicas
        assert get(c)["metadata"]["annotations"][REVISION] == "4"


def test_min_ready_seconds_paces_the_rollout() -> None:
    c, _ = start()
    with c:
        c.client.create(kinds.DEPLOYMENTS, deployment(
            replicas=2, strategy=rolling(1, 0), minReadySeconds=10))
        t0 = c.clock.now()
        assert c.settle(10)
        # available only minReadySeconds after Ready (a whole-second timestamp: up to 1s less)
        assert c.clock.now() - t0 >= 9
        [rs] = replicasets(c)
        assert rs["spec"]["minReadySeconds"] == 10
        t1 = c.clock.now()
        set_image(c, "nginx:2")
        assert c.settle(10)
        # maxUnavailable 0, surge 1: one new pod at a time, each waits 10s to count
        assert c.clock.now() - t1 >= 18
        assert get(c)["status"]["availableReplicas"] == 2


# ------------------------------------------------------------------------------------ recreate


def test_recreate_scales_old_down_and_waits_for_its_pods_to_be_gone() -> None:
    with Cluster(nodes=0, speed="max", serve=False, seed=1) as c:
        c.client.create(kinds.DEPLOYMENTS, deployment(
            replicas=3, strategy={"type": "Recreate"}, deadline=MAX_INT32))
        assert c.settle(10).idle
        kubelet_step(c)
        assert c.settle(10)
        old = replicasets(c)[0]["metadata"]["name"]
        set_image(c, "nginx:2")
        assert c.settle(10).idle
        # old scaled to zero; its pods are terminating; nothing new may start yet
        [rs] = replicasets(c)
        assert rs["metadata"]["name"] == old and rs["spec"]["replicas"] == 0
        pods = c.client.list(kinds.PODS, NS).items
        assert len(pods) == 3 and all(p["metadata"].get("deletionTimestamp") for p in pods)
        kubelet_step(c, limit=0)  # the kubelet finishes the terminations
        assert c.settle(10).idle
        old_rs, new_rs = replicasets(c)
        assert old_rs["metadata"]["name"] == old
        assert new_rs["spec"]["replicas"] == 3
        assert all(p["metadata"]["labels"][HASH_LABEL] == new_rs["metadata"]["labels"][HASH_LABEL]
                   for p in c.client.list(kinds.PODS, NS).items)
        kubelet_step(c)
        assert c.settle(10)
        new = new_rs["metadata"]["name"]
        assert scaling_events(c) == [f"Scaled up replica set {old} from 0 to 3",
                                     f"Scaled down replica set {old} from 3 to 0",
                                     f"Scaled up replica set {new} from 0 to 3"]
        assert rollout_complete(get(c))


# ------------------------------------------------------------------------------------ rollback


def test_rollout_undo_rolls_back_and_bumps_the_revision() -> None:
    c, _ = start()
    with c:
        d = deployment(replicas=3)
        d["metadata"]["annotations"] = {"kubernetes.io/change-cause": "v1"}
        c.client.create(kinds.DEPLOYMENTS, d)
        assert c.settle(10)
        with c.paused():  # one change, as kubectl apply would make it (else the controller
            # may copy the new change-cause onto the current ReplicaSet in between, as upstream)
            c.client.patch(kinds.DEPLOYMENTS, "web", {"metadata": {"annotations": {
                "kubernetes.io/change-cause": "v2"}}}, NS)
            set_image(c, "nginx:2")
        assert c.settle(10)
        v1, v2 = rs_for_image(c, "nginx:1"), rs_for_image(c, "nginx:2")
        assert v1["metadata"]["annotations"]["kubernetes.io/change-cause"] == "v1"
        assert v2["metadata"]["annotations"]["kubernetes.io/change-cause"] == "v2"
        assert (v1["spec"]["replicas"], v2["spec"]["replicas"]) == (0, 3)

        kubectl_undo(c)  # back to revision 1
        assert c.settle(10)
        d = get(c)
        assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
        assert d["metadata"]["annotations"][REVISION] == "3"
        assert d["metadata"]["annotations"]["kubernetes.io/change-cause"] == "v1"
        v1, v2 = rs_for_image(c, "nginx:1"), rs_for_image(c, "nginx:2")
        assert v1["metadata"]["annotations"][REVISION] == "3"
        assert v1["metadata"]["annotations"][REVISION_HISTORY] == "1"
        assert (v1["spec"]["replicas"], v2["spec"]["replicas"]) == (3, 0)
        assert len(replicasets(c)) == 2  # the old ReplicaSet came back: no new one
        assert rollout_complete(d)
        assert condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"
        assert f"Scaled up replica set {v1['metadata']['name']} from 0 to 1" \
            in scaling_events(c)

        kubectl_undo(c, to_revision=2)
        assert c.settle(10)
        v2 = rs_for_image(c, "nginx:2")
        assert v2["metadata"]["annotations"][REVISION] == "4"
        assert v2["metadata"]["annotations"][REVISION_HISTORY] == "2"
        assert get(c)["metadata"]["annotations"][REVISION] == "4"

        kubectl_undo(c)  # to 3 (nginx:1 again): its history grows
        assert c.settle(10)
        v1 = rs_for_image(c, "nginx:1")
        assert v1["metadata"]["annotations"][REVISION] == "5"
        assert v1["metadata"]["annotations"][REVISION_HISTORY] == "1,3"


# ------------------------------------------------------------------------------------ pause


def test_pause_stops_rollouts_but_not_scaling() -> None:
    c, _ = start()
    with c:
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=3))
        assert c.settle(10)
        c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"paused": True}}, NS)
        set_image(c, "nginx:2")
        report = c.settle(10)
        assert report, str(report)  # a paused Deployment is not waiting for anything
        d = get(c)
        [rs] = replicasets(c)  # no rollout while paused
        assert d["status"]["observedGeneration"] == d["metadata"]["generation"]
        progressing = condition(d, "Progressing")
        assert (progressing["status"], progressing["reason"], progressing["message"]) == (
            "Unknown", "DeploymentPaused", "Deployment is paused")
        assert "updatedReplicas" not in d["status"]  # the current template has no ReplicaSet

        c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"replicas": 5}}, NS)
        assert c.settle(10)
        [rs] = replicasets(c)
        assert rs["spec"]["replicas"] == 5 and len(live_pods(c)) == 5
        assert rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"

        c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"paused": False}}, NS)
        assert c.settle(10)
        d = get(c)
        assert len(replicasets(c)) == 2
        assert rs_for_image(c, "nginx:2")["spec"]["replicas"] == 5
        assert rollout_complete(d)
        assert condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"
        assert d["metadata"]["annotations"][REVISION] == "2"


def test_resume_is_recorded_before_the_rollout_moves() -> None:
    c, _ = start()
    with c:
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=2))
        assert c.settle(10)
        c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"paused": True}}, NS)
        set_image(c, "nginx:2")
        assert c.settle(10)
        reasons = progressing_reasons(c)
        c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"paused": False}}, NS)
        assert c.settle(10)
        assert reasons == ["DeploymentPaused", "DeploymentResumed", "NewReplicaSetCreated",
                           "ReplicaSetUpdated", "NewReplicaSetAvailable"]


# ------------------------------------------------------------------------------------ deadline


def test_progress_deadline_exceeded() -> None:
    c, _ = start(hold=broken)
    with c:
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=4, deadline=30))
        assert c.settle(10)
        t0 = c.clock.now()
        set_image(c, "broken")
        report = c.settle(10)
        assert "deployment/default/web" in report.unconverged
        assert c.clock.now() - t0 >= 30  # the controller looked again at the deadline
        d = get(c)
        new = rs_for_image(c, "broken")["metadata"]["name"]
        progressing = condition(d, "Progressing")
        assert (progressing["status"], progressing["reason"], progressing["message"]) == (
            "False", "ProgressDeadlineExceeded", f'ReplicaSet "{new}" has timed out progressing.')
        assert condition(d, "Available")["status"] == "True"  # 3 old pods still serve
        assert d["status"]["availableReplicas"] == 3
        assert not rollout_complete(d)
        # a fixed template rolls out and the condition recovers
        set_image(c, "nginx:3")
        assert c.settle(10)
        d = get(c)
        assert rollout_complete(d)
        progressing = condition(d, "Progressing")
        assert (progressing["status"], progressing["reason"]) == ("True",
                                                                  "NewReplicaSetAvailable")


def test_progress_conditions_along_a_rollout() -> None:
    """NewReplicaSetCreated when the ReplicaSet is made, ReplicaSetUpdated while pods come,
    NewReplicaSetAvailable at the end; lastTransitionTime kept while the status stays True."""
    c, _ = start()
    with c:
        reasons = progressing_reasons(c)
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=3, strategy=rolling(1, 0)))
        assert c.settle(10)
        assert reasons == ["NewReplicaSetCreated", "ReplicaSetUpdated", "NewReplicaSetAvailable"]
        first = condition(get(c), "Progressing")
        reasons.clear()
        c.advance(3600)
        set_image(c, "nginx:2")
        assert c.settle(10)
        assert reasons == ["NewReplicaSetAvailable",  # the template change itself
                           "NewReplicaSetCreated", "ReplicaSetUpdated", "NewReplicaSetAvailable"]
        last = condition(get(c), "Progressing")
        assert last["lastTransitionTime"] == first["lastTransitionTime"]
        assert last["lastUpdateTime"] > first["lastUpdateTime"]


# ------------------------------------------------------------------------------------ history


def test_old_replicasets_beyond_the_history_limit_are_deleted() -> None:
    c, _ = start()
    with c:
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=2, revisionHistoryLimit=2))
        assert c.settle(10)
        for version in range(2, 7):
            set_image(c, f"nginx:{version}")
            assert c.settle(10)
        revisions = [int(rs["metadata"]["annotations"][REVISION]) for rs in replicasets(c)]
        assert revisions == [4, 5, 6]
        images = [rs["spec"]["template"]["spec"]["containers"][0]["image"]
                  for rs in replicasets(c)]
        assert images == ["nginx:4", "nginx:5", "nginx:6"]
        assert [rs["spec"]["replicas"] for rs in replicasets(c)] == [0, 0, 2]


def test_history_limit_zero_keeps_only_the_new_replicaset() -> None:
    c, _ = start()
    with c:
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=1, revisionHistoryLimit=0))
        assert c.settle(10)
        set_image(c, "nginx:2")
        assert c.settle(10)
        [rs] = replicasets(c)
        assert rs["metadata"]["annotations"][REVISION] == "2"


# ------------------------------------------------------------------------------------ scaling


def test_proportional_scaling_during_a_stuck_rollout() -> None:
    """The documented example: 10 replicas, maxSurge 3, maxUnavailable 2, a rollout stuck on a
    broken image; scaling to 15 spreads the 5 extra pods by size (3 old, 2 new)."""
    c, _ = start(hold=broken)
    with c:
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=10, strategy=rolling(3, 2),
                                                      deadline=MAX_INT32))
        assert c.settle(10)
        set_image(c, "broken")
        assert c.settle(10).idle
        old, new = rs_for_image(c, "nginx:1"), rs_for_image(c, "broken")
        assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (8, 5)

        c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"replicas": 15}}, NS)
        assert c.settle(10).idle
        old, new = rs_for_image(c, "nginx:1"), rs_for_image(c, "broken")
        assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (11, 7)
        for rs in (old, new):
            assert rs["metadata"]["annotations"][DESIRED_REPLICAS] == "15"
            assert rs["metadata"]["annotations"][MAX_REPLICAS] == "18"
        events = scaling_events(c)
        assert f"Scaled up replica set {old['metadata']['name']} from 8 to 11" in events
        assert f"Scaled up replica set {new['metadata']['name']} from 5 to 7" in events

        # down to 5 (at most 8 pods): 11 -> 5 and 7 -> 3 by proportion; then the rollout
        # goes on within the new bounds (3 available at least): old 5 -> 3, new 3 -> 5
        c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"replicas": 5}}, NS)
        assert c.settle(10).idle
        old, new = rs_for_image(c, "nginx:1"), rs_for_image(c, "broken")
        events = scaling_events(c)
        old_name, new_name = old["metadata"]["name"], new["metadata"]["name"]
        assert events[-3:] == [f"Scaled down replica set {old_name} from 11 to 5",
                               f"Scaled down replica set {new_name} from 7 to 3",
                               f"Scaled down replica set {old_name} from 5 to 3"]
        # (the same message as on the way up: the recorder counted it on that Event)
        assert f"Scaled up replica set {new_name} from 3 to 5" in events
        assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (3, 5)
        d = get(c)
        assert d["status"]["updatedReplicas"] == 5 and d["status"]["availableReplicas"] == 3
        assert condition(d, "Available")["status"] == "True"


def test_scaling_to_zero_and_back() -> None:
    c, _ = start()
    with c:
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=3))
        assert c.settle(10)
        c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"replicas": 0}}, NS)
        assert c.settle(10)
        d = get(c)
        assert live_pods(c) == [] and rollout_complete(d)
        assert condition(d, "Available")["status"] == "True"
        c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"replicas": 2}}, NS)
        assert c.settle(10)
        assert len(live_pods(c)) == 2 and len(replicasets(c)) == 1


# ------------------------------------------------------------------------------------ adoption


def test_orphan_replicaset_is_adopted_and_scaled_down() -> None:
    c, _ = start()
    with c:
        orphan = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": "web-legacy", "namespace": NS,
                               "labels": {"app": "web"}},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                               "containers": [{"name": "app", "image": "nginx:0"}]}}}}
        c.client.create(kinds.REPLICASETS, orphan)
        assert c.settle(10)
        assert len(live_pods(c)) == 2
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=3))
        assert c.settle(10)
        d = get(c)
        legacy = c.client.get(kinds.REPLICASETS, "web-legacy", NS)
        ref = controller_ref(legacy)
        assert ref is not None and ref["uid"] == d["metadata"]["uid"]
        assert legacy["spec"]["replicas"] == 0
        assert rs_for_image(c, "nginx:1")["spec"]["replicas"] == 3
        assert d["metadata"]["annotations"][REVISION] == "1"
        assert rollout_complete(d)

        # labels that stop matching: the Deployment lets the ReplicaSet go
        c.client.patch(kinds.REPLICASETS, "web-legacy", {"metadata": {"labels": {
            "app": "other"}}}, NS)
        assert c.settle(10)
        assert controller_ref(c.client.get(kinds.REPLICASETS, "web-legacy", NS)) is None


def test_orphan_with_the_same_template_becomes_the_new_replicaset() -> None:
    c, _ = start()
    with c:
        template = deployment()["spec"]["template"]
        orphan = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": "web-handmade", "namespace": NS,
                               "labels": {"app": "web"}},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                           "template": template}}
        c.client.create(kinds.REPLICASETS, orphan)
        assert c.settle(10)
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=3))
        assert c.settle(10)
        [rs] = replicasets(c)
        assert rs["metadata"]["name"] == "web-handmade"
        assert rs["spec"]["replicas"] == 3
        assert rs["metadata"]["annotations"][REVISION] == "1"
        assert controller_ref(rs)["name"] == "web"  # type: ignore[index]
        assert get(c)["status"]["updatedReplicas"] == 3


def test_hash_collision_bumps_collision_count() -> None:
    """A ReplicaSet of someone else already has the name the new hash gives: the Deployment
    counts the collision in its status and the next hash (salted with the count) differs."""
    c, _ = start()
    with c:
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=2, paused=True))
        assert c.settle(10)
        d = get(c)
        squatted = pod_template_hash(d["spec"]["template"])
        c.client.create(kinds.REPLICASETS, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"web-{squatted}", "namespace": NS,
                         "labels": {"app": "squatter"}},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "squatter"}},
                     "template": {"metadata": {"labels": {"app": "squatter"}}, "spec": {
                         "containers": [{"name": "app", "image": "other"}]}}}})
        c.client.patch(kinds.DEPLOYMENTS, "web", {"spec": {"paused": False}}, NS)
        assert c.settle(10)
        d = get(c)
        assert d["status"]["collisionCount"] == 1
        expected = pod_template_hash(d["spec"]["template"], 1)
        assert expected != squatted
        [rs] = [rs for rs in replicasets(c) if rs["metadata"]["labels"]["app"] == "web"]
        assert rs["metadata"]["name"] == f"web-{expected}"
        assert rs["metadata"]["labels"][HASH_LABEL] == expected
        assert rollout_complete(d)
        squatter = c.client.get(kinds.REPLICASETS, f"web-{squatted}", NS)
        assert controller_ref(squatter) is None  # not ours: left alone


def test_kubectl_rollout_status_undo_and_history() -> None:
    """The real kubectl reads the status and does its client-side undo against the cluster."""
    from tests.conftest import Kubectl

    c = Cluster(nodes=0, speed="max", serve=True, seed=1)
    c.manager.add(AutoKubelet(hold=broken))
    with c:
        kubectl = Kubectl(c.kubeconfig)
        d = deployment(replicas=3, deadline=30)
        d["metadata"]["annotations"] = {"kubernetes.io/change-cause": "first"}
        c.client.create(kinds.DEPLOYMENTS, d)
        assert c.settle(10)
        assert kubectl("rollout", "status", "deployment/web", "--timeout=10s") == \
            'deployment "web" successfully rolled out\n'
        with c.paused():  # one change (see test_rollout_undo_rolls_back_and_bumps_the_revision)
            c.client.patch(kinds.DEPLOYMENTS, "web", {"metadata": {"annotations": {
                "kubernetes.io/change-cause": "broken"}}}, NS)
            set_image(c, "broken")
        c.settle(10)
        failed = kubectl.run("rollout", "status", "deployment/web", "--timeout=10s",
                             check=False)
        assert failed.returncode != 0
        assert 'deployment "web" exceeded its progress deadline' in failed.stderr
        assert "rolled back" in kubectl("rollout", "undo", "deployment/web")
        assert c.settle(10)
        assert kubectl("rollout", "status", "deployment/web", "--timeout=10s") == \
            'deployment "web" successfully rolled out\n'
        history = kubectl("rollout", "history", "deployment/web").split("\n")
        rows = [line.split(None, 1) for line in history[2:] if line.strip()]
        assert rows == [["2", "broken"], ["3", "first"]]
        out = kubectl.json("get", "deployment", "web")
        assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
        assert out["metadata"]["annotations"][REVISION] == "3"


def test_rolling_update_on_simulated_nodes() -> None:
    """The real scheduler and simulated kubelets run the pods: a rollout of 5 replicas over 3
    nodes converges, and watching every write shows the bounds held all along."""
    replicas, ceiling, floor = 5, 7, 4  # 25% surge rounds up to 2, 25% unavailable down to 1
    sizes: dict[str, int] = {}
    pods: dict[str, Obj] = {}
    violations: list[str] = []
    watching = [False]

    def on_rs(etype: str, raw: bytes) -> None:
        rs = orjson.loads(raw)
        sizes[rs["metadata"]["name"]] = 0 if etype == "DELETED" else rs["spec"]["replicas"]
        if sum(sizes.values()) > ceiling:
            violations.append(f"ReplicaSets sized {dict(sizes)}")

    def on_pod(etype: str, raw: bytes) -> None:
        pod = orjson.loads(raw)
        if etype == "DELETED":
            pods.pop(pod["metadata"]["name"], None)
        else:
            pods[pod["metadata"]["name"]] = pod
        ready = sum(1 for p in pods.values()
                    if is_pod_ready(p) and not p["metadata"].get("deletionTimestamp"))
        if watching[0] and ready < floor:
            violations.append(f"{ready} available")

    with Cluster(nodes=3, speed="max", serve=False, seed=1) as c:
        c.client.watch(kinds.REPLICASETS, on_rs, namespace=NS)
        c.client.watch(kinds.PODS, on_pod, namespace=NS)
        c.client.create(kinds.DEPLOYMENTS, deployment(replicas=replicas, image="nginx:1.25"))
        report = c.settle(30)
        assert report, str(report)
        assert rollout_complete(get(c))
        running = live_pods(c)
        assert len(running) == replicas
        assert {p["spec"]["nodeName"] for p in running} <= {"node-1", "node-2", "node-3"}
        assert all(p["status"]["phase"] == "Running" for p in running)

        watching[0] = True
        set_image(c, "nginx:1.26")
        report = c.settle(30)
        assert report, str(report)
        d = get(c)
        assert rollout_complete(d)
        assert d["metadata"]["annotations"][REVISION] == "2"
        old, new = rs_for_image(c, "nginx:1.25"), rs_for_image(c, "nginx:1.26")
        assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (0, replicas)
        assert violations == []
        assert len(scaling_events(c)) > 4  # it went step by step
