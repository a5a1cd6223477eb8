"""The task (or_gate/task.py): the OR gate as before, and Lu et al.'s regression target |x|.

Oracles: the target's closed form (y = |x| on every drawn and grid row), scikit-learn's
accuracy for the OR gate's rule, the trainer's own TensorFlow rule against the NumPy one, and
``keras.Model.fit`` training the regression net (linear output, one input) from the same
weights on the same rows. Then the pipeline's stages, in this process, on a regression task.
"""

from __future__ import annotations

import json

from or_gate.architecture import Architecture
from or_gate.model import StackedNetwork, initial_weights, stacked_initial_weights
from or_gate.params import Task, parse_params
from or_gate.runtime import ParamsError
from or_gate.task import (
    ABS,
    GRID_POINTS,
    OR_GATE,
    TOLERANCE,
    grid_rows,
    regression_rows,
    right,
)
from or_gate.training import Splits, StackedTrainer

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, train_settings
from sklearn.metrics import accuracy_score

TASK = Task(name=ABS, points=50, seed=3, low=-1.5, high=2.0)
REGRESSION = Architecture(
    3, 2, "relu", "he_normal", input_layer=False, inputs=1, output_activation="linear"
)


def test_the_regression_rows_are_the_target_of_uniform_draws_in_the_range():
    rows = regression_rows(TASK)
    assert rows.dtype == np.float32 and rows.shape == (TASK.points, 2)
    x, y = rows[:, 0], rows[:, 1]
    np.testing.assert_array_equal(y, np.abs(x))
    assert (TASK.low <= x).all() and (x < TASK.high).all()
    assert (x < 0).any() and (x > 0).any()  # both halves of the V
    np.testing.assert_array_equal(regression_rows(TASK), rows)  # the same rows every time
    other = regression_rows(TASK.model_copy(update={"seed": 4}))
    assert not np.array_equal(other, rows)


def test_the_test_grid_spans_the_range_evenly_ends_included():
    rows = grid_rows(TASK)
    assert rows.dtype == np.float32 and rows.shape == (GRID_POINTS, 2)  # as the nets read them
    assert rows[0, 0] == np.float32(TASK.low) and rows[-1, 0] == np.float32(TASK.high)
    np.testing.assert_allclose(np.diff(rows[:, 0]), 3.5 / (GRID_POINTS - 1), rtol=1e-5)
    np.testing.assert_array_equal(rows[:, 1], np.abs(rows[:, 0]))


def test_a_row_is_right_by_its_task_s_rule():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200).astype(np.float32)
    outputs = rng.uniform(0, 1, 200).astype(np.float32)
    outputs[:3] = [0.5, 0.5000001, 0.4999999]
    assert right(OR_GATE, outputs, labels).mean() == accuracy_score(labels, outputs > 0.5)
    targets = np.array([1.0, 1.0, 0.0, 0.0], np.float64)
    near = np.array([1.0 + TOLERANCE / 2, 1.0 + 2 * TOLERANCE, -TOLERANCE / 2, TOLERANCE])
    assert right(ABS, near, targets).tolist() == [True, False, True, False]  # within, strictly


@pytest.mark.parametrize("task", [OR_GATE, ABS])
def test_the_trainer_s_rule_is_the_evaluation_s(task):
    """The history's accuracy (TensorFlow, while training) and the metrics' (NumPy, after)
    count the same rows right."""
    output = "sigmoid" if task == OR_GATE else "linear"
    architecture = Architecture(1, 2, "relu", "he_normal", output_activation=output)
    network = StackedNetwork(architecture, 1, "mean_squared_error")
    rng = np.random.default_rng(1)
    targets = rng.integers(0, 2, 500).astype(np.float32)
    outputs = (targets + rng.normal(0, 0.1 if task == ABS else 0.5, 500)).astype(np.float32)
    ours = np.asarray(network.correct(outputs, targets)).astype(bool)
    np.testing.assert_array_equal(ours, right(task, outputs, targets))
    assert 0 < ours.mean() < 1


def test_a_regression_net_trains_as_keras_fit_trains_it():
    from test_training import WEIGHT_TOLERANCE, fit_alone_with_keras

    rows = regression_rows(TASK)
    data = Splits(rows[:40, :1], rows[:40, 1], rows[40:, :1], rows[40:, 1])
    settings = train_settings(epochs=3, batch_size=4, learning_rate=0.01)
    seeds = [21, 22]
    stacked = StackedTrainer(
        REGRESSION, stacked_initial_weights(REGRESSION, seeds), data, settings
    ).fit(seeds)
    weights, history = fit_alone_with_keras(REGRESSION, seeds[1], data, settings)
    ours = REGRESSION.layout.unflatten(stacked.weights[1])
    moved = max(
        np.abs(a - b).max() for a, b in zip(ours, initial_weights(REGRESSION, 22), strict=True)
    )
    assert moved > 1e-3, "the comparison is between two untrained networks"
    for ours_w, keras_w in zip(ours, weights, strict=True):
        np.testing.assert_allclose(ours_w, keras_w, atol=WEIGHT_TOLERANCE, rtol=0)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(stacked.history[key][:, 1], history[key], atol=1e-6)
    # the last epoch's validation accuracy: the task's rule on Keras' own final predictions
    keras_net = StackedNetwork(REGRESSION, 1, "mean_squared_error")
    flat = np.concatenate([w.ravel() for w in weights])[None, :]
    predicted = keras_net.predict(flat, data.x_val)[0]
    expected = right(ABS, predicted, data.y_val).mean()
    assert stacked.history["val_accuracy"][-1, 1] == pytest.approx(expected)


