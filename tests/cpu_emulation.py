"""Train, diagnose and evaluate a tiny network; print a digest of every result's bytes.

Run by tests/test_environment.py in a fresh process whose environment emulates a CPU (caps on
the instruction sets NumPy, oneDNN and XLA may use)::

    python tests/cpu_emulation.py pinned     # as a stage runs: the project's pins in force
    python tests/cpu_emulation.py unpinned   # as the emulated CPU would run without them

``unpinned`` loads NumPy and TensorFlow and runs one op and one XLA compilation before the
``or_gate`` package is imported, so the emulated environment, not the pin, decides which
kernels are used (NumPy reads its variable at import, oneDNN and XLA at first use).
"""

from __future__ import annotations

import hashlib
import json
import sys


def warm_up_unpinned() -> None:
    import numpy as np
    import tensorflow as tf

    x = tf.constant(np.ones((64, 2), np.float32))
    tf.matmul(x, tf.ones((2, 2)))  # oneDNN picks its ISA
    tf.function(lambda t: tf.reduce_sum(t * t), jit_compile=True)(x)  # XLA reads its flags


def digest() -> dict[str, str]:
    from or_gate.architecture import Architecture
    from or_gate.model import build_model, stacked_initial_weights
    from or_gate.training import Splits, StackedTrainer

    import numpy as np
    from helpers import train_settings

    from tools.analysis.export import load_model, save_model

    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(40, 2)).astype(np.float32)
    y = np.logical_or(x[:, 0], x[:, 1]).astype(np.float32)
    architecture = Architecture(depth=3, width=2, activation="sigmoid", initializer="uniform")
    seeds = [7, 8, 9]
    trainer = StackedTrainer(
        architecture,
        stacked_initial_weights(architecture, seeds),
        Splits(x[:32], y[:32], x[32:], y[32:]),
        train_settings(epochs=5, learning_rate=0.01),
    )
    result = trainer.fit(seeds, diagnostic_epochs=[0, 5])
    gradients = np.concatenate(
        [d.kernel_gradient_norm.ravel() for _, d in sorted(result.diagnostics.items())]
    )
    model = build_model(architecture)
    model.set_weights(architecture.layout.unflatten(result.weights[0]))
    grid = np.stack(np.meshgrid(*[np.linspace(0, 1, 41, dtype=np.float32)] * 2), -1)
    surface = np.asarray(model(grid.reshape(-1, 2), training=False))
    path = "/tmp/or_gate_cpu_emulation.keras" if len(sys.argv) < 3 else sys.argv[2]
    save_model(model, path)
    reloaded = np.asarray(load_model(path)(grid.reshape(-1, 2), training=False))

    def md5(array) -> str:
        return hashlib.md5(np.ascontiguousarray(array).tobytes()).hexdigest()

    return {
        "trained_weights": md5(result.weights),  # XLA
        "gradient_norms": md5(gradients),  # eager TensorFlow (oneDNN graph rewrites)
        "decision_surface": md5(surface),  # Keras model call (oneDNN matrix multiply)
        "log10_gradients": md5(np.log10(gradients)),  # NumPy's dispatched math
        "exp_surface": md5(np.exp(surface.astype(np.float64))),  # NumPy's dispatched math
        "saved_model": hashlib.md5(open(path, "rb").read()).hexdigest(),
        "reloaded_equal": str(bool(np.array_equal(surface, reloaded))),
    }


if __name__ == "__main__":
    if sys.argv[1] == "unpinned":
        warm_up_unpinned()
    else:
        import or_gate  # noqa: F401  (pins, as in every stage process)
    print(json.dumps(digest()))
