"""The gate reads metrics through DVC's Python API (tools/analysis/gate.py collect_metrics),
in-process, against a small DVC repository: what it reads, at which revisions, and each
refusal whole. tests/test_check_metrics.py runs the whole command."""

from __future__ import annotations

from or_gate.runtime import StageError

import pytest
from helpers import git_commit_all


@pytest.fixture
def metrics_repo(tmp_path, monkeypatch):
    """A DVC repository of two variants' metrics files and one summary, committed; the
    current directory (DVC reads targets from it, as the gate runs from the root)."""
    import json
    import subprocess

    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    subprocess.run(["dvc", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "dvc.yaml").write_text(  # as the project's evaluate stage declares them
        "stages:\n  evaluate:\n    cmd: 'true'\n"
        "    outs:\n      - data/evaluation: {cache: false}\n"
        "    metrics:\n      - metrics/a.json: {cache: false}\n"
        "      - metrics/b.json: {cache: false}\n      - metrics/c.json: {cache: false}\n"
    )
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/a.json").write_text(json.dumps({"success_rate": 0.5}))
    (tmp_path / "metrics/b.json").write_text(json.dumps({"success_rate": 1.0}))
    (tmp_path / "metrics/c.json").write_text(json.dumps({"success_rate": 0.0}))
    summary = tmp_path / "data/evaluation/a/summary.json"
    summary.parent.mkdir(parents=True)
    # the summary repeats the headline (here stale) and adds the other numbers
    summary.write_text(
        json.dumps({"success_rate": 0.1, "born_dead_rate": 0.3, "test": {"accuracy": 0.75}})
    )
    git_commit_all(tmp_path, "baseline")
    monkeypatch.chdir(tmp_path)
    # DVC binds its log handlers to the sys.stderr of its first import, which pytest's capture
    # may have closed since: a warning would then raise. Its records go to pytest's instead.
    import logging

    monkeypatch.setattr(logging.getLogger("dvc"), "handlers", [])
    return tmp_path


def test_collect_metrics_reads_the_workspace_and_the_baseline_through_dvc(metrics_repo):
    from tools.analysis.gate import collect_metrics

    (metrics_repo / "metrics/a.json").write_text('{"success_rate": 0.75}')
    (metrics_repo / "metrics/b.json").write_text("{not json")
    now, baseline = collect_metrics(metrics_repo, "HEAD")
    # the headline comes from the metrics file only (never the summary's copy of it, nor a
    # headline key the metrics file lacks); the summary's other numbers are flattened beside it
    assert baseline == {
        "a": {"success_rate": 0.5, "test.accuracy": 0.75},
        "b": {"success_rate": 1.0},
        "c": {"success_rate": 0.0},
    }
    assert now["a"] == {"success_rate": 0.75, "test.accuracy": 0.75}
    assert "JSON file structure is corrupted" in now["b"]  # DVC's error, for the gate's row
    assert now["c"] == {"success_rate": 0.0}  # read on after the broken file


def test_collect_metrics_compares_two_revisions(metrics_repo):
    from tools.analysis.gate import collect_metrics

    (metrics_repo / "metrics/a.json").write_text('{"success_rate": 0.25}')
    git_commit_all(metrics_repo, "head")
    (metrics_repo / "metrics/a.json").write_text('{"success_rate": 0.0}')  # not committed
    now, baseline = collect_metrics(metrics_repo, "HEAD~1", head="HEAD")
    assert now["a"]["success_rate"] == 0.25 and baseline["a"]["success_rate"] == 0.5


@pytest.mark.parametrize(
    ("baseline", "head", "said"),
    [
        (" ", "workspace", "--baseline: an empty revision; give a commit, branch or tag (HEAD)"),
        ("HEAD", "", "--head: an empty revision; give a commit, branch or tag (HEAD)"),
        ("no-such-rev", "workspace", "unknown baseline revision 'no-such-rev'"),
        ("HEAD", "no-such-rev", "unknown head revision 'no-such-rev'"),
        ("no-such-rev", "HEAD", "unknown baseline revision 'no-such-rev'"),
    ],
)
def test_collect_metrics_refuses_a_revision_it_cannot_read(metrics_repo, baseline, head, said):
    from tools.analysis.gate import collect_metrics

    with pytest.raises(StageError) as refused:
        collect_metrics(metrics_repo, baseline, head=head)
    assert str(refused.value) == said


def test_collect_metrics_says_when_dvc_cannot_read_the_pipeline(metrics_repo, tmp_path_factory):
    from tools.analysis.gate import collect_metrics

    (metrics_repo / "dvc.yaml").write_text("stages: [\n")
    with pytest.raises(StageError) as refused:
        collect_metrics(metrics_repo, "HEAD")
    assert str(refused.value) == (
        "DVC could not read the metrics at workspace: "
        "unable to read: 'dvc.yaml', YAML file structure is corrupted"
    )
    elsewhere = tmp_path_factory.mktemp("not-a-dvc-repository")
    with pytest.raises(StageError, match=r"^DVC could not read the metrics: .*DVC repository"):
        collect_metrics(elsewhere, "HEAD")
