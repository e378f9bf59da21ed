"""Server-side apply and ``metadata.managedFields``, as the Kubernetes 1.37 apiserver does them.

Server-side apply (SSA) lets many writers share one object: each names itself (the
``fieldManager``, or one derived from its User-Agent), the apiserver records in
``metadata.managedFields`` which fields each one set, and an apply merges a partial configuration
into the live object, taking over the fields it sets, refusing with a 409 to change fields
others own unless forced, and removing fields the same applier set before and now leaves out.
Every other write (create, update, non-apply patch) is recorded too: what it changed becomes its
own and is taken from everyone else.

Why it exists here: ``kubectl apply --server-side``, ``kubectl get --show-managed-fields`` and
every client that looks at field ownership expect the exact bookkeeping of the real apiserver,
which lives in two places upstream:

* ``sigs.k8s.io/structured-merge-diff`` (SMD) — field sets, merge, compare, prune, conflicts;
* ``k8s.io/apimachinery/pkg/util/managedfields/internal`` — the chain of managers around SMD
  (strip meta fields, "current-operation", "before-first-apply", the cap of ten update managers,
  the ``kubectl`` last-applied upgrade, encoding and sorting of ``managedFields``).

This package re-implements both on plain JSON values, one concept per module:

* ``operations`` — the two entry points, :func:`server_side_apply` and :func:`record_update`;
* ``managers`` — manager names, PatchOptions checks, the Update/Apply manager chain, the cap;
* ``managedfields`` — decoding, encoding and sorting the ``managedFields`` entries;
* ``lastapplied`` — kubectl's last-applied-configuration hand-over and upkeep;
* ``schema`` — the JSON schema compiled into SMD's type tree (list types, keys, atomicity);
* ``paths`` / ``fieldset`` — path elements; field sets and their FieldsV1 encoding;
* ``merge`` / ``compare`` / ``validate`` — the walkers over (type, value);
* ``errors`` — ApplyConflict, ApplyError, FieldManagerInvalid;
* ``values`` / ``goformat`` — JSON values and absent markers; text as Go writes it.

The behaviours that matter and are easy to get wrong:

* Which paths exist in a set differs by operation: an *Apply* set is the applied configuration's
  own field set (no ``"."`` on structs), an *Update* set is what changed between the old and the
  new object (every node that appeared gets a ``"."``, so on create the Go zero value of the kind
  decides which struct nodes "appeared").
* Conflicts, shared ownership, force, pruning of fields an applier stopped specifying, and the
  error messages follow SMD and the apiserver exactly (``Apply failed with 1 conflict: conflict with
  "kubectl-client-side-apply" using apps/v1: .spec.replicas``).

Deliberate simplifications: no conversion between API versions (a manager that wrote another
version is compared in the current one) and no reconciliation of sets after schema changes.
Defaulting of the merged object is the caller's job, as it is the apiserver's after the field
manager has run. Schemas are compiled once and cached by identity, so they must not be mutated.
"""

from __future__ import annotations

from kubenb.apiserver.patch.apply.errors import ApplyConflict, ApplyError, FieldManagerInvalid
from kubenb.apiserver.patch.apply.lastapplied import LAST_APPLIED_ANNOTATION
from kubenb.apiserver.patch.apply.managers import (
    FIELD_MANAGER_MAX_LENGTH as FIELD_MANAGER_MAX_LENGTH,
)
from kubenb.apiserver.patch.apply.managers import (
    manager_from_user_agent,
    validate_patch_options,
)
from kubenb.apiserver.patch.apply.operations import record_update, server_side_apply

__all__ = [
    "LAST_APPLIED_ANNOTATION",
    "ApplyConflict",
    "ApplyError",
    "FieldManagerInvalid",
    "manager_from_user_agent",
    "record_update",
    "server_side_apply",
    "validate_patch_options",
]
