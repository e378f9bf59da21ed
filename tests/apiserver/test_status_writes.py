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
