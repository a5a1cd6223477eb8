"""What the nets learn: the write-up's OR gate, or a regression target as in Lu et al.'s papers.

``task.name`` in params.yaml chooses one; everything that differs between them is here.

* ``or_gate`` (the write-up's): two 0/1 inputs, the label x1 OR x2, rows read from
  ``data/raw/``; the output layer is the write-up's Dense(1, sigmoid); a row is right when the
  prediction is on its label's side of 0.5 (Keras' binary accuracy); collapse is judged on the
  four truth-table inputs.
* ``abs``: Lu et al.'s first example, f(x) = |x| ("Collapse of deep and narrow neural nets",
  2018; "Dying ReLU and initialization", 2020). One input x; ``task.points`` training rows
  drawn uniformly from [``task.low``, ``task.high``] by numpy's ``default_rng(task.seed)``; the
  test rows, on which collapse is also judged, are ``GRID_POINTS`` evenly spaced over the same
  range. The output layer is Dense(1, linear): a regression net's output is not squashed. A
  row is right when the prediction is within ``TOLERANCE`` of the target.

A success is a net right on every test row, whatever the task; a collapse, a net whose outputs
on the collapse inputs span less than ``or_gate.evaluation.COLLAPSE_SPAN`` (Lu et al.'s
collapse: the net converges to a constant, the target's mean or median). The papers' input
range, number of points, optimizer and epochs are not in the sources this project could read:
params.yaml states the ones used. No TensorFlow at import: ``validate`` and ``prepare`` use
this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from or_gate.params import Task

OR_GATE, ABS = "or_gate", "abs"
TASKS = (OR_GATE, ABS)
REGRESSION_TARGETS = {ABS: np.abs}  # task name -> the target f(x), elementwise

INPUTS = {OR_GATE: 2, ABS: 1}
OUTPUT_ACTIVATION = {OR_GATE: "sigmoid", ABS: "linear"}
# The losses that fit a regression target: each smallest where the prediction is the target.
REGRESSION_LOSSES = ("mean_squared_error", "mse", "mean_absolute_error", "mae", "huber", "log_cosh")

TOLERANCE = 0.05  # a regression row is right when |prediction - target| < this
GRID_POINTS = 41  # test rows of a regression task, evenly spaced over its range
# The prediction split on which collapse is judged (predictions.csv's "split" column).
COLLAPSE_SPLIT = {OR_GATE: "truth_table", ABS: "test"}


def is_regression(name: str) -> bool:
    return name in REGRESSION_TARGETS


def regression_rows(task: Task) -> np.ndarray:
    """The training rows of a regression task before the validation split: ``task.points``
    rows (x, f(x)), x uniform on [low, high) from ``default_rng(task.seed)``, float32 (n, 2).
    NumPy's generator gives the same numbers on every platform (its stream is fixed by
    NEP 19 for a given version; requirements.txt pins it)."""
    x = (
        np.random.default_rng(task.seed)
        .uniform(task.low, task.high, task.points)
        .astype(np.float32)
    )
    return np.column_stack([x, REGRESSION_TARGETS[task.name](x)]).astype(np.float32)


def grid_rows(task: Task) -> np.ndarray:
    """The test rows of a regression task: ``GRID_POINTS`` x evenly spaced over [low, high]
    (ends included), and f(x): float32 (GRID_POINTS, 2)."""
    x = np.linspace(task.low, task.high, GRID_POINTS).astype(np.float32)
    return np.column_stack([x, REGRESSION_TARGETS[task.name](x)]).astype(np.float32)


def right(name: str, predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Booleans of the shape of ``predictions``: each prediction right for its target. The
    OR gate's rule is Keras' binary accuracy, which the trainer computes in TensorFlow
    (``StackedNetwork.correct``) with the same rule."""
    predictions = np.asarray(predictions)
    if is_regression(name):
        return np.abs(predictions - targets) < TOLERANCE
    return (predictions > 0.5).astype(int) == np.asarray(targets).astype(int)
