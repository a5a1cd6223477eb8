"""End to end: the real `dvc repro`, `dvc exp run` and friends in a temporary copy of the repo."""

from __future__ import annotations

import json
import sys

from or_gate.evaluation import COLLAPSE_SPAN, GRADIENT_FLOOR, HEADLINE

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import NOISE, SMALL_PARAMS, duplicate, git_commit_all, run

from tools.analysis.gate import flatten

pytestmark = [pytest.mark.e2e]

VARIANTS = ("sigmoid", "relu", "leaky_relu")
PNG = b"\x89PNG\r\n\x1a\n"
METRIC_KEYS = {
    "replicates",
    "test.accuracy",
    "test.accuracy_min",
    "test.mse",
    "success_rate",
    "collapse_rate",
    "born_dead_rate",
    "diverged_rate",
    "gradients.log10_ratio_at_init",
    "gradients.log10_ratio_final",
    "dead_units.init",
    "dead_units.final",
    "saturated_units.init",
    "saturated_units.final",
}


def assert_diagnostic_metrics_agree(metrics, history, gradients, units, epochs) -> None:
    """The gradient ratio and unit shares, recomputed here from the records."""
    # median over replicates of log10 |dL/d first hidden kernel| - log10 |dL/d output bias|
    at_init = gradients[gradients["epoch"] == 0]
    first = at_init[(at_init["role"] == "hidden") & (at_init["layer"] == 1)]
    output = at_init[at_init["role"] == "output"]
    ratios = np.log10(first["kernel_gradient_norm"].clip(lower=GRADIENT_FLOOR).to_numpy())
    ratios -= np.log10(output["bias_gradient_norm"].clip(lower=GRADIENT_FLOOR).to_numpy())
    assert metrics["gradients.log10_ratio_at_init"] == pytest.approx(np.median(ratios))
    # final unit shares: replicates whose loss stayed finite only
    finite = history.groupby("replicate")["loss"].apply(lambda loss: np.isfinite(loss).all())
    hidden = units[units["role"] == "hidden"]
    for when, epoch in (("init", 0), ("final", epochs)):
        at = hidden[hidden["epoch"] == epoch]
        if when == "final":
            at = at[at["replicate"].map(finite)]
        assert metrics[f"dead_units.{when}"] == pytest.approx(at["dead_fraction"].mean())
        saturated = at["saturated_fraction"].mean()
        assert metrics[f"saturated_units.{when}"] == pytest.approx(saturated)


def assert_chart_data_is_the_quartiles_of_the_records(repo, epochs) -> None:
    """DVC's charts: per variant and epoch, the quartiles over replicates (NumPy's here)."""
    for chart in ("accuracy", "val_accuracy", "loss", "val_loss"):
        rows = pd.read_csv(repo / "plots/charts" / f"{chart}.csv")
        assert set(rows["variant"]) == set(VARIANTS)
        assert len(rows) == len(VARIANTS) * epochs  # a median and its band per epoch
        history = pd.read_csv(repo / "models/relu/history.csv")
        by_epoch = history.pivot(index="epoch", columns="replicate", values=chart).to_numpy()
        relu = rows[rows["variant"] == "relu"]
        for column, q in (("q25", 25), ("median", 50), ("q75", 75)):
            np.testing.assert_allclose(relu[column], np.percentile(by_epoch, q, axis=1))


def test_repro_writes_every_output_and_each_means_what_it_says(reproduced_repo):
    """Every file the stages write exists, has the rows its parameters imply, and agrees
    with what it is computed from (recomputed here from the records, not by the code)."""
    repo = reproduced_repo
    replicates, epochs = SMALL_PARAMS["replicates"], SMALL_PARAMS["train.epochs"]
    diagnosed = [0, 1, 2, 3]  # log-spaced epochs for 3 epochs: 0, 1, 2, then the last
    for name in VARIANTS:
        summary = json.loads((repo / "data/evaluation" / name / "summary.json").read_text())
        metrics = flatten(summary)
        assert set(metrics) == METRIC_KEYS, name
        shown = json.loads((repo / "metrics" / f"{name}.json").read_text())  # DVC's metrics
        assert shown == {key: summary[key] for key in HEADLINE}
        assert metrics["replicates"] == replicates
        assert sorted(p.name for p in (repo / "models" / name).iterdir()) == [
            "architecture.json",
            "gradients.csv",
            "history.csv",
            "units.csv",
            "weights.npy",
        ]
        stacked = np.load(repo / "models" / name / "weights.npy", allow_pickle=False)
        assert stacked.shape == (replicates, 15) and stacked.dtype == np.float32  # 6 + 6 + 3
        training, evaluation = repo / "models" / name, repo / "data/evaluation" / name
        history = pd.read_csv(training / "history.csv")
        assert len(history) == replicates * epochs
        assert history[["loss", "accuracy", "val_loss", "val_accuracy"]].notna().all().all()
        units = pd.read_csv(training / "units.csv")
        gradients = pd.read_csv(training / "gradients.csv")
        layers = 2 + 1  # input, depth 1, output
        for table in (units, gradients):
            assert sorted(table["epoch"].unique()) == diagnosed
            assert len(table) == len(diagnosed) * replicates * layers
        assert_diagnostic_metrics_agree(metrics, history, gradients, units, epochs)
        predictions = pd.read_csv(evaluation / "predictions.csv")
        assert len(predictions) == replicates * (7 + 4)
        test = predictions[predictions["split"] == "test"]
        correct = ((test["prediction"] > 0.5).astype(int) == test["y"]).groupby(test["replicate"])
        assert metrics["test.accuracy"] == pytest.approx(correct.mean().mean())
        assert metrics["test.mse"] == pytest.approx(
            ((test["prediction"] - test["y"]) ** 2).groupby(test["replicate"]).mean().mean()
        )
        truth = predictions[predictions["split"] == "truth_table"]
        spans = truth.groupby("replicate")["prediction"].agg(lambda p: p.max() - p.min())
        assert metrics["collapse_rate"] == pytest.approx((spans < COLLAPSE_SPAN).mean())
        surface = pd.read_csv(evaluation / "decision_surface.csv")
        assert len(surface) == 41 * 41 and surface["prediction"].between(0, 1).all()
        for figure in ("accuracy.png", "loss.png"):
            assert (repo / "plots/figures" / name / figure).read_bytes()[:8] == PNG
    for figure in ("comparison.png", "gradients.png", "units.png", "decision_surfaces.png"):
        assert (repo / "plots/figures" / figure).read_bytes()[:8] == PNG
    assert_chart_data_is_the_quartiles_of_the_records(repo, epochs)
    for when in ("init", "final"):
        profile = pd.read_csv(repo / "plots/charts" / f"gradient_profile_{when}.csv")
        assert len(profile) == len(VARIANTS) * layers
        assert np.isfinite(profile[["q25", "median", "q75"]]).all().all()


