"""The regret summaries of several benchmarks as one Markdown table (for docs and the README).

One row per benchmark and point (e.g. 50 evaluations), one column per method with its median
regret [first, third quartile]; the lowest median of a row is bold. For each of our searchers
whose Optuna peer ran too, a last column says whether ours is at least as good there, or by how
much its median regret is higher.

Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({("50 evals", "median"): [0.1, 0.2], ("50 evals", "q1"): [0.05, 0.1],
    ...                       ("50 evals", "q3"): [0.2, 0.3]},
    ...                      index=pd.Index(["TPESearch", "Optuna TPESampler"], name="method"))
    >>> print(markdown_table({"branin": frame}))
    | benchmark | at | TPESearch | Optuna TPESampler | ours vs Optuna |
    | --- | --- | --- | --- | --- |
    | branin | 50 evals | **0.1** [0.05, 0.2] | 0.2 [0.1, 0.3] | TPESearch <= |
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

PAIRS = (("TPESearch", "Optuna TPESampler"), ("BayesOptSearch", "Optuna GPSampler"),
         ("NSGA2Search", "Optuna NSGAIISampler"))
"""Ours and the Optuna sampler it is measured against, by their labels."""


def _cell(value: float) -> str:
    return f"{value:.3g}"


def markdown_table(summaries: Mapping[str, pd.DataFrame]) -> str:
    """`summaries` (benchmark -> `tuner.benchmarks.summary`'s frame) as a Markdown table."""
    methods = list(dict.fromkeys(m for frame in summaries.values() for m in frame.index))
    pairs = [(ours, peer) for ours, peer in PAIRS if ours in methods and peer in methods]
    header = ["benchmark", "at", *methods] + (["ours vs Optuna"] if pairs else [])
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---"] * len(header)) + " |"]
    for benchmark, frame in summaries.items():
        for point in dict.fromkeys(column[0] for column in frame.columns):
            medians = {m: float(frame.loc[m, (point, "median")]) for m in frame.index}
            best = min(medians.values())
            cells = []
            for method in methods:
                if method not in medians:
                    cells.append("")
                    continue
                median = medians[method]
                text = _cell(median)
                if median == best:
                    text = f"**{text}**"
                q1, q3 = (float(frame.loc[method, (point, q)]) for q in ("q1", "q3"))
                cells.append(f"{text} [{_cell(q1)}, {_cell(q3)}]")
            verdicts = []
            for ours, peer in pairs:
                if ours in medians and peer in medians:
                    a, b = medians[ours], medians[peer]
                    verdicts.append(f"{ours} <=" if a <= b else
                                    f"{ours} +{(a - b) / b:.0%}" if b > 0 else f"{ours} >")
            row = [benchmark, point, *cells] + (["; ".join(verdicts)] if pairs else [])
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def pairs_table(summaries: Mapping[str, pd.DataFrame]) -> str:
    """One row per benchmark and pair of `PAIRS` that ran on it, one column per point: the two
    median regrets, ours first, in bold where ours is at least as good.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({("50 evals", "median"): [0.1, 0.2]},
        ...                      index=pd.Index(["TPESearch", "Optuna TPESampler"]))
        >>> print(pairs_table({"branin": frame}))
        | benchmark | ours vs Optuna | 50 evals |
        | --- | --- | --- |
        | branin | TPESearch vs TPESampler | **0.1** vs 0.2 |
    """
    points = list(dict.fromkeys(column[0] for frame in summaries.values()
                                for column in frame.columns))
    header = ["benchmark", "ours vs Optuna", *points]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---"] * len(header)) + " |"]
    for benchmark, frame in summaries.items():
        for ours, peer in PAIRS:
            if ours not in frame.index or peer not in frame.index:
                continue
            cells = []
            for point in points:
                a, b = (float(frame[(point, "median")][m]) for m in (ours, peer))
                cells.append(f"**{_cell(a)}** vs {_cell(b)}" if a <= b
                             else f"{_cell(a)} vs {_cell(b)}")
            label = f"{ours} vs {peer.removeprefix('Optuna ')}"
            lines.append("| " + " | ".join([benchmark, label, *cells]) + " |")
    return "\n".join(lines)
