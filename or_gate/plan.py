"""What a run will need, said before it starts: parameters, memory, and what is available.

``validate`` and ``train`` both ask this module: :func:`check_weights_fit` refuses params whose
stacked weights alone cannot fit, before DVC deletes anything; :func:`training_plan` states a
training's work and memory and refuses it with its numbers if it cannot fit.

The estimates are deliberately simple upper bounds of the arrays that grow with the
parameters (they do not count TensorFlow's own ~1 GB), so a run that cannot fit is refused
with its numbers before any work, instead of failing minutes later with an out-of-memory
error that names no culprit.
"""

from __future__ import annotations

import os

from or_gate.architecture import Architecture, Initializer
from or_gate.params import Params
from or_gate.runtime import ParamsError, ResourceError

FLOAT_BYTES = 4
# Copies of the stacked weights alive while training: the weights, Adam's two moments, the
# gradient, and the temporaries of one update.
WEIGHT_COPIES = 6
# Copies of every layer's activations on the full training set held while diagnosing: the
# pre-activations, the outputs, the derivatives and the gradient tape's own.
ACTIVATION_COPIES = 4


def parameters_per_replicate(depth: int, width: int) -> int:
    """Weights and biases of one network, as its layout counts them (the layout depends on
    depth and width only, not on the activation or initializer)."""
    return Architecture(depth, width, activation="", initializer="").layout.size


def weight_bytes(depth: int, width: int, replicates: int) -> int:
    """The stacked weights of every replicate and their training copies."""
    return WEIGHT_COPIES * FLOAT_BYTES * replicates * parameters_per_replicate(depth, width)


def training_bytes(depth: int, width: int, replicates: int, rows: int) -> int:
    """Weights, plus the diagnostics' activations on every training row (padded to whole
    batches), plus two chunks of epochs' row orders: the one training (its batches and
    TensorFlow's copy) and the next, which the helper thread draws meanwhile (its orders
    and batches)."""
    activations = ACTIVATION_COPIES * FLOAT_BYTES * replicates * rows * width * (depth + 2)
    orders = 4 * 4 * chunk_epochs_for(replicates, rows) * replicates * rows
    return weight_bytes(depth, width, replicates) + activations + orders


def available_bytes() -> int | None:
    """Memory the kernel says can be had now (MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def shortfall(needed: int) -> int | None:
    """The bytes available when ``needed`` exceeds them, else None (also where unknown)."""
    available = available_bytes()
    return available if available is not None and needed > available else None


def human(count: float) -> str:
    """1.2 GB, 340 MB, 12 kB."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count:.0f} B"


# The compiled training loop runs at most this many epochs per call (one fixed input shape:
# one compilation). With many rows and replicates the chunk shrinks, so that its row orders
# (int32, and their transposed copy) stay within ORDER_BYTES.
CHUNK_EPOCHS = 20
ORDER_BYTES = 256 * 2**20


def chunk_epochs_for(replicates: int, rows: int) -> int:
    """Epochs per compiled call: CHUNK_EPOCHS, or fewer where their row orders would not fit
    in ORDER_BYTES."""
    return max(1, min(CHUNK_EPOCHS, ORDER_BYTES // (8 * replicates * max(rows, 1))))


def check_weights_fit(params: Params) -> None:
    """Refuse, naming the keys, a run whose stacked weights alone cannot fit in memory."""
    needed = weight_bytes(params.depth, params.model.width, params.replicates)
    available = shortfall(needed)
    if available is not None:
        raise ParamsError(
            f"params.yaml: model.width {params.model.width}, depth {params.depth} and "
            f"replicates {params.replicates} need about {human(needed)} for the "
            f"stacked weights and their training copies alone; {human(available)} "
            "is available (reduce model.width, depth or replicates)"
        )


def training_plan(params: Params, variant: str, rows: int) -> str:
    """The work and memory a training will take, refused up front if it cannot fit."""
    batch_size = params.train.batch_size
    steps = -(-rows // batch_size)
    sizes = (params.depth, params.model.width, params.replicates)
    needed = training_bytes(*sizes, steps * batch_size)
    available = shortfall(needed)
    if available is not None:
        raise ResourceError(
            f"train@{variant} needs about {human(needed)} (depth {params.depth}, "
            f"model.width {params.model.width}, {params.replicates} replicates, {rows} "
            f"training rows); {human(available)} is available"
        )
    spec = params.variants[variant]
    return (
        f"train@{variant}: {params.replicates} replicates of depth {params.depth} "
        f"({spec.activation}, {Initializer.of(spec.initializer_form())}"
        f"{', residual' if spec.residual else ''}) x {params.train.epochs} epochs x {steps} "
        f"steps of {batch_size} rows; about {human(needed)} of memory"
    )
