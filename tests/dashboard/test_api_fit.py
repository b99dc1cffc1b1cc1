"""The dashboard beside a running `fit()` (`RunConfig(dashboard=...)`) and as `tuner dashboard`."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tuner import InProcessExecutor, RunConfig, TuneConfig, Tuner, grid_search, report
from tuner.exceptions import ConfigError

if TYPE_CHECKING:
    from tests.dashboard.conftest import Http

ROOT = Path(__file__).resolve().parents[2]
RELEASE = threading.Event()
_URL = re.compile(r"\[tuner\] dashboard: (http://\S+)")


def held(config: dict[str, Any]) -> None:
    """Reports twice, then waits for the test to let it finish."""
    for step in range(1, 4):
        report({"loss": config["x"] / step})
        if step == 2:
            RELEASE.wait(60)


def quick(config: dict[str, Any]) -> None:
    report({"loss": config["x"]})


def tuner_with(storage: Path, dashboard: bool | int, trainable: Any = quick) -> Tuner:
    return Tuner(
        trainable,
        param_space={"x": grid_search([1.0, 2.0])},
        tune_config=TuneConfig(metric="loss", mode="min"),
        run_config=RunConfig(storage_path=str(storage), name="live", verbose=0,
                             dashboard=dashboard, experiment_checkpoint_period_s=0.2),
        executor=InProcessExecutor(max_concurrent=2),
    )


def refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=5).close()
    except urllib.error.URLError as error:
        return isinstance(error.reason, ConnectionRefusedError)
    return False


def test_run_config_dashboard_serves_the_running_fit_and_stops_with_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], http: Http
) -> None:
    RELEASE.clear()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            tuner_with(tmp_path, 0, held).fit()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    fit = threading.Thread(target=run, daemon=True)
    fit.start()
    printed: list[str] = []

    def url() -> str | None:
        printed.append(capsys.readouterr().err)
        found = _URL.search("".join(printed))
        return found.group(1) if found else None

    try:
        link = http.wait_for(url)
        assert link.endswith("/#/e/live")
        base = link.split("#")[0]

        def running_rows() -> list[dict[str, Any]] | None:
            answer = http.raw(base, "/api/experiments/live/trials")
            rows = answer.json()["rows"] if answer.status == 200 else []
            ok = len(rows) == 2 and all(
                r["status"] == "RUNNING" and r["iterations"] == 2 for r in rows)
            return rows if ok else None

        rows = http.wait_for(running_rows, timeout=30)
        assert sorted(r["config"]["x"] for r in rows) == [1.0, 2.0]
        (summary,) = http.raw(base, "/api/experiments").json()["experiments"]
        assert summary["status"] == "running" and summary["counts"]["RUNNING"] == 2
        assert summary["live"] is True
        curves = http.raw(base, "/api/experiments/live/curves").json()["curves"]
        assert sorted(len(c["y"]) for c in curves.values()) == [2, 2]
    finally:
        RELEASE.set()
        fit.join(timeout=60)
    assert not fit.is_alive() and failures == []
    assert refused(base + "api/experiments")  # closed when fit returned


def test_dashboard_true_prints_a_url_and_closes(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    tuner_with(tmp_path, True).fit()
    found = _URL.search(capsys.readouterr().err)
    assert found is not None
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/#/e/live", found.group(1))
    assert refused(found.group(1).split("#")[0])


def test_a_taken_port_is_a_config_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"port {port} is in use: pass another port"):
            tuner_with(tmp_path, port).fit()


@pytest.mark.parametrize("value", [-1, 70000, "yes", 1.5, None])
def test_bad_dashboard_settings_are_refused(value: Any) -> None:
    with pytest.raises(ConfigError, match=r"RunConfig\(dashboard\) must be True, False or a port"):
        RunConfig(dashboard=value)


def test_off_the_dashboard_is_never_imported(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import tuner\n"
        "assert 'tuner.dashboard' not in sys.modules, 'import tuner loaded it'\n"
        "from tuner import InProcessExecutor, RunConfig, TuneConfig, Tuner, report\n"
        "def f(config):\n"
        "    report({'loss': 1.0})\n"
        f"Tuner(f, run_config=RunConfig(storage_path={str(tmp_path)!r}, verbose=0),\n"
        "      executor=InProcessExecutor()).fit()\n"
        "print(sorted(m for m in sys.modules if m.startswith('tuner.dashboard')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


# ---------------------------------------------------------------------------- the command
def _default_sigint() -> None:
    # A test run started in the background of a shell (`nohup ... &`, as CI may be) has SIGINT
    # ignored, and a child inherits that: Python then installs no KeyboardInterrupt handler.
    # The command is tested as a terminal runs it, with Ctrl-C's default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tuner.analysis._cli", "dashboard", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        preexec_fn=_default_sigint)


def stop_cli(process: subprocess.Popen[str], how: signal.Signals) -> tuple[int, str]:
    process.send_signal(how)
    _, err = process.communicate(timeout=30)
    return process.returncode, err


def test_the_command_serves_until_interrupted(storage: str, http: Http) -> None:
    process = start_cli(storage, "--port", "0")
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first == f"tuner dashboard: 5 experiments under {storage}\n"
        second = process.stdout.readline()
        found = re.fullmatch(r"open (http://127\.0\.0\.1:\d+/)  \(Ctrl-C to stop\)\n", second)
        assert found, second
        url = found.group(1)
        ids = [e["id"] for e in http.raw(url, "/api/experiments").json()["experiments"]]
        assert ids == ["classes", "funcs", "multi", "pbt", "restored"]
        page = http.raw(url, "/")
        assert page.status in (200, 404)  # 404 until the page (static/index.html) exists
    finally:
        code, err = stop_cli(process, signal.SIGINT)
    assert code == 0, err
    assert refused(url + "api/experiments")


def test_the_command_beyond_loopback_prints_and_requires_a_token(storage: str,
                                                                  http: Http) -> None:
    process = start_cli(storage, "--host", "0.0.0.0", "--port", "0")
    try:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.readline()
        second = process.stdout.readline()
        found = re.search(r"open (http://127\.0\.0\.1:(\d+)/\?token=(\S+))", second)
        assert found, second
        url, token = found.group(1), found.group(3)
        warning = process.stderr.readline()
        assert token in warning and "beyond this machine" in warning
        assert http.raw(url.split("?")[0], "/api/experiments").status == 401
        answer = http.raw(url, f"/api/experiments?token={token}")
        assert answer.status == 200 and len(answer.json()["experiments"]) == 5
    finally:
        code, err = stop_cli(process, signal.SIGTERM)
    assert code == 0, err


def test_the_command_with_a_token(storage: str, http: Http) -> None:
    process = start_cli(str(Path(storage, "funcs")), "--port", "0", "--token", "abc")
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("tuner dashboard: 1 experiment under ")
        found = re.search(r"open (http://\S+)", process.stdout.readline())
        assert found and found.group(1).endswith("/?token=abc")
        assert http.raw(found.group(1), "/api/experiments").status == 401
        answer = http.raw(found.group(1), "/api/experiments/funcs?token=abc")
        assert answer.status == 200 and json.loads(answer.body)["name"] == "funcs"
    finally:
        code, err = stop_cli(process, signal.SIGINT)
    assert code == 0, err


def test_the_command_with_a_missing_root_is_a_one_line_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tuner.analysis._cli", "dashboard", str(tmp_path / "nope")],
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("tuner: error: no directory at ")
    assert len(done.stderr.splitlines()) == 1
