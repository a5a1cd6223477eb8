"""The evaluation's definitions, against numbers worked out by hand.

Every expected value below is computed in the test from its definition (the docstring of
``or_gate/evaluation.py``) with plain arithmetic, not with the library the code uses.
"""

from __future__ import annotations

import math

from or_gate.evaluation import (
    COLLAPSE_SPAN,
    GRADIENT_FLOOR,
    gradient_ratios,
    log10_ratio,
    replicate_outcomes,
    score_replicates,
    summary_line,
    variant_metrics,
)

import numpy as np
import pandas as pd
import pytest

Y_TEST = np.array([0, 1, 1, 0, 0, 1, 1], np.float32)
ROLES = ("input", "hidden", "hidden", "output")


def gradients_table(kernel_first_hidden, output_bias, final_scale=10.0):
    """At epoch 0 the given norms; at the final epoch (5) the kernel norms times
    ``final_scale`` (bias norms unchanged)."""
    rows = []
    for replicate, (kernel, bias) in enumerate(zip(kernel_first_hidden, output_bias, strict=True)):
        for epoch, scale in ((0, 1.0), (5, final_scale)):
            for layer, role in enumerate(ROLES):
                rows.append(
                    (
                        replicate,
                        epoch,
                        layer,
                        role,
                        scale * (kernel if layer == 1 else 0.5),
                        bias if role == "output" else 0.5,
                    )
                )
    columns = ("replicate", "epoch", "layer", "role", "kernel_gradient_norm", "bias_gradient_norm")
    return pd.DataFrame(rows, columns=columns)


def units_table(dead_init, dead_final, saturated_init, saturated_final):
    """(replicate, hidden layer) fractions at epochs 0 and 5; input/output layers 0. Blocked
    equals dead, as for ReLU units."""
    rows = []
    for epoch, dead, saturated in (
        (0, dead_init, saturated_init),
        (5, dead_final, saturated_final),
    ):
        for replicate in range(len(dead)):
            for layer, role in enumerate(ROLES):
                hidden = role == "hidden"
                rows.append(
                    (
                        replicate,
                        epoch,
                        layer,
                        role,
                        dead[replicate][layer - 1] if hidden else 0.0,
                        saturated[replicate][layer - 1] if hidden else 0.0,
                        dead[replicate][layer - 1] if hidden else 0.0,
                    )
                )
    columns = ("replicate", "epoch", "layer", "role", "dead_fraction", "saturated_fraction")
    return pd.DataFrame(rows, columns=(*columns, "blocked_fraction"))


def history_table(replicates: int) -> pd.DataFrame:
    """Finite losses: no replicate diverged."""
    rows = [(k, epoch, 0.2, 0.5, 0.2, 0.5) for k in range(replicates) for epoch in (1, 2)]
    columns = ("replicate", "epoch", "loss", "accuracy", "val_loss", "val_accuracy")
    return pd.DataFrame(rows, columns=columns)


def test_replicate_scores_by_hand():
    predictions = np.array([[0.2, 0.9, 0.4, 0.1, 0.6, 0.7, 0.51]], np.float32)
    accuracy, mse = score_replicates(Y_TEST, predictions)
    # labels at > 0.5: 0,1,0,0,1,1,1 against 0,1,1,0,0,1,1: rows 3 and 5 wrong
    assert accuracy[0] == pytest.approx(5 / 7)
    squared = [0.2**2, 0.1**2, 0.6**2, 0.1**2, 0.6**2, 0.3**2, 0.49**2]
    assert mse[0] == pytest.approx(sum(squared) / 7, rel=1e-6)


def test_threshold_is_strictly_above_one_half_as_keras():
    accuracy, _ = score_replicates(np.array([1.0], np.float32), np.array([[0.5]], np.float32))
    assert accuracy[0] == 0.0


