"""The OpenAPI documents the apiserver publishes: ``/openapi/v3`` (index and one document per
group-version) and ``/openapi/v2`` (one Swagger 2.0 document).

Why this exists: kubectl reads these documents and nothing else to learn what a kind looks like.

- ``kubectl explain`` fetches the ``/openapi/v3`` index, then the group-version document. It finds
  the kind through the ``x-kubernetes-group-version-kind`` of an *operation* on the resource's path
  (``/apis/apps/v1/namespaces/{namespace}/deployments``), then the component schema whose
  ``x-kubernetes-group-version-kind`` list holds the same group/version/kind, and walks
  ``properties``, ``items``, ``additionalProperties``, ``allOf`` and ``$ref`` from there. It needs
  ``type`` as a single string.
- Client-side ``kubectl apply`` / ``diff`` compute a strategic merge patch from the v3 document: a
  PATCH operation of the kind that accepts ``application/strategic-merge-patch+json``, then
  ``x-kubernetes-patch-strategy`` / ``x-kubernetes-patch-merge-key`` read along the path, following
  ``allOf[0]`` and one ``$ref`` at each step. Custom resources offer no strategic merge patch, so
  kubectl uses a JSON merge patch for them, exactly as against a real cluster.
- Validation: kubectl looks for a ``fieldValidation`` query parameter on the kind's PATCH
  operation; when present it leaves validation to the server and needs no schema.

``/openapi/v2`` is what kubectl 1.37 reads for client-side validation of ``kind: List`` items
and for ``explain --output plaintext-openapiv2``, and it asks for protobuf only
(``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``): ``v2_protobuf`` encodes the
JSON document with :mod:`kubenb.apiserver.openapi_proto`, as kube-openapi does with gnostic.

The definitions come from the kubernetes-validate JSON Schema (see ``schemas.py``) and are
converted back into OpenAPI the way the real documents spell them: ``type`` lists like
``["object", "null"]`` become ``"object"``, ``$ref`` with siblings (a description, a patch
strategy) becomes ``allOf: [{$ref}]`` plus the siblings in v3 and stays a bare ``$ref`` with
siblings in v2, the ``enum`` that the JSON Schema conversion pins on ``apiVersion`` / ``kind`` is
dropped, and ``IntOrString`` / ``Quantity`` get their published shapes (``oneOf`` in v3,
``type: string`` in v2). The JSON Schema keeps ``format`` (int32, int64, ...) and the
``x-kubernetes-*`` extensions; it does not keep ``default`` values or ``readOnly``, so those are
absent here.

Documents are large (core/v1 is over a megabyte), so each is built on first use and its
serialized bytes are cached; custom resource changes drop only the documents of the group-versions
they touch. The hash in the index is the upper-case hex SHA-512 of a document's bytes, as
kube-openapi computes it, so a cached document is never stale: clients (kubectl keeps an HTTP disk
cache) may cache ``?hash=`` URLs as immutable.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from kubenb.apiserver.openapi_proto import encode_v2
from kubenb.apiserver.schemas import SchemaSet

__all__ = [
    "ALL_VERBS",
    "OpenAPI",
    "ResourceDescription",
    "ResourceInfo",
    "SubresourceInfo",
    "group_version_path",
]

_Json = dict[str, Any]
_GVK = tuple[str, str, str]  # group, version, kind

_V3_REF = "#/components/schemas/"
_V2_REF = "#/definitions/"
_SOURCE_REF = "#/$defs/"

_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_STATUS = _META + "Status"
_DELETE_OPTIONS = _META + "DeleteOptions"
_PATCH = _META + "Patch"
_WATCH_EVENT = _META + "WatchEvent"
_OBJECT_META = _META + "ObjectMeta"
_LIST_META = _META + "ListMeta"
_SCALE_GVK: _GVK = ("autoscaling", "v1", "Scale")

# We serve JSON (and YAML) only, so the documents do not advertise protobuf.
_PRODUCES = ("application/json", "application/yaml")
_PRODUCES_LIST = ("application/json", "application/json;stream=watch", "application/yaml")
_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
# apiextensions-apiserver offers no strategic merge patch for custom resources.
_CRD_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
)
_UNAUTHORIZED = {"401": {"description": "Unauthorized"}}
_SECURITY_SCHEME = {
    "BearerToken": {
        "description": "Bearer Token authentication",
        "in": "header",
        "name": "authorization",
        "type": "apiKey",
    }
}
_INFO = {"title": "Kubernetes", "version": "unversioned"}

_API_VERSION_DOC = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should "
    "convert recognized schemas to the latest internal value, and may reject unrecognized values. "
    "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#resources"
)
_KIND_DOC = (
    "Kind is a string value representing the REST resource this object represents. Servers may "
    "infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. "
    "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#types-kinds"
)
_OBJECT_META_DOC = (
    "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/"
    "sig-architecture/api-conventions.md#metadata"
)
_LIST_META_DOC = (
    "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/"
    "sig-architecture/api-conventions.md#types-kinds"
)
_INT_OR_STRING_DOC = (
    "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML "
    "marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to "
    "have, for example, a JSON field that can accept a name or number."
)
_QUANTITY_DOC = (
    "Quantity is a fixed-point representation of a number. It provides convenient "
    "marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.\n\n"
    "The serialization format is:\n\n"
    "``` <quantity>        ::= <signedNumber><suffix>\n\n"
    '\t(Note that <suffix> may be empty, from the "" case in <decimalSI>.)\n\n'
    "<digit>           ::= 0 | 1 | ... | 9 <digits>          ::= <digit> | <digit><digits> "
    "<number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits> "
    '<sign>            ::= "+" | "-" <signedNumber>    ::= <number> | <sign><number> '
    "<suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI> "
    "<binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei\n\n"
    "\t(International System of units; See: http://physics.nist.gov/cuu/Units/binary.html)\n\n"
    '<decimalSI>       ::= m | "" | k | M | G | T | P | E\n\n'
    "\t(Note that 1024 = 1Ki but 1000 = 1k; I didn't choose the capitalization.)\n\n"
    '<decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber> ```\n\n'
    "No matter which of the three exponent forms is used, no quantity may represent a number "
    "greater than 2^63-1 in magnitude, nor may it have more than 3 decimal places. Numbers larger "
    "or more precise will be capped or rounded up. (E.g.: 0.1m will rounded up to 1m.)\n\n"
    "Examples:\n\n"
    '- 1.5 will be serialized as "1500m" - 1.5Gi will be serialized as "1536Mi"'
)


# --- resources as the lead's registry describes them -------------------------------------------


ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class SubresourceInfo:
    """A subresource such as ``status`` or ``scale``; ``kind`` set when its body is another kind."""

    name: str
    verbs: Sequence[str] = ("get", "patch", "update")
    group: str | None = None
    version: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class ResourceInfo:
    """One REST resource of a group-version, as discovery lists it."""

    plural: str
    kind: str
    namespaced: bool
    verbs: Sequence[str] = ALL_VERBS
    # Plain names take the well-known meaning below ("status", "scale", "log", "exec", ...).
    subresources: Sequence[str | SubresourceInfo] = ()


class ResourceDescription(Protocol):
    """What the documents read from a resource; ``ResourceInfo`` and the registry's types fit."""

    @property
    def plural(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def namespaced(self) -> bool: ...
    @property
    def verbs(self) -> Sequence[str]: ...
    @property
    def subresources(self) -> Sequence[str | SubresourceInfo]: ...


# name -> (verbs, body group/version/kind or None for the parent's kind)
_KNOWN_SUBRESOURCES: dict[str, tuple[tuple[str, ...], _GVK | None]] = {
    "status": (("get", "patch", "update"), None),
    "scale": (("get", "patch", "update"), _SCALE_GVK),
    "ephemeralcontainers": (("get", "patch", "update"), None),
    "resize": (("get", "patch", "update"), None),
    "approval": (("get", "patch", "update"), None),
    "finalize": (("update",), None),
    "eviction": (("create",), ("policy", "v1", "Eviction")),
    "binding": (("create",), ("", "v1", "Binding")),
    "token": (("create",), ("authentication.k8s.io", "v1", "TokenRequest")),
    "log": (("get",), None),
    "exec": (("create", "get"), None),
    "attach": (("create", "get"), None),
    "portforward": (("create", "get"), None),
    "proxy": (("create", "delete", "get", "patch", "update"), None),
}
# Connect subresources stream bytes; their operations carry the kind of their options struct.
_CONNECT_OPTIONS = {
    "exec": "ExecOptions",
    "attach": "AttachOptions",
    "portforward": "PortForwardOptions",
    "proxy": "ProxyOptions",
}


def _subresource(sub: str | SubresourceInfo) -> SubresourceInfo:
    if isinstance(sub, SubresourceInfo):
        return sub
    verbs, gvk = _KNOWN_SUBRESOURCES.get(sub, (("get", "patch", "update"), None))
    if gvk is None:
        return SubresourceInfo(sub, verbs)
    return SubresourceInfo(sub, verbs, gvk[0], gvk[1], gvk[2])


def group_version_path(group: str, version: str) -> str:
    """The index key and URL tail of a group-version: ``api/v1`` or ``apis/apps/v1``."""
    return f"api/{version}" if not group else f"apis/{group}/{version}"


# --- parameters (texts from the metav1 option types) --------------------------------------------


def _param(name: str, where: str, kind: str, description: str) -> _Json:
    p: _Json = {
        "description": description,
        "in": where,
        "name": name,
        "schema": {"type": kind, "uniqueItems": True},
    }
    if where == "path":
        p["required"] = True
    return p


# name -> (type, description) of the query parameters the operations take
_QUERY: dict[str, tuple[str, str]] = {
    "pretty": ("string", "If 'true', then the output is pretty printed."),
    "allowWatchBookmarks": (
        "boolean",
        'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers that do not '
        "implement bookmarks may ignore this flag and bookmarks are sent at the server's "
        "discretion. Clients should not assume bookmarks are returned at any specific interval, "
        "nor may they assume the server will send any BOOKMARK event during a session. If this is "
        "not a watch, this field is ignored.",
    ),
    "continue": (
        "string",
        "The continue option should be set when retrieving more results from the server. Since "
        "this value is server defined, clients may only use the continue value from a previous "
        "query result with identical query parameters (except for the value of continue) and the "
        "server may reject a continue value it does not recognize. If the specified continue value "
        "is no longer valid whether due to expiration (generally five to fifteen minutes) or a "
        "configuration change on the server, the server will respond with a 410 ResourceExpired "
        "error together with a continue token.\n\nThis field is not supported when watch is "
        "true. Clients may start a watch from the last resourceVersion value returned by the "
        "server and not miss any modifications.",
    ),
    "fieldSelector": (
        "string",
        "A selector to restrict the list of returned objects by their fields. Defaults to "
        "everything.",
    ),
    "labelSelector": (
        "string",
        "A selector to restrict the list of returned objects by their labels. Defaults to "
        "everything.",
    ),
    "limit": (
        "integer",
        "limit is a maximum number of responses to return for a list call. If more items exist, "
        "the server will set the `continue` field on the list metadata to a value that can be used "
        "with the same initial query to retrieve the next set of results. This field is not "
        "supported if watch is true.",
    ),
    "resourceVersion": (
        "string",
        "resourceVersion sets a constraint on what resource versions a request may be served from. "
        "See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for "
        "details.\n\nDefaults to unset",
    ),
    "resourceVersionMatch": (
        "string",
        "resourceVersionMatch determines how resourceVersion is applied to list calls. It is "
        "highly recommended that resourceVersionMatch be set for list calls where resourceVersion "
        "is set See https://kubernetes.io/docs/reference/using-api/api-concepts/"
        "#resource-versions for details.\n\nDefaults to unset",
    ),
    "sendInitialEvents": (
        "boolean",
        "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch "
        "stream will begin with synthetic events to produce the current state of objects in the "
        'collection. Once all such events have been sent, a synthetic "Bookmark" event will be '
        'sent, marked with the `"k8s.io/initial-events-end": "true"` annotation. Afterwards, the '
        "watch stream will proceed as usual.",
    ),
    "timeoutSeconds": (
        "integer",
        "Timeout for the list/watch call. This limits the duration of the call, regardless of any "
        "activity or inactivity.",
    ),
    "watch": (
        "boolean",
        "Watch for changes to the described resources and return them as a stream of add, update, "
        "and remove notifications. Specify resourceVersion.",
    ),
    "dryRun": (
        "string",
        "When present, indicates that modifications should not be persisted. An invalid or "
        "unrecognized dryRun directive will result in an error response and no further processing "
        "of the request. Valid values are: - All: all dry run stages will be processed",
    ),
    "fieldManager": (
        "string",
        "fieldManager is a name associated with the actor or entity that is making these changes. "
        "The value must be less than or 128 characters long, and only contain printable "
        "characters, as defined by https://golang.org/pkg/unicode/#IsPrint.",
    ),
    "fieldValidation": (
        "string",
        "fieldValidation instructs the server on how to handle objects in the request "
        "(POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This "
        "will ignore any unknown fields that are silently dropped from the object, and will ignore "
        "all but the last duplicate field that the decoder encounters. - Warn: This will send a "
        "warning via the standard warning response header for each unknown field that is dropped "
        "from the object, and for each duplicate field that is encountered. This is the default "
        "in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown "
        "fields would be dropped from the object, or if any duplicate fields are present.",
    ),
    "force": (
        "boolean",
        'Force is going to "force" Apply requests. It means user will re-acquire conflicting '
        "fields owned by other people. Force flag must be unset for non-apply patch requests.",
    ),
    "gracePeriodSeconds": (
        "integer",
        "The duration in seconds before the object should be deleted. Value must be non-negative "
        "integer. The value zero indicates delete immediately. If this value is nil, the default "
        "grace period for the specified type will be used. Defaults to a per object value if not "
        "specified. zero means delete immediately.",
    ),
    "ignoreStoreReadErrorWithClusterBreakingPotential": (
        "boolean",
        "if set to true, it will trigger an unsafe deletion of the resource in case the normal "
        "deletion flow fails with a corrupt object error. The default value is false, and the "
        "user must opt in to enable it",
    ),
    "orphanDependents": (
        "boolean",
        "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. "
        'Should the dependent objects be orphaned. If true/false, the "orphan" finalizer will be '
        "added to/removed from the object's finalizers list. Either this field or "
        "PropagationPolicy may be set, but not both.",
    ),
    "propagationPolicy": (
        "string",
        "Whether and how garbage collection will be performed. Either this field or "
        "OrphanDependents may be set, but not both. Acceptable values are: 'Orphan' - orphan the "
        "dependents; 'Background' - allow the garbage collector to delete the dependents in the "
        "background; 'Foreground' - a cascading policy that deletes all dependents in the "
        "foreground.",
    ),
    # connect and log options (PodExecOptions, PodLogOptions, ...)
    "container": ("string", "The container for which to stream."),
    "command": ("string", "Command is the remote command to execute. argv array."),
    "stdin": ("boolean", "Redirect the standard input stream."),
    "stdout": ("boolean", "Redirect the standard output stream."),
    "stderr": ("boolean", "Redirect the standard error stream."),
    "tty": ("boolean", "TTY if true indicates that a tty will be allocated."),
    "ports": ("integer", "List of ports to forward."),
    "path": ("string", "Path is the URL path to use for the current proxy request."),
    "follow": ("boolean", "Follow the log stream of the pod."),
    "previous": ("boolean", "Return previous terminated container logs."),
    "sinceSeconds": (
        "integer",
        "A relative time in seconds before the current time from which to show logs.",
    ),
    "tailLines": ("integer", "If set, the number of lines from the end of the logs to show."),
    "timestamps": (
        "boolean",
        "If true, add an RFC3339 timestamp at the beginning of every line of log output.",
    ),
    "limitBytes": (
        "integer",
        "If set, the number of bytes to read from the server before terminating the log output.",
    ),
}
_P: dict[str, _Json] = {
    name: _param(name, "query", kind, text) for name, (kind, text) in _QUERY.items()
}
_P["namespace"] = _param(
    "namespace", "path", "string", "object name and auth scope, such as for teams and projects"
)

_LIST_PARAMS = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
)
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
_PATCH_PARAMS = (*_WRITE_PARAMS, "force")
_DELETE_PARAMS = (
    "dryRun",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "orphanDependents",
    "propagationPolicy",
)
_DELETECOLLECTION_PARAMS = (
    *_DELETE_PARAMS,
    *(p for p in _LIST_PARAMS if p not in ("allowWatchBookmarks", "watch")),
)
_CONNECT_PARAMS = {
    "exec": ("command", "container", "stderr", "stdin", "stdout", "tty"),
    "attach": ("container", "stderr", "stdin", "stdout", "tty"),
    "portforward": ("ports",),
    "proxy": ("path",),
}
# discovery verb -> HTTP method of a connect operation
_CONNECT_METHODS = (
    ("get", "get"),
    ("create", "post"),
    ("update", "put"),
    ("patch", "patch"),
    ("delete", "delete"),
)
_LOG_PARAMS = (
    "container",
    "follow",
    "limitBytes",
    "previous",
    "sinceSeconds",
    "tailLines",
    "timestamps",
)


