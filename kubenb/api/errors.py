"""Errors as Kubernetes ``Status`` objects.

Every failure the API can report is an :class:`APIError` carrying the ``metav1.Status`` the real
apiserver would send: ``reason`` (machine readable), ``message`` (for people), ``code`` (the HTTP
status) and ``details`` (name, group, kind and the field ``causes``). The store raises them,
the HTTP layer serialises them unchanged, and clients map responses back onto the same classes,
so a caller catches ``NotFound`` whether it talks to the store in-process or to a server over HTTP::

    APIError
     ├── BadRequest              400  malformed body, decode errors, bad parameters
     ├── Unauthorized            401
     ├── Forbidden               403  e.g. creating in a terminating namespace
     ├── NotFound                404
     ├── MethodNotAllowed        405
     ├── NotAcceptable           406
     ├── Conflict                409  stale resourceVersion, failed precondition, apply conflicts
     │    └── AlreadyExists      409
     ├── Gone                    410  watch/list from a compacted resourceVersion (reason Expired)
     ├── RequestEntityTooLarge   413
     ├── UnsupportedMediaType    415
     ├── Invalid                 422  validation failed; ``details.causes`` name the fields
     ├── TooManyRequests         429
     ├── InternalError           500
     └── ServiceUnavailable      503  a proxied pod or Service that cannot be reached
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "APIError",
    "AlreadyExists",
    "BadRequest",
    "Cause",
    "Conflict",
    "Forbidden",
    "Gone",
    "InternalError",
    "Invalid",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "RequestEntityTooLarge",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "error_from_status",
]


@dataclass(frozen=True)
class Cause:
    """One ``details.causes[]`` entry: what is wrong with which field."""

    reason: str
    message: str
    field: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"reason": self.reason, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


class APIError(Exception):
    """A failed API call, holding the Kubernetes ``Status`` that describes it."""

    code: ClassVar[int] = 500
    reason: ClassVar[str] = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        name: str = "",
        group: str = "",
        kind: str = "",
        causes: Iterable[Cause] = (),
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = list(causes)
        self.retry_after = retry_after

    @property
    def status(self) -> dict[str, Any]:
        """The ``metav1.Status`` body of this error."""
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class BadRequest(APIError):
    code, reason = 400, "BadRequest"


class Unauthorized(APIError):
    code, reason = 401, "Unauthorized"


class Forbidden(APIError):
    code, reason = 403, "Forbidden"


class NotFound(APIError):
    code, reason = 404, "NotFound"


class MethodNotAllowed(APIError):
    code, reason = 405, "MethodNotAllowed"


class NotAcceptable(APIError):
    code, reason = 406, "NotAcceptable"


class Conflict(APIError):
    code, reason = 409, "Conflict"


class AlreadyExists(Conflict):
    code, reason = 409, "AlreadyExists"


class Gone(APIError):
    code, reason = 410, "Expired"


class RequestEntityTooLarge(APIError):
    code, reason = 413, "RequestEntityTooLarge"


class UnsupportedMediaType(APIError):
    code, reason = 415, "UnsupportedMediaType"


class Invalid(APIError):
    code, reason = 422, "Invalid"


class TooManyRequests(APIError):
    code, reason = 429, "TooManyRequests"


class InternalError(APIError):
    code, reason = 500, "InternalError"


class ServiceUnavailable(APIError):
    code, reason = 503, "ServiceUnavailable"


_BY_REASON: dict[str, type[APIError]] = {
    cls.reason: cls
    for cls in (
        BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, NotAcceptable, Conflict,
        AlreadyExists, Gone, RequestEntityTooLarge, UnsupportedMediaType, Invalid,
        TooManyRequests, InternalError, ServiceUnavailable,
    )
}
_BY_CODE: dict[int, type[APIError]] = {}
for _cls in _BY_REASON.values():
    _BY_CODE.setdefault(_cls.code, _cls)


def error_from_status(status: Mapping[str, Any], *, code: int | None = None) -> APIError:
    """Rebuild the matching :class:`APIError` from a ``Status`` body (the client side)."""
    reason = str(status.get("reason") or "")
    http_code = int(status.get("code") or code or 500)
    cls = _BY_REASON.get(reason) or _BY_CODE.get(http_code, APIError)
    details = status.get("details") or {}
    causes = [
        Cause(c.get("reason", ""), c.get("message", ""), c.get("field", ""))
        for c in details.get("causes") or ()
    ]
    err = cls(
        str(status.get("message") or reason or http_code),
        name=details.get("name", ""),
        group=details.get("group", ""),
        kind=details.get("kind", ""),
        causes=causes,
        retry_after=details.get("retryAfterSeconds"),
    )
    return err
