"""The records one variant's training and evaluation leave, by file name and columns.

Training writes, per variant, beside its weights (``models/<variant>/``):

* ``history.csv``: loss, accuracy, val_loss, val_accuracy by replicate and epoch (1-based,
  as ``keras.Model.fit`` reports them);
* ``gradients.csv``: the norm of the loss gradient (full training set) with respect to every
  layer's kernel and bias, at initialisation (epoch 0) and at log-spaced epochs;
* ``units.csv``: the share of every layer's units that are dead, saturated or blocked
  (``or_gate/training.py``), same epochs.

Evaluation writes into ``data/evaluation/<variant>/``:

* ``predictions.csv``: every replicate's prediction for every test and truth-table row (a
  regression task's: for every test row, a grid over its input range);
* ``decision_surface.csv``: replicate 0's output over a grid on [0, 1]^2 (the OR gate only).

This module writes and reads them all (as pandas tables, through ``or_gate/files/tables.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from or_gate.files.tables import format_column, read_csv, write_csv, write_csv_text

import numpy as np

if TYPE_CHECKING:
    from or_gate.architecture import Architecture
    from or_gate.training import Diagnostics

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
# A regression task's (or_gate/task.py): one input, and no decision surface (its test rows
# are a grid over the input range already).
REGRESSION_PREDICTIONS = ("split", "replicate", "row", "x", "y", "prediction")


def prediction_columns(regression: bool) -> tuple[str, ...]:
    """predictions.csv's columns: the OR gate's, or a one-input regression task's."""
    return REGRESSION_PREDICTIONS if regression else EVALUATION["predictions"]


def _joined(*cells) -> np.ndarray:
    """CSV lines from arrays of cell texts (broadcast together): cell, cell, ... per element."""
    lines = cells[0]
    for cell in cells[1:]:
        lines = np.strings.add(np.strings.add(lines, ","), cell)
    return lines


class TrainingRecords:
    """One variant's training records, formatted while it trains and written at the end.

    The trainer hands over every chunk of epochs' history and every diagnostic epoch's
    measurements as soon as they exist, from its helper thread, while the compiled loop runs
    the next chunk (``StackedTrainer.fit``): at 1,000 replicates formatting the numbers is
    most of what the records cost, and this way it overlaps with training. The files are
    byte for byte what one ``write_csv`` of all rows writes (``tests/test_records.py``):
    ``history.csv`` by replicate, then epoch; ``gradients.csv`` and ``units.csv`` by epoch,
    replicate, layer.
    """

    def __init__(self, architecture: Architecture) -> None:
        self.roles = np.array([layer.role for layer in architecture.layers])
        self.history_chunks: list[list[str]] = []  # per chunk, one text per replicate
        self.diagnostics: dict[int, tuple[str, str]] = {}  # epoch -> gradients, units text

    def add_history(self, first_epoch: int, chunk: dict[str, np.ndarray]) -> None:
        """``chunk``: every history quantity, (epochs, R), of epochs first_epoch + 1, ..."""
        epochs, replicates = chunk["loss"].shape
        lines = _joined(
            format_column(np.arange(replicates))[:, None],
            format_column(np.arange(first_epoch + 1, first_epoch + epochs + 1))[None, :],
            *(format_column(chunk[key].T) for key in TRAINING["history"][2:]),
        )
        self.history_chunks.append(["\n".join(replicate) for replicate in lines.tolist()])

    def add_diagnostics(self, epoch: int, measured: Diagnostics) -> None:
        replicates, layers = measured.kernel_gradient_norm.shape
        where = _joined(
            format_column(np.arange(replicates))[:, None],
            str(epoch),
            format_column(np.arange(layers))[None, :],
            self.roles[None, :],
        )
        norms = (measured.kernel_gradient_norm, measured.bias_gradient_norm)
        shares = (measured.dead_fraction, measured.saturated_fraction, measured.blocked_fraction)
        self.diagnostics[epoch] = tuple(
            "\n".join(_joined(where, *map(format_column, values)).ravel().tolist())
            for values in (norms, shares)
        )

    def write(self, records_dir: Path) -> None:
        """Write the three files. history.csv is written a replicate at a time, each chunk's
        text released once written: at 1,000 replicates x 5,000 epochs the text is 220 MB,
        and joining it into one string first held it four times over."""
        records_dir.mkdir(parents=True, exist_ok=True)
        with open(records_dir / "history.csv", "w", encoding="utf-8") as handle:
            handle.write(",".join(TRAINING["history"]))
            for replicate in range(len(self.history_chunks[0]) if self.history_chunks else 0):
                for chunk in self.history_chunks:
                    handle.write("\n")
                    handle.write(chunk[replicate])
                    chunk[replicate] = ""
            handle.write("\n")
        self.history_chunks = []
        for index, name in enumerate(("gradients", "units")):
            texts = (self.diagnostics[epoch][index] for epoch in sorted(self.diagnostics))
            write_csv_text(records_dir / f"{name}.csv", TRAINING[name], texts)


def write_predictions(
    records_dir: Path, splits: dict[str, tuple], regression: bool = False
) -> None:
    """``predictions.csv``: ``splits`` maps a split's name to (x (n, inputs), y (n,), every
    replicate's predictions (R, n)); rows by split, replicate, row, formatted a column at a
    time (the same bytes as ``write_csv`` of every row, ``tests/test_records.py``). The OR
    gate's inputs and labels are written as the integers they are; a ``regression`` task's
    (one input, ``x``) as the float32 numbers they are."""
    texts, dtype = [], np.float32 if regression else int
    for split, (x, y, predictions) in splits.items():
        replicates, count = np.shape(predictions)
        where = _joined(
            split,
            format_column(np.arange(replicates))[:, None],
            format_column(np.arange(count))[None, :],
            *(
                format_column(np.asarray(column).astype(dtype))[None, :]
                for column in (*np.transpose(x), y)
            ),
        )
        lines = _joined(where, format_column(np.asarray(predictions)))
        texts.append("\n".join(lines.ravel().tolist()))
    write_csv_text(records_dir / "predictions.csv", prediction_columns(regression), texts)


def write_decision_surface(records_dir: Path, grid: np.ndarray, surface: np.ndarray) -> None:
    rows = ([x1, x2, p] for (x1, x2), p in zip(grid, surface, strict=True))
    write_csv(records_dir / "decision_surface.csv", EVALUATION["decision_surface"], rows)


def read_training(records_dir: Path) -> dict[str, pd.DataFrame]:
    """history, gradients and units of one variant, as tables."""
    return {
        name: read_csv(records_dir / f"{name}.csv", columns) for name, columns in TRAINING.items()
    }


def read_evaluation(records_dir: Path, regression: bool = False) -> dict[str, pd.DataFrame]:
    """predictions and decision_surface of one variant; a regression task's predictions only."""
    predictions = read_csv(records_dir / "predictions.csv", prediction_columns(regression))
    if regression:
        return {"predictions": predictions}
    surface = read_csv(records_dir / "decision_surface.csv", EVALUATION["decision_surface"])
    return {"predictions": predictions, "decision_surface": surface}
