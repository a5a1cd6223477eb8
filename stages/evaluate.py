"""Stage ``evaluate``: measure every saved model and summarise each variant as metrics.

Reads ``params.yaml`` (replicates, variants), ``data/prepared/test.csv``, the saved models
``models/<variant>/replicate_NNN.keras`` (loaded with Keras in safe mode) and the training
diagnostics ``plots/train/<variant>/{gradients,units}.csv``. Writes, per variant:

* ``metrics/<variant>.json``: the same keys for every variant (see ``variant_metrics``);
* ``plots/evaluate/<variant>/predictions.csv``: every replicate's prediction for every test
  row and every truth-table row (the write-up printed its test predictions);
* ``plots/evaluate/<variant>/decision_surface.csv``: replicate 0's output over a grid on
  [0, 1]^2, i.e. the function the network computes.

Definitions:
    success: test accuracy 1.0 (threshold 0.5, as Keras' binary accuracy);
    collapse: the outputs for the four truth-table inputs span less than ``COLLAPSE_SPAN``,
        i.e. the network answers (nearly) the same thing whatever the input;
    born dead: at initialisation some hidden layer outputs 0 for every training input, so the
        signal is cut and the output is exactly constant (Lu et al. 2019);
    gradients.log10_ratio_*: log10(|dL/d kernel of the first hidden layer| /
        |dL/d bias of the output layer|), median over replicates; exact zeros are floored at
        ``GRADIENT_FLOOR`` so the number stays finite (a born-dead net scores about -299).

    python -m stages.evaluate --data-dir data/prepared --models-dir models \
        --train-plots-dir plots/train --metrics-dir metrics --plots-dir plots/evaluate
"""

from __future__ import annotations

import argparse
import csv
import math
import os
from pathlib import Path

import numpy as np

from stages.errors import DataError, run
from stages.make_data import or_gate
from stages.model_files import load_model, model_path
from stages.params import load_params
from stages.prepare import load_split
from stages.tables import write_csv, write_json

COLLAPSE_SPAN = 0.01
GRADIENT_FLOOR = 1e-300
TRUTH_TABLE = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
SURFACE_STEPS = 41  # grid points per axis of the decision surface


