"""ControllerRevisions: the template history DaemonSets and StatefulSets keep
(``pkg/controller/history`` and the history parts of ``pkg/controller/daemon`` in Kubernetes).

A revision stores a strategic merge patch that puts a pod template back,
``{"spec": {"template": {..., "$patch": "replace"}}}``, and a revision number. ``kubectl rollout
history`` lists the revisions a workload controls (by its selector, then by controller reference)
and ``kubectl rollout undo`` applies a revision's ``data`` to the workload as a strategic merge
patch, so the layout is kept exactly. A rollback makes the template equal to an older revision,
which the controller then renumbers as the newest instead of creating a duplicate.

Also here: claiming objects for a controller (``ControllerRefManager``): adopt orphans that match
the selector, release owned objects that no longer do. Both workloads claim their pods and their
revisions the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson

from kubenb.api import errors
from kubenb.api.kinds import CONTROLLERREVISIONS
from kubenb.api.resources import ResourceType
from kubenb.client.client import Client, PatchType, deepcopy
from kubenb.controllers.podutil import parse_time
from kubenb.runtime.informer import BY_CONTROLLER, ORPHANS, Informer, orphan_namespace

__all__ = [
    "HASH_LABEL", "ORPHANS", "REVISION_HASH_LABEL", "claim", "create_revision",
    "equal_data", "fnv32", "fnv32a", "hash_revision_data", "max_revision", "new_revision",
    "orphan_namespace", "revision_name", "revision_template", "safe_encode", "sort_revisions",
    "template_hash", "template_patch", "update_revision_number",
]

Obj = dict[str, Any]

#: on pods and DaemonSet revisions: which revision a pod was made from
#: (``apps.DefaultDaemonSetUniqueLabelKey`` / ``apps.StatefulSetRevisionLabel``)
REVISION_HASH_LABEL = "controller-revision-hash"
#: on StatefulSet revisions: the hash of the revision's data
#: (``history.ControllerRevisionHashLabel``)
HASH_LABEL = "controller.kubernetes.io/hash"

_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's rand.SafeEncodeString alphabet


# ---------------------------------------------------------------------------------- hashing

def safe_encode(text: str) -> str:
    """``rand.SafeEncodeString``: no vowels, so hashes never spell words."""
    return "".join(_ALPHANUMS[b % len(_ALPHANUMS)] for b in text.encode())


def fnv32(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= b
    return h


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def _canonical(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def template_hash(template: Obj, collision_count: int | None) -> str:
    """``controller.ComputeHash``: FNV-1a of the pod template plus the collision count (the
    DaemonSet's revision name suffix and the ``controller-revision-hash`` of its pods)."""
    data = _canonical(template)
    if collision_count is not None:
        data += int(collision_count & 0xFFFFFFFF).to_bytes(8, "little")
    return safe_encode(str(fnv32a(data)))


def hash_revision_data(data: Obj, collision_count: int | None) -> str:
    """``history.HashControllerRevision``: FNV-1 of the revision's data plus the collision count
    (the StatefulSet's revision name suffix)."""
    raw = _canonical(data)
    if collision_count is not None:
        raw += str(collision_count).encode()
    return safe_encode(str(fnv32(raw)))


def revision_name(prefix: str, hash_: str) -> str:
    """``<owner>-<hash>``, the owner's name cut to 223 bytes so the result fits 253."""
    return f"{prefix[:223]}-{hash_}"


# ---------------------------------------------------------------------------------- contents

def template_patch(template: Obj) -> Obj:
    """The revision data that restores ``template`` (``getPatch``), keys sorted as Go writes."""
    patched = deepcopy(template)
    patched["$patch"] = "replace"
    return orjson.loads(_canonical({"spec": {"template": patched}}))


def revision_template(revision: Obj) -> Obj | None:
    """The pod template a revision restores (None when its data is not a template patch)."""
    data = revision.get("data")
    if not isinstance(data, dict):
        return None
    template = (data.get("spec") or {}).get("template")
    if not isinstance(template, dict):
        return None
    return {k: v for k, v in template.items() if k != "$patch"}


def equal_data(revision: Obj, template: Obj) -> bool:
    """Whether ``revision`` restores exactly ``template`` (``Match`` / ``EqualRevision``)."""
    return revision_template(revision) == template


def sort_revisions(revisions: Iterable[Obj]) -> list[Obj]:
    """By revision number, then creation time, then name (``SortControllerRevisions``)."""
    return sorted(revisions, key=lambda r: (
        int(r.get("revision") or 0),
        parse_time(r["metadata"].get("creationTimestamp")) or 0.0, r["metadata"]["name"]))


def max_revision(revisions: Iterable[Obj]) -> int:
    return max((int(r.get("revision") or 0) for r in revisions), default=0)


def new_revision(owner: Obj, *, name: str, data: Obj, revision: int,
                 labels: dict[str, str], annotations: dict[str, str] | None = None) -> Obj:
    """A ControllerRevision controlled by ``owner``."""
    meta = owner["metadata"]
    rmeta: Obj = {"name": name, "namespace": meta["namespace"], "labels": labels,
                  "ownerReferences": [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                       "name": meta["name"], "uid": meta["uid"],
                                       "controller": True, "blockOwnerDeletion": True}]}
    if annotations:
        rmeta["annotations"] = dict(annotations)
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": rmeta,
            "data": data, "revision": revision}


