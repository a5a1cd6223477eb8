"""The records one variant's training and evaluation leave, by file name and columns.

Training writes, per variant, into its records directory (``data/training/<variant>/``):

* ``history.csv``: loss, accuracy, val_loss, val_accuracy by replicate and epoch (1-based,
  as ``keras.Model.fit`` reports them);
* ``gradients.csv``: the norm of the loss gradient (full training set) with respect to every
  layer's kernel and bias, at initialisation (epoch 0) and at log-spaced epochs;
* ``units.csv``: the share of every layer's units that are dead, saturated or blocked
  (``or_gate/diagnostics.py``), same epochs.

Evaluation writes into ``data/evaluation/<variant>/``:

* ``predictions.csv``: every replicate's prediction for every test and truth-table row;
* ``decision_surface.csv``: replicate 0's output over a grid on [0, 1]^2.

This module writes and reads them all (as pandas tables, through ``or_gate/tables.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from or_gate.tables import read_csv, write_csv

import numpy as np

if TYPE_CHECKING:
    from or_gate.diagnostics import Diagnostics
    from or_gate.network import Architecture

    import pandas as pd

WHERE = ("replicate", "epoch", "layer", "role")
TRAINING = {
    "history": ("replicate", "epoch", "loss", "accuracy", "val_loss", "val_accuracy"),
    "gradients": (*WHERE, "kernel_gradient_norm", "bias_gradient_norm"),
    "units": (*WHERE, "dead_fraction", "saturated_fraction", "blocked_fraction"),
}
EVALUATION = {
    "predictions": ("split", "replicate", "row", "x1", "x2", "y", "prediction"),
    "decision_surface": ("x1", "x2", "prediction"),
}


def write_history(records_dir: Path, history: dict[str, np.ndarray]) -> None:
    """One row per replicate and epoch, one column per quantity."""
    epochs, replicates = history["loss"].shape
    rows = (
        [k, epoch + 1, *(history[key][epoch, k] for key in TRAINING["history"][2:])]
        for k in range(replicates)
        for epoch in range(epochs)
    )
    write_csv(records_dir / "history.csv", TRAINING["history"], rows)


def write_diagnostics(
    records_dir: Path, architecture: Architecture, diagnostics: dict[int, Diagnostics]
) -> None:
    """``gradients.csv`` and ``units.csv``: one row per epoch, replicate and layer."""
    roles = [layer.role for layer in architecture.layers]
    gradient_rows, unit_rows = [], []
    for epoch, measured in sorted(diagnostics.items()):
        norms = (measured.kernel_gradient_norm, measured.bias_gradient_norm)
        shares = (measured.dead_fraction, measured.saturated_fraction, measured.blocked_fraction)
        replicates, layers = measured.kernel_gradient_norm.shape
        for k in range(replicates):
            for layer in range(layers):
                where = (k, epoch, layer, roles[layer])
                gradient_rows.append((*where, *(norm[k, layer] for norm in norms)))
                unit_rows.append((*where, *(share[k, layer] for share in shares)))
    write_csv(records_dir / "gradients.csv", TRAINING["gradients"], gradient_rows)
    write_csv(records_dir / "units.csv", TRAINING["units"], unit_rows)


def write_predictions(records_dir: Path, rows) -> None:
    write_csv(records_dir / "predictions.csv", EVALUATION["predictions"], rows)


def write_decision_surface(records_dir: Path, grid: np.ndarray, surface: np.ndarray) -> None:
    rows = ([x1, x2, p] for (x1, x2), p in zip(grid, surface, strict=True))
    write_csv(records_dir / "decision_surface.csv", EVALUATION["decision_surface"], rows)


def read_training(records_dir: Path) -> dict[str, pd.DataFrame]:
    """history, gradients and units of one variant, as tables."""
    return {
        name: read_csv(records_dir / f"{name}.csv", columns) for name, columns in TRAINING.items()
    }


def read_evaluation(records_dir: Path) -> dict[str, pd.DataFrame]:
    return {
        name: read_csv(records_dir / f"{name}.csv", columns) for name, columns in EVALUATION.items()
    }
