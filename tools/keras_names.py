"""The Keras names ``params.yaml`` may use: a table generated from the pinned Keras.

Asking Keras whether it knows a name costs a TensorFlow import (~10 s), and by the time a
``train`` stage could ask, DVC has already deleted that stage's outputs. So the ``validate``
stage, which runs before every other stage and imports no TensorFlow, checks names against
``or_gate/keras_names.json`` (``or_gate/params.py`` reads it), which this command writes
from Keras itself::

    python tools/keras_names.py --write

``tests/test_keras_names.py`` regenerates the table and checks it equals the committed file,
so the table stays true to the pinned Keras.

What the table allows (and why):

* ``activations``: activations that act on each unit alone. The stacked trainer and the
  unit diagnostics assume it, and a width-2 layer of softmax is another experiment. Probed:
  applied to a matrix, the activation gives what it gives column by column.
* ``initializers``: kernel initializers that can draw every square kernel ``(w, w)`` of a
  hidden layer, for widths 1 to 8.
* ``initializer_arguments``: for each of those, the arguments its class takes in
  ``params.yaml`` (``{name: random_uniform, minval: -0.2, maxval: 0.2}``) and the value each
  takes: "number" (or "number > 0", "number >= 0" where Keras refuses the rest, probed with
  -1, 0 and 1e-30), or the list of strings Keras accepts (read from its error for a bad one).
  Not ``seed`` (the project seeds every replicate) nor the axis arguments (they describe
  other shapes than a Dense kernel).
* ``optimizers``: the Keras optimizers whose update of a weight depends on that weight's own
  history only (the trainer stacks replicates into one tensor; an optimizer that mixes
  elements, such as Adafactor, Lamb-style trust ratios or Muon, would couple replicates).
  ``tests/test_training.py`` proves each trains a stacked replicate as it trains alone.
* ``optimizers_with_epsilon``: those whose class takes an ``epsilon`` (``train.epsilon``).
* ``losses``: the Keras loss functions (not ``Loss`` classes) that can train this network's
  one sigmoid output on 0/1 targets. The rule is checked numerically, not listed: for each
  target t in {0, 1} and predictions p on a grid over (0, 1), the loss is smallest at the p
  nearest t, and its gradient points toward t at every other p. ``categorical_crossentropy``
  fails it (one output normalised to 1: the loss is 0 whatever p), so does
  ``kl_divergence`` (0 for t = 0), and ``sparse_categorical_crossentropy`` raises.
"""

from __future__ import annotations

import argparse
import inspect
import json

from or_gate.params import KERAS_NAMES as TABLE
from or_gate.runtime import run

ELEMENTWISE_OPTIMIZERS = (
    "adadelta",
    "adagrad",
    "adam",
    "adamax",
    "adamw",
    "ftrl",
    "lion",
    "nadam",
    "rmsprop",
    "sgd",
)
PROBE_WIDTHS = range(1, 9)
NOT_PARAMETERS = ("seed", "input_axes", "output_axes", "args", "kwargs")


def _arguments(initializer) -> dict[str, str | list[str]]:
    """The arguments an initializer's class takes: "number", or the strings it accepts."""
    import inspect

    parameters = inspect.signature(type(initializer).__init__).parameters
    return {
        name: _strings_accepted(type(initializer), name)
        if isinstance(parameter.default, str)
        else _numbers_accepted(type(initializer), name)
        for name, parameter in parameters.items()
        if name != "self" and name not in NOT_PARAMETERS
    }


def _numbers_accepted(cls, argument: str) -> str:
    """ "number", "number > 0" or "number >= 0": what Keras accepts for a numeric argument,
    found by making the initializer with -1, 0 and a tiny positive value and drawing a kernel
    (VarianceScaling refuses a scale <= 0), so that validation refuses the rest first."""
    accepted = []
    for value in (-1.0, 0.0, 1e-30):
        try:
            cls(**{argument: value})((2, 2), dtype="float32")
            accepted.append(value)
        except ValueError:
            pass
    if accepted == [-1.0, 0.0, 1e-30]:
        return "number"
    if accepted == [1e-30]:
        return "number > 0"
    if accepted == [0.0, 1e-30]:
        return "number >= 0"
    raise ValueError(f"{cls.__name__}({argument}=...) accepts {accepted} of -1, 0, 1e-30")


