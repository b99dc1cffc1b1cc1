"""Assertions with messages that say what went wrong (pytest does not rewrite the asserts of
an installed package, so a bare ``assert`` here would fail without telling why)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def expect_none(problems: Sequence[str], what: str) -> None:
    """Fail, listing them, if there are any `problems` with `what`."""
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise AssertionError(f"{len(problems)} problem(s) with {what}:\n  {shown}{more}")


def expect_same(first: Sequence[Any], second: Sequence[Any], what: str) -> None:
    """Fail, showing where they part, unless the two sequences are equal."""
    if list(first) == list(second):
        return
    at = next(
        (i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b),
        min(len(first), len(second)),
    )
    raise AssertionError(
        f"the {what} of two runs differ from entry {at} on ({len(first)} and {len(second)} "
        f"entries): {list(first[at:at + 3])} vs {list(second[at:at + 3])}"
    )