def read_table(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (run the train stage first)") from None


def predict(model, x: np.ndarray) -> np.ndarray:
    # Calling the model directly: `predict` adds ~50 ms of set-up per call for 7 rows.
    return np.asarray(model(x, training=False), dtype=np.float32)[:, 0]


def test_scores(y_test: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """Accuracy (threshold 0.5) and MSE of one replicate on the test set, by scikit-learn."""
    from sklearn.metrics import accuracy_score, mean_squared_error

    finite = bool(np.all(np.isfinite(predictions)))
    labels = (predictions > 0.5).astype(int)
    return {
        "accuracy": float(accuracy_score(y_test.astype(int), labels)),
        "mse": float(mean_squared_error(y_test, predictions)) if finite else math.nan,
    }


def log10_ratio(numerator: float, denominator: float) -> float:
    return math.log10(max(numerator, GRADIENT_FLOOR)) - math.log10(max(denominator, GRADIENT_FLOOR))


def gradient_ratios(rows: list[dict[str, str]], epoch: int) -> list[float]:
    """Per replicate: first hidden kernel's gradient norm over the output bias's, in log10."""
    by_replicate: dict[str, dict[str, float]] = {}
    for row in rows:
        if int(row["epoch"]) != epoch:
            continue
        slot = by_replicate.setdefault(row["replicate"], {})
        if row["role"] == "hidden" and int(row["layer"]) == 1:
            slot["first_hidden_kernel"] = float(row["kernel_gradient_norm"] or "nan")
        elif row["role"] == "output":
            slot["output_bias"] = float(row["bias_gradient_norm"] or "nan")
    return [
        log10_ratio(slot["first_hidden_kernel"], slot["output_bias"])
        for _, slot in sorted(by_replicate.items(), key=lambda item: int(item[0]))
    ]


def unit_fractions(rows: list[dict[str, str]], epoch: int, column: str) -> np.ndarray:
    """Per replicate and hidden layer, the share of units dead/saturated: (R, depth)."""
    table: dict[int, dict[int, float]] = {}
    for row in rows:
        if int(row["epoch"]) == epoch and row["role"] == "hidden":
            table.setdefault(int(row["replicate"]), {})[int(row["layer"])] = float(row[column])
    return np.array([[layers[k] for k in sorted(layers)] for _, layers in sorted(table.items())])


def variant_metrics(
    y_test: np.ndarray,
    test_predictions: np.ndarray,
    truth_table_predictions: np.ndarray,
    gradient_rows: list[dict[str, str]],
    unit_rows: list[dict[str, str]],
) -> dict:
    """All metrics of one variant. Predictions are (replicates, rows)."""
    scores = [test_scores(y_test, p) for p in test_predictions]
    accuracy = np.array([s["accuracy"] for s in scores])
    spans = truth_table_predictions.max(axis=1) - truth_table_predictions.min(axis=1)
    final_epoch = max(int(row["epoch"]) for row in gradient_rows)
    dead_init = unit_fractions(unit_rows, 0, "dead_fraction")
    return {
        "replicates": len(scores),
        "test": {
            "accuracy": float(accuracy.mean()),
            "accuracy_min": float(accuracy.min()),
            "mse": float(np.mean([s["mse"] for s in scores])),
        },
        "success_rate": float(np.mean(accuracy == 1.0)),
        "collapse_rate": float(np.mean(spans < COLLAPSE_SPAN)),
        "born_dead_rate": float(np.mean(np.any(dead_init == 1.0, axis=1))),
        "gradients": {
            "log10_ratio_at_init": float(np.median(gradient_ratios(gradient_rows, 0))),
            "log10_ratio_final": float(np.median(gradient_ratios(gradient_rows, final_epoch))),
        },
        "dead_units": {
            "init": float(dead_init.mean()),
            "final": float(unit_fractions(unit_rows, final_epoch, "dead_fraction").mean()),
        },
        "saturated_units": {
            "init": float(unit_fractions(unit_rows, 0, "saturated_fraction").mean()),
            "final": float(unit_fractions(unit_rows, final_epoch, "saturated_fraction").mean()),
        },
    }


def surface_grid() -> np.ndarray:
    axis = np.linspace(0.0, 1.0, SURFACE_STEPS, dtype=np.float32)
    x1, x2 = np.meshgrid(axis, axis, indexing="ij")
    return np.column_stack([x1.ravel(), x2.ravel()])


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.evaluate", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--models-dir", type=Path, required=True)
    parser.add_argument("--train-plots-dir", type=Path, required=True)
    parser.add_argument("--metrics-dir", type=Path, required=True)
    parser.add_argument("--plots-dir", type=Path, required=True)
    args = parser.parse_args(argv)

    params = load_params(args.params)
    x_test, y_test = load_split(args.data_dir / "test.csv")
    for name in params.variants:  # fail before the slow import if anything is missing
        for k in range(params.replicates):
            if not model_path(args.models_dir / name, k).is_file():
                raise DataError(
                    f"{model_path(args.models_dir / name, k)}: model not found "
                    f"(params.yaml asks for {params.replicates} replicates; run `dvc repro`)"
                )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter

    grid = surface_grid()
    for name in params.variants:
        models = [
            load_model(model_path(args.models_dir / name, k)) for k in range(params.replicates)
        ]
        test_predictions = np.array([predict(m, x_test) for m in models])
        truth_predictions = np.array([predict(m, TRUTH_TABLE) for m in models])
        train_dir = args.train_plots_dir / name
        metrics = variant_metrics(
            y_test,
            test_predictions,
            truth_predictions,
            read_table(train_dir / "gradients.csv"),
            read_table(train_dir / "units.csv"),
        )
        write_json(args.metrics_dir / f"{name}.json", metrics)

        y_truth = or_gate(TRUTH_TABLE)
        rows = [
            [split, k, i, *map(int, x), int(y), p[i]]
            for split, xs, ys, predictions in (
                ("test", x_test, y_test, test_predictions),
                ("truth_table", TRUTH_TABLE, y_truth, truth_predictions),
            )
            for k, p in enumerate(predictions)
            for i, (x, y) in enumerate(zip(xs, ys, strict=True))
        ]
        out_dir = args.plots_dir / name
        write_csv(
            out_dir / "predictions.csv",
            ("split", "replicate", "row", "x1", "x2", "y", "prediction"),
            rows,
        )
        surface = predict(models[0], grid)
        write_csv(
            out_dir / "decision_surface.csv",
            ("x1", "x2", "prediction"),
            ([x1, x2, p] for (x1, x2), p in zip(grid, surface, strict=True)),
        )

        print(
            f"evaluate: {name}: test accuracy {metrics['test']['accuracy']:.3f} "
            f"(min {metrics['test']['accuracy_min']:.3f}), success {metrics['success_rate']:.2f}, "
            f"collapse {metrics['collapse_rate']:.2f}, born dead {metrics['born_dead_rate']:.2f}, "
            f"log10 gradient ratio at init {metrics['gradients']['log10_ratio_at_init']:.1f}"
        )
        for k, p in enumerate(test_predictions):
            print(f"  replicate {k}: test predictions {np.array2string(p, precision=6)}")


if __name__ == "__main__":
    run(main)
