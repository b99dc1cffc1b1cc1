"""How fast the dashboard page is at 10,000 trials x 100 results, in headless Chromium.

Builds (or reuses, from --dir) an experiment written by a real `Tuner.fit()` of 10,000 trials
reporting 100 results each (1,000,000 results; about a minute or two on a 2-core machine, with
every default logger on), starts `tuner.dashboard.serve` on it and prints, median of --repeats:

  * first render: from navigating to ``#/e/<experiment>`` (a fresh browser context: nothing
    cached) until the trial table's rows are visible, and until the learning curves are drawn;
  * refresh after an update: one result appended to a shown trial's ``result.json`` (one JSON
    line, as the engine writes it), until the page shows it (the trial's curve one point longer
    and its row's iteration count up), without a reload. Printed from the append, and split
    into the server noticing (append to the page's ``update`` event, a User Timing mark), the
    server answering the page's refetches, and the page drawing; and from the event on (what
    the page is responsible for: its 100 ms debounce, the refetches and the redraw).

Targets: first render < 2 s, refresh < 0.5 s. The appended lines are cut off again at the end,
so the cached experiment stays as built. This machine may be shared and noisy: read the medians.

Needs Debian's Chromium at /usr/bin/chromium and the playwright package (the test extra).

Run: python bench/dashboard.py [--dir /tmp/tuner-dashboard-bench] [--trials 10000]
    [--results 100] [--repeats 5] [--rebuild]
"""

from __future__ import annotations

import os
import sys

# Run as a script, this folder comes first on sys.path (bench/searchers.py would shadow the
# `searchers` package): drop it, and put the repository root there for tests.dashboard.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

from tests.dashboard.browser_support import (  # noqa: E402
    CHROMIUM,
    VIEWPORT,
    browser_missing,
    launch,
)
from tuner import RunConfig, TuneConfig, Tuner, choice, randint, report, uniform  # noqa: E402
from tuner.dashboard import serve  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TARGET_FIRST_RENDER_S = 2.0
TARGET_REFRESH_S = 0.5
MARKER = "bench_complete.json"


def _objective(config: dict[str, Any]) -> None:
    for step in range(1, config["epochs"] + 1):
        report({"loss": (config["x"] - 0.3) ** 2 + 1.0 / step + 0.01 * config["layers"],
                "acc": 1.0 - abs(config["x"] - 0.3) / step})


def build(storage: str, name: str, trials: int, results: int) -> float:
    """A real fit (worker processes, every default logger); returns its wall time."""
    start = time.perf_counter()
    Tuner(
        _objective,
        param_space={"x": uniform(0.0, 1.0), "layers": randint(1, 5),
                     "opt": choice(["adam", "sgd"]), "epochs": results},
        tune_config=TuneConfig(metric="loss", mode="min", num_samples=trials, seed=0),
        run_config=RunConfig(name=name, storage_path=storage, verbose=0),
    ).fit()
    return time.perf_counter() - start


def experiment(storage: str, trials: int, results: int, rebuild: bool) -> tuple[str, str]:
    """The cached experiment's name, and how it came to be (built now / reused)."""
    name = f"bench_{trials}x{results}"
    marker = os.path.join(storage, name, MARKER)
    if not rebuild and os.path.isfile(marker):
        with open(marker) as f:
            info = json.load(f)
        return name, f"reused (built by a real fit in {info['build_s']:.0f} s)"
    if os.path.exists(os.path.join(storage, name)):
        import shutil

        shutil.rmtree(os.path.join(storage, name))
    print(f"building {trials:,} trials x {results} results by a real Tuner.fit() in {storage} ...",
          flush=True)
    seconds = build(storage, name, trials, results)
    with open(marker, "w") as f:
        json.dump({"trials": trials, "results": results, "build_s": seconds}, f)
    return name, f"built now by a real fit in {seconds:.0f} s"


def api(base: str, path: str) -> Any:
    with urllib.request.urlopen(base.rstrip("/") + path, timeout=30) as response:
        return json.loads(response.read())


