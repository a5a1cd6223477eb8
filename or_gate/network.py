"""The write-up's network: its Keras model, its initial weights, and its replicates stacked.

The architecture, as the write-up's Keras code builds it::

    Dense(width, sigmoid, 'uniform')             the write-up's "input layer"
    depth x Dense(width, <activation>, <initializer>)    the hidden layers of a variant
    Dense(1, sigmoid, 'uniform')                 the output layer

A residual variant makes each hidden layer ``h + activation(W h + b)`` (same width, so the
skip needs no projection). The hidden initializer is a Keras name, a Keras name with
arguments, or ``rai`` (Lu et al.'s randomized asymmetric initialisation,
``or_gate/initializers.py``), which draws a layer's kernel and bias together.

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


RAI = "rai"  # the project's own initializer name (or_gate/initializers.py)


@dataclass(frozen=True)
class Initializer:
    """A kernel initializer: a name, and the arguments given to it (sorted, hashable)."""

    name: str
    arguments: tuple[tuple[str, float | str], ...] = ()

    @classmethod
    def of(cls, spec: str | dict | Initializer) -> Initializer:
        """From ``params.yaml``'s form: ``he_normal`` or ``{name: random_uniform, minval: ...}``."""
        if isinstance(spec, Initializer):
            return spec
        if isinstance(spec, str):
            return cls(spec)
        arguments = {key: value for key, value in spec.items() if key != "name"}
        return cls(spec["name"], tuple(sorted(arguments.items())))

    def to_json(self) -> str | dict:
        return self.name if not self.arguments else {"name": self.name, **dict(self.arguments)}

    def __str__(self) -> str:
        if not self.arguments:
            return self.name
        return f"{self.name}({', '.join(f'{k}={v}' for k, v in self.arguments)})"

    @classmethod
    def parse(cls, text: str) -> Initializer:
        """Back from :meth:`__str__` (``random_uniform(maxval=0.2, minval=-0.2)``), as the sweep
        tables store it; numbers come back as floats."""
        name, _, rest = text.partition("(")
        arguments = []
        for pair in filter(None, rest.rstrip(")").split(", ")):
            key, _, value = pair.partition("=")
            try:
                arguments.append((key, float(value)))
            except ValueError:
                arguments.append((key, value))
        return cls(name, tuple(arguments))

    def keras(self):
        """The Keras initializer object (not for ``rai``, which draws kernel and bias together)."""
        from or_gate.errors import ParamsError

        import keras

        try:
            return keras.initializers.get({"class_name": self.name, "config": dict(self.arguments)})
        except (TypeError, ValueError) as error:  # a value Keras refuses, e.g. mode: fan_sideways
            raise ParamsError(f"params.yaml: initializer {self}: {error}") from None


EDGE = Initializer(EDGE_INITIALIZER)


@dataclass(frozen=True)
class Layer:
    units: int
    activation: str
    initializer: Initializer
    role: str  # "input", "hidden", or "output"
    residual: bool = False  # output h + activation(W h + b) instead of activation(W h + b)


