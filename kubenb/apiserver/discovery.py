"""Discovery documents: ``/version``, ``/api``, ``/apis``, ``/apis/{group}/{version}``.

Built from the :class:`~kubenb.api.resources.Registry` and cached until it changes (a CRD comes or
goes). Subresources are listed the way kube-apiserver lists them (``deployments/scale`` as an
``autoscaling/v1`` ``Scale``, ``pods/eviction`` as a ``policy/v1`` ``Eviction``), because kubectl
reads them to decide which requests it may send.
"""

from __future__ import annotations

import hashlib
from typing import Any

from kubenb.api.resources import Registry, ResourceType
from kubenb.apiserver.schemas import KUBERNETES_VERSION

__all__ = ["Discovery", "version_info"]

Obj = dict[str, Any]

_SUBRESOURCE_KIND: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    # subresource -> (group, version, kind, verbs); "" group/version means the parent's
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "status": ("", "", "", ("get", "patch", "update")),
    "binding": ("", "", "Binding", ("create",)),
    "eviction": ("policy", "v1", "Eviction", ("create",)),
    "log": ("", "", "Pod", ("get",)),
    "exec": ("", "", "PodExecOptions", ("create", "get")),
    "ephemeralcontainers": ("", "", "Pod", ("get", "patch", "update")),
    "attach": ("", "", "PodAttachOptions", ("create", "get")),
    "proxy": ("", "", "{kind}ProxyOptions", ("create", "delete", "get", "patch", "update")),
    "finalize": ("", "", "Namespace", ("update",)),
}


def version_info() -> Obj:
    major, minor, _patch = KUBERNETES_VERSION.split(".")
    return {
        "major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
        "minCompatibilityMajor": major, "minCompatibilityMinor": str(int(minor) - 1),
        "gitVersion": f"v{KUBERNETES_VERSION}", "gitCommit": "kubenb", "gitTreeState": "clean",
        "buildDate": "2026-11-01T00:00:00Z", "goVersion": "go1.25.0", "compiler": "gc",
        "platform": "linux/amd64",
    }


def _storage_version_hash(rt: ResourceType) -> str:
    digest = hashlib.sha256(f"{rt.group}/{rt.version}/{rt.kind}".encode()).digest()
    import base64

    return base64.b64encode(digest[:8]).decode()


def api_resource(rt: ResourceType) -> list[Obj]:
    """The APIResource entries of one resource: itself, then its subresources."""
    main: Obj = {
        "name": rt.plural, "singularName": rt.singular_name, "namespaced": rt.namespaced,
        "kind": rt.kind, "verbs": list(rt.verbs),
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    if "list" in rt.verbs:
        main["storageVersionHash"] = _storage_version_hash(rt)
    out = [main]
    for sub in rt.subresources:
        group, version, kind, verbs = _SUBRESOURCE_KIND[sub]
        entry: Obj = {"name": f"{rt.plural}/{sub}", "singularName": "",
                      "namespaced": rt.namespaced,
                      "kind": kind.format(kind=rt.kind) if kind else rt.kind,
                      "verbs": list(verbs)}
        if group:
            entry["group"] = group
            entry["version"] = version
        out.append(entry)
    return out


class Discovery:
    """Discovery documents over a registry, rebuilt when its generation changes."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._generation = -1
        self._groups: Obj = {}
        self._lists: dict[tuple[str, str], Obj] = {}

    def _refresh(self) -> None:
        if self._generation == self.registry.generation:
            return
        generation = self.registry.generation
        lists: dict[tuple[str, str], Obj] = {}
        for rt in sorted(self.registry, key=lambda r: r.plural):
            doc = lists.setdefault(rt.group_version, {
                "kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": rt.api_version, "resources": [],
            })
            doc["resources"].extend(api_resource(rt))
        groups = []
        for group, versions in self.registry.group_versions().items():
            if not group:
                continue
            gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
            groups.append({"name": group, "versions": gvs, "preferredVersion": gvs[0]})
        self._lists = lists
        self._groups = {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        self._generation = generation

    def api_versions(self, server_address: str) -> Obj:
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                "serverAddress": server_address}]}

    def api_groups(self) -> Obj:
        self._refresh()
        return self._groups

    def api_group(self, group: str) -> Obj | None:
        self._refresh()
        for g in self._groups["groups"]:
            if g["name"] == group:
                return {"kind": "APIGroup", "apiVersion": "v1", **g}
        return None

    def resource_list(self, group: str, version: str) -> Obj | None:
        self._refresh()
        return self._lists.get((group, version))
