"""The keys of a trial's results and the names of its output files, as Ray Tune spells them.

Ray scripts import these from ``ray.tune.result``; here they are ``tuner.result``. The engine fills
`TRAINING_ITERATION`, `TIME_THIS_ITER_S`, `TIME_TOTAL_S`, `TIMESTAMP`, `TRIAL_ID`, `PID`,
`HOSTNAME` and `DONE` (plus ``time_since_restore`` and ``iterations_since_restore``) into every
result; the others are names a trainable may report.

`SHOULD_CHECKPOINT` asks for a checkpoint: returned by a class trainable's ``step()``, or set to
True in a result by a callback's ``on_trial_result``, it makes a class trainable save one of the
state that produced that result (see `tuner.experiment.Trial.checkpoint_now`).

Example:
    >>> from tuner.result import SHOULD_CHECKPOINT, TRAINING_ITERATION
    >>> result = {TRAINING_ITERATION: 3, "loss": 0.5}
    >>> result[SHOULD_CHECKPOINT] = True  # in Callback.on_trial_result: checkpoint this one
    >>> sorted(result)
    ['loss', 'should_checkpoint', 'training_iteration']
"""

from __future__ import annotations

# ---------------------------------------------------------------- keys of a result
DONE = "done"
"""(Auto-filled) Whether this is the trial's last result; a trainable may set it to end."""

SHOULD_CHECKPOINT = "should_checkpoint"
"""(Optional) True asks a class trainable to save a checkpoint after this result."""

TRAINING_ITERATION = "training_iteration"
"""(Auto-filled) How many results the trial reported so far, this one included."""

TIME_THIS_ITER_S = "time_this_iter_s"
"""(Auto-filled) Seconds since the trial's previous result."""

TIME_TOTAL_S = "time_total_s"
"""(Auto-filled) Seconds the trial trained in all, across restores."""

TIMESTAMP = "timestamp"
"""(Auto-filled) When the result was made, in whole seconds since the epoch."""

TRIAL_ID = "trial_id"
"""(Auto-filled) The trial's id."""

PID = "pid"
"""(Auto-filled) The process id of the process that ran the trial."""

HOSTNAME = "hostname"
"""(Auto-filled) The machine that ran the trial."""

NODE_IP = "node_ip"
"""The IP address of the machine that ran the trial (Ray fills it; this engine does not)."""

EXPERIMENT_TAG = "experiment_tag"
"""A trial's tag: its number and the values of its config (`Trial.experiment_tag`)."""

DEFAULT_METRIC = "_metric"
"""The metric's name when a trainable reports a bare value."""

EPISODE_REWARD_MEAN = "episode_reward_mean"
MEAN_LOSS = "mean_loss"
MEAN_ACCURACY = "mean_accuracy"
EPISODES_THIS_ITER = "episodes_this_iter"
EPISODES_TOTAL = "episodes_total"
TIMESTEPS_THIS_ITER = "timesteps_this_iter"
TIMESTEPS_TOTAL = "timesteps_total"

DEFAULT_EXPERIMENT_INFO_KEYS = ("trainable_name", EXPERIMENT_TAG, TRIAL_ID)
DEFAULT_RESULT_KEYS = (TRAINING_ITERATION, TIME_TOTAL_S, MEAN_ACCURACY, MEAN_LOSS)

DEBUG_METRICS = (TRIAL_ID, "experiment_id", "date", TIMESTAMP, PID, HOSTNAME, NODE_IP, "config")
"""Keys that say where and when a result was made, not how training goes."""

AUTO_RESULT_KEYS = (
    TRAINING_ITERATION,
    TIME_TOTAL_S,
    EPISODES_TOTAL,
    TIMESTEPS_TOTAL,
    NODE_IP,
    HOSTNAME,
    PID,
    TIME_THIS_ITER_S,
    TIMESTAMP,
    "date",
    "time_since_restore",
    "timesteps_since_restore",
    "iterations_since_restore",
    "config",
    "checkpoint_dir_name",
)
"""Keys an engine may fill in (Ray's list; this engine fills those named in the module doc)."""

CONFIG_PREFIX = "config"
"""The prefix of config columns in results data frames (``config/lr``)."""

# ---------------------------------------------------------------- files in a trial's directory
EXPR_PARAM_FILE = "params.json"
"""The trial's config, written by `tuner.logger.JsonLoggerCallback`."""

EXPR_PARAM_PICKLE_FILE = "params.pkl"
"""Ray's pickled config; this engine writes none (configs are kept as JSON)."""

EXPR_RESULT_FILE = "result.json"
"""One JSON object per result, written by `tuner.logger.JsonLoggerCallback`."""

EXPR_PROGRESS_FILE = "progress.csv"
"""One row per result, written by `tuner.logger.CSVLoggerCallback`."""

EXPR_ERROR_FILE = "error.txt"
"""The tracebacks of the trial's failures (`Trial.error_file`)."""

EXPR_ERROR_PICKLE_FILE = "error.pkl"
"""Ray's pickled error; this engine writes none (errors are kept as text)."""

__all__ = [
    "AUTO_RESULT_KEYS",
    "CONFIG_PREFIX",
    "DEBUG_METRICS",
    "DEFAULT_EXPERIMENT_INFO_KEYS",
    "DEFAULT_METRIC",
    "DEFAULT_RESULT_KEYS",
    "DONE",
    "EPISODES_THIS_ITER",
    "EPISODES_TOTAL",
    "EPISODE_REWARD_MEAN",
    "EXPERIMENT_TAG",
    "EXPR_ERROR_FILE",
    "EXPR_ERROR_PICKLE_FILE",
    "EXPR_PARAM_FILE",
    "EXPR_PARAM_PICKLE_FILE",
    "EXPR_PROGRESS_FILE",
    "EXPR_RESULT_FILE",
    "HOSTNAME",
    "MEAN_ACCURACY",
    "MEAN_LOSS",
    "NODE_IP",
    "PID",
    "SHOULD_CHECKPOINT",
    "TIMESTAMP",
    "TIMESTEPS_THIS_ITER",
    "TIMESTEPS_TOTAL",
    "TIME_THIS_ITER_S",
    "TIME_TOTAL_S",
    "TRAINING_ITERATION",
    "TRIAL_ID",
]
