"""`to_json` writes text that reads back as what `json.dumps` writes (orjson's, or the standard
library's where orjson cannot write the values); odd values do not fail."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tuner.output._encode import flatten, is_flat, json_default, to_json

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=20,
)


def _read_back(text: str) -> str:
    """`text` read and written again by the standard library: the same for the same values
    (NaN included, which no comparison of values would find equal)."""
    return json.dumps(json.loads(text))


@given(st.dictionaries(st.text(max_size=12), values, max_size=12))
def test_reads_back_as_what_json_dumps_writes(result: dict[str, Any]) -> None:
    assert _read_back(to_json(result)) == _read_back(json.dumps(result, default=json_default))


def test_orjson_writes_the_common_case_the_standard_library_the_rest() -> None:
    assert to_json({"loss": 0.5, "n": 3, "ok": True}) == '{"loss":0.5,"n":3,"ok":true}'
    # orjson would write NaN as null and refuses integers beyond 64 bits.
    assert to_json({"loss": math.nan, "n": None}) == '{"loss": NaN, "n": null}'
    assert to_json({"n": 2**70}) == '{"n": 1180591620717411303424}'


def test_numpy_values_sets_and_objects() -> None:
    result = {"f": np.float32(0.5), "i": np.int64(3), "a": np.arange(2), "s": {1}, "o": object}
    assert json.loads(to_json(result)) == {
        "f": 0.5, "i": 3, "a": [0, 1], "s": [1], "o": "<class 'object'>",
    }


def test_non_finite_floats_as_json_writes_them() -> None:
    assert to_json({"a": math.nan, "b": -math.inf}) == '{"a": NaN, "b": -Infinity}'


def test_circular_references_and_odd_keys_are_written_from_a_copy() -> None:
    looped: dict[str, Any] = {"a": 1}
    looped["self"] = looped
    assert json.loads(to_json(looped))["a"] == 1
    assert json.loads(to_json({(1, 2): 3, 4: 5})) == {"(1, 2)": 3, "4": 5}
    assert to_json({"a": 1}) == '{"a":1}', "the encoder works on after a failure"


def test_flat_results_are_copied_nested_ones_flattened() -> None:
    flat = {"a": 1.0, "b": "x", "c": None, "d": [1]}
    assert is_flat(flat) and flatten(flat) == flat and flatten(flat) is not flat
    assert not is_flat({"n": {"m": 1}})
    assert flatten({"n": {"m": 1, "k": {}}}) == {"n/m": 1, "n/k": {}}
