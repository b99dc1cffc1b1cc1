"""SearcherWrapper, and the wrappers built on it: ConcurrencyLimiter and Repeater."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from searchers import (
    FINISHED,
    TRIAL_INDEX,
    BasicVariantGenerator,
    ConcurrencyLimiter,
    Repeater,
    Searcher,
    SearcherWrapper,
    SearchSignal,
    TPESearch,
    uniform,
)


class Recorder(Searcher):
    """Suggests {"i": n} up to `limit` times; records what it is told."""

    max_queued = 3

    def __init__(self, limit: int = 100) -> None:
        super().__init__(metric="loss", mode="min")
        self.limit = limit
        self.n = 0
        self.completed: list[tuple[str, Any, bool]] = []
        self.results: list[str] = []

    def suggest(self, trial_id: str) -> dict[str, Any] | SearchSignal | None:
        if self.n >= self.limit:
            return FINISHED
        self.n += 1
        return {"i": self.n}

    def on_trial_result(self, trial_id: str, result: Mapping[str, Any]) -> None:
        self.results.append(trial_id)

    def on_trial_complete(
        self, trial_id: str, result: Mapping[str, Any] | None = None, error: bool = False
    ) -> None:
        self.completed.append((trial_id, None if result is None else dict(result), error))

    def state_dict(self) -> dict[str, Any]:
        return {"n": self.n}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.n = state["n"]


def test_limiter_caps_unfinished_trials() -> None:
    inner = Recorder()
    limiter = ConcurrencyLimiter(inner, max_concurrent=2)
    assert limiter.max_queued == 3 and limiter.metric == "loss"
    assert limiter.suggest("a") == {"i": 1} and limiter.suggest("b") == {"i": 2}
    assert limiter.suggest("c") is None
    limiter.on_trial_result("a", {"loss": 3.0})
    limiter.on_trial_complete("a", {"loss": 1.0})
    assert inner.completed == [("a", {"loss": 1.0}, False)] and inner.results == ["a"]
    assert limiter.suggest("c") == {"i": 3}


def test_limiter_batch_waits_for_the_whole_batch() -> None:
    inner = Recorder()
    limiter = ConcurrencyLimiter(inner, max_concurrent=3, batch=True)
    for trial_id in "abc":
        assert isinstance(limiter.suggest(trial_id), dict)
    limiter.on_trial_complete("b", {"loss": 2.0})
    assert limiter.suggest("d") is None and inner.completed == []
    limiter.on_trial_complete("a", None, error=True)
    assert limiter.suggest("d") is None
    limiter.on_trial_complete("c", {"loss": 3.0})
    assert [c[0] for c in inner.completed] == ["b", "a", "c"] and inner.completed[1][2]
    assert limiter.suggest("d") == {"i": 4}


def test_limiter_batch_cut_short_by_finished() -> None:
    inner = Recorder(limit=2)
    limiter = ConcurrencyLimiter(inner, max_concurrent=3, batch=True)
    limiter.suggest("a"), limiter.suggest("b")
    assert limiter.suggest("c") is FINISHED
    limiter.on_trial_complete("a", {"loss": 1.0})
    limiter.on_trial_complete("b", {"loss": 1.0})
    assert len(inner.completed) == 2


def test_limiter_state_round_trip() -> None:
    limiter = ConcurrencyLimiter(Recorder(), max_concurrent=2, batch=True)
    limiter.suggest("a"), limiter.suggest("b")
    limiter.on_trial_complete("a", {"loss": 1.0})
    restored = ConcurrencyLimiter(Recorder(), max_concurrent=2, batch=True)
    restored.load_state_dict(json.loads(json.dumps(limiter.state_dict())))
    assert restored.suggest("c") is None
    restored.on_trial_complete("b", {"loss": 2.0})
    assert [c[0] for c in restored.searcher.completed] == ["a", "b"]  # type: ignore[attr-defined]
    assert restored.suggest("c") == {"i": 3}


def test_limiter_passes_num_samples_and_total() -> None:
    limiter = ConcurrencyLimiter(BasicVariantGenerator(seed=0), max_concurrent=1)
    limiter.set_search_properties(None, None, {"x": uniform(0, 1)})
    limiter.set_num_samples(5)
    assert limiter.total_trials == 5


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ConcurrencyLimiter(Recorder(), 0), "`max_concurrent` must be an int >= 1"),
        (lambda: ConcurrencyLimiter("tpe", 2), "ConcurrencyLimiter wraps a Searcher"),  # type: ignore[arg-type]
        (lambda: Repeater(Recorder(), 0), "`repeat` must be an int >= 1"),
    ],
)
def test_bad_wrapper_arguments(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match="got") as info:
        make()
    assert message in str(info.value)


def test_repeater_repeats_and_reports_the_mean() -> None:
    inner = Recorder()
    repeater = Repeater(inner, repeat=3)
    assert repeater.max_queued == 9
    configs = [repeater.suggest(t) for t in ("a", "b", "c", "d")]
    assert configs[:3] == [{"i": 1, TRIAL_INDEX: 0}, {"i": 1, TRIAL_INDEX: 1},
                           {"i": 1, TRIAL_INDEX: 2}]
    assert configs[3] == {"i": 2, TRIAL_INDEX: 0}
    repeater.on_trial_complete("b", {"loss": 1.0})
    repeater.on_trial_complete("a", {"loss": 2.0})
    assert inner.completed == []
    repeater.on_trial_complete("c", None, error=True)  # errored repeats are left out of the mean
    assert inner.completed == [("a", {"loss": 1.5}, False)]


def test_repeater_all_errored_tells_an_error() -> None:
    inner = Recorder()
    repeater = Repeater(inner, repeat=2, set_index=False)
    assert repeater.suggest("a") == {"i": 1}
    repeater.suggest("b")
    repeater.on_trial_complete("a", {"nope": 1})
    repeater.on_trial_complete("b", None, error=True)
    assert inner.completed == [("a", None, True)]


def test_repeater_state_round_trip_mid_group() -> None:
    repeater = Repeater(Recorder(), repeat=3)
    repeater.suggest("a"), repeater.suggest("b")
    repeater.on_trial_complete("a", {"loss": 4.0})
    restored = Repeater(Recorder(), repeat=3)
    restored.load_state_dict(json.loads(json.dumps(repeater.state_dict())))
    assert restored.suggest("c") == {"i": 1, TRIAL_INDEX: 2}
    restored.on_trial_complete("b", {"loss": 2.0})
    restored.on_trial_complete("c", {"loss": 3.0})
    assert restored.searcher.completed == [("a", {"loss": 3.0}, False)]  # type: ignore[attr-defined]
    assert restored.suggest("d") == {"i": 2, TRIAL_INDEX: 0}


def test_repeater_passes_finished_and_num_samples() -> None:
    bvg = BasicVariantGenerator(seed=0)
    repeater = Repeater(bvg, repeat=2)
    repeater.set_search_properties("loss", "min", {"x": uniform(0, 1)})
    repeater.set_num_samples(3)  # ceil(3 / 2) = 2 configs; num_samples counts trials (Ray)
    assert repeater.total_trials == 3
    configs = [repeater.suggest(str(i)) for i in range(5)]
    assert configs[4] is FINISHED
    assert configs[0]["x"] == configs[1]["x"] != configs[2]["x"]  # type: ignore[index]


def test_limiter_of_tpe_tells_the_model() -> None:
    tpe = TPESearch({"x": uniform(0, 1)}, metric="loss", mode="min", seed=0)
    limiter = ConcurrencyLimiter(tpe, max_concurrent=1)
    config = limiter.suggest("a")
    assert limiter.suggest("b") is None
    limiter.on_trial_complete("a", {"loss": config["x"]})  # type: ignore[index]
    assert len(tpe.observations) == 1


def test_a_searcher_wrapper_passes_every_call_on() -> None:
    inner = Recorder(limit=1)
    wrapper = SearcherWrapper(inner)
    assert (wrapper.metric, wrapper.mode, wrapper.metrics) == ("loss", "min", ("loss",))
    assert wrapper.max_queued == 3 and wrapper.learns_from_results
    wrapper.set_search_properties(None, None, {})
    assert wrapper.suggest("a") == {"i": 1} and wrapper.suggest("b") is FINISHED
    wrapper.on_trial_result("a", {"loss": 1.0})
    wrapper.on_trial_complete("a", {"loss": 1.0})
    assert inner.results == ["a"] and inner.completed == [("a", {"loss": 1.0}, False)]
    assert wrapper.state_dict() == {"n": 1}  # the wrapped searcher's state, as it is
    wrapper.load_state_dict({"n": 0})
    assert inner.n == 0
    wrapper.mode = None  # "not set" leaves the wrapped searcher's mode
    assert inner.mode == "min"
    wrapper.metric = "acc"
    assert inner.metric == "acc"


def test_wrappers_report_the_wrapped_searcher_s_metric_and_mode() -> None:
    for wrapper in (Repeater(Recorder(), repeat=2), ConcurrencyLimiter(Recorder(), 1)):
        assert (wrapper.metric, wrapper.mode) == ("loss", "min")
        with pytest.raises(ValueError, match="TuneConfig has metric='acc'"):
            wrapper.set_search_properties("acc", "max", {})


def test_repeater_passes_on_neither_intermediate_results_nor_evaluated_points() -> None:
    inner = Recorder()
    repeater = Repeater(inner, repeat=2)
    repeater.suggest("a")
    repeater.on_trial_result("a", {"loss": 1.0})
    assert inner.results == []
    with pytest.raises(NotImplementedError, match="Repeater does not take evaluated points"):
        repeater.add_evaluated_points([{"i": 1}], [{"loss": 1.0}])
