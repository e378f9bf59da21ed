"""The informer's Interner: equal parts of cached objects are one object, and values stay equal to
what was stored."""

from __future__ import annotations

import copy
from typing import Any

from kubenb.runtime.informer import Interner


def pod(name: str, ip: str, ready_at: str = "2026-12-02T10:00:01Z") -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                     "generateName": "web-", "creationTimestamp": "2026-12-02T10:00:00Z",
                     "labels": {"app": "web"}, "managedFields": [{"manager": "kubelet"}]},
        "spec": {"nodeName": "node-1", "schedulerName": "default-scheduler",
                 "securityContext": {}, "terminationGracePeriodSeconds": 30,
                 "containers": [{"name": "app", "image": "nginx:1.27"}]},
        "status": {
            "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
            "hostIPs": [{"ip": "172.18.0.2"}],
            "conditions": [
                {"type": "Initialized", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": "2026-12-02T10:00:00Z"},
                {"type": "Ready", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": ready_at}],
            "containerStatuses": [{"name": "app", "ready": True, "restartCount": 0,
                                   "state": {"running": {"startedAt": ready_at}},
                                   "lastState": {}, "containerID": f"containerd://{name}"}]},
    }


def test_equal_parts_of_different_objects_are_one_object() -> None:
    interner = Interner()
    a = interner(pod("a", "10.0.0.1"), None)
    b = interner(pod("b", "10.0.0.2"), None)
    assert a["status"]["conditions"] is b["status"]["conditions"]
    assert a["status"]["hostIPs"] is b["status"]["hostIPs"]
    sa, sb = a["status"]["containerStatuses"][0], b["status"]["containerStatuses"][0]
    assert sa is not sb  # the container IDs differ...
    assert sa["state"] is sb["state"] and sa["lastState"] is sb["lastState"]  # ...not the rest
    assert a["spec"]["securityContext"] is b["spec"]["securityContext"]
    assert a["metadata"]["labels"] is b["metadata"]["labels"]
    # strings parsed afresh for every object are interned
    assert a["metadata"]["creationTimestamp"] is b["metadata"]["creationTimestamp"]
    assert a["spec"]["schedulerName"] is b["spec"]["schedulerName"]
    assert a["status"]["podIPs"] is not b["status"]["podIPs"]


def test_cached_objects_equal_what_was_stored_without_managed_fields() -> None:
    interner = Interner()
    for i in range(50):
        raw = pod(f"p{i}", f"10.0.0.{i}", ready_at=f"2026-12-02T10:00:{i % 3:02d}Z")
        want = copy.deepcopy(raw)
        del want["metadata"]["managedFields"]
        assert interner(raw, None) == want


def test_a_new_version_reuses_the_old_parts_and_leaves_other_objects_alone() -> None:
    interner = Interner()
    a = interner(pod("a", "10.0.0.1"), None)
    b = interner(pod("b", "10.0.0.2"), None)
    before = copy.deepcopy(b)
    newer = pod("a", "10.0.0.1")
    newer["status"]["conditions"][1]["status"] = "False"
    newer["status"]["phase"] = "Failed"
    a2 = interner(newer, a)
    assert a2["status"]["conditions"][1]["status"] == "False"
    assert a2["status"]["conditions"][0] is a["status"]["conditions"][0]
    assert a2["status"]["hostIPs"] is a["status"]["hostIPs"]
    assert a2["spec"] is a["spec"]  # the spec did not move: the old one is kept whole
    assert b == before and a["status"]["conditions"][1]["status"] == "True"


def test_the_table_is_bounded() -> None:
    interner = Interner(size=16)
    for i in range(200):
        interner(pod(f"p{i}", f"10.0.{i // 250}.{i % 250}", ready_at=f"2026-12-02T10:{i:04d}Z"),
                 None)
    assert len(interner._table) <= 16
