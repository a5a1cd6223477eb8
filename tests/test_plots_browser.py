"""`dvc plots show` renders every chart and image offline, in a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from stages.plots_page import render_page
from tests.conftest import REPO, git_commit_all, run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("reproduced")]

ARTIFACTS = Path(os.environ.get("OR_GATE_ARTIFACTS", REPO / "test-artifacts"))
CHARTS = 6  # accuracy, val_accuracy, loss, val_loss, gradient profile at init and final
IMAGES = 2 * 3 + 4  # per variant accuracy and loss, then comparison, gradients, units, surfaces


NO_BROWSER = (
    "no Chromium on the PATH: to run the browser tests, `apt-get install chromium` "
    "(or set OR_GATE_BROWSER to a Chromium binary), then rerun pytest"
)


def find_browser() -> str:
    """A Chromium binary. Without one the browser tests skip, except in CI (CI=true), which
    installs Chromium and must run them."""
    for candidate in (
        os.environ.get("OR_GATE_BROWSER"),
        "chromium",
        "chromium-browser",
        "google-chrome",
    ):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{NO_BROWSER} (CI must run them)")
    pytest.skip(NO_BROWSER)


def test_the_committed_page_template_is_what_the_command_writes():
    assert (REPO / ".dvc/plots/offline.html").read_text(encoding="utf-8") == render_page()
    assert "html_template = plots/offline.html" in (REPO / ".dvc/config").read_text()


@pytest.fixture
def browser() -> str:
    return find_browser()


def open_offline(browser: str, page_path: Path, screenshot: Path) -> dict:
    """Load the page with every non-file request refused; report what was drawn."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=browser,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(offline=True, viewport={"width": 1400, "height": 900})
        refused = []

        def only_local(route):
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                refused.append(route.request.url)
                route.abort()

        context.route("**/*", only_local)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(page_path.resolve().as_uri())
        page.wait_for_function(
            """() => {
                const charts = [...document.querySelectorAll('.vega-embed')];
                return charts.length > 0
                    && charts.every(c => c.querySelector('svg, canvas'))
                    && [...document.images].every(i => i.complete);
            }""",
            timeout=60_000,
        )
        report = page.evaluate(
            """() => ({
                charts: [...document.querySelectorAll('.vega-embed')].map(c => ({
                    drawn: !!c.querySelector('svg, canvas'),
                    marks: c.querySelectorAll('svg path, svg line, svg rect').length,
                })),
                images: [...document.images].map(i => ({
                    src: i.getAttribute('src'), loaded: i.complete && i.naturalWidth > 0,
                })),
            })"""
        )
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    report.update(refused=refused, errors=errors)
    return report


def test_plots_show_renders_every_chart_offline(browser, reproduced_repo):
    run(["dvc", "plots", "show"], reproduced_repo)
    html = (reproduced_repo / "dvc_plots/index.html").read_text()
    assert not re.search(r"<script[^>]*\bsrc=", html)  # nothing loaded from elsewhere
    report = open_offline(
        browser, reproduced_repo / "dvc_plots/index.html", ARTIFACTS / "plots_show.png"
    )
    print(
        f"charts drawn: {sum(c['drawn'] for c in report['charts'])}/{len(report['charts'])}, "
        f"images loaded: {sum(i['loaded'] for i in report['images'])}/{len(report['images'])}"
    )
    assert len(report["charts"]) == CHARTS
    assert all(chart["drawn"] and chart["marks"] > 10 for chart in report["charts"])
    assert len(report["images"]) == IMAGES
    assert all(image["loaded"] for image in report["images"]), report["images"]
    assert report["refused"] == [] and report["errors"] == []


def test_plots_diff_overlays_revisions(browser, reproduced_repo, tmp_path):
    repo = reproduced_repo
    git_commit_all(repo, "results")
    out = tmp_path / "diff"
    run(["dvc", "plots", "diff", "HEAD", "--out", str(out)], repo)
    report = open_offline(browser, out / "index.html", ARTIFACTS / "plots_diff.png")
    assert len(report["charts"]) == CHARTS and all(c["drawn"] for c in report["charts"])
    html = (out / "index.html").read_text()
    specs = _embedded_specs(html)
    revisions = {row["rev"] for spec in specs for row in spec["data"]["values"]}
    assert revisions == {"HEAD", "workspace"}
    assert all({"variant", "rev"} <= set(spec["data"]["values"][0]) for spec in specs)


def _embedded_specs(html: str) -> list[dict]:
    """The Vega-Lite specs DVC writes into the page (`var spec = {...};`), one per chart."""
    decoder = json.JSONDecoder()
    return [decoder.raw_decode(chunk)[0] for chunk in html.split("var spec = ")[1:]]
