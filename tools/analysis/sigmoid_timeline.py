"""Sigmoid's dynamics measured at every epoch: the constants of the Adam-gate model
(``tools/analysis/sigmoid_gate.py``) as the net's own training shows them.

The pipeline's records are log-spaced (epochs 0, 1, 2, 4, ...) and keep only the last
weights: too coarse to time when a layer starts to move. ``python tools/sigmoid_gate.py
timeline`` trains the write-up's sigmoid net again in a few cells (``TIMELINE_CELLS``),
measured after every epoch, and writes ``TIMELINE``; this module turns it into the model's
constants (``timeline_constants``), a figure and the docs' sentences. It came after the
registration and after three slices of the grid: the registered predictions keep the review's
constants.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .sigmoid_gate import (
    AFTER_PHASE_A,
    AT_LEARNING_RATE,
    DECADES_PER_LAYER_AFTER_PHASE_A,
    EPOCHS_PER_LAYER,
    KERAS_EPSILON,
    PROFILE,
    PROFILE_COLUMNS,
    UPPER_WEIGHTS_AFTER_PHASE_A,
)

# What the log-spaced records cannot time. The write-up's sigmoid net trained
# again in-process, measured after every epoch, in four cells: a depth that learns and one that
# fails at the write-up's setting, and one depth at epsilon 1e-11 at the two learning rates,
# where the grid refuted the gate (it learns at 3e-3 in half the epochs, fails at 1e-3).
TIMELINE = "plots/sigmoid_gate/timeline.csv"
TIMELINE_CELLS = (  # depth, epsilon, learning rate, epochs
    (6, 1e-7, 1e-3, 200),
    (7, 1e-7, 1e-3, 200),
    (10, 1e-11, 1e-3, 200),
    (10, 1e-11, 3e-3, 100),
)
TIMELINE_REPLICATES = 64  # replicates 0-63 of the atlas's seeds
TIMELINE_COLUMNS = (
    "depth",
    "epsilon",
    "learning_rate",
    "epoch",
    "layer",
    "role",
    "rms_gradient",  # median over replicates of the kernel gradient's per-weight RMS
    "rms_kernel",  # median of the kernel's per-weight RMS
    "rms_kernel_change",  # median of the per-weight RMS of (kernel - initial kernel)
    "saturated_share",  # mean over replicates of the layer's saturated share of units
    "learned_share",  # share of replicates with training accuracy 1 after this epoch
    "median_loss",  # median training loss over this epoch (empty at epoch 0)
)


def timeline_rows(cell, roles, epoch, kernels, initial, gradient_norms, saturated, history):
    """The timeline's rows of one epoch. ``kernels`` and ``initial``: per layer, the stacked
    kernels (R, ...) now and at epoch 0; ``gradient_norms`` and ``saturated``: (R, L) from the
    trainer's diagnostics; ``history``: the epoch's loss and accuracy by replicate, or None at
    epoch 0."""
    depth, epsilon, learning_rate = cell
    learned = np.nan if history is None else float(np.mean(history["accuracy"] == 1.0))
    loss = np.nan if history is None else float(np.median(history["loss"]))
    rows = []
    for layer, (role, kernel, start) in enumerate(zip(roles, kernels, initial, strict=True)):
        replicates, count = kernel.shape[0], kernel[0].size
        flat, flat_start = kernel.reshape(replicates, -1), start.reshape(replicates, -1)
        rms = np.sqrt(np.mean(np.square(flat, dtype=np.float64), axis=1))
        change = np.sqrt(np.mean(np.square(flat - flat_start, dtype=np.float64), axis=1))
        rows.append(
            (
                depth,
                epsilon,
                learning_rate,
                epoch,
                layer,
                role,
                float(np.median(gradient_norms[:, layer] / math.sqrt(count))),
                float(np.median(rms)),
                float(np.median(change)),
                float(np.mean(saturated[:, layer])),
                learned,
                loss,
            )
        )
    return rows


PHASE_A_MARGIN = 1.01  # phase A ends when the median loss is within 1% of the mean label's
MOVED = 1.0  # a kernel has moved when its RMS change from initialisation reaches this
# (30 times the write-up's initial RMS, 0.029, and more than phase A gives any layer)


def mean_label_loss(labels: np.ndarray) -> float:
    """The squared error of predicting the labels' mean for every row: what phase A fits."""
    share = float(np.mean(labels))
    return share * (1.0 - share)


def _slope(x, y) -> float:
    return float(np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)[0])