def _params(names: Iterable[str]) -> list[_Json]:
    return [_P[n] for n in sorted(names)]


def _name_param(kind: str) -> _Json:
    return _param("name", "path", "string", f"name of the {kind}")


# --- naming, as the apiserver's route installer does it ----------------------------------------


def _group_words(group: str) -> list[str]:
    if not group:
        return ["core"]
    return group.removesuffix(".k8s.io").split(".")


def _operation_prefix(group: str, version: str) -> str:
    """``AppsV1``, ``CoreV1``, ``RbacAuthorizationV1``, ``StableExampleComV1``."""
    return "".join(w[:1].upper() + w[1:] for w in _group_words(group)) + version.capitalize()


def _tag(group: str, version: str | None = None) -> str:
    words = _group_words(group)
    name = words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])
    return name if version is None else f"{name}_{version}"


def _article(noun: str) -> str:
    if noun.endswith("s") and not noun.endswith("ss"):
        return " "  # plurals such as Endpoints take no article
    return " an " if noun[:1].lower() in "aeiou" else " a "


def _model_name(group: str, version: str, kind: str) -> str:
    """The component name of a kind that has no built-in definition: reversed group, as CRDs."""
    return ".".join([*reversed(group.split(".")), version, kind]) if group else f"{version}.{kind}"


