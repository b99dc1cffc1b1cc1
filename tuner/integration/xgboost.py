"""Ray Tune's `ray.tune.integration.xgboost`: the callbacks of `tuner.integrations.xgboost`."""

from tuner.integrations.xgboost import TuneReportCallback, TuneReportCheckpointCallback

__all__ = ["TuneReportCallback", "TuneReportCheckpointCallback"]
