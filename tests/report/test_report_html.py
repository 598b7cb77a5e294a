"""The HTML report, opened in a real headless Chromium: no console errors, charts present, not blank."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from PIL import Image, ImageStat
from report_spans import agent_trace, known_calls, write_jsonl

from otel_llm_cost.report import build_report, to_html

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # any network fetch would fail and log a console error
    "--enable-logging=stderr",
    "--v=0",
)
CHART_TITLES = (
    "latency over time",
    "latency histogram",
    "tokens by model",
    "Cost by model",
    "Cost by agent",
    "Cost by step",
    "phase breakdown per step",
)


def chromium() -> str:
    """The Chromium binary; a missing one fails the test in CI and skips it elsewhere."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "chromium is not installed (Debian package `chromium`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def run_chromium(binary, tmp_path, url, *extra):
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    cmd = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("html")
    spans = known_calls() + agent_trace(1001) + agent_trace(1002, start_s=4000, agent="booker")
    report = build_report([write_jsonl(tmp / "spans.jsonl", spans)])
    path = tmp / "report.html"
    path.write_text(to_html(report), encoding="utf-8")
    return path


def test_html_is_self_contained(page):
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}
    for title in CHART_TITLES:
        assert f'aria-label="{title}"' in html


def test_console_error_detection_works(tmp_path):
    # Control: the check below would see a page's console errors.
    binary = chromium()
    control = tmp_path / "control.html"
    control.write_text("<!DOCTYPE html><p>x</p><script>console.error('control-error')</script>")
    result = run_chromium(binary, tmp_path, control.as_uri(), "--dump-dom")
    assert any("control-error" in line for line in console_lines(result.stderr))


def test_renders_without_console_errors_and_with_charts(page, tmp_path):
    binary = chromium()
    result = run_chromium(binary, tmp_path, page.as_uri(), "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_lines(result.stderr) == []
    dom = result.stdout
    assert dom.count("<svg") == len(CHART_TITLES)
    assert dom.count("<rect") > 50 and "<polyline" in dom
    for title in CHART_TITLES:
        assert f'aria-label="{title}"' in dom


def test_screenshot_is_not_blank(page, tmp_path):
    binary = chromium()
    shot = tmp_path / "shot.png"
    result = run_chromium(binary, tmp_path, page.as_uri(), f"--screenshot={shot}", "--window-size=1280,1600")
    assert shot.exists(), result.stderr[-2000:]
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (1280, 1600)
        stddev = ImageStat.Stat(rgb).stddev
        colors = rgb.getcolors(maxcolors=1 << 20)
    assert min(stddev) > 10  # a blank or single-colour page has ~0
    assert colors is not None and len(colors) > 50
    # The chart palette's blue is drawn somewhere on the page.
    assert any(abs(r - 0x4E) < 8 and abs(g - 0x79) < 8 and abs(b - 0xA7) < 8 for _, (r, g, b) in colors)
