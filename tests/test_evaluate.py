"""evaluate's definitions: success, collapse, born dead, gradient ratio; scikit-learn as oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, mean_squared_error

from stages.evaluate import (
    COLLAPSE_SPAN,
    GRADIENT_FLOOR,
    gradient_ratios,
    log10_ratio,
    variant_metrics,
)
from stages.evaluate import (
    test_scores as score_replicate,
)

Y_TEST = np.array([0, 1, 1, 0, 0, 1, 1], np.float32)


def gradient_rows(kernel_first_hidden, output_bias, epochs=(0, 5)):
    rows = []
    for replicate, (kernel, bias) in enumerate(zip(kernel_first_hidden, output_bias, strict=True)):
        for epoch in epochs:
            for layer, role in enumerate(("input", "hidden", "hidden", "output")):
                rows.append(
                    {
                        "replicate": str(replicate),
                        "epoch": str(epoch),
                        "layer": str(layer),
                        "role": role,
                        "kernel_gradient_norm": str(kernel if layer == 1 else 0.5),
                        "bias_gradient_norm": str(bias if role == "output" else 0.5),
                    }
                )
    return rows


def unit_rows(dead_by_replicate, epochs=(0, 5)):
    rows = []
    for replicate, dead in enumerate(dead_by_replicate):
        for epoch in epochs:
            for layer, role in enumerate(("input", "hidden", "hidden", "output")):
                fraction = dead[layer - 1] if role == "hidden" else 0.0
                rows.append(
                    {
                        "replicate": str(replicate),
                        "epoch": str(epoch),
                        "layer": str(layer),
                        "role": role,
                        "dead_fraction": str(fraction),
                        "saturated_fraction": str(fraction),
                    }
                )
    return rows


def test_scores_agree_with_scikit_learn():
    predictions = np.array([0.2, 0.9, 0.4, 0.1, 0.6, 0.7, 0.51], np.float32)
    scores = score_replicate(Y_TEST, predictions)
    assert scores["accuracy"] == pytest.approx(5 / 7)
    assert scores["accuracy"] == accuracy_score(Y_TEST, predictions > 0.5)
    assert scores["mse"] == pytest.approx(mean_squared_error(Y_TEST, predictions))


def test_threshold_is_strictly_above_one_half_as_keras():
    assert (
        score_replicate(np.array([1.0], np.float32), np.array([0.5], np.float32))["accuracy"] == 0.0
    )


def test_variant_metrics_definitions():
    learned = np.array([0.01, 0.99, 0.98, 0.01, 0.01, 0.99, 0.99], np.float32)
    constant = np.full(7, 0.74, np.float32)
    half = np.array([0.01, 0.99, 0.3, 0.01, 0.01, 0.99, 0.99], np.float32)
    test_predictions = np.stack([learned, constant, half])
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
        test_predictions,
        truth,
        gradient_rows([1e-3, 0.0, 1e-25], [1e-1, 1e-1, 1e-2]),
        unit_rows([[0.0, 0.0], [0.5, 1.0], [0.5, 0.0]]),
    )
    assert metrics["replicates"] == 3
    assert metrics["test"]["accuracy"] == pytest.approx((1 + 4 / 7 + 6 / 7) / 3)
    assert metrics["test"]["accuracy_min"] == pytest.approx(4 / 7)  # constant 0.74: all "1"
    assert metrics["success_rate"] == pytest.approx(1 / 3)
    assert metrics["collapse_rate"] == pytest.approx(1 / 3)
    assert metrics["born_dead_rate"] == pytest.approx(1 / 3)  # replicate 1: a whole layer dead
    assert metrics["dead_units"]["init"] == pytest.approx((0 + 0.75 + 0.25) / 3)
    # ratios: -2, floor (1e-300 / 1e-1 -> -299), -23; median -23
    assert metrics["gradients"]["log10_ratio_at_init"] == pytest.approx(-23)
    expected_keys = {
        "replicates",
        "test",
        "success_rate",
        "collapse_rate",
        "born_dead_rate",
        "gradients",
        "dead_units",
        "saturated_units",
    }
    assert set(metrics) == expected_keys


def test_exact_zero_gradients_are_floored_and_stay_finite():
    assert log10_ratio(0.0, 0.05) == pytest.approx(math.log10(GRADIENT_FLOOR) - math.log10(0.05))
    assert math.isfinite(log10_ratio(0.0, 0.0))
    ratios = gradient_ratios(gradient_rows([0.0], [0.05]), epoch=0)
    assert ratios == [pytest.approx(-298.7, abs=0.05)]
