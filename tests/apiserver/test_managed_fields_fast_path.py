"""The create shortcut of record_update gives exactly what the general field manager gives.

``record_update`` answers a create that brings no managedFields of its own with one walk over the
new object (operations._record_create) instead of the general compare / manager chain / encode
path. Clients show managedFields as they come, so the shortcut must agree with the general path
down to key order: every case here runs both and compares the JSON text.

The objects are the ones other tests use (every object test_defaults.py defaults, the e2e and
bench bodies, the custom resources of test_server_side_apply.py), on the main resource and on
the status subresource, with other reset fields, and a few hundred random mutations of them.
"""

from __future__ import annotations

import copy
import inspect
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from bench.pods import pod_body
from kubenb.apiserver.defaults import apply_defaults
from kubenb.apiserver.patch.apply import record_update
from kubenb.apiserver.patch.apply.compare import _changed_trie, _comparison
from kubenb.apiserver.patch.apply.fieldset import _set_to_fields, _trie_to_fields
from kubenb.apiserver.patch.apply.schema import _root_type
from kubenb.apiserver.schemas import schemas
from tests.apiserver import test_defaults
from tests.apiserver.test_server_side_apply import CRD_SCHEMA
from tests.e2e import test_kubectl

Obj = dict[str, Any]
Case = tuple[str, Obj | None, Obj]  # (api_version, schema, object)

NOW = "2026-03-04T05:06:07Z"


def _both(schema: Obj | None, obj: Obj, api_version: str, **kw: Any) -> tuple[str, str]:
    """(fast, general) managedFields of a create, as JSON text in their own key order."""
    before = copy.deepcopy(obj)
    common: dict[str, Any] = {
        "manager": "tester",
        "schema": schema,
        "schemas": schemas(),
        "api_version": api_version,
        "now": NOW,
    }
    common.update(kw)
    fast = record_update(None, obj, **common)
    general = record_update(None, obj, fast=False, **common)
    assert obj == before
    return json.dumps(fast), json.dumps(general)


def _defaults_objects() -> list[tuple[str, str, str, Obj]]:
    """Every object test_defaults.py passes through defaulting, as defaulting left it."""
    seen: list[tuple[str, str, str, Obj]] = []

    def recording(*, group: str, version: str, kind: str, obj: Obj) -> None:
        apply_defaults(group=group, version=version, kind=kind, obj=obj)
        seen.append((group, version, kind, copy.deepcopy(obj)))

    original = test_defaults.apply_defaults
    test_defaults.apply_defaults = recording  # type: ignore[attr-defined]
    try:
        for name, fn in inspect.getmembers(test_defaults, inspect.isfunction):
            if name.startswith("test_") and fn.__module__ == test_defaults.__name__:
                for args in _parametrizations(fn):
                    try:
                        fn(**args)
                    except TypeError:
                        # Needs a pytest fixture: its objects are covered by the others.
                        continue
    finally:
        test_defaults.apply_defaults = original  # type: ignore[attr-defined]
    return seen


