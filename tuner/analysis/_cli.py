"""The `tuner` command: look at experiments on any storage without the script that ran them.

    tuner ls STORAGE                               experiments, their status, how to resume
    tuner show EXPERIMENT [--metric M]             the trial table
    tuner best EXPERIMENT [--metric M --mode min]  the best trial, its config and checkpoint
    tuner plot EXPERIMENT [--metric M] -o F.png    learning curves (or --param P: a scatter,
                                                   --pareto: the Pareto front)
    tuner dashboard [STORAGE] [--host --port]      a live web dashboard (docs/dashboard.md)

STORAGE and EXPERIMENT are local paths or fsspec URLs (`s3://bucket/runs/exp`). Errors are one
line on stderr and exit status 1; bad usage exits with 2 (argparse's convention).

A multi-objective experiment has a Pareto front, not one best trial: `best` prints the front
(or, with --metric, the best by that one metric), `ls` its size, `show` a PARETO column, and
`plot --pareto` draws it (`tuner.analysis._cli_front`). Constraints rank feasible trials first.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from searchers._objective import best_by, rank_by
from searchers._pareto import Objectives
from tuner.analysis import _cli_front, _front
from tuner.analysis._read import (
    SavedExperiment,
    check_metric,
    find_experiments,
    open_experiment,
    user_url,
)
from tuner.analysis._result import Result, flatten, metric_value
from tuner.analysis._result_grid import ResultGrid
from tuner.analysis._table import fmt, table
from tuner.exceptions import ConfigError, RestoreError, TuneError
from tuner.output._progress import format_duration
from tuner.storage._filesystem import DEFAULT_STORAGE_PATH

_SHOWN_PARAMS = 6


def _metric_and_mode(
    experiment: SavedExperiment, metric: str | None, mode: str | None, *, need_mode: bool
) -> tuple[str, str | None]:
    objectives = experiment.metric
    if metric is None and isinstance(objectives, list):
        raise ConfigError(
            f"experiment {experiment.url} optimises several metrics ({', '.join(objectives)}): "
            f"pass --metric NAME, e.g. --metric {objectives[0]}"
        )
    metric = metric or (objectives if isinstance(objectives, str) else None)
    if metric is None:
        raise ConfigError(
            f"experiment {experiment.url} was run without a metric: pass --metric NAME"
        )
    if mode is None:
        mode = _cli_front.mode_of(experiment, metric)
    if need_mode and mode is None:
        raise ConfigError(f"the mode for metric '{metric}' is not known: pass --mode min or --mode max")
    return metric, mode


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "no trials"


def _status_text(experiment: SavedExperiment) -> str:
    status = experiment.status
    return "running/crashed" if status == "running" else status


def _best_value(results: Sequence[Result], metric: str, mode: str) -> float | None:
    """The best finite `metric` of the trials' last results, or None."""
    found = best_by(results, lambda r: metric_value(r.metrics, metric), mode)
    return None if found is None else found[1]


def _grid(exp: SavedExperiment, results: Sequence[Result]) -> ResultGrid:
    """The experiment's `ResultGrid`: its objectives and constraints, as `fit()` returned it."""
    return ResultGrid(results, experiment_path=exp.path, metric=exp.metric, mode=exp.mode,
                      constraints=exp.constraints)


def _open(url: str) -> SavedExperiment:
    """The experiment at `url`; if there is none but experiments below it, the error names them."""
    try:
        return open_experiment(url)
    except RestoreError as exc:
        try:
            below = find_experiments(url)
        except (TuneError, OSError):
            below = []
        if below:
            names = ", ".join(exp.url for exp in below[:5])
            raise RestoreError(f"{url} is a storage path, not an experiment: try one of {names}") from exc
        raise


