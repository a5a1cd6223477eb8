"""The write-up's network: its Keras model, its initial weights, and its replicates stacked.

The architecture, as the write-up's Keras code builds it::

    Dense(width, sigmoid, 'uniform')             the write-up's "input layer"
    depth x Dense(width, <activation>, <initializer>)    the hidden layers of a variant
    Dense(1, sigmoid, 'uniform')                 the output layer

:func:`build_model` is that network in Keras; the saved models are such models. Training uses
the same weights as one flat float32 vector per replicate, stacked into an array of shape
``(replicates, parameters)`` (:class:`ParamLayout` says where each kernel and bias lives), so
that every replicate trains inside one compiled TensorFlow graph (``or_gate/training.py``).
Nothing here imports TensorFlow at module level.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

INPUTS = 2
# The write-up's first and last layers, the same in every variant.
EDGE_ACTIVATION = "sigmoid"
EDGE_INITIALIZER = "uniform"  # Keras' alias for RandomUniform(-0.05, 0.05)


@dataclass(frozen=True)
class Layer:
    units: int
    activation: str
    initializer: str
    role: str  # "input", "hidden", or "output"


@dataclass(frozen=True)
class Architecture:
    depth: int
    width: int
    activation: str
    initializer: str

    @property
    def layers(self) -> list[Layer]:
        hidden = Layer(self.width, self.activation, self.initializer, "hidden")
        return [
            Layer(self.width, EDGE_ACTIVATION, EDGE_INITIALIZER, "input"),
            *[hidden] * self.depth,
            Layer(1, EDGE_ACTIVATION, EDGE_INITIALIZER, "output"),
        ]

    @property
    def layout(self) -> ParamLayout:
        shapes: list[tuple[int, ...]] = []
        fan_in = INPUTS
        for layer in self.layers:
            shapes += [(fan_in, layer.units), (layer.units,)]
            fan_in = layer.units
        return ParamLayout(tuple(shapes))


@dataclass(frozen=True)
class ParamLayout:
    """Shapes of ``[kernel_0, bias_0, kernel_1, bias_1, ...]``, Keras' ``get_weights`` order."""

    shapes: tuple[tuple[int, ...], ...]

    @property
    def sizes(self) -> list[int]:
        return [int(np.prod(shape)) for shape in self.shapes]

    @property
    def size(self) -> int:
        return sum(self.sizes)

    def flatten(self, weights: list[np.ndarray]) -> np.ndarray:
        """One replicate's weight list -> one float32 vector."""
        for array, shape in zip(weights, self.shapes, strict=True):
            if tuple(array.shape) != shape:
                raise ValueError(f"weight of shape {array.shape}, expected {shape}")
        return np.concatenate([np.asarray(w, np.float32).ravel() for w in weights])

    def unflatten(self, vector: np.ndarray) -> list[np.ndarray]:
        """One replicate's float32 vector -> its weight list."""
        parts = np.split(np.asarray(vector), np.cumsum(self.sizes)[:-1])
        return [part.reshape(shape) for part, shape in zip(parts, self.shapes, strict=True)]


def build_model(architecture: Architecture) -> keras.Sequential:
    """The write-up's network as a Keras model (weights drawn from Keras' global seed)."""
    import keras

    # Named, not numbered: Keras numbers unnamed inputs per process (input_layer_2, ...),
    # which would make a saved model's bytes depend on what the process built before.
    layers = [keras.Input(shape=(INPUTS,), name="input_layer")]
    for index, layer in enumerate(architecture.layers):
        name = layer.role if layer.role != "hidden" else f"hidden_{index}"
        layers.append(
            keras.layers.Dense(
                layer.units,
                activation=layer.activation,
                kernel_initializer=layer.initializer,
                name=name,
            )
        )
    return keras.Sequential(layers, name="or_gate")


def stacked_initial_weights(architecture: Architecture, seeds: list[int]) -> np.ndarray:
    """Replicate k starts from the weights ``build_model`` draws after
    ``keras.utils.set_random_seed(seeds[k])``: shape (R, P), biases zero.

    A Keras random initializer created without a seed takes one from Python's ``random``
    (``random.randint(1, 10**9)``), in the order ``Dense.build`` creates them, and its values
    are a stateless function of that seed. So replicate k's layer seeds are the first draws
    of ``random.Random(seeds[k])``, and calling one initializer object per name with those
    seeds gives the same numbers without building a model or reseeding every global
    generator: about 2 ms a replicate at depth 10 instead of 6 (70-160 ms for a model).
    ``tests/test_network.py`` checks the equality against ``build_model``.
    """
    import keras

    names = {layer.initializer for layer in architecture.layers}
    initializers = {name: keras.initializers.get(name) for name in names}
    shapes = architecture.layout.shapes[0::2]
    stacked = np.zeros((len(seeds), architecture.layout.size), np.float32)
    for k, seed in enumerate(seeds):
        draws, parts = random.Random(seed), []
        for layer, shape in zip(architecture.layers, shapes, strict=True):
            initializer = initializers[layer.initializer]
            if hasattr(initializer, "seed"):  # random initializers; constant ones draw none
                initializer.seed = draws.randint(1, int(1e9))
            parts += [np.asarray(initializer(shape, dtype="float32")).ravel(), np.zeros(shape[1])]
        stacked[k] = np.concatenate(parts)
    return stacked


def initial_weights(architecture: Architecture, seed: int) -> list[np.ndarray]:
    """One replicate's weight list, as ``build_model`` draws it after
    ``keras.utils.set_random_seed(seed)`` (see :func:`stacked_initial_weights`)."""
    return architecture.layout.unflatten(stacked_initial_weights(architecture, [seed])[0])
