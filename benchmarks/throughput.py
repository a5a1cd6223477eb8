"""Training throughput: the write-up's ``model.fit(batch_size=1)`` against the stacked trainer.

Run by ``benchmarks/bench.py`` in a child process (one TensorFlow import); prints one JSON
line: seconds per optimizer step of one replicate, both ways, on the default params.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIT_EPOCHS = 3  # the write-up's fit is ~1 s an epoch: a few epochs give its steady state


def throughput() -> dict:
    from or_gate.files.data import read_split
    from or_gate.params import load_params
    from or_gate.plan import log_spaced_epochs
    from or_gate.training import Splits, seeds_of, trainer_for

    import tensorflow as tf

    params = load_params(REPO / "params.yaml")
    data = Splits(
        *read_split(REPO / "data/prepared/train.csv"),
        *read_split(REPO / "data/prepared/validation.csv"),
    )
    steps = len(data.x_train)  # batch size 1
    epochs = params.train.epochs
    tf.config.experimental.enable_op_determinism()
    fit_step, epoch_seconds = time_keras_fit(params, data)

    # The project's trainer: every replicate of the default run, built as `train` builds it.
    started = time.perf_counter()
    one_epoch = params.model_copy(update={"train": params.train.model_copy(update={"epochs": 1})})
    trainer_for(one_epoch, "sigmoid", data)[1].fit(seeds_of(params))  # compiles
    compiled = time.perf_counter()
    _, trainer = trainer_for(params, "sigmoid", data)
    trainer.fit(seeds_of(params), diagnostic_epochs=log_spaced_epochs(epochs))
    finished = time.perf_counter()
    replicate_steps = params.replicates * epochs * steps
    steady_step = (finished - compiled) / replicate_steps
    with_compile_step = (finished - started) / (replicate_steps + params.replicates * steps)
    return {
        "fit_seconds_per_step": fit_step,
        "fit_epoch_seconds": epoch_seconds,
        "trainer_compile_seconds": compiled - started,
        "trainer_seconds_for_default_run": finished - compiled,
        "trainer_seconds_per_replicate_step": steady_step,
        "trainer_seconds_per_replicate_step_with_compile": with_compile_step,
        "speedup_steady": fit_step / steady_step,
        "speedup_with_compile": fit_step / with_compile_step,
        "replicates": params.replicates,
        "epochs": epochs,
        "steps_per_epoch": steps,
    }


def time_keras_fit(params, data) -> tuple[float, list[float]]:
    """The write-up's way, model.fit(batch_size=1): seconds per step (median epoch, after
    the first, which includes tracing) and every epoch's seconds."""
    from or_gate.architecture import Architecture
    from or_gate.model import build_model

    import keras

    spec = params.variants["sigmoid"]
    architecture = Architecture(params.depth, params.model.width, spec.activation, spec.initializer)

    # The write-up's way: model.fit(batch_size=1), timed per epoch by a callback.
    keras.utils.set_random_seed(params.seed)
    model = build_model(architecture)
    model.compile(optimizer="adam", loss="mean_squared_error", metrics=["accuracy"])
    epoch_seconds: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_seconds.append(time.perf_counter() - self.started)

    model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=FIT_EPOCHS,
        batch_size=1,
        verbose=0,
        callbacks=[Clock()],
    )
    return statistics.median(epoch_seconds[1:]) / len(data.x_train), epoch_seconds


if __name__ == "__main__":
    print(json.dumps(throughput()))
