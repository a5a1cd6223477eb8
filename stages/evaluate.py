"""Stage ``evaluate``: measure every saved model and summarise each variant as metrics.

Reads ``params.yaml`` (replicates, variants), ``data/prepared/test.csv``, the saved models
``models/<variant>/replicate_NNN.keras`` (loaded with Keras in safe mode) and the training
records ``data/training/<variant>/{gradients,units}.csv``. Writes, per variant,
``metrics/<variant>.json`` (the definitions are in ``or_gate/metrics.py``) and the evaluation
records ``data/evaluation/<variant>/{predictions,decision_surface}.csv``
(``or_gate/records.py``).

    python stages/evaluate.py --data-dir data/prepared --models-dir models \
        --training-dir data/training --metrics-dir metrics --evaluation-dir data/evaluation
"""

from __future__ import annotations

from pathlib import Path

from or_gate.cli import stage_arguments
from or_gate.data import TRUTH_TABLE, or_gate, read_split
from or_gate.errors import DataError, run
from or_gate.metrics import summary_line, variant_metrics
from or_gate.model_files import load_model, model_path
from or_gate.params import load_params
from or_gate.progress import phase
from or_gate.records import read_training, write_decision_surface, write_predictions
from or_gate.tables import write_json
from or_gate.tensorflow_quiet import load_tensorflow

import numpy as np

SURFACE_STEPS = 41  # grid points per axis of the decision surface


# The paths dvc.yaml passes to this stage.
PATHS = ("data-dir", "models-dir", "training-dir", "metrics-dir", "evaluation-dir")


def surface_grid() -> np.ndarray:
    axis = np.linspace(0.0, 1.0, SURFACE_STEPS, dtype=np.float32)
    x1, x2 = np.meshgrid(axis, axis, indexing="ij")
    return np.column_stack([x1.ravel(), x2.ravel()])


def predict(model, x: np.ndarray) -> np.ndarray:
    # Calling the model directly: `predict` adds ~50 ms of set-up per call for 7 rows.
    return np.asarray(model(x, training=False), dtype=np.float32)[:, 0]


def prediction_rows(x_test, y_test, test_predictions, truth_predictions) -> list[list]:
    """predictions.csv rows: split, replicate, row, x1, x2, y, prediction."""
    return [
        [split, k, i, *map(int, x), int(y), p[i]]
        for split, xs, ys, predictions in (
            ("test", x_test, y_test, test_predictions),
            ("truth_table", TRUTH_TABLE, or_gate(TRUTH_TABLE), truth_predictions),
        )
        for k, p in enumerate(predictions)
        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
    ]


def check_models_exist(models_dir: Path, variants, replicates: int) -> None:
    """Fail before the slow TensorFlow import if any model is missing."""
    for name in variants:
        for k in range(replicates):
            if not model_path(models_dir / name, k).is_file():
                raise DataError(
                    f"{model_path(models_dir / name, k)}: model not found "
                    f"(params.yaml asks for {replicates} replicates; run `dvc repro`)"
                )


def main(argv: list[str]) -> None:
    args = stage_arguments(argv, "stages/evaluate.py", __doc__, PATHS)

    params = load_params(args.params)
    x_test, y_test = read_split(args.data_dir / "test.csv")
    check_models_exist(args.models_dir, params.variants, params.replicates)
    print(
        f"evaluate: {len(params.variants)} variants x {params.replicates} replicates on "
        f"{len(x_test)} test rows and the truth table",
        flush=True,
    )
    with phase("evaluate", "loading TensorFlow"):
        load_tensorflow()

    for name in params.variants:
        with phase("evaluate", f"{name}: loading {params.replicates} models and predicting"):
            models = [
                load_model(model_path(args.models_dir / name, k)) for k in range(params.replicates)
            ]
            test_predictions = np.array([predict(m, x_test) for m in models])
            truth_predictions = np.array([predict(m, TRUTH_TABLE) for m in models])
        training = read_training(args.training_dir / name)
        metrics = variant_metrics(y_test, test_predictions, truth_predictions, training)
        write_json(args.metrics_dir / f"{name}.json", metrics)
        records = args.evaluation_dir / name
        rows = prediction_rows(x_test, y_test, test_predictions, truth_predictions)
        write_predictions(records, rows)
        write_decision_surface(records, surface_grid(), predict(models[0], surface_grid()))
        print(summary_line(name, metrics), flush=True)  # per replicate: predictions.csv


if __name__ == "__main__":
    run(main)
