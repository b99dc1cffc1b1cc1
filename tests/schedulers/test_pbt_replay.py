"""PopulationBasedTrainingReplay: a recorded schedule is replayed step by step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schedulers import (
    Decision,
    PopulationBasedTrainingReplay,
    TrialStatus,
    TrialSuggestion,
    TrialView,
    WaitingList,
)
from schedulers._pbt_replay import lineage


def record(target: str, donor: str, it: int, old: float, new: float) -> dict[str, Any]:
    return {
        "time": it,
        "target_trial_id": target,
        "donor_trial_id": donor,
        "target_iteration": it,
        "donor_iteration": it,
        "old_config": {"lr": old},
        "target_config": {"lr": 0.0},
        "new_config": {"lr": new},
    }


LOG = [
    record("b", "a", 2, 0.1, 0.12),  # b continues a's weights with 0.12
    record("c", "b", 4, 0.12, 0.2),  # c continues b's weights with 0.2
    record("b", "c", 6, 0.2, 0.24),  # b continues c's weights with 0.24
]


def replay_decisions(replay: PopulationBasedTrainingReplay, last: int) -> list[Any]:
    trial = TrialView("r", replay.config, TrialStatus.RUNNING)
    replay.on_trial_add(trial)
    out: list[Any] = []
    for it in range(1, last + 1):
        decision = replay.on_trial_result(trial, {"training_iteration": it})
        if decision is Decision.PAUSE:
            paused = TrialView("r", replay.config, TrialStatus.PAUSED)
            out.append((it, replay.suggest(WaitingList([paused]))))
    return out


def resumed(config: dict[str, Any]) -> TrialSuggestion:
    """The replayed trial resumes from its own checkpoint with `config`."""
    return TrialSuggestion.run("r", config=config)


def test_replays_the_lineage_of_a_trial() -> None:
    assert lineage(LOG, "b") == LOG
    replay = PopulationBasedTrainingReplay(LOG, trial_id="b")
    assert replay.config == {"lr": 0.1}
    assert replay_decisions(replay, 8) == [
        (2, resumed({"lr": 0.12})),
        (4, resumed({"lr": 0.2})),
        (6, resumed({"lr": 0.24})),
    ]


def test_lineage_picks_only_the_ancestors() -> None:
    assert lineage(LOG, "c") == LOG[:2]
    assert lineage(LOG, "a") == []


def test_reads_a_jsonl_file_and_rays_rows(tmp_path: Path) -> None:
    path = tmp_path / "policy.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in LOG[:2]) + "\n")
    assert PopulationBasedTrainingReplay(path).config == {"lr": 0.1}
    ray = tmp_path / "pbt_policy_b.txt"
    ray.write_text(json.dumps(["b", "a", 3, 2, {"lr": 0.1}, {"lr": 0.12}]) + "\n")
    replay = PopulationBasedTrainingReplay(str(ray))
    assert replay_decisions(replay, 3) == [(2, resumed({"lr": 0.12}))]


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one perturbation record"):
        PopulationBasedTrainingReplay([])
    with pytest.raises(ValueError, match="lacks 'new_config'"):
        PopulationBasedTrainingReplay([{"donor_iteration": 1, "old_config": {}}])
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    with pytest.raises(ValueError, match=r"line 1 .* is not JSON"):
        PopulationBasedTrainingReplay(bad)
    replay = PopulationBasedTrainingReplay(LOG)
    replay.on_trial_add(TrialView("x", replay.config, TrialStatus.PENDING))
    with pytest.raises(ValueError, match="num_samples=1"):
        replay.on_trial_add(TrialView("y", replay.config, TrialStatus.PENDING))
