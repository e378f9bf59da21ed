"""The update shortcut of record_update gives exactly what the general field manager gives.

``record_update`` answers an update whose stored managedFields are in canonical form by keeping
the entries of managers the write did not touch as stored and rebuilding only the writer's entry
and those that lost fields (operations.update_entries). Clients show managedFields as they come,
so every case here runs both paths and compares the JSON text: random mutations of many kinds of
object by several managers, on the main resource and on status, with Apply entries among them;
the control plane's own writes through the endpoints (kubelet status patches, bindings, label
patches, PUTs, Events, Deployment status, scale); stored entries in non-canonical forms, which
must fall back to the general path; and the canonical-form check against its definition.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from bench.pods import bind_body, pod_body, pod_name, running_status
from bench.update_path import pending_status
from kubenb import Cluster
from kubenb.api import kinds
from kubenb.apiserver.endpoints import PatchType, WriteOptions
from kubenb.apiserver.patch import apply as ssa
from kubenb.apiserver.patch.apply import operations, record_update, server_side_apply, updates
from kubenb.apiserver.patch.apply.errors import ApplyConflict, ApplyError, _DecodeError
from kubenb.apiserver.patch.apply.fieldset import (
    _fields_to_set,
    _set_to_fields,
    _trie,
    _trie_to_canonical_fields,
)
from kubenb.apiserver.patch.merge import json_merge_patch
from kubenb.apiserver.schemas import schemas
from tests.apiserver.test_managed_fields_fast_path import CASES, _mutate

Obj = dict[str, Any]

NOW = "2026-03-04T05:06:07Z"
MANAGERS = ["kubelet", "kube-scheduler", "kube-controller-manager", "kubectl-edit", "m5"]


class _Spy:
    """Counts how often the shortcut answered (update_entries returned entries)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hits = 0
        self.calls = 0
        real = updates.update_entries

        def spy(*args: Any, **kw: Any) -> Any:
            out = real(*args, **kw)
            self.calls += 1
            self.hits += out is not None
            return out

        monkeypatch.setattr(operations, "update_entries", spy)


def _both(old: Obj, new: Obj, **kw: Any) -> tuple[str, str, list[Obj]]:
    """(fast, general) managedFields of an update as JSON text, and the general result."""
    before = (copy.deepcopy(old), copy.deepcopy(new))
    fast = record_update(old, new, **kw)
    general = record_update(old, new, fast=False, **kw)
    assert (old, new) == before  # neither path changes its inputs
    return json.dumps(fast), json.dumps(general), general


def _common(schema: Obj | None, api_version: str, manager: str, now: str = NOW) -> dict[str, Any]:
    return {"manager": manager, "schema": schema, "schemas": schemas(),
            "api_version": api_version, "now": now}


def _with_managed(obj: Obj, entries: list[Obj]) -> Obj:
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    if entries:
        meta["managedFields"] = copy.deepcopy(entries)
    else:
        meta.pop("managedFields", None)
    return out


def _times() -> Iterator[str]:
    """Later and later whole-second times, sometimes the same second twice."""
    t = 1_700_000_000
    while True:
        t += random.choice([0, 1, 7, 3600])
        yield (f"2026-03-{4 + t // 86400 % 20:02d}T{t // 3600 % 24:02d}:"
               f"{t // 60 % 60:02d}:{t % 60:02d}Z")


# -- random updates ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_random_updates_by_several_managers(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    random.seed(seed)
    spy = _Spy(monkeypatch)
    times = _times()
    compared = 0
    for _ in range(12):
        api_version, schema, base = rng.choice(CASES)
        obj = copy.deepcopy(base)
        if not isinstance(obj.get("metadata"), dict):
            obj["metadata"] = {"name": "x"}
        entries = record_update(None, obj, **_common(schema, api_version, rng.choice(MANAGERS)))
        obj = _with_managed(obj, entries)
        for _ in range(10):
            manager = rng.choice(MANAGERS)
            kw = _common(schema, api_version, manager, next(times))
            kw["subresource"] = rng.choice(["", "", "status", "scale"])
            if rng.random() < 0.15:
                # an apply among the updates, so Apply entries and shared ownership occur
                config = copy.deepcopy(obj)
                config["metadata"].pop("managedFields", None)
                for _ in range(rng.randint(0, 2)):
                    _mutate(rng, config)
                if not isinstance(config.get("metadata"), dict):
                    config["metadata"] = {"name": "x"}
                config["apiVersion"], config["kind"] = api_version, base.get("kind", "X")
                try:
                    applied = server_side_apply(obj, config, force=True, **kw)
                except (ApplyConflict, ApplyError):
                    continue
                obj = applied
                continue
            new = copy.deepcopy(obj)
            new["metadata"].pop("managedFields", None)
            for _ in range(rng.randint(0, 4)):
                _mutate(rng, new)
            if not isinstance(new.get("metadata"), dict):
                new["metadata"] = {"name": "x"}
            sent = rng.random()
            stored = obj["metadata"].get("managedFields")
            if sent < 0.5 and stored is not None:
                new["metadata"]["managedFields"] = stored  # as the endpoints carry them over
            elif sent < 0.7 and stored is not None:
                new["metadata"]["managedFields"] = copy.deepcopy(stored)  # a PUT of what was read
            elif sent < 0.75:
                new["metadata"]["managedFields"] = []  # a reset
            fast, general, entries = _both(obj, new, **kw)
            assert fast == general, (kw, obj, new)
            compared += 1
            obj = _with_managed(new, entries)
    assert compared > 60
    assert spy.hits > spy.calls // 2  # the shortcut does answer most of them


