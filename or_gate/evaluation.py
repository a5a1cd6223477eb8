"""What the evaluation measures: one variant's replicates summarised as metrics.

Definitions (a regression task's rows and rule are ``or_gate/task.py``'s):
    success: test accuracy 1.0 (threshold 0.5, as Keras' binary accuracy; a regression
        target's rows within its tolerance);
    diverged: the training loss became non-finite in some epoch, or the trained network's
        outputs are not finite. A diverged replicate is never a success, counts as collapsed
        (its output does not depend on the input), scores accuracy 0, and is left out of the
        means that need finite numbers (test MSE, final unit shares and gradient ratio);
    collapse: the outputs for the four truth-table inputs (a regression target's test grid)
        span less than ``COLLAPSE_SPAN``, i.e. the network answers (nearly) the same thing
        whatever the input, or it diverged;
    born dead: at initialisation some hidden layer is blocked: every unit's activation
        derivative is exactly 0 on every training input, so no gradient can ever reach that
        layer's weights or anything below it, and training cannot make the output depend on
        the input (only the layers above, down to the output bias, learn: the mean label).
        A zero-bias ReLU layer is blocked with probability 1/4 (Lu et al. 2019); a tanh layer
        with all-zero weights outputs 0 but is not blocked (tanh'(0) = 1), and it learns;
    gradients.log10_ratio_*: log10(|dL/d kernel of the first hidden layer| /
        |dL/d bias of the output layer|), median over replicates; exact zeros are floored at
        ``GRADIENT_FLOOR`` so the number stays finite (a born-dead net scores about -299);
    dead_units / saturated_units: the mean share of hidden units dead or saturated, at
        initialisation and after the last epoch (see ``or_gate/training.py``).

Every replicate also has one outcome (:func:`replicate_outcomes`), the first of these that
holds: diverged; success; born dead; died in training (no hidden layer blocked at
initialisation, some hidden layer blocked after the last epoch); stalled (alive after the last
epoch, every layer passing gradient, yet not a success). The outcomes partition the replicates:
their shares of success and diverged are the success and diverged rates above.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from or_gate.task import OR_GATE, right

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# The metrics DVC shows and compares (metrics/<variant>.json): the answers. Every number, these
# included, is in the variant's summary (data/evaluation/<variant>/summary.json).
HEADLINE = ("success_rate", "collapse_rate", "born_dead_rate")

COLLAPSE_SPAN = 0.01
GRADIENT_FLOOR = 1e-300  # the smallest gradient norm a log10 is taken of


def score_replicates(
    y_test: np.ndarray, predictions: np.ndarray, task: str = OR_GATE
) -> tuple[np.ndarray, np.ndarray]:
    """Every replicate's test accuracy and MSE at once: (R,) each, float64. A row is right by
    the task's rule (``or_gate/task.py``): for the OR gate, at threshold 0.5.

    predictions: (R, rows). For the OR gate the arithmetic is scikit-learn's
    ``accuracy_score`` and ``mean_squared_error`` applied row by row (same dtype, same
    summation order), batched: ``tests/test_metrics.py`` checks the two are equal to the last
    bit. A replicate with a non-finite prediction has MSE NaN.
    """
    predictions = np.asarray(predictions)
    accuracy = np.mean(right(task, predictions, y_test[None, :]), axis=1, dtype=np.float64)
    # scikit-learn computes in the inputs' floating dtype (float64 only if neither is float)
    floating = [a.dtype for a in (y_test, predictions) if np.issubdtype(a.dtype, np.floating)]
    dtype = np.result_type(*floating) if floating else np.float64
    errors = (y_test.astype(dtype)[None, :] - predictions.astype(dtype)) ** 2
    mse = np.mean(errors, axis=1).astype(np.float64)
    finite = np.isfinite(predictions).all(axis=1)
    return accuracy, np.where(finite, mse, np.nan)


def log10_ratio(numerator: float, denominator: float) -> float:
    return math.log10(max(numerator, GRADIENT_FLOOR)) - math.log10(max(denominator, GRADIENT_FLOOR))


def gradient_ratios(gradients: pd.DataFrame, epoch: int) -> list[float]:
    """Per replicate: first hidden kernel's gradient norm over the output bias's, in log10."""
    at_epoch = gradients[gradients["epoch"] == epoch]
    hidden = at_epoch[at_epoch["role"] == "hidden"]
    first_hidden = hidden[hidden["layer"] == hidden["layer"].min()]  # 0 without an input layer
    output = at_epoch[at_epoch["role"] == "output"]
    kernel = first_hidden.set_index("replicate")["kernel_gradient_norm"].sort_index()
    bias = output.set_index("replicate")["bias_gradient_norm"].sort_index()
    return [log10_ratio(k, b) for k, b in zip(kernel.to_numpy(), bias.to_numpy(), strict=True)]


def unit_fractions(units: pd.DataFrame, epoch: int, column: str) -> np.ndarray:
    """Per replicate and hidden layer, the share of units dead/saturated: (R, depth)."""
    hidden = units[(units["epoch"] == epoch) & (units["role"] == "hidden")]
    table = hidden.pivot(index="replicate", columns="layer", values=column).sort_index()
    return table.sort_index(axis=1).to_numpy(dtype=float)


def blocked_replicates(units: pd.DataFrame, epoch: int) -> np.ndarray:
    """(R,) booleans: some hidden layer has every unit blocked at ``epoch`` (born dead at 0)."""
    return np.any(unit_fractions(units, epoch, "blocked_fraction") == 1.0, axis=1)


def diverged_replicates(
    history: pd.DataFrame, test_predictions: np.ndarray, truth_table_predictions: np.ndarray
) -> np.ndarray:
    """(R,) booleans: the training loss was non-finite in some epoch (an empty cell in
    history.csv), or the trained network's outputs are not finite."""
    loss = history.pivot(index="epoch", columns="replicate", values="loss").sort_index(axis=1)
    outputs = np.concatenate([test_predictions, truth_table_predictions], axis=1)
    return ~np.isfinite(loss.to_numpy()).all(axis=0) | ~np.isfinite(outputs).all(axis=1)


