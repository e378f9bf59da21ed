"""Validation of what users submit: schema, unknown fields, names, and the rules learners meet.

Three layers, cheapest first, so a valid object pays only for the first two:

1. Unknown fields, found by walking the object along its schema. ``fieldValidation=Strict``
   turns them into a 400 (``strict decoding error: unknown field "spec.foo"``), ``Warn`` (the
   default) into ``Warning`` headers, ``Ignore`` drops them silently. Either way they are pruned,
   as kube-apiserver's decoder drops fields its Go types do not have.
2. The Kubernetes 1.37 JSON schema of the kind (types, required fields, enums), compiled once per
   kind with ``fastjsonschema`` (measured ~25 µs for a small pod, ten times less than an
   interpreting validator). Only when that fails does ``jsonschema`` run, to report every error
   with its field path. Wrong types are 400 BadRequest (kube-apiserver fails to decode them);
   missing required fields and bad enum values are 422 Invalid with ``details.causes``.
3. Names, labels, annotations and a handful of semantic rules (selectors matching template labels,
   container names, restart policies, ports), with kube-apiserver's messages.

Custom resources use their CRD's ``openAPIV3Schema`` (OpenAPI 3.0 flavoured: ``nullable``,
``x-kubernetes-int-or-string``, ``x-kubernetes-preserve-unknown-fields``), converted to JSON Schema.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

import fastjsonschema
import jsonschema
import referencing
import referencing.jsonschema

from kubenb.api import errors
from kubenb.api.errors import Cause
from kubenb.api.memo import json_key, remember
from kubenb.api.meta import (
    validate_annotations,
    validate_dns1035_label,
    validate_dns1123_label,
    validate_dns1123_subdomain,
    validate_labels,
)
from kubenb.api.resources import ResourceType
from kubenb.api.selectors import selector_from_label_selector
from kubenb.apiserver.schemas import SchemaSet

__all__ = ["Validator", "crd_json_schema", "format_path"]

Schema = dict[str, Any]

#: Kinds whose names are DNS-1123 labels / DNS-1035 labels rather than subdomains.
_LABEL_NAMES = {("", "Namespace")}
_DNS1035_NAMES = {("", "Service")}
#: RBAC names only need to be valid path segments (``system:controller:foo`` is fine).
_PATH_SEGMENT_NAMES = {("rbac.authorization.k8s.io", k)
                       for k in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")}


def format_path(parts: list[Any] | tuple[Any, ...]) -> str:
    """``["spec", "containers", 0, "name"]`` → ``spec.containers[0].name``."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))[:200]


