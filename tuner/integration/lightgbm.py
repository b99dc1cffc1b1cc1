"""Ray Tune's `ray.tune.integration.lightgbm`: the callbacks of `tuner.integrations.lightgbm`."""

from tuner.integrations.lightgbm import TuneReportCallback, TuneReportCheckpointCallback

__all__ = ["TuneReportCallback", "TuneReportCheckpointCallback"]
