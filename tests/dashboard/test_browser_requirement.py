"""Without a browser the dashboard's browser tests skip, unless TUNER_REQUIRE_BROWSER=1 (CI)
makes that a failure that says how to install one. No browser runs here."""

from __future__ import annotations

import pytest

from tests.dashboard import browser_support


def test_a_missing_chromium_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser_support, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv(browser_support.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"Chromium at /nonexistent/chromium \(apt-get install chromium\)"):
        browser_support.skip_or_fail_without_browser()


def test_a_missing_chromium_fails_when_the_browser_is_required(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser_support, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv(browser_support.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=r"TUNER_REQUIRE_BROWSER=1 requires them: apt-get install chromium"):
        browser_support.skip_or_fail_without_browser()


def test_a_present_browser_neither_skips_nor_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    if browser_support.browser_missing() is not None:
        pytest.skip(str(browser_support.browser_missing()))
    monkeypatch.setenv(browser_support.REQUIRE_ENV, "1")
    browser_support.skip_or_fail_without_browser()  # returns: nothing is missing
