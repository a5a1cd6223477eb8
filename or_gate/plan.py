"""What a training run will do and need, said before it starts: its schedule and its memory.

``validate`` asks this module before DVC deletes anything (:func:`check_fits`), and ``train``
states the same plan as its first line (:func:`training_plan`), so a run that cannot fit is
refused with its numbers at once, instead of failing minutes later with an out-of-memory
error that names no culprit.

The schedule: the compiled loop trains chunks of at most ``CHUNK_EPOCHS`` epochs per call
(:func:`chunk_epochs_for`), and the network is measured at log-spaced epochs
(:func:`log_spaced_epochs`).

The memory (:func:`training_memory`) is an upper bound of the training process's peak, part
by part, each in closed form (no part builds one object per layer or per epoch, so any
depth, replicate count or epoch count is planned at once):

* TensorFlow, Keras and XLA themselves (~0.9 GB measured before the first step);
* the compiled graph, per layer (7.0 to 7.9 MB a layer measured at depths 10, 100 and 300);
* the stacked weights and their training copies (Adam's two moments, the gradient, an
  update's temporaries);
* the diagnostics' activations on every training row;
* two chunks of epochs' row orders (the one training and the next, drawn meanwhile);
* the history: four float32 numbers per replicate and epoch, twice (the chunks and their
  concatenation), and its formatted CSV line (44 bytes measured at 1,000 replicates x 5,000
  epochs);
* the diagnostic records: a line per replicate, layer and diagnostic epoch, in two files.

At 1,000 replicates x 5,000 epochs the plan said 67 MB while the process peaked at 1.80 GB (the
history's text was held four times over); it now counts every part above, and the records are
written a replicate at a time (docs/benchmark.md has the measurements).
"""

from __future__ import annotations

from dataclasses import dataclass

from or_gate.architecture import Initializer
from or_gate.params import Params
from or_gate.runtime import ResourceError
from or_gate.task import INPUTS

FLOAT_BYTES = 4
TENSORFLOW_BYTES = 1_000_000_000  # the process before its first step: 0.7-0.9 GB measured
GRAPH_BYTES_PER_LAYER = 8_000_000  # the compiled loop and its XLA program, per layer
# Copies of the stacked weights alive while training: the weights, Adam's two moments, the
# gradient, and the temporaries of one update.
WEIGHT_COPIES = 6
# Copies of every layer's activations on the full training set held while diagnosing: the
# pre-activations, the outputs, the derivatives and the gradient tape's own.
ACTIVATION_COPIES = 4
HISTORY_QUANTITIES = 4  # loss, accuracy, val_loss, val_accuracy
HISTORY_LINE_BYTES = 64  # "replicate,epoch,loss,accuracy,val_loss,val_accuracy\n": 44 measured
DIAGNOSTIC_LINE_BYTES = 96  # a gradients.csv or units.csv line: under 70 measured

# The compiled training loop runs at most this many epochs per call (one fixed input shape:
# one compilation). With many rows and replicates the chunk shrinks, so that its row orders
# (int32, and their transposed copy) stay within ORDER_BYTES.
CHUNK_EPOCHS = 20
ORDER_BYTES = 256 * 2**20


def chunk_epochs_for(replicates: int, rows: int) -> int:
    """Epochs per compiled call: CHUNK_EPOCHS, or fewer where their row orders would not fit
    in ORDER_BYTES."""
    return max(1, min(CHUNK_EPOCHS, ORDER_BYTES // (8 * replicates * max(rows, 1))))


def log_spaced_epochs(epochs: int) -> list[int]:
    """The epochs the network is measured at: 0 (initialisation), 1, 2, 4, 8, ... and the
    last (about log2(epochs) of them, however many epochs)."""
    return sorted({0, epochs, *(2**k for k in range((epochs - 1).bit_length()))})


def parameters_per_replicate(depth: int, width: int) -> int:
    """Weights and biases of one network: the input layer (inputs -> width), ``depth`` hidden
    layers (width -> width) and the output layer (width -> 1), each a kernel and a bias. A
    variant without the input layer, or a task with fewer inputs, has fewer: this is their
    upper bound."""
    inputs = max(INPUTS.values())
    return (inputs + 1) * width + depth * (width + 1) * width + (width + 1)


@dataclass(frozen=True)
class MemoryPlan:
    parts: dict[str, int]  # what -> bytes

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    @property
    def largest(self) -> str:
        name = max(self.parts, key=self.parts.__getitem__)
        return f"{name} {human(self.parts[name])}"


def batch_shape(params: Params, rows: int) -> tuple[int, int]:
    """(batch size, steps per epoch): a batch larger than the data is all of it, as Keras'."""
    batch = max(1, min(params.train.batch_size, rows))
    return batch, -(-rows // batch)


def training_memory(params: Params, rows: int) -> MemoryPlan:
    """The peak memory of one variant's training on ``rows`` training rows, part by part."""
    depth, width, replicates = params.depth, params.model.width, params.replicates
    epochs, layers = params.train.epochs, params.depth + 2
    batch, steps = batch_shape(params, rows)
    padded = batch * steps
    chunk = chunk_epochs_for(replicates, padded)
    parameters = parameters_per_replicate(depth, width)
    history = HISTORY_QUANTITIES * FLOAT_BYTES * 2 + HISTORY_LINE_BYTES
    diagnosed = len(log_spaced_epochs(epochs))
    return MemoryPlan(
        {
            "TensorFlow itself": TENSORFLOW_BYTES,
            "the compiled graph": GRAPH_BYTES_PER_LAYER * layers,
            "the stacked weights": WEIGHT_COPIES * FLOAT_BYTES * replicates * parameters,
            "the diagnostics' activations": ACTIVATION_COPIES
            * FLOAT_BYTES
            * replicates
            * padded
            * width
            * layers,
            "the row orders": 2 * 2 * FLOAT_BYTES * chunk * replicates * padded,
            "the history": history * epochs * replicates,
            "the diagnostic records": 2 * DIAGNOSTIC_LINE_BYTES * diagnosed * replicates * layers,
        }
    )


def available_bytes() -> int:
    """Memory the system says can be had now."""
    import psutil

    return int(psutil.virtual_memory().available)


def human(count: float) -> str:
    """1.2 GB, 340 MB, 12 kB."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count:.0f} B"


def check_fits(params: Params, rows: int, who: str) -> MemoryPlan:
    """The training's memory plan; :class:`ResourceError` naming the keys if it cannot fit."""
    plan = training_memory(params, rows)
    available = available_bytes()
    if plan.total > available:
        raise ResourceError(
            f"{who} needs about {human(plan.total)} (the largest part, {plan.largest}) for "
            f"depth {params.depth}, model.width {params.model.width}, replicates "
            f"{params.replicates} and train.epochs {params.train.epochs} on {rows} training "
            f"rows; {human(available)} is available (reduce those keys)"
        )
    return plan


def training_plan(params: Params, variant: str, rows: int) -> str:
    """The work and memory a training will take (refused up front if it cannot fit)."""
    plan = check_fits(params, rows, f"train@{variant}")
    batch, steps = batch_shape(params, rows)
    spec = params.variants[variant]
    return (
        f"train@{variant}: {params.replicates} replicates of depth {params.depth} "
        f"({spec.activation}, {Initializer.of(spec.initializer)}"
        f"{', residual' if spec.residual else ''}) x {params.train.epochs} epochs x {steps} "
        f"steps of {batch} rows; about {human(plan.total)} of memory"
    )
