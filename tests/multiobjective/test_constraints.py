"""Constraint strings: the grammar, violations (and the strict-operator rule), results."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from searchers._constraints import (
    Constraint,
    Feasibility,
    check_constraints,
    parse_constraint,
    parse_constraints,
    total_violation,
)
from searchers._pareto import MetricNotReportedError, rank_order


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("memory_mb <= 512", Constraint("memory_mb", "<=", 512.0)),
        ("accuracy>=0.9", Constraint("accuracy", ">=", 0.9)),
        ("val/acc > -1e-3", Constraint("val/acc", ">", -0.001)),
        ("lr.x-y < +2.5E+2", Constraint("lr.x-y", "<", 250.0)),
        ("  a_b  >=  .5  ", Constraint("a_b", ">=", 0.5)),
        ("loss<=-3", Constraint("loss", "<=", -3.0)),
        ("epoch_10 < 7.", Constraint("epoch_10", "<", 7.0)),
    ],
)
def test_the_grammar(text: str, expected: Constraint) -> None:
    assert parse_constraint(text) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("memory_mb == 512", r"cannot parse constraint 'memory_mb == 512': the grammar is"),
        ("memory_mb <= ", r"cannot parse .* e\.g\. 'memory_mb <= 512'"),
        ("memory mb <= 1", r"cannot parse constraint 'memory mb <= 1'"),
        ("loss <= 1e", r"cannot parse"),
        ("loss <= inf", r"cannot parse"),
        ("512 >= memory_mb", r"did you mean 'memory_mb <= 512'\?"),
        ("loss <= 1e400", r"bound must be a finite number, got bound=inf"),
    ],
)
def test_bad_strings_show_the_grammar(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_constraint(text)


def test_parse_constraints_wants_a_list_of_strings() -> None:
    assert parse_constraints([]) == ()
    assert parse_constraints(["a <= 1", "b > 2"]) == (
        Constraint("a", "<=", 1.0), Constraint("b", ">", 2.0),
    )
    with pytest.raises(TypeError, match=r"got the string 'a <= 1': wrap it in a list"):
        parse_constraints("a <= 1")
    with pytest.raises(TypeError, match=r"must be a string such as .* got 3 \(int\)"):
        parse_constraints(["a <= 1", 3])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("op", "bound", "match"),
    [
        ("==", 1.0, r"op must be one of <=, >=, <, >, got op='=='"),
        ("<=", True, r"bound must be a finite number, got bound=True"),
        ("<=", math.nan, r"bound must be a finite number, got bound=nan"),
    ],
)
def test_constraints_built_directly_are_checked(op: str, bound: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Constraint("loss", op, bound)


@pytest.mark.parametrize(
    ("text", "value", "satisfied", "violation"),
    [
        ("m <= 512", 500.0, True, 0.0),
        ("m <= 512", 512.0, True, 0.0),
        ("m <= 512", 600.0, False, 88.0),
        ("m < 512", 512.0, False, 0.0),  # strict: on the bound is infeasible, by nothing
        ("m < 512", 513.0, False, 1.0),
        ("m >= 0.5", 0.25, False, 0.25),
        ("m > 0.5", 0.5, False, 0.0),
        ("m > 0.5", 0.75, True, 0.0),
        ("m >= -1", -math.inf, False, math.inf),
        ("m <= 1", math.nan, False, math.inf),  # NaN: never satisfied, infinitely violated
        ("m > 1", math.nan, False, math.inf),
    ],
)
def test_violation_and_satisfaction(
    text: str, value: float, satisfied: bool, violation: float
) -> None:
    constraint = parse_constraint(text)
    assert constraint.satisfied(value) is satisfied
    assert constraint.violation(value) == violation


def test_check_constraints_sums_the_violations() -> None:
    limits = parse_constraints(["memory_mb <= 512", "accuracy >= 0.9", "val/acc > 0.5"])
    result = {"memory_mb": 600, "accuracy": 0.85, "val": {"acc": 0.75}}
    check = check_constraints(limits, result)
    assert not check.feasible
    assert check.violation == pytest.approx(88.05)
    assert total_violation(limits, result) == check.violation
    fine = {"memory_mb": 100, "accuracy": 0.95, "val/acc": 0.6}
    assert check_constraints(limits, fine) == Feasibility(True, 0.0)
    assert check_constraints((), {}) == Feasibility(True, 0.0)


def test_a_strict_constraint_on_its_bound_ranks_after_the_feasible() -> None:
    limits = parse_constraints(["latency_ms < 20"])
    results = [{"latency_ms": 25.0, "loss": 0.0}, {"latency_ms": 20.0, "loss": 0.5},
               {"latency_ms": 10.0, "loss": 1.0}]
    checks = [check_constraints(limits, r) for r in results]
    assert checks[1] == Feasibility(False, 0.0)
    order = rank_order([[r["loss"]] for r in results], [c.violation for c in checks],
                       feasible=[c.feasible for c in checks])
    assert order.tolist() == [2, 1, 0]


def test_a_constraint_metric_never_reported_names_the_keys() -> None:
    limits = parse_constraints(["memory_mb <= 512"])
    with pytest.raises(MetricNotReportedError, match=r"constraint metric 'memory_mb' was not in "
                       r"the reported result \(keys: \['acc', 'loss'\]\): report it or change "
                       r"TuneConfig\(constraints=\.\.\.\)"):
        check_constraints(limits, {"loss": 1.0, "acc": 0.5})
    with pytest.raises(KeyError):
        total_violation(parse_constraints(["val/acc >= 1"]), {"val": {"loss": 1.0}})


@pytest.mark.parametrize("value", ["512", None, True, {"mb": 1}])
def test_a_non_numeric_constraint_metric_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError, match=r"constraint metric 'memory_mb' must be a number"):
        check_constraints(parse_constraints(["memory_mb <= 512"]), {"memory_mb": value})


def test_parsing_and_objectives_load_no_numpy() -> None:
    # TuneConfig may parse constraints and build Objectives on the `import tuner` path.
    probe = (
        "import json, sys\n"
        "from searchers._constraints import parse_constraints\n"
        "from searchers._pareto import Objectives\n"
        "parse_constraints(['a <= 1']); Objectives.of('a', 'min')\n"
        "print(json.dumps('numpy' in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout) is False
