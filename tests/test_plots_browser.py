"""`dvc plots show` renders every chart and image offline, in a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, duplicate, git_commit_all, run

pytestmark = [pytest.mark.e2e]

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


def test_the_committed_page_template_is_what_the_command_writes(tmp_path):
    page = tmp_path / "offline.html"
    run([sys.executable, str(REPO / "tools/plots_page.py"), "--out", str(page)], REPO)
    assert (REPO / ".dvc/plots/offline.html").read_text(encoding="utf-8") == page.read_text()
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


def scaled(path: Path, factor: float) -> None:
    """A chart's quartile columns (q25, median, q75) times ``factor``: another revision."""
    header, *rows = path.read_text().splitlines()
    columns = header.split(",")
    quartile = [columns.index(name) for name in ("q25", "median", "q75")]
    scaled_rows = [
        ",".join(
            repr(factor * float(v)) if i in quartile else v for i, v in enumerate(r.split(","))
        )
        for r in rows
    ]
    path.write_text("\n".join([header, *scaled_rows]) + "\n")


def test_plots_diff_of_three_revisions_colours_by_revision_and_parts_the_variants(
    browser, reproduced_repo, tmp_path
):
    repo = duplicate(reproduced_repo, tmp_path / "repo")  # the shared fixture stays as it is
    git_commit_all(repo, "results")
    scaled(repo / "plots/charts/loss.csv", 2.0)
    git_commit_all(repo, "the loss doubled")
    scaled(repo / "plots/charts/loss.csv", 1.5)  # the workspace: three times the first
    out = tmp_path / "diff"
    run(["dvc", "plots", "diff", "HEAD~1", "HEAD", "workspace", "--out", str(out)], repo)
    report = open_offline(browser, out / "index.html", ARTIFACTS / "plots_diff.png")
    assert len(report["charts"]) == CHARTS and all(c["drawn"] for c in report["charts"])
    specs = _embedded_specs((out / "index.html").read_text())
    loss = next(spec for spec in specs if "Training loss" in json.dumps(spec.get("title")))
    revisions = ["HEAD~1", "HEAD", "workspace"]
    colour = loss["spec"]["encoding"]["color"]  # DVC filled the template's colour anchor
    assert colour["field"] == "rev" and sorted(colour["scale"]["domain"]) == sorted(revisions)
    assert len(set(colour["scale"]["range"])) == 3  # a colour per revision
    assert loss["facet"]["field"] == "variant"  # each variant in its own panel
    medians: dict[tuple[str, str], list[float]] = {}
    for row in loss["data"]["values"]:
        medians.setdefault((row["rev"], row["variant"]), []).append(float(row["median"]))
    assert {variant for _, variant in medians} == {"sigmoid", "relu", "leaky_relu"}
    for variant in ("sigmoid", "relu", "leaky_relu"):
        first = np.array(medians["HEAD~1", variant])
        np.testing.assert_allclose(medians["HEAD", variant], 2 * first)
        np.testing.assert_allclose(medians["workspace", variant], 3 * first)
    for spec in specs:  # every chart: the anchors VS Code and Studio fill
        assert spec["spec"]["encoding"]["color"]["field"] == "rev"
        assert {"width", "height"} <= set(spec["spec"])


def _embedded_specs(html: str) -> list[dict]:
    """The Vega-Lite specs DVC writes into the page (`var spec = {...};`), one per chart."""
    decoder = json.JSONDecoder()
    return [decoder.raw_decode(chunk)[0] for chunk in html.split("var spec = ")[1:]]
