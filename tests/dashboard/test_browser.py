"""The dashboard page in a real browser: headless Debian Chromium driven by Playwright, against
the real server (`tuner.dashboard.serve`) reading experiments written by real `Tuner.fit()` runs.

Without Chromium or playwright these tests skip; with TUNER_REQUIRE_BROWSER=1 (CI) they fail.
They save the screenshots of docs/img/dashboard_*.png.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.dashboard.browser_support import (
    VIEWPORT,
    build_checkpointed,
    build_multi_objective,
    build_pbt,
    build_sweep,
    configs_of,
    launch,
    plot_traces,
    results_of,
    row_ids,
    skip_or_fail_without_browser,
    slow_fit,
    table_column,
    wait_for_traces,
)
from tuner import Checkpoint
from tuner.dashboard import Dashboard, serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
ITERATIONS_ARE = "(n) => document.querySelector(\"#trials td[data-col='iterations']\")?.textContent === n"


@dataclass(frozen=True)
class Experiments:
    root: str
    sweep: str  # 1,000 trials x 3 results
    checkpointed: str  # 3 trials with checkpoints, one failing
    multi: str  # two objectives
    pbt: str  # Population Based Training


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    skip_or_fail_without_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = launch(playwright)
    yield b
    b.close()


@pytest.fixture(scope="module")
def experiments(tmp_path_factory: pytest.TempPathFactory) -> Experiments:
    root = str(tmp_path_factory.mktemp("browser") / "storage")
    return Experiments(root=root, sweep=build_sweep(root), checkpointed=build_checkpointed(root),
                       multi=build_multi_objective(root), pbt=build_pbt(root))


@pytest.fixture(scope="module")
def dash(experiments: Experiments) -> Iterator[Dashboard]:
    with serve(experiments.root, port=0) as board:
        yield board


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context (no cookies); fails the test on any uncaught error or
    console.error of the page (but the browser's own line for each 4xx answer)."""
    context = browser.new_context(viewport=VIEWPORT,
                                  permissions=["clipboard-read", "clipboard-write"])
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    pg.on("console", lambda m: errors.append(f"console.error: {m.text}")
          if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    yield pg
    context.close()
    assert errors == []


def n_rows(page: Page, n: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('#trials tbody tr').length === {n}")


def first_row_is(page: Page, trial_id: str) -> None:
    page.wait_for_function("(id) => document.querySelector('#trials tbody tr')?.dataset.id === id",
                           arg=trial_id)


def screenshot(page: Page, name: str, height: int = VIEWPORT["height"]) -> None:
    """Saves the top `height` pixels of the page as docs/img/<name>."""
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(DOCS_IMG / name),
                    clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height},
                    full_page=True)


# ---------------------------------------------------------------------- experiments list


def test_experiments_page_lists_every_experiment_with_its_counts(
        browser: Browser, page: Page, dash: Dashboard, experiments: Experiments) -> None:
    page.goto(dash.url)
    page.wait_for_selector("#experiments tbody tr")
    ids = page.eval_on_selector_all("#experiments tbody tr", "(trs) => trs.map((tr) => tr.dataset.exp)")
    assert sorted(ids) == ["checkpointed", "pbt", "sweep", "two_objectives"]
    sweep = page.locator("#experiments tbody tr[data-exp='sweep']")
    assert sweep.locator("td").nth(2).inner_text() == "1,000"
    assert "1,000 TERMINATED" in sweep.inner_text()
    assert "loss (min)" in sweep.inner_text()
    failing = page.locator("#experiments tbody tr[data-exp='checkpointed']").inner_text()
    assert "2 TERMINATED" in failing and "1 ERROR" in failing
    page.wait_for_selector("#live[data-state='live']")  # the event stream is open
    screenshot(page, "dashboard_experiments.png")

    page.click("#experiments a.exp-link:text-is('sweep')")
    n_rows(page, 50)
    assert page.evaluate("location.hash") == "#/e/sweep"


