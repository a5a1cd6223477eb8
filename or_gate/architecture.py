"""The write-up's network described without TensorFlow: layers, initializers, parameter layout.

The architecture, as the write-up's Keras code builds it::

    Dense(width, sigmoid, 'uniform')             the write-up's "input layer"
    depth x Dense(width, <activation>, <initializer>)    the hidden layers of a variant
    Dense(1, sigmoid, 'uniform')                 the output layer

A regression task (``or_gate/task.py``) has its own number of inputs and a linear output
layer, Dense(1, linear, 'uniform').

A variant without the input layer (``input_layer: false``) feeds the two inputs straight to
its first hidden layer. A residual variant makes each hidden layer ``h + activation(W h +
b)`` (same width, so the skip needs no projection). The hidden initializer is a Keras name,
a Keras name with arguments, or ``rai`` (Lu et al.'s randomized asymmetric initialisation,
drawn in ``or_gate/model.py``), which draws a layer's kernel and bias together. A variant
with ``sign_flip`` has its drawn hidden units' signs set from the training rows (Rister and
Rubin's scheme, also in ``or_gate/model.py``).

Training keeps every replicate's weights as one flat float32 vector, stacked into an array of
shape ``(replicates, parameters)``; :class:`ParamLayout` says where each kernel and bias lives
in that vector (Keras' ``get_weights`` order). The Keras model and the stacked math are in
``or_gate/model.py``; nothing here imports TensorFlow, so ``validate`` and the memory plan
(``or_gate/plan.py``) can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from or_gate.params import InitializerWithArguments
from or_gate.task import INPUTS, OR_GATE, OUTPUT_ACTIVATION

import numpy as np

if TYPE_CHECKING:
    from or_gate.params import Params

# The write-up's first and last layers, the same in every variant.
EDGE_ACTIVATION = "sigmoid"
EDGE_INITIALIZER = "uniform"  # Keras' alias for RandomUniform(-0.05, 0.05)


@dataclass(frozen=True)
class Initializer:
    """A kernel initializer: a name, and the arguments given to it (sorted, hashable)."""

    name: str
    arguments: tuple[tuple[str, float | str], ...] = ()

    @classmethod
    def of(cls, spec: str | dict | Initializer | InitializerWithArguments) -> Initializer:
        """From ``params.yaml``'s form (``he_normal`` or ``{name: random_uniform, minval:
        ...}``), as read or as validated, or from architecture.json's (the same form)."""
        if isinstance(spec, Initializer):
            return spec
        if isinstance(spec, str):
            return cls(spec)
        if isinstance(spec, InitializerWithArguments):
            spec = {"name": spec.name, **(spec.model_extra or {})}
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
    input_layer: bool = True  # the write-up's sigmoid input layer before the hidden layers
    sign_flip: bool = False  # Rister and Rubin's sign flipping after the draw (or_gate/model.py)
    inputs: int = INPUTS[OR_GATE]  # the task's (or_gate/task.py): 2 for the OR gate
    output_activation: str = OUTPUT_ACTIVATION[OR_GATE]  # the write-up's sigmoid; linear

    def __post_init__(self) -> None:
        object.__setattr__(self, "initializer", Initializer.of(self.initializer))

    @classmethod
    def of(cls, params: Params, variant: str) -> Architecture:
        """The network one variant of ``params`` trains."""
        spec = params.variants[variant]
        return cls(
            params.depth,
            params.model.width,
            spec.activation,
            Initializer.of(spec.initializer),
            spec.residual,
            spec.input_layer,
            spec.sign_flip,
            INPUTS[params.task.name],
            OUTPUT_ACTIVATION[params.task.name],
        )

    def to_json(self) -> dict:
        """architecture.json's fields; ``input_layer`` only where it is false, ``sign_flip``
        only where it is true, and ``inputs`` and ``output_activation`` only where they are not
        the OR gate's, so that every network of the write-up's form keeps the file it always
        had."""
        document = {
            "activation": self.activation,
            "depth": self.depth,
            "initializer": self.initializer.to_json(),
            "residual": self.residual,
            "width": self.width,
        }
        if not self.input_layer:
            document["input_layer"] = False
        if self.sign_flip:
            document["sign_flip"] = True
        if self.inputs != INPUTS[OR_GATE]:
            document["inputs"] = self.inputs
        if self.output_activation != OUTPUT_ACTIVATION[OR_GATE]:
            document["output_activation"] = self.output_activation
        return document

    @property
    def layers(self) -> list[Layer]:
        hidden = Layer(self.width, self.activation, self.initializer, "hidden", self.residual)
        return [
            *[Layer(self.width, EDGE_ACTIVATION, EDGE, "input")] * self.input_layer,
            *[hidden] * self.depth,
            Layer(1, self.output_activation, EDGE, "output"),
        ]

    @property
    def layout(self) -> ParamLayout:
        shapes: list[tuple[int, ...]] = []
        fan_in = self.inputs
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
        if len(weights) != len(self.shapes):
            raise ValueError(f"{len(weights)} weight arrays, expected {len(self.shapes)}")
        for array, shape in zip(weights, self.shapes, strict=True):
            if tuple(array.shape) != shape:
                raise ValueError(f"weight of shape {array.shape}, expected {shape}")
        return np.concatenate([np.asarray(w, np.float32).ravel() for w in weights])

    def unflatten(self, vector: np.ndarray) -> list[np.ndarray]:
        """One replicate's float32 vector -> its weight list; stacked vectors (R, P) -> the
        list of stacked arrays (R, *shape)."""
        array = np.asarray(vector)
        parts = np.split(array, np.cumsum(self.sizes)[:-1], axis=-1)
        leading = array.shape[:-1]
        return [
            part.reshape(*leading, *shape) for part, shape in zip(parts, self.shapes, strict=True)
        ]