# ---------------------------------------------------------------------------------- writes

def create_revision(client: Client, owner: Obj, template: Obj, revision: int,
                    collision_count: int) -> tuple[Obj, int]:
    """``CreateControllerRevision`` for a StatefulSet: name ``<owner>-<hash of data>``; on a
    name taken by different data, count a collision and try the next name. Returns the revision
    and the collision count it was made with."""
    data = template_patch(template)
    labels = dict(((template.get("metadata") or {}).get("labels")) or {})
    annotations = owner["metadata"].get("annotations") or None
    ns = owner["metadata"]["namespace"]
    while True:
        hash_ = hash_revision_data(data, collision_count)
        labels[HASH_LABEL] = hash_
        cr = new_revision(owner, name=revision_name(owner["metadata"]["name"], hash_), data=data,
                          revision=revision, labels=dict(labels), annotations=annotations)
        try:
            return client.create(CONTROLLERREVISIONS, cr, ns), collision_count
        except errors.AlreadyExists:
            existing = client.get(CONTROLLERREVISIONS, cr["metadata"]["name"], ns)
            if existing.get("data") == data:
                return existing, collision_count
            collision_count += 1


def update_revision_number(client: Client, revision: Obj, number: int) -> Obj:
    """Give an existing revision a new number (a rollback makes an old template the newest)."""
    if int(revision.get("revision") or 0) == number:
        return revision
    meta = revision["metadata"]
    return client.patch(CONTROLLERREVISIONS, meta["name"], {
        "revision": number, "metadata": {"resourceVersion": meta["resourceVersion"]}},
        meta["namespace"], patch_type=PatchType.MERGE)


# ---------------------------------------------------------------------------------- claiming

def claim(client: Client, rt: ResourceType, informer: Informer, owner: Obj,
          matches: Callable[[Obj], bool], *, adopt: bool = True) -> list[Obj]:
    """The objects ``owner`` controls after adopting and releasing (``ClaimObjects``).

    Owned objects (informer index ``controller``) that ``matches`` rejects are released;
    orphans in the owner's namespace (index :data:`ORPHANS`) that it accepts are adopted,
    unless ``adopt`` is False (an owner being deleted adopts nothing). Writes are guarded by
    resourceVersion: a conflict skips the object until the next reconcile."""
    meta = owner["metadata"]
    uid = meta["uid"]
    out: list[Obj] = []
    for obj in informer.by_index(BY_CONTROLLER, uid):
        if matches(obj):
            out.append(obj)
            continue
        refs = [r for r in obj["metadata"].get("ownerReferences") or () if r.get("uid") != uid]
        _patch_refs(client, rt, obj, refs)
    if adopt and not meta.get("deletionTimestamp"):
        ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"],
               "uid": uid, "controller": True, "blockOwnerDeletion": True}
        for obj in informer.by_index(ORPHANS, meta["namespace"]):
            if obj["metadata"].get("deletionTimestamp") or not matches(obj):
                continue
            refs = [*(obj["metadata"].get("ownerReferences") or ()), ref]
            adopted = _patch_refs(client, rt, obj, refs)
            if adopted is not None:
                out.append(adopted)
    return out


def _patch_refs(client: Client, rt: ResourceType, obj: Obj, refs: list[Obj]) -> Obj | None:
    meta = obj["metadata"]
    try:
        return client.patch(rt, meta["name"], {"metadata": {
            "ownerReferences": refs or None, "resourceVersion": meta["resourceVersion"]}},
            meta.get("namespace"), patch_type=PatchType.MERGE)
    except (errors.Conflict, errors.NotFound):
        return None  # it changed meanwhile: the next reconcile looks again