@dataclass(frozen=True)
class Architecture:
    depth: int
    width: int
    activation: str
    initializer: Initializer  # a name or a dict is accepted and converted
    residual: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "initializer", Initializer.of(self.initializer))

    def to_json(self) -> dict:
        return {
            "activation": self.activation,
            "depth": self.depth,
            "initializer": self.initializer.to_json(),
            "residual": self.residual,
            "width": self.width,
        }

    @property
    def layers(self) -> list[Layer]:
        hidden = Layer(self.width, self.activation, self.initializer, "hidden", self.residual)
        return [
            Layer(self.width, EDGE_ACTIVATION, EDGE, "input"),
            *[hidden] * self.depth,
            Layer(1, EDGE_ACTIVATION, EDGE, "output"),
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


def _dense(layer: Layer, name: str, fan_in: int):
    """One Keras Dense layer. Its initializers are created here, in layer order, so that each
    random one takes its seed from Python's ``random`` as Keras' unseeded initializers do."""
    import keras

    if layer.initializer.name == RAI:
        from or_gate.initializers import rai_pair

        kernel, bias = rai_pair(fan_in, make_default_seed())
    else:
        kernel, bias = layer.initializer.keras(), "zeros"
    return keras.layers.Dense(
        layer.units,
        activation=layer.activation,
        kernel_initializer=kernel,
        bias_initializer=bias,
        name=name,
    )


def make_default_seed(generator: random.Random | None = None) -> int:
    """The seed Keras gives an initializer created without one
    (``keras.src.random.seed_generator.make_default_seed``), from Python's global ``random``
    or from ``generator``."""
    return (generator or random).randint(1, int(1e9))


def build_model(architecture: Architecture) -> keras.Model:
    """The write-up's network as a Keras model (weights drawn from Keras' global seed).

    Sequential as the write-up builds it; a residual variant needs the functional API (each
    hidden layer's output is added to its input).
    """
    import keras

    # Named, not numbered: Keras numbers unnamed inputs per process (input_layer_2, ...),
    # which would make a saved model's bytes depend on what the process built before.
    inputs = keras.Input(shape=(INPUTS,), name="input_layer")
    dense, fan_in = [], INPUTS
    for index, layer in enumerate(architecture.layers):
        name = layer.role if layer.role != "hidden" else f"hidden_{index}"
        dense.append(_dense(layer, name, fan_in))
        fan_in = layer.units
    if not architecture.residual:
        return keras.Sequential([inputs, *dense], name="or_gate")
    h = inputs
    for index, (layer, keras_layer) in enumerate(zip(architecture.layers, dense, strict=True)):
        branch = keras_layer(h)
        h = keras.layers.Add(name=f"skip_{index}")([h, branch]) if layer.residual else branch
    return keras.Model(inputs, h, name="or_gate")


def stacked_initial_weights(architecture: Architecture, seeds: list[int]) -> np.ndarray:
    """Replicate k starts from the weights ``build_model`` draws after
    ``keras.utils.set_random_seed(seeds[k])``: shape (R, P), biases zero (except RAI's).

    A Keras random initializer created without a seed takes one from Python's ``random``
    (``random.randint(1, 10**9)``), in the order the layers create them, and its values are
    a stateless function of that seed. So replicate k's layer seeds are the first draws of
    ``random.Random(seeds[k])``, and each layer's kernels for every replicate are drawn at
    once by ``or_gate.initializers.keras_draws``, without building a model or reseeding every
    global generator. ``tests/test_network.py`` checks the equality against ``build_model``.
    """
    from or_gate.initializers import keras_draws, rai_draw

    layers, shapes = architecture.layers, architecture.layout.shapes[0::2]
    initializers = {
        layer.initializer: layer.initializer.keras()
        for layer in layers
        if layer.initializer.name != RAI
    }
    draws_a_seed = [
        layer.initializer.name == RAI or hasattr(initializers[layer.initializer], "seed")
        for layer in layers
    ]
    layer_seeds = []  # (R, layers): the seed each layer's initializer takes, 0 if none
    for seed in seeds:
        draws = random.Random(seed)
        layer_seeds.append([make_default_seed(draws) if d else 0 for d in draws_a_seed])
    layer_seeds = np.array(layer_seeds, np.int64).reshape(len(seeds), len(layers))
    parts = []
    for j, (layer, shape) in enumerate(zip(layers, shapes, strict=True)):
        if layer.initializer.name == RAI:  # one seed draws the kernel and the bias
            pairs = [rai_draw(shape, int(s)) for s in layer_seeds[:, j]]
            parts += [np.array([k.ravel() for k, _ in pairs]), np.array([b for _, b in pairs])]
            continue
        initializer = initializers[layer.initializer]
        if draws_a_seed[j]:
            kernels = keras_draws(layer.initializer, shape, layer_seeds[:, j])
        else:  # a constant initializer: the same kernel for every replicate
            kernels = np.broadcast_to(
                np.asarray(initializer(shape, dtype="float32")), (len(seeds), *shape)
            )
        parts += [kernels.reshape(len(seeds), -1), np.zeros((len(seeds), shape[1]))]
    return np.concatenate(parts, axis=1).astype(np.float32)


def initial_weights(architecture: Architecture, seed: int) -> list[np.ndarray]:
    """One replicate's weight list, as ``build_model`` draws it after
    ``keras.utils.set_random_seed(seed)`` (see :func:`stacked_initial_weights`)."""
    return architecture.layout.unflatten(stacked_initial_weights(architecture, [seed])[0])