# ---------------------------------------------------------------------------- commands
def cmd_ls(args: argparse.Namespace, out: TextIO) -> int:
    unreadable: list[tuple[str, RestoreError]] = []
    experiments = find_experiments(
        args.storage, on_unreadable=lambda url, error: unreadable.append((url, error))
    )
    if not experiments and unreadable:
        raise unreadable[0][1]  # nothing else to list: that one is the answer
    for url, error in unreadable:
        sys.stderr.write(f"tuner: skipping {url}: {error}\n")
    if not experiments:
        raise ConfigError(
            f"no experiments found at {args.storage}: it is neither an experiment directory nor "
            "a directory holding some (they contain experiment_state-a.json or -b.json)"
        )
    rows = [["EXPERIMENT", "STATUS", "TRIALS", "BEST", "ELAPSED"]]
    hints = []
    for exp in experiments:
        results = exp.results()
        best = ""
        if exp.constraints or isinstance(exp.metric, list):
            best = _cli_front.summary(exp, _grid(exp, results))
        elif isinstance(exp.metric, str) and isinstance(exp.mode, str):
            found = _best_value(results, exp.metric, exp.mode)
            best = f"{exp.metric}={found:.6g}" if found is not None else ""
        elapsed = format_duration(float(exp.state["experiment"].get("elapsed_s", 0.0)))
        rows.append([exp.name, _status_text(exp), _counts_text(exp.counts), best, elapsed])
        if exp.status != "finished":
            hints.append(f"resume {exp.name} ({_status_text(exp)}): {exp.restore_hint}")
        elif exp.counts.get("ERROR"):
            hints.append(
                f"retry the {exp.counts['ERROR']} failed trials of {exp.name}: "
                f"{exp.restore_hint[:-len(').fit()')]}, resume_errored=True).fit()"
            )
    for line in table(rows):
        out.write(line + "\n")
    for hint in hints:
        out.write(hint + "\n")
    return 0


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    exp = _open(args.experiment)
    results = exp.results()
    metrics = [args.metric] if args.metric else _cli_front.objective_names(exp)
    if args.metric:
        check_metric(results, args.metric, exp.url)
    state = exp.state["experiment"]
    out.write(
        f"{exp.name}: {_status_text(exp)}, {_counts_text(exp.counts)}, "
        f"{format_duration(float(state.get('elapsed_s', 0.0)))} elapsed\n"
    )
    out.write(f"path: {exp.url}\n")
    if metrics and args.sort:
        results = _sorted(exp, results, metrics, args.mode)
    marks = _cli_front.marks(exp, results)
    params: list[str] = []
    for result in results:
        params += [k for k in flatten(result.config) if k not in params]
    shown, hidden = params[:_SHOWN_PARAMS], params[_SHOWN_PARAMS:]
    header = ["TRIAL", "STATUS", "ITER", *metrics, *marks[0], *shown, "ERROR"]
    rows = [header]
    for result, mark in zip(results, marks[1], strict=True):
        flat, config = flatten(result.metrics), flatten(result.config)
        error = str(result.error).splitlines()[0][:60] if result.error is not None else ""
        rows.append([
            result.trial_id,
            result.status,
            fmt(flat.get("training_iteration", 0)),
            *[fmt(flat.get(metric)) for metric in metrics],
            *mark,
            *[fmt(config.get(p)) for p in shown],
            error,
        ])
    if all(not row[-1] for row in rows[1:]):
        rows = [row[:-1] for row in rows]
    if len(rows) > 1:
        for line in table(rows):
            out.write(line + "\n")
    if hidden:
        out.write(f"(config keys not shown: {', '.join(hidden)})\n")
    return 0


def _sorted(
    exp: SavedExperiment, results: list[Result], metrics: list[str], mode: str | None
) -> list[Result]:
    """`results` best first: by the one metric, or by the front for several objectives; with
    constraints, feasible trials first (`tuner.analysis._front.order`)."""
    if len(metrics) == 1:
        metric, mode = _metric_and_mode(exp, metrics[0], mode, need_mode=True)
        assert mode is not None  # _metric_and_mode raised otherwise
        if not exp.constraints:
            return rank_by(results, lambda r: metric_value(r.metrics, metric), mode)
        objectives = Objectives.of(metric, mode)
    else:
        objectives = Objectives.of(metrics, exp.mode or ())
    constraints = _cli_front.constraints_of(exp)
    return [results[i] for i in _front.order(results, objectives, constraints)]


def cmd_best(args: argparse.Namespace, out: TextIO) -> int:
    exp = _open(args.experiment)
    results = exp.results()
    if args.metric is None and isinstance(exp.metric, list):
        return _cli_front.print_front(exp, _grid(exp, results), args, out)
    metric, mode = _metric_and_mode(exp, args.metric, args.mode, need_mode=True)
    assert mode is not None  # _metric_and_mode raised otherwise
    check_metric(results, metric, exp.url)
    grid = _grid(exp, results)
    best = grid.get_best_result(metric, mode, scope=args.scope)
    checkpoint = best.get_best_checkpoint(metric, mode) or best.checkpoint
    checkpoint_url = user_url(exp.filesystem, checkpoint.path) if checkpoint is not None else None
    value = flatten(best.metrics).get(metric)
    feasible = grid.is_feasible(best)
    if args.json:
        out.write(json.dumps({
            "trial_id": best.trial_id,
            "status": best.status,
            "metric": metric,
            "mode": mode,
            "value": value,
            "config": best.config,
            "checkpoint": checkpoint_url,
            "path": user_url(exp.filesystem, best.path),
            **({"feasible": feasible} if exp.constraints else {}),
        }, default=repr) + "\n")
        return 0
    out.write(f"best trial: {best.trial_id} ({best.status}), {metric}={fmt(value)} "
              f"({mode}, scope {args.scope})\n")
    out.write(f"config: {json.dumps(best.config, default=repr)}\n")
    out.write(f"checkpoint: {checkpoint_url or 'none (the trial reported no checkpoint)'}\n")
    out.write(f"path: {user_url(exp.filesystem, best.path)}\n")
    if exp.constraints:
        out.write(_cli_front.constraints_line(exp, feasible) + "\n")
    return 0


