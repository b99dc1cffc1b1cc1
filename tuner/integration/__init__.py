"""Integrations under Ray Tune's module names (`ray.tune.integration.*` -> `tuner.integration.*`)."""
