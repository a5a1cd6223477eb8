"""Load and validate ``params.yaml``: the one place that knows its schema.

Every stage calls :func:`load_params` before it does any work, and the ``validate`` stage in
``dvc.yaml`` depends on the whole of ``params.yaml``, so that even a misspelt key that no stage
reads (``dvc exp run -S '+dpeth=3'``) fails the run instead of silently training the default.

The schema check is pure Python and costs milliseconds. Whether Keras knows an activation,
initializer, optimizer or loss is asked of Keras itself (:func:`check_keras_names`); that needs
``import keras`` (~9 s, it loads TensorFlow), so only the stages that import Keras anyway
(``train``, ``evaluate``) call it, always for every variant, before they do any work.

Run ``python -m stages.params [params.yaml]`` to check a file by hand.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stages.errors import ParamsError, run

VARIANT_NAME = re.compile(r"[a-z][a-z0-9_]*")

# Keras optimizers whose update of every weight depends on that weight's own gradient
# history only. The trainer stacks replicates into one tensor, so an optimizer that mixes
# elements (Adafactor's factored moments, Lamb's per-tensor trust ratio, Muon's
# orthogonalisation) would couple replicates. tests/test_trainer.py proves each of these
# trains a stacked replicate exactly as alone.
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


@dataclass(frozen=True)
class Variant:
    """Hidden-layer activation and kernel initializer, as Keras names them."""

    activation: str
    initializer: str


@dataclass(frozen=True)
class Params:
    seed: int
    depth: int
    replicates: int
    width: int
    epochs: int
    batch_size: int
    optimizer: str
    learning_rate: float
    loss: str
    validation_split: float
    variants: dict[str, Variant]


def _fail(key: str, value: Any, allowed: str) -> ParamsError:
    return ParamsError(f"params.yaml: {key}: {value!r} is not allowed; expected {allowed}")


def _check_keys(mapping: Any, where: str, expected: tuple[str, ...]) -> dict:
    """The mapping has exactly ``expected`` keys: no typo slips through, nothing is missing."""
    if not isinstance(mapping, dict):
        raise _fail(where or "top level", mapping, f"a mapping with keys {', '.join(expected)}")
    prefix = f"{where}." if where else ""
    for key in mapping:
        if key not in expected:
            close = difflib.get_close_matches(str(key), expected, n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            raise ParamsError(
                f"params.yaml: unknown key '{prefix}{key}'{hint}; "
                f"allowed keys{' in ' + where if where else ''}: {', '.join(expected)}"
            )
    for key in expected:
        if key not in mapping:
            raise ParamsError(f"params.yaml: missing key '{prefix}{key}'")
    return mapping


def _integer(value: Any, key: str, minimum: int) -> int:
    # bool is an int in Python; `depth: true` is a typo, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(key, value, f"an integer >= {minimum}")
    if value < minimum:
        raise _fail(key, value, f"an integer >= {minimum}")
    return value


def _real(value: Any, key: str, allowed: str, accept) -> float:
    # PyYAML reads `1e-3` (no dot) as a string although YAML 1.2 and DVC's `-S` mean a
    # number, so a string that is a number is taken as one.
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise _fail(key, value, allowed) from None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise _fail(key, value, allowed)
    number = float(number)
    if not math.isfinite(number) or not accept(number):
        raise _fail(key, value, allowed)
    return number


def _name(value: Any, key: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(key, value, f"the name of a {what} Keras knows")
    return value


def parse_params(raw: Any) -> Params:
    """Validate the parsed YAML document and return it as :class:`Params`."""
    top = _check_keys(raw, "", ("seed", "depth", "replicates", "model", "train", "variants"))
    model = _check_keys(top["model"], "model", ("width",))
    train = _check_keys(
        top["train"],
        "train",
        ("epochs", "batch_size", "optimizer", "learning_rate", "loss", "validation_split"),
    )
    variants_raw = top["variants"]
    if not isinstance(variants_raw, dict) or not variants_raw:
        raise _fail(
            "variants", variants_raw, "a non-empty mapping name -> {activation, initializer}"
        )
    variants = {}
    for name, spec in variants_raw.items():
        # DVC pastes variant names into shell commands and file paths.
        if not isinstance(name, str) or not VARIANT_NAME.fullmatch(name):
            raise ParamsError(
                f"params.yaml: variant name {name!r} is not allowed; "
                "expected lower-case letters, digits and '_', starting with a letter "
                "([a-z][a-z0-9_]*)"
            )
        spec = _check_keys(spec, f"variants.{name}", ("activation", "initializer"))
        variants[name] = Variant(
            activation=_name(spec["activation"], f"variants.{name}.activation", "activation"),
            initializer=_name(spec["initializer"], f"variants.{name}.initializer", "initializer"),
        )
    seed = top["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise _fail("seed", seed, "an integer in [0, 2**31)")
    return Params(
        seed=seed,
        depth=_integer(top["depth"], "depth", 1),
        replicates=_integer(top["replicates"], "replicates", 1),
        width=_integer(model["width"], "model.width", 1),
        epochs=_integer(train["epochs"], "train.epochs", 1),
        batch_size=_integer(train["batch_size"], "train.batch_size", 1),
        optimizer=_name(train["optimizer"], "train.optimizer", "optimizer"),
        learning_rate=_real(
            train["learning_rate"], "train.learning_rate", "a number > 0", lambda x: x > 0
        ),
        loss=_name(train["loss"], "train.loss", "loss"),
        validation_split=_real(
            train["validation_split"],
            "train.validation_split",
            "a number in [0, 1)",
            lambda x: 0 <= x < 1,
        ),
        variants=variants,
    )


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``path``; raise :class:`ParamsError` with one line on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ParamsError(f"{path}: not valid YAML{where}: {problem}") from None
    return parse_params(raw)


def _keras_names(module) -> str:
    """The lower-case names a Keras module exports, for "expected ..." in error messages."""
    helpers = {"get", "serialize", "deserialize", "legacy", "schedules"}
    names = {n for n in dir(module) if n[:1].islower() and n not in helpers}
    return ", ".join(sorted(names))


def check_keras_names(params: Params) -> None:
    """Ask Keras whether it knows every name params.yaml uses; raise ParamsError if not."""
    import keras  # loads TensorFlow: only stages that need Keras anyway call this

    for name, variant in params.variants.items():
        key = f"variants.{name}"
        try:
            activation = keras.activations.get(variant.activation)
            probe = activation(keras.ops.zeros((1, params.width)))
        except Exception:
            raise _fail(
                f"{key}.activation",
                variant.activation,
                f"an activation Keras knows: {_keras_names(keras.activations)}",
            ) from None
        if tuple(probe.shape) != (1, params.width):
            raise _fail(
                f"{key}.activation",
                variant.activation,
                "an elementwise activation (this one changes the layer's width)",
            )
        try:
            initializer = keras.initializers.get(variant.initializer)
            initializer((params.width, params.width))
        except Exception:
            raise _fail(
                f"{key}.initializer",
                variant.initializer,
                f"a kernel initializer Keras knows: {_keras_names(keras.initializers)}",
            ) from None
    try:
        keras.optimizers.get(params.optimizer)
        known_optimizer = True
    except ValueError:
        known_optimizer = False
    if not known_optimizer or params.optimizer.lower() not in ELEMENTWISE_OPTIMIZERS:
        reason = (
            "an elementwise Keras optimizer (the trainer stacks replicates in one tensor)"
            if known_optimizer
            else "a Keras optimizer name"
        )
        raise _fail(
            "train.optimizer", params.optimizer, f"{reason}: {', '.join(ELEMENTWISE_OPTIMIZERS)}"
        )
    try:
        loss = keras.losses.get(params.loss)
    except ValueError:
        loss = None
    if loss is None or isinstance(loss, keras.losses.Loss) or not callable(loss):
        raise _fail(
            "train.loss", params.loss, f"a Keras loss function: {_keras_names(keras.losses)}"
        )


def main(argv: list[str]) -> None:
    path = argv[0] if argv else "params.yaml"
    params = load_params(path)
    print(
        f"{path}: valid (depth {params.depth}, {params.replicates} replicates, "
        f"variants: {', '.join(params.variants)})"
    )


if __name__ == "__main__":
    run(main)
