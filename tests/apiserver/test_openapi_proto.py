"""``/openapi/v2`` as gnostic protobuf: decoded here with an independent wire decoder.

The decoder below carries its own copy of the ``openapi.v2`` field numbers (from gnostic-models'
``openapiv2/OpenAPIv2.proto``), so a wrong number in the encoder shows up as a failed round trip.
The end-to-end tests run real kubectl, whose client-side validation of ``kind: List`` items reads
``/openapi/v2`` as protobuf only.
"""

from __future__ import annotations

import json
import ssl
import struct
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
import urllib3
import yaml

from kubenb import Cluster
from kubenb.api.resources import BUILTIN, ResourceType
from kubenb.apiserver.openapi import OpenAPI
from kubenb.apiserver.openapi_proto import PROTOBUF_CONTENT_TYPE, encode_v2, v2_content_type
from kubenb.apiserver.schemas import schemas
from tests.apiserver.test_openapi import CRONTAB_CRD
from tests.conftest import Kubectl

# --- an independent decoder ----------------------------------------------------------------------


def wire_fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value): int for varints, bytes for the rest."""
    out: list[tuple[int, int, Any]] = []
    pos = 0

    def varint() -> int:
        nonlocal pos
        result = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return result

    while pos < len(data):
        key = varint()
        number, wire_type = key >> 3, key & 7
        value: Any
        if wire_type == 0:
            value = varint()
        elif wire_type == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire_type == 2:
            size = varint()
            value, pos = data[pos:pos + size], pos + size
            assert len(value) == size, "truncated length-delimited field"
        elif wire_type == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise AssertionError(f"unexpected wire type {wire_type}")
        out.append((number, wire_type, value))
    assert pos == len(data)
    return out


def _facets(first: int) -> dict[int, tuple[str, str]]:
    names = [("default", "any"), ("maximum", "double"), ("exclusiveMaximum", "bool"),
             ("minimum", "double"), ("exclusiveMinimum", "bool"), ("maxLength", "int64"),
             ("minLength", "int64"), ("pattern", "string"), ("maxItems", "int64"),
             ("minItems", "int64"), ("uniqueItems", "bool"), ("enum", "anys"),
             ("multipleOf", "double")]
    return {first + i: kv for i, kv in enumerate(names)}


_S, _B = "string", "bool"
_EXT = ("", "ext")
# message -> field number -> (JSON key, kind). Kinds: scalars, "strings", "any", "anys",
# "msg:<M>", "msgs:<M>", "map:<kind>" (a message of Named entries in field 1),
# "named:<kind>" (repeated Named entries merged into the parent object), "ext" (NamedAny).
MESSAGES: dict[str, dict[int, tuple[str, str]]] = {
    "Document": {1: ("swagger", _S), 2: ("info", "msg:Info"), 3: ("host", _S),
                 4: ("basePath", _S), 5: ("schemes", "strings"), 6: ("consumes", "strings"),
                 7: ("produces", "strings"), 8: ("paths", "msg:Paths"),
                 9: ("definitions", "map:msg:Schema"), 10: ("parameters", "map:msg:Parameter"),
                 11: ("responses", "map:msg:Response"),
                 12: ("security", "msgs:SecurityRequirement"),
                 13: ("securityDefinitions", "map:msg:SecurityDefinitionsItem"),
                 14: ("tags", "msgs:Tag"), 15: ("externalDocs", "msg:ExternalDocs"), 16: _EXT},
    "Info": {1: ("title", _S), 2: ("version", _S), 3: ("description", _S),
             4: ("termsOfService", _S), 5: ("contact", "msg:Contact"),
             6: ("license", "msg:License"), 7: _EXT},
    "Contact": {1: ("name", _S), 2: ("url", _S), 3: ("email", _S), 4: _EXT},
    "License": {1: ("name", _S), 2: ("url", _S), 3: _EXT},
    "ExternalDocs": {1: ("description", _S), 2: ("url", _S), 3: _EXT},
    "Tag": {1: ("name", _S), 2: ("description", _S), 3: ("externalDocs", "msg:ExternalDocs"),
            4: _EXT},
    "Paths": {1: _EXT, 2: ("", "named:msg:PathItem")},
    "PathItem": {1: ("$ref", _S), 2: ("get", "msg:Operation"), 3: ("put", "msg:Operation"),
                 4: ("post", "msg:Operation"), 5: ("delete", "msg:Operation"),
                 6: ("options", "msg:Operation"), 7: ("head", "msg:Operation"),
                 8: ("patch", "msg:Operation"), 9: ("parameters", "msgs:ParametersItem"),
                 10: _EXT},
    "Operation": {1: ("tags", "strings"), 2: ("summary", _S), 3: ("description", _S),
                  4: ("externalDocs", "msg:ExternalDocs"), 5: ("operationId", _S),
                  6: ("produces", "strings"), 7: ("consumes", "strings"),
                  8: ("parameters", "msgs:ParametersItem"), 9: ("responses", "msg:Responses"),
                  10: ("schemes", "strings"), 11: ("deprecated", _B),
                  12: ("security", "msgs:SecurityRequirement"), 13: _EXT},
    "BodyParameter": {1: ("description", _S), 2: ("name", _S), 3: ("in", _S),
                      4: ("required", _B), 5: ("schema", "msg:Schema"), 6: _EXT},
    "QueryParameterSubSchema": {
        1: ("required", _B), 2: ("in", _S), 3: ("description", _S), 4: ("name", _S),
        5: ("allowEmptyValue", _B), 6: ("type", _S), 7: ("format", _S),
        8: ("items", "msg:PrimitivesItems"), 9: ("collectionFormat", _S), **_facets(10),
        23: _EXT},
    "PathParameterSubSchema": {
        1: ("required", _B), 2: ("in", _S), 3: ("description", _S), 4: ("name", _S),
        5: ("type", _S), 6: ("format", _S), 7: ("items", "msg:PrimitivesItems"),
        8: ("collectionFormat", _S), **_facets(9), 22: _EXT},
    "PrimitivesItems": {1: ("type", _S), 2: ("format", _S), 3: ("items", "msg:PrimitivesItems"),
                        4: ("collectionFormat", _S), **_facets(5), 18: _EXT},
    "JsonReference": {1: ("$ref", _S), 2: ("description", _S)},
    "Responses": {1: ("", "named:msg:ResponseValue"), 2: _EXT},
    "Response": {1: ("description", _S), 2: ("schema", "msg:SchemaItem"),
                 3: ("headers", "map:msg:Header"), 4: ("examples", "map:any"), 5: _EXT},
    "Schema": {1: ("$ref", _S), 2: ("format", _S), 3: ("title", _S), 4: ("description", _S),
               5: ("default", "any"), 6: ("multipleOf", "double"), 7: ("maximum", "double"),
               8: ("exclusiveMaximum", _B), 9: ("minimum", "double"),
               10: ("exclusiveMinimum", _B), 11: ("maxLength", "int64"),
               12: ("minLength", "int64"), 13: ("pattern", _S), 14: ("maxItems", "int64"),
               15: ("minItems", "int64"), 16: ("uniqueItems", _B),
               17: ("maxProperties", "int64"), 18: ("minProperties", "int64"),
               19: ("required", "strings"), 20: ("enum", "anys"),
               21: ("additionalProperties", "msg:AdditionalPropertiesItem"),
               22: ("type", "msg:TypeItem"), 23: ("items", "msg:ItemsItem"),
               24: ("allOf", "msgs:Schema"), 25: ("properties", "map:msg:Schema"),
               26: ("discriminator", _S), 27: ("readOnly", _B), 28: ("xml", "msg:Xml"),
               29: ("externalDocs", "msg:ExternalDocs"), 30: ("example", "any"), 31: _EXT},
    "FileSchema": {1: ("format", _S), 2: ("title", _S), 3: ("description", _S),
                   4: ("default", "any"), 5: ("required", "strings"), 6: ("type", _S),
                   7: ("readOnly", _B), 8: ("externalDocs", "msg:ExternalDocs"),
                   9: ("example", "any"), 10: _EXT},
    "Xml": {1: ("name", _S), 2: ("namespace", _S), 3: ("prefix", _S), 4: ("attribute", _B),
            5: ("wrapped", _B), 6: _EXT},
    "ApiKeySecurity": {1: ("type", _S), 2: ("name", _S), 3: ("in", _S), 4: ("description", _S),
                       5: _EXT},
    "BasicAuthenticationSecurity": {1: ("type", _S), 2: ("description", _S), 3: _EXT},
    "Oauth2ImplicitSecurity": {1: ("type", _S), 2: ("flow", _S), 3: ("scopes", "map:string"),
                               4: ("authorizationUrl", _S), 5: ("description", _S), 6: _EXT},
    "Oauth2PasswordSecurity": {1: ("type", _S), 2: ("flow", _S), 3: ("scopes", "map:string"),
                               4: ("tokenUrl", _S), 5: ("description", _S), 6: _EXT},
    "Oauth2AccessCodeSecurity": {1: ("type", _S), 2: ("flow", _S), 3: ("scopes", "map:string"),
                                 4: ("authorizationUrl", _S), 5: ("tokenUrl", _S),
                                 6: ("description", _S), 7: _EXT},
    "SecurityRequirement": {1: ("", "named:msg:StringArray")},
}
MESSAGES["FormDataParameterSubSchema"] = MESSAGES["QueryParameterSubSchema"]
MESSAGES["HeaderParameterSubSchema"] = MESSAGES["PathParameterSubSchema"]
MESSAGES["Oauth2ApplicationSecurity"] = MESSAGES["Oauth2PasswordSecurity"]
MESSAGES["Header"] = {**{k: v for k, v in MESSAGES["PrimitivesItems"].items() if k < 18},
                      18: ("description", _S), 19: _EXT}

# oneof wrappers: the decoded value is the one member's value
ONEOFS: dict[str, dict[int, str]] = {
    "ParametersItem": {1: "msg:Parameter", 2: "msg:JsonReference"},
    "Parameter": {1: "msg:BodyParameter", 2: "msg:NonBodyParameter"},
    "NonBodyParameter": {1: "msg:HeaderParameterSubSchema", 2: "msg:FormDataParameterSubSchema",
                         3: "msg:QueryParameterSubSchema", 4: "msg:PathParameterSubSchema"},
    "ResponseValue": {1: "msg:Response", 2: "msg:JsonReference"},
    "SchemaItem": {1: "msg:Schema", 2: "msg:FileSchema"},
    "AdditionalPropertiesItem": {1: "msg:Schema", 2: "bool"},
    "SecurityDefinitionsItem": {
        1: "msg:BasicAuthenticationSecurity", 2: "msg:ApiKeySecurity",
        3: "msg:Oauth2ImplicitSecurity", 4: "msg:Oauth2PasswordSecurity",
        5: "msg:Oauth2ApplicationSecurity", 6: "msg:Oauth2AccessCodeSecurity"},
}


def any_yaml(raw: bytes) -> str:
    """The ``yaml`` (field 2) of an ``Any``."""
    found = [v for n, _, v in wire_fields(raw) if n == 2]
    assert len(found) == 1
    return str(found[0].decode())


def named(raw: bytes, kind: str) -> tuple[str, Any]:
    fields = {n: v for n, _, v in wire_fields(raw)}
    return fields.get(1, b"").decode(), value_of(kind, fields[2])


def value_of(kind: str, raw: Any) -> Any:
    if kind == "string":
        return raw.decode()
    if kind == "bool":
        return bool(raw)
    if kind == "int64":
        return raw - (1 << 64) if raw >= 1 << 63 else raw
    if kind == "double":
        return struct.unpack("<d", raw)[0]
    if kind == "any":
        return yaml.safe_load(any_yaml(raw))
    if kind.startswith("map:"):
        return dict(named(v, kind[4:]) for n, _, v in wire_fields(raw) if n == 1)
    assert kind.startswith("msg:"), kind
    return decode(kind[4:], raw)


def decode(message: str, raw: bytes) -> Any:
    """The JSON a message holds, rebuilt with this module's own field numbers."""
    fields = wire_fields(raw)
    if message in ONEOFS:
        assert len(fields) == 1, f"{message}: a oneof holds one member, got {fields}"
        number, _, value = fields[0]
        return value_of(ONEOFS[message][number], value)
    if message == "TypeItem":  # kubenb writes type as one string
        (value,) = [v.decode() for n, _, v in fields if n == 1]
        return value
    if message == "ItemsItem":
        (schema,) = [decode("Schema", v) for n, _, v in fields if n == 1]
        return schema
    if message == "StringArray":
        return [v.decode() for n, _, v in fields if n == 1]
    layout = MESSAGES[message]
    out: dict[str, Any] = {}
    last = 0
    for number, _, value in fields:
        assert number >= last, f"{message}: fields out of order ({number} after {last})"
        last = number
        assert number in layout, f"{message}: unexpected field {number}"
        key, kind = layout[number]
        if kind == "ext":
            name, item = named(value, "any")
            out[name] = item
        elif kind.startswith("named:"):
            name, item = named(value, kind[6:])
            out[name] = item
        elif kind in ("strings", "anys") or kind.startswith("msgs:"):
            single = {"strings": "string", "anys": "any"}.get(kind, "msg:" + kind[5:])
            out.setdefault(key, []).append(value_of(single, value))
        else:
            assert key not in out, f"{message}: {key} written twice"
            out[key] = value_of(kind, value)
    return out