def test_models_are_in_the_dvc_cache(reproduced_repo):
    repo = reproduced_repo
    cache = repo / ".dvc/cache/files/md5"
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    for name in VARIANTS:
        outs = {out["path"]: out for out in lock["stages"][f"train@{name}"]["outs"]}
        digest = outs[f"models/{name}"]["md5"]
        manifest = json.loads((cache / digest[:2] / digest[2:]).read_text())
        assert sorted(entry["relpath"] for entry in manifest) == sorted(
            p.name for p in (repo / "models" / name).iterdir()
        )
        for entry in manifest:
            assert (cache / entry["md5"][:2] / entry["md5"][2:]).is_file()
    # git ignores the models: DVC versions them
    assert "/sigmoid" in (repo / "models/.gitignore").read_text().split()


def test_second_repro_does_nothing(reproduced_repo):
    result = run(["dvc", "repro"], reproduced_repo)
    assert "Data and pipelines are up to date." in result.stdout
    status = run(["dvc", "status"], reproduced_repo)
    assert "Data and pipelines are up to date." in status.stdout


@pytest.mark.slow
def test_a_deeper_experiment_with_a_new_variant_keeps_prepare_cached(reproduced_repo, tmp_path):
    repo = duplicate(reproduced_repo, tmp_path / "repo")
    git_commit_all(repo, "results")
    result = run(
        [
            "dvc",
            "exp",
            "run",
            "-S",
            "depth=2",
            "-S",
            "+variants.tanh={activation: tanh, initializer: glorot_uniform}",
            "-S",
            "+variants.rai_res={activation: relu, initializer: rai, residual: true}",
            "-S",
            "variants.sigmoid.initializer={name: random_uniform, minval: -0.5, maxval: 0.5}",
        ],
        repo,
    )
    assert "Running stage 'prepare'" not in result.stdout  # its inputs did not change
    assert "Running stage 'train@tanh'" in result.stdout
    assert "Running stage 'train@sigmoid'" in result.stdout  # depth changed for every variant
    assert "(relu, rai, residual)" in result.stdout  # train states its plan
    assert "(sigmoid, random_uniform(maxval=0.5, minval=-0.5))" in result.stdout
    tanh = json.loads((repo / "data/evaluation/tanh/summary.json").read_text())
    assert tanh["replicates"] == SMALL_PARAMS["replicates"]
    architecture = json.loads((repo / "models/rai_res/architecture.json").read_text())
    assert architecture["initializer"] == "rai" and architecture["residual"] is True
    rai_res = json.loads((repo / "metrics/rai_res.json").read_text())
    assert rai_res["born_dead_rate"] == 0.0  # a residual layer is never blocked
    units = pd.read_csv(repo / "models/tanh/units.csv")
    assert units["layer"].max() == 3  # input, two hidden, output
    shown = json.loads(run(["dvc", "exp", "show", "--json"], repo).stdout)
    experiments = [e for b in shown for e in b.get("experiments") or []]
    assert len(experiments) == 1


@pytest.mark.slow
@pytest.mark.e2e
def test_a_diverging_variant_finishes_with_its_divergence_counted(reproduced_repo, tmp_path):
    params = yaml.safe_load((reproduced_repo / "params.yaml").read_text())
    params["depth"] = 4
    params["variants"] = {"boom": {"activation": "exponential", "initializer": "ones"}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    common = ["--params", str(tmp_path / "params.yaml"), "--data-dir", "data/prepared"]
    outputs = ["--model-dir", str(tmp_path / "m/boom")]
    train = run(
        [sys.executable, "-m", "stages.train", *common, "--variant", "boom", *outputs],
        reproduced_repo,
    )
    assert "train@boom: 2 of 2 replicates diverged (non-finite loss or weights)" in train.stdout
    inputs = ["--models-dir", str(tmp_path / "m")]
    outputs = ["--metrics-dir", str(tmp_path / "metrics"), "--evaluation-dir", str(tmp_path / "e")]
    stage = [sys.executable, "-m", "stages.evaluate"]
    evaluate = run([*stage, *common, *inputs, *outputs], reproduced_repo)
    assert "success 0.00, collapse 1.00" in evaluate.stdout
    assert "diverged 2 of 2" in evaluate.stdout
    metrics = yaml.safe_load((tmp_path / "e/boom/summary.json").read_text())
    assert metrics["diverged_rate"] == 1.0 and metrics["test"]["mse"] is None
    for output in (train, evaluate):  # 7. nothing but the project's own lines
        assert not [line for line in output.stderr.splitlines() if any(n in line for n in NOISE)]