@pytest.mark.parametrize("label_dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("prediction_dtype", [np.float32, np.float64, np.int64])
def test_batched_scores_equal_scikit_learn_per_replicate_to_the_bit(label_dtype, prediction_dtype):
    """The oracle: scikit-learn's accuracy_score and mean_squared_error, one replicate at a
    time, give exactly the batched numbers (the metrics' bytes depend on it)."""
    from sklearn.metrics import accuracy_score, mean_squared_error

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 7).astype(label_dtype)
    integers = np.issubdtype(prediction_dtype, np.integer)  # both integer: float64 arithmetic
    if integers:
        predictions = rng.integers(-1, 3, (100, 7)).astype(prediction_dtype)
    else:
        predictions = rng.uniform(0, 1, (100, 7)).astype(prediction_dtype)
        predictions[::13] = np.round(predictions[::13])  # some predictions exactly 0 or 1
        predictions[5, 2] = np.nan
    accuracy, mse = score_replicates(labels, predictions)
    for k, row in enumerate(predictions):
        assert accuracy[k] == accuracy_score(labels.astype(int), (row > 0.5).astype(int))
        if k == 5 and not integers:
            assert math.isnan(mse[k])
        else:
            assert mse[k] == mean_squared_error(labels, row)


def test_variant_metrics_definitions():
    learned = np.array([0.01, 0.99, 0.98, 0.01, 0.01, 0.99, 0.99], np.float32)
    constant = np.full(7, 0.74, np.float32)
    half = np.array([0.01, 0.99, 0.3, 0.01, 0.01, 0.99, 0.99], np.float32)
    truth = np.array(
        [
            [0.01, 0.98, 0.99, 0.99],
            [0.74, 0.74, 0.74, 0.74 + COLLAPSE_SPAN / 2],
            [0.01, 0.99, 0.3, 0.99],
        ],
        np.float32,
    )
    metrics = variant_metrics(
        Y_TEST,
        np.stack([learned, constant, half]),
        truth,
        {
            "history": history_table(3),
            "gradients": gradients_table([1e-3, 0.0, 1e-25], [1e-1, 1e-1, 1e-2], final_scale=10.0),
            "units": units_table(
                dead_init=[[0.0, 0.0], [0.5, 1.0], [0.5, 0.0]],
                dead_final=[[0.0, 0.0], [1.0, 1.0], [0.5, 0.0]],
                saturated_init=[[0.5, 0.5], [0.0, 0.0], [0.0, 0.0]],
                saturated_final=[[1.0, 0.5], [1.0, 1.0], [0.0, 0.5]],
            ),
        },
    )
    assert metrics["replicates"] == 3
    # accuracies 7/7, 4/7 (constant 0.74 answers "1" everywhere), 6/7
    assert metrics["test"]["accuracy"] == pytest.approx((1 + 4 / 7 + 6 / 7) / 3)
    assert metrics["test"]["accuracy_min"] == pytest.approx(4 / 7)
    mse = [
        np.mean((Y_TEST.astype(float) - p.astype(float)) ** 2) for p in (learned, constant, half)
    ]
    assert metrics["test"]["mse"] == pytest.approx(sum(mse) / 3, rel=1e-6)
    assert metrics["success_rate"] == pytest.approx(1 / 3)
    assert metrics["collapse_rate"] == pytest.approx(1 / 3)
    assert metrics["born_dead_rate"] == pytest.approx(1 / 3)  # replicate 1: a layer blocked
    assert metrics["diverged_rate"] == 0.0
    assert metrics["dead_units"]["init"] == pytest.approx((0 + 0 + 0.5 + 1 + 0.5 + 0) / 6)
    assert metrics["dead_units"]["final"] == pytest.approx((0 + 0 + 1 + 1 + 0.5 + 0) / 6)
    assert metrics["saturated_units"]["init"] == pytest.approx((0.5 + 0.5) / 6)
    assert metrics["saturated_units"]["final"] == pytest.approx((1 + 0.5 + 1 + 1 + 0 + 0.5) / 6)
    # log10 ratios at init: -2, floor (log10(1e-300) - log10(0.1) = -299), -23: median -23.
    assert metrics["gradients"]["log10_ratio_at_init"] == pytest.approx(-23)
    # at the final epoch the kernel norms are 10x larger: -1, -299 (0 stays 0), -22.
    assert metrics["gradients"]["log10_ratio_final"] == pytest.approx(-22)
    assert set(metrics) == {
        "replicates",
        "test",
        "success_rate",
        "collapse_rate",
        "born_dead_rate",
        "diverged_rate",
        "gradients",
        "dead_units",
        "saturated_units",
    }


