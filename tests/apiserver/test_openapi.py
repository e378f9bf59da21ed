"""The OpenAPI documents: index, per group-version v3 documents, custom resources, Swagger 2.0.

The last test runs the real kubectl against a throwaway HTTP server that serves only discovery
and these documents, to prove that ``kubectl explain`` parses them.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kubenb.apiserver.openapi import (
    ALL_VERBS,
    OpenAPI,
    ResourceInfo,
    SubresourceInfo,
    group_version_path,
)
from kubenb.apiserver.schemas import schemas

REGISTRY: list[tuple[str, str, list[ResourceInfo]]] = [
    (
        "",
        "v1",
        [
            ResourceInfo(
                "pods",
                "Pod",
                True,
                subresources=["status", "log", "exec", "portforward", "proxy", "eviction"],
            ),
            ResourceInfo("namespaces", "Namespace", False, subresources=["status", "finalize"]),
            ResourceInfo("configmaps", "ConfigMap", True),
            ResourceInfo(
                "serviceaccounts",
                "ServiceAccount",
                True,
                subresources=[
                    SubresourceInfo(
                        "token", ("create",), "authentication.k8s.io", "v1", "TokenRequest"
                    )
                ],
            ),
        ],
    ),
    (
        "apps",
        "v1",
        [
            ResourceInfo("deployments", "Deployment", True, subresources=["status", "scale"]),
            ResourceInfo("replicasets", "ReplicaSet", True, subresources=["status", "scale"]),
        ],
    ),
    ("batch", "v1", [ResourceInfo("jobs", "Job", True, subresources=["status"])]),
    (
        "apiextensions.k8s.io",
        "v1",
        [ResourceInfo("customresourcedefinitions", "CustomResourceDefinition", False)],
    ),
]

CRONTAB_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "crontabs.stable.example.com", "resourceVersion": "7"},
    "spec": {
        "group": "stable.example.com",
        "scope": "Namespaced",
        "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {
                    "status": {},
                    "scale": {
                        "specReplicasPath": ".spec.replicas",
                        "statusReplicasPath": ".status.replicas",
                    },
                },
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "description": "CronTab runs a command on a schedule.",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["cronSpec"],
                                "properties": {
                                    "cronSpec": {"type": "string", "description": "When."},
                                    "replicas": {"type": "integer", "format": "int32"},
                                    "port": {"x-kubernetes-int-or-string": True},
                                    "note": {"type": "string", "nullable": True},
                                },
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            },
            {"name": "v0", "served": False, "storage": False},
        ],
    },
}


@pytest.fixture
def api() -> OpenAPI:
    return OpenAPI(schemas(), builtin_group_versions=REGISTRY)


def document(api: OpenAPI, path: str) -> dict[str, Any]:
    data = api.v3_document(path)
    assert data is not None, path
    return json.loads(data)


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from nodes(value)


def explain_lookup(doc: dict[str, Any], group: str, version: str, plural: str) -> dict[str, Any]:
    """What kubectl explain does: operation GVK on the resource path, then the component."""
    prefix = "/api" if not group else f"/apis/{group}"
    candidates = [
        f"{prefix}/{version}/{plural}",
        f"{prefix}/{version}/namespaces/{{namespace}}/{plural}",
    ]
    gvk = None
    for path in candidates:
        for method in ("get", "post", "put", "patch", "delete"):
            op = doc["paths"].get(path, {}).get(method)
            if op and "x-kubernetes-group-version-kind" in op:
                gvk = op["x-kubernetes-group-version-kind"]
                break
        if gvk:
            break
    assert gvk is not None
    matches = [
        s
        for s in doc["components"]["schemas"].values()
        if gvk in s.get("x-kubernetes-group-version-kind", [])
    ]
    assert matches, gvk
    return matches[0]


def test_index_lists_every_group_version_with_hashed_urls(api: OpenAPI) -> None:
    index = json.loads(api.v3_index())
    paths = index["paths"]
    for group, version, _ in REGISTRY:
        assert group_version_path(group, version) in paths
    assert {"api/v1", "apis/apps/v1", "apis/batch/v1", "api", "apis", "apis/apps", "version"} <= (
        paths.keys()
    )
    url = paths["apis/apps/v1"]["serverRelativeURL"]
    data = api.v3_document("apis/apps/v1")
    assert data is not None
    expected = hashlib.sha512(data).hexdigest().upper()
    assert url == f"/openapi/v3/apis/apps/v1?hash={expected}"
    assert api.v3_hash("apis/apps/v1") == expected
    # every listed URL leads to a document
    for path in paths:
        assert api.v3_document(path) is not None


def test_unknown_path_has_no_document(api: OpenAPI) -> None:
    assert api.v3_document("apis/nope.example.com/v1") is None
    with pytest.raises(KeyError):
        api.v3_hash("apis/nope.example.com/v1")


def test_document_shape_and_deployment_schema(api: OpenAPI) -> None:
    doc = document(api, "apis/apps/v1")
    assert doc["openapi"] == "3.0.0"
    assert doc["info"]["title"] == "Kubernetes"
    schemas_ = doc["components"]["schemas"]
    deployment = schemas_["io.k8s.api.apps.v1.Deployment"]
    assert deployment["type"] == "object"
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}
    ]
    # the JSON Schema's pinned apiVersion enum is not part of the API
    assert "enum" not in deployment["properties"]["apiVersion"]
    assert deployment["properties"]["apiVersion"]["type"] == "string"
    # $ref with a description is wrapped in allOf, as the real documents do
    spec = deployment["properties"]["spec"]
    assert spec["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}]
    assert spec["description"]
    deployment_spec = schemas_["io.k8s.api.apps.v1.DeploymentSpec"]
    assert deployment_spec["properties"]["replicas"] == {
        "description": deployment_spec["properties"]["replicas"]["description"],
        "format": "int32",
        "type": "integer",
    }
    assert deployment_spec["properties"]["strategy"]["x-kubernetes-patch-strategy"] == "retainKeys"
    containers = schemas_["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-list-type"] == "map"
    # no JSON Schema type arrays survive anywhere
    for node in nodes(schemas_):
        assert not isinstance(node.get("type"), list), node
    int_or_string = schemas_["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert int_or_string["format"] == "int-or-string"
    assert int_or_string["oneOf"] == [{"type": "integer"}, {"type": "string"}]
    quantity = schemas_["io.k8s.apimachinery.pkg.api.resource.Quantity"]
    assert quantity["oneOf"] == [{"type": "string"}, {"type": "number"}]


@pytest.mark.parametrize("path", ["api/v1", "apis/apps/v1", "apis/batch/v1", "apis", "version"])
def test_refs_resolve_within_the_document(api: OpenAPI, path: str) -> None:
    doc = document(api, path)
    names = doc["components"]["schemas"].keys()
    found = list(refs(doc))
    assert found
    for ref in found:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in names, ref


def test_documents_hold_only_what_they_reference(api: OpenAPI) -> None:
    apps = document(api, "apis/apps/v1")["components"]["schemas"]
    assert "io.k8s.api.core.v1.PodSpec" in apps  # reached through the pod template
    assert "io.k8s.api.batch.v1.Job" not in apps
    assert "io.k8s.api.core.v1.ConfigMap" not in apps


def test_operations_carry_what_kubectl_reads(api: OpenAPI) -> None:
    doc = document(api, "apis/apps/v1")
    item = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    patch = item["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "kind": "Deployment",
        "version": "v1",
    }
    assert patch["x-kubernetes-action"] == "patch"
    assert patch["operationId"] == "patchAppsV1NamespacedDeployment"
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    query = {p["name"] for p in patch["parameters"] if p["in"] == "query"}
    assert {"fieldValidation", "fieldManager", "dryRun", "force"} <= query
    assert [p["name"] for p in item["parameters"]] == ["name", "namespace", "pretty"]
    collection = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]
    assert collection["get"]["operationId"] == "listAppsV1NamespacedDeployment"
    assert collection["delete"]["x-kubernetes-action"] == "deletecollection"
    listed = collection["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed == {"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentList"}
    assert "/apis/apps/v1/deployments" in doc["paths"]  # all namespaces
    assert "/apis/apps/v1/watch/namespaces/{namespace}/deployments/{name}" in doc["paths"]
    scale = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["get"]["x-kubernetes-group-version-kind"]["kind"] == "Scale"
    assert scale["get"]["x-kubernetes-group-version-kind"]["group"] == "autoscaling"
    assert "io.k8s.api.autoscaling.v1.Scale" in doc["components"]["schemas"]
    assert (
        explain_lookup(doc, "apps", "v1", "deployments")
        is (doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"])
    )


def test_core_subresources_and_cluster_scope(api: OpenAPI) -> None:
    doc = document(api, "api/v1")
    paths = doc["paths"]
    assert "/api/v1/namespaces/{name}" in paths
    assert "/api/v1/namespaces/{namespace}/namespaces" not in paths
    assert paths["/api/v1/namespaces/{name}/finalize"].keys() == {"put", "parameters"}
    log = paths["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"]
    assert log["operationId"] == "readCoreV1NamespacedPodLog"
    assert {p["name"] for p in log["parameters"]} >= {"container", "follow", "tailLines"}
    exec_ = paths["/api/v1/namespaces/{namespace}/pods/{name}/exec"]
    assert exec_["post"]["operationId"] == "connectCoreV1PostNamespacedPodExec"
    assert exec_["get"]["x-kubernetes-group-version-kind"]["kind"] == "PodExecOptions"
    assert "/api/v1/namespaces/{namespace}/pods/{name}/proxy/{path}" in paths
    eviction = paths["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"]
    assert eviction["x-kubernetes-group-version-kind"]["group"] == "policy"
    token = paths["/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"]["post"]
    assert token["requestBody"]["content"]["*/*"]["schema"] == {
        "$ref": "#/components/schemas/io.k8s.api.authentication.v1.TokenRequest"
    }
    assert explain_lookup(doc, "", "v1", "namespaces")["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "Namespace", "version": "v1"}
    ]


def test_patch_metadata_is_reachable_the_way_kubectl_apply_walks(api: OpenAPI) -> None:
    """Emulates strategicpatch.PatchMetaFromOpenAPIV3: allOf[0], then one $ref per step."""
    doc = document(api, "apis/apps/v1")
    components = doc["components"]["schemas"]

    def resolve(schema: dict[str, Any]) -> dict[str, Any]:
        if schema.get("allOf"):
            schema = schema["allOf"][0]
        ref = schema.get("$ref")
        return components[ref.removeprefix("#/components/schemas/")] if ref else schema

    schema = explain_lookup(doc, "apps", "v1", "deployments")
    for step in ("spec", "template", "spec"):
        schema = resolve(schema["properties"][step])
    containers = schema["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    container = resolve(containers["items"])
    ports = container["properties"]["ports"]
    assert ports["x-kubernetes-patch-merge-key"] == "containerPort"


def test_custom_resource_appears_after_set_custom_resources(api: OpenAPI) -> None:
    before = json.loads(api.v3_index())["paths"]
    assert "apis/stable.example.com/v1" not in before
    apps_bytes = api.v3_document("apis/apps/v1")

    api.set_custom_resources([CRONTAB_CRD])

    after = json.loads(api.v3_index())["paths"]
    assert "apis/stable.example.com/v1" in after
    assert "apis/stable.example.com/v0" not in after  # not served
    # untouched group-versions keep their document and hash
    assert after["apis/apps/v1"] == before["apis/apps/v1"]
    assert api.v3_document("apis/apps/v1") is apps_bytes

    doc = document(api, "apis/stable.example.com/v1")
    components = doc["components"]["schemas"]
    crontab = components["com.example.stable.v1.CronTab"]
    assert crontab["x-kubernetes-group-version-kind"] == [
        {"group": "stable.example.com", "kind": "CronTab", "version": "v1"}
    ]
    assert crontab["description"] == "CronTab runs a command on a schedule."
    assert crontab["properties"]["metadata"]["$ref"] == (
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    )
    port = crontab["properties"]["spec"]["properties"]["port"]
    assert port["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert components["com.example.stable.v1.CronTabList"]["required"] == ["items"]
    assert explain_lookup(doc, "stable.example.com", "v1", "crontabs") is crontab

    item = doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]
    content = item["patch"]["requestBody"]["content"]
    # custom resources take no strategic merge patch; kubectl falls back to a merge patch
    assert "application/strategic-merge-patch+json" not in content
    assert "application/merge-patch+json" in content
    assert "fieldValidation" in {p["name"] for p in item["patch"]["parameters"]}
    scale = doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/scale"]
    assert scale["get"]["x-kubernetes-group-version-kind"]["kind"] == "Scale"
    for ref in refs(doc):
        assert ref.removeprefix("#/components/schemas/") in components, ref

    # the same CRDs again change nothing; a change rebuilds that document only
    crd_bytes = api.v3_document("apis/stable.example.com/v1")
    noisy = copy.deepcopy(CRONTAB_CRD)
    noisy["metadata"]["resourceVersion"] = "8"
    api.set_custom_resources([noisy])
    assert api.v3_document("apis/stable.example.com/v1") is crd_bytes
    changed = copy.deepcopy(CRONTAB_CRD)
    spec_props = changed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    spec_props["spec"]["properties"]["extra"] = {"type": "boolean"}
    api.set_custom_resources([changed])
    assert api.v3_document("apis/stable.example.com/v1") != crd_bytes
    assert api.v3_document("apis/apps/v1") is apps_bytes

    api.set_custom_resources([])
    assert "apis/stable.example.com/v1" not in json.loads(api.v3_index())["paths"]
    assert api.v3_document("apis/stable.example.com/v1") is None


def test_v2_is_swagger_with_definition_refs(api: OpenAPI) -> None:
    api.set_custom_resources([CRONTAB_CRD])
    doc = json.loads(api.v2())
    assert doc["swagger"] == "2.0"
    definitions = doc["definitions"]
    found = list(refs(doc))
    assert found
    for ref in found:
        assert ref.startswith("#/definitions/"), ref
        assert ref.removeprefix("#/definitions/") in definitions, ref
    assert "#/components/" not in api.v2().decode()
    spec = definitions["io.k8s.api.apps.v1.Deployment"]["properties"]["spec"]
    # Swagger 2.0 keeps siblings next to $ref instead of wrapping them
    assert spec["$ref"] == "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
    assert "allOf" not in spec
    assert definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"] == "string"
    assert definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] == "string"
    crontab = definitions["com.example.stable.v1.CronTab"]
    port = crontab["properties"]["spec"]["properties"]["port"]
    assert "anyOf" not in port  # v2 has no anyOf
    assert "type" not in crontab["properties"]["spec"]["properties"]["note"]  # nullable
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "Deployment"
    assert "application/strategic-merge-patch+json" in patch["consumes"]
    body = next(p for p in patch["parameters"] if p["in"] == "body")
    assert body["schema"] == {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}
    field_validation = next(p for p in patch["parameters"] if p["name"] == "fieldValidation")
    assert field_validation["type"] == "string"
    assert "schema" not in field_validation
    ok = patch["responses"]["200"]
    assert ok["schema"] == {"$ref": "#/definitions/io.k8s.api.apps.v1.Deployment"}


def test_every_registered_resource_has_paths() -> None:
    """A registry built from every kind in the shipped definitions yields valid documents."""
    set_ = schemas()
    by_gv: dict[tuple[str, str], list[ResourceInfo]] = {}
    for name, definition in set_.definitions.items():
        if "apimachinery" in name:
            continue
        for gvk in definition.get("x-kubernetes-group-version-kind", ()):
            kind = gvk["kind"]
            if (
                kind.endswith("List")
                or set_.definition_name(gvk["group"], gvk["version"], kind + "List") is None
            ):
                continue
            by_gv.setdefault((gvk["group"], gvk["version"]), []).append(
                ResourceInfo(kind.lower() + "s", kind, True, ALL_VERBS, ("status",))
            )
    api = OpenAPI(set_, builtin_group_versions=[(g, v, rs) for (g, v), rs in by_gv.items()])
    index = json.loads(api.v3_index())["paths"]
    assert len(by_gv) > 20
    for (group, version), resources in by_gv.items():
        doc = document(api, group_version_path(group, version))
        assert index[group_version_path(group, version)]["serverRelativeURL"].endswith(
            api.v3_hash(group_version_path(group, version))
        )
        names = doc["components"]["schemas"].keys()
        for ref in refs(doc):
            assert ref.removeprefix("#/components/schemas/") in names
        for r in resources:
            explain_lookup(doc, group, version, r.plural)


def test_unknown_kind_gets_an_open_schema() -> None:
    api = OpenAPI(
        schemas(),
        builtin_group_versions=[
            ("demo.kubenb.io", "v1", [ResourceInfo("widgets", "Widget", True)])
        ],
    )
    doc = document(api, "apis/demo.kubenb.io/v1")
    widget = explain_lookup(doc, "demo.kubenb.io", "v1", "widgets")
    assert widget["x-kubernetes-preserve-unknown-fields"] is True
    assert "io.kubenb.demo.v1.Widget" in doc["components"]["schemas"]


# --- real kubectl ------------------------------------------------------------------------------

KUBECTL = Path(sys.executable).parent / "kubectl"


def _discovery_app(api: OpenAPI) -> Any:
    from aiohttp import web

    def resource_list(group: str, version: str, resources: list[ResourceInfo]) -> Any:
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": [
                {
                    "name": r.plural,
                    "singularName": r.kind.lower(),
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": list(r.verbs),
                }
                for r in resources
            ],
        }

    routes: dict[str, Any] = {
        "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
        "/apis": {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": g,
                    "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                    "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v},
                }
                for g, v, _ in REGISTRY
                if g
            ],
        },
    }
    for g, v, resources in REGISTRY:
        routes["/" + group_version_path(g, v)] = resource_list(g, v, resources)

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/")
        if path in routes:
            return web.json_response(routes[path])
        if path == "/openapi/v3":
            return web.Response(body=api.v3_index(), content_type="application/json")
        if path.startswith("/openapi/v3/"):
            data = api.v3_document(path.removeprefix("/openapi/v3/"))
            if data is not None:
                return web.Response(body=data, content_type="application/json")
        return web.json_response({"kind": "Status", "code": 404}, status=404)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    return app


@pytest.fixture
def server(api: OpenAPI) -> Iterator[str]:
    from aiohttp import web

    loop = asyncio.new_event_loop()
    runner = web.AppRunner(_discovery_app(api))
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.run_until_complete(runner.cleanup())
        loop.close()


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl is not installed in the venv")
def test_kubectl_explain_reads_the_documents(server: str, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
                "users": [{"name": "u", "user": {}}],
            }
        )
    )
    env = {**os.environ, "HOME": str(tmp_path), "KUBECONFIG": str(kubeconfig)}

    def explain(*args: str) -> str:
        result = subprocess.run(
            [str(KUBECTL), "explain", *args, "--cache-dir", str(tmp_path / "cache")],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    out = explain("deployments.spec.replicas")
    assert "KIND:       Deployment" in out
    assert "GROUP:      apps" in out
    assert "FIELD: replicas <integer>" in out
    assert "Number of desired pods." in out

    out = explain("deployments.spec.strategy")
    assert "FIELD: strategy <DeploymentStrategy>" in out
    assert "rollingUpdate\t<RollingUpdateDeployment>" in out

    out = explain("pods.spec.containers.resources.limits")
    assert "<map[string]Quantity>" in out

    out = explain("configmaps")
    assert "KIND:       ConfigMap" in out
    assert "data\t<map[string]string>" in out


def test_registry_records_fit_without_conversion() -> None:
    """Any record with plural/kind/namespaced/verbs/subresources will do (the lead's registry)."""

    @dataclass(frozen=True)
    class Record:
        group: str
        version: str
        kind: str
        plural: str
        namespaced: bool
        subresources: tuple[str, ...] = ()
        verbs: tuple[str, ...] = ALL_VERBS

    records = [Record("batch", "v1", "CronJob", "cronjobs", True, ("status",))]
    api = OpenAPI(schemas(), builtin_group_versions=[("batch", "v1", records)])
    doc = document(api, "apis/batch/v1")
    assert "/apis/batch/v1/namespaces/{namespace}/cronjobs/{name}/status" in doc["paths"]
    assert (
        explain_lookup(doc, "batch", "v1", "cronjobs")
        is (doc["components"]["schemas"]["io.k8s.api.batch.v1.CronJob"])
    )
