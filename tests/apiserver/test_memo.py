"""The memo helpers (kubenb.api.memo): exact keys, no key for what JSON cannot say, bounded
tables."""

from __future__ import annotations

import orjson

from kubenb.api.memo import exact_dump, json_key, remember


def test_keys_are_exact_size_json() -> None:
    value = {"a": [1, 2.5, "x"], "b": {"c": True}}
    key = exact_dump(value)
    assert key == orjson.dumps(value)
    assert type(key) is bytes
    assert json_key(value) == key


def test_no_key_for_what_json_cannot_say_exactly() -> None:
    assert json_key({1: "int key"}) is None
    assert json_key({"big": 2**70}) is None
    # NaN and infinities come out as null, so nothing holding a null gets a key
    assert json_key({"x": float("nan")}) is None
    assert json_key({"x": float("inf")}) is None
    assert json_key({"x": None}) is None
    assert json_key({"x": "null"}) is None  # a harmless miss: it is only not remembered
    assert json_key({"x": 1.0}) != json_key({"x": 1})


def test_a_full_table_drops_its_older_half() -> None:
    table: dict[int, int] = {}
    for i in range(10):
        remember(table, i, i * i, 10)
    assert list(table) == list(range(10))
    remember(table, 10, 100, 10)
    assert list(table) == [5, 6, 7, 8, 9, 10]
    assert table[10] == 100
