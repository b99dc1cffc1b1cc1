"""`ConcurrencyLimiter`: cap the number of a searcher's unfinished trials."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from searchers._base import Searcher, SearchSignal
from searchers._wrapper import SearcherWrapper


class ConcurrencyLimiter(SearcherWrapper):
    """Let a searcher have at most `max_concurrent` suggested trials unfinished at once.

    With `batch=True` the limiter suggests a batch of `max_concurrent` trials, holds back their
    results, and passes them all to the wrapped searcher once the whole batch has completed;
    only then does it suggest the next batch (Ray Tune's `batch` option). A batch cut short
    because the wrapped searcher finished is passed on when its last trial completes.

    Several objectives and constraints pass through to the wrapped searcher, which takes them
    if it can (its `supports_multi_objective` and `supports_constraints` are the limiter's).

    Args:
        searcher: The searcher to limit.
        max_concurrent: Unfinished trials allowed at once, >= 1.
        batch: Suggest and report in whole batches.

    Example:
        >>> from searchers import ConcurrencyLimiter, TPESearch, uniform
        >>> limited = ConcurrencyLimiter(TPESearch({"x": uniform(0, 1)}, metric="loss",
        ...                                        mode="min", seed=0), max_concurrent=2)
        >>> [type(limited.suggest(str(i))).__name__ for i in range(3)]
        ['dict', 'dict', 'NoneType']
    """

    def __init__(self, searcher: Searcher, max_concurrent: int, batch: bool = False) -> None:
        super().__init__(searcher)
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int) or (
            max_concurrent < 1
        ):
            raise ValueError(
                f"`max_concurrent` must be an int >= 1, got max_concurrent={max_concurrent!r}"
            )
        self.max_concurrent = max_concurrent
        self.batch = batch
        self._live: dict[str, None] = {}  # ordered, so the state is deterministic
        self._held: dict[str, tuple[dict[str, Any] | None, bool]] = {}  # batch: held results

    def suggest(self, trial_id: str) -> dict[str, Any] | SearchSignal | None:
        """The wrapped searcher's suggestion, or None while the limit is reached."""
        if len(self._live) >= self.max_concurrent or (self.batch and self._held):
            return None
        config = super().suggest(trial_id)
        if isinstance(config, dict):
            self._live[trial_id] = None
        return config

    def on_trial_complete(
        self, trial_id: str, result: Mapping[str, Any] | None = None, error: bool = False
    ) -> None:
        """Free the trial's slot (in batch mode: once its whole batch has completed)."""
        if trial_id not in self._live:
            return
        if not self.batch:
            del self._live[trial_id]
            super().on_trial_complete(trial_id, result, error)
            return
        self._held[trial_id] = (None if result is None else dict(result), error)
        if len(self._held) < len(self._live):
            return
        held, self._held, self._live = self._held, {}, {}
        for held_id, (held_result, held_error) in held.items():
            super().on_trial_complete(held_id, held_result, held_error)

    def state_dict(self) -> dict[str, Any]:
        """Live trials, held results and the wrapped searcher's state."""
        return {
            "live": list(self._live),
            "held": [[k, r, e] for k, (r, e) in self._held.items()],
            "searcher": super().state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()`."""
        self._live = dict.fromkeys(state["live"])
        self._held = {k: (r, bool(e)) for k, r, e in state["held"]}
        super().load_state_dict(state["searcher"])

