"""``python -m tuner.benchmarks``: run the benchmark suite, print regret tables, write plots.

Two kinds of comparison:

- searchers (the default): each method tunes each benchmark's first objective one trial at a
  time for max(--evaluations) trials, --seeds times; the table shows the median [first,
  third quartile] over seeds of the regret after each of --evaluations trials. Ours run
  through `Tuner.fit()` on a `SimulatedExecutor`, Optuna's samplers in Optuna's own loop, with
  the same noise per seed. Each searcher named brings its Optuna peer (tpe: TPESampler,
  bayesopt: GPSampler, random: RandomSampler) and random search, unless --no-peers.
- schedulers (--scheduler asha,...): random search with each scheduler, and with FIFO, on
  --workers simulated workers, every trial reporting its (made-up) learning curve epoch by
  epoch, until --budget full trainings' worth of virtual time; regret at a quarter, half and
  all of that time.

Examples:
    python -m tuner.benchmarks list
    python -m tuner.benchmarks run --benchmark naval_propulsion --searcher tpe --seeds 10
    python -m tuner.benchmarks run --all --seeds 10 --evaluations 50,100,200
    python -m tuner.benchmarks run --benchmark naval_propulsion --scheduler asha,hyperband
    python -m tuner.benchmarks report --out benchmark-results    # the Markdown table again
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd

from tuner.benchmarks._benchmark import Benchmark
from tuner.benchmarks._catalog import BENCHMARKS, load
from tuner.benchmarks._markdown import markdown_table, pairs_table
from tuner.benchmarks._methods import PEERS, SEARCHERS, Method
from tuner.benchmarks._regret import hypervolume_gap, regret, summary
from tuner.benchmarks._schedulers import SCHEDULERS, compare_schedulers


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tuner.benchmarks",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the benchmarks and methods")
    run = commands.add_parser("run", help="run methods on benchmarks; print and plot regret")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--benchmark", help="comma-separated names (see `list`)")
    which.add_argument("--all", action="store_true", help="every benchmark")
    run.add_argument("--searcher", default=None,
                     help=f"comma-separated, of {', '.join(SEARCHERS)} (default tpe; "
                          "tpe,nsga2 with --multi-objective)")
    run.add_argument("--multi-objective", action="store_true",
                     help="tune every objective; score by the hypervolume gap (1 - normalised "
                          "hypervolume of the results so far)")
    run.add_argument("--no-peers", action="store_true",
                     help="run only the searchers named, without their Optuna peers and random")
    run.add_argument("--scheduler", help=f"comma-separated, of {', '.join(SCHEDULERS[1:])}: "
                                         "compare schedulers instead of searchers")
    run.add_argument("--seeds", type=int, default=10)
    run.add_argument("--evaluations", default="50,100,200",
                     help="trials after which regret is read (searchers)")
    run.add_argument("--workers", type=int, default=4, help="simulated workers (schedulers)")
    run.add_argument("--budget", type=float, default=100.0,
                     help="virtual time, in full trainings across the workers (schedulers)")
    run.add_argument("--out", default="benchmark-results",
                     help="folder for the plots, the regret curves (CSV) and summary.md")
    report = commands.add_parser(
        "report", help="the Markdown table of the regret curves a run wrote (no rerun)")
    report.add_argument("--out", default="benchmark-results", help="the folder `run` wrote")
    report.add_argument("--evaluations", default="50,100,200",
                        help="trials after which regret is read (searchers)")
    report.add_argument("--seconds", default="",
                        help="virtual seconds at which regret is read (schedulers' curves)")
    report.add_argument("--pairs", action="store_true",
                        help="only ours against its Optuna peer, one row per benchmark")
    return parser


def _names(text: str, known: Sequence[str], what: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise SystemExit(f"unknown {what} {unknown or text!r}: pick from {', '.join(known)}")
    return names


def _table(frame: pd.DataFrame) -> pd.DataFrame:
    """`summary`'s frame as one 'median [q1, q3]' cell per method and point."""
    points = list(dict.fromkeys(column[0] for column in frame.columns))

    def cell(method: Any, point: str) -> str:
        q1, median, q3 = (float(frame.loc[method, (point, name)])
                          for name in ("q1", "median", "q3"))
        return f"{median:.3g} [{q1:.3g}, {q3:.3g}]"

    return pd.DataFrame({point: [cell(m, point) for m in frame.index] for point in points},
                        index=frame.index)


def _searcher_methods(names: list[str], peers: bool) -> list[Method]:
    chosen = list(names)
    if peers:
        for name in names:
            chosen += PEERS.get(name, ())
        chosen += ["random"]
    return [SEARCHERS[name] for name in dict.fromkeys(chosen)]


