"""Resource quantities (``resource.Quantity``): ``"250m"``, ``"1.5Gi"``, ``"1e3"`` as exact numbers.

The scheduler compares requests with node allocatable in the units Kubernetes uses internally:
millicores for CPU (``Quantity.MilliValue()``) and plain integers for everything else
(``Quantity.Value()``). Both round *up*, as apimachinery does, so ``"0.5m"`` of CPU is 1
millicore and ``"1.5"`` bytes is 2. Parsing is exact (:class:`~fractions.Fraction`) and cached,
since the same few strings recur on every pod and node.

Pure functions only: no I/O, no knowledge of the server.
"""

from __future__ import annotations

import functools
import math
import re
from fractions import Fraction

__all__ = ["format_quantity", "milli_value", "parse_or_none", "parse_quantity", "value"]

_BINARY = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}
_DECIMAL = {"n": Fraction(1, 10 ** 9), "u": Fraction(1, 10 ** 6), "m": Fraction(1, 1000), "": 1,
            "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18}
_SYNTAX = re.compile(r"([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE]?)")


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Fraction:
    m = _SYNTAX.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"quantities must match the regular expression "
                         f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {text!r}")
    number, suffix = Fraction(m.group(1)), m.group(2)
    if suffix[:1] in ("e", "E"):
        return number * Fraction(10) ** int(suffix[1:])
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    return number * _DECIMAL[suffix]


def parse_quantity(quantity: str | int | float | None) -> Fraction:
    """The exact value of a quantity (``None`` is zero; JSON numbers are accepted)."""
    if quantity is None:
        return Fraction(0)
    if isinstance(quantity, bool):
        raise ValueError(f"not a quantity: {quantity!r}")
    if isinstance(quantity, int):
        return Fraction(quantity)
    if isinstance(quantity, float):
        return Fraction(str(quantity))
    return _parse(str(quantity))


def parse_or_none(quantity: object) -> Fraction | None:
    """The exact value of a field that should hold a quantity, or None when it does not (a
    missing or malformed field of an object being defaulted or reconciled)."""
    if isinstance(quantity, bool) or not isinstance(quantity, str | int | float):
        return None
    try:
        return parse_quantity(quantity)
    except (ValueError, OverflowError):
        return None


@functools.lru_cache(maxsize=4096)
def milli_value(quantity: str | int | float | None) -> int:
    """``Quantity.MilliValue()``: thousandths, rounded up (CPU in millicores)."""
    return math.ceil(parse_quantity(quantity) * 1000)


@functools.lru_cache(maxsize=4096)
def value(quantity: str | int | float | None) -> int:
    """``Quantity.Value()``: the integer value, rounded up (bytes, pod counts, devices)."""
    return math.ceil(parse_quantity(quantity))


def format_quantity(amount: Fraction, *, binary: bool) -> str:
    """``Quantity.String()`` of an amount: its canonical spelling, in the binary-SI format
    (``1536Mi``, for quantities written with ``Ki``/``Mi``/``Gi``...) or the decimal-SI one
    (``1500m``, ``2``, ``3k``). An amount binary suffixes cannot say exactly is written in
    decimal, as Go does."""
    if amount < 0:
        return "-" + format_quantity(-amount, binary=binary)
    if amount.denominator == 1:
        n = int(amount)
        if binary and n:
            for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
                unit = _BINARY[suffix]
                if n >= unit and n % unit == 0:
                    return f"{n // unit}{suffix}"
            if n < 1024:
                return str(n)
        for suffix in ("E", "P", "T", "G", "M", "k"):
            unit = int(_DECIMAL[suffix])
            if n >= unit and n % unit == 0:
                return f"{n // unit}{suffix}"
        return str(n)
    for suffix, scale in (("m", 10 ** 3), ("u", 10 ** 6), ("n", 10 ** 9)):
        scaled = amount * scale
        if scaled.denominator == 1:
            return f"{int(scaled)}{suffix}"
    return f"{math.ceil(amount * 10 ** 9)}n"