def _parametrizations(fn: Callable[..., Any]) -> Iterator[dict[str, Any]]:
    combos: list[dict[str, Any]] = [{}]
    for mark in getattr(fn, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names, values = mark.args[0], mark.args[1]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        rows = []
        for v in values:
            v = v.values if hasattr(v, "values") and not isinstance(v, dict) else v
            v = tuple(v) if len(names) > 1 else (v[0] if isinstance(v, tuple) else v,)
            rows.append(dict(zip(names, v, strict=True)))
        combos = [{**c, **r} for c in combos for r in rows]
    yield from combos


def _api_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def _cases() -> list[Case]:
    out: list[Case] = []
    for group, version, kind, obj in _defaults_objects():
        schema = schemas().for_kind(group, version, kind)
        if schema is not None:
            # As the tests wrote them, and as a client sends them (with apiVersion and kind).
            out.append((_api_version(group, version), schema, obj))
            typed = {"apiVersion": _api_version(group, version), "kind": kind, **obj}
            out.append((_api_version(group, version), schema, typed))
    pod = pod_body(3)
    out.append(("v1", schemas().for_kind("", "v1", "Pod"), pod))
    defaulted_pod = copy.deepcopy(pod)
    apply_defaults(group="", version="v1", kind="Pod", obj=defaulted_pod)
    out.append(("v1", schemas().for_kind("", "v1", "Pod"), defaulted_pod))
    deployment = yaml.safe_load(test_kubectl.DEPLOYMENT)
    apply_defaults(group="apps", version="v1", kind="Deployment", obj=deployment)
    out.append(("apps/v1", schemas().for_kind("apps", "v1", "Deployment"), deployment))
    crd = yaml.safe_load(test_kubectl.CRD)
    crontab_schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    out.append(("stable.example.com/v1", crontab_schema, yaml.safe_load(test_kubectl.CRONTAB)))
    out.append(
        (
            "apiextensions.k8s.io/v1",
            schemas().for_kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            crd,
        )
    )
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "labels": {"a": "b"}},
        "spec": {
            "ports": [{"port": 80}, {"port": 80, "protocol": "UDP", "name": "x"}],
            "targets": [{"name": "a", "weight": 1}, {"name": "b"}],
            "tags": ["x", "y"],
            "params": {"k": "v"},
            "blob": {"deep": {"x": 1}, "list": [1, 2], "n": None},
        },
        "status": {"phase": "Ready"},
    }
    out.append(("example.com/v1", CRD_SCHEMA, widget))
    out.append(("example.com/v1", None, widget))
    out.append(
        (
            "v1",
            schemas().for_kind("", "v1", "ConfigMap"),
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "c"},
                "data": {"k": "v"},
            },
        )
    )
    unique: dict[str, Case] = {}
    for case in out:
        unique.setdefault(json.dumps(case, sort_keys=True, default=id), case)
    return list(unique.values())


CASES = _cases()


def test_the_cases_cover_many_kinds() -> None:
    kinds = {obj.get("kind") for _, _, obj in CASES}
    assert len(CASES) > 80
    assert {"Pod", "Deployment", "StatefulSet", "CronJob", "Service", "CronTab", "Widget"} <= kinds


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"subresource": "status"},
        {"reset_fields": []},
        {"reset_fields": [("metadata", "labels"), ("spec", "template", "spec")]},
        {"subresource": "status", "reset_fields": [("status", "conditions")]},
        {"subresource": "scale"},
    ],
)
def test_shortcut_equals_general_path(kw: dict[str, Any]) -> None:
    for api_version, schema, obj in CASES:
        fast, general = _both(schema, obj, api_version, **kw)
        assert fast == general, (obj.get("kind"), kw)


def test_managed_fields_sent_on_create() -> None:
    schema = schemas().for_kind("", "v1", "ConfigMap")
    entry = {
        "manager": "m",
        "operation": "Update",
        "apiVersion": "v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:data": {"f:gone": {}}},
    }
    sent_variants: list[Any] = [
        [],
        [{}],
        [{"manager": "", "operation": None}],
        [{"operation": "Bogus"}],
        "not a list",
        None,
        [entry],
    ]
    for sent in sent_variants:
        obj = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c"},
            "data": {"k": "v"},
        }
        obj["metadata"]["managedFields"] = sent
        for sub in ("", "status"):
            fast, general = _both(schema, obj, "v1", subresource=sub)
            assert fast == general, (sent, sub)
    # The request's valid entries win: no shortcut, and the sender's entry is kept.
    obj["metadata"]["managedFields"] = [entry]
    fields = json.loads(_both(schema, obj, "v1")[0])
    assert [e["manager"] for e in fields] == ["m", "tester"]