def test_unknown_experiments_trials_and_pages_say_so(
        browser: Browser, page: Page, dash: Dashboard) -> None:
    page.goto(dash.url + "#/e/no-such-experiment")
    page.wait_for_selector(".message.error h2")
    assert page.inner_text(".message.error h2") == "Not found"
    assert "no-such-experiment" in page.inner_text(".message.error")
    page.evaluate("location.hash = '#/e/sweep/t/no-such-trial'")
    page.wait_for_function("document.querySelector('.message.error')?.textContent.includes('no-such-trial')")
    assert page.inner_text(".message.error h2") == "Not found"
    page.evaluate("location.hash = '#/nowhere'")
    page.wait_for_function("document.querySelector('.message.error h2')?.textContent === 'Unknown page'")
    page.click(".message.error a")  # back to the experiments
    page.wait_for_selector("#experiments tbody tr")


# ---------------------------------------------------------------------- the trial table


@pytest.mark.slow
def test_trial_table_is_paged_and_sorts_by_the_clicked_header(
        browser: Browser, page: Page, dash: Dashboard, experiments: Experiments) -> None:
    configs = configs_of(experiments.sweep)
    results = results_of(experiments.sweep)
    assert len(configs) == 1000
    page.goto(dash.url + "#/e/sweep")
    n_rows(page, 50)
    assert page.inner_text("#page-info") == "Page 1 of 20 · 1\u201350 of 1,000 trials"
    first_page = row_ids(page)
    assert len(set(first_page)) == 50 and set(first_page) <= set(configs)

    page.click("#pager button:has-text('Next')")
    page.wait_for_function("document.querySelector('#page-info').textContent.startsWith('Page 2 of 20')")
    second_page = row_ids(page)
    assert len(second_page) == 50 and not set(second_page) & set(first_page)

    # Sorting goes back to the first page; the first row is the smallest x of all 1,000.
    by_x = sorted(configs, key=lambda t: configs[t]["x"])
    page.click("#trials th[data-col='config/x']")
    first_row_is(page, by_x[0])
    assert page.inner_text("#page-info").startswith("Page 1 of 20")
    assert row_ids(page) == by_x[:50]
    shown = [float(v) for v in table_column(page, "#trials", "config/x")]
    assert shown == sorted(shown)
    assert page.get_attribute("#trials th[data-col='config/x']", "aria-sort") == "ascending"

    page.click("#trials th[data-col='config/x']")
    first_row_is(page, by_x[-1])
    assert row_ids(page) == by_x[::-1][:50]
    assert page.get_attribute("#trials th[data-col='config/x']", "aria-sort") == "descending"

    by_loss = sorted(results, key=lambda t: results[t][-1]["loss"])
    page.click("#trials th[data-col='last/loss']")
    first_row_is(page, by_loss[0])
    assert row_ids(page) == by_loss[:50]

    # The filter box and the page size.
    sgd = sorted(t for t, c in configs.items() if c["opt"] == "sgd")
    page.fill("#filter", "sgd")
    page.wait_for_function("(n) => document.querySelector('#page-info').textContent.endsWith(`of ${n} trials`)",
                           arg=f"{len(sgd):,}")
    assert set(row_ids(page)) <= set(sgd)
    assert row_ids(page) == sorted(sgd, key=lambda t: results[t][-1]["loss"])[:50]
    page.select_option("#page-size", "200")
    n_rows(page, min(200, len(sgd)))


def test_status_filter_and_errors_panel_show_the_failed_trial(
        browser: Browser, page: Page, dash: Dashboard, experiments: Experiments) -> None:
    configs = configs_of(experiments.checkpointed)
    failed = next(t for t, c in configs.items() if c["lr"] == 0.001)
    page.goto(dash.url + "#/e/checkpointed")
    n_rows(page, 3)
    page.select_option("#status-filter", "ERROR")
    n_rows(page, 1)
    assert row_ids(page) == [failed]
    page.select_option("#status-filter", "RUNNING")
    page.wait_for_selector("#trials-empty:not([hidden])")
    assert "No trials match status RUNNING" in page.inner_text("#trials-empty")

    page.click(".tabs button[data-tab='errors']")
    page.wait_for_selector(".error-item")
    items = page.eval_on_selector_all(".error-item", "(els) => els.map((e) => e.dataset.id)")
    assert items == [failed]
    assert "loss diverged at step 3 with lr=0.001" in page.inner_text(".error-item")
    page.click(".error-item details summary")
    trace = page.inner_text(".error-item pre.traceback")
    assert "Traceback" in trace and "ValueError: loss diverged at step 3" in trace


# ---------------------------------------------------------------------- learning curves


