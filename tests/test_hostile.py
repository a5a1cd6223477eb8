"""Hostile parameters and data: never silent nonsense, never the wrong culprit.

Each case is reproduced at a small size; a phase that must not be silent is tested by what it
announces, a huge run by the estimate it prints or the refusal it gives before any work.
"""

from __future__ import annotations

import runpy
import subprocess
import sys

from or_gate.evaluation import variant_metrics
from or_gate.params import keras_names_table, parse_params
from or_gate.runtime import DataError, ParamsError

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import REPO, or_rows, quiet_env, run, train_settings

# The start-up notices TensorFlow prints on a machine without a GPU.
NOISE = ("cuInit", "absl::InitializeLog", "cudart_stub", "cpu_feature_guard", "oneDNN custom")


def stage(name: str):
    """A stage script's functions, without running it."""
    return runpy.run_path(str(REPO / f"stages/{name}.py"), run_name="inspected")


# -- 1. divergence is counted, never reported as health ----------------------------------------
def tables(replicates: int, loss: list[float]) -> dict[str, pd.DataFrame]:
    history = pd.DataFrame(
        [(k, 1, loss[k], 0.5, 0.1, 0.5) for k in range(replicates)],
        columns=("replicate", "epoch", "loss", "accuracy", "val_loss", "val_accuracy"),
    )
    rows = [
        (k, epoch, layer, role, 0.1, 0.1)
        for k in range(replicates)
        for epoch in (0, 1)
        for layer, role in enumerate(("input", "hidden", "output"))
    ]
    where = ("replicate", "epoch", "layer", "role")
    gradients = pd.DataFrame(rows, columns=(*where, "kernel_gradient_norm", "bias_gradient_norm"))
    units = pd.DataFrame(
        [(*row[:4], 0.0, 0.0, 0.0) for row in rows],
        columns=(*where, "dead_fraction", "saturated_fraction", "blocked_fraction"),
    )
    return {"history": history, "gradients": gradients, "units": units}


def test_a_diverged_replicate_is_counted_and_never_a_success():
    y = np.array([0, 1, 1, 0, 0, 1, 1], np.float32)
    learned = np.where(y == 1, 0.99, 0.01).astype(np.float32)
    test = np.stack([learned, learned, np.full(7, np.nan, np.float32)])
    truth = np.array([[0.01, 0.99, 0.99, 0.99]] * 2 + [[np.nan] * 4], np.float32)
    # replicate 1's loss went non-finite during training, yet its final outputs look fine
    metrics = variant_metrics(y, test, truth, tables(3, [0.1, np.nan, np.nan]))
    assert metrics["diverged_rate"] == pytest.approx(2 / 3)
    assert metrics["success_rate"] == pytest.approx(1 / 3)
    assert metrics["collapse_rate"] == pytest.approx(2 / 3)  # a diverged net is "collapsed"
    assert metrics["test"]["accuracy"] == pytest.approx(1 / 3)  # diverged replicates score 0
    assert metrics["test"]["mse"] == pytest.approx(0.0001, rel=1e-3)  # the finite one only


