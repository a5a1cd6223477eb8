"""The sigmoid timeline (``tools/analysis/sigmoid_timeline.py``): the Adam-gate model's constants
measured at every epoch. Its constants against a table built to have known ones, its figure
redrawn from the committed table, the committed table against the command that writes it, and
the command's one-line refusals."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, run

from tools.analysis import sigmoid_timeline

MEAN_LOSS = 0.19


def built_timeline(depth: int = 4, epochs: int = 40) -> pd.DataFrame:
    """A timeline with known constants: phase A ends at epoch 7; after it the gradient falls
    0.8 decades a layer down the upper half of the net and is flat below (10^-6.5 at the
    first hidden layer, as in the real nets, whose lower layers phase A has moved); the
    top hidden kernel has moved 0.5 by then; hidden layer k moves (change >= 1) at epoch
    10 + 5 (k - 1); 0.75 of the replicates learned by the last epoch."""
    roles = ["input", *["hidden"] * depth, "output"]
    # by layer: input, then the flat lower half (not quite flat), then 0.8 a layer
    log10_gradient = [
        -7.0,
        -6.5,
        *(-6.3 + 0.8 * max(0, k - depth // 2) for k in range(2, depth + 2)),
    ]
    rows = []
    for epoch in range(epochs + 1):
        loss = np.nan if epoch == 0 else (0.3 if epoch < 7 else MEAN_LOSS * 1.005)
        for layer, role in enumerate(roles):
            moves_at = 10 + 5 * (layer - 1)
            change = 0.5 if epoch < moves_at else 1.0 + 0.1 * (epoch - moves_at)
            rows.append(
                {
                    "depth": depth,
                    "epsilon": 1e-7,
                    "learning_rate": 1e-3,
                    "epoch": epoch,
                    "layer": layer,
                    "role": role,
                    "rms_gradient": 10.0 ** log10_gradient[layer],
                    "rms_kernel": 0.03 + change,
                    "rms_kernel_change": 0.0 if epoch == 0 else change,
                    "saturated_share": 0.0,
                    "learned_share": np.nan if epoch == 0 else (0.75 if epoch == epochs else 0.0),
                    "median_loss": loss,
                }
            )
    return pd.DataFrame(rows, columns=sigmoid_timeline.TIMELINE_COLUMNS)


def test_the_constants_are_the_ones_the_table_was_built_with():
    found = sigmoid_timeline.timeline_constants(built_timeline(), MEAN_LOSS)
    assert found["phase_a_ends"] == 7
    assert found["decades_per_layer"] == pytest.approx(0.8)
    assert found["bottom_over_epsilon"] == pytest.approx(0.5)  # 10^-6.5 against 1e-7
    assert found["top_kernel_change"] == pytest.approx(0.5)
    assert found["first_hidden_moves"] == 10
    assert found["hidden_layers_moved"] == 4
    assert found["epochs_per_layer"] == pytest.approx(5.0)
    assert found["learned"] == 0.75
    assert (found["depth"], found["epochs"]) == (4, 40)


def test_phase_a_ends_only_within_the_margin_of_the_mean_label_fit():
    table = built_timeline()
    table.loc[table["epoch"].between(7, 11), "median_loss"] = MEAN_LOSS * 1.02  # 2% above
    assert sigmoid_timeline.timeline_constants(table, MEAN_LOSS)["phase_a_ends"] == 12


def test_a_layer_moves_at_the_threshold_itself_and_not_before():
    table = built_timeline()
    first = (table["layer"] == 1) & (table["epoch"] == 9)
    table.loc[first, "rms_kernel_change"] = sigmoid_timeline.MOVED  # exactly the threshold
    assert sigmoid_timeline.timeline_constants(table, MEAN_LOSS)["first_hidden_moves"] == 9
    table.loc[first, "rms_kernel_change"] = np.nextafter(sigmoid_timeline.MOVED, 0)
    assert sigmoid_timeline.timeline_constants(table, MEAN_LOSS)["first_hidden_moves"] == 10


def test_a_cascade_is_not_timed_from_fewer_than_three_layers():
    table = built_timeline()
    stalled = (table["layer"] >= 3) & (table["role"] == "hidden")
    table.loc[stalled, "rms_kernel_change"] = 0.5
    found = sigmoid_timeline.timeline_constants(table, MEAN_LOSS)
    assert found["hidden_layers_moved"] == 2
    assert found["epochs_per_layer"] is None


def test_the_mean_label_loss_is_the_labels_variance():
    labels = np.array([0, 1, 1, 1])
    assert sigmoid_timeline.mean_label_loss(labels) == pytest.approx(np.var(labels))


def test_the_timeline_rows_are_medians_over_replicates():
    """Three replicates, one hidden layer of 2 x 2: the RMS and the change by hand (medians,
    not means: one replicate far off)."""
    initial = [np.stack([np.zeros((2, 2)), np.zeros((2, 2)), np.full((2, 2), 1.0)])]
    kernels = [np.stack([np.full((2, 2), v) for v in (1.0, 3.0, 10.0)])]
    gradient_norms = np.array([[2.0], [4.0], [12.0]])  # norms of 4 weights: RMS 1, 2, 6
    saturated = np.array([[0.0], [1.0], [1.0]])
    history = {"accuracy": np.array([1.0, 0.5, 1.0]), "loss": np.array([0.1, 0.3, 0.9])}
    (row,) = sigmoid_timeline.timeline_rows(
        (1, 1e-7, 1e-3), ["hidden"], 5, kernels, initial, gradient_norms, saturated, history
    )
    found = dict(zip(sigmoid_timeline.TIMELINE_COLUMNS, row, strict=True))
    assert found["rms_gradient"] == pytest.approx(2.0)
    assert found["rms_kernel"] == pytest.approx(3.0)
    assert found["rms_kernel_change"] == pytest.approx(3.0)  # changes 1, 3, 9
    assert found["saturated_share"] == pytest.approx(2 / 3)
    assert found["learned_share"] == pytest.approx(2 / 3)
    assert found["median_loss"] == pytest.approx(0.3)


def test_the_committed_timeline_figure_redraws_from_its_committed_table(tmp_path):
    out = tmp_path / "timeline.png"
    table = REPO / sigmoid_timeline.TIMELINE
    sigmoid_timeline.draw_timeline(REPO, table, out)
    assert out.read_bytes() == (REPO / sigmoid_timeline.TIMELINE_FIGURE).read_bytes()


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("6,1e-7", "'6,1e-7' is not depth,epsilon,learning_rate,epochs"),
        ("0,1e-7,0.001,10", "--cell 0,1e-07,0.001,10: depth: 0 is not allowed"),
        ("3,1e-7,0.001,-5", "--cell 3,1e-07,0.001,-5: train.epochs: -5 is not allowed"),
    ],
)
def test_a_bad_cell_is_refused_in_one_line_before_any_training(tmp_path, cell, message):
    command = [sys.executable, "tools/sigmoid_gate.py", "timeline", "--cell", cell]
    result = run([*command, "--out-dir", str(tmp_path)], REPO, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_the_committed_timeline_is_what_its_command_trains(tmp_path):
    """The first committed cell, trained again by the command in a fresh process: the same
    bytes (about a minute)."""
    depth, epsilon, learning_rate, epochs = sigmoid_timeline.TIMELINE_CELLS[0]
    cell = f"{depth},{epsilon:g},{learning_rate:g},{epochs}"
    command = [sys.executable, "tools/sigmoid_gate.py", "timeline", "--cell", cell]
    run([*command, "--out-dir", str(tmp_path)], REPO)
    written = (tmp_path / "timeline.csv").read_text().splitlines()
    committed = (REPO / sigmoid_timeline.TIMELINE).read_text().splitlines()
    assert len(written) == 1 + (epochs + 1) * (depth + 2)
    assert written == committed[: len(written)]
