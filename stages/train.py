"""Stage ``train@<variant>``: train ``replicates`` networks of one variant and record them.

Reads ``params.yaml`` (seed, depth, replicates, model.width, train.*, variants.<variant>) and
``data/prepared/{train,validation}.csv``. Writes:

* ``<model-dir>/replicate_NNN.keras``: one Keras model per replicate (a DVC-cached output);
* ``<plots-dir>/history.csv``: loss, accuracy, val_loss, val_accuracy by replicate and epoch,
  as ``keras.Model.fit`` reports them;
* ``<plots-dir>/gradients.csv``: the norm of the loss gradient (full training set) with respect
  to every layer's kernel and bias, at initialisation (epoch 0) and at log-spaced epochs;
* ``<plots-dir>/units.csv``: the share of every layer's units that are dead (output 0 on every
  training input) or saturated (activation derivative < 0.01 on every training input), at the
  same epochs.

Replicate k is initialised as ``keras.utils.set_random_seed(seed + k)`` followed by
``build_model`` would initialise it, and its rows are reshuffled every epoch by
``numpy.random.default_rng(seed + k)``. All replicates train together in one compiled graph
(``stages/trainer.py``).

    python -m stages.train --variant sigmoid --data-dir data/prepared \
        --model-dir models/sigmoid --plots-dir plots/train/sigmoid
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from stages.errors import ParamsError, run
from stages.model_files import model_path, save_model
from stages.network import Architecture, build_model, stacked_initial_weights
from stages.params import Params, load_params
from stages.prepare import load_split
from stages.tables import write_csv


def describe_progress(variant: str, epoch: int, epochs: int, last: dict, started: float) -> str:
    losses = " ".join(f"{loss:.4g}" for loss in last["loss"][:8])
    more = f" (+{len(last['loss']) - 8} more)" if len(last["loss"]) > 8 else ""
    return (
        f"train@{variant}: epoch {epoch:>{len(str(epochs))}}/{epochs}  "
        f"loss by replicate: {losses}{more}  [{time.perf_counter() - started:.1f}s]"
    )


def write_history(path: Path, history: dict[str, np.ndarray]) -> None:
    """One row per replicate and epoch (1-based, as Keras counts), one column per quantity."""
    epochs, replicates = history["loss"].shape
    rows = (
        [k, epoch + 1, *(values[epoch, k] for values in history.values())]
        for k in range(replicates)
        for epoch in range(epochs)
    )
    write_csv(path, ("replicate", "epoch", *history), rows)


def write_diagnostics(plots_dir: Path, architecture: Architecture, diagnostics: dict) -> None:
    roles = [layer.role for layer in architecture.layers]
    gradient_rows, unit_rows = [], []
    for epoch, measured in sorted(diagnostics.items()):
        replicates, layers = measured.kernel_gradient_norm.shape
        for k in range(replicates):
            for layer in range(layers):
                where = (k, epoch, layer, roles[layer])
                gradient_rows.append(
                    (
                        *where,
                        measured.kernel_gradient_norm[k, layer],
                        measured.bias_gradient_norm[k, layer],
                    )
                )
                unit_rows.append(
                    (
                        *where,
                        measured.dead_fraction[k, layer],
                        measured.saturated_fraction[k, layer],
                    )
                )
    where_columns = ("replicate", "epoch", "layer", "role")
    write_csv(
        plots_dir / "gradients.csv",
        (*where_columns, "kernel_gradient_norm", "bias_gradient_norm"),
        gradient_rows,
    )
    write_csv(
        plots_dir / "units.csv", (*where_columns, "dead_fraction", "saturated_fraction"), unit_rows
    )


def build_trainer(params: Params, variant_name: str, splits: tuple) -> tuple:
    """The stacked trainer of one variant's replicates, and their seeds, as params say.

    ``splits`` is ``(x_train, y_train, x_val, y_val)``. Imports TensorFlow.
    """
    from stages.trainer import StackedTrainer

    variant = params.variants[variant_name]
    architecture = Architecture(params.depth, params.width, variant.activation, variant.initializer)
    seeds = [params.seed + k for k in range(params.replicates)]
    trainer = StackedTrainer(
        architecture,
        stacked_initial_weights(architecture, seeds),
        *splits,
        batch_size=params.batch_size,
        optimizer=params.optimizer,
        learning_rate=params.learning_rate,
        loss=params.loss,
    )
    return architecture, seeds, trainer


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.train", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--variant", required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--plots-dir", type=Path, required=True)
    args = parser.parse_args(argv)

    params = load_params(args.params)
    if args.variant not in params.variants:
        raise ParamsError(
            f"params.yaml: no variant '{args.variant}'; variants: {', '.join(params.variants)}"
        )
    splits = (
        *load_split(args.data_dir / "train.csv"),
        *load_split(args.data_dir / "validation.csv"),
    )
    started = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    import keras  # loads TensorFlow (~10 s)
    import tensorflow as tf

    from stages.trainer import log_spaced_epochs

    keras.utils.set_random_seed(params.seed)
    tf.config.experimental.enable_op_determinism()
    variant = params.variants[args.variant]
    architecture, seeds, trainer = build_trainer(params, args.variant, splits)
    print(
        f"train@{args.variant}: {params.replicates} replicates of depth {params.depth} "
        f"({variant.activation}, {variant.initializer}), {params.epochs} epochs x "
        f"{trainer.steps} steps, compiling...",
        flush=True,
    )
    result = trainer.fit(
        params.epochs,
        seeds,
        diagnostic_epochs=log_spaced_epochs(params.epochs),
        on_progress=lambda epoch, last: print(
            describe_progress(args.variant, epoch, params.epochs, last, started), flush=True
        ),
    )

    args.model_dir.mkdir(parents=True, exist_ok=True)
    model = build_model(architecture)
    for k, flat in enumerate(result.weights):
        model.set_weights(architecture.layout.unflatten(flat))
        save_model(model, model_path(args.model_dir, k))
    write_history(args.plots_dir / "history.csv", result.history)
    write_diagnostics(args.plots_dir, architecture, result.diagnostics)
    print(
        f"train@{args.variant}: saved {params.replicates} models to {args.model_dir} "
        f"in {time.perf_counter() - started:.1f}s",
        file=sys.stdout,
    )


if __name__ == "__main__":
    run(main)
