"""The field managers: the name a request writes under, and the chain that records ownership.

Upstream this is the manager chain of ``k8s.io/apimachinery/pkg/util/managedfields/internal``
around SMD's Updater: the fieldManager derived from the User-Agent and the PatchOptions checks,
"current-operation" (an Update takes what changed from everyone else), stripping the meta fields
nobody may own, and the cap that folds the oldest of more than ten update managers into
"ancient-changes" entries.
"""

from __future__ import annotations

import functools

from kubenb.apiserver.patch.apply.compare import _Comparison, _comparison
from kubenb.apiserver.patch.apply.errors import FieldManagerInvalid, _Conflicts
from kubenb.apiserver.patch.apply.fieldset import _exclude, _field_set
from kubenb.apiserver.patch.apply.goformat import _go_is_print, _go_quote
from kubenb.apiserver.patch.apply.managedfields import (
    Ident,
    _ident,
    _ident_json,
    _Managed,
    _seconds,
    _VSet,
)
from kubenb.apiserver.patch.apply.merge import _merge, _prune, _without_pruned
from kubenb.apiserver.patch.apply.paths import Path
from kubenb.apiserver.patch.apply.schema import _Type
from kubenb.apiserver.patch.apply.values import _NIL, _PRUNED, JSON, _jcopy

FIELD_MANAGER_MAX_LENGTH = 128
_MAX_UPDATE_MANAGERS = 10
_ANCIENT_CHANGES = "ancient-changes"


@functools.lru_cache(maxsize=512)
@functools.lru_cache(maxsize=256)
def manager_from_user_agent(user_agent: str | None) -> str:
    """The field manager the apiserver derives when a request names none: the User-Agent up to
    the first ``/``, without unprintable characters, cut to 128 bytes
    (``kubectl/v1.37.0 (linux/amd64)`` → ``kubectl``, ``OpenAPI-Generator/33.1.0/python`` →
    ``OpenAPI-Generator``). An empty result is recorded as ``unknown``. Cached: every write
    without a fieldManager asks, and a client sends the same User-Agent each time."""
    head = (user_agent or "").split("/", 1)[0]
    out: list[str] = []
    size = 0
    for ch in head:
        if not _go_is_print(ch):
            continue
        n = len(ch.encode("utf-8", "surrogatepass"))
        if size + n > FIELD_MANAGER_MAX_LENGTH:
            break
        out.append(ch)
        size += n
    return "".join(out)


def validate_patch_options(
    *, field_manager: str | None, apply: bool, force: bool | None = None
) -> None:
    """Validate ``fieldManager``/``force`` as ValidatePatchOptions does; raise FieldManagerInvalid.

    For create/update requests pass ``apply=False`` and ``force=None``."""
    errs: list[tuple[str, str, str]] = []
    manager = field_manager or ""
    if apply:
        if not manager:
            errs.append(
                (
                    "FieldValueRequired",
                    "fieldManager",
                    "Required value: is required for apply patch",
                )
            )
    elif force is not None:
        errs.append(
            ("FieldValueForbidden", "force", "Forbidden: may not be specified for non-apply patch")
        )
    if len(manager.encode()) > FIELD_MANAGER_MAX_LENGTH:
        errs.append(
            (
                "FieldValueTooLong",
                "fieldManager",
                f"Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes",
            )
        )
    pos = 0
    for ch in manager:
        if not _go_is_print(ch):
            errs.append(
                (
                    "FieldValueInvalid",
                    "fieldManager",
                    f"Invalid value: {_go_quote(manager)}: invalid character "
                    f"U+{ord(ch):04X} (at position {pos})",
                )
            )
        pos += len(ch.encode("utf-8", "surrogatepass"))
    if errs:
        raise FieldManagerInvalid(errs)


_STRIP: frozenset[Path] = frozenset(
    {
        ("f:apiVersion",),
        ("f:kind",),
        ("f:metadata",),
        ("f:metadata", "f:name"),
        ("f:metadata", "f:namespace"),
        ("f:metadata", "f:creationTimestamp"),
        ("f:metadata", "f:selfLink"),
        ("f:metadata", "f:uid"),
        ("f:metadata", "f:clusterName"),
        ("f:metadata", "f:generation"),
        ("f:metadata", "f:managedFields"),
        ("f:metadata", "f:resourceVersion"),
    }
)

_CURRENT_OPERATION: Ident = ("current-operation", "", "", "")