@pytest.mark.slow
def test_learning_curves_draw_the_selected_trials(
        browser: Browser, page: Page, dash: Dashboard, experiments: Experiments) -> None:
    results = results_of(experiments.sweep)
    page.goto(dash.url + "#/e/sweep")
    n_rows(page, 50)
    ids = row_ids(page)
    # Nothing ticked: the first five rows of the page.
    wait_for_traces(page, "#curves", ids[:5], [3] * 5)

    for trial_id in (ids[7], ids[2]):
        page.check(f"#trials tbody tr[data-id='{trial_id}'] input.sel")
    wait_for_traces(page, "#curves", [ids[7], ids[2]], [3, 3])
    traces = plot_traces(page, "#curves")
    assert [t["type"] for t in traces] == ["scattergl", "scattergl"]
    for trace, trial_id in zip(traces, [ids[7], ids[2]], strict=True):
        assert trace["x"] == [r["training_iteration"] for r in results[trial_id]] == [1, 2, 3]
        assert trace["y"] == [r["loss"] for r in results[trial_id]]
    assert page.inner_text("#selection-note") == "2 selected"

    page.check("#curve-log")
    page.wait_for_function("document.querySelector('#curves')._fullLayout.yaxis.type === 'log'")
    page.select_option("#curve-metric", "acc")
    page.wait_for_function("document.querySelector('#curves')._fullLayout.yaxis.title.text === 'acc'")
    traces = plot_traces(page, "#curves")
    assert [t["y"] for t in traces] == [[r["acc"] for r in results[t]] for t in (ids[7], ids[2])]
    page.select_option("#curve-metric", "loss")
    page.uncheck("#curve-log")
    page.wait_for_function("document.querySelector('#curves')._fullLayout.yaxis.type === 'linear'")

    # The selection survives paging; unticking takes a curve away.
    page.click("#pager button:has-text('Next')")
    page.wait_for_function("document.querySelector('#page-info').textContent.startsWith('Page 2')")
    page.click("#pager button:has-text('Prev')")
    page.wait_for_function("document.querySelector('#page-info').textContent.startsWith('Page 1')")
    assert page.is_checked(f"#trials tbody tr[data-id='{ids[2]}'] input.sel")
    page.uncheck(f"#trials tbody tr[data-id='{ids[7]}'] input.sel")
    wait_for_traces(page, "#curves", [ids[2]], [3])
    page.check(f"#trials tbody tr[data-id='{ids[7]}'] input.sel")
    page.check(f"#trials tbody tr[data-id='{ids[4]}'] input.sel")
    wait_for_traces(page, "#curves", [ids[2], ids[7], ids[4]], [3, 3, 3])
    screenshot(page, "dashboard_experiment.png", height=1560)


@pytest.mark.slow
def test_scatter_parallel_coordinates_and_importance_panels(
        browser: Browser, page: Page, dash: Dashboard, experiments: Experiments) -> None:
    configs = configs_of(experiments.sweep)
    results = results_of(experiments.sweep)
    page.goto(dash.url + "#/e/sweep")
    n_rows(page, 50)
    # Scatter (the first tab): one marker per trial, config x against the last loss.
    page.wait_for_function("document.querySelector('#panel-chart')?.data?.[0]?.x?.length === 1000")
    trace = plot_traces(page, "#panel-chart")[0]
    got = sorted(zip(trace["x"], trace["y"], strict=True))
    assert got == sorted((configs[t]["x"], results[t][-1]["loss"]) for t in configs)

    page.click(".tabs button[data-tab='parallel']")
    page.wait_for_function("document.querySelector('#panel-chart')?.data?.[0]?.type === 'parcoords'")
    dims = page.evaluate("document.querySelector('#panel-chart').data[0].dimensions.map((d) => [d.label, d.values.length])")
    assert sorted(label for label, _ in dims[:-1]) == ["layers", "opt", "x"]
    assert dims[-1] == ["loss", 1000] and all(n == 1000 for _, n in dims)

    page.click(".tabs button[data-tab='importance']")
    page.wait_for_function("document.querySelector('#panel-chart')?.data?.[0]?.type === 'bar'")
    bars = page.evaluate("(() => { const t = document.querySelector('#panel-chart').data[0]; return [Array.from(t.y), Array.from(t.x)]; })()")
    params, importances = bars
    assert sorted(params) == ["layers", "opt", "x"]
    assert params[-1] == "x"  # drawn bottom-up: the most important on top
    assert math.isclose(sum(importances), 1.0, rel_tol=1e-6)


