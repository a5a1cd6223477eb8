"""``params.yaml``: every parameter declared once, here, as a pydantic model.

Each field says its name (the YAML key), its type and range, and its meaning. From this one
declaration come the validation (:func:`load_params`), the typed object the code reads (the
same names as the YAML keys: ``params.train.batch_size``), the error messages
(``or_gate.params_errors``) and the parameter table in ``docs/params.md``
(``python tools/params_table.py``). The values live in ``params.yaml`` only: DVC tracks each
key there, so every key must be present and no default hides in code.

Keras names (activations, initializers, optimizers, losses) are checked against
``or_gate/keras_names.json``, a table generated from the pinned Keras, so validation needs no
TensorFlow and the ``validate`` stage refuses a bad name before DVC deletes any output.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from or_gate.errors import ParamsError
from or_gate.yaml_files import DuplicateKeyError, load_unique_keys

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)

# The Keras names this project can use, generated from the pinned Keras by
# tools/keras_names.py (which says what each table allows and why).
KERAS_NAMES = Path(__file__).with_name("keras_names.json")

# What each table of keras_names.json holds, for error messages and the docs.
KERAS_KINDS = {
    "activations": "an elementwise activation Keras knows",
    "initializers": "a Keras kernel initializer that draws square kernels, or rai (Lu et "
    "al.'s randomized asymmetric initialisation), given as a name or as a mapping {name, "
    "<arguments the initializer takes>}",
    "optimizers": "an elementwise Keras optimizer (the trainer stacks replicates in one tensor)",
    "losses": "a Keras loss function that can train one sigmoid output on 0/1 targets (for "
    "t = 0 and t = 1, smallest where the prediction is t, with a gradient toward t elsewhere)",
}

# DVC pastes variant names into shell commands and file paths.
VARIANT_NAME = r"^[a-z][a-z0-9_]*$"


@functools.cache
def keras_names_table() -> dict[str, list[str]]:
    return json.loads(KERAS_NAMES.read_text(encoding="utf-8"))


# Initializers the project adds to Keras' (or_gate/initializers.py).
PROJECT_INITIALIZERS = ("rai",)


def keras_name(kind: str) -> Any:
    """A string that must be one of the ``kind`` names of keras_names.json."""
    names = tuple(keras_names_table()[kind])
    if kind == "initializers":
        names += PROJECT_INITIALIZERS
    return Annotated[Literal[names], Field(json_schema_extra={"keras": kind})]


def _number_from_string(value: Any) -> Any:
    # PyYAML reads `1e-3` (no dot) as a string although YAML 1.2 and DVC's `-S` mean a number.
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


Real = Annotated[float, BeforeValidator(_number_from_string), Field(allow_inf_nan=False)]


class Section(BaseModel):
    # strict: `depth: true` or `depth: "3"` is a typo, not 1 or 3; unknown keys are refused.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Model(Section):
    width: int = Field(
        ge=1,
        description="Units in the input layer and in every hidden layer. The input layer is "
        "Dense(width, sigmoid, 'uniform') and the output layer Dense(1, sigmoid, 'uniform'), as "
        "in the write-up, whatever the variant.",
    )


class Train(Section):
    epochs: int = Field(ge=1, description="Passes over the training rows.")
    batch_size: int = Field(ge=1, description="Rows per optimizer step.")
    optimizer: keras_name("optimizers") = Field(description="The Keras optimizer, by name.")
    learning_rate: Real = Field(gt=0, description="The optimizer's learning rate.")
    loss: keras_name("losses") = Field(description="The Keras loss function, by name.")
    validation_split: Real = Field(
        ge=0,
        lt=1,
        description="The LAST fraction of the training rows, held out as Keras' "
        "fit(validation_split=...) holds it out.",
    )


class InitializerWithArguments(Section):
    """``{name: random_uniform, minval: -0.2, maxval: 0.2}``: a name and its arguments."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    name: keras_name("initializers") = Field(description="The initializer's name.")

    @model_validator(mode="after")
    def _arguments_the_initializer_takes(self) -> InitializerWithArguments:
        takes = keras_names_table()["initializer_arguments"].get(self.name, {})
        allowed = ", ".join(takes) or "none"
        for key, value in (self.model_extra or {}).items():
            if key not in takes:
                raise ValueError(f"{self.name} takes no argument {key!r}; its arguments: {allowed}")
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if isinstance(takes[key], list) and value not in takes[key]:
                raise ValueError(
                    f"{self.name}'s {key} must be one of {', '.join(takes[key])}, not {value!r}"
                )
            kind = "number" if takes[key] == "number" else "string"
            if (kind == "number") != number or not isinstance(value, int | float | str):
                raise ValueError(f"{self.name}'s {key} must be a {kind}, not {value!r}")
        return self


def _initializer_form(value: Any) -> str:
    return "with-arguments" if isinstance(value, dict) else "name"


InitializerSpec = Annotated[
    Union[  # noqa: UP007 (pydantic's tagged unions read the X | Y form less well)
        Annotated[keras_name("initializers"), Tag("name")],
        Annotated[InitializerWithArguments, Tag("with-arguments")],
    ],
    Discriminator(_initializer_form),
]


class Variant(Section):
    activation: keras_name("activations") = Field(description="Hidden-layer activation.")
    initializer: InitializerSpec = Field(
        description="Hidden-layer kernel initializer: a name ('uniform' is "
        "RandomUniform(-0.05, 0.05)), or a name with arguments ({name: random_uniform, minval: "
        "-0.2, maxval: 0.2}). 'rai' is Lu et al.'s randomized asymmetric initialisation, which "
        "also draws the biases; every other initializer leaves them zero."
    )
    residual: bool = Field(
        default=False,
        description="Optional, false if absent: each hidden layer outputs h + activation(W h "
        "+ b) instead of activation(W h + b) (a skip connection around every hidden layer).",
    )

    def initializer_form(self) -> str | dict:
        """The initializer as ``or_gate.network.Initializer.of`` takes it."""
        if isinstance(self.initializer, str):
            return self.initializer
        return {"name": self.initializer.name, **(self.initializer.model_extra or {})}


class Params(Section):
    seed: int = Field(
        ge=0,
        lt=2**31,
        description="Base random seed. Replicate k of every variant is initialised with "
        "keras.utils.set_random_seed(seed + k) and reshuffled with numpy's default_rng(seed + k).",
    )
    depth: int = Field(
        ge=1,
        description="Hidden Dense layers between the input layer and the output layer, each "
        "with the variant's activation and initializer.",
    )
    replicates: int = Field(
        ge=1, description="Independently initialised trainings of every variant."
    )
    model: Model
    train: Train
    variants: dict[Annotated[str, StringConstraints(pattern=VARIANT_NAME)], Variant] = Field(
        min_length=1,
        description="The variants compared: name -> hidden-layer activation and initializer.",
    )


def parse_params(document: Any) -> Params:
    """Validate a parsed YAML document; raise :class:`ParamsError` with one line if bad."""
    from or_gate.params_errors import describe

    from pydantic import ValidationError

    try:
        return Params.model_validate(document)
    except ValidationError as error:
        raise ParamsError(f"params.yaml: {describe(error.errors()[0])}") from None


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``path``; raise :class:`ParamsError` with one line on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    try:
        document = load_unique_keys(text)
    except DuplicateKeyError as error:
        raise ParamsError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ParamsError(f"{path}: not valid YAML{where}: {problem}") from None
    return parse_params(document)