def test_final_gradient_ratio_reads_the_final_epoch():
    table = gradients_table([1e-3], [1e-1], final_scale=1.0)
    final = (table["epoch"] == 5) & (table["layer"] == 1)
    table.loc[final, "kernel_gradient_norm"] = 1e-6  # only the final epoch's first hidden
    assert gradient_ratios(table, 0) == [pytest.approx(-2)]
    assert gradient_ratios(table, 5) == [pytest.approx(-5)]


def test_without_an_input_layer_the_first_hidden_layer_is_layer_0():
    """A variant without the input layer records hidden layers from 0: the ratio is layer
    0's kernel over the output bias, not the second hidden layer's."""
    table = gradients_table([1e-3], [1e-1], final_scale=1.0)
    table = table[table["role"] != "input"].copy()
    table["layer"] -= 1  # hidden, hidden, output at layers 0, 1, 2
    table.loc[table["layer"] == 0, "kernel_gradient_norm"] = 1e-4
    assert gradient_ratios(table, 0) == [pytest.approx(-3)]


def test_exact_zero_gradients_are_floored_and_stay_finite():
    assert log10_ratio(0.0, 0.05) == pytest.approx(math.log10(GRADIENT_FLOOR) - math.log10(0.05))
    assert math.isfinite(log10_ratio(0.0, 0.0))
    assert gradient_ratios(gradients_table([0.0], [0.05]), epoch=0) == [
        pytest.approx(-298.7, abs=0.05)
    ]


def test_born_dead_counts_blocked_layers_not_silent_ones():
    units = units_table(
        dead_init=[[1.0, 0.0]],
        dead_final=[[0.0, 0.0]],
        saturated_init=[[0.0, 0.0]],
        saturated_final=[[0.0, 0.0]],
    )
    units["blocked_fraction"] = 0.0  # a tanh/zeros layer: outputs 0, but gradients pass
    training = {
        "history": history_table(1),
        "gradients": gradients_table([0.1], [0.1]),
        "units": units,
    }
    truth = np.array([[0.01, 0.99, 0.99, 0.99]], np.float32)
    learned = np.where(Y_TEST == 1, 0.99, 0.01)[None].astype(np.float32)
    metrics = variant_metrics(Y_TEST, learned, truth, training)
    assert metrics["dead_units"]["init"] == 0.5 and metrics["born_dead_rate"] == 0.0
    units["blocked_fraction"] = units["dead_fraction"]
    assert variant_metrics(Y_TEST, learned, truth, training)["born_dead_rate"] == 1.0


def metrics_of(truth: np.ndarray, history=None, dead_final=None) -> dict:
    """variant_metrics of replicates whose test predictions are their truth-table ones."""
    replicates = len(truth)
    dead = dead_final or [[0.0, 0.0]] * replicates
    return variant_metrics(
        Y_TEST,
        np.repeat(truth[:, :1], len(Y_TEST), axis=1),
        truth,
        {
            "history": history_table(replicates) if history is None else history,
            "gradients": gradients_table([1e-3] * replicates, [1e-1] * replicates),
            "units": units_table([[0.0, 0.0]] * replicates, dead, *[[[0.0, 0.0]] * replicates] * 2),
        },
    )