# --- schema conversion -------------------------------------------------------------------------


def _convert(node: Any, *, v3: bool) -> Any:
    """One JSON Schema node of kubernetes-validate as OpenAPI (v3 or Swagger 2.0)."""
    if isinstance(node, list):
        return [_convert(x, v3=v3) for x in node]
    if not isinstance(node, dict):
        return node
    out: _Json = {}
    for key, value in node.items():
        if key == "$ref":
            continue
        if key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            if len(kinds) == 1:
                out["type"] = kinds[0]
            elif kinds:
                out["type"] = kinds
        elif key == "properties" and isinstance(value, dict):
            out[key] = {k: _convert(v, v3=v3) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "oneOf", "anyOf"):
            out[key] = _convert(value, v3=v3)
        else:
            out[key] = value
    if "$ref" not in node:
        return out
    target = (_V3_REF if v3 else _V2_REF) + node["$ref"].rpartition("/")[2]
    if not out:
        return {"$ref": target}
    if v3:
        # OpenAPI 3.0 ignores siblings of $ref; the published documents wrap the reference.
        return {"allOf": [{"$ref": target}], **out}
    return {"$ref": target, **out}


def _convert_definition(name: str, source: _Json, *, v3: bool) -> _Json:
    if name == _INT_OR_STRING:
        if v3:
            return {
                "description": _INT_OR_STRING_DOC,
                "format": "int-or-string",
                "oneOf": [{"type": "integer"}, {"type": "string"}],
            }
        return {"description": _INT_OR_STRING_DOC, "format": "int-or-string", "type": "string"}
    if name == _QUANTITY:
        if v3:
            return {
                "description": _QUANTITY_DOC,
                "oneOf": [{"type": "string"}, {"type": "number"}],
            }
        return {"description": _QUANTITY_DOC, "type": "string"}
    out = _convert(source, v3=v3)
    props = out.get("properties")
    if props:
        # The JSON Schema conversion pins apiVersion/kind to one value; the API does not.
        for field in ("apiVersion", "kind"):
            if field in props and "enum" in props[field]:
                props[field] = {k: v for k, v in props[field].items() if k != "enum"}
    return out


