"""A numpy array in a trial's config reaches schedulers read-only (numpy is loaded lazily)."""

from __future__ import annotations

import numpy as np
import pytest

from schedulers import TrialStatus, TrialView


def test_an_array_in_a_view_is_a_read_only_view_of_the_trials_own() -> None:
    weights = np.arange(3.0)
    view = TrialView("t0", {"weights": weights, "nested": {"w": weights}}, TrialStatus.RUNNING)
    for seen in (view.config["weights"], view.config["nested"]["w"]):
        assert list(seen) == [0.0, 1.0, 2.0]
        with pytest.raises(ValueError, match="read-only"):
            seen[0] = 9.0
    assert weights.flags.writeable  # the trial's own array is untouched
    weights[0] = 5.0
    assert view.config["weights"][0] == 5.0  # a view, not a copy
