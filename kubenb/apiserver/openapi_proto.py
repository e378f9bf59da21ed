"""``/openapi/v2`` as protobuf: the Swagger 2.0 document as gnostic's ``openapi.v2.Document``.

Why this exists: kubectl 1.37 asks for ``/openapi/v2`` only as
``application/com.github.proto-openapi.spec.v2@v1.0+protobuf`` (client-go's
``discovery.OpenAPISchema``) and has no JSON fallback. It does so for client-side validation,
which every ``kubectl apply|create -f`` of a ``kind: List`` runs over the items, and for
``kubectl explain --output plaintext-openapiv2``. kube-openapi's handler serves the protobuf by
parsing its JSON document with gnostic (``openapi_v2.ParseDocument``) and marshalling the result;
this module does the same from the same JSON document, so both forms always agree.

The encoder is small and hand-written: protobuf's wire format is only varints, little-endian
doubles and length-delimited bytes, and the message layouts below are the field numbers of
``openapiv2/OpenAPIv2.proto`` in github.com/google/gnostic-models. It covers every message the
document can hold (paths, operations, parameters, responses, definitions, security), mapping JSON
the way gnostic's compiler does:

* keys starting with ``x-`` become ``NamedAny`` vendor extensions whose ``Any.yaml`` holds the
  value as YAML text (kubectl reads them back with ``yaml.Unmarshal``: that is where it finds
  ``x-kubernetes-group-version-kind``); ``default``, ``example`` and ``enum`` values are ``Any``
  the same way;
* JSON objects keyed by user names (``definitions``, ``properties``, ``paths``, response codes,
  ``securityDefinitions``) become repeated ``Named*`` entries in the JSON order;
* JSON unions become the proto ``oneof`` gnostic picks: ``additionalProperties`` is a bool or a
  schema, a parameter is a body parameter or a header/formData/query/path one by its ``in``, a
  ``$ref`` parameter or response is a ``JsonReference``, a ``type: file`` response schema is a
  ``FileSchema``, a security scheme is chosen by ``type`` (and ``flow`` for OAuth 2);
* ``type`` is a ``TypeItem`` (a string becomes a one-element list) and ``items`` an ``ItemsItem``.

Go's ``proto.Marshal`` writes fields in field-number order and leaves proto3 scalars at their zero
value (``""``, ``false``, ``0``) out, but writes a present sub-message even when it is empty; this
encoder does the same. That matters: kubectl tells an object schema (``properties`` present, even
``{}``) from a map (``properties`` absent) by the presence of the ``Properties`` message.

gnostic rejects a whole document over one unknown keyword or mistyped value. Here such a key (a
Swagger 2.0 message has no field for it) or value is left out and the rest is encoded, so one odd
custom resource schema cannot take client-side validation away from every kind.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["JSON_CONTENT_TYPE", "PROTOBUF_CONTENT_TYPE", "encode_v2", "v2_content_type"]

#: What kube-openapi answers a protobuf request with (note ``.v1.0``, where clients send ``@v1.0``).
PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
JSON_CONTENT_TYPE = "application/json"

# kube-openapi accepts both protobuf spellings and answers both with PROTOBUF_CONTENT_TYPE.
_OFFERS: tuple[tuple[str, str, str], ...] = (
    ("application", "json", JSON_CONTENT_TYPE),
    ("application", "com.github.proto-openapi.spec.v2@v1.0+protobuf", PROTOBUF_CONTENT_TYPE),
    ("application", "com.github.proto-openapi.spec.v2.v1.0+protobuf", PROTOBUF_CONTENT_TYPE),
)


def v2_content_type(accept: str) -> str | None:
    """The form of ``/openapi/v2`` to send for an Accept header, or None for 406 Not Acceptable.

    Negotiated as kube-openapi's handler does with goautoneg: clauses by descending ``q``, then
    concrete types before wildcards; the first clause that matches an offer wins. An absent
    Accept means ``*/*``, which gets JSON.
    """
    clauses: list[tuple[float, bool, bool, str, str]] = []
    for raw in (accept or "*/*").split(","):
        media, *params = raw.split(";")
        kind, _, sub = media.strip().lower().partition("/")
        if not kind:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            clauses.append((-q, kind == "*", sub in ("*", ""), kind, sub or "*"))
    clauses.sort(key=lambda c: c[:3])
    for _, _, _, kind, sub in clauses:
        for offer_type, offer_sub, content_type in _OFFERS:
            if kind in (offer_type, "*") and sub in (offer_sub, "*"):
                return content_type
    return None