def test_what_a_create_records() -> None:
    # An independent check of the shared answer, so both paths can't drift together.
    schema = schemas().for_kind("", "v1", "ConfigMap")
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "d", "labels": {"a": "b"}},
        "data": {"k": "v"},
    }
    fast, general = _both(schema, obj, "v1", manager="kubectl-create")
    assert fast == general
    assert json.loads(fast) == [
        {
            "manager": "kubectl-create",
            "operation": "Update",
            "apiVersion": "v1",
            "time": NOW,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:data": {".": {}, "f:k": {}},
                "f:metadata": {"f:labels": {".": {}, "f:a": {}}},
            },
        }
    ]
    nothing = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert _both(schema, nothing, "v1") == ("[]", "[]")


# -- random mutations --------------------------------------------------------------------------


def _random_scalar(rng: random.Random) -> Any:
    return rng.choice(
        [None, "", "x", "TCP", "80", 0, 1, 80, 1.0, 1.5, -3, True, False, 2**60, "<&>"]
    )


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 2 or roll < 0.45:
        return _random_scalar(rng)
    if roll < 0.55:
        return {}
    if roll < 0.62:
        return []
    if roll < 0.82:
        return {
            rng.choice(["name", "port", "protocol", "x", "image", "key"]): _random_value(
                rng, depth + 1
            )
            for _ in range(rng.randint(1, 3))
        }
    item = {"name": rng.choice(["a", "b"]), "port": rng.choice([80, 81]), "value": "v"}
    items = [dict(item) for _ in range(rng.randint(1, 3))]  # duplicated keys, on purpose
    if rng.random() < 0.3:
        items.append(_random_scalar(rng))
    return items


def _containers(v: Any, out: list[Any]) -> None:
    if isinstance(v, (dict, list)):
        out.append(v)
        for child in v.values() if isinstance(v, dict) else v:
            _containers(child, out)


def _mutate(rng: random.Random, obj: Obj) -> None:
    nodes: list[Any] = []
    _containers(obj, nodes)
    node = rng.choice(nodes)
    op = rng.random()
    if isinstance(node, dict):
        keys = list(node)
        if keys and op < 0.3:
            del node[rng.choice(keys)]
        elif keys and op < 0.5:
            node[rng.choice(keys)] = rng.choice([None, {}, [], _random_value(rng)])
        elif op < 0.8:
            key = rng.choice([*keys, "extra", "name", "protocol", "status", "spec"])
            node[key] = _random_value(rng)
        else:
            node.clear()
    elif node:
        i = rng.randrange(len(node))
        if op < 0.35:
            node.append(copy.deepcopy(node[i]))  # a duplicated list item
        elif op < 0.6:
            del node[i]
        elif op < 0.8:
            node[i] = _random_value(rng)
        else:
            node.append(None)
    else:
        node.append(_random_value(rng))


@pytest.mark.parametrize("seed", range(8))
def test_random_mutations(seed: int) -> None:
    rng = random.Random(seed)
    options: list[dict[str, Any]] = [
        {},
        {"subresource": "status"},
        {"reset_fields": [("spec", "containers")]},
    ]
    for _ in range(60):
        api_version, schema, base = rng.choice(CASES)
        obj = copy.deepcopy(base)
        for _ in range(rng.randint(1, 5)):
            _mutate(rng, obj)
        kw = rng.choice(options)
        fast, general = _both(schema, obj, api_version, **kw)
        assert fast == general, (obj, kw)


@pytest.mark.parametrize("seed", range(6))
def test_changed_trie_equals_compare_for_any_pair(seed: int) -> None:
    # On create the old side is only ever a zero value; the walker is exact for any old side.
    rng = random.Random(1000 + seed)
    for _ in range(80):
        _, schema, base = rng.choice(CASES)
        if rng.random() < 0.25:
            schema = None  # untyped: values may change shape
        root, _ = _root_type(schema, schemas())
        lhs = copy.deepcopy(base)
        rhs = copy.deepcopy(base)
        for side in (lhs, rhs, rhs):
            for _ in range(rng.randint(0, 4)):
                _mutate(rng, side)
        c = _comparison(root, lhs, rhs)
        expected = _set_to_fields(c.added | c.modified)
        got = _trie_to_fields(_changed_trie(root, lhs, rhs))
        assert json.dumps(got) == json.dumps(expected), (lhs, rhs)