def _fix_refs(node: Any) -> Any:
    """Point ``$ref`` at ``#/definitions/NAME`` (the layout fastjsonschema resolves)."""
    if isinstance(node, dict):
        return {k: ("#/definitions/" + v.rpartition("/")[2]
                    if k == "$ref" and isinstance(v, str) else _fix_refs(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_fix_refs(x) for x in node]
    return node


def _reachable(root: Any, definitions: Mapping[str, Any]) -> dict[str, Any]:
    """The definitions ``root`` reaches through ``#/definitions/NAME`` references.

    fastjsonschema resolves references over the whole document it compiles and writes that
    document into the generated code: handed all ~860 definitions of the API, the first object
    of a kind took 1.7 s (a ConfigMap) to 3 s (a Pod) to compile, inside a request. Only what the
    kind reaches can take part in its validation, so the result is the same.
    """
    found: dict[str, Any] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    name = value.rpartition("/")[2]
                    if name not in found and name in definitions:
                        found[name] = definitions[name]
                        stack.append(definitions[name])
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _strict(node: Any) -> Any:
    """Forbid fields a schema does not list (what kubernetes-validate's -strict variant does)."""
    if isinstance(node, list):
        return [_strict(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k == "properties" and isinstance(v, dict):
            out[k] = {name: _strict(sub) for name, sub in v.items()}
        elif k in ("items", "additionalProperties") and isinstance(v, dict):
            out[k] = _strict(v)
        elif k in ("oneOf", "anyOf", "allOf") and isinstance(v, list):
            out[k] = [_strict(x) for x in v]
        else:
            out[k] = v
    if "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


def crd_json_schema(schema: Mapping[str, Any]) -> Schema:
    """Convert a CRD ``openAPIV3Schema`` to plain JSON Schema for validation."""

    def conv(node: Any) -> Any:
        if isinstance(node, list):
            return [conv(x) for x in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k in ("properties", "patternProperties", "definitions"):
                out[k] = {name: conv(sub) for name, sub in v.items()}
            elif k in ("items", "additionalProperties", "not") and isinstance(v, dict):
                out[k] = conv(v)
            elif k in ("allOf", "anyOf", "oneOf"):
                out[k] = [conv(x) for x in v]
            elif k in ("nullable", "x-kubernetes-int-or-string", "x-kubernetes-embedded-resource",
                       "x-kubernetes-preserve-unknown-fields", "default", "example",
                       "externalDocs", "x-kubernetes-validations") or k.startswith("x-kubernetes-"):
                continue
            elif k == "format":
                continue  # formats are advisory in structural schemas
            else:
                out[k] = v
        if node.get("x-kubernetes-int-or-string"):
            out.pop("type", None)
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}, *out.get("anyOf", [])]
        if node.get("nullable") and "type" in out:
            t = out["type"]
            out["type"] = [*t, "null"] if isinstance(t, list) else [t, "null"]
        return out

    root = conv(dict(schema))
    # apiVersion / kind / metadata are checked by the server itself
    props = root.get("properties")
    if isinstance(props, dict):
        for k in ("apiVersion", "kind", "metadata"):
            props.pop(k, None)
    return root


class Validator:
    """Validates objects of one Kubernetes version; compiled validators are cached per kind."""

    def __init__(self, schemas: SchemaSet) -> None:
        self.schemas = schemas
        self._fast: dict[Any, Callable[[Any], Any]] = {}
        self._slow: dict[Any, jsonschema.protocols.Validator] = {}
        self._lock = threading.Lock()
        self._fixed_defs: dict[str, Any] | None = None
        self._strict_defs: dict[str, Any] | None = None
        self._registry: referencing.Registry | None = None
        #: bodies (name left out) that passed the strict check, by kind; see _strict_passes
        self._passed: dict[tuple[str, str, str, bytes], bool] = {}

    # ---------------------------------------------------------------- schema validators

    def _fast_validator(self, key: Any, root: Schema, builtin: bool) -> Callable[[Any], Any]:
        fn = self._fast.get(key)
        if fn is None:
            with self._lock:
                fn = self._fast.get(key)
                if fn is None:
                    if builtin:
                        if self._fixed_defs is None:
                            self._fixed_defs = _fix_refs(dict(self.schemas.definitions))
                        fixed = _fix_refs(root)
                        schema = {**fixed, "definitions": _reachable(fixed, self._fixed_defs)}
                    else:
                        schema = root
                    fn = fastjsonschema.compile(schema)
                    self._fast[key] = fn
        return fn

    def _strict_passes(self, rt: ResourceType, obj: dict[str, Any]) -> bool:
        """Whether a built-in object is valid with no field outside its schema.

        The check is a pure function of the object (the built-in schemas carry no defaults for
        the compiled validator to write in), and the schema asks of a name only that it be a
        string. So a body that passed is remembered by its JSON with a string name left out:
        objects made from one template (every replica a controller creates, every ConfigMap a
        loop posts) are checked once, then found by a dump and a lookup.
        """
        content = _content_without_name(obj)
        passed = self._passed
        if content is not None and (rt.group, rt.version, rt.kind, content) in passed:
            return True
        if not self._strict_check(rt, obj):
            return False
        if content is not None:
            remember(passed, (rt.group, rt.version, rt.kind, content), True, _PASSED_MAX)
        return True

    def _strict_check(self, rt: ResourceType, obj: dict[str, Any]) -> bool:
        key = ("strict", rt.group, rt.version, rt.kind)
        fn = self._fast.get(key)
        if fn is None:
            root = self.schemas.for_kind(rt.group, rt.version, rt.kind)
            if root is None:
                return False
            with self._lock:
                if self._strict_defs is None:
                    self._strict_defs = {name: _strict(d) for name, d in
                                         _fix_refs(dict(self.schemas.definitions)).items()}
                strict = _strict(_fix_refs(root))
                fn = fastjsonschema.compile(
                    {**strict, "definitions": _reachable(strict, self._strict_defs)})
                self._fast[key] = fn
        try:
            fn(obj)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def _slow_validator(self, key: Any, root: Schema, builtin: bool) -> Any:
        v = self._slow.get(key)
        if v is None:
            if builtin:
                if self._registry is None:
                    doc = referencing.Resource.from_contents(
                        {"$defs": dict(self.schemas.definitions)},
                        default_specification=referencing.jsonschema.DRAFT202012)
                    self._registry = referencing.Registry().with_resource("urn:k8s", doc)
                name = self.schemas.definition_name(*key)
                v = jsonschema.Draft202012Validator({"$ref": f"urn:k8s#/$defs/{name}"},
                                                    registry=self._registry)
            else:
                v = jsonschema.Draft202012Validator(root)
            self._slow[key] = v
        return v

    def schema_for(self, rt: ResourceType) -> Schema | None:
        if rt.custom:
            schema = rt.extra.get("schema")
            return schema if isinstance(schema, dict) else None
        return self.schemas.for_kind(rt.group, rt.version, rt.kind)

    # ---------------------------------------------------------------- unknown fields

    def unknown_fields(self, rt: ResourceType, obj: dict[str, Any], *, prune: bool) -> list[str]:
        """Paths of fields the schema does not know; removed from ``obj`` when ``prune``."""
        schema = self.schema_for(rt)
        if schema is None:
            return []
        found: list[str] = []
        resolve = self.schemas.resolve if not rt.custom else (lambda n: n)
        self._walk_unknown(schema, obj, [], found, prune, resolve, top=rt.custom)
        return found

    def _walk_unknown(self, schema: Any, value: Any, path: list[Any], found: list[str],
                      prune: bool, resolve: Callable[[Any], Any], top: bool = False) -> None:
        schema = resolve(schema)
        if not isinstance(schema, dict):
            return
        if isinstance(value, dict):
            props = schema.get("properties")
            extra = schema.get("additionalProperties")
            preserve = schema.get("x-kubernetes-preserve-unknown-fields") or extra is True
            if top:
                # metadata of custom resources is ObjectMeta, checked like any other kind's
                meta_schema = self.schemas.for_kind("", "v1", "Pod")
                meta_node = self.schemas.property(meta_schema, "metadata")
                if "metadata" in value:
                    self._walk_unknown(meta_node, value["metadata"], ["metadata"], found,
                                       prune, self.schemas.resolve)
            if props is None and not isinstance(extra, dict):
                return
            for key in list(value):
                if top and key in ("apiVersion", "kind", "metadata"):
                    continue
                sub = props.get(key) if props else None
                if sub is None and isinstance(extra, dict):
                    sub = extra
                if sub is not None:
                    child = value[key]
                    if isinstance(child, dict | list):  # scalars have no fields to check
                        self._walk_unknown(sub, child, [*path, key], found, prune, resolve)
                elif not preserve:
                    found.append(format_path([*path, key]))
                    if prune:
                        del value[key]
        elif isinstance(value, list):
            items = schema.get("items")
            if isinstance(items, dict):
                for i, item in enumerate(value):
                    if isinstance(item, dict | list):
                        self._walk_unknown(items, item, [*path, i], found, prune, resolve)

    # ---------------------------------------------------------------- the whole check

    def validate(self, rt: ResourceType, obj: dict[str, Any], *, field_validation: str = "Warn",
                 old: Mapping[str, Any] | None = None, subresource: str = "") -> list[str]:
        """Validate ``obj`` (pruning unknown fields); returns warnings, raises on errors.
        ``subresource`` names the subresource written, when its rules are not the resource's."""
        warnings: list[str] = []
        name = str((obj.get("metadata") or {}).get("name") or "")
        # one compiled pass answers both "right types?" and "no unknown fields?" for the usual,
        # valid object; only an object that fails it is walked for unknown fields and re-checked
        clean = not rt.custom and self._strict_passes(rt, obj)
        unknown = [] if clean else self.unknown_fields(rt, obj, prune=True)
        if unknown:
            messages = [f'unknown field "{p}"' for p in unknown]
            if field_validation == "Strict":
                raise errors.BadRequest("strict decoding error: " + ", ".join(messages),
                                        name=name, group=rt.group, kind=rt.kind)
            if field_validation != "Ignore":
                warnings += messages
        if not clean:
            self._check_schema(rt, obj, name)
        causes = self._check_metadata(rt, obj)
        check = _SEMANTIC.get((rt.group, rt.kind))
        if subresource == "ephemeralcontainers" and old is not None:
            causes += pod_ephemeral_containers_update(obj, old)
        elif check is not None:
            causes += check(obj, old)
        if causes:
            raise invalid(rt, name, causes)
        return warnings

    def _check_schema(self, rt: ResourceType, obj: dict[str, Any], name: str) -> None:
        schema = self.schema_for(rt)
        if schema is None:
            return
        key: Any = (rt.group, rt.version, rt.kind)
        builtin = not rt.custom
        if not builtin:
            schema = crd_json_schema(schema)
            key = ("crd", *key, json.dumps(schema, sort_keys=True))
        try:
            self._fast_validator(key, schema, builtin)(obj)
            return
        except fastjsonschema.JsonSchemaException:
            pass
        decode: list[Cause] = []
        invalid_causes: list[Cause] = []
        slow = self._slow_validator(key, schema, builtin)
        for err in sorted(slow.iter_errors(obj), key=lambda e: list(map(str, e.path))):
            path = list(err.absolute_path)
            field = format_path(path)
            if err.validator == "required":
                missing = err.message.split("'")[1] if "'" in err.message else ""
                full = format_path([*path, missing]) if missing else field
                invalid_causes.append(Cause("FieldValueRequired", "Required value", full))
            elif err.validator == "enum":
                allowed = ", ".join(_quote(v) for v in err.validator_value)
                invalid_causes.append(Cause(
                    "FieldValueNotSupported",
                    f"Unsupported value: {_quote(err.instance)}: supported values: {allowed}",
                    field))
            elif err.validator in ("type", "oneOf", "anyOf"):
                expected = err.validator_value if err.validator == "type" else _expected(err)
                # built-in kinds fail to decode into their Go types (400); custom resources are
                # decoded as unstructured JSON and fail validation instead (422)
                (invalid_causes if rt.custom else decode).append(Cause(
                    "FieldValueTypeInvalid",
                    f"Invalid value: {_quote(err.instance)}: {field or 'body'} must be of type "
                    f"{_type_name(expected)}", field))
            else:
                invalid_causes.append(Cause("FieldValueInvalid",
                                            f"Invalid value: {_quote(err.instance)}: "
                                            f"{err.message}", field))
        if decode:
            first = decode[0]
            raise errors.BadRequest(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                + "; ".join(f"{c.field}: {c.message}" for c in decode),
                name=name, group=rt.group, kind=rt.kind, causes=decode if first else [])
        if invalid_causes:
            raise invalid(rt, name, invalid_causes)

    def _check_metadata(self, rt: ResourceType, obj: Mapping[str, Any]) -> list[Cause]:
        meta = obj.get("metadata") or {}
        causes: list[Cause] = []
        name = meta.get("name")
        if name:
            kind = (rt.group, rt.kind)
            if kind in _LABEL_NAMES:
                causes += validate_dns1123_label(name, "metadata.name")
            elif kind in _DNS1035_NAMES:
                causes += validate_dns1035_label(name, "metadata.name")
            elif kind in _PATH_SEGMENT_NAMES:
                if name in (".", "..") or "/" in name or "%" in name:
                    causes.append(Cause("FieldValueInvalid",
                                        f"Invalid value: {_quote(name)}: may not contain '/' "
                                        "or '%'", "metadata.name"))
            else:
                causes += validate_dns1123_subdomain(name, "metadata.name")
        elif meta.get("generateName"):
            prefix = str(meta["generateName"])
            if any(c.isupper() or c in " _/" for c in prefix):
                causes += validate_dns1123_subdomain(prefix + "a", "metadata.generateName")
        causes += validate_labels(meta.get("labels"))
        causes += validate_annotations(meta.get("annotations"))
        return causes


#: how many passed bodies _strict_passes remembers (the older half goes when full)
_PASSED_MAX = 4096


def _content_without_name(obj: dict[str, Any]) -> bytes | None:
    """``obj`` as a memo key with a string ``metadata.name`` left out (see
    kubenb.api.memo.json_key)."""
    meta = obj.get("metadata")
    if type(meta) is dict and type(meta.get("name")) is str:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "name"}}
    return json_key(obj)


def invalid(rt: ResourceType, name: str, causes: list[Cause]) -> errors.Invalid:
    """A 422 with kube-apiserver's message layout: ``Kind "name" is invalid: field: msg, ...``."""
    detail = ", ".join(f"{c.field}: {c.message}" if c.field else c.message for c in causes)
    if len(causes) > 1:
        detail = "[" + detail + "]"
    return errors.Invalid(f'{rt.kind}.{rt.group} "{name}" is invalid: {detail}' if rt.group
                          else f'{rt.kind} "{name}" is invalid: {detail}',
                          name=name, group=rt.group, kind=rt.kind, causes=causes)


def _expected(err: Any) -> Any:
    types: list[str] = []
    for sub in err.validator_value:
        t = sub.get("type") if isinstance(sub, dict) else None
        if isinstance(t, list):
            types += [x for x in t if x != "null"]
        elif t:
            types.append(t)
    return types or "valid value"


def _type_name(expected: Any) -> str:
    if isinstance(expected, list):
        names = [t for t in expected if t != "null"]
        return " or ".join(names)
    return str(expected)


# ---------------------------------------------------------------------------- semantic rules

def _pod_spec(spec: Any, path: str, *, restart: tuple[str, ...] | None) -> list[Cause]:
    if not isinstance(spec, Mapping):
        return []
    causes: list[Cause] = []
    containers = spec.get("containers")
    if not containers:
        causes.append(Cause("FieldValueRequired", "Required value", f"{path}.containers"))
    seen: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or ()):
            if not isinstance(c, Mapping):
                continue
            cpath = f"{path}.{group}[{i}]"
            causes += _name_and_image(c, cpath, seen)
            for j, port in enumerate(c.get("ports") or ()):
                value = port.get("containerPort") if isinstance(port, Mapping) else None
                if isinstance(value, int) and not 0 < value < 65536:
                    causes.append(Cause("FieldValueInvalid",
                                        f"Invalid value: {value}: must be between 1 and 65535, "
                                        "inclusive", f"{cpath}.ports[{j}].containerPort"))
    causes += _ephemeral_containers(spec, path, seen)
    policy = spec.get("restartPolicy")
    if restart is not None and policy is not None and policy not in restart:
        allowed = ", ".join(f'"{r}"' for r in restart)
        causes.append(Cause("FieldValueNotSupported",
                            f"Unsupported value: {_quote(policy)}: supported values: {allowed}",
                            f"{path}.restartPolicy"))
    return causes