def encode_v2(document: Mapping[str, Any]) -> bytes:
    """The Swagger 2.0 ``document`` (parsed JSON) as a serialized ``openapi.v2.Document``."""
    return _encode(_DOCUMENT, document, _Context())


# --- wire format ---------------------------------------------------------------------------------

_VARINT = 0
_FIXED64 = 1
_LEN = 2


def _varint(value: int) -> bytes:
    value &= 0xFFFF_FFFF_FFFF_FFFF  # negative int64 values travel as 10-byte two's complement
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _len(number: int, payload: bytes) -> bytes:
    return _key(number, _LEN) + _varint(len(payload)) + payload


# --- YAML text for Any ---------------------------------------------------------------------------

# Plain (unquoted) only when no YAML 1.1 reader can take it for anything but a string: go-yaml v2,
# which kubectl uses, reads y/n/yes/on/... as booleans.
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*\Z")
_YAML_WORDS = frozenset(
    w
    for word in ("y", "n", "yes", "no", "true", "false", "on", "off", "null")
    for w in (word, word.capitalize(), word.upper())
)


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, str):
        if _PLAIN.match(value) and value not in _YAML_WORDS:
            return value
        # a JSON string is a valid YAML double-quoted scalar (same escapes)
        return orjson.dumps(value).decode()
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return orjson.dumps(value).decode()  # numbers, true/false, null


def _yaml_block(value: Any, indent: str) -> list[str]:
    """Block-style YAML lines, as gnostic's ``compiler.Marshal`` (go-yaml) writes them."""
    lines: list[str] = []
    if isinstance(value, dict) and value:
        for k, v in value.items():
            key = _yaml_scalar(str(k))
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{indent}{key}:")
                lines.extend(_yaml_block(v, indent + "  "))
            else:
                lines.append(f"{indent}{key}: {_yaml_scalar(v)}")
    elif isinstance(value, list) and value:
        for item in value:
            if isinstance(item, (dict, list)) and item:
                nested = _yaml_block(item, indent + "  ")
                lines.append(f"{indent}- {nested[0][len(indent) + 2:]}")
                lines.extend(nested[1:])
            else:
                lines.append(f"{indent}- {_yaml_scalar(item)}")
    else:
        lines.append(indent + _yaml_scalar(value))
    return lines


class _Context:
    """Per-document memo: the same extension values (``atomic``, a GVK) recur thousands of times."""

    def __init__(self) -> None:
        self.any: dict[bytes, bytes] = {}

    def any_message(self, value: Any) -> bytes:
        memo_key = orjson.dumps(value)
        cached = self.any.get(memo_key)
        if cached is None:
            text = "\n".join(_yaml_block(value, "")) + "\n"
            cached = self.any[memo_key] = _len(_ANY_YAML, text.encode())
        return cached


# --- field writers -------------------------------------------------------------------------------

# A writer turns one JSON value into the complete bytes of one field (tag included; several
# records for a repeated field), or b"" when there is nothing to write.
_Writer = Callable[[int, Any, _Context], bytes]


def _string(number: int, value: Any, ctx: _Context) -> bytes:
    if isinstance(value, str) and value:
        return _len(number, value.encode())
    return b""


def _bool(number: int, value: Any, ctx: _Context) -> bytes:
    return _key(number, _VARINT) + b"\x01" if value is True else b""


def _int64(number: int, value: Any, ctx: _Context) -> bytes:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value:
        return _key(number, _VARINT) + _varint(value)
    return b""


def _double(number: int, value: Any, ctx: _Context) -> bytes:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value:
        return _key(number, _FIXED64) + struct.pack("<d", float(value))
    return b""


def _strings(number: int, value: Any, ctx: _Context) -> bytes:
    if not isinstance(value, list):
        return b""
    # an empty string is still an element of a repeated field
    return b"".join(_len(number, s.encode()) for s in value if isinstance(s, str))


def _any(number: int, value: Any, ctx: _Context) -> bytes:
    return _len(number, ctx.any_message(value))


def _anys(number: int, value: Any, ctx: _Context) -> bytes:
    if not isinstance(value, list):
        return b""
    return b"".join(_any(number, item, ctx) for item in value)


def _message(name: str) -> _Writer:
    """A sub-message field; looked up by name at call time because Schema contains Schema."""

    def write(number: int, value: Any, ctx: _Context) -> bytes:
        if not isinstance(value, dict):
            return b""
        return _len(number, _encode(_MESSAGES[name], value, ctx))

    return write