def _source_refs(node: Any) -> Iterator[str]:
    """Definition names referenced anywhere under a node (any ref spelling)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref.rpartition("/")[2]
        for value in node.values():
            if isinstance(value, (dict, list)):
                yield from _source_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _source_refs(value)


def _ref(name: str) -> _Json:
    return {"$ref": _V3_REF + name}


def _content(types: Iterable[str], schema: _Json) -> _Json:
    return {t: {"schema": schema} for t in types}


def _response(description: str, types: Iterable[str], schema: _Json) -> _Json:
    return {"content": _content(types, schema), "description": description}


# --- custom resources --------------------------------------------------------------------------


def _kube_native(node: Any, *, ref_prefix: str) -> Any:
    """A CRD schema as apiextensions publishes it.

    ``x-kubernetes-int-or-string`` nodes get their ``anyOf`` (the structural schema's Unfold) and
    ``x-kubernetes-embedded-resource`` objects get apiVersion, kind and metadata.
    """
    if isinstance(node, list):
        return [_kube_native(x, ref_prefix=ref_prefix) for x in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: (
            {pk: _kube_native(pv, ref_prefix=ref_prefix) for pk, pv in v.items()}
            if k == "properties" and isinstance(v, dict)
            else _kube_native(v, ref_prefix=ref_prefix)
            if k in ("items", "additionalProperties")
            else v
        )
        for k, v in node.items()
    }
    if out.get("x-kubernetes-int-or-string") is True and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("x-kubernetes-embedded-resource") is True:
        props = dict(out.get("properties") or {})
        props["apiVersion"] = {
            "description": "apiVersion defines the versioned schema of this representation of an "
            "object. More info: https://git.k8s.io/community/contributors/devel/"
            "sig-architecture/api-conventions.md#resources",
            "type": "string",
        }
        props["kind"] = {
            "description": "kind is a string value representing the type of this object. In "
            "CamelCase. More info: https://git.k8s.io/community/contributors/devel/"
            "sig-architecture/api-conventions.md#types-kinds",
            "type": "string",
        }
        props["metadata"] = {"$ref": ref_prefix + _OBJECT_META, "description": _OBJECT_META_DOC}
        out["properties"] = props
        required = list(out.get("required") or [])
        out["required"] = required + [f for f in ("kind", "apiVersion") if f not in required]
    return out


def _structural_v2(node: Any) -> Any:
    """The Swagger 2.0 cut of a custom resource schema (apiextensions' ToStructuralOpenAPIV2)."""
    if not isinstance(node, dict):
        return node
    out = {k: v for k, v in node.items() if k not in ("allOf", "oneOf", "anyOf", "not")}
    if out.pop("nullable", False):
        for k in ("type", "items", "properties"):
            out.pop(k, None)
    if out.get("x-kubernetes-preserve-unknown-fields") is True:
        out.pop("items", None)
        out.pop("properties", None)
        if out.get("type") == "object":
            del out["type"]
    if out.get("type") == "array" and "items" not in out:
        del out["type"]
    if isinstance(out.get("properties"), dict):
        props = node["properties"]
        out["properties"] = {k: _structural_v2(v) for k, v in props.items()}
        nullable = {k for k, v in props.items() if isinstance(v, dict) and v.get("nullable")}
        if nullable and "required" in out:
            out["required"] = [r for r in out["required"] if r not in nullable]
            if not out["required"]:
                del out["required"]
    if isinstance(out.get("items"), dict):
        out["items"] = _structural_v2(out["items"])
    extra = out.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = _structural_v2(extra)
        if extra.get("nullable"):
            out.pop("required", None)
    return out


@dataclass(frozen=True)
class _CustomVersion:
    """One served version of one CRD, reduced to what the documents need."""

    group: str
    version: str
    kind: str
    list_kind: str
    plural: str
    namespaced: bool
    schema: _Json | None
    preserve_unknown: bool
    status: bool
    scale: bool

    @property
    def model(self) -> str:
        return _model_name(self.group, self.version, self.kind)

    @property
    def list_model(self) -> str:
        return _model_name(self.group, self.version, self.list_kind)


def _custom_versions(crd: Mapping[str, Any]) -> list[_CustomVersion]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    kind = names.get("kind", "")
    out = []
    for v in spec.get("versions") or ():
        if not v.get("served", True):
            continue
        schema = (v.get("schema") or {}).get("openAPIV3Schema")
        subresources = v.get("subresources") or {}
        out.append(
            _CustomVersion(
                group=spec.get("group", ""),
                version=v["name"],
                kind=kind,
                list_kind=names.get("listKind") or kind + "List",
                plural=names.get("plural", ""),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                # copied: the caller's CRD objects may change under us, and the copy is what a
                # later set_custom_resources compares against
                schema=copy.deepcopy(schema) if isinstance(schema, dict) else None,
                preserve_unknown=bool(spec.get("preserveUnknownFields")),
                status="status" in subresources,
                scale="scale" in subresources,
            )
        )
    return out


def _custom_schemas(cv: _CustomVersion, *, v3: bool) -> dict[str, _Json]:
    """The kind and list-kind components of a custom resource version."""
    gvk = [{"group": cv.group, "kind": cv.kind, "version": cv.version}]
    prefix = _V3_REF if v3 else _V2_REF
    root = cv.schema
    if root is None or (
        not v3 and (cv.preserve_unknown or root.get("x-kubernetes-preserve-unknown-fields"))
    ):
        kind_schema: _Json = {"type": "object"}
    else:
        kind_schema = _kube_native(root, ref_prefix=prefix)
        if not v3:
            kind_schema = _structural_v2(kind_schema)
        props = dict(kind_schema.get("properties") or {})
        props["apiVersion"] = {"description": _API_VERSION_DOC, "type": "string"}
        props["kind"] = {"description": _KIND_DOC, "type": "string"}
        props["metadata"] = {"$ref": prefix + _OBJECT_META, "description": _OBJECT_META_DOC}
        kind_schema = {**kind_schema, "properties": props}
    kind_schema["x-kubernetes-group-version-kind"] = gvk
    list_schema: _Json = {
        "description": f"{cv.list_kind} is a list of {cv.kind}",
        "properties": {
            "apiVersion": {"description": _API_VERSION_DOC, "type": "string"},
            "items": {
                "description": f"List of {cv.plural}. More info: https://git.k8s.io/community/"
                "contributors/devel/sig-architecture/api-conventions.md",
                "items": {"$ref": prefix + cv.model},
                "type": "array",
            },
            "kind": {"description": _KIND_DOC, "type": "string"},
            "metadata": {"$ref": prefix + _LIST_META, "description": _LIST_META_DOC},
        },
        "required": ["items"],
        "type": "object",
        "x-kubernetes-group-version-kind": [
            {"group": cv.group, "kind": cv.list_kind, "version": cv.version}
        ],
    }
    return {cv.model: kind_schema, cv.list_model: list_schema}


# --- paths -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """What the operations of one resource need to know, built-in or custom."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    verbs: frozenset[str]
    subresources: tuple[SubresourceInfo, ...]
    model: str  # component name of the kind
    list_model: str | None
    patch_types: tuple[str, ...]


def _by_name(params: Iterable[_Json]) -> list[_Json]:
    return sorted(params, key=lambda p: p["name"])


class _PathBuilder:
    """Collects the paths of one group-version and the component names they reference."""

    def __init__(self, group: str, version: str, *, model_for: Callable[[_GVK], str]) -> None:
        self.paths: dict[str, _Json] = {}
        self.refs: set[str] = set()
        self._model_for = model_for
        self._prefix = _operation_prefix(group, version)
        self._tags = [_tag(group, version)]
        self._root = "/" + group_version_path(group, version)

    def _schema(self, name: str) -> _Json:
        self.refs.add(name)
        return _ref(name)

    def _op(
        self,
        verb: str,
        subject: str,
        description: str,
        *,
        action: str,
        gvk: _GVK,
        responses: Mapping[str, _Json],
        params: Iterable[str] = (),
        body: tuple[Sequence[str], _Json] | None = None,
    ) -> _Json:
        """One operation; its id is verb + group-version + subject (``readAppsV1NamespacedX``)."""
        op: _Json = {"description": description, "operationId": f"{verb}{self._prefix}{subject}"}
        if params:
            op["parameters"] = _params(params)
        if body is not None:
            op["requestBody"] = {"content": _content(body[0], body[1])}
        op["responses"] = {**responses, **_UNAUTHORIZED}
        op["tags"] = self._tags
        op["x-kubernetes-action"] = action
        op["x-kubernetes-group-version-kind"] = {"group": gvk[0], "kind": gvk[2], "version": gvk[1]}
        return op

    def add_discovery(self) -> None:
        listed = _response("OK", _PRODUCES, self._schema(_META + "APIResourceList"))
        self.paths[self._root + "/"] = {
            "get": {
                "description": "get available resources",
                "operationId": f"get{self._prefix}APIResources",
                "responses": {"200": listed, **_UNAUTHORIZED},
                "tags": self._tags,
            }
        }

    def add(self, t: _Target) -> None:
        gvk = (t.group, t.version, t.kind)
        obj = self._schema(t.model)
        ok = _response("OK", _PRODUCES, obj)
        written = {"200": ok, "201": _response("Created", _PRODUCES, obj)}
        scope = "Namespaced" if t.namespaced else ""
        subject = scope + t.kind
        ns_params = [_P["namespace"]] if t.namespaced else []
        item_params = [_name_param(t.kind), *ns_params]
        ns = "/namespaces/{namespace}" if t.namespaced else ""
        collection = f"{self._root}{ns}/{t.plural}"

        ops: _Json = {}
        if "list" in t.verbs and t.list_model:
            listed = {"200": _response("OK", _PRODUCES_LIST, self._schema(t.list_model))}
            about = f"list or watch objects of kind {t.kind}"
            ops["get"] = self._op(
                "list",
                subject,
                about,
                action="list",
                gvk=gvk,
                params=_LIST_PARAMS,
                responses=listed,
            )
            if t.namespaced:
                all_namespaces = self._op(
                    "list",
                    f"{t.kind}ForAllNamespaces",
                    about,
                    action="list",
                    gvk=gvk,
                    params=_LIST_PARAMS,
                    responses=listed,
                )
                self.paths[f"{self._root}/{t.plural}"] = {
                    "get": all_namespaces,
                    "parameters": [_P["pretty"]],
                }
        if "create" in t.verbs:
            ops["post"] = self._op(
                "create",
                subject,
                f"create{_article(t.kind)}{t.kind}",
                action="post",
                gvk=gvk,
                params=_WRITE_PARAMS,
                body=(("*/*",), obj),
                responses={**written, "202": _response("Accepted", _PRODUCES, obj)},
            )
        if "deletecollection" in t.verbs:
            ops["delete"] = self._op(
                "delete",
                "Collection" + subject,
                f"delete collection of {t.kind}",
                action="deletecollection",
                gvk=gvk,
                params=_DELETECOLLECTION_PARAMS,
                body=(("*/*",), self._schema(_DELETE_OPTIONS)),
                responses={"200": _response("OK", _PRODUCES, self._schema(_STATUS))},
            )
        if ops:
            self.paths[collection] = {**ops, "parameters": [*ns_params, _P["pretty"]]}

        ops = {}
        if "get" in t.verbs:
            ops["get"] = self._op(
                "read",
                subject,
                f"read the specified {t.kind}",
                action="get",
                gvk=gvk,
                responses={"200": ok},
            )
        if "update" in t.verbs:
            ops["put"] = self._op(
                "replace",
                subject,
                f"replace the specified {t.kind}",
                action="put",
                gvk=gvk,
                params=_WRITE_PARAMS,
                body=(("*/*",), obj),
                responses=written,
            )
        if "patch" in t.verbs:
            ops["patch"] = self._op(
                "patch",
                subject,
                f"partially update the specified {t.kind}",
                action="patch",
                gvk=gvk,
                params=_PATCH_PARAMS,
                body=(t.patch_types, self._schema(_PATCH)),
                responses=written,
            )
        if "delete" in t.verbs:
            status = self._schema(_STATUS)
            ops["delete"] = self._op(
                "delete",
                subject,
                f"delete{_article(t.kind)}{t.kind}",
                action="delete",
                gvk=gvk,
                params=_DELETE_PARAMS,
                body=(("*/*",), self._schema(_DELETE_OPTIONS)),
                responses={
                    "200": _response("OK", _PRODUCES, status),
                    "202": _response("Accepted", _PRODUCES, status),
                },
            )
        item = collection + "/{name}"
        if ops:
            self.paths[item] = {**ops, "parameters": [*item_params, _P["pretty"]]}

        if "watch" in t.verbs:
            self._add_watch(t, ns, ns_params, item_params)
        for sub in t.subresources:
            self._add_subresource(t, sub, item, item_params)

    def _add_watch(
        self, t: _Target, ns: str, ns_params: list[_Json], item_params: list[_Json]
    ) -> None:
        """The deprecated ``/watch/`` paths, still published by the real apiserver."""
        gvk = (t.group, t.version, t.kind)
        events = {"200": _response("OK", _PRODUCES_LIST, self._schema(_WATCH_EVENT))}
        shared = [*(_P[p] for p in _LIST_PARAMS), _P["pretty"]]
        scope = "Namespaced" if t.namespaced else ""
        base = f"{self._root}/watch{ns}/{t.plural}"
        deprecated = "deprecated: use the 'watch' parameter with a list operation instead"
        about_list = f"watch individual changes to a list of {t.kind}. {deprecated}."
        self.paths[base] = {
            "get": self._op(
                "watch",
                f"{scope}{t.kind}List",
                about_list,
                action="watchlist",
                gvk=gvk,
                responses=events,
            ),
            "parameters": _by_name([*shared, *ns_params]),
        }
        self.paths[base + "/{name}"] = {
            "get": self._op(
                "watch",
                scope + t.kind,
                f"watch changes to an object of kind {t.kind}. {deprecated}, filtered to a "
                "single item with the 'fieldSelector' parameter.",
                action="watch",
                gvk=gvk,
                responses=events,
            ),
            "parameters": _by_name([*shared, *item_params]),
        }
        if t.namespaced:
            self.paths[f"{self._root}/watch/{t.plural}"] = {
                "get": self._op(
                    "watch",
                    f"{t.kind}ListForAllNamespaces",
                    about_list,
                    action="watchlist",
                    gvk=gvk,
                    responses=events,
                ),
                "parameters": _by_name(shared),
            }

    def _add_subresource(
        self, t: _Target, sub: SubresourceInfo, item: str, item_params: list[_Json]
    ) -> None:
        name, verbs = sub.name, set(sub.verbs)
        subject = ("Namespaced" if t.namespaced else "") + t.kind + name.capitalize()
        path = f"{item}/{name}"
        if name in _CONNECT_OPTIONS:
            self._add_connect(t, name, verbs, subject, path, item_params)
            return
        if name == "log":
            text = {"200": _response("OK", ("text/plain", *_PRODUCES), {"type": "string"})}
            self.paths[path] = {
                "get": self._op(
                    "read",
                    subject,
                    f"read log of the specified {t.kind}",
                    action="get",
                    gvk=(t.group, t.version, t.kind),
                    params=_LOG_PARAMS,
                    responses=text,
                ),
                "parameters": [*item_params, _P["pretty"]],
            }
            return
        if sub.kind:
            gvk: _GVK = (sub.group or "", sub.version or t.version, sub.kind)
            model = self._model_for(gvk)
        else:
            gvk, model = (t.group, t.version, t.kind), t.model
        obj = self._schema(model)
        ok = _response("OK", _PRODUCES, obj)
        written = {"200": ok, "201": _response("Created", _PRODUCES, obj)}
        ops: _Json = {}
        if "get" in verbs:
            ops["get"] = self._op(
                "read",
                subject,
                f"read {name} of the specified {t.kind}",
                action="get",
                gvk=gvk,
                responses={"200": ok},
            )
        if "create" in verbs:
            ops["post"] = self._op(
                "create",
                subject,
                f"create {name} of{_article(t.kind)}{t.kind}",
                action="post",
                gvk=gvk,
                params=_WRITE_PARAMS,
                body=(("*/*",), obj),
                responses={**written, "202": _response("Accepted", _PRODUCES, obj)},
            )
        if "update" in verbs:
            ops["put"] = self._op(
                "replace",
                subject,
                f"replace {name} of the specified {t.kind}",
                action="put",
                gvk=gvk,
                params=_WRITE_PARAMS,
                body=(("*/*",), obj),
                responses=written,
            )
        if "patch" in verbs:
            ops["patch"] = self._op(
                "patch",
                subject,
                f"partially update {name} of the specified {t.kind}",
                action="patch",
                gvk=gvk,
                params=_PATCH_PARAMS,
                body=(t.patch_types, self._schema(_PATCH)),
                responses=written,
            )
        if ops:
            self.paths[path] = {**ops, "parameters": [*item_params, _P["pretty"]]}

    def _add_connect(
        self,
        t: _Target,
        name: str,
        verbs: set[str],
        subject: str,
        path: str,
        item_params: list[_Json],
    ) -> None:
        """exec / attach / portforward / proxy: byte streams, typed by their options kind."""
        gvk = (t.group, t.version, t.kind + _CONNECT_OPTIONS[name])
        streamed = {"200": _response("OK", ("*/*",), {"type": "string"})}
        ops = {
            method: self._op(
                "connect",
                method.capitalize() + subject,
                f"connect {method.upper()} requests to {name} of {t.kind}",
                action="connect",
                gvk=gvk,
                responses=streamed,
            )
            for verb, method in _CONNECT_METHODS
            if verb in verbs
        }
        options = [_P[p] for p in _CONNECT_PARAMS[name]]
        self.paths[path] = {**ops, "parameters": _by_name([*item_params, *options])}
        if name == "proxy":
            with_path = {
                m: {**op, "operationId": op["operationId"] + "WithPath"} for m, op in ops.items()
            }
            in_path = _param("path", "path", "string", "path to the resource")
            self.paths[path + "/{path}"] = {
                **with_path,
                "parameters": _by_name([*item_params, in_path, *options]),
            }


# --- the service -------------------------------------------------------------------------------


def _dumps(doc: _Json) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def _hash(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest().upper()


class OpenAPI:
    """The OpenAPI v3 and v2 documents of the built-in kinds plus the current custom resources.

    ``builtin_group_versions`` lists ``(group, version, resources)`` of the built-in kinds only;
    custom resources come from ``set_custom_resources``. Safe to call from several threads; each
    document is built once and kept as bytes until a custom resource change touches it.
    """

    def __init__(
        self,
        schemas: SchemaSet,
        *,
        builtin_group_versions: Sequence[tuple[str, str, Sequence[ResourceDescription]]],
    ) -> None:
        self._schemas = schemas
        self._builtin: dict[str, tuple[str, str, tuple[ResourceDescription, ...]]] = {}
        for group, version, resources in builtin_group_versions:
            self._builtin[group_version_path(group, version)] = (group, version, tuple(resources))
        self._groups = sorted({g for g, _, _ in self._builtin.values() if g})
        self._custom: dict[str, list[_CustomVersion]] = {}
        self._lock = threading.RLock()
        self._docs: dict[str, bytes] = {}
        self._hashes: dict[str, str] = {}
        self._index: bytes | None = None
        self._v2: bytes | None = None
        self._v2_protobuf: bytes | None = None
        self._converted: dict[tuple[str, bool], _Json] = {}
        self._closure: dict[str, frozenset[str]] = {}

    # public ------------------------------------------------------------------------------------

    def set_custom_resources(self, crds: Sequence[Mapping[str, Any]]) -> None:
        """Replace the set of served CRDs (apiextensions.k8s.io/v1 objects).

        Only the documents of group-versions whose custom resources changed are rebuilt.
        """
        custom: dict[str, list[_CustomVersion]] = {}
        for crd in crds:
            for cv in _custom_versions(crd):
                custom.setdefault(group_version_path(cv.group, cv.version), []).append(cv)
        for versions in custom.values():
            versions.sort(key=lambda cv: cv.plural)
        with self._lock:
            changed = {
                path
                for path in custom.keys() | self._custom.keys()
                if custom.get(path) != self._custom.get(path)
            }
            if not changed:
                return
            self._custom = custom
            for path in changed:
                self._docs.pop(path, None)
                self._hashes.pop(path, None)
            self._index = None
            self._v2 = None
            self._v2_protobuf = None

    def paths(self) -> list[str]:
        """Every document path the index lists, e.g. ``api/v1``, ``apis/apps/v1``, ``version``."""
        with self._lock:
            gv = self._builtin.keys() | self._custom.keys()
        return sorted([*gv, "api", "apis", "version", *(f"apis/{g}" for g in self._groups)])

    def v3_index(self) -> bytes:
        """The ``/openapi/v3`` discovery document: every path with its ``?hash=`` URL."""
        with self._lock:
            if self._index is None:
                entries = {
                    path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={self.v3_hash(path)}"}
                    for path in self.paths()
                }
                self._index = _dumps({"paths": entries})
            return self._index

    def v3_document(self, path: str) -> bytes | None:
        """The document of one index path (``api/v1``, ``apis/apps/v1``); None when unknown."""
        path = path.strip("/")
        with self._lock:
            cached = self._docs.get(path)
            if cached is not None:
                return cached
            doc = self._build_v3(path)
            if doc is None:
                return None
            data = _dumps(doc)
            self._docs[path] = data
            self._hashes[path] = _hash(data)
            return data

    def v3_hash(self, path: str) -> str:
        """Upper-case hex SHA-512 of a document, used for ``?hash=`` and the ETag.

        Raises KeyError for a path that has no document.
        """
        path = path.strip("/")
        with self._lock:
            if path not in self._hashes and self.v3_document(path) is None:
                raise KeyError(path)
            return self._hashes[path]

    def v2(self) -> bytes:
        """The ``/openapi/v2`` Swagger 2.0 document, JSON."""
        with self._lock:
            if self._v2 is None:
                self._v2 = _dumps(self._build_v2())
            return self._v2

    def v2_protobuf(self) -> bytes:
        """The ``/openapi/v2`` document as gnostic's ``openapi.v2.Document`` protobuf.

        Encoded from the JSON bytes, as kube-openapi does, so it follows the JSON's key order.
        """
        with self._lock:
            if self._v2_protobuf is None:
                self._v2_protobuf = encode_v2(orjson.loads(self.v2()))
            return self._v2_protobuf

    # building ----------------------------------------------------------------------------------

    def _definition(self, name: str, *, v3: bool) -> _Json:
        key = (name, v3)
        out = self._converted.get(key)
        if out is None:
            out = _convert_definition(name, self._schemas.definitions[name], v3=v3)
            self._converted[key] = out
        return out

    def _deps(self, name: str) -> frozenset[str]:
        """A definition and every definition it reaches through $ref."""
        done = self._closure.get(name)
        if done is not None:
            return done
        seen: set[str] = set()
        stack = [name]
        defs = self._schemas.definitions
        while stack:
            current = stack.pop()
            if current in seen or current not in defs:
                continue
            seen.add(current)
            stack.extend(_source_refs(defs[current]))
        result = frozenset(seen)
        self._closure[name] = result
        return result

    def _model_for(self, gvk: _GVK) -> str:
        return self._schemas.definition_name(*gvk) or _model_name(*gvk)

    def _targets(self, path: str) -> tuple[list[_Target], dict[str, _Json], dict[str, _Json]]:
        """The resources of one group-version, plus the v3 and v2 schemas it defines itself."""
        targets: list[_Target] = []
        local_v3: dict[str, _Json] = {}
        local_v2: dict[str, _Json] = {}
        if path in self._builtin:
            group, version, resources = self._builtin[path]
            for r in resources:
                model = self._schemas.definition_name(group, version, r.kind)
                list_model = self._schemas.definition_name(group, version, r.kind + "List")
                if model is None:
                    # A kind the shipped definitions do not know: publish an open object schema
                    # so that explain and apply still find it.
                    model = _model_name(group, version, r.kind)
                    opaque = {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                        "x-kubernetes-group-version-kind": [
                            {"group": group, "kind": r.kind, "version": version}
                        ],
                    }
                    local_v3[model] = local_v2[model] = opaque
                targets.append(
                    _Target(
                        group=group,
                        version=version,
                        plural=r.plural,
                        kind=r.kind,
                        namespaced=r.namespaced,
                        verbs=frozenset(r.verbs),
                        subresources=tuple(_subresource(s) for s in r.subresources),
                        model=model,
                        list_model=list_model,
                        patch_types=_PATCH_TYPES,
                    )
                )
        for cv in self._custom.get(path, ()):
            local_v3.update(_custom_schemas(cv, v3=True))
            local_v2.update(_custom_schemas(cv, v3=False))
            subs = []
            if cv.status:
                subs.append(SubresourceInfo("status"))
            if cv.scale:
                subs.append(_subresource("scale"))
            targets.append(
                _Target(
                    group=cv.group,
                    version=cv.version,
                    plural=cv.plural,
                    kind=cv.kind,
                    namespaced=cv.namespaced,
                    verbs=frozenset(ALL_VERBS),
                    subresources=tuple(subs),
                    model=cv.model,
                    list_model=cv.list_model,
                    patch_types=_CRD_PATCH_TYPES,
                )
            )
        return targets, local_v3, local_v2

    def _gv_paths(
        self, path: str
    ) -> tuple[_PathBuilder, dict[str, _Json], dict[str, _Json]] | None:
        if path not in self._builtin and path not in self._custom:
            return None
        targets, local_v3, local_v2 = self._targets(path)
        parts = path.split("/")
        group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
        builder = _PathBuilder(group, version, model_for=self._model_for)
        builder.add_discovery()
        for t in sorted(targets, key=lambda t: t.plural):
            builder.add(t)
        return builder, local_v3, local_v2

    def _components(self, refs: Iterable[str], local: Mapping[str, _Json], *, v3: bool) -> _Json:
        names: set[str] = set()
        pending = set(refs)
        for schema in local.values():
            pending.update(_source_refs(schema))
        for name in pending:
            if name in local:
                continue
            names |= self._deps(name)
        out = {name: self._definition(name, v3=v3) for name in names}
        out.update(local)
        return out

    def _build_v3(self, path: str) -> _Json | None:
        built = self._gv_paths(path)
        if built is not None:
            builder, local_v3, _ = built
            paths, refs, local = builder.paths, builder.refs, local_v3
        else:
            discovery = self._discovery_paths(path)
            if discovery is None:
                return None
            paths, refs = discovery
            local = {}
        return {
            "components": {
                "schemas": self._components(refs, local, v3=True),
                "securitySchemes": _SECURITY_SCHEME,
            },
            "info": _INFO,
            "openapi": "3.0.0",
            "paths": paths,
        }

    def _discovery_paths(self, path: str) -> tuple[_Json, set[str]] | None:
        """The small documents of the discovery endpoints: /api, /apis, /apis/<group>, /version."""

        def get(op_id: str, description: str, model: str, tag: str) -> _Json:
            return {
                "get": {
                    "description": description,
                    "operationId": op_id,
                    "responses": {
                        "200": _response("OK", _PRODUCES, _ref(model)),
                        **_UNAUTHORIZED,
                    },
                    "tags": [tag],
                }
            }

        if path == "api":
            model = _META + "APIVersions"
            paths = {
                "/api/": get("getCoreAPIVersions", "get available API versions", model, "core")
            }
        elif path == "apis":
            model = _META + "APIGroupList"
            paths = {"/apis/": get("getAPIVersions", "get available API versions", model, "apis")}
        elif path == "version":
            model = "io.k8s.apimachinery.pkg.version.Info"
            paths = {
                "/version/": get(
                    "getCodeVersion",
                    "get the version information for this server",
                    model,
                    "version",
                )
            }
        elif path.startswith("apis/") and path[5:] in self._groups:
            group = path[5:]
            model = _META + "APIGroup"
            prefix = "".join(w[:1].upper() + w[1:] for w in _group_words(group))
            paths = {
                f"/apis/{group}/": get(
                    f"get{prefix}APIGroup", "get information of a group", model, _tag(group)
                )
            }
        else:
            return None
        return paths, {model}

    def _build_v2(self) -> _Json:
        paths: _Json = {}
        refs: set[str] = set()
        local: dict[str, _Json] = {}
        for path in sorted(self._builtin.keys() | self._custom.keys()):
            built = self._gv_paths(path)
            assert built is not None
            builder, _, local_v2 = built
            for p, item in builder.paths.items():
                paths[p] = _path_item_v2(item)
            refs |= builder.refs
            local.update(local_v2)
        for extra in ("api", "apis", "version", *(f"apis/{g}" for g in self._groups)):
            discovery = self._discovery_paths(extra)
            assert discovery is not None
            for p, item in discovery[0].items():
                paths[p] = _path_item_v2(item)
            refs |= discovery[1]
        return {
            "definitions": self._components(refs, local, v3=False),
            "info": _INFO,
            "paths": paths,
            "security": [{"BearerToken": []}],
            "securityDefinitions": _SECURITY_SCHEME,
            "swagger": "2.0",
        }


# --- Swagger 2.0 operations --------------------------------------------------------------------


def _schema_v2(schema: _Json) -> _Json:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return {"$ref": _V2_REF + ref.removeprefix(_V3_REF)}
    return schema


def _param_v2(p: _Json) -> _Json:
    out = {k: v for k, v in p.items() if k != "schema"}
    out.update(p.get("schema", {}))
    return out


def _path_item_v2(item: Mapping[str, Any]) -> _Json:
    out: _Json = {}
    for key, value in item.items():
        if key == "parameters":
            out[key] = [_param_v2(p) for p in value]
            continue
        op = {k: v for k, v in value.items() if k not in ("requestBody", "responses", "parameters")}
        params = [_param_v2(p) for p in value.get("parameters", ())]
        body = value.get("requestBody")
        if body is not None:
            content = body["content"]
            op["consumes"] = sorted(content)
            schema = next(iter(content.values()))["schema"]
            params.insert(
                0, {"in": "body", "name": "body", "required": True, "schema": _schema_v2(schema)}
            )
        if params:
            op["parameters"] = params
        produces: set[str] = set()
        responses: _Json = {}
        for code, response in value["responses"].items():
            r: _Json = {"description": response["description"]}
            content = response.get("content")
            if content:
                produces.update(content)
                r["schema"] = _schema_v2(next(iter(content.values()))["schema"])
            responses[code] = r
        op["responses"] = responses
        if produces:
            op["produces"] = sorted(produces)
        op["schemes"] = ["https"]
        out[key] = op
    return out
