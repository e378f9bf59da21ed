"""The errors of server-side apply, each able to give the ``v1.Status`` body the apiserver sends.

::

    Exception
    ├── ApplyConflict        409 Conflict: the apply would change fields other managers own
    ├── ApplyError           400 BadRequest or 500: a configuration rejected before merging
    └── FieldManagerInvalid  422 Invalid: ``fieldManager``/``force`` in PatchOptions are wrong

The private ones never leave the package: ``_Conflicts`` carries the raw conflicting sets from
the merge to where they become an ApplyConflict, ``_DecodeError`` reports managedFields that
cannot be read, and ``_PathError`` a list item that no path element can name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kubenb.apiserver.patch.apply.goformat import _go_quote

if TYPE_CHECKING:
    from kubenb.apiserver.patch.apply.paths import Path


class ApplyConflict(Exception):
    """An apply that would change fields owned by other managers (HTTP 409, reason Conflict)."""

    def __init__(
        self,
        conflicts: Sequence[tuple[str, str]],
        *,
        printed_managers: Sequence[str] | None = None,
    ) -> None:
        """``conflicts`` are (manager, field path) pairs, grouped by manager; ``printed_managers``
        says how the message names each pair's manager (``"x" using apps/v1`` for updaters,
        ``"x" with subresource "status"`` ...), by default just the quoted name."""
        self.conflicts: list[tuple[str, str]] = list(conflicts)
        self._printed = (
            list(printed_managers)
            if printed_managers is not None
            else [_go_quote(m) for m, _ in self.conflicts]
        )
        super().__init__(self.message())

    def message(self) -> str:
        """The Status message of the real 409 response."""
        return _conflict_message(
            list(zip(self._printed, (p for _, p in self.conflicts), strict=True))
        )

    def causes(self) -> list[dict[str, str]]:
        """The Status ``details.causes``: one FieldManagerConflict per conflicting field."""
        return [
            {"type": "FieldManagerConflict", "message": f"conflict with {printed}", "field": path}
            for printed, (_, path) in zip(self._printed, self.conflicts, strict=True)
        ]

    def status(self) -> dict[str, Any]:
        """The complete ``v1.Status`` body the apiserver sends."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message(),
            "reason": "Conflict",
            "details": {"causes": self.causes()},
            "code": 409,
        }


class ApplyError(Exception):
    """An apply the apiserver rejects before merging (bad type, managedFields sent, invalid fields).

    ``code`` is 400 (reason BadRequest) or 500 (no reason), as the real apiserver answers.
    """

    def __init__(self, message: str, *, code: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.reason = "BadRequest" if code == 400 else ""

    def status(self) -> dict[str, Any]:
        """The ``v1.Status`` body of the error response."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": str(self),
        }
        if self.reason:
            body["reason"] = self.reason
        body["code"] = self.code
        return body


class FieldManagerInvalid(Exception):
    """Invalid PatchOptions/field manager (HTTP 422), e.g. an apply without ``fieldManager``."""

    def __init__(self, causes: Sequence[tuple[str, str, str]]) -> None:
        # (reason, field, body) per error, body as field.Error.ErrorBody() prints it.
        self.errors = list(causes)
        parts = [f"{field}: {body}" for _, field, body in self.errors]
        agg = parts[0] if len(parts) == 1 else "[" + ", ".join(dict.fromkeys(parts)) + "]"
        super().__init__(f'PatchOptions.meta.k8s.io "" is invalid: {agg}')

    def status(self) -> dict[str, Any]:
        """The ``v1.Status`` body (reason Invalid, code 422)."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": str(self),
            "reason": "Invalid",
            "details": {
                "group": "meta.k8s.io",
                "kind": "PatchOptions",
                "causes": [{"reason": r, "message": b, "field": f} for r, f, b in self.errors],
            },
            "code": 422,
        }


class _Conflicts(Exception):
    def __init__(self, sets: dict[tuple[str, str, str, str], set[Path]]) -> None:
        super().__init__("conflicts")
        self.sets = sets


class _DecodeError(Exception):
    pass


class _PathError(Exception):
    pass


def _conflict_message(conflicts: list[tuple[str, str]]) -> str:
    """getConflictMessage from (printed manager, path) pairs."""
    if len(conflicts) == 1:
        return f"Apply failed with 1 conflict: conflict with {conflicts[0][0]}: {conflicts[0][1]}"
    by_manager: dict[str, list[str]] = {}
    for printed, path in conflicts:
        by_manager.setdefault(printed, []).append(path)
    lines: list[str] = []
    for printed, paths in by_manager.items():
        lines.append(f"conflicts with {printed}:")
        lines.extend(f"- {p}" for p in paths)
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
