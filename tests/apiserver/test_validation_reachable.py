"""Compiling a kind's validator from only the definitions it reaches changes nothing it checks.

validation._reachable hands fastjsonschema the definitions a kind's schema reaches through
``$ref`` instead of all of them (which made the first object of a kind take seconds). The
generated code is compared with the one made from every definition, ignoring only the schema
text fastjsonschema copies into each error (the ``definition=`` argument), and both validators
are run over valid and invalid objects.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import fastjsonschema
import pytest

from bench.creates import pod_create_body
from bench.loadgen import configmap_body
from kubenb.apiserver.schemas import schemas
from kubenb.apiserver.validation import _fix_refs, _reachable, _strict

KINDS = [("", "v1", "ConfigMap"), ("", "v1", "Pod"), ("apps", "v1", "Deployment"),
         ("", "v1", "Service"), ("batch", "v1", "Job")]

_DEFINITION_ARG = re.compile(r"definition=.*?, rule='[^']*'\)$", re.M)


def _code(schema: dict[str, Any]) -> str:
    """The generated validator without the schema copies in its error arguments."""
    return _DEFINITION_ARG.sub("definition=..., rule=...)", fastjsonschema.compile_to_code(schema))


def _strict_defs() -> dict[str, Any]:
    return {name: _strict(d) for name, d in _fix_refs(dict(schemas().definitions)).items()}


@pytest.mark.parametrize("gvk", KINDS, ids=lambda g: g[2])
def test_reachable_definitions_generate_the_same_validator(gvk: tuple[str, str, str]) -> None:
    defs = _strict_defs()
    root = _strict(_fix_refs(schemas().for_kind(*gvk)))
    reached = _reachable(root, defs)
    assert 0 < len(reached) < len(defs)
    assert _code({**root, "definitions": reached}) == _code({**root, "definitions": defs})


def test_reachable_follows_references_transitively() -> None:
    defs = {
        "A": {"properties": {"b": {"$ref": "#/definitions/B"}}},
        "B": {"items": [{"$ref": "#/definitions/C"}]},
        "C": {"type": "string"},
        "D": {"$ref": "#/definitions/A"},
    }
    root = {"properties": {"a": {"$ref": "#/definitions/A"}}}
    assert set(_reachable(root, defs)) == {"A", "B", "C"}
    assert _reachable({"type": "object"}, defs) == {}


def _objects() -> list[tuple[tuple[str, str, str], Any]]:
    cm = configmap_body()
    pod = pod_create_body()
    bad_cm = copy.deepcopy(cm)
    bad_cm["data"]["payload"] = 5
    extra_cm = copy.deepcopy(cm)
    extra_cm["metadata"]["bogus"] = True
    bad_pod = copy.deepcopy(pod)
    bad_pod["spec"]["containers"][0]["ports"] = [{"containerPort": "eighty"}]
    unknown_pod = copy.deepcopy(pod)
    unknown_pod["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    return [(("", "v1", "ConfigMap"), o) for o in (cm, bad_cm, extra_cm, [], None)] + [
        (("", "v1", "Pod"), o) for o in (pod, bad_pod, unknown_pod, {"spec": {}})]


def test_both_validators_agree_on_objects() -> None:
    defs = _strict_defs()
    compiled: dict[tuple[str, str, str], tuple[Any, Any]] = {}
    for gvk, obj in _objects():
        if gvk not in compiled:
            root = _strict(_fix_refs(schemas().for_kind(*gvk)))
            compiled[gvk] = (fastjsonschema.compile({**root, "definitions": defs}),
                             fastjsonschema.compile({**root,
                                                     "definitions": _reachable(root, defs)}))
        outcomes = []
        for fn in compiled[gvk]:
            try:
                fn(copy.deepcopy(obj))
                outcomes.append("valid")
            except fastjsonschema.JsonSchemaException as exc:
                outcomes.append(f"{type(exc).__name__}: {exc.message}")
        assert outcomes[0] == outcomes[1], (gvk, obj)