def _name_and_image(c: Mapping[str, Any], cpath: str, seen: set[str]) -> list[Cause]:
    """A container's name (a DNS label, unique among the pod's containers: ``seen`` collects
    them) and its image, both required."""
    causes: list[Cause] = []
    cname = c.get("name")
    if not cname:
        causes.append(Cause("FieldValueRequired", "Required value", f"{cpath}.name"))
    else:
        causes += validate_dns1123_label(str(cname), f"{cpath}.name")
        if cname in seen:
            causes.append(Cause("FieldValueDuplicate", f"Duplicate value: {_quote(cname)}",
                                f"{cpath}.name"))
        seen.add(str(cname))
    if not c.get("image"):
        causes.append(Cause("FieldValueRequired", "Required value", f"{cpath}.image"))
    return causes


#: what an ephemeral container may set: it must not be relied on to serve the pod, so ports,
#: probes, lifecycle hooks, resources and restart policies are refused (validation.go's allow list)
_EPHEMERAL_FIELDS = frozenset((
    "name", "image", "command", "args", "workingDir", "envFrom", "env", "volumeMounts",
    "volumeDevices", "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy",
    "securityContext", "stdin", "stdinOnce", "tty", "targetContainerName"))


def _ephemeral_containers(spec: Mapping[str, Any], path: str, names: set[str]) -> list[Cause]:
    """Ephemeral containers: a name unique among all the pod's containers, an image, a target
    that is one of the pod's (non-ephemeral) containers, and only the allowed fields."""
    causes: list[Cause] = []
    others = set(names)
    for i, c in enumerate(spec.get("ephemeralContainers") or ()):
        if not isinstance(c, Mapping):
            continue
        cpath = f"{path}.ephemeralContainers[{i}]"
        causes += _name_and_image(c, cpath, names)
        target = c.get("targetContainerName")
        if target and target not in others:
            causes.append(Cause("FieldValueNotFound", f"Not found: {_quote(target)}",
                                f"{cpath}.targetContainerName"))
        for key, value in c.items():
            if key not in _EPHEMERAL_FIELDS and value not in (None, {}, [], "", 0, False):
                causes.append(Cause("FieldValueForbidden", "Forbidden: cannot be set for an "
                                    "Ephemeral Container", f"{cpath}.{key}"))
        for j, mount in enumerate(c.get("volumeMounts") or ()):
            for key in ("subPath", "subPathExpr"):
                if isinstance(mount, Mapping) and mount.get(key):
                    causes.append(Cause("FieldValueForbidden", "Forbidden: cannot be set for an "
                                        "Ephemeral Container",
                                        f"{cpath}.volumeMounts[{j}].{key}"))
    return causes