OUTCOMES = ("success", "stalled", "died_in_training", "born_dead", "diverged")


def replicate_outcomes(
    y_test: np.ndarray,
    test_predictions: np.ndarray,
    truth_table_predictions: np.ndarray,
    training: dict[str, pd.DataFrame],
    task: str = OR_GATE,
) -> np.ndarray:
    """(R,) every replicate's outcome, one of ``OUTCOMES`` (precedence in the module docstring),
    from the same records and definitions as :func:`variant_metrics`."""
    units = training["units"]
    diverged = diverged_replicates(training["history"], test_predictions, truth_table_predictions)
    accuracy, _ = score_replicates(y_test, test_predictions, task)
    final = int(units["epoch"].max())
    conditions = [
        diverged,
        accuracy == 1.0,
        blocked_replicates(units, 0),
        blocked_replicates(units, final),
    ]
    names = ["diverged", "success", "born_dead", "died_in_training"]
    return np.select(conditions, names, default="stalled")


def _mean(values: np.ndarray) -> float:
    """The mean, or NaN (written as null) when there is nothing to average."""
    return float(values.mean()) if values.size else math.nan


def variant_metrics(
    y_test: np.ndarray,
    test_predictions: np.ndarray,
    truth_table_predictions: np.ndarray,
    training: dict[str, pd.DataFrame],
    task: str = OR_GATE,
) -> dict:
    """All metrics of one variant. Predictions are (replicates, rows), the truth table's those
    of the task's collapse inputs (``or_gate/task.py``); ``training`` is the variant's history,
    gradients and units tables (``or_gate/files/records.py``)."""
    gradients, units = training["gradients"], training["units"]
    diverged = diverged_replicates(training["history"], test_predictions, truth_table_predictions)
    kept = ~diverged
    accuracy, mse = score_replicates(y_test, test_predictions, task)
    accuracy = np.where(diverged, 0.0, accuracy)
    spans = truth_table_predictions.max(axis=1) - truth_table_predictions.min(axis=1)
    final = int(gradients["epoch"].max())
    final_ratios = np.array(gradient_ratios(gradients, final))[kept]
    return {
        "replicates": len(test_predictions),
        "test": {
            "accuracy": float(accuracy.mean()),
            "accuracy_min": float(accuracy.min()),
            "mse": _mean(mse[kept]),
        },
        "success_rate": float(np.mean((accuracy == 1.0) & kept)),
        "collapse_rate": float(np.mean((spans < COLLAPSE_SPAN) | diverged)),
        "born_dead_rate": float(np.mean(blocked_replicates(units, 0))),
        "diverged_rate": float(np.mean(diverged)),
        "gradients": {
            "log10_ratio_at_init": float(np.median(gradient_ratios(gradients, 0))),
            "log10_ratio_final": float(np.median(final_ratios)) if final_ratios.size else math.nan,
        },
        "dead_units": {
            "init": float(unit_fractions(units, 0, "dead_fraction").mean()),
            "final": _mean(unit_fractions(units, final, "dead_fraction")[kept]),
        },
        "saturated_units": {
            "init": float(unit_fractions(units, 0, "saturated_fraction").mean()),
            "final": _mean(unit_fractions(units, final, "saturated_fraction")[kept]),
        },
    }


def headline(metrics: dict) -> dict:
    """The metrics DVC shows, of a variant's summary."""
    return {key: metrics[key] for key in HEADLINE}


def summary_line(name: str, metrics: dict) -> str:
    return (
        f"evaluate: {name}: test accuracy {metrics['test']['accuracy']:.3f} "
        f"(min {metrics['test']['accuracy_min']:.3f}), success {metrics['success_rate']:.2f}, "
        f"collapse {metrics['collapse_rate']:.2f}, born dead {metrics['born_dead_rate']:.2f}, "
        f"diverged {round(metrics['diverged_rate'] * metrics['replicates'])} of "
        f"{metrics['replicates']}, "
        f"log10 gradient ratio at init {metrics['gradients']['log10_ratio_at_init']:.1f}"
    )
