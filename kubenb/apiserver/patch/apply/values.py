"""JSON values as the apply machinery walks them, and the markers that stand in for no value.

The walkers work on plain ``dict``/``list``/scalar JSON and must tell apart three kinds of
"nothing" that a JSON null cannot express: a field that is absent (``_NIL``), a container that a
removal emptied (``_GONE``), and a null that pruning left behind (``_PRUNED``: it compares like
null, so ownership comes out as SMD computes it, and is dropped before the object is stored).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JSON = Any


class _Nil:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


_NIL: Any = _Nil()


_GONE: Any = _Nil()


class _Pruned:
    """A null left behind by pruning. It compares like null, so ownership is computed as SMD
    computes it, and is dropped from the object afterwards, as storing the object would."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return other is None or other is self

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "<pruned>"


_PRUNED: Any = _Pruned()


def _jcopy(v: JSON) -> JSON:
    tv = type(v)
    if tv is dict:
        return {k: _jcopy(x) for k, x in v.items()}
    if tv is list:
        return [_jcopy(x) for x in v]
    return v


def _plain(v: Any) -> JSON:
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v
