"""The architecture docs/architecture.md describes, checked against the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tuner._lifecycle import EFFECT_ORDER, TABLE, TRANSITIONS, describe_table

ROOT = Path(__file__).resolve().parent.parent


def _doc_table() -> list[dict[str, object]]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = re.search(r"<!-- lifecycle-table -->\n(.*?)<!-- /lifecycle-table -->", text, re.S)
    assert block is not None, "docs/architecture.md lost its lifecycle-table markers"
    rows = []
    for line in block.group(1).splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        status, event, new, effects = cells
        rows.append({
            "status": status, "event": event, "new_status": new,
            "effects": [e.strip() for e in effects.split(", ")] if effects else [],
        })
    return rows


def test_the_documented_life_cycle_is_the_code_s_table() -> None:
    assert _doc_table() == describe_table()


def test_effects_run_executor_then_scheduler_then_searcher_then_callbacks() -> None:
    owners = [effect.value.split(".")[0] for effect in EFFECT_ORDER]
    assert owners == sorted(owners, key=["executor", "scheduler", "searcher", "callbacks"].index)
    for _, effects in TABLE.values():
        assert list(effects) == sorted(effects, key=EFFECT_ORDER.index)


def test_transitions_are_derived_from_the_table() -> None:
    moves = {(status, new) for (status, _), (new, _) in TABLE.items()}
    assert {(s, n) for s, targets in TRANSITIONS.items() for n in targets} == moves
    from schedulers import TrialStatus

    assert TRANSITIONS[TrialStatus.TERMINATED] == frozenset()


def _imports(package: Path) -> set[str]:
    found: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
    return found


def test_schedulers_and_searchers_import_nothing_of_the_loop() -> None:
    for package in ("schedulers", "searchers"):
        offending = sorted(m for m in _imports(ROOT / package) if m.split(".")[0] == "tuner")
        assert offending == [], f"{package}/ imports {offending}"


def test_analysis_never_imports_the_loop() -> None:
    loop = ("tuner._controller", "tuner._tuner", "tuner._lifecycle", "tuner.executors")
    offending = sorted(m for m in _imports(ROOT / "tuner" / "analysis") if m.startswith(loop))
    assert offending == []


def test_no_module_is_over_500_lines() -> None:
    too_long = {}
    for package in ("tuner", "schedulers", "searchers"):
        for path in (ROOT / package).rglob("*.py"):
            lines = len(path.read_text().splitlines())
            if lines > 500:
                too_long[str(path.relative_to(ROOT))] = lines
    assert too_long == {}
