"""Sigmoid's critical depth as an Adam gate (``tools/analysis/sigmoid_gate.py`` states the
model): measure its constants from a sweep's records, then write the registered predictions.

    python tools/sigmoid_gate.py profile --sweep atlas  # plots/sigmoid_gate/gradient_profile.csv
    python tools/sigmoid_gate.py predict  # docs/registered/sigmoid_critical_depth.csv
    python tools/sigmoid_gate.py compare --sweeps gate_e3 gate_e5 ...  # plots/sigmoid_grid/

``profile`` reads the write-up's sigmoid variant's ``gradients.csv`` of every cell of the
sweep (from the experiments' commits and the DVC cache, as ``tools/sweep.py report`` does);
``predict`` fits the gate to the committed profile and writes the grid's predictions. A test
checks that the committed predictions are what ``predict`` writes from the committed profile,
and that they were committed before any of the grid's results.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from or_gate.files.records import TRAINING
from or_gate.files.tables import read_csv, write_csv
from or_gate.runtime import DataError, run

from analysis import cluster, outcomes, sigmoid_gate

VARIANT = "sigmoid"  # the write-up's: uniform(-0.05, 0.05)
KERAS_EPSILON = 1e-7  # what train.epsilon: null leaves Adam with


def profile(root: Path, sweep: str) -> None:
    from dvc.api import DVCFileSystem

    records = {
        int(experiment.params["depth"]): outcomes.read_at(
            DVCFileSystem(str(root), rev=experiment.name),
            f"models/{VARIANT}/gradients.csv",
            TRAINING["gradients"],
        )
        for experiment in cluster.sweep_experiments(root, sweep)
    }
    rows = sigmoid_gate.gradient_profile(records)
    write_csv(root / sigmoid_gate.PROFILE, sigmoid_gate.PROFILE_COLUMNS, rows)
    print(f"sigmoid_gate: {len(rows)} depths -> {sigmoid_gate.PROFILE}")


def predict(root: Path) -> None:
    gate = sigmoid_gate.Gate.committed(root)
    rows = sigmoid_gate.predictions(gate)
    if not rows:
        raise DataError("no predictions")
    write_csv(root / sigmoid_gate.PREDICTIONS, tuple(rows[0]), (r.values() for r in rows))
    print(
        f"sigmoid_gate: log10 g_bottom(L) = {gate.intercept:.3f} - "
        f"{gate.decades_per_layer:.3f} L after phase A; {len(rows)} predictions -> "
        f"{sigmoid_gate.PREDICTIONS}"
    )


def compare(root: Path, sweeps: list[str]) -> None:
    """The grid's sweeps (each a depth range at some epsilon, epochs and learning rate)
    against the registered predictions."""
    measured: dict[tuple, dict[int, float]] = {}
    for name in sweeps:
        for experiment in cluster.sweep_experiments(root, name):
            train = experiment.params["train"]
            epsilon = train.get("epsilon") or KERAS_EPSILON
            cell = (float(epsilon), int(train["epochs"]), float(train["learning_rate"]))
            success = float(experiment.metrics[VARIANT]["success_rate"])
            measured.setdefault(cell, {})[int(experiment.params["depth"])] = success
    predicted = read_csv(root / sigmoid_gate.PREDICTIONS)
    rows = sigmoid_gate.compare(measured, predicted)
    write_csv(root / sigmoid_gate.GRID, sigmoid_gate.GRID_COLUMNS, rows)
    print(f"sigmoid_gate: {len(rows)} cells of the grid -> {sigmoid_gate.GRID}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python tools/sigmoid_gate.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("profile").add_argument("--sweep", required=True)
    commands.add_parser("predict")
    commands.add_parser("compare").add_argument("--sweeps", nargs="+", required=True)
    args = parser.parse_args(argv)
    root = Path(".").resolve()
    if args.command == "profile":
        profile(root, args.sweep)
    elif args.command == "predict":
        predict(root)
    else:
        compare(root, args.sweeps)


if __name__ == "__main__":
    run(main)