SHAPES_SCHEMA: Obj = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                # No type: a map, a list of keyed items or a scalar.
                "any": {
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "a": {"type": "object", "properties": {"p": {}, "q": {}}},
                        },
                    },
                },
                "blob": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
    },
}


@pytest.mark.parametrize(
    ("schema", "lhs", "rhs", "expected"),
    [
        # Duplicated items of a list that replaced a scalar: each item counts.
        (
            SHAPES_SCHEMA,
            {"spec": {"any": "x"}},
            {"spec": {"any": [{"name": "a", "a": {"p": 1}}, {"name": "a", "a": {"q": 1}}]}},
            {
                "f:spec": {
                    "f:any": {
                        ".": {},
                        'k:{"name":"a"}': {
                            ".": {},
                            "f:a": {".": {}, "f:p": {}, "f:q": {}},
                            "f:name": {},
                        },
                    }
                }
            },
        ),
        # 1 and true are equal in Python, not in JSON.
        (
            SHAPES_SCHEMA,
            {"spec": {"blob": {"x": 1, "y": 1}}},
            {"spec": {"blob": {"x": True, "y": 2}}},
            {"f:spec": {"f:blob": {"f:x": {}, "f:y": {}}}},
        ),
        # ... but a map that compares equal as a whole is not looked into.
        (
            SHAPES_SCHEMA,
            {"spec": {"blob": {"x": 1}}},
            {"spec": {"blob": {"x": True}}},
            {},
        ),
        # Duplicated keys on both sides: the item is modified when the duplicates differ.
        (
            CRD_SCHEMA,
            {"spec": {"targets": [{"name": "a", "weight": 1}, {"name": "a", "weight": 2}]}},
            {"spec": {"targets": [{"name": "a", "weight": 1}, {"name": "a", "weight": 3}]}},
            {"f:spec": {"f:targets": {'k:{"name":"a"}': {}}}},
        ),
        (
            CRD_SCHEMA,
            {"spec": {"targets": [{"name": "a", "weight": 1}, {"name": "a", "weight": 2}]}},
            {"spec": {"targets": [{"name": "a", "weight": 1}, {"name": "a", "weight": 2}]}},
            {},
        ),
    ],
)
def test_changed_trie_corner_cases(schema: Obj, lhs: Obj, rhs: Obj, expected: Obj) -> None:
    root, _ = _root_type(schema, schemas())
    c = _comparison(root, lhs, rhs)
    assert _set_to_fields(c.added | c.modified) == expected
    assert json.dumps(_trie_to_fields(_changed_trie(root, lhs, rhs))) == json.dumps(expected)


# -- the create memo (operations._CREATE_FIELDS) ------------------------------------------------


def _create(obj: Obj, schema: Obj | None, **kw: Any) -> list[Obj]:
    common: dict[str, Any] = {"manager": "tester", "schema": schema, "schemas": schemas(),
                              "api_version": "v1", "now": NOW}
    return record_update(None, obj, **{**common, **kw})