def _repeated(item: _Writer) -> _Writer:
    def write(number: int, value: Any, ctx: _Context) -> bytes:
        if not isinstance(value, list):
            return b""
        return b"".join(item(number, v, ctx) for v in value)

    return write


def _named(number: int, name: str, value: Any, write_value: _Writer, ctx: _Context) -> bytes:
    """One ``Named*`` entry: ``name = 1``, ``value = 2``."""
    return _len(number, _string(_NAMED_NAME, name, ctx) + write_value(_NAMED_VALUE, value, ctx))


def _map(write_value: _Writer) -> _Writer:
    """A message whose only field (1) holds one ``Named*`` entry per key of a JSON object."""

    def write(number: int, value: Any, ctx: _Context) -> bytes:
        if not isinstance(value, dict):
            return b""
        entries = b"".join(
            _named(_ADDITIONAL_PROPERTIES, k, v, write_value, ctx) for k, v in value.items()
        )
        return _len(number, entries)

    return write


_Choice = Callable[[Any], tuple[int, _Writer] | None]


def _oneof(choose: _Choice) -> _Writer:
    """A wrapper message holding one of several members, picked from the JSON value."""

    def write(number: int, value: Any, ctx: _Context) -> bytes:
        choice = choose(value)
        if choice is None:
            return b""
        inner_number, inner = choice
        return _len(number, inner(inner_number, value, ctx))

    return write


def _additional_properties(number: int, value: Any, ctx: _Context) -> bytes:
    if isinstance(value, bool):
        # a oneof member has presence: false is written, unlike a plain proto3 bool
        return _len(number, _key(2, _VARINT) + (b"\x01" if value else b"\x00"))
    if isinstance(value, dict):
        return _len(number, _message("Schema")(1, value, ctx))
    return b""


def _type_item(number: int, value: Any, ctx: _Context) -> bytes:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return b""
    return _len(number, _strings(1, value, ctx))


def _items_item(number: int, value: Any, ctx: _Context) -> bytes:
    schemas = [value] if isinstance(value, dict) else value if isinstance(value, list) else None
    if schemas is None:
        return b""
    return _len(number, _repeated(_message("Schema"))(1, schemas, ctx))


def _string_array(number: int, value: Any, ctx: _Context) -> bytes:
    return _len(number, _strings(1, value, ctx)) if isinstance(value, list) else b""


def _non_body_kind(value: Any) -> tuple[int, _Writer] | None:
    """NonBodyParameter oneof: header 1, form_data 2, query 3, path 4, by ``in``."""
    if not isinstance(value, dict) or value.get("in") not in _NON_BODY:
        return None
    number, name = _NON_BODY[value["in"]]
    return number, _message(name)


def _parameter_kind(value: Any) -> tuple[int, _Writer] | None:
    """Parameter oneof: body_parameter 1, non_body_parameter 2."""
    if not isinstance(value, dict):
        return None
    if value.get("in") == "body":
        return 1, _message("BodyParameter")
    return (2, _oneof(_non_body_kind)) if value.get("in") in _NON_BODY else None


def _ref_or(number: int, member: _Writer) -> _Choice:
    """ParametersItem / ResponseValue oneof: a ``$ref`` is the ``JsonReference`` (field 2)."""

    def choose(value: Any) -> tuple[int, _Writer] | None:
        if not isinstance(value, dict):
            return None
        return (2, _message("JsonReference")) if "$ref" in value else (number, member)

    return choose


def _schema_item_kind(value: Any) -> tuple[int, _Writer] | None:
    """SchemaItem oneof: schema 1, file_schema 2 (``type: file``)."""
    if not isinstance(value, dict):
        return None
    return (2, _message("FileSchema")) if value.get("type") == "file" else (1, _message("Schema"))


def _security_kind(value: Any) -> tuple[int, _Writer] | None:
    """SecurityDefinitionsItem oneof, by ``type`` and, for OAuth 2, ``flow``."""
    if not isinstance(value, dict):
        return None
    kind = value.get("type")
    found = _OAUTH2_FLOWS.get(value.get("flow")) if kind == "oauth2" else _SECURITY_TYPES.get(kind)
    return None if found is None else (found[0], _message(found[1]))


# --- message layouts (field numbers from gnostic-models openapiv2/OpenAPIv2.proto) ---------------

