"""The API verbs, independent of any transport: what each request does to the store.

This is kube-apiserver's handler chain minus HTTP: decode checks, defaulting, admission,
validation, field management (``managedFields``, server-side apply), the status and scale
subresources, ``pods/binding``, ``pods/eviction``, ``pods/log`` and CustomResourceDefinitions
turning into served resources. The HTTP façade (:mod:`kubenb.apiserver.http`) only parses URLs and
bodies and calls in here; an in-process client calls the same methods, so both paths obey the same
rules. Writes by kubenb's own controllers may skip schema validation (``validate=False``).
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from kubenb.api import errors, services
from kubenb.api.errors import Cause
from kubenb.api.meta import generate_name, new_uid, now_rfc3339
from kubenb.api.resources import Registry, ResourceType
from kubenb.api.selectors import (
    FieldSelector,
    LabelSelector,
    selector_from_label_selector,
)
from kubenb.apiserver import defaults, limitranger, resourcequota
from kubenb.apiserver.metrics import MetricsAPI, is_metrics
from kubenb.apiserver.patch import apply as ssa
from kubenb.apiserver.patch.merge import JSONPatchError, json_merge_patch, json_patch
from kubenb.apiserver.patch.strategic import PatchError, strategic_merge
from kubenb.apiserver.schemas import SchemaSet
from kubenb.apiserver.store import ListResult, Store
from kubenb.apiserver.validation import Validator, invalid

__all__ = ["Endpoints", "LogSource", "PatchType", "WriteOptions"]

Obj = dict[str, Any]

#: namespaces the apiserver refuses to delete
_IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})


def _clone(obj: Any) -> Any:
    """A private copy of a JSON value: an orjson round trip is several times cheaper than
    :func:`copy.deepcopy`, and every stored object is JSON."""
    try:
        return orjson.loads(orjson.dumps(obj))
    except TypeError:  # not plain JSON (a YAML body with dates, say): copied as it is
        return copy.deepcopy(obj)


class PatchType:
    JSON = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"
    ALL = (JSON, MERGE, STRATEGIC, APPLY)


@dataclass
class WriteOptions:
    """The query parameters every write shares."""

    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"  # Strict | Warn | Ignore
    user_agent: str = ""
    force: bool = False
    #: schema validation of the body; kubenb's own controllers skip it
    validate: bool = True
    warnings: list[str] = field(default_factory=list)


LogSource = Callable[[Obj, str, Mapping[str, str]], str]
"""``(pod, container, params) -> text``: the kubelet's side of ``pods/log``."""

ExecRunner = Callable[[Obj, str, list[str]], tuple[int, str]]
"""``(pod, container, argv) -> (exit code, output)``: the kubelet's side of ``pods/exec``."""


class LogStream(Protocol):
    """An open ``pods/log?follow=true``: ``poll`` gives what was written since the last poll
    (the log so far, the first time) and whether the stream is over."""

    def poll(self) -> tuple[str, bool]: ...


LogFollower = Callable[[Obj, str, Mapping[str, str]], LogStream]
"""``(pod, container, params) -> LogStream``: the kubelet's side of ``pods/log?follow=true``."""


class _EndedLog:
    """A followed log with nothing more to come."""

    def __init__(self, text: str) -> None:
        self._text = text

    def poll(self) -> tuple[str, bool]:
        text, self._text = self._text, ""
        return text, True


