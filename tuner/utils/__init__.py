"""Small helpers Ray Tune scripts import from `ray.tune.utils` (see `mock_trainable`)."""
