"""The pull-request report (tools/pr_report.py) on a two-commit repository: the second commit
changes a parameter and retrains, as a pull request would."""

from __future__ import annotations

import re

import pytest
from helpers import duplicate, edit_params, git_commit_all, run, run_tool

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def two_commits(mini_repo, tmp_path_factory):
    repo = duplicate(mini_repo, tmp_path_factory.mktemp("pr") / "repo")
    edit_params(repo, **{"train.epochs": 6})  # more training: accuracy and loss move
    run(["dvc", "repro"], repo)
    git_commit_all(repo, "a pull request: train longer")
    return repo


def test_the_report_names_what_changed_and_links_only_real_images(two_commits, tmp_path):
    out = tmp_path / "report"
    run_tool(
        ["tools/pr_report.py", "--base", "HEAD~1", "--head", "HEAD", "--out-dir", str(out)],
        two_commits,
    )
    text = (out / "report.md").read_text()
    gate, rest = text.split("### `dvc metrics diff`")
    metrics, rest = rest.split("### `dvc params diff`")
    params, charts = rest.split("### Charts")

    assert text.startswith("<!-- or-gate pull-request report -->")  # how CI finds it again
    assert "**The metrics gate" in gate
    # DVC's own metrics diff, naming the metrics that changed between the two commits
    assert re.search(r"\| data/evaluation/sigmoid/summary\.json +\| test\.mse ", metrics), metrics
    assert "HEAD~1" in metrics and "HEAD" in metrics
    # the params diff shows the one parameter the pull request changed, and nothing else
    changed = [line for line in params.splitlines() if line.startswith("| params.yaml")]
    assert len(changed) == 1 and re.search(r"train\.epochs +\| 3 +\| 6", changed[0]), params

    linked = re.findall(r"!\[([^\]]+)\]\(\./([^)]+)\)", charts)
    assert {"accuracy", "loss"} <= {chart for chart, _ in linked}, charts
    for _, name in linked:
        image = (out / name).read_bytes()
        assert image.startswith(PNG_SIGNATURE) and len(image) > 1000, name


def test_the_gate_verdict_follows_the_rules(two_commits, tmp_path):
    """A limit the change breaks turns the verdict to a failure naming the metric."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("limits:\n  - {metric: test.mse, max_change: 0}\n")
    out = tmp_path / "report"
    run_tool(
        [
            "tools/pr_report.py",
            "--base",
            "HEAD~1",
            "--head",
            "HEAD",
            "--out-dir",
            str(out),
            "--rules",
            str(rules),
        ],
        two_commits,
    )
    gate = (out / "report.md").read_text().split("### `dvc metrics diff`")[0]
    assert "**The metrics gate fails**" in gate
    assert re.search(r"\| sigmoid \| test\.mse \|.*\| FAIL", gate), gate


def test_an_unknown_revision_is_one_line(two_commits, tmp_path):
    result = run_tool(
        ["tools/pr_report.py", "--base", "no-such-rev", "--out-dir", str(tmp_path / "r")],
        two_commits,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "pr_report: error: unknown baseline revision 'no-such-rev'"