@pytest.mark.e2e
@pytest.mark.xdist_group("reproduced")
def test_a_diverging_variant_finishes_with_its_divergence_counted(reproduced_repo, tmp_path):
    params = yaml.safe_load((reproduced_repo / "params.yaml").read_text())
    params["depth"] = 4
    params["variants"] = {"boom": {"activation": "exponential", "initializer": "ones"}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    common = ["--params", str(tmp_path / "params.yaml"), "--data-dir", "data/prepared"]
    outputs = ["--model-dir", str(tmp_path / "m/boom"), "--records-dir", str(tmp_path / "t/boom")]
    train = run(
        [sys.executable, "-m", "stages.train", *common, "--variant", "boom", *outputs],
        reproduced_repo,
    )
    assert "train@boom: 2 of 2 replicates diverged (non-finite loss or weights)" in train.stdout
    inputs = ["--models-dir", str(tmp_path / "m"), "--training-dir", str(tmp_path / "t")]
    outputs = ["--metrics-dir", str(tmp_path / "metrics"), "--evaluation-dir", str(tmp_path / "e")]
    stage = [sys.executable, "-m", "stages.evaluate"]
    evaluate = run([*stage, *common, *inputs, *outputs], reproduced_repo)
    assert "success 0.00, collapse 1.00" in evaluate.stdout
    assert "diverged 2 of 2" in evaluate.stdout
    metrics = yaml.safe_load((tmp_path / "metrics/boom.json").read_text())
    assert metrics["diverged_rate"] == 1.0 and metrics["test"]["mse"] is None
    for output in (train, evaluate):  # 7. nothing but the project's own lines
        assert not [line for line in output.stderr.splitlines() if any(n in line for n in NOISE)]


# -- 2. losses that cannot train a sigmoid output on 0/1 targets -------------------------------
@pytest.mark.parametrize("loss", ["categorical_crossentropy", "sparse_categorical_crossentropy"])
def test_a_loss_that_cannot_train_this_output_is_refused_by_rule(loss):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["train"]["loss"] = loss
    with pytest.raises(ParamsError) as caught:
        parse_params(raw)
    message = str(caught.value)
    assert message.startswith(f"params.yaml: train.loss: '{loss}' is not allowed")
    assert "smallest where the prediction is t, with a gradient toward t elsewhere" in message


def test_the_loss_rule_keeps_the_losses_that_can_train():
    losses = set(keras_names_table()["losses"])
    assert {"mean_squared_error", "binary_crossentropy", "hinge", "log_cosh"} <= losses
    assert not {"categorical_crossentropy", "kl_divergence", "cosine_similarity"} & losses


# -- 4. no phase is silent ------------------------------------------------------------------
def test_every_phase_announces_itself_and_says_it_is_still_at_it(capsys):
    import time

    from or_gate.runtime import phase

    with phase("train@x", "compiling", every=0.05):
        time.sleep(0.3)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "train@x: compiling..."
    assert len([line for line in lines if line.startswith("train@x: still compiling (")]) >= 2


@pytest.mark.e2e
@pytest.mark.xdist_group("reproduced")
def test_a_repro_announces_every_phase_and_prints_no_tensorflow_noise(reproduced_repo):
    log = (reproduced_repo / "repro.log").read_text()
    for announced in (
        "train@relu: 2 replicates of depth 1 (relu, uniform) x 3 epochs x 160 steps",
        "train@relu: loading TensorFlow...",
        "train@relu: drawing the initial weights of 2 replicates...",
        "train@relu: compiling, then training...",
        "train@relu: saving 2 models and the training records...",
        "evaluate: 3 variants x 2 replicates on 7 test rows and the truth table",
        "evaluate: relu: predicting with 2 replicates...",
    ):
        assert announced in log
    assert not [line for line in log.splitlines() if any(n in line for n in NOISE)]
    assert "replicate 0: test predictions" not in log  # one summary line per variant


def test_out_of_memory_is_one_line_naming_what_ran_out():
    code = (
        "from or_gate.runtime import run\n"
        "def main(argv): raise MemoryError('cannot allocate 8 GB')\n"
        "run(main, [])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=quiet_env()
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "-c: error: out of memory (cannot allocate 8 GB); see the stage's plan above"
    ]


# -- 5. data that is not the OR gate -------------------------------------------------------------
def test_a_training_row_that_contradicts_or_is_refused(tmp_path):
    from or_gate.files.data import read_raw

    path = tmp_path / "OR-gate.data.csv"
    path.write_text("0,1,1\n1,1,1\n0,0,1\n")
    with pytest.raises(DataError) as caught:
        read_raw(path)
    assert str(caught.value) == (
        f"{path}:3: label y = 1 contradicts OR(0, 0) = 0; expected the OR gate's truth table"
    )


def test_a_test_file_missing_a_truth_table_input_is_refused(tmp_path):
    raw = REPO / "data/raw"
    (tmp_path / "OR-gate.data.csv").write_text((raw / "OR-gate.data.csv").read_text())
    (tmp_path / "OR-gate-test.data.csv").write_text("0,0,0\n0,1,1\n1,0,1\n0,0,0\n")
    paths = ["--raw-dir", str(tmp_path), "--out-dir", str(tmp_path / "out")]
    result = run([sys.executable, "-m", "stages.prepare", *paths], REPO, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"prepare: error: {tmp_path / 'OR-gate-test.data.csv'}: no row for the truth-table "
        "input(s) (1, 1); the test set must cover all four"
    ]


def test_a_large_training_file_is_read_compactly(tmp_path):
    from or_gate.files.data import read_raw

    path = tmp_path / "OR-gate.data.csv"
    path.write_text("0,1,1\n1,0,1\n0,0,0\n1,1,1\n" * 25_000)
    rows = read_raw(path)
    assert rows.shape == (100_000, 3) and rows.dtype == np.int8  # 3 bytes a row


# -- 8. born dead means no gradient can ever reach below a layer --------------------------------
def test_born_dead_is_a_blocked_layer_not_a_silent_one():
    from or_gate.architecture import Architecture
    from or_gate.model import StackedNetwork, stacked_initial_weights
    from or_gate.training import Splits, StackedTrainer, diagnose

    import tensorflow as tf

    x, y = or_rows(200, seed=3)
    x_all, y_all = tf.constant(x), tf.constant(y)
    tanh = Architecture(depth=1, width=2, activation="tanh", initializer="zeros")
    weights = stacked_initial_weights(tanh, [7])
    network = StackedNetwork(tanh, 1, "mean_squared_error")
    at_init = diagnose(network, tf.constant(weights), x_all, y_all)
    assert at_init.dead_fraction[0, 1] == 1.0  # outputs exactly 0 on every input...
    assert at_init.blocked_fraction[0, 1] == 0.0  # ...but tanh'(0) = 1: gradients pass
    data = Splits(x[:160], y[:160], x[160:], y[160:])
    trained = StackedTrainer(tanh, weights, data, train_settings(epochs=60, learning_rate=0.01))
    assert trained.fit([7]).history["val_accuracy"][-1, 0] == 1.0  # and it learns OR

    relu = Architecture(depth=1, width=2, activation="relu", initializer="uniform")
    flat = stacked_initial_weights(relu, [7])
    layers = relu.layout.unflatten(flat[0])
    layers[2] = -np.abs(layers[2])  # negative weights on positive inputs: z < 0 everywhere
    blocked = relu.layout.flatten(layers)[None]
    network = StackedNetwork(relu, 1, "mean_squared_error")
    measured = diagnose(network, tf.constant(blocked), x_all, y_all)
    assert measured.blocked_fraction[0, 1] == 1.0 and measured.dead_fraction[0, 1] == 1.0
    assert measured.kernel_gradient_norm[0, 0] == 0.0  # nothing reaches below it