def test_replicas_of_one_template_share_one_memo_entry() -> None:
    from kubenb.apiserver.patch.apply import operations

    schema = schemas().for_kind("", "v1", "Pod")
    pods = []
    for i in range(3):
        pod = pod_body(0)  # a ReplicaSet's replica: only the identity differs
        pod["metadata"].update(name=f"web-{i}", uid=f"uid-{i}", creationTimestamp=NOW,
                               namespace=f"ns-{i}", resourceVersion="", generation=i)
        pods.append(pod)
    before = len(operations._CREATE_FIELDS)
    got = [_create(pod, schema) for pod in pods]
    assert len(operations._CREATE_FIELDS) - before <= 1
    general = record_update(None, pods[0], manager="tester", schema=schema, schemas=schemas(),
                            api_version="v1", now=NOW, fast=False)
    assert json.dumps(got[0]) == json.dumps(got[1]) == json.dumps(got[2]) == json.dumps(general)
    # each create gets its own FieldsV1: changing one changes no other, nor the memo
    got[1][0]["fieldsV1"]["f:spec"].clear()
    assert json.dumps(_create(pods[2], schema)) == json.dumps(general)
    # other content, other fields
    other = copy.deepcopy(pods[0])
    other["metadata"]["labels"]["extra"] = "x"
    fields = _create(other, schema)[0]["fieldsV1"]
    assert "f:extra" in fields["f:metadata"]["f:labels"]
    assert "f:extra" not in got[0][0]["fieldsV1"]["f:metadata"]["f:labels"]


def test_the_memo_keeps_what_changes_the_set_apart() -> None:
    schema = schemas().for_kind("", "v1", "ConfigMap")
    plain = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
             "data": {"k": "v"}}
    # a name that is not a scalar (only an in-process caller can send one) adds paths below it,
    # so it must not meet the memo entry of the scalar name
    odd = copy.deepcopy(plain)
    odd["metadata"]["name"] = {"x": "y"}
    for obj in (plain, odd, plain, odd):
        fast = _create(obj, schema)
        general = record_update(None, obj, manager="tester", schema=schema, schemas=schemas(),
                                api_version="v1", now=NOW, fast=False)
        assert json.dumps(fast) == json.dumps(general)
    # the ignored paths are part of the key: the same body on status keeps other fields
    main = _create(plain, schema)
    status = _create(plain, schema, subresource="status", reset_fields=[("data",)])
    assert main[0]["fieldsV1"] == {"f:data": {".": {}, "f:k": {}}}
    assert status == []
    # JSON says NaN as null: a NaN is kept apart from a null, and where values are kept as
    # they are (in lists) a NaN is not remembered at all
    from kubenb.apiserver.patch.apply import operations

    for value in (None, float("nan"), None, [float("nan")], [None]):
        obj = {**plain, "data": {"k": value}}
        general = record_update(None, obj, manager="tester", schema=None, schemas=schemas(),
                                api_version="v1", now=NOW, fast=False)
        assert json.dumps(_create(obj, None)) == json.dumps(general)
    before = len(operations._CREATE_FIELDS)
    _create({**plain, "data": {"k": [float("inf")]}}, None)
    assert len(operations._CREATE_FIELDS) == before


def _revalue(value: Any, n: int) -> Any:
    """``value`` with every scalar outside lists changed (strings, numbers, booleans)."""
    if isinstance(value, dict):
        return {k: _revalue(v, n) for k, v in value.items()}
    if isinstance(value, list):
        return value
    if isinstance(value, bool):
        return value if n % 2 else not value
    if isinstance(value, int | float):
        return value + n
    if isinstance(value, str):
        return f"{value}-{n}"
    return value


@pytest.mark.parametrize("kw", [{}, {"subresource": "status"}])
def test_bodies_of_one_shape_get_exactly_what_the_general_path_gives(kw: dict[str, Any]) -> None:
    # the create memo is keyed by shape: bodies that differ only in scalar values meet the
    # entry their first shape left, and must still get what the general path computes for them
    for api_version, schema, obj in CASES:
        for n in (0, 1, 2):
            fast, general = _both(schema, _revalue(obj, n), api_version, **kw)
            assert fast == general, (obj.get("kind"), n, kw)


# -- the content memo (operations._CREATE_CONTENT) ----------------------------------------------


