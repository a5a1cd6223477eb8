"""Lu et al.'s published numbers beside ours (tools/analysis/literature.py,
tools/literature_report.py): the committed comparison table is what the command writes from
the committed sources, its intervals are the closed-form Clopper-Pearson ones, each of its
rows takes ours from the setting it names, and its figure redraws from it byte for byte."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import REPO, tool_in_process
from scipy.stats import beta

from tools.analysis import literature

COMMITTED = REPO / literature.TABLE


def test_the_docs_command_writes_the_committed_comparison_from_the_committed_sources(tmp_path):
    """docs/literature.md's command, as written, in a folder holding only the sources it names
    (Lu et al.'s numbers and the two sweep tables): the committed table and figure."""
    import shlex
    import shutil

    from doc_blocks import blocks

    (command,) = [
        c for b in blocks("docs/literature.md") for c in b.commands if "literature_report" in c
    ]
    python, script, *argv = shlex.split(command)
    assert (python, script) == ("python", "tools/literature_report.py")
    for source in (literature.SOURCE, literature.FIXES, literature.WIDTHS):
        (tmp_path / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / source, tmp_path / source)
    result = tool_in_process("literature_report", argv, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / literature.TABLE).read_bytes() == COMMITTED.read_bytes()
    assert (tmp_path / literature.FIGURE).read_bytes() == (REPO / literature.FIGURE).read_bytes()


def test_the_committed_figure_redraws_from_the_committed_table(tmp_path):
    argv = ["--from-csv", str(COMMITTED), "--out-dir", str(tmp_path)]
    assert tool_in_process("literature_report", argv, REPO).returncode == 0
    assert (tmp_path / "literature.png").read_bytes() == (REPO / literature.FIGURE).read_bytes()


def test_every_interval_is_the_closed_form_clopper_pearson_one():
    """The exact 95% interval of k collapses in n nets: Beta(k, n-k+1)'s 2.5% quantile to
    Beta(k+1, n-k)'s 97.5% quantile (0 and 1 at the ends)."""
    table = literature.read_table(COMMITTED)
    for row in table.to_dict("records"):
        n = row["ours_replicates"]
        k = round(row["ours_collapse"] * n)
        low = beta.ppf(0.025, k, n - k + 1) if k > 0 else 0.0
        high = beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
        assert row["ours_low"] == pytest.approx(low, abs=1e-9)
        assert row["ours_high"] == pytest.approx(high, abs=1e-9)
        assert row["ours_low"] <= row["ours_collapse"] <= row["ours_high"]


def test_ours_is_the_setting_each_row_names_read_from_its_sweep_table():
    """Where the source gives a width, ours is the widths sweep's He net of that width at
    depth 10; elsewhere the atlas's width-2, depth-10 net with their initialisation's match.
    The collapse rate is the sweep table's own."""
    table = literature.read_table(COMMITTED)
    widths = pd.read_csv(REPO / literature.WIDTHS).set_index(["width", "depth", "variant"])
    fixes = pd.read_csv(REPO / literature.FIXES).set_index(["width", "depth", "variant"])
    sources = pd.read_csv(REPO / literature.SOURCE)
    assert table["experiment"].tolist() == sources["experiment"].tolist()
    for row in table.to_dict("records"):
        assert row["ours_depth"] == 10
        expected_variant = "relu_rai" if row["initializer"] == "rai" else "relu_he"
        assert row["ours_variant"] == expected_variant
        if row["width"] is not None and expected_variant == "relu_he":
            assert (row["ours_width"], row["depth"]) == (row["width"], 10)
            sweep = widths
        else:
            assert row["ours_width"] == 2
            sweep = fixes
        measured = sweep.loc[(row["ours_width"], 10, row["ours_variant"])]
        assert row["ours_collapse"] == measured["collapse_rate"]
        assert row["ours_replicates"] == measured["replicates"]


def test_their_numbers_are_the_source_file_s_as_written():
    table = literature.read_table(COMMITTED)
    sources = pd.read_csv(REPO / literature.SOURCE)
    assert table["theirs_low"].tolist() == sources["collapse_low"].tolist()
    assert table["theirs_high"].tolist() == sources["collapse_high"].tolist()
    assert table["source"].tolist() == sources["source"].tolist()
