"""The HTML report, opened in a real headless Chromium: no console errors, charts present, not blank."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
from PIL import Image, ImageStat
from report_spans import agent_trace, known_calls, llm, write_jsonl

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


# --- layout at common widths, and the trace views (#19) -------------------------------------------

LONG_MODEL = "m" * 100_000
MEASURE = """<script>
const out = [];
for (const section of document.querySelectorAll('section')) {
  if (getComputedStyle(section).display === 'none') continue;
  const box = section.getBoundingClientRect();
  const wide = section.scrollWidth > section.clientWidth + 1;
  const cells = [...section.querySelectorAll('tr > :last-child')];
  const cut = cells.some(c => c.getBoundingClientRect().right > box.right + 1);
  if (wide || cut || box.right > document.documentElement.clientWidth + 1)
    out.push(section.querySelector('h2').textContent);
}
document.body.setAttribute('data-overflowing', JSON.stringify(out));
</script>"""


@pytest.fixture(scope="module")
def layout_page(tmp_path_factory):
    """Long labels (one of 100,000 characters), unpriced models, agent runs with phases."""
    tmp = tmp_path_factory.mktemp("layout")
    spans = known_calls() + agent_trace(1001) + agent_trace(1002, start_s=4000, agent="booker")
    spans.append(llm(2001, 1, model=LONG_MODEL, cost="0.4", start_s=30))
    spans.append(llm(2002, 1, model="gateway/" + "x" * 80 + "/v2024-11-20-preview", cost=None, start_s=90))
    report = build_report([write_jsonl(tmp / "spans.jsonl", spans)], by=["service.name"])
    path = tmp / "report.html"
    path.write_text(to_html(report), encoding="utf-8")
    return path, report


def overflowing(tmp_path, html, width):
    """Titles of the sections whose content is wider than the section, in Chromium at ``width``."""
    probe = tmp_path / f"probe-{width}.html"
    probe.write_text(html.replace("</body>", MEASURE + "</body>"))
    result = run_chromium(chromium(), tmp_path, probe.as_uri(), "--dump-dom", f"--window-size={width},2000")
    found = re.search(r'data-overflowing="([^"]*)"', result.stdout)
    assert found is not None, result.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"'))


def test_overflow_detection_works(tmp_path):
    html = (
        '<body><section style="overflow:auto"><h2>wide</h2><div style="width:3000px">x</div></section></body>'
    )
    assert overflowing(tmp_path, html, 1024) == ["wide"]


@pytest.mark.parametrize("width", [1024, 1400, 1920])
def test_tables_and_charts_fit_their_cards(layout_page, tmp_path, width):
    assert overflowing(tmp_path, layout_page[0].read_text(), width) == []


def test_long_labels_are_cut_with_the_full_text_in_a_tooltip(layout_page):
    html = layout_page[0].read_text()
    assert f'<td class="t" title="{LONG_MODEL[:9_000]}' in html  # the table cell's tooltip
    assert "…" in html


def test_every_trace_id_opens_its_trace_view(layout_page):
    html, report = layout_page[0].read_text(), layout_page[1]
    targets = set(re.findall(r'href="#trace-([0-9a-f]{32})"', html))
    views = set(re.findall(r'<section class="trace" id="trace-([0-9a-f]{32})"', html))
    ranked = {t.trace_id for t in (*report.top_traces, *report.slow_traces)}
    assert targets == views == ranked
    view = html[html.index(f'id="trace-{1001:032x}"') :]
    view = view[: view.index("</section>")]
    # Root, both steps (split by phase), three calls with tokens and cost, the wrapper without cost.
    assert view.count('class="lane"') == 7
    assert "$0.002" in view and "$0.003" in view and "$0.005" in view
    assert "time to first token: 300 ms" in view


def test_unpriced_calls_say_unpriced(layout_page):
    html = layout_page[0].read_text()
    assert ">unpriced</td>" in html and "$0.00*" not in html


def test_trace_view_screenshot_shows_the_waterfall(layout_page, tmp_path):
    page, _ = layout_page
    shot = tmp_path / "trace.png"
    url = f"{page.as_uri()}#trace-{1001:032x}"
    run_chromium(chromium(), tmp_path, url, f"--screenshot={shot}", "--window-size=1400,900")
    with Image.open(shot) as image:
        colors = {rgb for _, rgb in image.convert("RGB").getcolors(maxcolors=1 << 20)}
    # The LLM call bars (purple) and the step phases (the phase chart's palette) are on screen.
    for color in ((0x8C, 0x6B, 0xB1), (0xF2, 0x8E, 0x2B), (0x59, 0xA1, 0x4F), (0xE1, 0x57, 0x59)):
        assert any(sum(abs(a - b) for a, b in zip(color, rgb, strict=True)) < 12 for rgb in colors), color


def test_p50_is_drawn_over_p95_and_sparse_buckets_make_one_line(layout_page):
    html = layout_page[0].read_text()
    chart = html[html.index('aria-label="latency over time"') :]
    chart = chart[: chart.index("</svg>")]
    lines = re.findall(r'<polyline class="mark" points="[^"]*" fill="none" stroke="(#[0-9a-f]{6})"', chart)
    assert lines == ["#f28e2b", "#4e79a7"]  # one line each, p95 first, p50 on top
