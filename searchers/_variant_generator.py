"""Grid and random search: `BasicVariantGenerator`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from searchers._base import FINISHED, Searcher, SearchSignal
from searchers._paths import Path, find_grids, merge, resolve
from searchers._rng import DeferredRng

if TYPE_CHECKING:  # numpy loads when the generator is built, not with `import tuner`
    import numpy as np

FOREVER = -1
"""`num_samples` value meaning: keep sampling until the experiment stops."""


@dataclass(frozen=True)
class _Segment:
    """A space whose grid is walked `repeats` times (None: without end)."""

    space: Mapping[str, Any]
    grid_paths: tuple[Path, ...]
    grid_values: tuple[tuple[Any, ...], ...]
    grid_size: int
    repeats: int | None

    @classmethod
    def of(cls, space: Mapping[str, Any], repeats: int | None) -> _Segment:
        grids = find_grids(space)
        size = 1
        for _, grid in grids:
            size *= len(grid.values)
        return cls(
            space=space,
            grid_paths=tuple(p for p, _ in grids),
            grid_values=tuple(g.values for _, g in grids),
            grid_size=size,
            repeats=repeats,
        )

    @property
    def length(self) -> int | None:
        return None if self.repeats is None else self.grid_size * self.repeats

    def grid_point(self, index: int) -> dict[Path, Any]:
        """The grid values of combination `index` (mixed radix, first grid varies fastest)."""
        point = {}
        for path, values in zip(self.grid_paths, self.grid_values, strict=True):
            index, digit = divmod(index, len(values))
            point[path] = values[digit]
        return point


class BasicVariantGenerator(Searcher):
    """Grid search and random search, as Ray Tune's `BasicVariantGenerator`.

    The grid's cartesian product (every `grid_search` in the space) is walked `num_samples`
    times; each walk draws fresh values for the sampled domains at every grid point, or, with
    `constant_grid_search=True`, draws them once per walk and holds them across its grid points.
    `num_samples=-1` walks without end. Grid points are computed from their index (mixed-radix
    arithmetic, the first grid in path order varying fastest), so a grid of 10^9 points costs
    nothing up front.

    Several objectives and constraints (`TuneConfig(metric=[...], mode=[...],
    constraints=[...])`) are accepted: the configs do not depend on results, so they are the
    same whatever the experiment optimises (the baseline a multi-objective searcher must beat).

    `points_to_evaluate` come first: each is a partial config merged into the space; its missing
    values are sampled and any grid it does not fix is expanded. As in Ray Tune, each point
    counts as one of the `num_samples`: with 10 samples and 2 points, 8 walks follow them.

    Args:
        points_to_evaluate: Partial configs to try first.
        max_concurrent: At most this many suggested trials unfinished at once (0: no limit).
        constant_grid_search: Hold the sampled values constant across the grid of each walk.
        random_state: Ray Tune's name for `seed`; an int or a `numpy.random.Generator`.
        seed: Seed of the owned generator; the same seed gives the same configs.
        num_samples: Walks over the grid; the engine sets it with `set_num_samples`.

    Example:
        >>> from searchers import BasicVariantGenerator, grid_search, uniform
        >>> searcher = BasicVariantGenerator(seed=0, num_samples=2)
        >>> searcher.set_search_properties(None, None, {"a": grid_search([1, 2]),
        ...                                             "b": uniform(0, 1)})
        >>> searcher.total_trials
        4
        >>> [searcher.suggest(str(i))["a"] for i in range(4)]
        [1, 2, 1, 2]
    """

    supports_multi_objective = True  # it learns from no result
    supports_constraints = True

    max_queued = 16
    learns_from_results = False

    def __init__(
        self,
        *,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        max_concurrent: int = 0,
        constant_grid_search: bool = False,
        random_state: int | np.random.Generator | None = None,
        seed: int | None = None,
        num_samples: int = 1,
    ) -> None:
        super().__init__()
        if random_state is not None and seed is not None:
            raise ValueError(
                f"pass `seed` or `random_state`, not both, got seed={seed!r}, "
                f"random_state={random_state!r}: they mean the same"
            )
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int) or (
            max_concurrent < 0
        ):
            raise ValueError(
                f"`max_concurrent` must be an int >= 0, got max_concurrent={max_concurrent!r}: "
                "use 0 for no limit"
            )
        points = list(points_to_evaluate or [])
        for point in points:
            if not isinstance(point, Mapping):
                raise ValueError(
                    f"`points_to_evaluate` must be a list of dicts, got an item {point!r}: "
                    "pass partial configs such as [{'lr': 0.1}]"
                )
        self._points = [dict(p) for p in points]
        self.max_concurrent = max_concurrent
        self.constant_grid_search = constant_grid_search
        # Made on first use: a space with nothing to sample never needs numpy.
        self._rng = DeferredRng(seed if seed is not None else random_state)
        self._num_samples = _check_num_samples(num_samples)
        self._space: Mapping[str, Any] | None = None
        self._segments: list[_Segment] = []
        self._segment = 0  # the segment the next config comes from
        self._index = 0  # configs already given from that segment
        self._repeat_seed: int | None = None  # constant_grid_search: the current walk's draws
        self._live: dict[str, None] = {}  # suggested, not completed (ordered, for the state)

    def set_search_properties(
        self,
        metric: str | Sequence[str] | None,
        mode: str | Sequence[str] | None,
        param_space: Mapping[str, Any],
    ) -> None:
        """Take the experiment's metric, mode (unused) and search space."""
        super().set_search_properties(metric, mode, param_space)
        if not isinstance(param_space, Mapping):
            raise ValueError(
                f"the search space must be a dict, got {type(param_space).__name__}: "
                "pass param_space={'name': domain, ...}"
            )
        self._space = param_space
        self._build_segments()

    def set_num_samples(self, num_samples: int) -> None:
        """How many walks over the grid (`-1`: without end). Call before the first suggestion."""
        self._num_samples = _check_num_samples(num_samples)
        if self._space is not None:
            self._build_segments()

    def _build_segments(self) -> None:
        if self._space is None:
            return
        segments = [_Segment.of(merge(self._space, point), 1) for point in self._points]
        rest: int | None = None
        if self._num_samples != FOREVER:
            rest = max(0, self._num_samples - len(self._points))
        segments.append(_Segment.of(merge(self._space, {}), rest))
        for segment in segments:
            _check_no_nested_grid(segment)
        self._segments = segments

    @property
    def total_trials(self) -> int | None:
        """How many configs this searcher will suggest in all, or None for without end."""
        if self._space is None:
            return None
        lengths = [s.length for s in self._segments]
        return None if None in lengths else sum(n for n in lengths if n is not None)

    def suggest(self, trial_id: str) -> dict[str, Any] | SearchSignal | None:
        """The next config, `None` while `max_concurrent` trials run, or `FINISHED`."""
        if self._space is None:
            raise RuntimeError(
                "BasicVariantGenerator has no search space yet: call "
                "set_search_properties(metric, mode, param_space) before suggest()"
            )
        while self._segment < len(self._segments):
            segment = self._segments[self._segment]
            if segment.length is None or self._index < segment.length:
                break
            self._segment += 1
            self._index = 0
        else:
            return FINISHED
        if self.max_concurrent and len(self._live) >= self.max_concurrent:
            return None
        grid_index = self._index % segment.grid_size
        rng = self._rng
        if self.constant_grid_search:
            if grid_index == 0:
                self._repeat_seed = int(self._rng.get().integers(2**63))
            rng = DeferredRng(self._repeat_seed)
        config = resolve(segment.space, rng, segment.grid_point(grid_index))
        self._index += 1
        self._live[trial_id] = None
        return dict(config)

    def on_trial_complete(
        self, trial_id: str, result: Mapping[str, Any] | None = None, error: bool = False
    ) -> None:
        """Free the trial's `max_concurrent` slot."""
        self._live.pop(trial_id, None)

    def state_dict(self) -> dict[str, Any]:
        """Counters, live trials and the generator state, as JSON data."""
        return {
            "segment": self._segment,
            "index": self._index,
            "num_samples": self._num_samples,
            "repeat_seed": self._repeat_seed,
            "live": list(self._live),
            "rng": self._rng.state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a `state_dict()`: the next configs are those the original would give."""
        self.set_num_samples(int(state["num_samples"]))
        self._segment = int(state["segment"])
        self._index = int(state["index"])
        seed = state["repeat_seed"]
        self._repeat_seed = None if seed is None else int(seed)
        self._live = dict.fromkeys(state["live"])
        self._rng = DeferredRng.from_state(state["rng"])


def _check_no_nested_grid(segment: _Segment) -> None:
    """Fail early on a grid nested inside grid values, rather than at the n-th suggestion."""
    for values in segment.grid_values:
        for value in values:
            if find_grids(value):
                raise ValueError(
                    "grid_search values may not hold another grid_search, got "
                    f"{value!r}: put both grids side by side in the space"
                )


def _check_num_samples(num_samples: int) -> int:
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or (
        num_samples < 1 and num_samples != FOREVER
    ):
        raise ValueError(
            f"`num_samples` must be an int >= 1 or -1 (without end), got "
            f"num_samples={num_samples!r}"
        )
    return num_samples
