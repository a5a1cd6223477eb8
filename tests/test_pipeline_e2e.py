"""End to end: the real `dvc repro`, `dvc exp run` and friends in a temporary copy of the repo."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from tests.conftest import SMALL_PARAMS, run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("reproduced")]

VARIANTS = ("sigmoid", "relu", "leaky_relu")
METRIC_KEYS = {
    "replicates",
    "test.accuracy",
    "test.accuracy_min",
    "test.mse",
    "success_rate",
    "collapse_rate",
    "born_dead_rate",
    "gradients.log10_ratio_at_init",
    "gradients.log10_ratio_final",
    "dead_units.init",
    "dead_units.final",
    "saturated_units.init",
    "saturated_units.final",
}


def flatten(document: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in document.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_repro_writes_every_output(reproduced_repo):
    repo = reproduced_repo
    replicates, epochs = SMALL_PARAMS["replicates"], SMALL_PARAMS["train.epochs"]
    for name in VARIANTS:
        metrics = flatten(json.loads((repo / "metrics" / f"{name}.json").read_text()))
        assert set(metrics) == METRIC_KEYS, name
        assert metrics["replicates"] == replicates
        assert all(isinstance(v, int | float) for v in metrics.values())
        assert 0 <= metrics["collapse_rate"] <= 1 and 0 <= metrics["success_rate"] <= 1
        models = sorted((repo / "models" / name).glob("*.keras"))
        assert [m.name for m in models] == [f"replicate_{k:03d}.keras" for k in range(replicates)]
        history = read_rows(repo / "plots/train" / name / "history.csv")
        assert len(history) == replicates * epochs
        assert set(history[0]) == {
            "replicate",
            "epoch",
            "loss",
            "accuracy",
            "val_loss",
            "val_accuracy",
        }
        predictions = read_rows(repo / "plots/evaluate" / name / "predictions.csv")
        assert len(predictions) == replicates * (7 + 4)
        for figure in ("accuracy.png", "loss.png"):
            assert (repo / "plots/figures" / name / figure).stat().st_size > 1000
    for figure in ("comparison.png", "gradients.png", "units.png", "decision_surfaces.png"):
        assert (repo / "plots/figures" / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for chart in ("accuracy", "val_accuracy", "loss", "val_loss"):
        rows = read_rows(repo / "plots/combined" / f"{chart}.csv")
        assert {row["variant"] for row in rows} == set(VARIANTS)
        assert len(rows) == len(VARIANTS) * replicates * epochs


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
