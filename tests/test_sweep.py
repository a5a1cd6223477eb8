"""The depth-sweep report: finished experiments only, exact intervals, the theory's range.

Fed a `dvc exp show --json` document built here, so every expected number is known: the
Clopper-Pearson bounds at 0/n and n/n have closed forms, and the theory's range is computed
by summing the binomial distribution directly.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import subprocess

import pandas as pd
import pytest
from helpers import REPO, run, tool, tool_in_process

VARIANTS = {
    "sigmoid": {"activation": "sigmoid", "initializer": "uniform"},
    "relu": {"activation": "relu", "initializer": "uniform"},
}


def experiment(
    name: str,
    depth: int,
    timestamp: str,
    rates: dict,
    replicates: int = 16,
    width: int = 2,
    variants: dict = VARIANTS,
    state: str = "success",
    log: str | None = None,
    epochs: int = 200,
):
    metrics = {  # what metrics/<variant>.json holds: the headline rates, nothing else
        f"metrics/{variant}.json": {
            "data": {
                "success_rate": 1 - rate,
                "collapse_rate": rate,
                "born_dead_rate": rate,
            }
        }
        for variant, rate in rates.items()
    }
    params = {
        "depth": depth,
        "replicates": replicates,
        "model": {"width": width},
        "train": {"epochs": epochs},
        "variants": variants,
    }
    data = {"timestamp": timestamp, "params": {"params.yaml": {"data": params}}}
    if metrics:
        data["metrics"] = metrics
    executor = {"state": state, "local": {"log": log, "returncode": 0 if state == "success" else 2}}
    return {
        "name": name,
        "executor": executor,
        "revs": [{"rev": name, "name": name, "data": data, "error": None}],
    }


def sweep_report(source, out_dir, *args: str) -> subprocess.CompletedProcess:
    """``python tools/sweep_report.py --exp-json SOURCE ARGS --out-dir OUT_DIR``, in this
    process as the command runs it (a new interpreter costs more than the report)."""
    argv = ["--exp-json", str(source), *args, "--out-dir", str(out_dir)]
    return tool_in_process("sweep_report", argv, REPO)


@pytest.fixture
def report(tmp_path):
    log = tmp_path / "failed.out"
    log.write_text(
        "Running stage 'validate':\n"
        "validate: error: params.yaml: replicates: 0 is not allowed; expected an integer >= 1\n"
        "validate: to undo what the failed run changed, ...\nERROR: failed to reproduce\n"
    )
    shown = [
        {
            "rev": "workspace",
            "experiments": [
                experiment("d1", 1, "2026-01-01T00:00:00", {"sigmoid": 0.0, "relu": 0.25}),
                experiment("d2", 2, "2026-01-02T00:00:00", {"sigmoid": 0.0, "relu": 1.0}),
                experiment("d2-again", 2, "2026-01-03T00:00:00", {"sigmoid": 0.0, "relu": 1.0}),
                # dvc exp show gives a failed experiment its baseline's metrics files
                experiment(
                    "d3-failed",
                    3,
                    "2026-01-03T00:00:00",
                    {"sigmoid": 0.0, "relu": 0.25},
                    state="failed",
                    log=str(log),
                ),
                experiment("d4-queued", 4, "2026-01-04T00:00:00", {}, state="queued"),
            ],
        }
    ]
    source = tmp_path / "exp.json"
    source.write_text(json.dumps(shown))
    result = sweep_report(source, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    return tmp_path / "out", result.stdout


def binomial_central_range(trials: int, p: float, coverage: float = 0.95) -> tuple[float, float]:
    """The rates k/trials between the (1-coverage)/2 and (1+coverage)/2 quantiles."""
    cumulative, low, high = 0.0, None, None
    for k in range(trials + 1):
        cumulative += math.comb(trials, k) * p**k * (1 - p) ** (trials - k)
        if low is None and cumulative >= (1 - coverage) / 2:
            low = k
        if high is None and cumulative >= (1 + coverage) / 2:
            high = k
    return low / trials, high / trials


def test_only_successful_experiments_are_drawn_and_the_rest_are_listed(report):
    out, stdout = report
    table = pd.read_csv(out / "depth_sweep.csv")
    assert sorted(set(zip(table["depth"], table["experiment"], strict=True))) == [
        (1, "d1"),
        (2, "d2"),  # d2-again agrees on every setting: the same result, once
    ]
    assert table.set_index(["depth", "variant"])["collapse_rate"].to_dict() == {
        (1, "relu"): 0.25,
        (1, "sigmoid"): 0.0,
        (2, "relu"): 1.0,
        (2, "sigmoid"): 0.0,
    }
    assert (out / "depth_sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert stdout.splitlines()[:2] == [
        "sweep_report: left out d3-failed (depth 3): validate: error: params.yaml: replicates: "
        "0 is not allowed; expected an integer >= 1",
        "sweep_report: left out d4-queued (depth 4): not finished (queued)",
    ]


def write_experiments(tmp_path, *experiments) -> object:
    source = tmp_path / "exp.json"
    source.write_text(json.dumps([{"rev": "workspace", "experiments": list(experiments)}]))
    return source


def test_experiments_with_other_settings_are_refused_naming_the_parameter(tmp_path):
    source = write_experiments(
        tmp_path,
        experiment("d1", 1, "2026-01-01", {"sigmoid": 0.0}),
        experiment("d1-short", 1, "2026-01-02", {"sigmoid": 1.0}, epochs=20),
    )
    result = sweep_report(source, tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "sweep_report: error: experiments 'd1' and 'd1-short' differ in train.epochs (200 and "
        "20): a report groups only experiments whose other parameters agree; choose with "
        "--experiments"
    )
    chosen = sweep_report(source, tmp_path / "out", "--experiments", "d1")
    assert chosen.returncode == 0, chosen.stderr
    assert "1 depths (1-1)" in chosen.stdout


def test_variant_names_csv_readers_would_change_survive_the_table(tmp_path):
    names = {name: VARIANTS["relu"] for name in ("nan", "null", "true", "on", "inf")}
    source = write_experiments(
        tmp_path, experiment("d1", 1, "2026-01-01", dict.fromkeys(names, 0.5), variants=names)
    )
    assert sweep_report(source, tmp_path / "out").returncode == 0
    from tools.analysis.sweep import read_table

    assert sorted(r.variant for r in read_table(tmp_path / "out/depth_sweep.csv")) == sorted(names)


def test_the_theory_table_gives_exact_intervals_and_the_theory_range(report):
    _, stdout = report
    rows = {
        line.split("|")[3].strip(): [cell.strip() for cell in line.split("|")[1:-1]]
        for line in stdout.splitlines()
        if line.startswith("| d")
    }
    assert set(rows) == {"1", "2"}  # ReLU variants only, one row per depth
    n, alpha = 16, 0.05
    depth_2 = rows["2"]  # born dead 16/16: the lower bound is (alpha/2)^(1/n)
    assert depth_2[3] == "2" and depth_2[5] == f"1.000 ({(alpha / 2) ** (1 / n):.3f}-1.000)"
    theory = 1 - 0.75**2
    assert depth_2[7] == f"{theory:.3f}"
    low, high = binomial_central_range(n, theory)
    assert depth_2[8] == f"{low:.3f}-{high:.3f}"
    depth_1 = rows["1"]
    low, high = binomial_central_range(n, 0.25)
    assert depth_1[7] == "0.250" and depth_1[8] == f"{low:.3f}-{high:.3f}"


def test_no_finished_experiment_is_one_clear_error(tmp_path):
    source = tmp_path / "exp.json"
    source.write_text(json.dumps([{"rev": "workspace", "experiments": []}]))
    result = sweep_report(source, tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "sweep_report: error: no successful experiments; run a sweep first (see --help)"
    ]


def test_the_theory_follows_the_width_and_skips_rai_and_residual_variants(tmp_path):
    variants = {
        "relu": {"activation": "relu", "initializer": "he_normal"},
        "relu_rai": {"activation": "relu", "initializer": "rai"},
        "relu_res": {"activation": "relu", "initializer": "he_normal", "residual": True},
        "wide": {
            "activation": "sigmoid",
            "initializer": {"name": "random_uniform", "minval": -0.2, "maxval": 0.2},
        },
    }
    rates = {"relu": 0.75, "relu_rai": 0.25, "relu_res": 0.0, "wide": 0.0}
    shown = [
        {
            "rev": "workspace",
            "experiments": [
                experiment("w3", 10, "2026-01-01T00:00:00", rates, 1000, 3, variants),
                experiment("w2", 10, "2026-01-01T00:00:00", rates, 1000, 2, variants),
            ],
        }
    ]
    source = tmp_path / "exp.json"
    source.write_text(json.dumps(shown))
    result = sweep_report(source, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    rows = {
        (cells[1], cells[3]): cells
        for line in result.stdout.splitlines()
        if line.startswith("| w")
        for cells in [[cell.strip() for cell in line.split("|")[1:-1]]]
    }
    assert rows[("relu (he_normal)", "3")][7] == f"{1 - (7 / 8) ** 10:.3f}"
    assert rows[("relu (he_normal)", "2")][7] == f"{1 - (3 / 4) ** 10:.3f}"
    assert rows[("relu_rai (rai)", "3")][7] == "does not apply"
    assert rows[("relu_res (he_normal, residual)", "2")][7] == "does not apply"
    table = pd.read_csv(tmp_path / "out/depth_sweep.csv")
    assert len(table) == 8  # two widths at one depth are two cells, not one
    wide = table[table["variant"] == "wide"]["initializer"].iloc[0]
    assert wide == "random_uniform(maxval=0.2, minval=-0.2)"


def test_a_sign_flipped_variant_has_its_column_and_no_born_dead_theory(tmp_path):
    """The born-dead theory draws every unit's sign independently of the data; a sign-flipped
    net chooses it from the data. The table names the flip only where a variant has it, so
    every table without one keeps its bytes."""
    from tools.analysis.sweep import (
        TABLE_COLUMNS,
        VariantResult,
        read_table,
        theory_applies,
        write_table,
    )

    plain = VariantResult("e", "", 5, 2, "he", "relu", "he_normal", False, 16, 0.5, 0.5, 0.75)
    flipped = VariantResult(
        "e", "", 5, 2, "flip", "relu", "he_normal", False, 16, 0.5, 0.5, 0.0, sign_flip=True
    )
    assert theory_applies(plain) and not theory_applies(flipped)
    write_table([plain], tmp_path / "plain.csv")
    assert (tmp_path / "plain.csv").read_text().splitlines()[0] == ",".join(TABLE_COLUMNS)
    write_table([plain, flipped], tmp_path / "both.csv")
    assert (tmp_path / "both.csv").read_text().splitlines()[0].endswith(",sign_flip")
    assert {(r.variant, r.sign_flip) for r in read_table(tmp_path / "both.csv")} == {
        ("he", False),
        ("flip", True),
    }


def test_the_sigmoid_scale_is_read_back_from_the_table():
    from tools.analysis.sweep import VariantResult, uniform_scale

    def result(initializer, activation="sigmoid"):
        return VariantResult("e", "", 5, 2, "v", activation, initializer, False, 16, 1, 0, 0)

    assert uniform_scale(result("uniform")) == 0.05
    assert uniform_scale(result("random_uniform(maxval=0.5, minval=-0.5)")) == 0.5
    assert uniform_scale(result("random_uniform(maxval=0.5, minval=-0.1)")) is None
    assert uniform_scale(result("glorot_uniform")) is None
    assert uniform_scale(result("uniform", activation="relu")) is None


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("atlas", "plots/atlas"),
        ("sigmoid_scales", "plots/sigmoid_scales"),
        ("depth_sweep", "plots/sweep"),
        ("fixes", "plots/fixes"),
        ("input_layer", "plots/input_layer"),
        ("sign_flip", "plots/sign_flip"),
        ("widths", "plots/widths"),
        ("lu_abs", "plots/lu_abs"),
        ("lu_abs_slow", "plots/lu_abs_slow"),
        ("lu_abs_wide", "plots/lu_abs_wide"),
        ("lu_abs_long", "plots/lu_abs_long"),
    ],
)
def test_the_committed_report_redraws_from_its_committed_table(tmp_path, name, folder):
    """The sweeps were run on one machine (docs/fixes.md and the README say how); CI checks
    that their figures are what the report draws from their tables (the command's ``main``,
    in this process: a new interpreter would cost more than the drawing)."""
    table = REPO / folder / f"{name}.csv"
    with contextlib.redirect_stdout(io.StringIO()):
        tool("sweep_report").main(
            ["--from-csv", str(table), "--name", name, "--out-dir", str(tmp_path)]
        )
    assert (tmp_path / f"{name}.csv").read_bytes() == table.read_bytes()
    assert (tmp_path / f"{name}.png").read_bytes() == (REPO / folder / f"{name}.png").read_bytes()


def test_the_default_dvc_remote_is_read_whole_however_long_its_url(tmp_path):
    """`dvc remote list` wraps a long URL to the terminal's width; the sweep must not read it
    from there (it took the first line of a wrapped path and failed with an IndexError)."""
    from tools.analysis.cluster import dvc_default_remote

    url = str(tmp_path / ("a-remote-with-a-long-name-" * 4) / "dvc-remote")
    run(["git", "init", "-q"], tmp_path)
    run(["dvc", "init", "-q"], tmp_path)
    assert dvc_default_remote(tmp_path) is None
    run(["dvc", "remote", "add", "-d", "store", url], tmp_path)
    assert dvc_default_remote(tmp_path) == url


def test_a_sweep_run_again_with_more_values_grows_and_another_commit_starts_afresh(tmp_path):
    from tools.analysis import grid

    commit, later = "a" * 40, "b" * 40
    first = grid.cells("atlas", commit, ["depth=1,2"])
    record = grid.Record.for_run(tmp_path, "atlas", commit, first)
    record.cells[first[0].name].state = "done"
    record.save(tmp_path)

    more = grid.cells("atlas", commit, ["depth=2,3"])  # one cell again, one new
    grown = grid.Record.for_run(tmp_path, "atlas", commit, more)
    names = {c.name for c in first} | {c.name for c in more}
    assert set(grown.cells) == names and len(names) == 3  # the report draws depths 1, 2, 3
    assert grown.cells[first[0].name].state == "done"  # what ran is not run again

    elsewhere = grid.Record.for_run(
        tmp_path, "atlas", later, grid.cells("atlas", later, ["depth=3"])
    )
    assert elsewhere.commit == later and len(elsewhere.cells) == 1  # that commit's cells only
