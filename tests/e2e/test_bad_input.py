"""Each class of bad input gets the right 4xx Status and leaves the store unchanged."""

from __future__ import annotations

import json
import ssl
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from kubenb import Cluster


class Raw:
    """Plain HTTPS requests, to send what no well-behaved client would."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        with tempfile.NamedTemporaryFile(suffix=".pem", delete=False) as ca:
            ca.write(cluster.ca_pem)
        self.http = urllib3.PoolManager(cert_reqs=ssl.CERT_REQUIRED, ca_certs=ca.name)

    def request(self, method: str, path: str, body: bytes | str | None = None, *,
                content_type: str = "application/json", token: str | None = "default",
                ) -> tuple[int, Any]:
        headers = {"Content-Type": content_type}
        tok = self.cluster.token if token == "default" else token
        if tok:
            headers["Authorization"] = f"Bearer {tok}"
        resp = self.http.request(method, self.cluster.url + path, body=body, headers=headers)
        data = resp.data
        try:
            return resp.status, json.loads(data)
        except ValueError:
            return resp.status, data.decode(errors="replace")

    def count(self, path: str) -> int:
        status, body = self.request("GET", path)
        assert status == 200
        return len(body["items"])


@pytest.fixture(scope="module")
def raw(cluster: Cluster) -> Iterator[Raw]:
    yield Raw(cluster)


DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def deployment(**spec_overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "web", "image": "nginx"}]}},
    }
    spec.update(spec_overrides)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": spec}


def assert_status(body: Any, code: int, reason: str) -> None:
    assert isinstance(body, dict), body
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == code and body["reason"] == reason, body
    assert body["message"]


def test_malformed_json(raw: Raw) -> None:
    before = raw.count(DEPLOYMENTS)
    status, body = raw.request("POST", DEPLOYMENTS, b'{"apiVersion": "apps/v1", "kind": ')
    assert status == 400
    assert_status(body, 400, "BadRequest")
    assert raw.count(DEPLOYMENTS) == before


def test_malformed_yaml(raw: Raw) -> None:
    before = raw.count(CONFIGMAPS)
    status, body = raw.request("POST", CONFIGMAPS, "kind: ConfigMap\nmetadata: [unclosed\n",
                               content_type="application/yaml")
    assert status == 400
    assert_status(body, 400, "BadRequest")
    assert raw.count(CONFIGMAPS) == before


def test_wrong_types(raw: Raw) -> None:
    before = raw.count(DEPLOYMENTS)
    status, body = raw.request("POST", DEPLOYMENTS, json.dumps(deployment(replicas="three")))
    assert status == 400
    assert_status(body, 400, "BadRequest")
    assert any(c["field"] == "spec.replicas" for c in body["details"]["causes"])
    assert raw.count(DEPLOYMENTS) == before


def test_unknown_fields_strict_and_warn(raw: Raw, cluster: Cluster) -> None:
    before = raw.count(DEPLOYMENTS)
    bad = deployment(replicaz=3)
    status, body = raw.request("POST", DEPLOYMENTS + "?fieldValidation=Strict", json.dumps(bad))
    assert status == 400
    assert_status(body, 400, "BadRequest")
    assert 'unknown field "spec.replicaz"' in body["message"]
    assert raw.count(DEPLOYMENTS) == before
    # Warn (the default) stores the object without the field and says so
    resp = raw.http.request("POST", cluster.url + DEPLOYMENTS + "?dryRun=All",
                            body=json.dumps(bad), headers={
                                "Authorization": f"Bearer {cluster.token}",
                                "Content-Type": "application/json"})
    assert resp.status == 201
    assert 'unknown field \\"spec.replicaz\\"' in resp.headers["Warning"]
    assert "replicaz" not in json.loads(resp.data)["spec"]


@pytest.mark.parametrize("name", ["Web_Server", "-leading", "a" * 254, "UPPER"])
def test_invalid_names(raw: Raw, name: str) -> None:
    before = raw.count(CONFIGMAPS)
    status, body = raw.request("POST", CONFIGMAPS, json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}))
    assert status == 422
    assert_status(body, 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert raw.count(CONFIGMAPS) == before


@pytest.mark.parametrize("labels", [{"bad key!": "v"}, {"ok": "bad value!"},
                                    {"ok": "x" * 64}, {"a/b/c": "v"}])
def test_invalid_labels(raw: Raw, labels: dict[str, str]) -> None:
    before = raw.count(CONFIGMAPS)
    status, body = raw.request("POST", CONFIGMAPS, json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "labelled", "labels": labels}}))
    assert status == 422
    assert_status(body, 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.labels"
    assert raw.count(CONFIGMAPS) == before


def test_missing_required_fields(raw: Raw) -> None:
    before = raw.count(DEPLOYMENTS)
    broken = deployment()
    del broken["spec"]["template"]["spec"]["containers"][0]["image"]
    del broken["spec"]["selector"]
    status, body = raw.request("POST", DEPLOYMENTS, json.dumps(broken))
    assert status == 422
    assert_status(body, 422, "Invalid")
    fields = {c["field"] for c in body["details"]["causes"]}
    assert "spec.selector" in fields
    assert raw.count(DEPLOYMENTS) == before
    status, body = raw.request("POST", DEPLOYMENTS, json.dumps(
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}))
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec"
    status, body = raw.request("POST", CONFIGMAPS, json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}))
    assert status == 422 and body["details"]["causes"][0]["field"] == "metadata.name"
    assert raw.count(DEPLOYMENTS) == before


def test_semantic_errors(raw: Raw) -> None:
    before = raw.count(DEPLOYMENTS)
    mismatched = deployment(selector={"matchLabels": {"app": "other"}})
    status, body = raw.request("POST", DEPLOYMENTS, json.dumps(mismatched))
    assert status == 422
    assert body["details"]["causes"][0]["field"] == "spec.template.metadata.labels"
    negative = deployment(replicas=-1)
    status, body = raw.request("POST", DEPLOYMENTS, json.dumps(negative))
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.replicas"
    assert raw.count(DEPLOYMENTS) == before


def test_oversize_body(raw: Raw) -> None:
    before = raw.count(CONFIGMAPS)
    huge = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
                       "data": {"blob": "x" * (4 * 1024 * 1024)}})
    status, body = raw.request("POST", CONFIGMAPS, huge)
    assert status == 413
    assert_status(body, 413, "RequestEntityTooLarge")
    assert raw.count(CONFIGMAPS) == before


def test_auth_required(raw: Raw) -> None:
    status, body = raw.request("GET", CONFIGMAPS, token=None)
    assert status == 401
    assert_status(body, 401, "Unauthorized")
    status, body = raw.request("GET", CONFIGMAPS, token="wrong")
    assert status == 401
    status, _ = raw.request("GET", "/readyz", token=None)
    assert status == 200


def test_wrong_kind_and_version(raw: Raw) -> None:
    before = raw.count(DEPLOYMENTS)
    wrong = deployment()
    wrong["apiVersion"] = "apps/v2"
    status, body = raw.request("POST", DEPLOYMENTS, json.dumps(wrong))
    assert status == 400 and "apps/v2" in body["message"]
    status, body = raw.request("POST", DEPLOYMENTS, json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}))
    assert status == 400
    status, body = raw.request("POST", DEPLOYMENTS, b"[1, 2]")
    assert status == 400
    assert raw.count(DEPLOYMENTS) == before


def test_bad_patches_change_nothing(raw: Raw) -> None:
    status, created = raw.request("POST", CONFIGMAPS, json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "patched"},
         "data": {"a": "1"}}))
    assert status == 201
    path = CONFIGMAPS + "/patched"
    status, body = raw.request("PATCH", path, b'[{"op": "test", "path": "/data/a", '
                               b'"value": "2"}, {"op": "remove", "path": "/data"}]',
                               content_type="application/json-patch+json")
    assert_status(body, 422, "Invalid")
    status, body = raw.request("PATCH", path, b"{not json",
                               content_type="application/merge-patch+json")
    assert_status(body, 400, "BadRequest")
    status, body = raw.request("PATCH", path, b"{}", content_type="text/plain")
    assert_status(body, 415, "UnsupportedMediaType")
    status, body = raw.request("PATCH", path, json.dumps(
        {"metadata": {"labels": {"bad key": "x"}}}), content_type="application/merge-patch+json")
    assert_status(body, 422, "Invalid")
    status, now = raw.request("GET", path)
    assert now["data"] == {"a": "1"}
    assert now["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_unknown_resource_and_method(raw: Raw) -> None:
    status, body = raw.request("GET", "/apis/apps/v1/namespaces/default/nothings")
    assert status == 404 and body["reason"] == "NotFound"
    status, body = raw.request("POST", CONFIGMAPS + "/named", b"{}")
    assert_status(body, 405, "MethodNotAllowed")
