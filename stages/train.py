"""Stage ``train@<variant>``: train ``replicates`` networks of one variant and record them.

Reads ``params.yaml`` (seed, depth, replicates, model.width, train.*, variants.<variant>) and
``data/prepared/{train,validation}.csv``. Writes one Keras model per replicate,
``<model-dir>/replicate_NNN.keras`` (a DVC-cached output), and the training records
(``history.csv``, ``gradients.csv``, ``units.csv``; see ``or_gate/records.py``) into
``<records-dir>``.

Replicate k starts from the weights ``build_model`` draws after
``keras.utils.set_random_seed(seed + k)`` and its rows are reshuffled every epoch by
``numpy.random.default_rng(seed + k)``. All replicates train together in one compiled graph
(``or_gate/training.py``).

    python stages/train.py --variant sigmoid --data-dir data/prepared \
        --model-dir models/sigmoid --records-dir data/training/sigmoid
"""

from __future__ import annotations

import os
import time

from or_gate.cli import stage_arguments
from or_gate.data import read_split
from or_gate.errors import ParamsError, run
from or_gate.params import load_params

# The paths dvc.yaml passes to this stage.
PATHS = ("data-dir", "model-dir", "records-dir")


def progress_line(variant: str, epoch: int, epochs: int, last: dict, started: float) -> str:
    losses = " ".join(f"{loss:.4g}" for loss in last["loss"][:8])
    more = f" (+{len(last['loss']) - 8} more)" if len(last["loss"]) > 8 else ""
    return (
        f"train@{variant}: epoch {epoch:>{len(str(epochs))}}/{epochs}  "
        f"loss by replicate: {losses}{more}  [{time.perf_counter() - started:.1f}s]"
    )


def main(argv: list[str]) -> None:
    args = stage_arguments(argv, "stages/train.py", __doc__, PATHS, variant=True)

    params = load_params(args.params)
    if args.variant not in params.variants:
        raise ParamsError(
            f"params.yaml: no variant '{args.variant}'; variants: {', '.join(params.variants)}"
        )
    started = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    from or_gate.model_files import save_models
    from or_gate.records import write_diagnostics, write_history
    from or_gate.training import Splits, log_spaced_epochs, seeds_of, trainer_for

    import keras  # loads TensorFlow (~10 s)
    import tensorflow as tf

    keras.utils.set_random_seed(params.seed)
    tf.config.experimental.enable_op_determinism()
    data = Splits(
        *read_split(args.data_dir / "train.csv"), *read_split(args.data_dir / "validation.csv")
    )
    architecture, trainer = trainer_for(params, args.variant, data)
    epochs = params.train.epochs
    print(
        f"train@{args.variant}: {params.replicates} replicates of depth {params.depth} "
        f"({architecture.activation}, {architecture.initializer}), {epochs} epochs x "
        f"{trainer.steps} steps, compiling...",
        flush=True,
    )
    result = trainer.fit(
        seeds_of(params),
        diagnostic_epochs=log_spaced_epochs(epochs),
        on_progress=lambda epoch, last: print(
            progress_line(args.variant, epoch, epochs, last, started), flush=True
        ),
    )
    save_models(architecture, result.weights, args.model_dir)
    write_history(args.records_dir, result.history)
    write_diagnostics(args.records_dir, architecture, result.diagnostics)
    print(
        f"train@{args.variant}: saved {params.replicates} models to {args.model_dir} "
        f"in {time.perf_counter() - started:.1f}s"
    )


if __name__ == "__main__":
    run(main)