def pod_ephemeral_containers_update(obj: Mapping[str, Any],
                                    old: Mapping[str, Any]) -> list[Cause]:
    """The ``pods/ephemeralcontainers`` subresource's rule (ValidatePodEphemeralContainersUpdate):
    ephemeral containers may be added, never changed or removed; the pod's spec must stay valid."""
    causes = _pod_spec(obj.get("spec"), "spec", restart=None)
    if ((old.get("metadata") or {}).get("annotations") or {}).get(
            "kubernetes.io/config.mirror") is not None:
        return [Cause("FieldValueForbidden", "Forbidden: static pods do not support ephemeral "
                      "containers", "")]
    new_by_name = {c.get("name"): c for c in (obj.get("spec") or {}).get("ephemeralContainers")
                   or () if isinstance(c, Mapping)}
    for c in (old.get("spec") or {}).get("ephemeralContainers") or ():
        name = c.get("name")
        now = new_by_name.get(name)
        if now is None:
            causes.append(Cause("FieldValueForbidden", f"Forbidden: existing ephemeral "
                                f"containers {_quote(name)} may not be removed",
                                "spec.ephemeralContainers"))
        elif now != c:
            causes.append(Cause("FieldValueForbidden", f"Forbidden: existing ephemeral "
                                f"containers {_quote(name)} may not be changed",
                                f"spec.ephemeralContainers[{name}]"))
    return causes


