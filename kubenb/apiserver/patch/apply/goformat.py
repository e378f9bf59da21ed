"""Text as Go writes it, so keys and messages match the real apiserver byte for byte.

FieldsV1 keys (``k:{"name":"nginx"}``), the last-applied annotation, conflict messages and
validation errors come from Go's ``encoding/json``, ``strconv.Quote`` and ``fmt`` upstream.
Clients and tests compare them as strings, so where Python formats differently (HTML escaping,
integral floats, quoting of unprintable runes, float exponents) Go's way is reproduced here.
"""

from __future__ import annotations

import json

from kubenb.apiserver.patch.apply.values import JSON


def _go_is_print(ch: str) -> bool:
    # unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
    return ch == " " or (ch.isprintable() and not ch.isspace())


_encode_str = json.encoder.encode_basestring


def _go_json(v: JSON) -> str:
    """Compact JSON as Go's encoder writes it (integral floats as integers, HTML escaped)."""
    tv = type(v)
    if tv is str:
        s = _encode_str(v)
    elif tv is int:
        return str(v)
    elif tv is bool:
        return "true" if v else "false"
    elif tv is float and v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    else:
        s = json.dumps(
            v, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
        )
    if "<" in s or ">" in s or "&" in s or "\u2028" in s or "\u2029" in s:
        s = (
            s.replace("<", "\\u003c")
            .replace(">", "\\u003e")
            .replace("&", "\\u0026")
            .replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029")
        )
    return s


def _go_quote(s: str) -> str:
    """strconv.Quote."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append(
                {
                    "\a": "\\a",
                    "\b": "\\b",
                    "\f": "\\f",
                    "\n": "\\n",
                    "\r": "\\r",
                    "\t": "\\t",
                    "\v": "\\v",
                }[ch]
            )
        elif _go_is_print(ch):
            out.append(ch)
        elif o < 0x80:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def _go_string(v: JSON) -> str:
    """value.ToString, used in paths of error messages."""
    if v is None:
        return "null"
    if type(v) is bool:
        return "true" if v else "false"
    if type(v) is str:
        return _go_quote(v)
    if type(v) is int:
        return str(v)
    if type(v) is float:
        return _go_float(v)
    if type(v) is list:
        return "[" + ",".join(_go_string(x) for x in v) + "]"
    if type(v) is dict:
        return "".join(f"{k}={_go_string(x)}" for k, x in v.items())
    return str(v)


def _go_float(f: float) -> str:
    # %v of a float64: shortest digits, exponent form below 1e-4 or from 1e21.
    if f != f or f in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(f)]
    r = repr(f)
    if "e" in r or "E" in r or abs(f) >= 1e21 or (f != 0 and abs(f) < 1e-4):
        mant, _, exp = f"{f:e}".partition("e")
        digits = (
            repr(float(mant)).rstrip("0").rstrip(".")
            if "." in repr(float(mant))
            else repr(float(mant))
        )
        e = int(exp)
        return f"{digits}e{'+' if e >= 0 else '-'}{abs(e):02d}"
    return r[:-2] if r.endswith(".0") else r


def _go_type_name(v: JSON) -> str:
    if type(v) is bool:
        return "bool"
    if type(v) is int:
        return "int64"
    if type(v) is float:
        return "float64"
    if type(v) is str:
        return "string"
    if type(v) is dict:
        return "map[string]interface {}"
    if type(v) is list:
        return "[]interface {}"
    return "<nil>"


def _go_value(v: JSON) -> str:
    if type(v) is str:
        return "&{" + v + "}"
    return "&{" + _go_string(v) + "}"


def _go_json_document(v: JSON) -> str:
    s = json.dumps(v, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return (
        s.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