_RENDERED = """() => {
    const rows = document.querySelectorAll('#trials tbody tr').length;
    if (rows > 0 && window.__rowsAt === undefined) window.__rowsAt = performance.now();
    if (window.Plotly && window.__plotlyAt === undefined) window.__plotlyAt = performance.now();
    const gd = document.querySelector('#curves');
    const drawn = gd && gd.data && gd.data.length > 0 && gd._fullLayout
        && gd.querySelector('.main-svg');
    if (!(rows > 0 && drawn)) return false;
    const curves = performance.getEntriesByType('resource').filter((r) => r.name.includes('/curves?'));
    return [window.__rowsAt, performance.now(), window.__plotlyAt,
            curves.length ? curves[0].responseEnd : null];
}"""


@dataclass
class Render:
    """One first render, in seconds from the navigation's start (performance.timeOrigin)."""

    rows: float  # the table's rows in the document
    drawn: float  # the curves drawn
    plotly: float  # Plotly.js evaluated (window.Plotly defined)
    curves_answered: float  # the /curves answer in


def first_render(browser: Browser, url: str) -> Render:
    """A navigation in a fresh context (nothing cached) until the curves are drawn."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(url, wait_until="commit")
        handle = page.wait_for_function(_RENDERED, polling="raf", timeout=60_000)
        rows_at, drawn_at, plotly_at, curves_at = handle.json_value()
        return Render(rows_at / 1000.0, drawn_at / 1000.0, (plotly_at or drawn_at) / 1000.0,
                      (curves_at or drawn_at) / 1000.0)
    finally:
        context.close()


_SHOWN = """([id, n]) => {
    const gd = document.querySelector('#curves');
    const trace = gd && gd.data && gd.data.find((t) => t.name === id);
    const cell = document.querySelector(`#trials tr[data-id="${id}"] td[data-col="iterations"]`);
    return trace && trace.x.length === n && cell && cell.textContent === String(n)
        ? performance.now() : false;
}"""


@dataclass
class Refresh:
    """One update, in seconds from the append: when the page's event stream got the `update`
    event, when the last answer the page asked for after it arrived, and when it showed."""

    event: float
    answered: float
    shown: float


_TIMINGS = """([t, shown, api]) => {
    const marks = performance.getEntriesByName('tuner-update').filter((m) => m.startTime >= t);
    const event = marks.length ? marks[0].startTime : null;
    const answers = performance.getEntriesByType('resource')
        .filter((r) => event !== null && r.startTime >= event && r.responseEnd <= shown
            && r.name.includes(api))
        .map((r) => r.responseEnd);
    return [event, answers.length ? Math.max(...answers) : null];
}"""


def refreshes(page: Page, base: str, exp: str, repeats: int) -> list[Refresh]:
    """Appends one result to the first row's trial `repeats` times; how long each took to show."""
    trial_id = page.eval_on_selector("#trials tbody tr", "(tr) => tr.dataset.id")
    page.check(f"#trials tbody tr[data-id='{trial_id}'] input.sel")
    quoted = urllib.parse.quote(exp, safe="")
    detail = api(base, f"/api/experiments/{quoted}/trials/{urllib.parse.quote(trial_id, safe='')}")
    result_file = os.path.join(detail["logdir"], "result.json")
    n = len(detail["history"])
    page.wait_for_function(_SHOWN, arg=[trial_id, n], polling="raf", timeout=30_000)
    page.evaluate("performance.setResourceTimingBufferSize(100000)")
    original_size = os.path.getsize(result_file)
    with open(result_file, "rb") as f:
        last = json.loads(f.read().splitlines()[-1])
    out: list[Refresh] = []
    try:
        for _ in range(repeats):
            time.sleep(1.5)  # apart from the previous update's refetches
            n += 1
            last = {**last, "training_iteration": n, "loss": last["loss"] * 0.99,
                    "iterations_since_restore": n, "timestamp": int(time.time())}
            line = (json.dumps(last, separators=(",", ":")) + "\n").encode()
            appended_at = page.evaluate("performance.now()")
            with open(result_file, "ab") as f:
                f.write(line)
            shown_at = page.wait_for_function(_SHOWN, arg=[trial_id, n], polling="raf",
                                              timeout=60_000).json_value()
            event_at, answered_at = page.evaluate(
                _TIMINGS, [appended_at, shown_at, f"/api/experiments/{quoted}"])
            out.append(Refresh(
                event=((event_at or shown_at) - appended_at) / 1000.0,
                answered=((answered_at or shown_at) - appended_at) / 1000.0,
                shown=(shown_at - appended_at) / 1000.0,
            ))
    finally:
        with open(result_file, "r+b") as f:
            f.truncate(original_size)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "tuner-dashboard-bench"),
                        help="where the experiment is built and cached")
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--results", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="build the experiment again")
    args = parser.parse_args()
    if args.trials < 1 or args.results < 1 or args.repeats < 1:
        parser.error(f"--trials, --results and --repeats must be >= 1, got {args.trials}, "
                     f"{args.results}, {args.repeats}")
    missing = browser_missing()
    if missing:
        sys.exit(f"{missing}: apt-get install chromium; pip install playwright")
    os.makedirs(args.dir, exist_ok=True)
    name, how = experiment(args.dir, args.trials, args.results, args.rebuild)
    print(f"experiment: {os.path.join(args.dir, name)} ({args.trials:,} trials x "
          f"{args.results} results; {how})")

    from playwright.sync_api import sync_playwright

    with serve(args.dir, port=0) as board, sync_playwright() as p:
        start = time.perf_counter()
        summary = api(board.url, f"/api/experiments/{urllib.parse.quote(name, safe='')}")
        print(f"server: first answer for the experiment in {time.perf_counter() - start:.2f} s "
              f"({summary['trials']:,} trials)")
        browser = launch(p)
        url = f"{board.url}#/e/{urllib.parse.quote(name, safe='')}"
        first_render(browser, url)  # warm-up: the server's caches, the browser's start
        renders = [first_render(browser, url) for _ in range(args.repeats)]

        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.goto(url)
        page.wait_for_function(_RENDERED, polling="raf", timeout=60_000)
        updates = refreshes(page, board.url, name, args.repeats)
        context.close()
        browser.close()

    def verdict(value: float, target: float) -> str:
        return "meets" if value < target else "MISSES"

    def figures(values: list[float]) -> str:
        return ", ".join(f"{v:.2f}" for v in values)

    med = statistics.median
    print(f"\nmedians of {args.repeats}, headless Chromium ({CHROMIUM}):")
    drawn = med(r.drawn for r in renders)
    print(f"  first render, curves drawn:        {drawn:5.2f} s  target < {TARGET_FIRST_RENDER_S} s: "
          f"{verdict(drawn, TARGET_FIRST_RENDER_S)}  (all: {figures([r.drawn for r in renders])})")
    print("    on the way:")
    print(f"    table rows visible:              {med(r.rows for r in renders):5.2f} s  "
          f"(all: {figures([r.rows for r in renders])})")
    print(f"    the curves' data in:             {med(r.curves_answered for r in renders):5.2f} s  "
          f"(all: {figures([r.curves_answered for r in renders])})")
    print(f"    Plotly.js (4.8 MB) evaluated:    {med(r.plotly for r in renders):5.2f} s  "
          f"(all: {figures([r.plotly for r in renders])})")
    shown = [u.shown for u in updates]
    print(f"  refresh, append to shown:          {med(shown):5.2f} s  target < {TARGET_REFRESH_S} s: "
          f"{verdict(med(shown), TARGET_REFRESH_S)}  (all: {figures(shown)})")
    print("    of which:")
    print(f"    append to the update event:      {med(u.event for u in updates):5.2f} s  "
          f"(the server noticing; all: {figures([u.event for u in updates])})")
    print(f"    event to the last API answer:    {med(u.answered - u.event for u in updates):5.2f} s  "
          f"(the server answering; all: {figures([u.answered - u.event for u in updates])})")
    print(f"    last answer to shown:            {med(u.shown - u.answered for u in updates):5.2f} s  "
          f"(the page drawing; all: {figures([u.shown - u.answered for u in updates])})")
    print("    (the server looks at the files of trials a page shows every 0.2 s, at running ones\n"
          "    every second, and at other finished ones a slice at a time above 2,000 trials; a\n"
          "    running experiment's engine writes its results out every 5 s)")
    page_part = [u.shown - u.event for u in updates]
    print(f"  refresh, update event to shown:    {med(page_part):5.2f} s  target < {TARGET_REFRESH_S} s: "
          f"{verdict(med(page_part), TARGET_REFRESH_S)}  (all: {figures(page_part)})")


if __name__ == "__main__":
    main()