def without_proto3_zeros(node: Any) -> Any:
    """The JSON minus what proto3 cannot carry: scalars at their zero value (false, "", 0).

    Values held as YAML (extensions, default, example, enum) and the bool member of
    ``additionalProperties`` keep theirs.
    """
    if isinstance(node, list):
        return [without_proto3_zeros(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k.startswith("x-") or k in ("default", "example", "enum") or (
                k == "additionalProperties" and isinstance(v, bool)):
            out[k] = v
        elif v is False or v == "" or (type(v) in (int, float) and v == 0):
            continue
        else:
            out[k] = without_proto3_zeros(v)
    return out


# --- the full document ---------------------------------------------------------------------


def builtin_api() -> OpenAPI:
    by_gv: dict[tuple[str, str], list[ResourceType]] = {}
    for rt in BUILTIN:
        by_gv.setdefault(rt.group_version, []).append(rt)
    return OpenAPI(schemas(), builtin_group_versions=[(g, v, r) for (g, v), r in by_gv.items()])


@pytest.fixture(scope="module")
def api() -> OpenAPI:
    api = builtin_api()
    api.set_custom_resources([CRONTAB_CRD])
    return api


def test_whole_v2_document_round_trips(api: OpenAPI) -> None:
    document = orjson.loads(api.v2())
    decoded = decode("Document", api.v2_protobuf())
    assert decoded == without_proto3_zeros(document)
    # kubectl takes a kind's field order from the protobuf order: it is the JSON's
    pod = decoded["definitions"]["io.k8s.api.core.v1.Pod"]
    assert list(pod["properties"]) == list(document["definitions"]["io.k8s.api.core.v1.Pod"][
        "properties"])
    assert "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs" in decoded["paths"]


def test_group_version_kind_is_yaml_as_gnostic_writes_it(api: OpenAPI) -> None:
    definitions = [v for n, _, v in wire_fields(api.v2_protobuf()) if n == 9]
    assert len(definitions) == 1
    for _, _, entry in wire_fields(definitions[0]):
        fields = {n: v for n, _, v in wire_fields(entry)}
        if fields[1] == b"io.k8s.api.core.v1.ConfigMap":
            schema = fields[2]
            break
    else:
        raise AssertionError("no ConfigMap definition")
    extensions: dict[str, str] = {}
    for number, _, value in wire_fields(schema):
        if number == 31:
            ext = {n: v for n, _, v in wire_fields(value)}
            extensions[ext[1].decode()] = any_yaml(ext[2])
    assert extensions["x-kubernetes-group-version-kind"] == (
        '- group: ""\n  kind: ConfigMap\n  version: v1\n')
    decoded = decode("Schema", schema)
    assert decoded["type"] == "object"
    assert decoded["properties"]["data"]["additionalProperties"] == {"type": "string"}
    crontab = decode("Document", api.v2_protobuf())["definitions"][
        "com.example.stable.v1.CronTab"]
    assert crontab["x-kubernetes-group-version-kind"] == [
        {"group": "stable.example.com", "kind": "CronTab", "version": "v1"}]


def test_v2_protobuf_is_cached_and_rebuilt_when_custom_resources_change() -> None:
    api = builtin_api()
    first = api.v2_protobuf()
    assert api.v2_protobuf() is first
    assert "com.example.stable.v1.CronTab" not in decode("Document", first)["definitions"]
    api.set_custom_resources([CRONTAB_CRD])
    second = api.v2_protobuf()
    assert second is not first
    assert "com.example.stable.v1.CronTab" in decode("Document", second)["definitions"]
    api.set_custom_resources([CRONTAB_CRD])  # unchanged: the cache stays
    assert api.v2_protobuf() is second


# --- encoding details ----------------------------------------------------------------------


def test_exact_bytes_of_a_small_document() -> None:
    assert encode_v2({"swagger": "2.0"}) == b"\x0a\x032.0"  # field 1, LEN 3
    schema = (b"\xb2\x01\x08" + b"\x0a\x06object"  # type (22): TypeItem{value: "object"}
              + b"\xca\x01\x00")  # properties (25): present and empty
    named_schema = b"\x0a\x01A" + b"\x12" + bytes([len(schema)]) + schema
    definitions = b"\x0a" + bytes([len(named_schema)]) + named_schema
    assert encode_v2({"definitions": {"A": {"properties": {}, "type": "object"}}}) == (
        b"\x4a" + bytes([len(definitions)]) + definitions)  # definitions (9)


def test_zero_scalars_are_left_out_but_a_false_oneof_is_written() -> None:
    raw = encode_v2({"definitions": {"A": {
        "type": "object", "description": "", "uniqueItems": False, "maxLength": 0,
        "additionalProperties": False}}})
    decoded = decode("Document", raw)
    assert decoded["definitions"]["A"] == {"type": "object", "additionalProperties": False}


def test_every_message_round_trips() -> None:
    document: dict[str, Any] = {
        "swagger": "2.0",
        "info": {"title": "T", "version": "1", "description": "d", "termsOfService": "tos",
                 "contact": {"name": "n", "url": "u", "email": "e", "x-c": 1},
                 "license": {"name": "Apache", "url": "l"}, "x-info": {"a": [1, 2]}},
        "host": "example.com", "basePath": "/base", "schemes": ["https", "http"],
        "consumes": ["application/json"], "produces": ["application/json", ""],
        "paths": {
            "x-paths": True,
            "/things/{id}": {
                "parameters": [
                    {"in": "path", "name": "id", "type": "string", "required": True,
                     "pattern": "^[a-z]+$", "maxLength": 63, "minLength": -1},
                    {"$ref": "#/parameters/shared"},
                ],
                "post": {
                    "tags": ["t"], "summary": "s", "operationId": "o", "deprecated": True,
                    "externalDocs": {"url": "https://docs"},
                    "parameters": [
                        {"in": "body", "name": "body", "required": True,
                         "schema": {"$ref": "#/definitions/Thing"}, "x-b": "b"},
                        {"in": "formData", "name": "f", "type": "file", "allowEmptyValue": True},
                        {"in": "header", "name": "h", "type": "array", "collectionFormat": "csv",
                         "items": {"type": "integer", "format": "int32", "minimum": -1.5,
                                   "items": {"type": "string", "enum": ["a", 1, None]}}},
                        {"in": "query", "name": "q", "type": "number", "maximum": 2.5,
                         "exclusiveMaximum": True, "multipleOf": 0.5, "default": 1.5,
                         "enum": [0.5, 1.5], "uniqueItems": True, "x-q": "q"},
                    ],
                    "responses": {
                        "200": {"description": "ok", "schema": {"type": "file"},
                                "headers": {"X-Rate": {"type": "integer", "description": "r"}},
                                "examples": {"application/json": {"a": 1}}},
                        "default": {"$ref": "#/responses/Oops"},
                        "x-r": [],
                    },
                    "security": [{"oauth": ["read", "write"]}],
                    "x-kubernetes-action": "post",
                },
            },
        },
        "definitions": {
            "Thing": {
                "type": "object", "title": "Thing", "discriminator": "kind",
                "required": ["kind"], "readOnly": True, "minProperties": 1,
                "maxProperties": 9, "xml": {"name": "thing", "namespace": "ns", "prefix": "p",
                                            "attribute": True, "wrapped": True},
                "example": {"kind": "a"},
                "properties": {
                    "kind": {"type": "string", "enum": ["y", "on", "1", "", "a: b", "é"],
                             "default": "y"},
                    "list": {"type": "array", "items": {"$ref": "#/definitions/Other"},
                             "maxItems": 3, "minItems": 1, "uniqueItems": True},
                    "map": {"type": "object", "additionalProperties": True},
                    "both": {"allOf": [{"$ref": "#/definitions/Other"}, {"minimum": -3}],
                             "exclusiveMinimum": True},
                },
                "x-kubernetes-unions": [{"discriminator": "kind", "fields-to-discriminateBy": {}}],
            },
            "Other": {"type": "integer", "format": "int64", "maximum": 1e300},
        },
        "parameters": {"shared": {"in": "query", "name": "s", "type": "boolean"}},
        "responses": {"Oops": {"description": "bad", "schema": {"$ref": "#/definitions/Other"}}},
        "security": [{"BearerToken": []}, {}],
        "securityDefinitions": {
            "basic": {"type": "basic", "description": "b"},
            "key": {"type": "apiKey", "name": "authorization", "in": "header"},
            "implicit": {"type": "oauth2", "flow": "implicit", "authorizationUrl": "a",
                         "scopes": {"read": "Read"}},
            "password": {"type": "oauth2", "flow": "password", "tokenUrl": "t", "scopes": {}},
            "app": {"type": "oauth2", "flow": "application", "tokenUrl": "t", "scopes": {}},
            "code": {"type": "oauth2", "flow": "accessCode", "authorizationUrl": "a",
                     "tokenUrl": "t", "scopes": {"w": "W"}, "x-s": None},
        },
        "tags": [{"name": "t", "description": "d", "externalDocs": {"url": "u"}}],
        "externalDocs": {"description": "more", "url": "https://more"},
        "x-document": "yes",
    }
    assert decode("Document", encode_v2(document)) == without_proto3_zeros(document)


def test_yaml_of_strings_a_yaml_1_1_reader_would_retype() -> None:
    raw = encode_v2({"definitions": {"A": {"enum": ["y", "on", "1", "~", "plain", "a b"]}}})
    schema = decode("Document", raw)["definitions"]["A"]
    assert schema["enum"] == ["y", "on", "1", "~", "plain", "a b"]
    (definitions,) = [v for n, _, v in wire_fields(raw) if n == 9]
    (entry,) = [v for _, _, v in wire_fields(definitions)]
    (schema_raw,) = [v for n, _, v in wire_fields(entry) if n == 2]
    texts = [any_yaml(v) for n, _, v in wire_fields(schema_raw) if n == 20]
    # go-yaml v2, which kubectl reads these with, takes a plain y / on as a bool
    assert texts == ['"y"\n', '"on"\n', '"1"\n', '"~"\n', "plain\n", '"a b"\n']


def test_keys_without_a_field_are_left_out() -> None:
    raw = encode_v2({"definitions": {"A": {"type": "string", "nullable": True, "oneOf": []}},
                     "openapi": "3.0.0", "paths": {"not-a-path": {}}})
    assert decode("Document", raw) == {"definitions": {"A": {"type": "string"}}, "paths": {}}


@pytest.mark.parametrize(("accept", "expected"), [
    ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf", PROTOBUF_CONTENT_TYPE),
    ("application/com.github.proto-openapi.spec.v2.v1.0+protobuf", PROTOBUF_CONTENT_TYPE),
    ("", "application/json"),
    ("*/*", "application/json"),
    ("application/json, */*", "application/json"),
    ("application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
     PROTOBUF_CONTENT_TYPE),
    ("*/*;q=0.1, application/com.github.proto-openapi.spec.v2.v1.0+protobuf;q=0.9",
     PROTOBUF_CONTENT_TYPE),
    ("application/*", "application/json"),
    ("text/html", None),
    ("application/json;q=0", None),
])
def test_content_negotiation(accept: str, expected: str | None) -> None:
    assert v2_content_type(accept) == expected


# --- over HTTP, with kubectl ---------------------------------------------------------------


def test_http_serves_protobuf_json_or_406(cluster: Cluster) -> None:
    with tempfile.NamedTemporaryFile(suffix=".pem") as ca:
        ca.write(cluster.ca_pem)
        ca.flush()
        http = urllib3.PoolManager(cert_reqs=ssl.CERT_REQUIRED, ca_certs=ca.name)
        auth = {"Authorization": f"Bearer {cluster.token}"}
        resp = http.request("GET", cluster.url + "/openapi/v2", headers={
            **auth, "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
        assert resp.status == 200
        assert resp.headers["Content-Type"] == PROTOBUF_CONTENT_TYPE
        assert resp.headers["Vary"] == "Accept"
        document = decode("Document", resp.data)
        assert document["swagger"] == "2.0"
        assert "io.k8s.api.core.v1.ConfigMap" in document["definitions"]
        resp = http.request("GET", cluster.url + "/openapi/v2",
                            headers={**auth, "Accept": "application/json"})
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"
        assert json.loads(resp.data)["definitions"].keys() == document["definitions"].keys()
        resp = http.request("GET", cluster.url + "/openapi/v2",
                            headers={**auth, "Accept": "text/html"})
        assert resp.status == 406


def _configmap_list(*items: dict[str, Any]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", **item} for item in items]})


def test_kubectl_apply_and_create_a_list(kubectl: Kubectl, namespace: str,
                                         manifests: Path) -> None:
    applied = manifests / "applied.json"
    applied.write_text(_configmap_list({"metadata": {"name": "one"}, "data": {"a": "1"}},
                                       {"metadata": {"name": "two"}}))
    out = kubectl("apply", "-n", namespace, "-f", str(applied))
    assert "configmap/one created" in out and "configmap/two created" in out
    created = manifests / "created.json"
    created.write_text(_configmap_list({"metadata": {"name": "three"}},
                                       {"metadata": {"name": "four"}, "data": {"b": "2"}}))
    out = kubectl("create", "-n", namespace, "-f", str(created))
    assert "configmap/three created" in out and "configmap/four created" in out
    names = kubectl("get", "configmaps", "-n", namespace, "-o",
                    "jsonpath={.items[*].metadata.name}").split()
    assert {"one", "two", "three", "four"} <= set(names)
    assert kubectl.json("get", "configmap", "one", "-n", namespace)["data"] == {"a": "1"}


def test_kubectl_validates_list_items_against_v2(kubectl: Kubectl, namespace: str,
                                                 manifests: Path) -> None:
    bad = manifests / "bad.json"
    bad.write_text(_configmap_list({"metadata": {"name": "fine"}},
                                   {"metadata": {"name": "broken"}, "data": 5}))
    for verb in ("apply", "create"):
        proc = kubectl.run(verb, "-n", namespace, "-f", str(bad), check=False)
        assert proc.returncode != 0
        assert "error validating data" in proc.stderr
        assert ('invalid type for io.k8s.api.core.v1.ConfigMap.data: got "integer", '
                'expected "map"') in proc.stderr
    # rejected on the client, before any item was sent
    assert "configmap/fine" not in kubectl("get", "configmaps", "-n", namespace, "-o", "name")
