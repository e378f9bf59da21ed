"""A CRD's ``selectableFields`` serve field selectors on its objects (Kubernetes 1.32+)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubenb import Cluster
from kubenb.api import errors
from kubenb.api.kinds import builtin

CRDS = builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions")


def crd(selectable: list[dict[str, Any]] | None) -> dict[str, Any]:
    version: dict[str, Any] = {
        "name": "v1", "served": True, "storage": True,
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
            "type": "object", "properties": {
                "color": {"type": "string"}, "size": {"type": "integer"},
                "shiny": {"type": "boolean"}, "tags": {"type": "array",
                                                      "items": {"type": "string"}}}}}}}}
    if selectable is not None:
        version["selectableFields"] = selectable
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "shirts.stable.example.com"},
            "spec": {"group": "stable.example.com", "scope": "Namespaced",
                     "names": {"plural": "shirts", "singular": "shirt", "kind": "Shirt"},
                     "versions": [version]}}


def shirt(name: str, color: str, size: int, shiny: bool) -> dict[str, Any]:
    return {"apiVersion": "stable.example.com/v1", "kind": "Shirt",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"color": color, "size": size, "shiny": shiny}}


def names(c: Cluster, selector: str) -> list[str]:
    rt = c.registry.get("stable.example.com", "v1", "shirts")
    assert rt is not None
    return sorted(o["metadata"]["name"] for o in c.client.list(rt, "default",
                                                               field_selector=selector).items)


def test_declared_fields_select_and_others_are_refused() -> None:
    with Cluster(controllers=False, serve=False) as c:
        c.client.create(CRDS, crd([{"jsonPath": ".spec.color"}, {"jsonPath": ".spec.size"},
                                   {"jsonPath": ".spec.shiny"}]))
        rt = c.registry.get("stable.example.com", "v1", "shirts")
        assert rt is not None
        for args in (("a", "blue", 1, True), ("b", "red", 2, False), ("c", "blue", 2, False)):
            c.client.create(rt, shirt(*args))
        assert names(c, "spec.color=blue") == ["a", "c"]
        assert names(c, "spec.color!=blue") == ["b"]
        assert names(c, "spec.size=2,spec.color=blue") == ["c"]
        assert names(c, "spec.shiny=true") == ["a"]
        assert names(c, "metadata.name=b") == ["b"]
        with pytest.raises(errors.BadRequest):
            names(c, "spec.tags=x")


def test_fields_declared_later_select_objects_stored_before() -> None:
    with Cluster(controllers=False, serve=False) as c:
        created = c.client.create(CRDS, crd(None))
        rt = c.registry.get("stable.example.com", "v1", "shirts")
        assert rt is not None
        c.client.create(rt, shirt("a", "blue", 1, True))
        c.client.create(rt, shirt("b", "red", 1, True))
        with pytest.raises(errors.BadRequest):
            names(c, "spec.color=red")
        created["spec"]["versions"][0]["selectableFields"] = [{"jsonPath": ".spec.color"}]
        c.client.replace(CRDS, created)
        assert names(c, "spec.color=red") == ["b"]


@pytest.mark.parametrize(("selectable", "message"), [
    ([{"jsonPath": ".spec.tags"}], "type string, integer or boolean"),
    ([{"jsonPath": ".spec.missing"}], "not a field of the schema"),
    ([{"jsonPath": ".metadata.name"}], "metadata"),
    ([{"jsonPath": "spec.color"}], "simple JSON path"),
    ([{"jsonPath": ".spec.items[0]"}], "simple JSON path"),
    ([{}], "Required value"),
    ([{"jsonPath": ".spec.color"}, {"jsonPath": ".spec.color"}], "Duplicate value"),
    ([{"jsonPath": ".spec.color"}] * 9, "at most 8"),
])
def test_bad_selectable_fields_are_invalid(selectable: list[dict[str, Any]],
                                           message: str) -> None:
    with Cluster(controllers=False, serve=False) as c:
        before = c.store.resource_version
        with pytest.raises(errors.Invalid) as caught:
            c.client.create(CRDS, crd(copy.deepcopy(selectable)))
        causes = caught.value.status["details"]["causes"]
        assert any(message in cause["message"] for cause in causes), causes
        assert all(cause["field"].startswith("spec.versions[0].selectableFields")
                   for cause in causes)
        assert c.store.resource_version == before
        assert c.registry.get("stable.example.com", "v1", "shirts") is None