def test_a_span_of_exactly_the_collapse_span_is_not_a_collapse():
    """In float32, as the predictions are: a span equal to COLLAPSE_SPAN answers something
    different per input (not collapsed); anything below it is a collapse."""
    span = np.float32(COLLAPSE_SPAN)
    just_below = np.nextafter(span, np.float32(0))
    truth = np.array([[0.0, 0.0, 0.0, span], [0.0, 0.0, 0.0, just_below]], np.float32)
    assert metrics_of(truth)["collapse_rate"] == 0.5  # the second replicate only


def test_diverged_replicates_are_left_out_of_the_final_unit_shares():
    history = history_table(2)
    history.loc[history["replicate"] == 1, "loss"] = np.nan  # replicate 1 diverged
    truth = np.array([[0.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0]], np.float32)
    metrics = metrics_of(truth, history, dead_final=[[0.0, 0.0], [1.0, 1.0]])
    assert metrics["diverged_rate"] == 0.5
    assert metrics["dead_units"]["final"] == 0.0  # not 0.5: the diverged one is not counted
    assert metrics["saturated_units"]["final"] == 0.0


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


def test_the_summary_line_says_every_rate_of_the_variant():
    metrics = {
        "replicates": 5,
        "test": {"accuracy": 0.82857, "accuracy_min": 0.5714},
        "success_rate": 0.6,
        "collapse_rate": 0.4,
        "born_dead_rate": 0.2,
        "diverged_rate": 0.2,
        "gradients": {"log10_ratio_at_init": -1.72},
    }
    assert summary_line("relu", metrics) == (
        "evaluate: relu: test accuracy 0.829 (min 0.571), success 0.60, collapse 0.40, born dead "
        "0.20, diverged 1 of 5, log10 gradient ratio at init -1.7"
    )


def test_gradient_tables_that_disagree_on_the_replicates_are_refused():
    table = gradients_table([1e-3, 1e-3], [1e-1, 1e-1])
    broken = table[~((table["replicate"] == 1) & (table["role"] == "output"))]
    with pytest.raises(ValueError):
        gradient_ratios(broken, 0)


def test_every_replicate_has_the_first_outcome_that_holds():
    """Six replicates, one per case: each outcome, and a born-dead replicate that diverged
    (diverged comes first). Born dead is a layer blocked at epoch 0, died in training one
    blocked only at the final epoch (5); stalled is alive and wrong."""
    learned = np.where(Y_TEST == 1, 0.99, 0.01).astype(np.float32)
    wrong = np.full(len(Y_TEST), 0.7, np.float32)
    test = np.stack([learned, wrong, wrong, wrong, wrong, learned])
    truth = np.tile(np.array([[0.01, 0.99, 0.99, 0.99]], np.float32), (6, 1))
    units = units_table(
        dead_init=[[0.0, 0.0], [0.5, 0.5], [0.0, 0.5], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]],
        dead_final=[[0.0, 0.0], [0.5, 0.5], [1.0, 0.5], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]],
        saturated_init=[[0.0, 0.0]] * 6,
        saturated_final=[[0.0, 0.0]] * 6,
    )
    history = history_table(6)
    history.loc[(history["replicate"] == 4) & (history["epoch"] == 2), "loss"] = np.nan
    training = {"history": history, "gradients": gradients_table([0.1] * 6, [0.1] * 6)}
    outcomes = replicate_outcomes(Y_TEST, test, truth, {**training, "units": units})
    assert outcomes.tolist() == [
        "success",
        "stalled",  # half the units dead, but no layer blocked: gradients still pass
        "died_in_training",
        "born_dead",
        "diverged",  # born dead too, but its loss went non-finite
        "success",
    ]
    metrics = variant_metrics(Y_TEST, test, truth, {**training, "units": units})
    assert metrics["success_rate"] == np.mean(outcomes == "success")
    assert metrics["diverged_rate"] == np.mean(outcomes == "diverged")