def test_a_regression_architecture_says_so_and_an_or_gate_one_is_unchanged(raw):
    raw["task"]["name"] = ABS
    raw["variants"] = {"relu": {"activation": "relu", "initializer": "he_normal"}}
    architecture = Architecture.of(parse_params(raw), "relu")
    assert (architecture.inputs, architecture.output_activation) == (1, "linear")
    assert architecture.layers[-1].activation == "linear"
    assert architecture.layout.shapes[0] == (1, 2)  # the input layer's kernel takes x alone
    document = architecture.to_json()
    assert (document["inputs"], document["output_activation"]) == (1, "linear")
    # The OR gate's architecture.json keeps its keys (and so its bytes in every committed run):
    # built here from params, not read from models/, which only `dvc repro` writes.
    raw["task"]["name"] = OR_GATE
    or_gate_document = Architecture.of(parse_params(raw), "relu").to_json()
    assert "inputs" not in or_gate_document and "output_activation" not in or_gate_document
    assert Architecture(**or_gate_document).output_activation == "sigmoid"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "xor"}, "task.name: 'xor' is not allowed; expected one of or_gate, abs"),
        ({"low": 1.0, "high": 1.0}, "task: low 1 is not below high 1; the input range is"),
        ({"name": ABS, "loss": "binary_crossentropy"}, "train.loss: binary_crossentropy does not"),
    ],
)
def test_a_bad_task_is_one_line_naming_what_is_allowed(raw, change, message):
    loss = change.pop("loss", None)
    raw["task"].update(change)
    if loss:
        raw["train"]["loss"] = loss
    with pytest.raises(ParamsError) as refused:
        parse_params(raw)
    assert str(refused.value).startswith(f"params.yaml: {message}"), refused.value
    assert "\n" not in str(refused.value)


def run_regression_stages(tmp_path, raw) -> dict:
    """prepare -> train -> evaluate -> plot, each stage's main in this process, on a small
    regression params file; the output folders by name."""
    import runpy

    import yaml

    raw.update(depth=2, replicates=4)
    raw["task"].update(name=ABS, points=40)
    raw["train"]["epochs"] = 2
    raw["variants"] = {
        "relu": {"activation": "relu", "initializer": "he_normal", "input_layer": False}
    }
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    out = {n: tmp_path / n for n in ("prepared", "models", "metrics", "evaluation", "figures")}
    stages = {
        "prepare": ["--raw-dir", "data/raw", "--out-dir", out["prepared"]],
        "train": ["--variant", "relu", "--data-dir", out["prepared"], "--model-dir",
                  out["models"] / "relu"],
        "evaluate": ["--data-dir", out["prepared"], "--models-dir", out["models"],
                     "--metrics-dir", out["metrics"], "--evaluation-dir", out["evaluation"]],
        "plot": ["--models-dir", out["models"], "--evaluation-dir", out["evaluation"],
                 "--figures-dir", out["figures"], "--charts-dir", tmp_path / "charts"],
    }  # fmt: skip
    for stage, argv in stages.items():
        script = runpy.run_path(str(REPO / "stages" / f"{stage}.py"), run_name="test")
        script["main"](["--params", str(params), *map(str, argv)])
    return out


def test_the_stages_run_a_regression_task_end_to_end(tmp_path, raw):
    """The splits are x,y rows of |x|, the models have one input and a linear output, the
    metrics count what the predictions show, and the fitted curves are drawn."""
    out = run_regression_stages(tmp_path, raw)
    train = pd.read_csv(out["prepared"] / "train.csv")
    assert list(train.columns) == ["x", "y"] and len(train) == 32  # 40 rows, the last 8 held out
    np.testing.assert_array_equal(train["y"], train["x"].abs())
    model = json.loads((out["models"] / "relu/architecture.json").read_text())
    assert (model["inputs"], model["output_activation"]) == (1, "linear")
    predictions = pd.read_csv(out["evaluation"] / "relu/predictions.csv")
    assert list(predictions.columns) == ["split", "replicate", "row", "x", "y", "prediction"]
    assert set(predictions["split"]) == {"test"} and predictions["row"].nunique() == GRID_POINTS
    by_replicate = predictions.groupby("replicate")
    spans = by_replicate["prediction"].max() - by_replicate["prediction"].min()
    fitted = by_replicate.apply(lambda p: (abs(p["prediction"] - p["y"]) < TOLERANCE).all())
    metrics = json.loads((out["metrics"] / "relu.json").read_text())
    assert metrics["collapse_rate"] == (spans < 0.01).mean()
    assert metrics["success_rate"] == fitted.mean()
    assert (out["figures"] / "fitted_curves.png").stat().st_size > 0
    assert not (out["figures"] / "decision_surfaces.png").exists()
