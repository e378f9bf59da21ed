"""Object metadata rules: names, label keys and values, annotations, timestamps.

The messages are the ones kube-apiserver prints (k8s.io/apimachinery/pkg/util/validation), because
learners compare what they see with the Kubernetes documentation and with real clusters.
"""

from __future__ import annotations

import datetime
import functools
import random
import re
from collections.abc import Mapping
from typing import Any

from kubenb.api.errors import Cause

__all__ = [
    "generate_name",
    "seed",
    "new_uid",
    "now_rfc3339",
    "validate_dns1035_label",
    "validate_dns1123_label",
    "validate_dns1123_subdomain",
    "validate_labels",
    "validate_annotations",
    "validate_qualified_name",
]

_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_RE = re.compile(f"^{_DNS1123_LABEL}$")
_DNS1123_SUBDOMAIN = f"{_DNS1123_LABEL}(\\.{_DNS1123_LABEL})*"
_DNS1123_SUBDOMAIN_RE = re.compile(f"^{_DNS1123_SUBDOMAIN}$")
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_RE = re.compile(f"^{_DNS1035_LABEL}$")
_QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME_RE = re.compile(f"^{_QUALIFIED_NAME}$")
_LABEL_VALUE = f"(({_QUALIFIED_NAME})?)"
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE}$")

# kube's generateName alphabet: no vowels (no words), no look-alike characters.
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


def _quote(value: Any) -> str:
    import json

    return json.dumps(value) if isinstance(value, str) else str(value)


