"""The ResourceQuota admission plugin: a create that would take a namespace past one of its
quotas is refused (``plugin/pkg/admission/resourcequota``).

For each quota of the namespace that tracks the new object (see :mod:`kubenb.api.quota`): a pod
must state the compute resources the quota constrains, then what the namespace already uses plus
what the object would use must stay within ``spec.hard``. Refusals are 403s worded as upstream's::

    pods "big" is forbidden: exceeded quota: mem-cpu-demo, requested: requests.memory=700Mi,
    used: requests.memory=600Mi, limited: requests.memory=1Gi
    pods "bare" is forbidden: failed quota: mem-cpu-demo: must specify limits.cpu,limits.memory

Upstream reads what is used from the quota's status and adds each admitted object to it; here
it is summed from the stored objects at the time of the create (the caller passes them), so a
quota is exact from the moment it exists, before the quota controller has written its status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import Any

from kubenb.api import errors
from kubenb.api.quantity import parse_or_none
from kubenb.api.quota import format_usage, matches_scopes, missing_constraints, usage

__all__ = ["admit"]

Obj = dict[str, Any]


def admit(group: str, plural: str, obj: Obj, quotas: Iterable[Mapping[str, Any]],
          existing: Callable[[], Iterable[Obj]]) -> None:
    """Refuse ``obj`` (being created as ``group/plural``) if it breaks a quota. ``existing``
    gives the namespace's stored objects of that resource, read only when some quota counts
    the object."""
    name = obj["metadata"].get("name") or ""
    what = f'{plural}.{group}' if group else plural
    stored: list[Obj] | None = None
    for quota in quotas:
        if quota["metadata"].get("deletionTimestamp") or not matches_scopes(quota, group,
                                                                           plural, obj):
            continue
        hard = {k: parse_or_none(v) for k, v in ((quota.get("spec") or {}).get("hard")
                                                 or {}).items()}
        qname = quota["metadata"].get("name", "")
        if (group, plural) == ("", "pods"):
            missing = missing_constraints(obj, hard)
            if missing:
                raise errors.Forbidden(f'{what} "{name}" is forbidden: failed quota: {qname}: '
                                       f"must specify {','.join(missing)}", name=name,
                                       kind=plural)
        delta = {k: v for k, v in usage(group, plural, obj).items() if k in hard}
        if not delta:
            continue
        if stored is None:
            stored = list(existing())
        used = dict.fromkeys(delta, Fraction(0))
        for other in stored:
            if matches_scopes(quota, group, plural, other):
                for k, v in usage(group, plural, other).items():
                    if k in used:
                        used[k] += v
        exceeded = sorted(k for k, v in delta.items()
                          if hard[k] is not None and used[k] + v > hard[k])  # type: ignore[operator]
        if exceeded:
            raise errors.Forbidden(
                f'{what} "{name}" is forbidden: exceeded quota: {qname}, requested: '
                f"{_show(delta, exceeded)}, used: {_show(used, exceeded)}, limited: "
                f"{_show(hard, exceeded)}", name=name, kind=plural)


def _show(values: Mapping[str, Fraction | None], keys: list[str]) -> str:
    """prettyPrint: ``name=quantity`` pairs in name order."""
    return ",".join(f"{k}={format_usage(k, values[k] or Fraction(0))}" for k in keys)
