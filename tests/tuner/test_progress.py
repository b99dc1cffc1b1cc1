"""Live progress: in place in a terminal, plain lines elsewhere, nothing per result by default."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from schedulers import TrialStatus
from tuner._trial import PENDING, RUNNING, TERMINATED, Trial, TrialTable
from tuner.output._progress import BestTracker, StatusReporter, format_duration

ROOT = Path(__file__).resolve().parents[2]
ESC = "\x1b["


def make_table(n: int, running: int) -> tuple[TrialTable, BestTracker]:
    table = TrialTable()
    best = BestTracker("loss", "min")
    for i in range(n):
        trial = Trial(trial_id=f"t{i:03d}", name=f"t{i:03d}", config={"lr": 0.1 * (i + 1)},
                      path=f"/x/t{i:03d}")
        table.add(trial)
        trial.transition(RUNNING, 0.0)
        trial.last_result = {"loss": float(n - i), "training_iteration": i + 1}
        best.update(trial.trial_id, trial.config, trial.last_result)
        if i >= running:
            trial.transition(TERMINATED, 0.0)
    return table, best


def counts(table: TrialTable) -> dict[TrialStatus, int]:
    return {s: table.count(s) for s in TrialStatus}


def test_terminal_redraws_the_table_in_place_at_most_every_refresh() -> None:
    out = io.StringIO()
    table, best = make_table(30, running=2)
    reporter = StatusReporter(2, out=out, terminal=True, total_trials=40, max_rows=5)
    reporter.watch(table)
    reporter.maybe_report(1.0, counts(table), best)
    first = out.getvalue()
    assert ESC not in first  # nothing on screen yet: nothing to erase
    lines = first.splitlines()
    assert lines[0].startswith("[tuner     1.0s] 2 RUNNING, 28 TERMINATED of 40, ~")
    assert "best loss=1 (lr=3)" in lines[0]
    assert lines[1].split() == ["trial", "status", "iter", "loss", "lr"]
    shown = [line.split()[0] for line in lines[2:-1]]
    # The running trials first, then the best finished ones.
    assert shown == ["t000", "t001", "t029", "t028", "t027"]
    assert lines[-1] == "... 25 more trials"

    reporter.maybe_report(1.2, counts(table), best)  # within refresh_s: nothing drawn
    assert out.getvalue() == first
    reporter.maybe_report(1.6, counts(table), best)
    redraw = out.getvalue()[len(first):]
    assert redraw.startswith(f"{ESC}{len(lines)}F{ESC}J")  # up over the old block, erase it
    assert reporter.due_in(1.6) == pytest.approx(0.5)


def test_terminal_lines_that_stay_go_above_the_block() -> None:
    out = io.StringIO()
    table, best = make_table(3, running=3)
    reporter = StatusReporter(3, out=out, terminal=True)
    reporter.watch(table)
    reporter.maybe_report(0.0, counts(table), best)
    reporter.result("t000", {"loss": 0.5, "pid": 1})
    reporter.result("t001", {"loss": 0.25})
    text = out.getvalue()
    # The block is erased once, then both result lines are written; redrawn at the next report.
    assert text.count(f"{ESC}J") == 1
    assert text.endswith("[tuner] t000: loss=0.5\n[tuner] t001: loss=0.25\n")
    assert reporter.due_in(0.1) == 0.0


def test_not_a_terminal_writes_plain_lines_every_period_and_the_table_at_the_end() -> None:
    out = io.StringIO()
    table, best = make_table(4, running=1)
    reporter = StatusReporter(2, out=out, terminal=False, period_s=10.0)
    reporter.watch(table)
    for elapsed in (0.5, 5.0, 10.0, 12.0, 19.0):
        reporter.maybe_report(elapsed, counts(table), best)
        reporter.result("t000", {"loss": 1.0})  # silent below verbose 3
    assert reporter.due_in(19.0) == pytest.approx(1.0)
    reporter.final(25.0, counts(table), best, "/x")
    text = out.getvalue()
    assert ESC not in text
    lines = text.splitlines()
    assert [line[:17] for line in lines[:2]] == ["[tuner    10.0s] ", "[tuner    25.0s] "]
    assert lines[1].endswith("| done")
    assert lines[2].split()[:3] == ["trial", "status", "iter"]
    assert lines[-1] == "[tuner] results in /x"


def test_verbose_0_prints_nothing_and_never_asks_to_wake_the_loop() -> None:
    out = io.StringIO()
    table, best = make_table(2, running=1)
    reporter = StatusReporter(0, out=out, terminal=True)
    reporter.maybe_report(100.0, counts(table), best)
    reporter.trial_error("t0", "trial t0 failed: boom", will_retry=False)
    reporter.final(100.0, counts(table), best, "/x")
    assert out.getvalue() == ""
    assert reporter.due_in(0.0) == float("inf")


def test_time_left_from_the_budget_or_the_finish_rate() -> None:
    reporter = StatusReporter(1, terminal=False, total_trials=10, time_budget_s=100.0)
    done = {TERMINATED: 4, TrialStatus.ERROR: 1, PENDING: 5}
    assert reporter.time_left(50.0, done) == pytest.approx(50.0)  # 5 of 10 done in 50 s
    assert reporter.time_left(90.0, done) == pytest.approx(10.0)  # the budget ends it sooner
    assert StatusReporter(1, terminal=False).time_left(5.0, done) is None
    assert format_duration(59.6) == "1m00s"
    assert format_duration(7300) == "2h01m"


# ---------------------------------------------------------------------------- end to end
_DRIVER = textwrap.dedent("""
    import sys, time
    from tuner import InProcessExecutor, RunConfig, TuneConfig, Tuner, report, uniform

    def train(config):
        for step in range(8):
            time.sleep(0.1)  # 0.8 s a trial: the frames drawn every 0.5 s catch some RUNNING
            report({"loss": config["x"] / (step + 1)})

    Tuner(
        train,
        param_space={"x": uniform(0, 1)},
        tune_config=TuneConfig(metric="loss", mode="min", num_samples=4, seed=3),
        run_config=RunConfig(storage_path=sys.argv[1], name="e", verbose=int(sys.argv[2])),
        executor=InProcessExecutor(max_concurrent=2),
    ).fit()
