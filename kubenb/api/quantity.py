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

__all__ = ["canonical_quantity", "format_amount", "format_quantity", "milli_value",
           "parse_or_none", "parse_quantity", "value"]

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


_DECIMAL_EXPONENTS = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12,
                      "P": 15, "E": 18}
_BINARY_POWERS = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_SPELLING = re.compile(r"^([+-]?)(\d*)(?:\.(\d*))?(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE]?)$")


def format_quantity(amount: Fraction, fmt: str = "decimal") -> str:
    """``Quantity.String()``: ``amount`` spelt canonically in the format ``binary``
    (``1536Mi``), ``decimal`` (``1500m``, ``2``, ``3k``) or ``exponent`` (``15e3``). A quantity
    keeps nano precision, rounding anything finer up (away from zero); binary suffixes only
    say a whole amount of at least 1024 (else the decimal spelling is used, as Go does)."""
    sign = "-" if amount < 0 else ""
    amount = Fraction(math.ceil(abs(amount) * 10**9), 10**9)
    if amount == 0:
        return "0"
    if fmt == "binary" and (amount >= 1024 and amount.denominator == 1):
        number, exponent = int(amount), 0
        while number % 1024 == 0 and exponent < 6:
            number, exponent = number // 1024, exponent + 1
        return f"{sign}{number}{['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'][exponent]}"
    # decimal: strip factors of ten, then lower the exponent to a multiple of three
    exponent = -9
    mantissa = int(amount * 10**9)
    while mantissa % 10 == 0:
        mantissa, exponent = mantissa // 10, exponent + 1
    shift = exponent % 3
    mantissa, exponent = mantissa * 10**shift, exponent - shift
    if fmt == "exponent":
        return f"{sign}{mantissa}" + (f"e{exponent}" if exponent else "")
    names = {v: k for k, v in _DECIMAL_EXPONENTS.items()}
    if exponent in names:
        return f"{sign}{mantissa}{names[exponent]}"
    return f"{sign}{mantissa}e{exponent}"


def canonical_quantity(text: str) -> str:
    """A quantity as the apiserver writes it back, in the format it was written in
    (``1000`` is ``1k``, ``0.5Gi`` is ``512Mi``, ``1e3`` stays ``1e3``); text that is not a
    quantity is returned as it is."""
    text = text.strip()
    match = _SPELLING.match(text)
    if not match or not (match.group(2) or match.group(3)):
        return text
    sign, whole, frac, suffix = match.group(1), match.group(2), match.group(3) or "", match.group(4)
    amount = Fraction(int(whole or "0") * 10 ** len(frac) + int(frac or "0"), 10 ** len(frac))
    if suffix in _BINARY_POWERS:
        fmt, amount = "binary", amount * 1024 ** _BINARY_POWERS[suffix]
    elif suffix[:1] in ("e", "E"):
        fmt, amount = "exponent", amount * Fraction(10) ** int(suffix[1:])
    else:
        fmt, amount = "decimal", amount * Fraction(10) ** _DECIMAL_EXPONENTS[suffix]
    return format_quantity(-amount if sign == "-" else amount, fmt)


def format_amount(amount: Fraction, *, in_bytes: bool) -> str:
    """A computed amount (a sum, a usage) whose own spelling is unknown: binary suffixes for
    bytes when they say it exactly (``1536Mi``), the decimal spelling otherwise (``1G``,
    ``500m``)."""
    exact = amount.denominator == 1 and amount >= 1024 and amount % 1024 == 0
    return format_quantity(amount, "binary" if in_bytes and exact else "decimal")
