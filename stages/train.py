"""Stage ``train@<variant>``: train ``replicates`` networks of one variant and record them.

Reads ``params.yaml`` (seed, depth, replicates, model.width, train.*, variants.<variant>) and
``data/prepared/{train,validation}.csv``. Writes every replicate's trained weights, stacked,
into ``<model-dir>`` (a DVC-cached output; ``or_gate/files/weights.py``, and
``tools/export_model.py`` for any replicate as a ``.keras`` file), beside the records of how
they trained (``history.csv``, ``gradients.csv``, ``units.csv``; see
``or_gate/files/records.py``).

Replicate k starts from the weights ``build_model`` draws after
``keras.utils.set_random_seed(seed + k)`` and its rows are reshuffled every epoch by
``numpy.random.default_rng(seed + k)``. All replicates train together in one compiled graph
(``or_gate/training.py``).

    python -m stages.train --variant sigmoid --data-dir data/prepared \
        --model-dir models/sigmoid
"""

from __future__ import annotations

import contextlib
import time

from or_gate import plan
from or_gate.files.data import read_split
from or_gate.params import load_params
from or_gate.runtime import ParamsError, load_tensorflow, phase, run, stage_arguments

# The paths dvc.yaml passes to this stage.
PATHS = ("data-dir", "model-dir")


def progress_line(variant: str, epoch: int, epochs: int, last: dict, started: float) -> str:
    losses = " ".join(f"{loss:.4g}" for loss in last["loss"][:8])
    more = f" (+{len(last['loss']) - 8} more)" if len(last["loss"]) > 8 else ""
    return (
        f"train@{variant}: epoch {epoch:>{len(str(epochs))}}/{epochs}  "
        f"loss by replicate: {losses}{more}  [{time.perf_counter() - started:.1f}s]"
    )


def main(argv: list[str]) -> None:
    args = stage_arguments(argv, "stages.train", __doc__, PATHS, variant=True)
    params = load_params(args.params)
    if args.variant not in params.variants:
        raise ParamsError(
            f"params.yaml: no variant '{args.variant}'; variants: {', '.join(params.variants)}"
        )
    stage, started = f"train@{args.variant}", time.perf_counter()
    splits = (
        *read_split(args.data_dir / "train.csv"),
        *read_split(args.data_dir / "validation.csv"),
    )
    print(plan.training_plan(params, args.variant, len(splits[0])), flush=True)
    with phase(stage, "loading TensorFlow"):
        load_tensorflow()  # first, so that no import below loads it with its noise
    from or_gate.files.records import TrainingRecords
    from or_gate.files.weights import save_stacked
    from or_gate.training import Splits, seeds_of, trainer_for

    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(params.seed)
    tf.config.experimental.enable_op_determinism()
    # One thread per op: the compiled loop's fusions are too small to gain from a second
    # thread (measured: the same speed at 1,000 replicates), and the trainer's helper thread
    # formats records and measures diagnostics on the other core meanwhile. The bytes do not
    # depend on the thread count.
    with contextlib.suppress(RuntimeError):  # TF already runs here (tests call main() twice)
        tf.config.threading.set_intra_op_parallelism_threads(1)
    with phase(stage, f"drawing the initial weights of {params.replicates} replicates"):
        architecture, trainer = trainer_for(params, args.variant, Splits(*splits))
    epochs, records = params.train.epochs, TrainingRecords(architecture)
    with phase(stage, "compiling, then training"):
        result = trainer.fit(
            seeds_of(params),
            diagnostic_epochs=plan.log_spaced_epochs(epochs),
            on_progress=lambda epoch, last: print(
                progress_line(args.variant, epoch, epochs, last, started), flush=True
            ),
            on_history=records.add_history,
            on_diagnostics=records.add_diagnostics,
        )
    finite = np.isfinite(result.history["loss"]).all(axis=0) & np.isfinite(result.weights).all(1)
    if not finite.all():  # a legitimate outcome, counted by evaluate as diverged_rate
        print(
            f"{stage}: {(~finite).sum()} of {params.replicates} replicates diverged "
            "(non-finite loss or weights); evaluate counts them in diverged_rate",
            flush=True,
        )
    with phase(stage, f"saving {params.replicates} models and the training records"):
        save_stacked(args.model_dir, architecture, result.weights)
        records.write(args.model_dir)
    seconds = time.perf_counter() - started
    print(f"{stage}: saved {params.replicates} models to {args.model_dir} in {seconds:.1f}s")


if __name__ == "__main__":
    run(main)