class Endpoints:
    """Every API verb over one :class:`Store`."""

    def __init__(self, store: Store, registry: Registry, schemas: SchemaSet, *,
                 logs: LogSource | None = None,
                 on_crds_changed: Callable[[], None] | None = None) -> None:
        self.store = store
        self.registry = registry
        self.schemas = schemas
        self.validator = Validator(schemas)
        self.logs = logs
        #: the kubelets' side of ``pods/exec`` (None: no kubelet runs the containers)
        self.execs: ExecRunner | None = None
        #: the kubelets' side of ``pods/log?follow=true``
        self.log_followers: LogFollower | None = None
        #: the kubelets' side of ``pods/attach``: ``(pod, container) -> LogStream``
        self.attachers: Callable[[Obj, str], LogStream] | None = None
        #: the kubelets' side of ``pods/proxy``: ``(pod, port, path) -> answer or dial error``
        self.http: Callable[[Obj, str, str], Any] | None = None
        self._proxy_turn = 0
        self.metrics = MetricsAPI(store, registry)
        self.on_crds_changed = on_crds_changed
        self._alloc_lock = threading.Lock()
        self._service_cidr = ipaddress.ip_network("10.96.0.0/12")
        crd_rt = registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert crd_rt is not None
        self._crd_rt = crd_rt
        for raw in store.list(crd_rt).items:
            self._serve_crd(orjson.loads(raw))

    # ------------------------------------------------------------------ helpers

    def _now(self) -> str:
        return now_rfc3339(self.store.now())

    def _schema(self, rt: ResourceType) -> dict[str, Any] | None:
        return self.validator.schema_for(rt)

    def _manager(self, opts: WriteOptions, *, apply: bool = False) -> str:
        if opts.field_manager:
            if len(opts.field_manager) > 128:
                raise errors.Invalid("fieldManager: Too long: may not be more than 128 bytes")
            return opts.field_manager
        if apply:
            raise errors.BadRequest(
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is "
                "required for apply patch")
        return ssa.manager_from_user_agent(opts.user_agent)

    def _check_type(self, rt: ResourceType, obj: Any, *, kind_required: bool = False) -> Obj:
        if not isinstance(obj, dict):
            raise errors.BadRequest(
                f"the body of the request must be a {rt.kind} object, got "
                f"{type(obj).__name__.replace('NoneType', 'null')}")
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if kind_required and not kind:
            raise errors.BadRequest(f"Object 'Kind' is missing in '{_short(obj)}'")
        if kind and kind != rt.kind:
            raise errors.BadRequest(
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        if api_version and api_version != rt.api_version:
            raise errors.BadRequest(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rt.api_version})")
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        meta = obj.get("metadata")
        if meta is None:
            obj["metadata"] = {}
        elif not isinstance(meta, dict):
            raise errors.BadRequest(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                "metadata must be an object")
        return obj

    def _set_namespace(self, rt: ResourceType, obj: Obj, namespace: str | None) -> None:
        meta = obj["metadata"]
        if rt.namespaced:
            given = meta.get("namespace")
            if given and namespace and given != namespace:
                raise errors.BadRequest(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request")
            meta["namespace"] = namespace or given or "default"
        else:
            meta.pop("namespace", None)

    def _admit(self, rt: ResourceType, obj: Obj, opts: WriteOptions, *,
               old: Obj | None = None, subresource: str = "") -> None:
        """Validation, then defaulting: the object is stored as it leaves here."""
        if opts.validate:
            opts.warnings += self.validator.validate(
                rt, obj, field_validation=opts.field_validation, old=old,
                subresource=subresource)
        try:
            if not rt.custom:
                defaults.apply_defaults(group=rt.group, version=rt.version, kind=rt.kind, obj=obj)
        except (TypeError, AttributeError, KeyError, ValueError) as exc:
            raise errors.BadRequest(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                f"{exc}") from None

    def _managed(self, rt: ResourceType, old: Obj | None, new: Obj, opts: WriteOptions,
                 subresource: str = "", *, now: str | None = None) -> None:
        new["metadata"]["managedFields"] = ssa.record_update(
            old, new, manager=self._manager(opts), schema=self._schema(rt), schemas=self.schemas,
            api_version=rt.api_version, now=now or self._now(), subresource=subresource)
        if not new["metadata"]["managedFields"]:
            del new["metadata"]["managedFields"]

    def _read(self, rt: ResourceType, raw: bytes) -> Obj:
        obj = orjson.loads(raw)
        if rt.custom and obj.get("apiVersion") != rt.api_version:
            obj["apiVersion"] = rt.api_version
        return obj

    # ------------------------------------------------------------------ reads

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        if is_metrics(rt):
            return self.metrics.get(rt, namespace, name)
        return self._read(rt, self.store.get_raw(rt, namespace, name))

    def get_raw(self, rt: ResourceType, namespace: str | None, name: str) -> bytes:
        if is_metrics(rt):
            return orjson.dumps(self.metrics.get(rt, namespace, name))
        return self.convert_raw(rt, self.store.get_raw(rt, namespace, name))

    def list(self, rt: ResourceType, namespace: str | None, *,
             labels: LabelSelector = LabelSelector(), fields: FieldSelector = FieldSelector(),
             limit: int = 0, continue_token: str = "") -> ListResult:
        """Objects in key order, as the JSON served at ``rt``'s version; ``limit`` and
        ``continue`` page through stored resources (computed ones come whole)."""
        if is_metrics(rt):
            items = self.metrics.list(rt, namespace, labels=labels, fields=fields)
            return ListResult(items, self.store.resource_version, "", None)
        result = self.store.list(rt, namespace=namespace, labels=labels, fields=fields,
                                 limit=limit, continue_token=continue_token)
        if rt.custom and len(self.registry.versions_of(rt.storage)) > 1:
            result = ListResult([self.convert_raw(rt, raw) for raw in result.items],
                                result.resource_version, result.continue_token,
                                result.remaining)
        return result

    def convert_raw(self, rt: ResourceType, raw: bytes) -> bytes:
        """Serve stored bytes at ``rt``'s version (custom resources with several versions)."""
        if rt.custom and len(self.registry.versions_of(rt.storage)) > 1:
            return orjson.dumps(self._read(rt, raw))
        return raw

    # ------------------------------------------------------------------ create

    def create(self, rt: ResourceType, namespace: str | None, body: Any,
               opts: WriteOptions | None = None) -> Obj:
        opts = opts or WriteOptions()
        if rt.plural == "bindings" and rt.group == "":
            return self.bind(namespace, None, body, opts)
        if rt.group in ("authentication.k8s.io", "authorization.k8s.io"):
            return self._review(rt, namespace, self._check_type(rt, body))
        obj = self._check_type(rt, body)
        self._set_namespace(rt, obj, namespace)
        meta = obj["metadata"]
        if meta.get("resourceVersion"):
            raise errors.BadRequest("resourceVersion should not be set on objects to be created",
                                    kind=rt.kind)
        now = self._now()  # one clock reading for the whole create
        self._prepare_create(rt, obj, opts, now=now)
        self._managed(rt, None, obj, opts, now=now)
        if rt.storage == ("", "services"):
            with self.store.lock:
                self._allocate_service(obj, None)
                return self._created(rt, obj, opts, now=now)
        return self._created(rt, obj, opts, now=now)

    def _prepare_create(self, rt: ResourceType, obj: Obj, opts: WriteOptions, *,
                        now: str | None = None) -> None:
        """What every create does before it is stored, whether by POST or by apply."""
        if rt.has_status:
            obj.pop("status", None)
        self._admit(rt, obj, opts)
        self._system_fields(obj)
        storage = rt.storage
        if not rt.custom:
            now = now or self._now()
            defaults.prepare_for_create(group=rt.group, kind=rt.kind, obj=obj, now=now)
            if storage == ("", "pods"):
                defaults.admit_pod(obj)
                limitranger.admit_pod(obj, self._in_namespace("limitranges", obj))
            elif storage == ("", "persistentvolumeclaims"):
                limitranger.admit_claim(obj, self._in_namespace("limitranges", obj))
        if storage == self._crd_rt.storage:
            self._validate_crd(obj)
            obj["status"] = _crd_status(obj, now=now or self._now())
        if rt.namespaced:
            self._admit_quota(rt, obj)

    def _admit_quota(self, rt: ResourceType, obj: Obj) -> None:
        """ResourceQuota admission, when the namespace has quotas."""
        quotas = self._in_namespace("resourcequotas", obj)
        if not quotas:
            return
        namespace = obj["metadata"]["namespace"]
        storage_rt = self.store._storage_rt(rt)

        def existing() -> list[Obj]:
            return [orjson.loads(item) for item in
                    self.store.list(storage_rt, namespace=namespace).items]

        resourcequota.admit(storage_rt.group, storage_rt.plural, obj, quotas, existing)

    def _in_namespace(self, plural: str, obj: Obj) -> list[Obj]:
        """The stored objects of core resource ``plural`` (LimitRanges, quotas) in the
        namespace ``obj`` is created in; a count first, so the usual cluster that has none
        costs no list."""
        namespace = obj["metadata"].get("namespace")
        rt = self._rt("", "v1", plural)
        if not namespace or not self.store.count(rt):
            return []
        return [orjson.loads(raw) for raw in self.store.list(rt, namespace=namespace).items]

    @staticmethod
    def _system_fields(obj: Obj) -> None:
        """uid and generated name exist before the strategy runs (a Job's selector uses both)."""
        meta = obj["metadata"]
        meta["uid"] = new_uid()
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = generate_name(str(meta["generateName"]))

    def _created(self, rt: ResourceType, obj: Obj, opts: WriteOptions, *,
                 now: str | None = None) -> Obj:
        out = self.store.create(rt, obj, dry_run=opts.dry_run, now=now)
        self._after_write(rt, out, opts)
        return out

    # ------------------------------------------------------------------ update

    def replace(self, rt: ResourceType, namespace: str | None, name: str, body: Any,
                opts: WriteOptions | None = None, *, subresource: str = "") -> Obj:
        opts = opts or WriteOptions()
        if subresource == "scale":
            return self._replace_scale(rt, namespace, name, body, opts)
        obj = self._check_type(rt, body)
        self._set_namespace(rt, obj, namespace)
        if obj["metadata"].get("name") not in (None, name):
            raise errors.BadRequest(
                f"the name of the object ({obj['metadata'].get('name')}) does not match the "
                f"name on the URL ({name})")
        obj["metadata"]["name"] = name

        def mutate(mine: Obj, old: Obj) -> Obj:
            if subresource == "status":
                # all a status write takes from the body (see _prepare_update): no need to copy
                # the rest of it
                new: Obj = {"metadata": {
                    "resourceVersion": obj["metadata"].get("resourceVersion")}}
                if "status" in obj:
                    new["status"] = _clone(obj["status"])
            else:
                new = _clone(obj)
            return self._prepare_update(rt, old, new, opts, subresource, base=mine)

        out, _ = self.store.update(rt, namespace, name, mutate, dry_run=opts.dry_run,
                                   with_old=True)
        self._after_write(rt, out, opts)
        return out

    def _prepare_update(self, rt: ResourceType, old: Obj, new: Obj, opts: WriteOptions,
                        subresource: str, *, managed: bool = True,
                        base: Obj | None = None) -> Obj:
        """The strategy's PrepareForUpdate: what a write to this (sub)resource may change.

        ``base`` is a private copy of ``old`` to build the result from (the store's second
        parse), which ``old`` then stays untouched beside; without it ``old`` is that copy."""
        if base is None:
            base = old
        if subresource == "status":
            status = new.get("status")
            rv = (new.get("metadata") or {}).get("resourceVersion")
            new = _clone(old) if base is old else base
            if rv:  # the optimistic-concurrency guard still applies to status writes
                new["metadata"]["resourceVersion"] = rv
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
            if rt.storage == ("", "namespaces") and new["status"].get("phase") is None:
                new["status"]["phase"] = old.get("status", {}).get("phase", "Active")
        elif subresource == "ephemeralcontainers" and rt.storage == ("", "pods"):
            # the strategy takes spec.ephemeralContainers from the body, all else from the pod
            containers = (new.get("spec") or {}).get("ephemeralContainers")
            rv = (new.get("metadata") or {}).get("resourceVersion")
            new = _clone(old) if base is old else base
            if rv:
                new["metadata"]["resourceVersion"] = rv
            if containers:
                new["spec"]["ephemeralContainers"] = containers
            else:
                new["spec"].pop("ephemeralContainers", None)
        elif subresource == "finalize" and rt.storage == ("", "namespaces"):
            finalizers = (new.get("spec") or {}).get("finalizers")
            new = _clone(old) if base is old else base
            new.setdefault("spec", {})["finalizers"] = finalizers or []
            if not finalizers:
                del new["spec"]["finalizers"]
        elif subresource:
            raise errors.MethodNotAllowed(f"the server does not allow this method on the "
                                          f"requested resource ({subresource})")
        elif rt.has_status:
            if "status" in base:
                new["status"] = base["status"]
            else:
                new.pop("status", None)
        if rt.storage == ("", "namespaces") and not subresource and "spec" in base:
            new["spec"] = base["spec"]  # spec.finalizers only change through /finalize
        new_meta = new["metadata"]
        if "managedFields" not in new_meta and "managedFields" in base["metadata"]:
            new_meta["managedFields"] = base["metadata"]["managedFields"]
        self._admit(rt, new, opts, old=old, subresource=subresource)
        if rt.storage == self._crd_rt.storage:
            self._validate_crd(new)
            new["status"] = _crd_status(new, old.get("status"), now=self._now())
        if rt.storage == ("", "services"):
            self._allocate_service(new, old)
        if managed:
            self._managed(rt, old, new, opts, subresource)
        return new

    def _after_write(self, rt: ResourceType, obj: Obj, opts: WriteOptions) -> None:
        if rt.storage == self._crd_rt.storage and not opts.dry_run:
            self._serve_crd(obj)

    # ------------------------------------------------------------------ patch

    def patch(self, rt: ResourceType, namespace: str | None, name: str, patch_type: str,
              patch: Any, opts: WriteOptions | None = None, *, subresource: str = "") -> Obj:
        opts = opts or WriteOptions()
        if subresource == "scale":
            return self._patch_scale(rt, namespace, name, patch_type, patch, opts)
        if patch_type not in PatchType.ALL:
            raise errors.UnsupportedMediaType(
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {', '.join(PatchType.ALL)}")
        if patch_type == PatchType.STRATEGIC and rt.custom:
            raise errors.UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types "
                "include: application/json-patch+json, application/merge-patch+json, "
                "application/apply-patch+yaml")
        if patch_type != PatchType.JSON and not isinstance(patch, dict):
            raise errors.BadRequest(
                f"the body of the request must be an object for {patch_type}")
        if patch_type == PatchType.APPLY:
            return self._apply(rt, namespace, name, patch, opts, subresource)

        def mutate(mine: Obj, old: Obj) -> Obj:
            new = self._patched(rt, mine, patch_type, patch)
            return self._prepare_update(rt, old, new, opts, subresource, base=mine)

        # a merge patch of a pod's status (the kubelet's, twice per pod) builds a new object
        # that changes only its top level and metadata in place: the rest may be shared
        shallow = subresource == "status" and patch_type == PatchType.MERGE and \
            rt.storage == ("", "pods")
        out, _ = self.store.update(rt, namespace, name, mutate, dry_run=opts.dry_run,
                                   with_old=True, copy=_top_and_metadata if shallow else None)
        self._after_write(rt, out, opts)
        return out

    def _patched(self, rt: ResourceType, old: Obj, patch_type: str, patch: Any) -> Obj:
        try:
            if patch_type == PatchType.JSON:
                new = json_patch(old, patch)
            elif patch_type == PatchType.MERGE:
                new = json_merge_patch(old, patch)
            else:
                new = strategic_merge(old, patch, schema=self._schema(rt), schemas=self.schemas)
        except (JSONPatchError, PatchError) as exc:
            raise errors.Invalid(f"the server rejected our request due to an error in our "
                                 f"request: {exc}", name=old["metadata"]["name"],
                                 group=rt.group, kind=rt.kind) from None
        if not isinstance(new, dict):
            raise errors.BadRequest("the patch did not produce an object")
        if not isinstance(new.get("metadata"), dict):
            raise errors.BadRequest("metadata must be an object")
        return new

    def _apply(self, rt: ResourceType, namespace: str | None, name: str, config: Obj,
               opts: WriteOptions, subresource: str) -> Obj:
        manager = self._manager(opts, apply=True)
        config = self._check_type(rt, copy.deepcopy(config))
        meta = config["metadata"]
        if meta.get("name") not in (None, name):
            raise errors.BadRequest(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({name})")
        meta["name"] = name
        self._set_namespace(rt, config, namespace)
        if opts.validate:
            probe = copy.deepcopy(config)
            unknown = self.validator.unknown_fields(rt, probe, prune=True)
            if unknown and opts.field_validation == "Strict":
                raise errors.BadRequest("strict decoding error: " + ", ".join(
                    f'unknown field "{p}"' for p in unknown), name=name, group=rt.group,
                    kind=rt.kind)
            if unknown and opts.field_validation != "Ignore":
                opts.warnings += [f'unknown field "{p}"' for p in unknown]
            config = probe
        schema = self._schema(rt)

        def merged(live: Obj | None) -> Obj:
            try:
                return ssa.server_side_apply(
                    live, config, manager=manager, force=opts.force, schema=schema,
                    schemas=self.schemas, api_version=rt.api_version, now=self._now(),
                    subresource=subresource)
            except ssa.ApplyConflict as exc:
                raise errors.Conflict(exc.message(), name=name, group=rt.group, kind=rt.plural,
                                      causes=[Cause("FieldManagerConflict",
                                                    f'conflict with "{m}"', path)
                                              for m, path in exc.conflicts]) from None

        def mutate(old: Obj) -> Obj:
            new = merged(old)
            return self._prepare_update(rt, old, new, opts, subresource, managed=False)

        def create() -> Obj:
            if subresource:
                raise self.store._not_found(rt, name)
            obj = merged(None)
            obj.get("metadata", {}).pop("resourceVersion", None)
            self._prepare_create(rt, obj, opts)
            if rt.storage == ("", "services"):
                self._allocate_service(obj, None)
            return obj

        out, _created = self.store.update(rt, namespace, name, mutate, dry_run=opts.dry_run,
                                         allow_create=create)
        self._after_write(rt, out, opts)
        return out

    # ------------------------------------------------------------------ delete

    def delete(self, rt: ResourceType, namespace: str | None, name: str,
               options: Mapping[str, Any] | None = None, *, dry_run: bool = False) -> Obj:
        options = options or {}
        propagation = options.get("propagationPolicy")
        if propagation not in (None, "Orphan", "Background", "Foreground"):
            raise errors.Invalid(
                f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
                f'"{propagation}": supported values: "Foreground", "Background", "Orphan", "nil"')
        orphan = options.get("orphanDependents")
        if propagation is None and orphan is not None:
            propagation = "Orphan" if orphan else "Background"
        grace = options.get("gracePeriodSeconds")
        if grace is not None:
            try:
                grace = int(grace)
            except (TypeError, ValueError):
                raise errors.BadRequest(f"invalid gracePeriodSeconds: {grace!r}") from None
        dry_run = dry_run or bool(options.get("dryRun"))
        if rt.storage == ("", "namespaces") and name in _IMMORTAL_NAMESPACES:
            # kube-apiserver's NamespaceLifecycle admission
            raise errors.Forbidden(f'namespaces "{name}" is forbidden: this namespace may not be '
                                   "deleted", name=name, kind="namespaces")
        if rt.storage == self._crd_rt.storage and not dry_run:
            with self.store.lock:
                crd = self.store.get(rt, None, name)
                self._delete_custom_resources(crd)
                obj, deleted = self.store.delete(rt, namespace, name,
                                                 preconditions=options.get("preconditions"),
                                                 propagation=propagation, grace_period=grace)
                if deleted:
                    self._unserve_crd(obj)
        else:
            obj, deleted = self.store.delete(rt, namespace, name,
                                             preconditions=options.get("preconditions"),
                                             propagation=propagation, grace_period=grace,
                                             dry_run=dry_run)
        if deleted and rt.storage != ("", "pods"):
            return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": name, "group": rt.group, "kind": rt.plural,
                                "uid": obj["metadata"].get("uid", "")}}
        return self._read(rt, orjson.dumps(obj)) if rt.custom else obj

    def delete_collection(self, rt: ResourceType, namespace: str | None, *,
                          labels: LabelSelector, fields: FieldSelector,
                          options: Mapping[str, Any] | None = None,
                          dry_run: bool = False) -> Obj:
        listed = self.store.list(rt, namespace=namespace, labels=labels, fields=fields)
        for raw in listed.items:
            meta = orjson.loads(raw)["metadata"]
            with contextlib.suppress(errors.NotFound):
                self.delete(rt, meta.get("namespace"), meta["name"], options, dry_run=dry_run)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}

    # ------------------------------------------------------------------ scale

    def get_scale(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        if not rt.has_scale:
            raise errors.NotFound(f"the server could not find the requested resource "
                                  f"({rt.plural}/scale)")
        return self._scale_of(rt, self.get(rt, namespace, name))

    def _scale_of(self, rt: ResourceType, obj: Obj) -> Obj:
        spec_path, status_path, selector_path = rt.scale_paths
        meta = obj["metadata"]
        status: dict[str, Any] = {"replicas": _path_get(obj, status_path) or 0}
        selector = _path_get(obj, selector_path) if rt.custom and selector_path else None
        if not rt.custom:
            sel = (obj.get("spec") or {}).get("selector")
            if isinstance(sel, dict) and rt.storage != ("", "replicationcontrollers"):
                selector = str(selector_from_label_selector(sel))
            elif isinstance(sel, dict):
                selector = ",".join(f"{k}={v}" for k, v in sorted(sel.items()))
        if selector:
            status["selector"] = selector
        return {
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in meta},
            "spec": {"replicas": _path_get(obj, spec_path) or 0},
            "status": status,
        }

    def _replace_scale(self, rt: ResourceType, namespace: str | None, name: str, body: Any,
                       opts: WriteOptions) -> Obj:
        if not isinstance(body, dict) or body.get("kind") not in (None, "Scale"):
            raise errors.BadRequest("the body of the request must be a Scale object")
        return self._write_scale(rt, namespace, name, lambda scale: body, opts)

    def _patch_scale(self, rt: ResourceType, namespace: str | None, name: str, patch_type: str,
                     patch: Any, opts: WriteOptions) -> Obj:
        def patched(scale: Obj) -> Obj:
            try:
                if patch_type == PatchType.JSON:
                    return json_patch(scale, patch)
                if patch_type in (PatchType.MERGE, PatchType.STRATEGIC, PatchType.APPLY):
                    return json_merge_patch(scale, patch)
            except JSONPatchError as exc:
                raise errors.Invalid(str(exc)) from None
            raise errors.UnsupportedMediaType(f"unsupported patch type {patch_type}")
        return self._write_scale(rt, namespace, name, patched, opts)

    def _write_scale(self, rt: ResourceType, namespace: str | None, name: str,
                     change: Callable[[Obj], Any], opts: WriteOptions) -> Obj:
        if not rt.has_scale:
            raise errors.NotFound(f"the server could not find the requested resource "
                                  f"({rt.plural}/scale)")
        spec_path = rt.scale_paths[0]

        def mutate(new: Obj, old: Obj) -> Obj:
            scale = change(self._scale_of(rt, old))
            if not isinstance(scale, dict):
                raise errors.BadRequest("the body of the request must be a Scale object")
            replicas = (scale.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise errors.Invalid(
                    f'Scale.autoscaling "{name}" is invalid: spec.replicas: Invalid value: '
                    f"{replicas}: must be greater than or equal to 0", name=name,
                    group="autoscaling", kind="Scale",
                    causes=[Cause("FieldValueInvalid", "must be greater than or equal to 0",
                                  "spec.replicas")])
            rv = (scale.get("metadata") or {}).get("resourceVersion")
            if rv:
                new["metadata"]["resourceVersion"] = rv
            _path_set(new, spec_path, replicas)
            new["metadata"]["managedFields"] = ssa.record_update(
                old, new, manager=self._manager(opts), schema=self._schema(rt),
                schemas=self.schemas, api_version=rt.api_version, now=self._now(),
                subresource="scale")
            return new

        out, _ = self.store.update(rt, namespace, name, mutate, dry_run=opts.dry_run,
                                   with_old=True)
        return self._scale_of(rt, out)

    # ------------------------------------------------------------------ pods/*

    def bind(self, namespace: str | None, name: str | None, body: Any,
             opts: WriteOptions | None = None) -> Obj:
        """``pods/binding``: assign a pod to a node, as the scheduler does."""
        opts = opts or WriteOptions()
        if not isinstance(body, dict):
            raise errors.BadRequest("the body of the request must be a Binding object")
        meta = body.get("metadata") or {}
        name = name or meta.get("name")
        target = body.get("target") or {}
        node = target.get("name")
        pods = self._rt("", "v1", "pods")
        if not name:
            raise errors.BadRequest("a Binding needs metadata.name (the pod)")
        if not node:
            raise errors.Invalid(
                f'Binding "{name}" is invalid: target.name: Required value',
                name=name, kind="Binding",
                causes=[Cause("FieldValueRequired", "Required value", "target.name")])

        def mutate(pod: Obj) -> Obj:
            spec = pod.setdefault("spec", {})
            if pod["metadata"].get("deletionTimestamp"):
                raise errors.Conflict(f'Operation cannot be fulfilled on pods/binding "{name}": '
                                      "pod is being deleted", name=name, kind="pods")
            if spec.get("nodeName"):
                raise errors.Conflict(
                    f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is '
                    f"already assigned to node \"{spec['nodeName']}\"", name=name, kind="pods")
            uid = meta.get("uid")
            if uid and uid != pod["metadata"]["uid"]:
                raise errors.Conflict(f'Operation cannot be fulfilled on pods/binding "{name}": '
                                      "the UID in the binding does not match the pod",
                                      name=name, kind="pods")
            spec["nodeName"] = node
            for key in ("annotations",):
                if meta.get(key):
                    pod["metadata"].setdefault(key, {}).update(meta[key])
            conditions = pod.setdefault("status", {}).setdefault("conditions", [])
            now = self._now()
            for cond in conditions:
                if cond.get("type") == "PodScheduled":
                    cond.update(status="True", lastTransitionTime=now)
                    cond.pop("reason", None)
                    cond.pop("message", None)
                    break
            else:
                conditions.append({"type": "PodScheduled", "status": "True",
                                   "lastProbeTime": None, "lastTransitionTime": now})
            return pod

        # kube-apiserver's BindingREST writes storage directly (GuaranteedUpdate), past the pod
        # update strategy and the field manager: no generation bump and no managedFields entry,
        # so nodeName and PodScheduled belong to no manager, as on a real cluster
        self.store.update(pods, namespace, name, mutate, dry_run=opts.dry_run,
                          bump_generation=False)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "code": 201}

    def evict(self, namespace: str | None, name: str, body: Any,
              opts: WriteOptions | None = None) -> Obj:
        """``pods/eviction``: delete a pod unless a PodDisruptionBudget forbids it."""
        opts = opts or WriteOptions()
        if not isinstance(body, dict):
            raise errors.BadRequest("the body of the request must be an Eviction object")
        pods = self._rt("", "v1", "pods")
        pdbs = self._rt("policy", "v1", "poddisruptionbudgets")
        with self.store.lock:
            pod = self.store.get(pods, namespace, name)
            phase = (pod.get("status") or {}).get("phase")
            # canIgnorePDB: a pod that is not running, or already going, may always be evicted
            if phase not in ("Succeeded", "Failed", "Pending") and not pod["metadata"].get(
                    "deletionTimestamp"):
                labels = pod["metadata"].get("labels") or {}
                matching = [
                    orjson.loads(raw) for raw in self.store.list(pdbs, namespace=namespace).items
                ]
                matching = [p for p in matching if selector_from_label_selector(
                    (p.get("spec") or {}).get("selector")).matches(labels)]
                if len(matching) > 1:
                    raise errors.InternalError(
                        "This pod has more than one PodDisruptionBudget, which the eviction "
                        "subresource does not support.")
                for pdb in matching:
                    self._spend_disruption(pdbs, pdb, pod, opts)
            self.delete(pods, namespace, name, body.get("deleteOptions"), dry_run=opts.dry_run)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "code": 201}

    def _spend_disruption(self, pdbs: ResourceType, pdb: Obj, pod: Obj,
                          opts: WriteOptions) -> None:
        """What the eviction of ``pod`` asks of its budget (the eviction REST's checks and
        ``checkAndDecrement``): refused with 429 while the budget's status is behind its spec
        or allows nothing; otherwise one disruption is spent and the pod is recorded in
        ``status.disruptedPods``, so the disruption controller does not count it as healthy
        while it goes. An unready pod spends nothing: it may go when the policy is
        ``AlwaysAllow``, or (``IfHealthyBudget``, the default) when the budget is healthy."""
        status = pdb.get("status") or {}
        spec = pdb.get("spec") or {}
        name = pod["metadata"]["name"]
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (pod.get("status") or {}).get("conditions") or ())
        if not ready:
            if spec.get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
                return
            desired = status.get("desiredHealthy", 0)
            if desired > 0 and status.get("currentHealthy", 0) >= desired:
                return

        def refused(message: str) -> errors.APIError:
            return errors.TooManyRequests(
                "Cannot evict pod as it would violate the pod's disruption budget.",
                name=name, kind="pods", causes=[Cause("DisruptionBudget", message)])

        pdb_name = pdb["metadata"]["name"]
        if status.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
            raise refused(f"The disruption budget {pdb_name} is still being processed by the "
                          "server.")
        if status.get("disruptionsAllowed", 0) <= 0:
            raise refused(f"The disruption budget {pdb_name} needs "
                          f"{status.get('desiredHealthy', 0)} healthy pods and has "
                          f"{status.get('currentHealthy', 0)} currently")
        if opts.dry_run:
            return
        now = self._now()

        def take(p: Obj) -> Obj:
            st = p.setdefault("status", {})
            st["disruptionsAllowed"] = st.get("disruptionsAllowed", 0) - 1
            st.setdefault("disruptedPods", {})[name] = now
            if st["disruptionsAllowed"] == 0:
                for cond in st.get("conditions") or ():
                    if cond.get("type") == "DisruptionAllowed" and cond.get("status") != "False":
                        cond.update(status="False", reason="InsufficientPods", message="",
                                    lastTransitionTime=now)
            return p

        self.store.update(pdbs, pdb["metadata"].get("namespace"), pdb_name, take)

    def _container_of(self, namespace: str | None, name: str, container: str
                      ) -> tuple[Obj, str]:
        """The pod and the container a ``log`` or ``exec`` request names (the only one when
        it names none)."""
        pod = self.get(self._rt("", "v1", "pods"), namespace, name)
        spec = pod.get("spec") or {}
        containers = [c.get("name") for c in spec.get("containers") or ()]
        init = [c.get("name") for c in spec.get("initContainers") or ()]
        ephemeral = [c.get("name") for c in spec.get("ephemeralContainers") or ()]
        if not container:
            if len(containers) != 1:
                raise errors.BadRequest(
                    f"a container name must be specified for pod {name}, choose one of: "
                    f"[{' '.join(str(c) for c in containers)}]"
                    + (f" or one of the init containers: [{' '.join(map(str, init))}]"
                       if init else "")
                    + (f" or one of the ephemeral containers: [{' '.join(map(str, ephemeral))}]"
                       if ephemeral else ""))
            container = str(containers[0])
        elif container not in containers and container not in init and \
                container not in ephemeral:
            raise errors.BadRequest(f"container {container} is not valid for pod {name}")
        return pod, container

    def exec(self, namespace: str | None, name: str, container: str,
             argv: list[str]) -> tuple[int, str]:
        """``pods/exec``: run ``argv`` in a running container; (exit code, output)."""
        if not argv:
            raise errors.BadRequest("you must specify at least 1 command")
        pod, container = self._container_of(namespace, name, container)
        if self.execs is None:
            raise errors.BadRequest(
                f'unable to upgrade connection: container not found ("{container}")')
        return self.execs(pod, container, argv)

    def log(self, namespace: str | None, name: str, params: Mapping[str, str]) -> str:
        """``pods/log``: the kubelet's log of one container."""
        pod, container = self._container_of(namespace, name, params.get("container") or "")
        if self.logs is not None:
            return self.logs(pod, container, params)
        statuses = (pod.get("status") or {}).get("containerStatuses") or ()
        for st in statuses:
            if st.get("name") == container and "running" not in (st.get("state") or {}) and \
                    "terminated" not in (st.get("state") or {}):
                reason = ((st.get("state") or {}).get("waiting") or {}).get("reason",
                                                                             "ContainerCreating")
                raise errors.BadRequest(
                    f'container "{container}" in pod "{name}" is waiting to start: {reason}')
        if not statuses:
            raise errors.BadRequest(
                f'container "{container}" in pod "{name}" is waiting to start: '
                "ContainerCreating")
        return ""

    def attach(self, namespace: str | None, name: str, container: str) -> LogStream:
        """``pods/attach``: the container's output from now until it exits (stdin is not
        read)."""
        pod, container = self._container_of(namespace, name, container)
        if self.attachers is None:
            raise errors.BadRequest(
                f'unable to upgrade connection: container not found ("{container}")')
        return self.attachers(pod, container)

    def proxy(self, rt: ResourceType, namespace: str | None, target: str,
              path: str) -> tuple[int, str, str]:
        """``pods/proxy`` and ``services/proxy`` (what ``kubectl proxy`` opens): a GET of
        ``path`` on the pod (``name[:port]``) or on one ready endpoint of the Service
        (``[scheme:]name[:port]``, the port a number or a port name), answered by the
        simulated server there. Returns (HTTP status, content type, body)."""
        parts = target.split(":")
        if rt.storage == ("", "services"):
            name, port = (parts[1], parts[2]) if len(parts) == 3 else (
                parts[0], parts[1] if len(parts) > 1 else "")
            pod, port = self._service_backend(namespace, name, port)
        else:
            pod = self.get(rt, namespace, parts[0])
            port = parts[1] if len(parts) > 1 else ""
        if self.http is None:
            raise errors.ServiceUnavailable(
                "error trying to reach service: no simulated kubelet serves this pod")
        reply = self.http(pod, port, path)
        if isinstance(reply, str):
            raise errors.ServiceUnavailable(f"error trying to reach service: {reply}")
        return reply.status, reply.content_type, reply.body

    def _service_backend(self, namespace: str | None, name: str, port: str
                         ) -> tuple[Obj, str]:
        """The pod behind one ready endpoint of Service ``name`` for its ``port``, and that
        endpoint's port (ResourceLocation; kube-apiserver picks at random, this in turn)."""
        service = self.get(self._rt("", "v1", "services"), namespace, name)
        if port.isdigit():
            named = services.port_name(service, int(port))
            if named is None:
                raise errors.ServiceUnavailable(
                    f'no service port {port} found for service "{name}"')
            port = named
        try:
            endpoints = self.get(self._rt("", "v1", "endpoints"), namespace, name)
        except errors.NotFound:
            endpoints = {}
        choices = services.backends(endpoints, port)
        if not choices:
            raise errors.ServiceUnavailable(f'no endpoints available for service "{name}"')
        self._proxy_turn += 1
        pod_name, target = choices[self._proxy_turn % len(choices)]
        return self.get(self._rt("", "v1", "pods"), namespace, pod_name), str(target)

    def log_follow(self, namespace: str | None, name: str,
                   params: Mapping[str, str]) -> LogStream:
        """``pods/log?follow=true``: the log so far, then what the container writes."""
        if self.log_followers is None:
            return _EndedLog(self.log(namespace, name, params))
        pod, container = self._container_of(namespace, name, params.get("container") or "")
        return self.log_followers(pod, container, params)

    # ------------------------------------------------------------------ reviews

    def _review(self, rt: ResourceType, namespace: str | None, review: Obj) -> Obj:
        """Answer a self-review. One bearer token is the cluster's administrator, so every
        request is allowed; RBAC will decide here once it exists."""
        admin = {"username": "kubenb-admin", "groups": ["system:masters", "system:authenticated"]}
        if rt.kind == "SelfSubjectReview":
            review["status"] = {"userInfo": admin}
        elif rt.kind == "SelfSubjectAccessReview":
            review["status"] = {"allowed": True,
                                "reason": "kubenb: the bearer token is the cluster administrator"}
        else:
            review["status"] = {
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": False,
            }
        review.setdefault("metadata", {})["creationTimestamp"] = None
        return review

    # ------------------------------------------------------------------ services

    def _allocate_service(self, svc: Obj, old: Obj | None) -> None:
        """Cluster IPs and node ports are allocated by the service registry at write time."""
        spec = svc.setdefault("spec", {})
        old_spec = (old or {}).get("spec") or {}
        stype = spec.get("type", "ClusterIP")
        others: list[Obj] | None = None

        def other_services() -> list[Obj]:
            nonlocal others  # listed and parsed at most once, and only when something is new
            if others is None:
                others = self._services(svc)
            return others

        if stype == "ExternalName":
            for f in ("clusterIP", "clusterIPs"):
                spec.pop(f, None)
            return
        if old_spec.get("clusterIP") and not spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
        ip = spec.get("clusterIP")
        if ip and ip != "None":
            if old_spec.get("clusterIP") not in (None, ip):
                raise errors.Invalid(
                    f'Service "{svc["metadata"].get("name")}" is invalid: spec.clusterIPs[0]: '
                    f'Invalid value: ["{ip}"]: may not change once set', kind="Service",
                    causes=[Cause("FieldValueInvalid", "may not change once set",
                                  "spec.clusterIPs[0]")])
            if not old_spec.get("clusterIP") and ip in _cluster_ips(other_services()):
                raise errors.Invalid(
                    f'Service "{svc["metadata"].get("name")}" is invalid: spec.clusterIPs: '
                    f'Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: provided '
                    "IP is already allocated", kind="Service",
                    causes=[Cause("FieldValueInvalid", "provided IP is already allocated",
                                  "spec.clusterIPs")])
        elif not ip:
            used = _cluster_ips(other_services())
            for host in self._service_cidr.hosts():
                if str(host) not in used:
                    spec["clusterIP"] = str(host)
                    break
            else:
                raise errors.InternalError("failed to allocate a serviceIP: range is full")
        spec["clusterIPs"] = [spec["clusterIP"]]
        if stype in ("NodePort", "LoadBalancer"):
            used_ports: set[int] | None = None
            old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                         for p in old_spec.get("ports") or ()}
            next_port = 30000
            for port in spec.get("ports") or ():
                if port.get("nodePort"):
                    continue
                kept = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
                if kept:
                    port["nodePort"] = kept
                    continue
                if used_ports is None:
                    used_ports = _node_ports(other_services())
                while next_port in used_ports:
                    next_port += 1
                if next_port > 32767:
                    raise errors.InternalError("failed to allocate a nodePort: range is full")
                port["nodePort"] = next_port
                used_ports.add(next_port)
        else:
            for port in spec.get("ports") or ():
                port.pop("nodePort", None)

    def _services(self, exclude: Obj) -> list[Obj]:
        rt = self._rt("", "v1", "services")
        meta = exclude.get("metadata") or {}
        me = (meta.get("namespace"), meta.get("name"))
        out = []
        for raw in self.store.list(rt).items:
            svc = orjson.loads(raw)
            if (svc["metadata"].get("namespace"), svc["metadata"]["name"]) != me:
                out.append(svc)
        return out


    # ------------------------------------------------------------------ CRDs

    def _rt(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.registry.get(group, version, plural)
        assert rt is not None, (group, version, plural)
        return rt

    def _validate_crd(self, crd: Obj) -> None:
        spec = crd.get("spec") or {}
        name = crd["metadata"].get("name", "")
        names = spec.get("names") or {}
        causes: list[Cause] = []
        group = spec.get("group") or ""
        plural = names.get("plural") or ""
        if not group:
            causes.append(Cause("FieldValueRequired", "Required value", "spec.group"))
        elif "." not in group:
            causes.append(Cause("FieldValueInvalid",
                                f'Invalid value: "{group}": should be a domain with at least '
                                "one dot", "spec.group"))
        if not plural:
            causes.append(Cause("FieldValueRequired", "Required value", "spec.names.plural"))
        if not names.get("kind"):
            causes.append(Cause("FieldValueRequired", "Required value", "spec.names.kind"))
        if plural and group and name != f"{plural}.{group}":
            causes.append(Cause("FieldValueInvalid",
                                f'Invalid value: "{name}": must be spec.names.plural+"."+'
                                "spec.group", "metadata.name"))
        if spec.get("scope") not in ("Namespaced", "Cluster"):
            causes.append(Cause("FieldValueNotSupported",
                                f'Unsupported value: "{spec.get("scope")}": supported values: '
                                '"Cluster", "Namespaced"', "spec.scope"))
        versions = spec.get("versions") or []
        if not versions:
            causes.append(Cause("FieldValueInvalid", "must have exactly one version marked as "
                                "storage version", "spec.versions"))
        elif sum(1 for v in versions if v.get("storage")) != 1:
            causes.append(Cause("FieldValueInvalid", "Invalid value: must have exactly one "
                                "version marked as storage version", "spec.versions"))
        for i, v in enumerate(versions):
            schema = ((v.get("schema") or {}).get("openAPIV3Schema"))
            if schema is None:
                causes.append(Cause("FieldValueRequired", "Required value: schemas are required",
                                    f"spec.versions[{i}].schema.openAPIV3Schema"))
            elif isinstance(schema, dict) and schema.get("type") not in ("object", None):
                causes.append(Cause("FieldValueInvalid", 'Invalid value: must be "object" at '
                                    "the root", f"spec.versions[{i}].schema.openAPIV3Schema.type"))
            causes += _selectable_field_causes(v.get("selectableFields"), schema,
                                               f"spec.versions[{i}].selectableFields")
        rt_existing = self.registry.get(group, versions[0].get("name", "") if versions else "",
                                        plural)
        if rt_existing is not None and not rt_existing.custom:
            causes.append(Cause("FieldValueInvalid", f"Invalid value: {plural}.{group} is a "
                                "built-in resource", "spec.names.plural"))
        if causes:
            crd_rt = self._crd_rt
            raise invalid(crd_rt, name, causes)

    def _serve_crd(self, crd: Obj) -> None:
        """Register the resource types a CRD defines (``status.acceptedNames`` established)."""
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        group = spec["group"]
        served = set()
        for v in spec.get("versions") or ():
            if not v.get("served", True):
                continue
            sub = v.get("subresources") or {}
            scale = sub.get("scale") or {}
            subresources = tuple(s for s, on in (("status", "status" in sub),
                                                 ("scale", "scale" in sub)) if on)
            rt = ResourceType(
                group=group, version=v["name"], kind=names["kind"], plural=names["plural"],
                namespaced=spec.get("scope") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=subresources, custom=True, generation=True,
                field_selectors=tuple(f["jsonPath"][1:] for f in v.get("selectableFields") or ()),
                singular=names.get("singular") or names["kind"].lower(),
                scale_paths=(scale.get("specReplicasPath", ".spec.replicas"),
                             scale.get("statusReplicasPath", ".status.replicas"),
                             scale.get("labelSelectorPath", "")),
                extra={"schema": (v.get("schema") or {}).get("openAPIV3Schema"),
                       "printer_columns": v.get("additionalPrinterColumns") or [],
                       "crd": crd["metadata"]["name"]},
            )
            before = self.registry.get(group, v["name"], names["plural"])
            self.registry.register(rt)
            served.add(v["name"])
            if before is None or before.field_selectors != rt.field_selectors:
                self.store.reindex_fields(rt)
        for rt in self.registry.versions_of((group, names["plural"])):
            if rt.custom and rt.version not in served:
                self.registry.unregister(rt.group, rt.version, rt.plural)
        if self.on_crds_changed is not None:
            self.on_crds_changed()

    def _unserve_crd(self, crd: Obj) -> None:
        spec = crd.get("spec") or {}
        plural = (spec.get("names") or {}).get("plural")
        for rt in self.registry.versions_of((spec.get("group", ""), plural or "")):
            if rt.custom:
                self.registry.unregister(rt.group, rt.version, rt.plural)
        if self.on_crds_changed is not None:
            self.on_crds_changed()

    def _delete_custom_resources(self, crd: Obj) -> None:
        spec = crd.get("spec") or {}
        versions = self.registry.versions_of((spec.get("group", ""),
                                              (spec.get("names") or {}).get("plural", "")))
        if not versions:
            return
        rt = versions[0]
        for raw in self.store.list(rt).items:
            meta = orjson.loads(raw)["metadata"]

            def strip(obj: Obj) -> Obj:
                obj["metadata"].pop("finalizers", None)
                return obj
            if meta.get("finalizers"):
                self.store.update(rt, meta.get("namespace"), meta["name"], strip)
            if self.store.exists(rt, meta.get("namespace"), meta["name"]):
                self.store.delete(rt, meta.get("namespace"), meta["name"])

    def custom_resource_definitions(self) -> list[Obj]:
        return [orjson.loads(raw) for raw in self.store.list(self._crd_rt).items]


def _crd_status(crd: Obj, old: Mapping[str, Any] | None = None, *, now: str) -> Obj:
    spec = crd.get("spec") or {}
    names = dict(spec.get("names") or {})
    names.setdefault("singular", str(names.get("kind", "")).lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    stored = list((old or {}).get("storedVersions") or [])
    for v in spec.get("versions") or ():
        if v.get("storage") and v.get("name") not in stored:
            stored.append(v["name"])
    old_conditions = {c.get("type"): c for c in (old or {}).get("conditions") or ()}

    def cond(ctype: str, reason: str, message: str) -> Obj:
        prev = old_conditions.get(ctype)
        return {"type": ctype, "status": "True",
                "lastTransitionTime": prev.get("lastTransitionTime", now) if prev else now,
                "reason": reason, "message": message}

    return {
        "acceptedNames": names,
        "conditions": [
            cond("NamesAccepted", "NoConflicts", "no conflicts found"),
            cond("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    }


def _cluster_ips(services: list[Obj]) -> set[str]:
    return {s.get("spec", {}).get("clusterIP", "") for s in services}


def _node_ports(services: list[Obj]) -> set[int]:
    return {p["nodePort"] for s in services
            for p in s.get("spec", {}).get("ports") or () if p.get("nodePort")}


def _path_get(obj: Mapping[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.strip(".").split("."):
        if not part:
            continue
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


def _path_set(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = [p for p in path.strip(".").split(".") if p]
    cur = obj
    for part in parts[:-1]:
        cur = cur.setdefault(part, {})
    cur[parts[-1]] = value


def _short(obj: Mapping[str, Any]) -> str:
    text = orjson.dumps(obj).decode()
    return text if len(text) < 200 else text[:200] + "..."


def _top_and_metadata(obj: Obj) -> Obj:
    """A copy of ``obj`` whose top level and metadata are its own; all below is shared."""
    out = dict(obj)
    out["metadata"] = dict(obj["metadata"])
    return out


#: apiextensions' limit on a version's selectableFields
_MAX_SELECTABLE_FIELDS = 8


def _selectable_field_causes(fields: Any, schema: Any, at: str) -> list[Cause]:
    """What is wrong with a CRD version's ``selectableFields``: each a ``jsonPath`` of the form
    ``.a.b`` naming a string, integer or boolean field of the schema, outside metadata, once."""
    if fields is None:
        return []
    if not isinstance(fields, list):
        return [Cause("FieldValueTypeInvalid", "Invalid value: must be a list", at)]
    causes: list[Cause] = []
    if len(fields) > _MAX_SELECTABLE_FIELDS:
        causes.append(Cause("FieldValueTooMany", f"Too many: {len(fields)}: must have at most "
                            f"{_MAX_SELECTABLE_FIELDS} items", at))
    seen: set[str] = set()
    for i, item in enumerate(fields):
        where = f"{at}[{i}].jsonPath"
        path = item.get("jsonPath") if isinstance(item, dict) else None
        if not path or not isinstance(path, str):
            causes.append(Cause("FieldValueRequired", "Required value", where))
            continue
        names = path[1:].split(".")
        if path[0] != "." or not all(names) or any(c in path for c in "[]*@?() '\""):
            causes.append(Cause("FieldValueInvalid", f'Invalid value: "{path}": must be a '
                                "simple JSON path such as .spec.color", where))
            continue
        if names[0] == "metadata":
            causes.append(Cause("FieldValueInvalid", f'Invalid value: "{path}": fields of '
                                "metadata are not selectable this way", where))
            continue
        if path in seen:
            causes.append(Cause("FieldValueDuplicate", f'Duplicate value: "{path}"', where))
            continue
        seen.add(path)
        node = schema if isinstance(schema, dict) else None
        for name in names:
            props = node.get("properties") if node is not None else None
            node = props.get(name) if isinstance(props, dict) else None
            if not isinstance(node, dict):
                break
        if node is None or not isinstance(node, dict):
            causes.append(Cause("FieldValueInvalid", f'Invalid value: "{path}": is not a field '
                                "of the schema", where))
        elif node.get("type") not in ("string", "integer", "boolean"):
            causes.append(Cause("FieldValueInvalid", f'Invalid value: "{path}": must name a '
                                "field of type string, integer or boolean", where))
    return causes
