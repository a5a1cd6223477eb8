"""``params.yaml``: every parameter declared once, here, as a pydantic model.

Each field says its name (the YAML key), its type and range, and its meaning. From this one
declaration come the validation (:func:`load_params`), the typed object the code reads (the
same names as the YAML keys: ``params.train.batch_size``), the error messages
(:func:`describe`) and the parameter table in ``docs/params.md``
(``python tools/params_table.py``). The values live in ``params.yaml`` only: DVC tracks each
key there, so every key must be present and no default hides in code.

The file is read exactly as DVC reads it (``or_gate/dvc_yaml.py``: ruamel.yaml's safe
loader, YAML 1.2), so the values that train are the values ``dvc params diff`` and
``dvc exp show`` report.

Keras names (activations, initializers, optimizers, losses) are checked against
``or_gate/keras_names.json``, a table generated from the pinned Keras, so validation needs no
TensorFlow and the ``validate`` stage refuses a bad name before DVC deletes any output.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from or_gate.dvc_yaml import read_yaml
from or_gate.runtime import ParamsError
from or_gate.task import INPUTS as TASK_INPUTS
from or_gate.task import REGRESSION_LOSSES, TASKS, is_regression

from pydantic import (
    BaseModel,
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


# The initializer the project adds to Keras' (drawn in or_gate/model.py): Lu et al.'s randomized
# asymmetric initialisation. Spelt here only; every module that names it imports it.
RAI = "rai"
PROJECT_INITIALIZERS = (RAI,)


def keras_name(kind: str) -> Any:
    """A string that must be one of the ``kind`` names of keras_names.json."""
    names = tuple(keras_names_table()[kind])
    if kind == "initializers":
        names += PROJECT_INITIALIZERS
    return Annotated[Literal[names], Field(json_schema_extra={"keras": kind})]


Real = Annotated[float, Field(allow_inf_nan=False)]


class Section(BaseModel):
    # strict: `depth: true` or `depth: "3"` is a typo, not 1 or 3; unknown keys are refused.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Task(Section):
    name: Literal[TASKS] = Field(
        description="What the nets learn: or_gate, the write-up's OR gate on the rows of "
        "data/raw/; abs, Lu et al.'s regression target, the absolute value of one input, with a "
        "linear output layer (or_gate/task.py says how each is scored)."
    )
    points: int = Field(
        ge=2,
        description="Regression targets only: training rows drawn, x uniform on [low, high) "
        "from numpy's default_rng(task.seed), before validation_split holds the last ones out.",
    )
    seed: int = Field(
        ge=0,
        lt=2**31,
        description="Regression targets only: the seed of the training rows' draw (the data "
        "stay fixed while seed, the networks' seed, varies).",
    )
    low: Real = Field(description="Regression targets only: the input range's lower end.")
    high: Real = Field(description="Regression targets only: the input range's upper end.")

    @model_validator(mode="after")
    def _a_range(self) -> Task:
        if not self.low < self.high:
            raise ValueError(
                f"low {self.low:g} is not below high {self.high:g}; the input range is "
                "[low, high] with low < high"
            )
        return self


class Model(Section):
    width: int = Field(
        ge=1,
        description="Units in the input layer and in every hidden layer. The input layer is "
        "Dense(width, sigmoid, 'uniform') (unless a variant leaves it out) and the output layer "
        "Dense(1, sigmoid, 'uniform'), as in the write-up, whatever the variant (a regression "
        "task's output layer is Dense(1, linear, 'uniform')).",
    )


class Train(Section):
    epochs: int = Field(ge=1, description="Passes over the training rows.")
    batch_size: int = Field(ge=1, description="Rows per optimizer step.")
    optimizer: keras_name("optimizers") = Field(description="The Keras optimizer, by name.")
    learning_rate: Real = Field(gt=0, description="The optimizer's learning rate.")
    epsilon: Real | None = Field(
        default=None,
        gt=0,
        description="The optimizer's epsilon (Adam divides each step by the root of its "
        "second moment plus epsilon), for the optimizers that have one; null keeps Keras' "
        "default (1e-7 for Adam).",
    )
    loss: keras_name("losses") = Field(
        description="The Keras loss function, by name; a regression task takes one that is "
        "smallest where the prediction is the target (or_gate/task.py's REGRESSION_LOSSES)."
    )
    validation_split: Real = Field(
        ge=0,
        lt=1,
        description="The LAST fraction of the training rows, held out as Keras' "
        "fit(validation_split=...) holds it out.",
    )

    @model_validator(mode="after")
    def _epsilon_only_where_the_optimizer_has_one(self) -> Train:
        having = keras_names_table()["optimizers_with_epsilon"]
        if self.epsilon is not None and self.optimizer not in having:
            raise ValueError(
                f"epsilon {self.epsilon:g} given, but {self.optimizer} has none; set "
                f"train.epsilon to null, or choose an optimizer that has one: {', '.join(having)}"
            )
        return self


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
            if isinstance(takes[key], list):
                if value not in takes[key]:
                    raise ValueError(
                        f"{self.name}'s {key} must be one of {', '.join(takes[key])}, not {value!r}"
                    )
                continue
            _check_number(f"{self.name}'s {key}", value, takes[key])
        return self


# The largest float32: an argument beyond it makes infinite weights, not an experiment.
FLOAT32_MAX = 3.4028234663852886e38


def _check_number(what: str, value: Any, accepted: str) -> None:
    """``value`` is a finite number (in float32, the weights' type) that Keras accepts:
    ``accepted`` is "number", "number > 0" or "number >= 0" (keras_names.json)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, not {value!r}")
    if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
        raise ValueError(f"{what} must be a finite number (in float32), not {value!r}")
    bound = accepted.removeprefix("number").strip()
    if (bound == "> 0" and not value > 0) or (bound == ">= 0" and not value >= 0):
        raise ValueError(f"{what} must be a number {bound} (Keras refuses the rest), not {value!r}")


# An initializer is given in one of two forms, a name or a mapping with arguments; pydantic puts
# the form's tag in an error's location, and the messages (describe) leave it out.
INITIALIZER_FORMS = ("name", "with-arguments")


def _initializer_form(value: Any) -> str:
    return INITIALIZER_FORMS[1] if isinstance(value, dict) else INITIALIZER_FORMS[0]


InitializerSpec = Annotated[
    Union[  # noqa: UP007 (pydantic's tagged unions read the X | Y form less well)
        Annotated[keras_name("initializers"), Tag(INITIALIZER_FORMS[0])],
        Annotated[InitializerWithArguments, Tag(INITIALIZER_FORMS[1])],
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
    input_layer: bool = Field(
        default=True,
        description="Optional, true if absent: the write-up's input layer, Dense(width, "
        "sigmoid, 'uniform'), comes before the hidden layers. false feeds the two inputs "
        "straight to the first hidden layer (an identity input layer).",
    )
    sign_flip: bool = Field(
        default=False,
        description="Optional, false if absent: Rister and Rubin's sign flipping. After the "
        "initializer draws them, hidden layer by hidden layer from the bottom, every unit "
        "active (pre-activation > 0) on fewer than half of the training rows still alive "
        "there has its kernel column and bias negated, which makes it active on at least "
        "half: at least 2^-k of the rows stay alive after k hidden layers.",
    )


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
    task: Task
    model: Model
    train: Train
    variants: dict[Annotated[str, StringConstraints(pattern=VARIANT_NAME)], Variant] = Field(
        min_length=1,
        description="The variants compared: name -> hidden-layer activation and initializer.",
    )

    @model_validator(mode="after")
    def _skips_fit_the_variant(self) -> Params:
        """A residual variant without the input layer adds the two inputs to its first hidden
        layer's output: only a width of 2 has the shape for it. Sign flipping is for plain
        layers only."""
        inputs = TASK_INPUTS[self.task.name]
        for name, variant in self.variants.items():
            if variant.residual and not variant.input_layer and self.model.width != inputs:
                raise ValueError(
                    f"variants.{name}: residual: true without the input layer adds the {inputs} "
                    f"input(s) to its first hidden layer's output, so it needs model.width "
                    f"{inputs}, not {self.model.width}; give it input_layer: true or residual: "
                    "false"
                )
            if variant.residual and variant.sign_flip:
                raise ValueError(
                    f"variants.{name}: sign_flip: true keeps rows alive through plain layers; "
                    "a residual layer's skip keeps them alive already: set one of residual "
                    "and sign_flip to false"
                )
        return self

    @model_validator(mode="after")
    def _a_loss_that_fits_the_task(self) -> Params:
        if is_regression(self.task.name) and self.train.loss not in REGRESSION_LOSSES:
            raise ValueError(
                f"train.loss: {self.train.loss} does not fit a regression target "
                f"(task.name {self.task.name}); expected one of {', '.join(REGRESSION_LOSSES)}"
            )
        return self


def _key_that_is_not_text(node: Any, where: str = "") -> tuple[str, Any] | None:
    """The first mapping key that YAML read as something other than text (``true``, ``null``,
    ``7``), and where it is: pydantic would report ``True`` as ``1`` and ``None`` as 'None'."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                return where, key
            found = _key_that_is_not_text(value, f"{where}.{key}".lstrip("."))
            if found:
                return found
    return None


def parse_params(document: Any) -> Params:
    """Validate a parsed YAML document; raise :class:`ParamsError` with one line if bad."""
    from pydantic import ValidationError

    found = _key_that_is_not_text(document)
    if found:
        where, key = found
        name = "name" if where == "variants" else "key"
        raise ParamsError(
            f"params.yaml: {where or 'the document'}: {name} {key!r} is not allowed (YAML reads "
            f"it as {_yaml_type(key)}; quote it, or choose a word: keys and names are text)"
        )
    try:
        return Params.model_validate(document)
    except ValidationError as error:
        raise ParamsError(f"params.yaml: {describe(error.errors()[0])}") from None


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``path``; raise :class:`ParamsError` with one line on any problem."""
    return parse_params(read_yaml(path, ParamsError))


# One line per bad parameter: the key, the bad value, what is allowed, and a did-you-mean.
# What is allowed is read from the JSON Schema of Params, so the messages follow the one
# declaration of each parameter (and docs/params.md is written from the same schema).

KEY_OF_MAPPING = "[key]"  # where pydantic reports a bad dictionary key
UNION_TAGS = INITIALIZER_FORMS  # the union's tags, in the order of its schema's "oneOf"


@functools.cache
def schema() -> dict:
    return Params.model_json_schema()


def _resolve(node: dict) -> dict:
    if "$ref" in node:
        return schema()["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def schema_at(loc: tuple) -> dict:
    """The schema of the value at ``loc`` (a pydantic error location)."""
    node = _resolve(schema())
    for index, part in enumerate(loc):
        if "oneOf" in node and part in UNION_TAGS:
            node = _resolve(node["oneOf"][UNION_TAGS.index(part)])
            continue
        patterns = node.get("patternProperties", {})  # a mapping with constrained names
        if loc[index + 1 : index + 2] == (KEY_OF_MAPPING,):  # (mapping, bad name, "[key]")
            return {"pattern": next(iter(patterns)).strip("^$")}
        if part in node.get("properties", {}):
            node = _resolve(node["properties"][part])
        else:
            node = _resolve(next(iter(patterns.values()), {}))
    return node


def suggestion(value: Any, allowed, prefix: str = "") -> str:
    """`` (did you mean '<prefix><closest>'?)`` when one of ``allowed`` is close, else ''."""
    close = difflib.get_close_matches(str(value), list(allowed), n=1)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def _interval(node: dict, noun: str) -> str:
    if not {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"} & set(node):
        return noun  # any finite number
    low = ("[", node["minimum"]) if "minimum" in node else ("(", node.get("exclusiveMinimum"))
    high = ("]", node["maximum"]) if "maximum" in node else (")", node.get("exclusiveMaximum"))
    if high[1] is None:
        return f"{noun} {'>=' if low[0] == '[' else '>'} {low[1]}"
    return f"{noun} in {low[0]}{low[1]}, {high[1]}{high[0]}"


def allowed(node: dict) -> str:
    """What a value at this schema node may be, in words."""
    if "enum" in node and "keras" in node:
        return f"{KERAS_KINDS[node['keras']]}: {', '.join(node['enum'])}"
    if "enum" in node:
        return f"one of {', '.join(node['enum'])}"
    if "pattern" in node:
        return f"lower-case letters, digits and '_', starting with a letter ({node['pattern']})"
    kind = node.get("type")
    if kind in ("integer", "number"):
        return _interval(node, "an integer" if kind == "integer" else "a number")
    if "oneOf" in node or "anyOf" in node:  # a tagged union; an optional value (X or null)
        branches = node.get("oneOf") or node["anyOf"]
        return " or ".join(allowed(_resolve(branch)) for branch in branches)
    if "properties" in node:
        return f"a mapping with keys {', '.join(node['properties'])}"
    if kind == "object":
        value = next(iter(node["patternProperties"].values()))
        inner = ", ".join(_resolve(value)["properties"])
        return f"a non-empty mapping name -> {{{inner}}}"
    return {"boolean": "true or false"}.get(kind, kind or "a value")  # "null" says itself


def _is_form_tag(prefix: tuple, part: Any) -> bool:
    """``part`` is the tag pydantic puts after a tagged union's location, not a key."""
    return part in UNION_TAGS and "oneOf" in schema_at(prefix)


def _yaml_type(value: Any) -> str:
    """What an unquoted YAML scalar became: a boolean, null, a number."""
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number"}.get(type(value), "not text")


def describe(error: dict) -> str:
    """One line for one pydantic validation error."""
    loc = tuple(error["loc"])
    named = [
        part
        for index, part in enumerate(loc)
        if part != KEY_OF_MAPPING and not _is_form_tag(loc[:index], part)
    ]
    dotted = ".".join(str(part) for part in named)
    if error["type"] == "value_error":  # a model's own check, which says what is allowed
        return f"{dotted}: {error['ctx']['error']}" if dotted else str(error["ctx"]["error"])
    if error["type"] == "extra_forbidden":
        parent, key = ".".join(map(str, loc[:-1])), loc[-1]
        keys = list(schema_at(loc[:-1]).get("properties", {}))
        prefix = f"{parent}." if parent else ""
        return (
            f"unknown key '{dotted}'{suggestion(key, keys, prefix)}; "
            f"allowed keys{' in ' + parent if parent else ''}: {', '.join(keys)}"
        )
    if error["type"] == "missing":
        return f"missing key '{dotted}'"
    node = schema_at(loc)
    if loc and loc[-1] == KEY_OF_MAPPING:
        mapping = ".".join(str(part) for part in named[:-1])  # the name itself may hold a dot
        return f"{mapping}: name {loc[-2]!r} is not allowed; expected {allowed(node)}"
    hint = suggestion(error["input"], node["enum"]) if "enum" in node else ""
    where = dotted or "the document"
    return f"{where}: {_as_typed(error['input'])} is not allowed{hint}; expected {allowed(node)}"


def _as_typed(value: Any) -> str:
    """A value as it reads in params.yaml: null, true and false as YAML spells them."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return repr(value)
