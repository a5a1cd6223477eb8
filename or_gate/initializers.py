"""Lu et al.'s randomized asymmetric initialisation (RAI), ``initializer: rai`` in params.yaml.

Lu, Shin, Su and Karniadakis, "Dying ReLU and Initialization: Theory and Numerical Examples"
(Communications in Computational Physics 28(5), 2020; arXiv 1903.06733), section "Randomized
asymmetric initialization". A layer's kernel W (fan_in x units) and bias b are one matrix
V = [W; b] of fan_in + 1 rows. Every entry is drawn from a symmetric distribution Q, then, for
each unit (column), one of its fan_in + 1 entries, chosen uniformly, is replaced by a draw from
a positive distribution P. The constants are the ones the paper uses in its numerical
examples, as public implementations of it give them: Q = N(0, sigma^2 / fan_in) with
sigma = 0.6007 (chosen in the paper so that the second moment of the layer's output matches
He initialisation's), and P = Beta(2, 1). We could not read the paper's own text offline to
check the constants digit by digit; ``tests/test_theory.py`` checks the draw against this
description (moments, one positive entry per unit) and the born-dead rate it gives.

Why it helps: a unit is dead on the OR inputs when all its incoming weights point away from
them; with one entry forced positive (often the bias) that is much rarer, so a whole layer
of width 2 dies with far less than the 1/4 a zero-bias symmetric draw gives.

Also here: :func:`keras_draws`, every replicate's kernel of one layer drawn by a Keras
initializer in one graph call (``or_gate/network.py`` builds the stacked initial weights with
it).

The RAI draw is NumPy's ``default_rng(seed)``; a Keras model built with :func:`rai_pair` draws the
same numbers (kernel and bias from one seed), and the initializer class is registered with
Keras, so a saved model's config names it and loads in safe mode once this module is imported.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import keras
import numpy as np

if TYPE_CHECKING:
    from or_gate.network import Initializer

SIGMA = 0.6007  # Q = N(0, SIGMA^2 / fan_in)
POSITIVE_ALPHA, POSITIVE_BETA = 2.0, 1.0  # P = Beta(2, 1)


def rai_draw(shape: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A layer's kernel (fan_in, units) and bias (units,), float32, from one seed."""
    fan_in, units = shape
    rng = np.random.default_rng(seed)
    joint = rng.normal(0.0, SIGMA / np.sqrt(fan_in), size=(fan_in + 1, units))
    rows = rng.integers(0, fan_in + 1, size=units)  # the entry of each unit made positive
    joint[rows, np.arange(units)] = rng.beta(POSITIVE_ALPHA, POSITIVE_BETA, size=units)
    joint = joint.astype(np.float32)
    return joint[:fan_in], joint[fan_in]


@keras.saving.register_keras_serializable(package="or_gate")
class RandomizedAsymmetric(keras.initializers.Initializer):
    """One half (``part``: "kernel" or "bias") of :func:`rai_draw` for a Dense layer."""

    def __init__(self, seed: int, fan_in: int, part: str) -> None:
        if part not in ("kernel", "bias"):
            raise ValueError(f"part must be 'kernel' or 'bias', not {part!r}")
        self.seed, self.fan_in, self.part = int(seed), int(fan_in), part

    def __call__(self, shape, dtype=None):
        units = shape[-1]
        kernel, bias = rai_draw((self.fan_in, units), self.seed)
        value = kernel if self.part == "kernel" else bias
        if tuple(value.shape) != tuple(shape):
            raise ValueError(f"rai {self.part} of shape {value.shape}, asked for {shape}")
        return keras.ops.convert_to_tensor(value, dtype=dtype or "float32")

    def get_config(self) -> dict:
        return {"seed": self.seed, "fan_in": self.fan_in, "part": self.part}


def rai_pair(fan_in: int, seed: int) -> tuple[RandomizedAsymmetric, RandomizedAsymmetric]:
    """The kernel and bias initializers of one Dense layer, drawn together from ``seed``."""
    return (
        RandomizedAsymmetric(seed, fan_in, "kernel"),
        RandomizedAsymmetric(seed, fan_in, "bias"),
    )


def keras_draws(spec: Initializer, shape: tuple[int, ...], seeds: np.ndarray) -> np.ndarray:
    """The initializer ``spec`` called on ``shape`` with its ``seed`` set to each of ``seeds``,
    in one graph call: (len(seeds), *shape) float32, bit for bit what one call a seed gives.
    """
    import tensorflow as tf

    # Seeds are below 2**31: the int32 pair is the one Keras builds.
    pairs = np.stack([seeds, np.zeros_like(seeds)], axis=1).astype(np.int32)
    return np.asarray(_compiled_draws(spec, tuple(shape))(tf.constant(pairs)))


@functools.cache
def _compiled_draws(spec: Initializer, shape: tuple[int, ...]):
    """Keras' random initializers draw with TensorFlow's stateless ops from the seed tensor
    ``[seed, 0]`` that ``keras.src.random.seed_generator.draw_seed`` makes of an int seed. Here
    that function is swapped, while the graph is traced, for one that returns the seed tensor
    of the current element of a ``tf.map_fn`` over every replicate's seed: one graph call
    instead of one eager call a replicate (~15x faster at 1,000 replicates). The swap is
    undone before tracing ends; ``tests/test_network.py`` checks the equality for every
    initializer name. One trace per initializer and shape, cached for the process.
    """
    import keras.src.backend.tensorflow.random as keras_tf_random
    import tensorflow as tf

    initializer, current = spec.keras(), []

    def draw_one(pair):
        current.append(pair)
        return initializer(shape, dtype="float32")

    @tf.function(autograph=False)
    def draw_all(pairs):
        swapped = keras_tf_random.draw_seed
        keras_tf_random.draw_seed = lambda seed: current[-1]
        try:
            return tf.map_fn(draw_one, pairs, fn_output_signature=tf.float32)
        finally:
            keras_tf_random.draw_seed = swapped

    return draw_all
