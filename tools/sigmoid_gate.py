"""Sigmoid's critical depth as an Adam gate (``tools/analysis/sigmoid_gate.py`` states the
model): measure its constants from a sweep's records, then write the registered predictions.

    python tools/sigmoid_gate.py profile --sweep atlas  # plots/sigmoid_gate/gradient_profile.csv
    python tools/sigmoid_gate.py predict  # docs/registered/sigmoid_critical_depth.csv
    python tools/sigmoid_gate.py compare --sweeps gate_e3 gate_e5 ...  # plots/sigmoid_grid/
    python tools/sigmoid_gate.py compare --figure-only  # redraw its figure from its table
    python tools/sigmoid_gate.py revise  # docs/registered/sigmoid_wall.csv, from the grid
    python tools/sigmoid_gate.py compare --model wall --sweeps wall100lr3e4_e7 ...  # second grid
    python tools/sigmoid_gate.py revise --model regimes  # docs/registered/sigmoid_regimes.csv
    python tools/sigmoid_gate.py compare --model regimes --sweeps ...  # the third grid
    python tools/sigmoid_gate.py revise --model slopes  # docs/registered/sigmoid_slopes.csv
    python tools/sigmoid_gate.py compare --model slopes --sweeps ...  # the fourth grid
    python tools/sigmoid_gate.py revise --model budget  # docs/registered/sigmoid_budget.csv
    python tools/sigmoid_gate.py compare --model budget --sweeps ...  # the fifth grid
    python tools/sigmoid_gate.py timeline  # plots/sigmoid_gate/timeline.csv and timeline.png
    python tools/sigmoid_gate.py timeline --figure-only  # redraw the figure from the table
    python tools/sigmoid_gate.py timeline --cell 8,1e-9,0.001,400 --out-dir /tmp/t  # any cell

``timeline`` trains the write-up's sigmoid net again, in this process, in a few cells of the
grid (``TIMELINE_CELLS``) and measures it after every epoch: the records the pipeline keeps are
log-spaced (0, 1, 2, 4, ...) and hold no weights but the last, too coarse to time when a layer
starts to move and when it saturates.

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

from analysis import (
    cluster,
    outcomes,
    sigmoid_budget,
    sigmoid_gate,
    sigmoid_regimes,
    sigmoid_slopes,
    sigmoid_timeline,
    sigmoid_wall,
)

VARIANT = "sigmoid"  # the write-up's: uniform(-0.05, 0.05)


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


# a revised model of two limits -> (its module, its class); the module names the registration's
# PREDICTIONS, RESULTS and RESULTS_FIGURE
REVISIONS = {
    "wall": (sigmoid_wall, sigmoid_wall.Wall),
    "regimes": (sigmoid_regimes, sigmoid_regimes.Regimes),
    "slopes": (sigmoid_slopes, sigmoid_slopes.Slopes),
    "budget": (sigmoid_budget, sigmoid_budget.PowerBudget),
}


def revise(root: Path, model_name: str = "wall") -> None:
    module, kind = REVISIONS[model_name]
    model = kind.committed(root)
    rows = sigmoid_wall.predictions(model, module.CELLS)
    write_csv(root / module.PREDICTIONS, sigmoid_wall.PREDICTION_COLUMNS, rows)
    print(f"sigmoid_gate: {model}; {len(rows)} predictions -> {module.PREDICTIONS}")


def compare(root: Path, sweeps: list[str], model_name: str = "gate") -> None:
    """A grid's sweeps (each a depth range at some epsilon, epochs and learning rate) against
    the predictions ``model_name`` registered (``gate``: the first grid's)."""
    measured: dict[tuple, dict[int, float]] = {}
    collapsed: dict[tuple, dict[int, float]] = {}
    for name in sweeps:
        for experiment in cluster.sweep_experiments(root, name):
            train = experiment.params["train"]
            epsilon = train.get("epsilon") or sigmoid_gate.KERAS_EPSILON
            cell = (float(epsilon), int(train["epochs"]), float(train["learning_rate"]))
            depth, metrics = int(experiment.params["depth"]), experiment.metrics[VARIANT]
            measured.setdefault(cell, {})[depth] = float(metrics["success_rate"])
            collapsed.setdefault(cell, {})[depth] = float(metrics["collapse_rate"])
    predictions, table, _ = _registration(root, model_name)
    rows = sigmoid_gate.compare(measured, collapsed, read_csv(predictions, text=("limited_by",)))
    write_csv(table, sigmoid_gate.GRID_COLUMNS, rows)
    redraw(root, model_name)
    print(f"sigmoid_gate: {len(rows)} cells -> {table} and .png")


def _registration(root: Path, model_name: str) -> tuple[Path, Path, Path]:
    """(registered predictions, results table, figure) of the grid that tests ``model_name``."""
    if model_name == "gate":
        paths = sigmoid_gate.PREDICTIONS, sigmoid_gate.GRID, sigmoid_gate.GRID_FIGURE
    else:
        module, _ = REVISIONS[model_name]
        paths = module.PREDICTIONS, module.RESULTS, module.RESULTS_FIGURE
    return tuple(root / path for path in paths)


def redraw(root: Path, model_name: str) -> None:
    """A grid's figure, drawn from its table."""
    _, table, figure = _registration(root, model_name)
    if model_name == "gate":
        sigmoid_gate.draw_grid(root, table, figure)
    else:
        REVISIONS[model_name][0].draw_results(root, table, figure)


def _cell_params(document: dict, cell: tuple):
    """params.yaml's settings with one cell's depth, epsilon, learning rate and epochs."""
    from or_gate.params import parse_params
    from or_gate.runtime import ParamsError

    depth, epsilon, learning_rate, epochs = cell
    train = {**document["train"], "epsilon": epsilon, "learning_rate": learning_rate}
    changed = {
        **document,
        "depth": depth,
        "replicates": sigmoid_timeline.TIMELINE_REPLICATES,
        "train": {**train, "epochs": epochs},
    }
    try:
        return parse_params(changed)
    except ParamsError as error:
        cell_text = ",".join(f"{value:g}" for value in cell)
        reason = str(error).removeprefix("params.yaml: ")
        raise ParamsError(f"--cell {cell_text}: {reason}") from None


def _timeline_cell(params, splits) -> list[tuple]:
    """One cell's net (``_cell_params``) trained and measured after every epoch: its
    timeline rows."""
    from or_gate.training import seeds_of, trainer_for

    import keras
    import numpy as np

    depth, epsilon = params.depth, params.train.epsilon
    learning_rate, epochs = params.train.learning_rate, params.train.epochs
    keras.utils.set_random_seed(params.seed)
    architecture, trainer = trainer_for(params, VARIANT, splits)
    histories, weights_at = {}, {0: trainer.weights.numpy()}

    def keep_history(first: int, chunk: dict) -> None:
        for offset in range(len(chunk["loss"])):
            histories[first + offset + 1] = {key: chunk[key][offset] for key in chunk}

    def snapshot(epoch: int, _last: dict) -> None:
        # called between chunks, here after every epoch: the weights the diagnostics measured
        weights_at[epoch] = trainer.weights.numpy()

    result = trainer.fit(
        seeds_of(params),
        diagnostic_epochs=list(range(epochs + 1)),
        on_progress=snapshot,
        on_history=keep_history,
    )
    roles = [layer.role for layer in architecture.layers]
    initial = architecture.layout.unflatten(weights_at[0])[0::2]
    rows = []
    for epoch, diagnostics in result.diagnostics.items():
        rows += sigmoid_timeline.timeline_rows(
            (depth, epsilon, learning_rate),
            roles,
            epoch,
            architecture.layout.unflatten(weights_at[epoch])[0::2],
            initial,
            diagnostics.kernel_gradient_norm,
            diagnostics.saturated_fraction,
            histories.get(epoch),
        )
    learned = float(np.mean(result.history["accuracy"][-1] == 1.0))
    print(
        f"sigmoid_gate: depth {depth}, epsilon {epsilon:g}, learning rate {learning_rate:g}, "
        f"{epochs} epochs: {learned:.2f} of {params.replicates} replicates learned",
        flush=True,
    )
    return rows


def timeline(root: Path, cells: list[tuple], out_dir: Path, figure_only: bool = False) -> None:
    """Train every cell with params.yaml's seed, data and sigmoid variant; write the timeline
    table into ``out_dir``, then draw its figure from it."""
    table = out_dir / Path(sigmoid_timeline.TIMELINE).name
    figure = out_dir / Path(sigmoid_timeline.TIMELINE_FIGURE).name
    if figure_only:
        sigmoid_timeline.draw_timeline(root, table, figure)
        return
    from or_gate.files.data import read_split
    from or_gate.params import parse_params, read_yaml
    from or_gate.runtime import ParamsError, load_tensorflow

    document = read_yaml(root / "params.yaml", ParamsError)
    parse_params(document)  # one clear line if it is bad, before any training
    every_params = [_cell_params(document, cell) for cell in cells]  # all checked first
    prepared = root / "data" / "prepared"
    load_tensorflow()
    from or_gate.training import Splits

    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    splits = Splits(*read_split(prepared / "train.csv"), *read_split(prepared / "validation.csv"))
    rows = []
    for params in every_params:
        rows += _timeline_cell(params, splits)
    write_csv(table, sigmoid_timeline.TIMELINE_COLUMNS, rows)
    sigmoid_timeline.draw_timeline(root, table, figure)
    print(f"sigmoid_gate: {len(rows)} rows -> {table} and {figure.name}")


def timeline_cell(text: str) -> tuple:
    """A ``--cell``: depth,epsilon,learning_rate,epochs."""
    parts = text.split(",")
    try:
        if len(parts) != 4:
            raise ValueError
        return (int(parts[0]), float(parts[1]), float(parts[2]), int(parts[3]))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not depth,epsilon,learning_rate,epochs (for example 8,1e-9,0.001,400)"
        ) from None


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python tools/sigmoid_gate.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("profile").add_argument("--sweep", required=True)
    commands.add_parser("predict")
    commands.add_parser("revise").add_argument(
        "--model", choices=sorted(REVISIONS), default="wall", help="which revision to register"
    )
    compare_command = commands.add_parser("compare")
    compare_command.add_argument("--sweeps", nargs="+")
    compare_command.add_argument("--figure-only", action="store_true")
    compare_command.add_argument(
        "--model",
        choices=["gate", *sorted(REVISIONS)],
        default="gate",
        help="whose registered predictions the grid is scored against (wall: the second grid)",
    )
    timeline_command = commands.add_parser("timeline")
    timeline_command.add_argument(
        "--cell",
        action="append",
        type=timeline_cell,
        help="depth,epsilon,learning_rate,epochs; repeat for more (default: TIMELINE_CELLS)",
    )
    timeline_command.add_argument("--out-dir", type=Path, default=None)
    timeline_command.add_argument("--figure-only", action="store_true")
    args = parser.parse_args(argv)
    root = Path(".").resolve()
    if args.command == "profile":
        profile(root, args.sweep)
    elif args.command == "predict":
        predict(root)
    elif args.command == "revise":
        revise(root, args.model)
    elif args.command == "compare" and args.figure_only:  # redrawn from the committed table
        redraw(root, args.model)
    elif args.command == "compare":
        if not args.sweeps:
            parser.error("compare needs --sweeps NAME ... (or --figure-only)")
        compare(root, args.sweeps, args.model)
    else:
        cells = args.cell or list(sigmoid_timeline.TIMELINE_CELLS)
        out_dir = args.out_dir or root / Path(sigmoid_timeline.TIMELINE).parent
        timeline(root, cells, out_dir, args.figure_only)


if __name__ == "__main__":
    run(main)