def test_pareto_front_and_pbt_lineage(
        browser: Browser, page: Page, dash: Dashboard, experiments: Experiments) -> None:
    results = results_of(experiments.multi)
    last = {t: (r[-1]["loss"], r[-1]["latency"]) for t, r in results.items()}
    front = {t for t, v in last.items()
             if not any(w[0] <= v[0] and w[1] <= v[1] and w != v for w in last.values())}
    page.goto(dash.url + "#/e/two_objectives")
    page.wait_for_selector("#pareto-front tbody tr")
    shown = page.eval_on_selector_all("#pareto-front tbody tr td:first-child", "(tds) => tds.map((td) => td.textContent)")
    assert set(shown) == front
    traces = plot_traces(page, "#panel-chart")
    assert [t["name"] for t in traces] == ["dominated", "Pareto front"]
    assert len(traces[1]["x"]) == len(front) and len(traces[0]["x"]) == len(last) - len(front)

    policy = (Path(experiments.pbt) / "pbt_policy.jsonl").read_text().splitlines()
    assert policy  # PBT did perturb
    page.goto(dash.url + "#/e/pbt")
    page.click(".tabs button[data-tab='lineage']")
    page.wait_for_selector("#lineage tbody tr")
    assert page.locator("#lineage tbody tr").count() == len(policy)
    assert "lr" in page.inner_text("#lineage tbody")


# ---------------------------------------------------------------------- one trial


def test_trial_page_shows_config_history_and_checkpoints_to_copy(
        browser: Browser, page: Page, dash: Dashboard, experiments: Experiments) -> None:
    configs = configs_of(experiments.checkpointed)
    results = results_of(experiments.checkpointed)
    trial_id = next(t for t, c in configs.items() if c["lr"] == 0.1)
    page.goto(dash.url + "#/e/checkpointed")
    n_rows(page, 3)
    page.click(f"#trials a:text-is('{trial_id}')")
    page.wait_for_selector("#config-table")
    config_rows = page.eval_on_selector_all("#config-table tr", "(trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent])")
    assert sorted(config_rows) == [["lr", "0.1"], ["model/depth", "2"], ["model/width", "64"]]

    page.wait_for_selector("#history tbody tr")
    assert page.locator("#history tbody tr").count() == len(results[trial_id]) == 5
    wait_for_traces(page, "#trial-curve", [trial_id], [5])
    assert plot_traces(page, "#trial-curve")[0]["y"] == [r["loss"] for r in results[trial_id]]

    # Two checkpoints kept: those of the lowest loss (the last two steps).
    paths = page.eval_on_selector_all("#checkpoints code.path", "(els) => els.map((e) => e.textContent)")
    assert len(paths) == 2
    for p in paths:
        assert Path(p).is_dir() and Path(p).parent.name.endswith(trial_id)
    assert sorted(Path(p, "weights.txt").read_text().split()[1] for p in paths) == ["step=4", "step=5"]
    screenshot(page, "dashboard_trial.png")

    page.click("#checkpoints button.copy >> nth=0")
    page.wait_for_function("document.querySelector('#checkpoints button.copy').textContent === 'Copied'")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f'Checkpoint.from_directory("{paths[0]}")'
    loaded = eval(copied, {"Checkpoint": Checkpoint})  # the snippet is valid Python
    with loaded.as_directory() as d:
        assert Path(d, "weights.txt").read_text() == Path(paths[0], "weights.txt").read_text()


def test_failed_trial_page_shows_its_traceback(
        browser: Browser, page: Page, dash: Dashboard, experiments: Experiments) -> None:
    configs = configs_of(experiments.checkpointed)
    failed = next(t for t, c in configs.items() if c["lr"] == 0.001)
    page.goto(dash.url + f"#/e/checkpointed/t/{failed}")
    page.wait_for_selector("#traceback")
    assert "ERROR" in page.inner_text("#trial-head")
    assert "ValueError: loss diverged at step 3 with lr=0.001" in page.inner_text("#traceback")
    assert page.locator("#history tbody tr").count() == 2


# ---------------------------------------------------------------------- live updates