def _pod_schema() -> Obj:
    schema = schemas().for_kind("", "v1", "Pod")
    assert schema is not None
    return schema


def test_pod_lifecycle_updates() -> None:
    """create (controller) -> binding (scheduler) -> status updates (kubelet) -> label and
    annotation changes (users) -> more status, pod by pod, compared at every write."""
    rng = random.Random(7)
    schema = _pod_schema()
    times = _times()
    for i in range(30):
        pod = pod_body(i)
        pod["metadata"]["managedFields"] = record_update(
            None, pod, **_common(schema, "v1", "kube-controller-manager"))
        writes: list[tuple[str, str, Any]] = [
            ("kube-scheduler", "binding", lambda p: p["spec"].__setitem__("nodeName", "node-1")),
            ("kubelet", "status", lambda p, i=i: p.__setitem__(
                "status", pending_status(i)["status"])),
            ("kubelet", "status", lambda p, i=i: p.__setitem__(
                "status", running_status(i, node_index=1)["status"])),
            ("kubectl-label", "", lambda p: p["metadata"].setdefault("labels", {}).__setitem__(
                "team", rng.choice(["a", "b"]))),
            ("kubectl-annotate", "", lambda p: p["metadata"].setdefault(
                "annotations", {}).pop("kubectl.kubernetes.io/restartedAt", None)),
            ("kubelet", "status", lambda p: p["status"]["conditions"][2].__setitem__(
                "status", "False")),
            ("kubectl-label", "", lambda p: p["metadata"]["labels"].pop("team", None)),
            ("kube-controller-manager", "", lambda p: p["metadata"].__setitem__(
                "ownerReferences", [])),
        ]
        for manager, subresource, change in writes:
            new = copy.deepcopy(pod)
            change(new)
            kw = _common(schema, "v1", manager, next(times))
            kw["subresource"] = subresource
            fast, general, entries = _both(pod, new, **kw)
            assert fast == general, (manager, subresource)
            new["metadata"]["managedFields"] = entries
            pod = new


# -- the endpoints' own writes ------------------------------------------------------------------


@pytest.fixture()
def checked(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Spy]:
    """Every record_update the endpoints make is checked against the general path."""
    real = ssa.record_update
    spy = _Spy(monkeypatch)

    def checking(old: Any, new: Any, **kw: Any) -> list[Obj]:
        before = (copy.deepcopy(old), copy.deepcopy(new))
        fast = real(old, new, **kw)
        general = real(old, new, fast=False, **kw)
        assert json.dumps(fast) == json.dumps(general), (kw, old, new)
        assert (old, new) == before
        return fast

    monkeypatch.setattr(ssa, "record_update", checking)
    yield spy


def _o(manager: str) -> WriteOptions:
    return WriteOptions(field_manager=manager, validate=False)


