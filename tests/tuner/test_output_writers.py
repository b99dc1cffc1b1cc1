"""`progress.csv` as `CsvRows` writes it, whatever the results and wherever the writes fall."""

from __future__ import annotations

import copy
import csv
import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tuner.output._encode import flatten
from tuner.output._writers import CsvRows

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
keys = st.sampled_from(["loss", "acc", "step", "a,b", 'q"uote'])
results = st.dictionaries(
    keys, scalars | st.dictionaries(keys, scalars, max_size=2), min_size=1, max_size=5
)


def expected_rows(written: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """The header and rows: keys in order of appearance, a missing value an empty field."""
    flat = [flatten(result) for result in written]
    header: list[str] = []
    for row in flat:
        header += [key for key in row if key not in header]
    values = [["" if row.get(key, "") is None else row.get(key, "") for key in header]
              for row in flat]
    return header, values


def same_cell(cell: str, value: Any) -> bool:
    """Whether a field reads back as `value`: a float as the same float (its text may be
    orjson's shortest form, ``1e-8``, or `repr`'s, ``1e-08``), anything else as its str()."""
    if type(value) is float:
        return float(cell) == value or (math.isnan(value) and math.isnan(float(cell)))
    return cell == str(value)


@settings(max_examples=200, deadline=None)
@given(
    batches=st.lists(st.lists(results, max_size=4), max_size=4),
    close_between=st.booleans(),
)
def test_rows_and_header_whatever_the_batches(
    batches: list[list[dict[str, Any]]], close_between: bool
) -> None:
    path = Path(tempfile.mkdtemp(), "progress.csv")
    rows = CsvRows(str(path))
    written: list[dict[str, Any]] = []
    for batch in batches:
        for result in batch:
            rows.add(result)
            written.append(copy.deepcopy(result))
            result.clear()  # a later change to the result is not written
        if close_between:
            rows.close()
        else:
            rows.write()
    rows.close()
    header, values = expected_rows(written)
    with path.open(newline="", encoding="utf-8") as file:
        lines = list(csv.reader(file))
    if not written:
        assert lines == []
        return
    assert lines[0] == header
    assert [len(line) for line in lines[1:]] == [len(row) for row in values]
    for line, row in zip(lines[1:], values, strict=True):
        assert all(same_cell(cell, value) for cell, value in zip(line, row, strict=True)), (
            line, row)


def test_float_columns_are_written_by_orjson_and_read_back_the_same() -> None:
    path = Path(tempfile.mkdtemp(), "progress.csv")
    rows = CsvRows(str(path))
    for result in ({"loss": 1e-8, "n": 1, "nan": math.nan}, {"loss": 0.1, "n": 2, "nan": 1.0}):
        rows.add(result)
    rows.close()
    assert path.read_text().splitlines() == ["loss,n,nan", "1e-8,1,nan", "0.1,2,1.0"]


def test_a_later_writer_keeps_the_header_of_the_file() -> None:
    path = Path(tempfile.mkdtemp(), "progress.csv")
    first = CsvRows(str(path))
    first.add({"loss": 1.0, "step": 1})
    first.close()
    second = CsvRows(str(path))
    second.add({"step": 2, "loss": 0.5})
    second.add({"step": 3, "loss": 0.25, "acc": 0.9})
    second.close()
    assert path.read_text().splitlines() == [
        "loss,step,acc", "1.0,1,", "0.5,2,", "0.25,3,0.9",
    ]