def _invalid(field: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {_quote(value)}: {detail}", field)


def _check(value: str, field: str, max_len: int, pattern: re.Pattern[str],
           rule: str) -> list[Cause]:
    causes = []
    if len(value) > max_len:
        causes.append(_invalid(field, value, f"must be no more than {max_len} characters"))
    if not pattern.match(value):
        causes.append(_invalid(field, value, rule))
    return causes


def validate_dns1123_subdomain(value: str, field: str) -> list[Cause]:
    return _check(
        value, field, 253, _DNS1123_SUBDOMAIN_RE,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
        "'-' or '.', and must start and end with an alphanumeric character (e.g. "
        f"'example.com', regex used for validation is '{_DNS1123_SUBDOMAIN}')")


def validate_dns1123_label(value: str, field: str) -> list[Cause]:
    return _check(
        value, field, 63, _DNS1123_LABEL_RE,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
        "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
        f"'123-abc', regex used for validation is '{_DNS1123_LABEL}')")


def validate_dns1035_label(value: str, field: str) -> list[Cause]:
    return _check(
        value, field, 63, _DNS1035_LABEL_RE,
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
        "with an alphabetic character, and end with an alphanumeric character (e.g. "
        f"'my-name',  or 'abc-123', regex used for validation is '{_DNS1035_LABEL}')")


def validate_qualified_name(value: str, field: str) -> list[Cause]:
    """A label or annotation key: an optional DNS subdomain prefix and a name of ≤63 chars."""
    prefix, slash, name = value.rpartition("/")
    causes: list[Cause] = []
    if slash and not prefix:
        return [_invalid(field, value, "prefix part must be non-empty")]
    if value.count("/") > 1:
        return [_invalid(
            field, value,
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and "
            "must start and end with an alphanumeric character (e.g. 'MyName',  or "
            "'my.name',  or '123-abc', regex used for validation is "
            f"'{_QUALIFIED_NAME}') with an optional DNS subdomain prefix and '/' "
            "(e.g. 'example.com/MyName')",
        )]
    if prefix:
        for cause in validate_dns1123_subdomain(prefix, field):
            causes.append(Cause(cause.reason, "prefix part " + cause.message.split(": ", 2)[-1],
                                field))
    if not name:
        causes.append(_invalid(field, value, "name part must be non-empty"))
    elif len(name) > 63:
        causes.append(_invalid(field, value, "name part must be no more than 63 characters"))
    elif not _QUALIFIED_NAME_RE.match(name):
        causes.append(_invalid(
            field, value,
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
            f"'123-abc', regex used for validation is '{_QUALIFIED_NAME}')",
        ))
    return causes


def validate_labels(labels: Any, field: str = "metadata.labels") -> list[Cause]:
    if labels is None:
        return []
    if not isinstance(labels, Mapping):
        return [_invalid(field, labels, "must be a map of strings")]
    causes: list[Cause] = []
    for key, value in labels.items():
        causes += _qualified_name_causes(str(key), field)
        if not isinstance(value, str):
            causes.append(_invalid(f"{field}", value, "label values must be strings"))
            continue
        causes += _label_value_causes(value, field)
    return causes


# The same few label keys and values come back on every object: check each once.
@functools.lru_cache(maxsize=4096)
def _qualified_name_causes(value: str, field: str) -> tuple[Cause, ...]:
    return tuple(validate_qualified_name(value, field))


@functools.lru_cache(maxsize=4096)
def _label_value_causes(value: str, field: str) -> tuple[Cause, ...]:
    return tuple(_check(
        value, field, 63, _LABEL_VALUE_RE,
        "a valid label must be an empty string or consist of alphanumeric characters, "
        "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
        "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
        f"'{_LABEL_VALUE}')"))


def validate_annotations(annotations: Any, field: str = "metadata.annotations") -> list[Cause]:
    if annotations is None:
        return []
    if not isinstance(annotations, Mapping):
        return [_invalid(field, annotations, "must be a map of strings")]
    causes: list[Cause] = []
    total = 0
    for key, value in annotations.items():
        causes += _qualified_name_causes(str(key).lower(), field)
        if not isinstance(value, str):
            causes.append(_invalid(field, value, "annotation values must be strings"))
            continue
        total += len(key) + len(value)
    if total > _TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(Cause(
            "FieldValueTooLong",
            f"Too long: may not be more than {_TOTAL_ANNOTATION_SIZE_LIMIT} bytes", field,
        ))
    return causes


_uid_random = random.Random()  # seeded from os.urandom
_name_random = random.Random()  # generateName suffixes (math/rand in Kubernetes too)


def seed(value: int | None) -> None:
    """Make uids and generated names repeatable (a virtual-clock run that must be deterministic);
    ``None`` goes back to seeds from the operating system."""
    _uid_random.seed(value)
    _name_random.seed(None if value is None else value + 1)


# version 4 and the RFC 4122 variant: the bits new_uid clears, and the ones it sets
_UID_KEEP = ~(0xF000 << 64) & ~(0xC000 << 48) & ((1 << 128) - 1)
_UID_SET = (0x4000 << 64) | (0x8000 << 48)


def new_uid() -> str:
    """A random (version 4) UUID string, as ``metadata.uid``; several times cheaper than
    ``str(uuid.uuid4())``, which matters at thousands of creates a second."""
    h = "%032x" % (_uid_random.getrandbits(128) & _UID_KEEP | _UID_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def generate_name(base: str) -> str:
    """``generateName`` + 5 random characters, truncating the base as Kubernetes does."""
    base = base[: 63 - 5] if len(base) > 63 - 5 else base
    return base + "".join(_name_random.choices(_ALPHANUMS, k=5))


_last_stamp: tuple[int, str] = (0, "")


def now_rfc3339(now: datetime.datetime | None = None) -> str:
    """A ``metav1.Time`` value: UTC, whole seconds, ``Z`` suffix."""
    global _last_stamp
    now = now or datetime.datetime.now(datetime.UTC)
    second = int(now.timestamp())
    cached = _last_stamp
    if cached[0] == second:  # the many writes of one second share one strftime
        return cached[1]
    text = now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _last_stamp = (second, text)
    return text


def now_rfc3339_micro(now: datetime.datetime | None = None) -> str:
    """A ``metav1.MicroTime`` value (Events, Leases)."""
    now = now or datetime.datetime.now(datetime.UTC)
    return now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