def test_control_plane_writes_through_the_endpoints(checked: _Spy) -> None:
    with Cluster(controllers=False, serve=False) as c:
        ep = c.endpoints
        pods = c.registry.get("", "v1", "pods")
        events = c.registry.get("", "v1", "events")
        deployments = c.registry.get("apps", "v1", "deployments")
        assert pods is not None and events is not None and deployments is not None
        for i in range(6):
            name = pod_name(i)
            ep.create(pods, "default", pod_body(i), _o("kube-controller-manager"))
            ep.bind("default", name, bind_body(i, node="node-1"), _o("kube-scheduler"))
            p = ep.patch(pods, "default", name, PatchType.MERGE, pending_status(i), _o("kubelet"),
                         subresource="status")
            p = ep.patch(pods, "default", name, PatchType.MERGE, {
                "metadata": {"resourceVersion": p["metadata"]["resourceVersion"]},
                "status": running_status(i, node_index=1)["status"]}, _o("kubelet"),
                subresource="status")
            ep.patch(pods, "default", name, PatchType.STRATEGIC, {"status": {"conditions": [
                {"type": "DisruptionTarget", "status": "True", "reason": "x"}]}},
                _o("kube-scheduler"), subresource="status")
            ep.patch(pods, "default", name, PatchType.MERGE,
                     {"metadata": {"labels": {"user": str(i)}}}, _o("kubectl-label"))
            ep.patch(pods, "default", name, PatchType.JSON,
                     [{"op": "add", "path": "/metadata/annotations/x", "value": "y"}],
                     _o("kubectl-annotate"))
            got = ep.get(pods, "default", name)
            got["metadata"]["labels"]["user"] = "changed"
            ep.replace(pods, "default", name, got, _o("kubectl-edit"))  # PUT of what was read
            got = ep.get(pods, "default", name)
            del got["metadata"]["managedFields"]
            got["metadata"]["labels"]["again"] = "1"
            ep.replace(pods, "default", name, got, _o("kubectl-replace"))  # PUT without them
            got = ep.get(pods, "default", name)
            got["metadata"]["managedFields"][0]["time"] = "2026-03-04T05:06:07.5+01:00"
            ep.replace(pods, "default", name, got, _o("hand"))  # entries written by hand
            ep.patch(pods, "default", name, PatchType.APPLY, {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {
                    "applied": "yes"}}}, WriteOptions(field_manager="applier", force=True))
            ep.patch(pods, "default", name, PatchType.MERGE,
                     {"metadata": {"labels": {"applied": "no", "user": None}}}, _o("other"))
            ev = {"apiVersion": "v1", "kind": "Event",
                  "metadata": {"name": f"e{i}", "namespace": "default"},
                  "involvedObject": {"kind": "Pod", "name": name, "namespace": "default"},
                  "reason": "Scheduled", "message": "m", "count": 1, "type": "Normal"}
            ep.create(events, "default", ev, _o("default-scheduler"))
            ep.patch(events, "default", f"e{i}", PatchType.MERGE, {"count": 2},
                     _o("default-scheduler"))
        dep = c.client.create(kinds.DEPLOYMENTS, {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
        for n in range(4):
            dep = ep.get(deployments, "default", "web")
            dep["status"] = {"observedGeneration": dep["metadata"]["generation"], "replicas": 2,
                             "readyReplicas": n % 3, "conditions": [
                                 {"type": "Available", "status": str(n % 2 == 0)}]}
            ep.replace(deployments, "default", "web", dep, _o("kube-controller-manager"),
                       subresource="status")
        ep.patch(deployments, "default", "web", PatchType.MERGE, {"spec": {"replicas": 3}},
                 _o("kubectl-scale"), subresource="scale")
        node = c.registry.get("", "v1", "nodes")
        assert node is not None
        ep.create(node, None, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}},
                  _o("kubelet"))
        for n in range(3):
            ep.patch(node, None, "n1", PatchType.MERGE, {"status": {"conditions": [
                {"type": "Ready", "status": "True", "lastHeartbeatTime": f"2026-01-01T00:00:0{n}Z"}
            ]}}, _o("kubelet"), subresource="status")
    assert checked.calls > 60
    assert checked.hits > checked.calls * 3 // 4


# -- stored entries the shortcut must not trust -------------------------------------------------


def _stored_pod() -> Obj:
    schema = _pod_schema()
    pod = pod_body(1)
    pod["metadata"]["managedFields"] = record_update(
        None, pod, **_common(schema, "v1", "kube-controller-manager"))
    new = copy.deepcopy(pod)
    new["spec"]["nodeName"] = "node-1"
    new["metadata"]["managedFields"] = record_update(
        pod, new, subresource="binding", **_common(schema, "v1", "kube-scheduler"))
    newer = copy.deepcopy(new)
    newer["status"] = pending_status(1)["status"]
    newer["metadata"]["managedFields"] = record_update(
        new, newer, subresource="status", **_common(schema, "v1", "kubelet"))
    return newer


