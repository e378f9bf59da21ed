"""Status subresource writes keep the optimistic-concurrency guard of their resourceVersion."""

from __future__ import annotations

import pytest

from kubenb import Cluster
from kubenb.api import errors, kinds


def test_stale_status_write_conflicts_and_fresh_one_changes_only_status() -> None:
    with Cluster(controllers=False, serve=False) as c:
        rs = c.client.create(kinds.REPLICASETS, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "r", "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
        stale = dict(rs, status={"replicas": 7})
        rs["metadata"]["labels"] = {"x": "y"}
        rs = c.client.replace(kinds.REPLICASETS, rs)
        with pytest.raises(errors.Conflict):
            c.client.replace_status(kinds.REPLICASETS, stale)
        fresh = dict(rs, status={"replicas": 3}, spec={**rs["spec"], "replicas": 9})
        out = c.client.replace_status(kinds.REPLICASETS, fresh)
        assert out["status"]["replicas"] == 3
        assert out["spec"]["replicas"] == 1  # a status write never changes the spec
        # no resourceVersion: an unconditional write
        del out["metadata"]["resourceVersion"]
        out["status"] = {"replicas": 4}
        assert c.client.replace_status(kinds.REPLICASETS, out)["status"]["replicas"] == 4


def test_pod_status_merge_patches_built_on_a_shallow_copy_match_a_deep_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A pod's status merge patch builds on a copy of the stored pod that shares everything
    below its top level and metadata with the version compared against (a parse saved per
    kubelet write). The same writes on full copies must store exactly the same objects."""
    import orjson

    import bench.update_path as U
    from bench.pods import bind_body, pod_body, pod_name
    from kubenb.apiserver import endpoints
    from kubenb.apiserver.endpoints import PatchType, WriteOptions

    def stored(deep: bool) -> list[bytes]:
        if deep:
            monkeypatch.setattr(endpoints, "_top_and_metadata",
                                lambda obj: orjson.loads(orjson.dumps(obj)))
        out = []
        with Cluster(controllers=False, serve=False) as c:
            ep, pods = c.endpoints, kinds.PODS
            kubelet, user = U._opts("kubelet"), WriteOptions(field_manager="kubectl")
            for i in range(5):
                ep.create(pods, "default", pod_body(i), U._opts("kube-controller-manager"))
                ep.bind("default", pod_name(i), bind_body(i, node="node-1"),
                        U._opts("kube-scheduler"))
                first = ep.patch(pods, "default", pod_name(i), PatchType.MERGE,
                                 U.pending_status(i), kubelet, subresource="status")
                ep.patch(pods, "default", pod_name(i), PatchType.MERGE, U._running_patch(
                    i, first["metadata"]["resourceVersion"]), kubelet, subresource="status")
                ep.patch(pods, "default", pod_name(i), PatchType.MERGE, {"status": {
                    "conditions": None, "phase": "Succeeded", "reason": "Done"}}, user,
                    subresource="status")
                obj = orjson.loads(c.store.get_raw(pods, "default", pod_name(i)))
                for key in ("uid", "creationTimestamp", "resourceVersion"):
                    obj["metadata"].pop(key)
                for entry in obj["metadata"]["managedFields"]:
                    entry.pop("time")  # and with it the order, which follows the times
                obj["metadata"]["managedFields"].sort(key=lambda e: (e["manager"],
                                                                     e.get("subresource", "")))
                obj["status"].pop("startTime", None)
                out.append(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS))
        return out

    assert stored(deep=False) == stored(deep=True)
