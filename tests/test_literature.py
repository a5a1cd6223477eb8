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
    for source in (literature.SOURCE, literature.REGRESSION, literature.WIDTHS):
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
    """For their regression targets, ours is the |x| regression's net of their initialisation
    at width 2, depth 10; for their per-width numbers, the OR gate's widths sweep (He, depth
    10). The collapse rate is the sweep table's own."""
    table = literature.read_table(COMMITTED)
    sweeps = {
        "abs": pd.read_csv(REPO / literature.REGRESSION),
        "or_gate": pd.read_csv(REPO / literature.WIDTHS),
    }
    sources = pd.read_csv(REPO / literature.SOURCE)
    assert table["experiment"].tolist() == sources["experiment"].tolist()
    for row, task in zip(table.to_dict("records"), sources["task"], strict=True):
        assert row["ours_depth"] == 10
        assert row["ours_variant"] == ("relu_rai" if row["initializer"] == "rai" else "relu_he")
        if task == "regression":
            assert (row["ours_task"], row["ours_width"]) == ("abs", 2)
        else:
            assert (row["ours_task"], row["ours_width"]) == ("or_gate", row["width"])
        sweep = sweeps[row["ours_task"]].set_index(["width", "depth", "variant"])
        measured = sweep.loc[(row["ours_width"], 10, row["ours_variant"])]
        assert row["ours_collapse"] == measured["collapse_rate"]
        assert row["ours_replicates"] == measured["replicates"]


def test_their_numbers_are_the_source_file_s_as_written():
    table = literature.read_table(COMMITTED)
    sources = pd.read_csv(REPO / literature.SOURCE)
    assert table["theirs_low"].tolist() == sources["collapse_low"].tolist()
    assert table["theirs_high"].tolist() == sources["collapse_high"].tolist()
    assert table["source"].tolist() == sources["source"].tolist()


def test_each_regression_sweep_is_the_docs_command_that_names_it():
    """Every sweep the |x| reading uses ran the regression task at 1,000 replicates, and the
    docs' command that runs it sets what the reading says it changes."""
    import shlex

    from doc_blocks import blocks

    from tools.analysis import lu_regression

    commands = {}
    for block in blocks("docs/literature.md"):
        for command in block.commands:
            words = shlex.split(command)
            if words[2:4] == ["run", "--name"]:
                commands[words[4]] = command
    for name, overrides in lu_regression.SENSITIVITY.items():
        command = commands[name]
        assert "-S task.name=abs" in command and "-S replicates=1000" in command
        assert overrides in command
        assert name == lu_regression.MAIN or f"-S depth={lu_regression.DEPTH}" in command
        table = pd.read_csv(REPO / f"plots/{name}/{name}.csv")
        assert set(table["task"]) == {"abs"} and set(table["replicates"]) == {1000}
        assert set(table["variant"]) == {"relu_he", "relu_rai"}
    assert "-S 'depth=range(1,11)'" in commands[lu_regression.MAIN]


def test_the_docs_reading_of_the_regression_sweeps_is_what_the_tables_show():
    """docs/literature.md's prose about the |x| sweeps, each claim against the tables."""
    from tools.analysis.lu_regression import SENSITIVITY, depth_ten_cell, their_rates
    from tools.analysis.sweep import clopper_pearson

    cells = {
        name: {v: depth_ten_cell(REPO, name, v) for v in ("relu_he", "relu_rai")}
        for name in SENSITIVITY
    }
    main = cells["lu_abs"]
    he, _ = main["relu_he"]
    # He: nearly every net collapses, nearly all of them born dead
    assert he.collapse_rate > 0.9 and he.born_dead_rate / he.collapse_rate > 0.95
    # collapse grows with depth as the born-dead rate does
    rates = pd.read_csv(REPO / "plots/lu_abs/lu_abs.csv").sort_values("depth")
    for _, by_depth in rates.groupby("variant"):
        assert by_depth["collapse_rate"].is_monotonic_increasing
        assert by_depth["born_dead_rate"].is_monotonic_increasing
    # their RAI rates: inside our born-dead interval, far below our collapse rate
    rai, rai_outcomes = main["relu_rai"]
    dead_low, dead_high = clopper_pearson(rai.born_dead_rate, rai.replicates)
    collapse_low, _ = clopper_pearson(rai.collapse_rate, rai.replicates)
    for theirs in their_rates(REPO)["rai"]:
        assert dead_low <= theirs <= dead_high and theirs < collapse_low - 0.1
    assert rai_outcomes.counts["died_in_training"] > 0.1 * rai.replicates
    # no setting moves He's born-dead rate, nor its nets dying in training much
    for name, cell in cells.items():
        assert cell["relu_he"][0].born_dead_rate == he.born_dead_rate, name
        assert cell["relu_he"][1].counts["died_in_training"] < 0.05 * he.replicates, name
    # RAI's born-dead rate moves with the input range only
    moved = {n for n, c in cells.items() if c["relu_rai"][0].born_dead_rate != rai.born_dead_rate}
    assert moved == {"lu_abs_wide"}
    # its collapse moves with the learning rate, the extra collapses alive nets
    slow, slow_outcomes = cells["lu_abs_slow"]["relu_rai"]
    assert slow.collapse_rate > clopper_pearson(rai.collapse_rate, rai.replicates)[1]
    dead = sum(slow_outcomes.counts[o] for o in ("born_dead", "died_in_training", "diverged"))
    assert round(slow.collapse_rate * slow.replicates) - dead > 0.05 * slow.replicates
    # five times the epochs leave the collapse as it was
    assert cells["lu_abs_long"]["relu_rai"][0].collapse_rate == rai.collapse_rate
    assert cells["lu_abs_long"]["relu_he"][0].collapse_rate == he.collapse_rate
    # more than 90% and not the OR gate's 0.944 at depth 10: the born-dead theory for a line
    from tools.analysis.theory import born_dead_on_a_line, born_dead_probability

    assert 0.9 < born_dead_on_a_line(10)[-1] < round(born_dead_probability(10), 3) == 0.944
    # no setting brings RAI's collapse down to their numbers
    lowest = min(clopper_pearson(c["relu_rai"][0].collapse_rate, 1000)[0] for c in cells.values())
    assert lowest > max(their_rates(REPO)["rai"])
