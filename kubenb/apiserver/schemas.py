"""The Kubernetes 1.37 object schemas, as JSON Schema, with the API's list metadata.

The schemas come from the ``kubernetes-validate`` package, which publishes the upstream OpenAPI
definitions converted to JSON Schema (``$defs`` keyed by the OpenAPI definition name, such as
``io.k8s.api.apps.v1.Deployment``). They keep the ``x-kubernetes-*`` extensions that matter here:
``x-kubernetes-group-version-kind`` (which definition is which kind),
``x-kubernetes-patch-strategy`` and ``x-kubernetes-patch-merge-key`` (strategic merge patch),
``x-kubernetes-list-type`` and
``x-kubernetes-list-map-keys`` (server-side apply).

Everything here is read-only data loaded once per process; the same ``SchemaSet`` serves
validation, patching and the OpenAPI documents.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from collections.abc import Mapping
from typing import Any

from kubenb.api.resources import KUBERNETES_VERSION

__all__ = ["KUBERNETES_VERSION", "SchemaSet", "schemas"]


Schema = dict[str, Any]


class SchemaSet:
    """The definitions of one Kubernetes version, indexed by name and by group/version/kind."""

    def __init__(self, definitions: Mapping[str, Schema]) -> None:
        self.definitions: Mapping[str, Schema] = definitions
        self._by_gvk: dict[tuple[str, str, str], str] = {}
        for name, schema in definitions.items():
            for gvk in schema.get("x-kubernetes-group-version-kind", ()):
                key = (gvk["group"], gvk["version"], gvk["kind"])
                # meta/v1 types (DeleteOptions, WatchEvent, ...) are listed under every group;
                # a kind's own group package wins over that.
                if key not in self._by_gvk or "apimachinery" in self._by_gvk[key]:
                    self._by_gvk[key] = name

    @classmethod
    def load(cls, version: str = KUBERNETES_VERSION) -> SchemaSet:
        root = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"
        text = (root / f"v{version}-local" / "_definitions.json").read_text()
        return cls(json.loads(text)["$defs"])

    def definition_name(self, group: str, version: str, kind: str) -> str | None:
        """The definition name of a built-in kind, e.g. ``io.k8s.api.core.v1.Pod``."""
        return self._by_gvk.get((group, version, kind))

    def for_kind(self, group: str, version: str, kind: str) -> Schema | None:
        """The root schema of a built-in kind, or None when the kind is not built in."""
        name = self._by_gvk.get((group, version, kind))
        return None if name is None else self.definitions[name]

    def resolve(self, node: Schema | None) -> Schema | None:
        """Follow ``$ref`` (``#/$defs/NAME`` or ``/api/_definitions.json#/$defs/NAME``)."""
        while node is not None and "$ref" in node:
            node = self.definitions.get(node["$ref"].rpartition("/")[2])
        return node

    def property(self, node: Schema | None, name: str) -> Schema | None:
        """The resolved schema of property ``name`` of an object schema, or None if unknown."""
        node = self.resolve(node)
        if node is None:
            return None
        props = node.get("properties")
        if props is not None and name in props:
            return self.resolve(props[name])
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return self.resolve(extra)
        return None

    def items(self, node: Schema | None) -> Schema | None:
        """The resolved schema of the items of an array schema."""
        node = self.resolve(node)
        if node is None or not isinstance(node.get("items"), dict):
            return None
        return self.resolve(node["items"])


@functools.cache
def schemas() -> SchemaSet:
    """The process-wide schema set of the Kubernetes version kubenb serves."""
    return SchemaSet.load()
