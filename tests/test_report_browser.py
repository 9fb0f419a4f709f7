"""report.html in headless Chromium at 1280 px: no console errors, every image loads, no horizontal scroll, and a
screenshot is saved (``CLUSTERECON_ARTIFACTS``, default the test's tmp folder; ``.ci/run`` keeps it).

Skips only outside CI when Chromium (Debian package ``chromium``) is absent; under ``CI=true`` it must run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_check import check_page, chromium, problems

from clusterecon.cli import main


def _need_chromium() -> None:
    if chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required under CI=true (Debian: apt-get install chromium)")
        pytest.skip("chromium not installed")
    if os.environ.get("CI") == "true":
        import websockets  # noqa: F401 - the test extra must have it in CI
    else:
        pytest.importorskip("websockets")


def test_report_html_in_a_browser(tmp_path, capsys):
    _need_chromium()
    out = tmp_path / "report"
    assert main(["analyse", "--sample", "survey", "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    shots = Path(os.environ.get("CLUSTERECON_ARTIFACTS", tmp_path))
    found = check_page(out / "report.html", shots / "report_1280.png")
    assert found["images"] >= 1, found
    assert not problems(found), problems(found)
    assert (shots / "report_1280.png").stat().st_size > 10_000


def test_the_check_sees_a_broken_page(tmp_path):
    """Not vacuous: a missing image, a script error and a too-wide table are all reported."""
    _need_chromium()
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><img src="missing.png"><script>undefined_function()</script>'
                    '<table style="width:3000px"><tr><td>x</td></tr></table></body></html>', encoding="utf-8")
    found = check_page(page, tmp_path / "bad.png")
    bad = " ".join(problems(found))
    assert "missing.png" in bad and "undefined_function" in bad and "horizontal scroll" in bad
