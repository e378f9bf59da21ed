"""kubectl's ``last-applied-configuration`` annotation when kubectl applies server-side.

When kubectl moves an object from client-side to server-side apply, the apiserver lets it take
over, without a conflict, the fields its client-side apply had set to the values now applied
(lastAppliedManager), and keeps the annotation in step with later applies (lastAppliedUpdater)
so that going back to client-side apply still works.
"""

from __future__ import annotations

import json
from typing import Any

from kubenb.apiserver.patch.apply.compare import _comparison
from kubenb.apiserver.patch.apply.fieldset import _field_set
from kubenb.apiserver.patch.apply.goformat import _go_json_document
from kubenb.apiserver.patch.apply.paths import Path
from kubenb.apiserver.patch.apply.schema import _Type
from kubenb.apiserver.patch.apply.validate import _validate

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

_TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


def _allowed_from_last_applied(
    root: _Type, live: dict[str, Any], api_version: str
) -> set[Path] | None:
    meta = live.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    text = annotations.get(LAST_APPLIED_ANNOTATION) if isinstance(annotations, dict) else None
    if not isinstance(text, str) or not text:
        return None
    try:
        last = json.loads(text)
    except ValueError:
        return None
    if not isinstance(last, dict) or last.get("apiVersion") != api_version:
        return None
    errs: list[str] = []
    _validate(root, last, "", errs)
    if errs:
        return None
    compare = _comparison(root, last, live)
    return _field_set(root, last) - compare.modified - compare.added - compare.removed


def _update_last_applied(obj: dict[str, Any], cfg: dict[str, Any]) -> None:
    """lastAppliedUpdater: keep kubectl's client-side annotation in step with its applies."""
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict) or not annotations.get(LAST_APPLIED_ANNOTATION):
        return
    applied = dict(cfg)
    cfg_meta = applied.get("metadata")
    if isinstance(cfg_meta, dict) and isinstance(cfg_meta.get("annotations"), dict):
        cfg_meta = dict(cfg_meta)
        cfg_meta["annotations"] = {
            k: v for k, v in cfg_meta["annotations"].items() if k != LAST_APPLIED_ANNOTATION
        }
        applied["metadata"] = cfg_meta
    text = _go_json_document(applied) + "\n"
    annotations[LAST_APPLIED_ANNOTATION] = text
    total = sum(
        len(k.encode()) + len(v.encode()) for k, v in annotations.items() if isinstance(v, str)
    )
    if total > _TOTAL_ANNOTATION_SIZE_LIMIT:
        del annotations[LAST_APPLIED_ANNOTATION]