_ANY_YAML = 2  # Any: google.protobuf.Any value = 1 (unused by gnostic's compiler), string yaml = 2
_NAMED_NAME = 1  # every Named*: string name = 1, <T> value = 2
_NAMED_VALUE = 2
# Definitions, Properties, ...: repeated Named* additional_properties = 1
_ADDITIONAL_PROPERTIES = 1


@dataclass(frozen=True)
class _Layout:
    """One message: JSON key -> (field number, writer); where ``x-`` keys and pattern keys go."""

    fields: Mapping[str, tuple[int, _Writer]]
    extensions: int | None = None  # number of the repeated NamedAny vendor_extension field
    # keys matching the pattern are repeated Named* entries (Paths' "/...", Responses' codes)
    patterned: tuple[re.Pattern[str], int, _Writer] | None = None


def _encode(layout: _Layout, obj: Mapping[str, Any], ctx: _Context) -> bytes:
    chunks: list[tuple[int, bytes]] = []
    extensions: list[bytes] = []
    entries: list[bytes] = []
    for key, value in obj.items():
        field = layout.fields.get(key)
        if field is not None:
            number, write = field
            chunk = write(number, value, ctx)
            if chunk:
                chunks.append((number, chunk))
        elif layout.extensions is not None and key.startswith("x-"):
            extensions.append(_named(layout.extensions, key, value, _any, ctx))
        elif layout.patterned is not None and layout.patterned[0].match(key):
            _, number, write = layout.patterned
            entries.append(_named(number, key, value, write, ctx))
        # anything else has no field in the message: left out (see the module docstring)
    if extensions:
        assert layout.extensions is not None
        chunks.append((layout.extensions, b"".join(extensions)))
    if entries:
        assert layout.patterned is not None
        chunks.append((layout.patterned[1], b"".join(entries)))
    chunks.sort(key=lambda chunk: chunk[0])  # stable: a repeated field keeps its order
    return b"".join(chunk for _, chunk in chunks)


def _primitive_facets(first: int) -> dict[str, tuple[int, _Writer]]:
    """The validation keywords that PrimitivesItems, Header and the four non-body parameter
    messages each declare as one run of consecutive numbers, starting at ``default``."""
    writers: list[tuple[str, _Writer]] = [
        ("default", _any),
        ("maximum", _double),
        ("exclusiveMaximum", _bool),
        ("minimum", _double),
        ("exclusiveMinimum", _bool),
        ("maxLength", _int64),
        ("minLength", _int64),
        ("pattern", _string),
        ("maxItems", _int64),
        ("minItems", _int64),
        ("uniqueItems", _bool),
        ("enum", _anys),
        ("multipleOf", _double),
    ]
    return {key: (first + i, write) for i, (key, write) in enumerate(writers)}


# PrimitivesItems: type 1, format 2, items 3, collection_format 4, default 5 .. multiple_of 17,
# vendor_extension 18.
_PRIMITIVES_ITEMS = _Layout(
    {
        "type": (1, _string),
        "format": (2, _string),
        "items": (3, _message("PrimitivesItems")),
        "collectionFormat": (4, _string),
        **_primitive_facets(5),
    },
    extensions=18,
)

# Header: as PrimitivesItems for 1-17, then description 18, vendor_extension 19.
_HEADER = _Layout(
    {**_PRIMITIVES_ITEMS.fields, "description": (18, _string)},
    extensions=19,
)

# QueryParameterSubSchema and FormDataParameterSubSchema: required 1, in 2, description 3,
# name 4, allow_empty_value 5, type 6, format 7, items 8, collection_format 9, default 10 ..
# multiple_of 22, vendor_extension 23.
_QUERY_PARAMETER = _Layout(
    {
        "required": (1, _bool),
        "in": (2, _string),
        "description": (3, _string),
        "name": (4, _string),
        "allowEmptyValue": (5, _bool),
        "type": (6, _string),
        "format": (7, _string),
        "items": (8, _message("PrimitivesItems")),
        "collectionFormat": (9, _string),
        **_primitive_facets(10),
    },
    extensions=23,
)

# HeaderParameterSubSchema and PathParameterSubSchema: as above without allow_empty_value, so
# type 5, format 6, items 7, collection_format 8, default 9 .. multiple_of 21, vendor_extension 22.
_PATH_PARAMETER = _Layout(
    {
        "required": (1, _bool),
        "in": (2, _string),
        "description": (3, _string),
        "name": (4, _string),
        "type": (5, _string),
        "format": (6, _string),
        "items": (7, _message("PrimitivesItems")),
        "collectionFormat": (8, _string),
        **_primitive_facets(9),
    },
    extensions=22,
)