def timeline_constants(cell_table, mean_loss: float) -> dict:
    """The model's constants as one cell of the timeline measures them (``TIMELINE``'s rows of
    one depth, epsilon and learning rate)."""
    depth = int(cell_table["depth"].iloc[0])
    epsilon = float(cell_table["epsilon"].iloc[0])
    learning_rate = float(cell_table["learning_rate"].iloc[0])
    hidden = cell_table[cell_table["role"] == "hidden"]
    by_epoch = cell_table.groupby("epoch")["median_loss"].first()
    fitted = by_epoch[by_epoch <= PHASE_A_MARGIN * mean_loss]
    phase_a = int(fitted.index.min()) if len(fitted) else None
    layers = sorted(hidden["layer"].unique())
    found = {
        "depth": depth,
        "epsilon": epsilon,
        "learning_rate": learning_rate,
        "epochs": int(cell_table["epoch"].max()),
        "phase_a_ends": phase_a,
        "learned": float(cell_table.loc[cell_table["epoch"].idxmax(), "learned_share"]),
    }
    moved = {}
    for layer in layers:
        rows = hidden[(hidden["layer"] == layer) & (hidden["rms_kernel_change"] >= MOVED)]
        if len(rows):
            moved[layer] = int(rows["epoch"].min())
    found["first_hidden_moves"] = moved.get(layers[0])
    found["hidden_layers_moved"] = len(moved)
    found["epochs_per_layer"] = (
        _slope(list(moved), list(moved.values())) if len(moved) >= 3 else None
    )
    if phase_a is not None:
        at = hidden[hidden["epoch"] == phase_a].sort_values("layer")
        found["top_kernel_change"] = float(at["rms_kernel_change"].iloc[-1])
        upper = at.iloc[len(at) // 2 :]  # the upper half: layers phase A has not reached below
        found["decades_per_layer"] = _slope(upper["layer"], np.log10(upper["rms_gradient"]))
        found["bottom_over_epsilon"] = float(np.log10(at["rms_gradient"].iloc[0] / epsilon))
    return found


TIMELINE_FIGURE = "plots/sigmoid_gate/timeline.png"


def _timeline_cells(root: Path, table_path: Path) -> list[tuple]:
    """(the cell's rows, its constants) for every cell of a timeline table; the labels that
    phase A fits are root's training split's."""
    from or_gate.files.tables import read_csv

    table = read_csv(table_path, TIMELINE_COLUMNS, text=("role",))
    labels = read_csv(root / "data/prepared/train.csv", ("y",))["y"].to_numpy()
    mean_loss = mean_label_loss(labels)
    keys = ["depth", "epsilon", "learning_rate"]
    cells = [cell for _, cell in table.groupby(keys, sort=False)]
    return [(cell, timeline_constants(cell, mean_loss)) for cell in cells]


def draw_timeline(root: Path, table_path: Path, path: Path) -> None:
    """Every hidden kernel's median RMS change against epoch, one panel per cell."""
    from or_gate.figures import new_figure, save_figure

    cells = _timeline_cells(root, table_path)
    columns = min(2, len(cells))
    rows = -(-len(cells) // columns)
    figure, axes = new_figure(rows, columns, (9, 3.4 * rows), sharey=True, squeeze=False)
    figure.set_layout_engine("constrained")
    for axis, (cell, found) in zip(axes.ravel(), cells, strict=True):
        hidden = cell[cell["role"] == "hidden"]
        layers = sorted(hidden["layer"].unique())
        colours = _layer_colours(len(layers))
        for colour, layer in zip(colours, layers, strict=True):
            rows = hidden[hidden["layer"] == layer]
            axis.plot(rows["epoch"], rows["rms_kernel_change"], color=colour, lw=1.2)
        axis.axhline(MOVED, color="grey", lw=0.8, ls=":")
        axis.set_yscale("log")
        axis.set_ylim(1e-3, 20)
        axis.set_xlabel("epoch")
        axis.set_title(
            f"depth {found['depth']}, eps {found['epsilon']:g}, lr {found['learning_rate']:g}\n"
            f"learned (training accuracy 1): {found['learned']:.2f}",
            fontsize=9,
        )
    for axis in axes[:, 0]:
        axis.set_ylabel("hidden kernel's RMS change\n(median; bottom layer dark)")
    save_figure(figure, path)


def _layer_colours(count: int) -> list:
    """Bottom layer dark to top layer light."""
    import matplotlib

    return [matplotlib.colormaps["viridis"](k / max(1, count - 1) * 0.9) for k in range(count)]


def _number(value, form: str) -> str:
    return "-" if value is None else format(value, form)


def _constants_table(cells: list[dict]) -> list[str]:
    lines = [
        "| depth | epsilon | learning rate | epochs | learned | phase A ends (epoch) "
        "| top hidden kernel's change then | decades a layer then (upper half) "
        "| log10(first hidden gradient / epsilon) then | first hidden layer moves (epoch) "
        "| hidden layers moved | epochs a layer |",
        "|---" * 12 + "|",
    ]
    for c in cells:
        lines.append(
            f"| {c['depth']} | {c['epsilon']:g} | {c['learning_rate']:g} | {c['epochs']} "
            f"| {c['learned']:.2f} | {_number(c['phase_a_ends'], 'd')} "
            f"| {c['top_kernel_change']:.2f} | {c['decades_per_layer']:.2f} "
            f"| {c['bottom_over_epsilon']:+.2f} | {_number(c['first_hidden_moves'], 'd')} "
            f"| {c['hidden_layers_moved']} of {c['depth']} "
            f"| {_number(c['epochs_per_layer'], '.1f')} |"
        )
    return lines


def _against_the_review(cells: list[dict]) -> str:
    decades = [c["decades_per_layer"] for c in cells]
    tops = [c["top_kernel_change"] for c in cells]
    slow = [c["epochs_per_layer"] for c in cells if c["learning_rate"] == AT_LEARNING_RATE]
    faster = "".join(
        f"; {c['epochs_per_layer']:.1f} at {c['learning_rate']:g}, which is "
        f"{c['epochs_per_layer'] * c['learning_rate'] / AT_LEARNING_RATE:.1f} at "
        f"{AT_LEARNING_RATE:g}'s pace"
        for c in cells
        if c["learning_rate"] != AT_LEARNING_RATE
    )
    return (
        f"After phase A the gradient falls {min(decades):.2f} to {max(decades):.2f} decades a "
        f"layer down the upper half of the net (the review: {DECADES_PER_LAYER_AFTER_PHASE_A:g}), "
        f"and the top hidden kernel has moved {min(tops):.2f} to {max(tops):.2f} (the review: "
        f"about {UPPER_WEIGHTS_AFTER_PHASE_A:g}). Once the first hidden layer moves, the layers "
        f"move bottom up, {min(slow):.1f} to {max(slow):.1f} epochs a layer at learning rate "
        f"{AT_LEARNING_RATE:g} (the review: {EPOCHS_PER_LAYER:g}){faster}."
    )


def _against_the_gate(root: Path, measured_cells: list[tuple]) -> list[str]:
    """The first hidden layer's gradient after phase A, off Keras' epsilon, against the gate's
    profile; and at Keras' epsilon, when that layer moves. ``measured_cells``: (rows,
    constants) of every cell, as ``_timeline_cells`` gives them."""
    from or_gate.files.tables import read_csv

    profile = read_csv(root / PROFILE, PROFILE_COLUMNS)
    at_profile = dict(zip(profile["depth"], profile["log10_rms_gradient"], strict=True))
    lines = []
    for table, c in measured_cells:
        if c["epsilon"] == KERAS_EPSILON or c["depth"] not in at_profile:
            continue
        rows = table[(table["epoch"] == AFTER_PHASE_A) & (table["layer"] == 1)]
        measured = float(np.log10(rows["rms_gradient"].iloc[0]))
        lines.append(
            f"At depth {c['depth']}, epsilon {c['epsilon']:g} and learning rate "
            f"{c['learning_rate']:g} the first hidden layer's gradient at epoch {AFTER_PHASE_A} "
            f"is 10^{measured:.2f}; the gate's profile, measured at Keras' epsilon "
            f"({KERAS_EPSILON:g}), gives 10^{at_profile[c['depth']]:.2f} at that depth."
        )
    at_keras = [c for _, c in measured_cells if c["epsilon"] == KERAS_EPSILON]
    gated = sorted(at_keras, key=lambda c: c["bottom_over_epsilon"])
    moves = ", ".join(
        f"{_number(c['first_hidden_moves'], 'd')} at depth {c['depth']} (its gradient "
        f"10^{c['bottom_over_epsilon']:+.2f} epsilon after phase A)"
        for c in gated
    )
    lines.append(f"At Keras' epsilon the first hidden layer moves at epoch {moves} (`{TIMELINE}`).")
    return lines


def timeline_summary(root: Path) -> str:
    """The timeline's constants beside the model's, for docs/sigmoid.md."""
    measured_cells = _timeline_cells(root, root / TIMELINE)
    cells = [found for _, found in measured_cells]
    lines = [*_constants_table(cells), "", _against_the_review(cells)]
    return "\n".join([*lines, *_against_the_gate(root, measured_cells)])