class _FieldManager:
    """The apiserver's manager chain for one kind, API version and subresource."""

    def __init__(
        self,
        root: _Type,
        *,
        api_version: str,
        subresource: str,
        ignore: tuple[Path, ...],
        now: str,
    ) -> None:
        self.t = root
        self.api_version = api_version
        self.subresource = subresource
        self.ignore = ignore
        self.now = now

    # -- SMD Updater -------------------------------------------------------------------------

    def _smd_update(
        self, old: JSON, new: JSON, managers: dict[Ident, _VSet], workflow: Ident, *, force: bool
    ) -> tuple[dict[Ident, _VSet], _Comparison]:
        compare = _comparison(self.t, old, new)
        filtered = compare.excluding(self.ignore)
        changed = filtered.modified | filtered.added
        conflicts: dict[Ident, set[Path]] = {}
        for ident, vs in managers.items():
            if ident == workflow:
                continue
            clash = vs.paths & changed
            if clash:
                conflicts[ident] = clash
        if conflicts and not force:
            raise _Conflicts(conflicts)
        removed = filtered.removed
        for ident, vs in list(managers.items()):
            if ident == workflow:
                continue
            paths = vs.paths
            if ident in conflicts:
                paths = paths - conflicts[ident]
            if removed:
                paths = paths - removed
            if paths is not vs.paths:
                managers[ident] = _VSet(paths, vs.api_version, vs.applied)
        for ident in [i for i, vs in managers.items() if not vs.paths]:
            del managers[ident]
        return managers, compare

    def _smd_apply(
        self, live: JSON, config: JSON, managers: dict[Ident, _VSet], ident: Ident, *, force: bool
    ) -> tuple[JSON | None, dict[Ident, _VSet]]:
        t = self.t
        merged = _merge(t, live, config)
        if merged is _NIL:
            merged = {}
        last = managers.get(ident)
        applied = _exclude(_field_set(t, config), self.ignore)
        managers[ident] = _VSet(applied, self.api_version, True)
        # Re-applying everything applied last time can never prune anything.
        pruned = last is not None and bool(last.paths) and not last.paths <= applied
        if pruned:
            assert last is not None
            merged = _prune(t, merged, (vs.paths for vs in managers.values()), last.paths)
        managers, _ = self._smd_update(live, merged, managers, ident, force=force)
        if merged == live:
            return None, managers
        if pruned:
            merged = {} if merged is _PRUNED else _without_pruned(merged)
        return merged, managers

    # -- apimachinery managers ---------------------------------------------------------------

    def update(self, old: JSON, new: JSON, managed: _Managed, manager: str) -> _Managed:
        """capManagers → buildManagerInfo → managedFieldsUpdater → stripMeta → structured Update."""
        ident = _ident(manager or "unknown", "Update", self.api_version, self.subresource)
        fields = dict(managed.fields)
        times = dict(managed.times)
        fields, compare = self._smd_update(old, new, fields, _CURRENT_OPERATION, force=True)
        taken = _exclude(compare.modified | compare.added, self.ignore) - _STRIP
        if taken:
            previous = fields.get(ident)
            if previous is not None:
                taken = taken | previous.paths
            fields[ident] = _VSet(taken, self.api_version, False)
            times[ident] = self.now
        result = _Managed(fields, times)
        _cap_update_managers(result)
        return result

    def apply(
        self, live: JSON, config: JSON, managed: _Managed, manager: str, *, force: bool
    ) -> tuple[JSON, _Managed]:
        """buildManagerInfo → managedFieldsUpdater → stripMeta → structured Apply."""
        ident = _ident(manager or "unknown", "Apply", self.api_version, self.subresource)
        fields = dict(managed.fields)
        times = dict(managed.times)
        new, fields = self._smd_apply(live, config, fields, ident, force=force)
        vs = fields.get(ident)
        if vs is not None:
            stripped = vs.paths - _STRIP
            if stripped:
                fields[ident] = _VSet(stripped, vs.api_version, vs.applied)
            else:
                del fields[ident]
        if new is not None:
            times[ident] = self.now
        else:
            new = _jcopy(live)
        return new, _Managed(fields, times)


def _cap_update_managers(managed: _Managed) -> None:
    """Fold the oldest update managers into "ancient-changes" buckets beyond ten of them."""
    updaters = [i for i, vs in managed.fields.items() if not vs.applied]
    if len(updaters) <= _MAX_UPDATE_MANAGERS:
        return
    updaters.sort(key=lambda i: (int(_seconds(managed.times.get(i))), _ident_json(i)))
    first_of_version: dict[str, Ident] = {}
    length = len(updaters)
    for ident in updaters:
        if length <= _MAX_UPDATE_MANAGERS:
            break
        vs = managed.fields[ident]
        time = managed.times.get(ident)
        bucket = _ident(_ANCIENT_CHANGES, "Update", vs.api_version, "")
        first = first_of_version.get(vs.api_version)
        if first is None:
            first_of_version[vs.api_version] = ident
            continue
        if bucket not in managed.fields:
            managed.fields[bucket] = managed.fields.pop(first)
            managed.times.pop(first, None)
        managed.fields[bucket] = _VSet(
            vs.paths | managed.fields[bucket].paths, vs.api_version, vs.applied
        )
        del managed.fields[ident]
        managed.times.pop(ident, None)
        length -= 1
        managed.times[bucket] = time
