"""Tokens, the Host check, and paths that try to leave the storage root, over real HTTP."""

from __future__ import annotations

import http.client
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tuner.dashboard import serve
from tuner.dashboard._access import check_segment, host_allowed, is_loopback, token_for
from tuner.exceptions import ConfigError

if TYPE_CHECKING:
    from tests.dashboard.conftest import Http
    from tuner.dashboard import Dashboard


def raw_request(board: Dashboard, path: str, headers: dict[str, str] | None = None
                ) -> tuple[int, bytes]:
    """GET with http.client: the path goes out byte for byte (no client-side clean-up)."""
    connection = http.client.HTTPConnection("127.0.0.1", board.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# ---------------------------------------------------------------------------- tokens
@pytest.fixture
def guarded(storage: str) -> Iterator[Dashboard]:
    with serve(storage, port=0, token="s3cret-token") as board:
        yield board


def test_with_a_token_every_request_needs_it(guarded: Dashboard, http: Http) -> None:
    assert guarded.url.endswith("/?token=s3cret-token")
    for path in ("/api/experiments", "/api/experiments/funcs/trials", "/static/app.js",
                 "/static/plotly.min.js", "/api/events", "/favicon.ico"):
        answer = http.raw(guarded.url, path)
        assert answer.status == 401, path
        assert "token required" in answer.json()["error"]
    page = http.raw(guarded.url, "/")  # a person at the bare URL gets a page that says why
    assert page.status == 401 and page.headers["Content-Type"].startswith("text/html")
    assert b"token required" in page.body and b"?token=" in page.body
    assert b"funcs" not in page.body
    wrong = http.raw(guarded.url, "/api/experiments?token=guess")
    assert wrong.status == 401
    assert http.raw(guarded.url, "/api/experiments",
                    {"Authorization": "Bearer s3cret-tokenX"}).status == 401


def test_the_token_works_in_the_url_a_cookie_or_a_bearer_header(guarded: Dashboard,
                                                                 http: Http) -> None:
    first = http.raw(guarded.url, "/api/experiments?token=s3cret-token")
    assert first.status == 200
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("tuner_token=s3cret-token;")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    with_cookie = http.raw(guarded.url, "/api/experiments",
                           {"Cookie": cookie.split(";")[0]})
    assert with_cookie.status == 200 and "Set-Cookie" not in with_cookie.headers
    bearer = http.raw(guarded.url, "/api/experiments/funcs",
                      {"Authorization": "Bearer s3cret-token"})
    assert bearer.status == 200 and bearer.json()["name"] == "funcs"


def test_binding_beyond_loopback_makes_up_a_token(storage: str, http: Http,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with serve(storage, host="0.0.0.0", port=0) as board:
        assert board.token is not None and len(board.token) >= 20
        printed = capsys.readouterr().err
        assert board.token in printed and "token" in printed
        assert http.raw(board.url, "/api/experiments").status == 401
        ok = http.raw(board.url, f"/api/experiments?token={board.token}")
        assert ok.status == 200


def test_token_rules() -> None:
    assert token_for("127.0.0.1", None) == (None, False)
    assert token_for("localhost", None) == (None, False)
    assert token_for("::1", None) == (None, False)
    made, fresh = token_for("0.0.0.0", None)
    assert made and fresh
    assert token_for("10.1.2.3", "t") == ("t", False)
    for bad in ("", " ", "a b", "x;y", "é"):
        with pytest.raises(ConfigError, match=r"token must be letters, digits and -\._~ only"):
            token_for("0.0.0.0", bad)
    assert is_loopback("127.0.0.2") and not is_loopback("192.168.0.1")


def test_without_a_token_only_loopback_host_names_are_answered(board: Dashboard) -> None:
    # A page on evil.example that resolves its name to 127.0.0.1 (DNS rebinding) sends this.
    status, body = raw_request(board, "/api/experiments", {"Host": "evil.example:8000"})
    assert status == 403 and b"localhost or 127.0.0.1" in body
    assert raw_request(board, "/api/experiments", {"Host": f"localhost:{board.port}"})[0] == 200
    assert raw_request(board, "/api/experiments", {"Host": f"[::1]:{board.port}"})[0] == 200
    assert host_allowed("127.0.0.1:80") and not host_allowed(None)


# ---------------------------------------------------------------------------- paths
@pytest.mark.parametrize("path", [
    "/api/experiments/..",
    "/api/experiments/../trials",
    "/api/experiments/%2e%2e",
    "/api/experiments/%2E%2E/trials",
    "/api/experiments/%2e%2e%2f%2e%2e%2fetc",
    "/api/experiments/funcs%2f..%2f..",
    "/api/experiments/%2fetc%2fpasswd",
    "/api/experiments/%5c..%5cwindows",
    "/api/experiments/funcs%00",
    "/api/experiments/funcs/trials/..%2f..%2fpasswd",
    "/api/experiments/funcs/trials/%2fetc%2fpasswd",
    "/api/events?exp=..",
    "/api/events?exp=%2Fetc",
])
def test_paths_cannot_leave_the_root(board: Dashboard, path: str) -> None:
    status, body = raw_request(board, path)
    assert status == 404, (path, body)
    assert b"root" in body or b"no experiment" in body or b"no trial" in body
    assert b"root:x:0" not in body


@pytest.mark.parametrize("path", [
    "/static/../_server.py", "/static/%2e%2e/_server.py", "/static/..%2f_server.py",
    "/static/%2fetc%2fpasswd", "/static//etc/passwd", "/../tuner/dashboard/_server.py",
])
def test_static_files_cannot_leave_the_static_folder(board: Dashboard, path: str) -> None:
    status, body = raw_request(board, path)
    assert status == 404, (path, body)
    assert b"import" not in body and b"root:x:0" not in body


def test_check_segment_rules() -> None:
    assert check_segment(".", "id") == "."
    assert check_segment("runs/exp", "id") == "runs/exp"
    for bad in ("..", "a/../b", "/abs", "a\\b", "a\x00", "", "a//b", "./a", "C:x"):
        with pytest.raises(ValueError, match="not a path inside the storage root"):
            check_segment(bad, "id")


def test_symlinks_out_of_the_root_are_not_followed(storage: str, tmp_path: Path,
                                                   http: Http) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    shutil.copytree(Path(storage, "classes"), root / "classes")
    shutil.copytree(Path(storage, "multi"), outside / "multi")
    # An experiment that is a link out of the root.
    os.symlink(outside / "multi", root / "linked")
    # A trial directory that is a link out of the root, holding another result.json.
    trial_dir = next(p for p in (root / "classes").iterdir() if p.name.startswith("Counter_"))
    secret = outside / "secret_trial"
    shutil.copytree(trial_dir, secret)
    (secret / "result.json").write_text('{"value": 1234.5, "training_iteration": 1}\n')
    shutil.rmtree(trial_dir)
    os.symlink(secret, trial_dir)
    # A link inside the root is fine.
    os.symlink(root / "classes", root / "alias")
    with serve(str(root), port=0) as board:
        ids = [e["id"] for e in http.get(board, "/api/experiments")["experiments"]]
        assert ids == ["alias", "classes"]
        assert "no experiment 'linked'" in http.get(board, "/api/experiments/linked",
                                                    status=404)["error"]
        trial_id = "_".join(trial_dir.name.split("_")[1:])
        answer = http.get(board, f"/api/experiments/classes/trials/{trial_id}")
        assert answer["readable"] is False
        assert all(row.get("value") != 1234.5 for row in answer["history"])
        assert all(c["size_bytes"] is None for c in answer["checkpoints"])
        curves = http.get(board, f"/api/experiments/classes/curves?trials={trial_id}")
        assert curves["curves"][trial_id] == {"x": [], "y": []}