def _replicas(spec: Mapping[str, Any], path: str) -> list[Cause]:
    value = spec.get("replicas")
    if isinstance(value, int) and value < 0:
        return [Cause("FieldValueInvalid",
                      f"Invalid value: {value}: must be greater than or equal to 0",
                      f"{path}.replicas")]
    return []


def _workload(restart: tuple[str, ...] | None, *, selector_required: bool = True
              ) -> Callable[[Mapping[str, Any], Mapping[str, Any] | None], list[Cause]]:
    def check(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
        spec = obj.get("spec")
        if not isinstance(spec, Mapping):
            return []
        causes = _replicas(spec, "spec")
        template = spec.get("template") or {}
        labels = ((template.get("metadata") or {}).get("labels")) or {}
        selector = spec.get("selector")
        if selector is None and selector_required:
            causes.append(Cause("FieldValueRequired", "Required value", "spec.selector"))
        elif isinstance(selector, Mapping):
            if selector_required and not selector.get("matchLabels") and not selector.get(
                    "matchExpressions"):
                causes.append(Cause("FieldValueInvalid",
                                    "Invalid value: \"null\": empty selector is invalid for "
                                    "deployment", "spec.selector"))
            elif not selector_from_label_selector(selector).matches(labels):
                shown = "map[string]string{" + ", ".join(
                    f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"
                causes.append(Cause("FieldValueInvalid",
                                    f"Invalid value: {shown}: `selector` does not match "
                                    "template `labels`", "spec.template.metadata.labels"))
            if old is not None and selector_required:
                old_sel = (old.get("spec") or {}).get("selector")
                if old_sel is not None and old_sel != selector:
                    causes.append(Cause("FieldValueInvalid",
                                        f"Invalid value: {_quote(selector)}: field is immutable",
                                        "spec.selector"))
        causes += _pod_spec(template.get("spec"), "spec.template.spec", restart=restart)
        return causes
    return check


def _pod(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    causes = _pod_spec(obj.get("spec"), "spec", restart=("Always", "OnFailure", "Never"))
    if old is not None:
        causes += _pod_update(obj, old)
    return causes


def _pod_update(obj: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    """Pod specs are immutable but for images, activeDeadlineSeconds and added tolerations."""
    new_spec = dict(obj.get("spec") or {})
    old_spec = dict(old.get("spec") or {})
    for spec in (new_spec, old_spec):
        for group in ("containers", "initContainers"):
            if spec.get(group):
                spec[group] = [{k: v for k, v in c.items() if k != "image"}
                               for c in spec[group] if isinstance(c, Mapping)]
        spec.pop("activeDeadlineSeconds", None)
        spec.pop("tolerations", None)
        spec.pop("schedulingGates", None)
    if new_spec.get("nodeName") in (None, "") and old_spec.get("nodeName"):
        new_spec["nodeName"] = old_spec["nodeName"]
    if new_spec != old_spec:
        return [Cause("FieldValueForbidden",
                      "Forbidden: pod updates may not change fields other than "
                      "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                      "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
                      "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to "
                      "be set to 1 if it was previously negative)", "spec")]
    return []


def _service(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    stype = spec.get("type", "ClusterIP")
    if stype != "ExternalName" and not spec.get("ports") and spec.get("clusterIP") != "None":
        causes.append(Cause("FieldValueRequired", "Required value", "spec.ports"))
    names: set[str] = set()
    ports = spec.get("ports") or ()
    for i, port in enumerate(ports):
        if not isinstance(port, Mapping):
            continue
        value = port.get("port")
        if isinstance(value, int) and not 0 < value < 65536:
            causes.append(Cause("FieldValueInvalid",
                                f"Invalid value: {value}: must be between 1 and 65535, inclusive",
                                f"spec.ports[{i}].port"))
        pname = port.get("name")
        if len(ports) > 1 and not pname:
            causes.append(Cause("FieldValueRequired", "Required value", f"spec.ports[{i}].name"))
        if pname:
            if pname in names:
                causes.append(Cause("FieldValueDuplicate", f"Duplicate value: {_quote(pname)}",
                                    f"spec.ports[{i}].name"))
            names.add(pname)
    return causes


def _job(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    causes = _pod_spec(template.get("spec"), "spec.template.spec", restart=("OnFailure", "Never"))
    tspec = template.get("spec") or {}
    if isinstance(tspec, Mapping) and "restartPolicy" not in tspec:
        causes.append(Cause("FieldValueRequired",
                            'Required value: valid values: "OnFailure", "Never"',
                            "spec.template.spec.restartPolicy"))
    for field in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds"):
        value = spec.get(field)
        if isinstance(value, int) and value < 0:
            causes.append(Cause("FieldValueInvalid",
                                f"Invalid value: {value}: must be greater than or equal to 0",
                                f"spec.{field}"))
    return causes


def _cronjob(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    schedule = spec.get("schedule")
    if isinstance(schedule, str) and not _valid_cron(schedule):
        causes.append(Cause("FieldValueInvalid",
                            f"Invalid value: {_quote(schedule)}: unparseable cron expression",
                            "spec.schedule"))
    job_spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = job_spec.get("template") or {}
    causes += _pod_spec(template.get("spec"), "spec.jobTemplate.spec.template.spec",
                        restart=("OnFailure", "Never"))
    return causes


def _valid_cron(expr: str) -> bool:
    if expr.startswith("@"):
        return expr in ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight",
                        "@hourly") or expr.startswith("@every ")
    fields = expr.split()
    if fields and fields[0].startswith(("TZ=", "CRON_TZ=")):
        fields = fields[1:]
    if len(fields) != 5:
        return False
    import re

    return all(re.fullmatch(r"[\d*/,\-?A-Za-z]+", f) for f in fields)


_SEMANTIC: dict[tuple[str, str], Callable[[Mapping[str, Any], Mapping[str, Any] | None],
                                          list[Cause]]] = {
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("apps", "Deployment"): _workload(("Always",)),
    ("apps", "ReplicaSet"): _workload(("Always",)),
    ("apps", "StatefulSet"): _workload(("Always",)),
    ("apps", "DaemonSet"): _workload(("Always",)),
    ("", "ReplicationController"): _workload(("Always",), selector_required=False),
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cronjob,
}