@pytest.mark.slow
def test_a_running_fit_shows_up_live_without_a_reload(
        browser: Browser, page: Page, tmp_path: Path) -> None:
    root = tmp_path / "live_root"
    root.mkdir()
    with serve(str(root), port=0) as board:
        page.goto(board.url)
        page.wait_for_selector("#no-experiments")
        page.evaluate("window.__sameDocument = 'yes'")
        with slow_fit(str(root), name="live", total=6) as fit:
            # The experiment appears in the list, then its trial with its first result.
            page.wait_for_selector("#experiments tr[data-exp='live']", timeout=30_000)
            page.click("#experiments a.exp-link")
            page.wait_for_function(ITERATIONS_ARE, arg="1", timeout=30_000)
            (trial_id,) = row_ids(page)
            page.check(f"#trials tbody tr[data-id='{trial_id}'] input.sel")
            page.click("#trials th[data-col='last/loss']")  # a sort to keep
            wait_for_traces(page, "#curves", [trial_id], [1])

            fit.release(2)
            wait_for_traces(page, "#curves", [trial_id], [3], timeout_ms=30_000)
            assert plot_traces(page, "#curves")[0]["y"] == [2.0, 1.0, 2.0 / 3.0]
            page.wait_for_function(ITERATIONS_ARE, arg="3", timeout=10_000)
            assert table_column(page, "#trials", "last/loss") == ["0.66667"]
            # Same document, same choices: the tick, the sort.
            assert page.evaluate("window.__sameDocument") == "yes"
            assert page.is_checked(f"#trials tbody tr[data-id='{trial_id}'] input.sel")
            assert page.get_attribute("#trials th[data-col='last/loss']", "aria-sort") == "ascending"
            fit.release(3)
        wait_for_traces(page, "#curves", [trial_id], [6], timeout_ms=30_000)
        page.wait_for_function("document.querySelector('#exp-head').textContent.includes('FINISHED')",
                               timeout=30_000)


# ---------------------------------------------------------------------- the token


def test_a_token_protected_server_works_with_the_token_in_the_url(
        browser: Browser, page: Page, experiments: Experiments) -> None:
    with serve(experiments.root, port=0, token="s3cret-t0ken") as board:
        assert board.url.endswith("?token=s3cret-t0ken")
        page.goto(board.url)
        page.wait_for_selector("#experiments tbody tr")
        assert page.locator("#experiments tbody tr").count() == 4
        page.wait_for_selector("#live[data-state='live']")  # the event stream got in too
        page.click("#experiments a.exp-link:text-is('sweep')")
        n_rows(page, 50)
        wait_for_traces(page, "#curves", row_ids(page)[:5], [3] * 5)


def test_the_page_says_token_required_when_the_server_refuses_its_token(
        browser: Browser, page: Page, experiments: Experiments) -> None:
    # The page is open with one token; the server comes back on the same port with another.
    with serve(experiments.root, port=0, token="first-token") as board:
        port = board.port
        page.goto(board.url)
        page.wait_for_selector("#experiments tbody tr")
    with serve(experiments.root, port=port, token="second-token"):
        page.evaluate("location.hash = '#/e/sweep'")
        page.wait_for_selector(".token-required")
        text = page.inner_text(".token-required")
        assert "token required" in text and "?token=" in text
        assert page.locator("#trials").count() == 0


def test_the_bare_url_of_a_token_protected_server_says_token_required(
        browser: Browser, page: Page, experiments: Experiments) -> None:
    # The server answers the page itself with its own 401 page, which says so.
    with serve(experiments.root, port=0, token="s3cret-t0ken") as board:
        page.goto(board.url.split("?")[0] + "#/e/sweep")
        page.wait_for_selector(".token-required")
        assert "token required" in page.inner_text(".token-required")
        page.goto(board.url + "#/e/sweep")
        n_rows(page, 50)


# ---------------------------------------------------------------------- a root that is one experiment


def test_a_root_that_is_one_experiment_opens(
        browser: Browser, page: Page, experiments: Experiments) -> None:
    with serve(experiments.checkpointed, port=0) as board:
        page.goto(board.url)
        page.wait_for_selector("#experiments tbody tr")
        page.click("#experiments a.exp-link")
        page.wait_for_selector("#trials tbody tr, .message.error:not([hidden])")
        assert page.locator(".message.error:not([hidden])").count() == 0
        n_rows(page, 3)
        assert page.evaluate("location.hash") == "#/e/checkpointed"
        page.click("#trials tbody tr a >> nth=0")
        page.wait_for_selector("#config-table")