def compare_searchers(benchmark: Benchmark, methods: list[Method], *, seeds: int,
                      evaluations: list[int], multi_objective: bool = False,
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The regret curves of every method and seed (the hypervolume gap with
    `multi_objective`), and their `summary` at `evaluations`."""
    curves = []
    for method in methods:
        reason = method.available(benchmark, multi_objective=multi_objective)
        if reason is not None:
            print(f"  {method.label}: skipped ({reason})")
            continue
        start = time.perf_counter()
        for seed in range(seeds):
            rows = method.run(benchmark, evaluations=max(evaluations), seed=seed,
                              multi_objective=multi_objective)
            curves.append(hypervolume_gap(benchmark, rows) if multi_objective
                          else regret(benchmark, rows))
        print(f"  {method.label}: {seeds} seeds in {time.perf_counter() - start:.1f} s",
              flush=True)
    curve = pd.concat(curves, ignore_index=True)
    return curve, summary(curve, evaluations=evaluations)


def _run(args: argparse.Namespace) -> int:
    names = list(BENCHMARKS) if args.all else _names(args.benchmark, list(BENCHMARKS),
                                                     "benchmark")
    if args.seeds < 1:
        raise SystemExit(f"--seeds must be >= 1, got {args.seeds}")
    os.makedirs(args.out, exist_ok=True)
    from tuner.benchmarks._plot import plot_regret

    tables, summaries = {}, {}
    for name in names:
        benchmark = load(name)
        print(f"{name}:", flush=True)
        if args.scheduler:
            if args.all and benchmark.epochs == 1:
                continue
            curve, frame = compare_schedulers(
                benchmark, _names(args.scheduler, SCHEDULERS[1:], "scheduler"),
                seeds=args.seeds, workers=args.workers, budget=args.budget)
            x, kind = "time", "schedulers"
        elif args.multi_objective:
            if len(benchmark.objectives) < 2:
                if args.all:
                    continue
                raise SystemExit(f"{name} has one objective: --multi-objective needs two")
            evaluations = sorted({int(n) for n in args.evaluations.split(",")})
            methods = _searcher_methods(_names(args.searcher or "tpe,nsga2", list(SEARCHERS),
                                               "searcher"), peers=not args.no_peers)
            curve, frame = compare_searchers(benchmark, methods, seeds=args.seeds,
                                             evaluations=evaluations, multi_objective=True)
            x, kind = "trials", "multi-objective"
        else:
            evaluations = sorted({int(n) for n in args.evaluations.split(",")})
            methods = _searcher_methods(_names(args.searcher or "tpe", list(SEARCHERS),
                                               "searcher"), peers=not args.no_peers)
            curve, frame = compare_searchers(benchmark, methods, seeds=args.seeds,
                                             evaluations=evaluations)
            x, kind = "trials", "searchers"
        stem = os.path.join(args.out, f"{name}-{kind}")
        curve.to_csv(f"{stem}.csv", index=False)
        plot_regret(curve, f"{stem}.png", x=x, title=f"{name}, {args.seeds} seeds")
        tables[name] = _table(frame)
        summaries[name] = frame
        print(tables[name].to_string(), flush=True)
        print(f"  -> {stem}.png, {stem}.csv\n", flush=True)
    if len(tables) > 1:
        print("All benchmarks: median [q1, q3] regret")
        print(pd.concat(tables, names=["benchmark", "method"]).to_string())
    with open(os.path.join(args.out, "summary.md"), "w", encoding="utf-8") as file:
        file.write(markdown_table(summaries) + "\n")
    print(f"-> {os.path.join(args.out, 'summary.md')}")
    return 0


def _report(args: argparse.Namespace) -> int:
    """Rebuild the Markdown table from the regret curves (CSV) in `args.out`."""
    evaluations = [int(n) for n in args.evaluations.split(",") if n.strip()]
    seconds = [float(s) for s in args.seconds.split(",") if s.strip()]
    summaries = {}
    for name in BENCHMARKS:
        for kind in ("searchers", "multi-objective", "schedulers"):
            path = os.path.join(args.out, f"{name}-{kind}.csv")
            if os.path.exists(path):
                curve = pd.read_csv(path)
                summaries[f"{name}" if kind == "searchers" else f"{name} ({kind})"] = summary(
                    curve, evaluations=evaluations if kind != "schedulers" else (),
                    seconds=seconds if kind == "schedulers" else ())
    if not summaries:
        raise SystemExit(f"no regret curves (<benchmark>-searchers.csv) in {args.out!r}: "
                         "run `python -m tuner.benchmarks run --out ...` first")
    print(pairs_table(summaries) if args.pairs else markdown_table(summaries))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        for name in BENCHMARKS:
            benchmark = load(name)
            objectives = ", ".join(f"{o.metric} ({o.mode})" for o in benchmark.objectives)
            print(f"{name:28} {objectives}; {benchmark.epochs} epochs"
                  f"{'; continuous' if benchmark.continuous else ''}")
        print("\nsearchers: " + ", ".join(SEARCHERS))
        print("schedulers: " + ", ".join(SCHEDULERS[1:]))
        return 0
    if args.command == "report":
        return _report(args)
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