def _spoilers(entries: list[Obj]) -> Iterator[tuple[str, list[Obj]]]:
    """managedFields that decode to (nearly) the same sets but are not as _encode writes them."""
    def edit(fn: Any) -> list[Obj]:
        out = copy.deepcopy(entries)
        fn(out)
        return out

    yield "reversed", edit(lambda e: e.reverse())
    yield "time with fraction", edit(lambda e: e[0].__setitem__("time", "2026-01-01T00:00:00.9Z"))
    yield "time offset", edit(lambda e: e[1].__setitem__("time", "2026-01-01T01:00:00+01:00"))
    yield "empty time", edit(lambda e: e[0].__setitem__("time", ""))
    yield "extra key", edit(lambda e: e[0].__setitem__("extra", 1))
    yield "keys reordered", edit(lambda e: e.__setitem__(0, dict(reversed(list(e[0].items())))))
    yield "empty manager", edit(lambda e: e[0].__setitem__("manager", ""))
    yield "duplicate", edit(lambda e: e.append(copy.deepcopy(e[0])))
    yield "empty set", edit(lambda e: e[0].__setitem__("fieldsV1", {}))
    yield "bad operation", edit(lambda e: e[0].__setitem__("operation", "Patch"))
    yield "bad fieldsType", edit(lambda e: e[0].__setitem__("fieldsType", "FieldsV2"))
    yield "not a list", edit(lambda e: e.clear() or e.append("x"))

    def reorder_fields(e: list[Obj]) -> None:
        f = e[0]["fieldsV1"]["f:metadata"]
        e[0]["fieldsV1"]["f:metadata"] = dict(reversed(list(f.items())))
    yield "fields reordered", edit(reorder_fields)

    def dot_leaf(e: list[Obj]) -> None:
        e[0]["fieldsV1"]["f:metadata"]["f:generateName"] = {".": {}}
    yield "dot on a leaf", edit(dot_leaf)

    def unknown(e: list[Obj]) -> None:
        e[0]["fieldsV1"]["f:metadata"]["x:future"] = {}
    yield "unknown element", edit(unknown)

    def key_spelling(e: list[Obj]) -> None:
        spec = e[0]["fieldsV1"]["f:spec"]["f:containers"]
        tok = next(iter(spec))
        spec[tok.replace('":"', '": "')] = spec.pop(tok)
    yield "key spelling", edit(key_spelling)

    def missing_dot(e: list[Obj]) -> None:
        spec = e[0]["fieldsV1"]["f:spec"]["f:containers"]
        spec[next(iter(spec))].pop(".", None)
    yield "a member less", edit(missing_dot)

    def many(e: list[Obj]) -> None:
        for n in range(10):
            extra = copy.deepcopy(e[1])
            extra["manager"] = f"m{n}"
            e.append(extra)
    yield "more than ten managers", edit(many)


def test_non_canonical_stored_entries_give_the_general_answer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    spy = _Spy(monkeypatch)
    schema = _pod_schema()
    pod = _stored_pod()
    seen = 0
    # still exactly what _encode writes (order does not matter; a set with one member less)
    canonical = {"reversed", "a member less"}
    for label, spoiled in _spoilers(pod["metadata"]["managedFields"]):
        hits = spy.hits
        old = copy.deepcopy(pod)
        old["metadata"]["managedFields"] = spoiled
        for manager, subresource, change in [
            ("kubelet", "status", lambda p: p.__setitem__(
                "status", running_status(1, node_index=1)["status"])),
            ("user", "", lambda p: p["metadata"]["labels"].__setitem__("x", "y")),
            ("kube-controller-manager", "", lambda p: p["metadata"]["labels"].pop("tier")),
        ]:
            new = copy.deepcopy(old)
            change(new)
            try:
                fast, general, _ = _both(old, new, subresource=subresource,
                                         **_common(schema, "v1", manager))
            except _DecodeError:
                continue
            assert fast == general, label
            seen += 1
        if label in canonical:
            assert spy.hits > hits, label
        else:
            assert spy.hits == hits, label  # these must go the general way
    assert seen > 40


# -- the canonical-form check -------------------------------------------------------------------


def _round_trip_canonical(fields: Any) -> bool:
    """The definition: decoding gives a non-empty set that encodes to the same text."""
    try:
        paths = _fields_to_set(fields)
    except _DecodeError:
        return False
    return bool(paths) and json.dumps(_set_to_fields(paths)) == json.dumps(fields)


def _perturb(rng: random.Random, fields: Obj) -> None:
    nodes: list[Obj] = []

    def walk(n: Obj) -> None:
        nodes.append(n)
        for k, v in n.items():
            if k != "." and isinstance(v, dict):
                walk(v)

    walk(fields)
    node = rng.choice(nodes)
    op = rng.randrange(8)
    keys = list(node)
    if op == 0 and len(keys) > 1:
        items = list(node.items())
        rng.shuffle(items)
        node.clear()
        node.update(items)
    elif op == 1:
        node["."] = {}
    elif op == 2 and "." in node:
        dot = node.pop(".")
        node["."] = dot
    elif op == 3 and keys:
        node[rng.choice(keys)] = {}
    elif op == 4:
        node[rng.choice(['k:{"b":1,"a":2}', 'k:{"a":2,"b":1}', "v:1", "v:1.0", "i:3", "z:x",
                         'k:{"name": "x"}', "f:zz"])] = rng.choice([{}, {"f:q": {}}])
    elif op == 5 and keys:
        node.pop(rng.choice(keys))
    elif op == 6:
        node["."] = {"f:x": {}}
    else:
        node.clear()