def _strings_accepted(cls, argument: str) -> list[str] | str:
    """The values Keras accepts for a string argument, read from the error it raises for one
    it does not ("Please use one of {'fan_avg', ...}"), so that validation can refuse a bad
    value before DVC deletes anything; "string" if Keras does not say."""
    import re

    try:
        cls(**{argument: "__not_a_value__"})
    except ValueError as error:
        found = re.search(r"one of \{([^}]*)\}", str(error))
        if found:
            return sorted(re.findall(r"'([^']*)'", found[1]))
    return "string"


def _probe(get, name: str, accept) -> bool:
    """Keras makes ``name`` and it passes ``accept``. Anything that raises (Keras lists it
    but cannot make it from the name alone, it needs arguments, or it cannot take the
    probe's shapes) is not usable; running out of memory is not a verdict on the name."""
    try:
        return accept(get(name))
    except MemoryError:
        raise
    except Exception as error:
        if type(error).__name__ == "ResourceExhaustedError":
            raise
        return False


def _trains_a_sigmoid_output(loss) -> bool:
    """For t in {0, 1}: smallest at the grid point nearest t, gradient toward t elsewhere."""
    import numpy as np
    import tensorflow as tf

    grid = np.linspace(0.02, 0.98, 49, dtype=np.float32).reshape(-1, 1)
    for target in (0.0, 1.0):
        prediction = tf.Variable(grid)
        with tf.GradientTape() as tape:
            values = loss(tf.fill(grid.shape, target), prediction)
        gradient = np.asarray(tape.gradient(values, prediction))[:, 0]
        values = np.asarray(values)
        if values.shape != (len(grid),) or not np.isfinite([*values, *gradient]).all():
            return False
        best = len(grid) - 1 if target == 1.0 else 0
        others = np.arange(len(grid)) != best
        toward = gradient < 0 if target == 1.0 else gradient > 0
        if not (values[others] > values[best]).all() or not toward[others].all():
            return False
    return True


def _elementwise(activation) -> bool:
    import numpy as np

    x = np.linspace(-3.0, 3.0, 12, dtype=np.float32).reshape(3, 4)
    whole = np.asarray(activation(x))
    columns = np.concatenate([np.asarray(activation(x[:, [j]])) for j in range(4)], axis=1)
    return whole.shape == x.shape and np.allclose(whole, columns, equal_nan=True)


def _draws_square_kernels(initializer) -> bool:
    return all(tuple(initializer((w, w), dtype="float32").shape) == (w, w) for w in PROBE_WIDTHS)


def generate() -> dict[str, list[str]]:
    """Probe the installed Keras (imports TensorFlow)."""
    import warnings

    import keras
    from keras.src import activations, initializers, losses, optimizers

    warnings.simplefilter("ignore")  # probing softmax on one column warns, as it should

    def names(objects: dict) -> list[str]:
        return sorted(name for name in objects if name[:1].islower())

    optimizer_names = [
        name for name in names(optimizers.ALL_OBJECTS_DICT) if name in ELEMENTWISE_OPTIMIZERS
    ]
    initializer_names = [
        name
        for name in names(initializers.ALL_OBJECTS_DICT)
        if _probe(keras.initializers.get, name, _draws_square_kernels)
    ]
    return {
        "keras_version": keras.__version__,
        "activations": [
            name
            for name in names(activations.ALL_OBJECTS_DICT)
            if _probe(keras.activations.get, name, _elementwise)
        ],
        "initializers": initializer_names,
        "initializer_arguments": {
            name: _arguments(keras.initializers.get(name)) for name in initializer_names
        },
        "optimizers": optimizer_names,
        "optimizers_with_epsilon": [
            name
            for name in optimizer_names
            if "epsilon" in inspect.signature(type(keras.optimizers.get(name))).parameters
        ],
        "losses": [
            name
            for name, value in sorted(losses.ALL_OBJECTS_DICT.items())
            if name[:1].islower()
            and not isinstance(value, type)
            and callable(value)
            and _probe(keras.losses.get, name, _trains_a_sigmoid_output)
        ],
    }


def render(table: dict) -> str:
    return json.dumps(table, indent=1) + "\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python tools/keras_names.py", description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {TABLE.name}")
    args = parser.parse_args(argv)
    text = render(generate())
    if args.write:
        TABLE.write_text(text, encoding="utf-8")
        print(f"wrote {TABLE}")
    else:
        print(text, end="")


if __name__ == "__main__":
    run(main)