# NonBodyParameter oneof: header 1, form_data 2, query 3, path 4.
_NON_BODY: dict[Any, tuple[int, str]] = {
    "header": (1, "HeaderParameterSubSchema"),
    "formData": (2, "FormDataParameterSubSchema"),
    "query": (3, "QueryParameterSubSchema"),
    "path": (4, "PathParameterSubSchema"),
}

# SecurityDefinitionsItem oneof: basic 1, api_key 2, oauth2 implicit 3, password 4,
# application 5, access_code 6.
_SECURITY_TYPES: dict[Any, tuple[int, str]] = {
    "basic": (1, "BasicAuthenticationSecurity"),
    "apiKey": (2, "ApiKeySecurity"),
}
_OAUTH2_FLOWS: dict[Any, tuple[int, str]] = {
    "implicit": (3, "Oauth2ImplicitSecurity"),
    "password": (4, "Oauth2PasswordSecurity"),
    "application": (5, "Oauth2ApplicationSecurity"),
    "accessCode": (6, "Oauth2AccessCodeSecurity"),
}

_SCHEMA = _Layout(
    {
        "$ref": (1, _string),
        "format": (2, _string),
        "title": (3, _string),
        "description": (4, _string),
        "default": (5, _any),
        "multipleOf": (6, _double),
        "maximum": (7, _double),
        "exclusiveMaximum": (8, _bool),
        "minimum": (9, _double),
        "exclusiveMinimum": (10, _bool),
        "maxLength": (11, _int64),
        "minLength": (12, _int64),
        "pattern": (13, _string),
        "maxItems": (14, _int64),
        "minItems": (15, _int64),
        "uniqueItems": (16, _bool),
        "maxProperties": (17, _int64),
        "minProperties": (18, _int64),
        "required": (19, _strings),
        "enum": (20, _anys),
        "additionalProperties": (21, _additional_properties),
        "type": (22, _type_item),
        "items": (23, _items_item),
        "allOf": (24, _repeated(_message("Schema"))),
        "properties": (25, _map(_message("Schema"))),
        "discriminator": (26, _string),
        "readOnly": (27, _bool),
        "xml": (28, _message("Xml")),
        "externalDocs": (29, _message("ExternalDocs")),
        "example": (30, _any),
    },
    extensions=31,
)

# ParametersItem oneof: parameter 1, json_reference 2.
_PARAMETERS_ITEM = _oneof(_ref_or(1, _oneof(_parameter_kind)))