def cmd_plot(args: argparse.Namespace, out: TextIO) -> int:
    from tuner.analysis._plot import plot_learning_curves, plot_scatter

    exp = _open(args.experiment)
    results = exp.results()
    if args.pareto:
        if args.metric or args.param:
            raise ConfigError(
                "--pareto plots the experiment's own objectives: drop --metric and --param"
            )
        _grid(exp, results).plot_pareto_front(args.output)
        out.write(f"wrote {args.output}\n")
        return 0
    metric, _ = _metric_and_mode(exp, args.metric, None, need_mode=False)
    check_metric(results, metric, exp.url)
    if args.param:
        plot_scatter(results, args.param, metric, args.output)
    else:
        plot_learning_curves(results, metric, args.output, x=args.x)
    out.write(f"wrote {args.output}\n")
    return 0


# ---------------------------------------------------------------------------- entry point
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuner",
        description="Inspect tuner experiments on local or remote (fsspec) storage.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ls = sub.add_parser("ls", help="list experiments, their status, and how to resume them")
    ls.add_argument("storage", metavar="STORAGE",
                    help="a storage path (holding experiments) or an experiment directory")
    ls.set_defaults(run=cmd_ls)

    def experiment_command(name: str, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.add_argument("experiment", metavar="EXPERIMENT",
                             help="the experiment directory, <storage_path>/<name>")
        command.add_argument("--metric", help="result key (default: the experiment's metric)")
        return command

    show = experiment_command("show", "print the trial table")
    show.add_argument("--mode", choices=("min", "max"), help="for --sort with another metric")
    show.add_argument("--sort", action="store_true", help="best trials first")
    show.set_defaults(run=cmd_show)

    best = experiment_command(
        "best", "print the best trial, its config and checkpoint (the Pareto front of a "
        "multi-objective experiment)")
    best.add_argument("--mode", choices=("min", "max"), help="default: the experiment's mode")
    best.add_argument("--scope", default="last",
                      choices=("last", "avg", "last-5-avg", "last-10-avg", "all"),
                      help="which results rank a trial (default: its last)")
    best.add_argument("--json", action="store_true", help="print one JSON object")
    best.set_defaults(run=cmd_best)

    plot = experiment_command("plot", "write learning curves (or a parameter scatter) to a file")
    plot.add_argument("-o", "--output", required=True, help="image file, e.g. curves.png")
    plot.add_argument("--param", help="plot the metric against this config key instead")
    plot.add_argument("--x", default="training_iteration", help="x axis of the learning curves")
    plot.add_argument("--pareto", action="store_true",
                      help="plot the Pareto front of a multi-objective experiment instead")
    plot.set_defaults(run=cmd_plot)

    dashboard = sub.add_parser("dashboard", help="serve a live web dashboard of the experiments",
                               description="Serve a live, read-only web dashboard of the "
                               "experiments under a storage path (docs/dashboard.md).")
    dashboard.add_argument("root", nargs="?", default=DEFAULT_STORAGE_PATH,
                           metavar="STORAGE_OR_EXPERIMENT",
                           help="a storage path holding experiments, or one experiment "
                                f"(default {DEFAULT_STORAGE_PATH})")
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="address to bind (default 127.0.0.1; any other needs a token)")
    dashboard.add_argument("--port", type=int, default=8000,
                           help="port (default 8000; 0: any free one)")
    dashboard.add_argument("--token", help="secret every request must carry (made up and "
                                           "printed when binding beyond 127.0.0.1 without one)")
    dashboard.set_defaults(run=cmd_dashboard)
    return parser


def cmd_dashboard(args: argparse.Namespace, out: TextIO) -> int:
    from tuner.dashboard._command import run

    return run(args, out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `tuner` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args, sys.stdout))
    except (TuneError, ImportError, OSError) as exc:
        # What a user can fix (a wrong path, metric or missing package) is one line, no traceback.
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(f"tuner: error: {message}\n")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