""")


def run_in_terminal(args: list[str]) -> str:
    """Run the driver with stdout and stderr on a pseudo-terminal; what the terminal received."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", _DRIVER, *args], stdout=slave, stderr=slave,
                            stdin=subprocess.DEVNULL, cwd=ROOT)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_fit_in_a_terminal_updates_in_place(tmp_path: Path) -> None:
    text = run_in_terminal([str(tmp_path), "2"])
    assert re.search(r"\x1b\[\d+F\x1b\[J", text), text  # redrawn in place at least once
    assert not re.search(r"\[tuner\] \w+: ", text)  # no line per result
    final = text.split(f"{ESC}J")[-1]
    assert "4 TERMINATED" in final and "| done" in final and "best loss=" in final


def test_fit_in_a_terminal_shows_trial_rows_and_time_left(tmp_path: Path) -> None:
    text = run_in_terminal([str(tmp_path), "2"])
    frames = text.split(f"{ESC}J")
    assert any(re.search(r"RUNNING.* of 4, ~\d+s left", frame) for frame in frames[:-1]), text
    final = frames[-1].splitlines()
    assert final[1].split() == ["trial", "status", "iter", "loss", "x"]
    rows = [line.split() for line in final[2:6]]
    assert [row[1:3] for row in rows] == [["TERMINATED", "8"]] * 4
    losses = [float(row[3]) for row in rows]
    assert losses == sorted(losses)  # best first


def test_fit_piped_prints_plain_lines_only(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _DRIVER, str(tmp_path), "2"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert ESC not in done.stdout
    lines = done.stdout.splitlines()
    # The run is shorter than the 10 s period: the summary, the final table, and where results are.
    assert "4 TERMINATED" in lines[0] and lines[0].endswith("| done")
    assert lines[-1].startswith("[tuner] results in ")