@pytest.fixture
def content_memo(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Empty content tables for the test; call it with ``sample=`` and ``pause=`` to shrink
    the odds' window. Returns the operations module."""
    from kubenb.apiserver.patch.apply import operations

    monkeypatch.setattr(operations, "_CREATE_CONTENT", {})
    monkeypatch.setattr(operations, "_CONTENT_ODDS", {})

    def setup(*, sample: int | None = None, pause: int | None = None) -> Any:
        if sample is not None:
            monkeypatch.setattr(operations, "_CONTENT_SAMPLE", sample)
        if pause is not None:
            monkeypatch.setattr(operations, "_CONTENT_PAUSE", pause)
        return operations

    return setup


def test_replicas_differing_in_name_and_uid_meet_one_content_entry(
        content_memo: Callable[..., Any]) -> None:
    operations = content_memo()
    schema = schemas().for_kind("", "v1", "Pod")
    pods = []
    for i in range(5):
        pod = pod_body(0)
        pod["metadata"].update(name=f"web-{i}", uid=f"uid-{i}", namespace="default")
        pods.append(pod)
    got = [json.dumps(_create(pod, schema)) for pod in pods]
    general = json.dumps(record_update(None, pods[0], manager="tester", schema=schema,
                                       schemas=schemas(), api_version="v1", now=NOW,
                                       fast=False))
    assert got == [general] * 5
    assert len(operations._CREATE_CONTENT) == 1
    root, _ = _root_type(schema, schemas())
    assert operations._CONTENT_ODDS[id(root)][:2] == [5, 4]  # five lookups, four hits
    # anything else that differs is another entry, with its own fields
    other = copy.deepcopy(pods[0])
    other["metadata"]["labels"]["extra"] = "x"
    assert "f:extra" in _create(other, schema)[0]["fieldsV1"]["f:metadata"]["f:labels"]
    assert len(operations._CREATE_CONTENT) == 2


def test_content_lookups_pause_for_bodies_that_never_repeat(
        content_memo: Callable[..., Any]) -> None:
    operations = content_memo(sample=8, pause=5)
    schema = schemas().for_kind("", "v1", "Event")
    root, _ = _root_type(schema, schemas())

    def event(i: int) -> Obj:  # every message differs, as every Event's does
        return {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"e.{i}", "namespace": "default"},
                "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "Started",
                "message": f"Started container {i}", "type": "Normal"}

    for i in range(8):
        _create(event(i), schema)
    assert len(operations._CREATE_CONTENT) == 8
    for i in range(8, 13):  # the ninth sees eight misses: it and the next four do not look
        fast, general = _both(schema, event(i), "v1")
        assert fast == general
    assert len(operations._CREATE_CONTENT) == 8
    assert operations._CONTENT_ODDS[id(root)] == [0, 0, 0]
    _create(event(13), schema)  # the pause is over: it looks again
    assert len(operations._CREATE_CONTENT) == 9
    # a type whose bodies repeat keeps looking
    for _ in range(20):
        _create(event(0), schema)
    # every one looked and hit: the counts restart at each eighth lookup, with no pause
    assert operations._CONTENT_ODDS[id(root)] == [5, 5, 0]


def test_bodies_json_cannot_key_count_as_misses(content_memo: Callable[..., Any]) -> None:
    operations = content_memo(sample=4, pause=3)
    schema = schemas().for_kind("", "v1", "Event")
    root, _ = _root_type(schema, schemas())
    # an Event as recorders write it: eventTime null, which a JSON key cannot tell from NaN
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "d"},
             "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "Started",
             "eventTime": None, "type": "Normal"}
    for _ in range(4):
        fast, general = _both(schema, event, "v1")
        assert fast == general
    assert operations._CONTENT_ODDS[id(root)] == [4, 0, 0] and not operations._CREATE_CONTENT
    _create(event, schema)  # four misses: this one and the next two do not look
    assert operations._CONTENT_ODDS[id(root)] == [0, 0, 2]
