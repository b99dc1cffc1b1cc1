"""Every searcher through the searcher contract (`tuner.testing.SearcherContract`).

Each class runs the contract's checks on one searcher (or wrapper), through the real `Tuner` on
simulated workers in virtual time; see `tuner/testing/_searcher_contract.py` for what is checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from searchers import (
    BasicVariantGenerator,
    BayesOptSearch,
    ConcurrencyLimiter,
    NSGA2Search,
    OptunaSearch,
    Repeater,
    Searcher,
    TPESearch,
    grid_search,
    sample_from,
)
from tuner.testing import SearcherContract, default_space


class TestBasicVariantGenerator(SearcherContract):
    multi_objective = True

    def make_searcher(self) -> Searcher:
        return BasicVariantGenerator(seed=1, points_to_evaluate=[{"lr": 0.01}])

    def param_space(self) -> dict[str, Any]:
        # A grid (walked num_samples times: 3 x 12 trials) and a value computed from others.
        return default_space() | {
            "grid": grid_search(["a", "b", "c"]),
            "double_lr": sample_from(lambda spec: spec.config.lr * 2),
        }


class TestTPESearch(SearcherContract):
    multi_objective = True

    def make_searcher(self) -> Searcher:
        return TPESearch(n_startup_trials=5, seed=4, points_to_evaluate=[{"lr": 0.01}])


class TestNSGA2Search(SearcherContract):
    multi_objective = True

    def make_searcher(self) -> Searcher:
        # A population of 4: the 12 contract trials breed two generations and more.
        return NSGA2Search(population_size=4, seed=8, points_to_evaluate=[{"lr": 0.01}])


class TestBayesOptSearch(SearcherContract):
    def make_searcher(self) -> Searcher:
        return BayesOptSearch(random_search_steps=5, seed=5)

    def param_space(self) -> dict[str, Any]:
        space = default_space()
        space["model"] = {"layers": space["model"]["layers"], "units": space["model"]["units"]}
        return space  # numbers only


class TestOptunaSearch(SearcherContract):
    multi_objective = True

    def make_searcher(self) -> Searcher:
        pytest.importorskip("optuna")
        return OptunaSearch(seed=6, points_to_evaluate=[{"lr": 0.01}])


class TestConcurrencyLimiterOverTPE(SearcherContract):
    multi_objective = True

    def make_searcher(self) -> Searcher:
        return ConcurrencyLimiter(TPESearch(n_startup_trials=5, seed=2), max_concurrent=2)


class TestBatchedConcurrencyLimiter(SearcherContract):
    multi_objective = True

    def make_searcher(self) -> Searcher:
        return ConcurrencyLimiter(TPESearch(n_startup_trials=4, seed=2), max_concurrent=2,
                                  batch=True)


class TestRepeaterOverRandomSearch(SearcherContract):
    multi_objective = True

    def make_searcher(self) -> Searcher:
        return Repeater(BasicVariantGenerator(seed=3), 2)


class TestRepeaterOverTPE(SearcherContract):
    multi_objective = True

    def make_searcher(self) -> Searcher:
        return Repeater(TPESearch(n_startup_trials=3, seed=7), 3)


# ---------------------------------------------------------------------------- beyond the contract
@pytest.mark.parametrize(
    "make",
    [
        lambda: BasicVariantGenerator(seed=1),
        lambda: TPESearch(n_startup_trials=5, seed=4),
        lambda: NSGA2Search(population_size=2, seed=4),
        lambda: BayesOptSearch(random_search_steps=5, seed=5),
        lambda: ConcurrencyLimiter(TPESearch(n_startup_trials=5, seed=2), max_concurrent=2),
        lambda: Repeater(BasicVariantGenerator(seed=3), 2),
    ],
    ids=["bvg", "tpe", "nsga2", "bayesopt", "limiter(tpe)", "repeater(bvg)"],
)
def test_unknown_and_repeated_completions_are_ignored(make: Any) -> None:
    """The loop completes each trial once; a searcher driven by other code is told of
    unknown trials, or twice, and goes on (direct calls)."""
    searcher = make()
    space = {k: v for k, v in default_space().items() if k != "model"}
    searcher.set_search_properties("loss", "min", space)
    searcher.set_num_samples(10)
    searcher.on_trial_complete("never-suggested", {"loss": 1.0})
    config = searcher.suggest("a")
    assert isinstance(config, dict)
    searcher.on_trial_complete("a", {"loss": 1.0})
    searcher.on_trial_complete("a", {"loss": 2.0})
    assert isinstance(searcher.suggest("b"), dict)


# ---------------------------------------------------------------------------- the contract's teeth
class _OutOfSpace(BasicVariantGenerator):
    def suggest(self, trial_id: str) -> Any:
        config = super().suggest(trial_id)
        return {**config, "lr": 1.0} if isinstance(config, dict) else config


class _Forgetful(BasicVariantGenerator):
    def load_state_dict(self, state: Any) -> None:
        pass  # a restored searcher starts over


def _contract(make: Any) -> SearcherContract:
    class Contract(SearcherContract):
        def make_searcher(self) -> Searcher:
            return make()

    return Contract()


def test_the_contract_catches_suggestions_outside_the_space(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"lr = 1.0 is not in Float"):
        _contract(lambda: _OutOfSpace(seed=0)).test_suggestions_lie_in_the_space(tmp_path)


def test_the_contract_catches_a_searcher_that_forgets_on_restore(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="repeats"):
        _contract(lambda: _Forgetful(seed=0)).test_a_restored_searcher_continues(tmp_path)