@pytest.mark.parametrize("seed", range(4))
def test_canonical_check_agrees_with_its_definition(seed: int) -> None:
    rng = random.Random(seed)
    pod = _stored_pod()
    sources = [e["fieldsV1"] for e in pod["metadata"]["managedFields"]]
    agreed = {True: 0, False: 0}
    for _ in range(300):
        fields = copy.deepcopy(rng.choice(sources))
        for _ in range(rng.randint(0, 3)):
            _perturb(rng, fields)
        expected = _round_trip_canonical(fields)
        assert updates._canonical_fields(fields, True) == expected, fields
        agreed[expected] += 1
    assert agreed[True] > 10 and agreed[False] > 10


def test_the_remembered_answers_stay_right_as_old_ones_go(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(updates, "_CANONICAL_MAX", 16)
    monkeypatch.setattr(updates, "_CANONICAL", {})
    rng = random.Random(11)
    pod = _stored_pod()
    sources = [e["fieldsV1"] for e in pod["metadata"]["managedFields"]]
    seen: list[Obj] = []
    for _ in range(400):
        fields = copy.deepcopy(rng.choice(sources))
        for _ in range(rng.randint(0, 2)):
            _perturb(rng, fields)
        seen.append(fields)
        again = rng.choice(seen[-30:])  # asked again: often still remembered, sometimes not
        for f in (fields, again):
            assert updates._known_canonical(f) == _round_trip_canonical(f), f
        if rng.random() < 0.3 and _round_trip_canonical(fields):
            updates.remember_canonical(fields)
        assert len(updates._CANONICAL) <= 16


def test_encoder_knows_when_it_wrote_canonical_fields() -> None:
    rng = random.Random(3)
    pod = _stored_pod()
    pool = sorted(set().union(*(_fields_to_set(e["fieldsV1"])
                                for e in pod["metadata"]["managedFields"])))
    odd = [("f:spec", "f:ports", 'k:{"port":80,"name":"x"}'), ("f:spec", 'k:{"b":1, "a":2}'),
           ()]
    for _ in range(200):
        paths = set(rng.sample(pool, rng.randint(1, 20)))
        if rng.random() < 0.3:
            paths.add(rng.choice(odd))
        fields, canonical = _trie_to_canonical_fields(_trie(paths))
        assert fields == _set_to_fields(paths)
        assert json.dumps(fields) == json.dumps(_set_to_fields(paths))
        assert canonical == _round_trip_canonical(fields), paths


# -- store and patch plumbing -------------------------------------------------------------------


def test_store_update_hands_a_private_copy_beside_the_old_object() -> None:
    with Cluster(controllers=False, serve=False) as c:
        cm = c.registry.get("", "v1", "configmaps")
        assert cm is not None
        c.endpoints.create(cm, "default", {"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"name": "x"}, "data": {"a": "1"}})
        seen: dict[str, Obj] = {}

        def mutate(mine: Obj, old: Obj) -> Obj:
            assert mine == old and mine is not old and mine["data"] is not old["data"]
            seen["old"] = old
            mine["data"]["a"] = "2"
            return mine

        out, created = c.store.update(cm, "default", "x", mutate, with_old=True)
        assert not created and out["data"] == {"a": "2"}
        assert seen["old"]["data"] == {"a": "1"}
        assert int(out["metadata"]["resourceVersion"]) > int(
            seen["old"]["metadata"]["resourceVersion"])


def test_merge_patch_copies_what_it_takes_from_the_patch() -> None:
    patch = {"status": {"conditions": [{"type": "Ready", "status": "True"}], "n": None,
                        "t": (1, 2)}}
    out = json_merge_patch({"status": {"n": 1, "keep": [1]}}, patch)
    assert out == {"status": {"keep": [1], "conditions": [{"type": "Ready", "status": "True"}],
                              "t": (1, 2)}}
    assert out["status"]["conditions"] is not patch["status"]["conditions"]
    assert out["status"]["conditions"][0] is not patch["status"]["conditions"][0]
    out["status"]["conditions"][0]["status"] = "False"
    assert patch["status"]["conditions"][0]["status"] == "True"
