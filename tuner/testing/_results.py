"""What each trial reported, and whether that is a proper sequence of results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tuner._callback import Callback


class ResultLog(Callback):
    """A callback that keeps every result the event loop reports, in the order it came.

    Attributes:
        results: ``(trial_id, result)`` pairs, in the order the loop handed them on.

    Example:
        >>> log = ResultLog()
        >>> # Tuner(..., run_config=RunConfig(callbacks=[log])).fit(); then:
        >>> sequence_problems(log.results)
        []
    """

    def __init__(self) -> None:
        self.results: list[tuple[str, dict[str, Any]]] = []

    def on_trial_result(
        self, iteration: int, trials: Any, trial: Any, result: dict[str, Any], **info: Any
    ) -> None:
        self.results.append((str(trial.trial_id), dict(result)))

    def of(self, trial_id: str) -> list[dict[str, Any]]:
        """The results of one trial, in order."""
        return [result for owner, result in self.results if owner == trial_id]


def sequence_problems(
    results: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    donors: Mapping[str, Sequence[int]] | None = None,
) -> list[str]:
    """What is wrong with these results as the history of their trials, in the order given.

    Each trial's ``training_iteration`` goes up by one per result, and
    ``iterations_since_restore`` with it. A result with ``iterations_since_restore == 1``
    begins a run of the trial, which goes on from the iteration of the checkpoint it resumed
    from. Results of `contract_trainable` say which checkpoint that was (``owner``,
    ``resumed_step``), and where they do, it must be:

    - none, for a trial's first run only (starting over after results were reported would
      report their iterations twice);
    - the trial's own latest result, when it resumes from its own checkpoint (after a pause,
      a retry, a restore): nothing lost, nothing reported twice;
    - a result its donor reported before, after an exploit (PBT), which restarts it at the
      donor's iteration.

    Results without those keys are checked for their counts only. `training_iteration` must
    also equal the trainable's own ``step`` where it reports one.

    Args:
        results: ``(trial_id, result)`` pairs: in the order the loop reported them (a
            `ResultLog`), or trial by trial (each trial's ``result.json``).
        donors: The iterations each trial reported at any time, for results given trial by
            trial; by default a donor must have reported the iteration earlier in `results`.
    """
    problems: list[str] = []
    reported: dict[str, list[int]] = {}
    last: dict[str, tuple[int, int]] = {}
    for trial_id, result in results:
        iteration = int(result["training_iteration"])
        since = int(result.get("iterations_since_restore", iteration))
        mine = reported.setdefault(trial_id, [])
        where = f"trial {trial_id}, result {len(mine) + 1} (training_iteration {iteration})"
        step = result.get("step")
        if step is not None and step != iteration:
            problems.append(f"{where}: the trainable counted step {step}")
        if since != 1:
            before = last.get(trial_id)
            if before is None or (iteration, since) != (before[0] + 1, before[1] + 1):
                problems.append(
                    f"{where}: iterations_since_restore {since} does not follow the trial's "
                    f"previous result {before} (training_iteration, iterations_since_restore)"
                )
        else:
            problems += _start_problems(
                where, trial_id, iteration - 1, result, mine, reported if donors is None else donors
            )
        mine.append(iteration)
        last[trial_id] = (iteration, since)
    return problems


def _start_problems(
    where: str,
    trial_id: str,
    start: int,
    result: Mapping[str, Any],
    mine: Sequence[int],
    donors: Mapping[str, Sequence[int]],
) -> list[str]:
    """What is wrong with where a run of the trial began (at iteration `start`)."""
    if "owner" not in result:
        return []
    owner, resumed = result["owner"], result.get("resumed_step")
    if resumed is not None and resumed != start:
        return [f"{where}: the engine resumed at iteration {start}, from a checkpoint of step "
                f"{resumed}"]
    if owner is None:
        if mine:
            return [f"{where}: started over without a checkpoint after it reported iterations "
                    f"up to {mine[-1]}: those are reported twice"]
        return []
    if owner == trial_id:
        if not mine or mine[-1] != start:
            return [f"{where}: resumed from its own checkpoint at iteration {start}, but its "
                    f"latest result was iteration {mine[-1] if mine else None}: results lost "
                    "or reported twice"]
        return []
    if start not in donors.get(str(owner), ()):
        return [f"{where}: resumed from trial {owner}'s checkpoint at iteration {start}, which "
                f"that trial never reported"]
    return []
