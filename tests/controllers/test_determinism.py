"""The same scenario on the ``max`` clock twice gives the same sequence of events.

Everything takes part: Deployment, ReplicaSet, scheduler, kubelets, EndpointSlices, a Job, a
rolling update, and a node that goes down (lease expiry, taints, eviction, rescheduling). Each
step's writes are made while the engine is paused, and time passes only through ``settle`` and
``advance``, so the run does not depend on how fast the test itself goes.
"""

from __future__ import annotations

from typing import Any

from kubenb import Cluster
from kubenb.api import kinds


def deployment(image: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 6, "selector": {"matchLabels": {"app": "web"}},
                     "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                         "containers": [{"name": "web", "image": image,
                                         "ports": [{"name": "http", "containerPort": 80}]}]}}}}


def scenario() -> tuple[list[tuple[str, str, str, str, str]], list[str]]:
    with Cluster(nodes=3, speed="max", serve=False, seed=11) as c:
        journal = c.manager.record_journal()
        with c.paused():
            c.client.create(kinds.DEPLOYMENTS, deployment("nginx:1.27"))
            c.client.create(kinds.SERVICES, {
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80,
                                                                "targetPort": "http"}]}})
            c.client.create(kinds.JOBS, {
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "count", "namespace": "default"},
                "spec": {"completions": 3, "parallelism": 2, "template": {"spec": {
                    "restartPolicy": "Never", "containers": [{
                        "name": "c", "image": "busybox",
                        "command": ["sh", "-c", "echo counting; sleep 4"]}]}}}})
        assert c.settle(30)
        with c.paused():
            dep = c.client.get(kinds.DEPLOYMENTS, "web", "default")
            dep["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
            c.client.replace(kinds.DEPLOYMENTS, dep)
        assert c.settle(30)
        with c.paused():
            assert c.faults is not None
            c.faults.node_down("node-2")
        c.advance(400)
        names = sorted(p["metadata"]["name"] for p in c.client.list(kinds.PODS, "default").items)
        return list(journal), names


def test_same_scenario_same_events_and_names() -> None:
    first, second = scenario(), scenario()
    reasons = {e[1] for e in first[0]}
    # the scenario really exercised the whole control plane
    assert {"ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Pulled", "Started",
            "Completed", "NodeNotReady", "TaintManagerEviction"} <= reasons, reasons
    assert len(first[0]) > 100
    assert first == second
