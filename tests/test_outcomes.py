"""How each replicate of a sweep ended (tools/analysis/outcomes.py, tools/outcome_report.py).

The committed outcome tables were read from the sweeps' own records; here they are checked
against the committed rate tables the same experiments gave (two reports of one run must
agree), their figures are redrawn from them, and the reading itself is run on a real DVC
repository's records.
"""

from __future__ import annotations

from or_gate.evaluation import COLLAPSE_SPAN, OUTCOMES
from or_gate.files.tables import read_json
from or_gate.runtime import DataError

import pandas as pd
import pytest
from helpers import REPO, tool_in_process

from tools.analysis.outcomes import experiment_outcomes
from tools.analysis.sweep import Experiment

SWEEPS = {
    "atlas": "plots/atlas",
    "sigmoid_scales": "plots/sigmoid_scales",
    "fixes": "plots/fixes",
    "input_layer": "plots/input_layer",
    "widths": "plots/widths",
    **{name: f"plots/{name}" for name in ("lu_abs", "lu_abs_slow", "lu_abs_wide", "lu_abs_long")},
}


@pytest.mark.parametrize(("name", "folder"), SWEEPS.items())
def test_the_committed_outcomes_agree_with_the_committed_rates(name, folder):
    """Every cell of the rate table has its outcomes, which partition its replicates; the
    successes are its success rate exactly; born dead, died in training and diverged
    replicates answer the same whatever the input (spans below COLLAPSE_SPAN={}), so they
    are collapses; born dead outcomes never exceed the born-dead rate."""
    rates = pd.read_csv(REPO / folder / f"{name}.csv")
    outcomes = pd.read_csv(REPO / folder / f"{name}_outcomes.csv")
    cells = ["depth", "width", "variant", "experiment"]
    joined = rates.merge(outcomes, on=cells, how="outer", indicator=True, validate="1:1")
    assert (joined["_merge"] == "both").all(), joined[joined["_merge"] != "both"][cells]
    assert (joined[list(OUTCOMES)].sum(axis=1) == joined["replicates_x"]).all()
    assert (joined["replicates_x"] == joined["replicates_y"]).all()
    replicates = joined["replicates_x"]
    assert ((joined["success_rate"] * replicates).round() == joined["success"]).all()
    dead = joined["born_dead"] + joined["died_in_training"] + joined["diverged"]
    assert (dead <= (joined["collapse_rate"] * replicates).round()).all()
    assert (joined["born_dead"] <= (joined["born_dead_rate"] * replicates).round()).all()


test_the_committed_outcomes_agree_with_the_committed_rates.__doc__ = (
    test_the_committed_outcomes_agree_with_the_committed_rates.__doc__.format(COLLAPSE_SPAN)
)


@pytest.mark.parametrize(("name", "folder"), SWEEPS.items())
def test_the_committed_outcome_figure_redraws_from_its_table(tmp_path, name, folder):
    """The command's ``main``, in this process (a new interpreter costs more than drawing)."""
    table = REPO / folder / f"{name}_outcomes.csv"
    argv = ["--from-csv", str(table), "--name", name, "--out-dir", str(tmp_path)]
    assert tool_in_process("outcome_report", argv, REPO).returncode == 0
    assert (tmp_path / f"{name}_outcomes.csv").read_bytes() == table.read_bytes()
    figure = f"{name}_outcomes.png"
    assert (tmp_path / figure).read_bytes() == (REPO / folder / figure).read_bytes()


def committed_experiment(repo, **metrics) -> Experiment:
    """The mini repository's committed results, as an experiment named by its revision."""
    import yaml

    params = yaml.safe_load((repo / "params.yaml").read_text())
    recorded = {v: read_json(repo / "metrics" / f"{v}.json") for v in params["variants"]}
    for variant in recorded:
        recorded[variant].update(metrics)
    return Experiment(name="HEAD", state="success", params=params, metrics=recorded)


def test_outcomes_are_read_from_a_revisions_records_and_match_its_metrics(mini_repo):
    experiment = committed_experiment(mini_repo)
    (result,) = experiment_outcomes(mini_repo, experiment)
    summary = read_json(mini_repo / "data/evaluation/sigmoid/summary.json")
    assert result.replicates == summary["replicates"] == sum(result.counts.values())
    assert result.counts["success"] == round(summary["success_rate"] * result.replicates)
    assert result.counts["diverged"] == round(summary["diverged_rate"] * result.replicates)
    assert result.experiment == "HEAD" and result.variant == "sigmoid"


def test_records_that_disagree_with_the_metrics_are_refused(mini_repo):
    """Records of one run beside the metrics of another must not make a table."""
    summary = read_json(mini_repo / "data/evaluation/sigmoid/summary.json")
    claimed = 1.0 - summary["success_rate"]  # the other answer, for either outcome of the run
    experiment = committed_experiment(mini_repo, success_rate=claimed)
    with pytest.raises(DataError) as refused:
        experiment_outcomes(mini_repo, experiment)
    replicates = summary["replicates"]
    found, said = round(summary["success_rate"] * replicates), round(claimed * replicates)
    assert str(refused.value) == (
        f"experiment 'HEAD', sigmoid: the records give {found} successes, its metrics say "
        f"{said} (records and metrics of different runs?)"
    )


def test_the_registered_input_layer_verdict_follows_its_table(tmp_path):
    """docs/fixes.md reads the result as a refutation; a table in which a prediction held
    stops the generator instead of printing 'refuted' beside it."""
    import shutil

    from tools.analysis.outcomes import INPUT_LAYER_TABLE, input_layer_verdict

    assert input_layer_verdict(REPO).startswith("**Result: refuted**")
    shutil.copytree(REPO / "plots/input_layer", tmp_path / "plots/input_layer")
    table = pd.read_csv(tmp_path / INPUT_LAYER_TABLE)
    direct = table["variant"] == "relu_rai_direct"
    dead = int(table.loc[direct, "died_in_training"].iloc[0])
    table.loc[direct, "died_in_training"] = 40  # at most 0.05 of 1,000: prediction 2 holds
    table.loc[direct, "success"] += dead - 40
    table.to_csv(tmp_path / INPUT_LAYER_TABLE, index=False)
    with pytest.raises(DataError) as stopped:
        input_layer_verdict(tmp_path)
    assert str(stopped.value) == f"{INPUT_LAYER_TABLE} no longer shows: both predictions failed"
