"""Stage ``evaluate``: measure every saved model and summarise each variant as metrics.

Reads ``params.yaml`` (task, depth, model.width, replicates, variants),
``data/prepared/test.csv`` and every variant's ``models/<variant>/``: its stacked trained weights
(``or_gate/files/weights.py``; all replicates are evaluated at once, with Keras' own
activations; the architecture is checked against params.yaml) and its training records
(``history.csv``, ``gradients.csv``, ``units.csv``). Writes, per variant,
``metrics/<variant>.json``, the metrics DVC shows and compares (success, collapse and
born-dead rates), and into ``data/evaluation/<variant>/`` the summary of every number
(``summary.json``; the definitions are in ``or_gate/evaluation.py``) and the evaluation
records (``predictions.csv``, and for the OR gate ``decision_surface.csv``;
``or_gate/files/records.py``).

    python -m stages.evaluate --data-dir data/prepared --models-dir models \
        --metrics-dir metrics --evaluation-dir data/evaluation
"""

from __future__ import annotations

from pathlib import Path

from or_gate.architecture import Architecture
from or_gate.evaluation import headline, summary_line, variant_metrics
from or_gate.files.data import TRUTH_TABLE, or_labels, read_split
from or_gate.files.records import read_training, write_decision_surface, write_predictions
from or_gate.files.tables import write_json
from or_gate.files.weights import load_stacked
from or_gate.params import Params, load_params
from or_gate.runtime import DataError, load_tensorflow, phase, run, stage_arguments
from or_gate.task import is_regression

import numpy as np

SURFACE_STEPS = 41  # grid points per axis of the decision surface


# The paths dvc.yaml passes to this stage.
PATHS = ("data-dir", "models-dir", "metrics-dir", "evaluation-dir")


def surface_grid() -> np.ndarray:
    axis = np.linspace(0.0, 1.0, SURFACE_STEPS, dtype=np.float32)
    x1, x2 = np.meshgrid(axis, axis, indexing="ij")
    return np.column_stack([x1.ravel(), x2.ravel()])


def load_variant(models_dir: Path, params: Params, name: str):
    """A variant's architecture and stacked weights, checked against params.yaml: the network
    evaluated must be the one params.yaml says was trained."""
    architecture, weights = load_stacked(models_dir / name)
    expected = Architecture.of(params, name)
    if architecture != expected:
        raise DataError(
            f"{models_dir / name}/architecture.json: {architecture.to_json()}, but params.yaml "
            f"says {expected.to_json()} (run `dvc repro`)"
        )
    if len(weights) != params.replicates:
        raise DataError(
            f"{models_dir / name}: {len(weights)} replicates, params.yaml asks for "
            f"{params.replicates} (run `dvc repro`)"
        )
    return architecture, weights


def main(argv: list[str]) -> None:
    args = stage_arguments(argv, "stages.evaluate", __doc__, PATHS)

    params = load_params(args.params)
    task, regression = params.task.name, is_regression(params.task.name)
    x_test, y_test = read_split(args.data_dir / "test.csv")
    stacked = {n: load_variant(args.models_dir, params, n) for n in params.variants}
    print(
        f"evaluate: {len(params.variants)} variants x {params.replicates} replicates on "
        f"{len(x_test)} test rows{'' if regression else ' and the truth table'}",
        flush=True,
    )
    with phase("evaluate", "loading TensorFlow"):
        load_tensorflow()

    from or_gate.model import StackedNetwork

    for name, (architecture, weights) in stacked.items():
        with phase("evaluate", f"{name}: predicting with {params.replicates} replicates"):
            network = StackedNetwork(architecture, len(weights), "mean_squared_error")
            test_predictions = network.predict(weights, x_test)
            # collapse is judged on the truth table; a regression's test rows are its grid
            truth_predictions = (
                test_predictions if regression else network.predict(weights, TRUTH_TABLE)
            )
        training = read_training(args.models_dir / name)
        metrics = variant_metrics(y_test, test_predictions, truth_predictions, training, task)
        write_json(args.metrics_dir / f"{name}.json", headline(metrics))
        records = args.evaluation_dir / name
        write_json(records / "summary.json", metrics)
        splits = {"test": (x_test, y_test, test_predictions)}
        if not regression:  # the OR gate's truth table and decision surface
            splits["truth_table"] = (TRUTH_TABLE, or_labels(TRUTH_TABLE), truth_predictions)
            surface = StackedNetwork(architecture, 1, "mean_squared_error").predict(
                weights[:1], surface_grid()
            )[0]
            write_decision_surface(records, surface_grid(), surface)
        write_predictions(records, splits, regression)
        print(summary_line(name, metrics), flush=True)  # per replicate: predictions.csv


if __name__ == "__main__":
    run(main)
