"""Ray Train V2's import paths (``ray.train.v2.api...`` maps to ``tuner.v2.api...``)."""
