"""Validation: unknown fields found at any depth, types, required fields, semantic rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubenb.api import errors
from kubenb.api.resources import Registry
from kubenb.apiserver.schemas import schemas
from kubenb.apiserver.validation import Validator

REG = Registry()
DEPLOY = REG.get("apps", "v1", "deployments")
VALIDATOR = Validator(schemas())


def deployment() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx",
                                                           "ports": [{"containerPort": 80}]}]}}}}


def test_valid_object_passes_unchanged() -> None:
    obj = deployment()
    assert VALIDATOR.validate(DEPLOY, obj) == []
    assert obj == deployment()


@pytest.mark.parametrize("path", [
    ("metadata", "colour"),
    ("spec", "replicaz"),
    ("spec", "template", "spec", "containers", 0, "imagePolicy"),
    ("spec", "template", "spec", "containers", 0, "ports", 0, "hostname"),
])
def test_unknown_fields_at_any_depth(path: tuple[Any, ...]) -> None:
    obj = deployment()
    node: Any = obj
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = "surprise"
    shown = ".".join(str(p) for p in path).replace(".0.", "[0].").replace(".0", "[0]")
    warnings = VALIDATOR.validate(DEPLOY, copy.deepcopy(obj), field_validation="Warn")
    assert warnings == [f'unknown field "{shown}"']
    pruned = copy.deepcopy(obj)
    VALIDATOR.validate(DEPLOY, pruned, field_validation="Ignore")
    assert pruned == deployment()
    with pytest.raises(errors.BadRequest) as exc:
        VALIDATOR.validate(DEPLOY, copy.deepcopy(obj), field_validation="Strict")
    assert f'unknown field "{shown}"' in exc.value.message


def test_type_errors_and_required_fields() -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eighty"
    with pytest.raises(errors.BadRequest) as bad:
        VALIDATOR.validate(DEPLOY, obj)
    assert bad.value.causes[0].field == "spec.template.spec.containers[0].ports[0].containerPort"
    obj = deployment()
    del obj["spec"]["template"]["spec"]["containers"][0]["name"]
    with pytest.raises(errors.Invalid) as invalid:
        VALIDATOR.validate(DEPLOY, obj)
    assert "spec.template.spec.containers[0].name" in {c.field for c in invalid.value.causes}


def test_selector_must_match_and_is_immutable() -> None:
    obj = deployment()
    obj["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(errors.Invalid) as exc:
        VALIDATOR.validate(DEPLOY, obj)
    assert exc.value.causes[0].field == "spec.template.metadata.labels"
    changed = deployment()
    changed["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "x"}}
    changed["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    with pytest.raises(errors.Invalid) as immutable:
        VALIDATOR.validate(DEPLOY, changed, old=deployment())
    assert "field is immutable" in immutable.value.message


def test_a_remembered_pass_still_checks_names_and_every_other_field() -> None:
    validator = Validator(schemas())
    assert validator.validate(DEPLOY, deployment()) == []
    other = deployment()
    other["metadata"]["name"] = "web-2"  # only the name differs: the remembered pass serves it
    assert validator.validate(DEPLOY, other) == []
    assert len(validator._passed) == 1
    bad_name = deployment()
    bad_name["metadata"]["name"] = "Web_2"
    with pytest.raises(errors.Invalid) as caught:
        validator.validate(DEPLOY, bad_name)
    assert caught.value.status["details"]["causes"][0]["field"] == "metadata.name"
    wrong_type = deployment()
    wrong_type["metadata"]["name"] = 7  # the schema's one demand on a name: a string
    with pytest.raises(errors.BadRequest):
        validator.validate(DEPLOY, wrong_type)
    unknown = deployment()
    unknown["spec"]["replicaz"] = 1
    assert validator.validate(DEPLOY, unknown) == ['unknown field "spec.replicaz"']
    assert len(validator._passed) == 1  # what failed the check is never remembered
