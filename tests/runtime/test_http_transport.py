"""The same controller code against an apiserver over HTTPS (kubeconfig), not in-process."""

from __future__ import annotations

import time

import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds
from kubenb.client import Client
from kubenb.client.http import HTTPTransport
from kubenb.controllers.replicaset import ReplicaSetController
from kubenb.runtime import Manager, RealClock


def rs(replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def wait_for(check, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_replicaset_controller_over_https_from_a_kubeconfig() -> None:
    # the server runs no controllers; the controller below is a remote client of it
    with Cluster(controllers=False, history=50) as server:
        client = Client(HTTPTransport.from_kubeconfig(server.kubeconfig))
        with pytest.raises(errors.NotFound):
            client.get(kinds.PODS, "nope", "default")
        manager = Manager(client, RealClock())
        manager.add(ReplicaSetController())
        manager.start()
        try:
            server.client.create(kinds.REPLICASETS, rs(3))

            def pods() -> list[dict]:
                return server.client.list(kinds.PODS, "default",
                                          label_selector="app=web").items

            assert wait_for(lambda: len(pods()) == 3)
            owners = {p["metadata"]["ownerReferences"][0]["name"] for p in pods()}
            assert owners == {"web"}
            managers = {m["manager"] for p in pods() for m in p["metadata"]["managedFields"]}
            assert managers == {"kube-controller-manager"}
            assert wait_for(lambda: server.client.get(kinds.REPLICASETS, "web", "default")
                            .get("status", {}).get("replicas") == 3)
            # a burst of writes longer than the server's watch history: the informer's watch may
            # expire (410) and re-list; either way the controller converges
            for _ in range(60):
                server.client.create(kinds.CONFIGMAPS, {
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"generateName": "noise-", "namespace": "default"}})
            server.client.patch(kinds.REPLICASETS, "web", {"spec": {"replicas": 1}}, "default")
            assert wait_for(lambda: len(pods()) == 1)
            assert wait_for(lambda: server.client.get(kinds.REPLICASETS, "web", "default")
                            .get("status", {}).get("replicas") == 1)
            report = manager.settle(10)
            # idle, and not converged only because no kubelet makes the pod ready here
            assert report.idle and report.unconverged == ["replicaset/default/web"]
        finally:
            manager.stop()