_MESSAGES: dict[str, _Layout] = {
    "Schema": _SCHEMA,
    "FileSchema": _Layout(
        {
            "format": (1, _string),
            "title": (2, _string),
            "description": (3, _string),
            "default": (4, _any),
            "required": (5, _strings),
            "type": (6, _string),
            "readOnly": (7, _bool),
            "externalDocs": (8, _message("ExternalDocs")),
            "example": (9, _any),
        },
        extensions=10,
    ),
    "Xml": _Layout(
        {
            "name": (1, _string),
            "namespace": (2, _string),
            "prefix": (3, _string),
            "attribute": (4, _bool),
            "wrapped": (5, _bool),
        },
        extensions=6,
    ),
    "ExternalDocs": _Layout({"description": (1, _string), "url": (2, _string)}, extensions=3),
    "Info": _Layout(
        {
            "title": (1, _string),
            "version": (2, _string),
            "description": (3, _string),
            "termsOfService": (4, _string),
            "contact": (5, _message("Contact")),
            "license": (6, _message("License")),
        },
        extensions=7,
    ),
    "Contact": _Layout(
        {"name": (1, _string), "url": (2, _string), "email": (3, _string)}, extensions=4
    ),
    "License": _Layout({"name": (1, _string), "url": (2, _string)}, extensions=3),
    "Tag": _Layout(
        {
            "name": (1, _string),
            "description": (2, _string),
            "externalDocs": (3, _message("ExternalDocs")),
        },
        extensions=4,
    ),
    # Paths: vendor_extension 1, repeated NamedPathItem path 2 (keys starting with "/").
    "Paths": _Layout(
        {}, extensions=1, patterned=(re.compile(r"/"), 2, _message("PathItem"))
    ),
    "PathItem": _Layout(
        {
            "$ref": (1, _string),
            "get": (2, _message("Operation")),
            "put": (3, _message("Operation")),
            "post": (4, _message("Operation")),
            "delete": (5, _message("Operation")),
            "options": (6, _message("Operation")),
            "head": (7, _message("Operation")),
            "patch": (8, _message("Operation")),
            "parameters": (9, _repeated(_PARAMETERS_ITEM)),
        },
        extensions=10,
    ),
    "Operation": _Layout(
        {
            "tags": (1, _strings),
            "summary": (2, _string),
            "description": (3, _string),
            "externalDocs": (4, _message("ExternalDocs")),
            "operationId": (5, _string),
            "produces": (6, _strings),
            "consumes": (7, _strings),
            "parameters": (8, _repeated(_PARAMETERS_ITEM)),
            "responses": (9, _message("Responses")),
            "schemes": (10, _strings),
            "deprecated": (11, _bool),
            "security": (12, _repeated(_map(_string_array))),
        },
        extensions=13,
    ),
    "BodyParameter": _Layout(
        {
            "description": (1, _string),
            "name": (2, _string),
            "in": (3, _string),
            "required": (4, _bool),
            "schema": (5, _message("Schema")),
        },
        extensions=6,
    ),
    "HeaderParameterSubSchema": _PATH_PARAMETER,
    "FormDataParameterSubSchema": _QUERY_PARAMETER,
    "QueryParameterSubSchema": _QUERY_PARAMETER,
    "PathParameterSubSchema": _PATH_PARAMETER,
    "PrimitivesItems": _PRIMITIVES_ITEMS,
    "JsonReference": _Layout({"$ref": (1, _string), "description": (2, _string)}),
    # Responses: repeated NamedResponseValue response_code 1 (keys "200", "default"),
    # vendor_extension 2.
    "Responses": _Layout(
        {},
        extensions=2,
        patterned=(
            re.compile(r"[0-9]{3}\Z|default\Z"),
            1,
            _oneof(_ref_or(1, _message("Response"))),
        ),
    ),
    "Response": _Layout(
        {
            "description": (1, _string),
            "schema": (2, _oneof(_schema_item_kind)),
            "headers": (3, _map(_message("Header"))),
            "examples": (4, _map(_any)),
        },
        extensions=5,
    ),
    "Header": _HEADER,
    "BasicAuthenticationSecurity": _Layout(
        {"type": (1, _string), "description": (2, _string)}, extensions=3
    ),
    "ApiKeySecurity": _Layout(
        {
            "type": (1, _string),
            "name": (2, _string),
            "in": (3, _string),
            "description": (4, _string),
        },
        extensions=5,
    ),
    "Oauth2ImplicitSecurity": _Layout(
        {
            "type": (1, _string),
            "flow": (2, _string),
            "scopes": (3, _map(_string)),
            "authorizationUrl": (4, _string),
            "description": (5, _string),
        },
        extensions=6,
    ),
    "Oauth2PasswordSecurity": _Layout(
        {
            "type": (1, _string),
            "flow": (2, _string),
            "scopes": (3, _map(_string)),
            "tokenUrl": (4, _string),
            "description": (5, _string),
        },
        extensions=6,
    ),
    "Oauth2AccessCodeSecurity": _Layout(
        {
            "type": (1, _string),
            "flow": (2, _string),
            "scopes": (3, _map(_string)),
            "authorizationUrl": (4, _string),
            "tokenUrl": (5, _string),
            "description": (6, _string),
        },
        extensions=7,
    ),
}
# Oauth2ApplicationSecurity has the same layout as Oauth2PasswordSecurity.
_MESSAGES["Oauth2ApplicationSecurity"] = _MESSAGES["Oauth2PasswordSecurity"]

_DOCUMENT = _Layout(
    {
        "swagger": (1, _string),
        "info": (2, _message("Info")),
        "host": (3, _string),
        "basePath": (4, _string),
        "schemes": (5, _strings),
        "consumes": (6, _strings),
        "produces": (7, _strings),
        "paths": (8, _message("Paths")),
        "definitions": (9, _map(_message("Schema"))),
        "parameters": (10, _map(_oneof(_parameter_kind))),
        "responses": (11, _map(_message("Response"))),
        "security": (12, _repeated(_map(_string_array))),
        "securityDefinitions": (13, _map(_oneof(_security_kind))),
        "tags": (14, _repeated(_message("Tag"))),
        "externalDocs": (15, _message("ExternalDocs")),
    },
    extensions=16,
)
