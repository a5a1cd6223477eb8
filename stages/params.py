"""Load and validate ``params.yaml``: the one place that knows its schema.

Every stage calls :func:`load_params` before it does any work, and the ``validate`` stage in
``dvc.yaml`` depends on the whole of ``params.yaml``, so that even a misspelt key that no stage
reads (``dvc exp run -S '+dpeth=3'``) fails the run instead of silently training the default.

The check is pure Python and costs milliseconds: whether Keras knows an activation,
initializer, optimizer or loss is looked up in ``stages/keras_names.json``, a table generated
from the pinned Keras (``stages/keras_names.py``), so the ``validate`` stage, which every other
stage depends on, refuses a bad name before DVC deletes any output.

Run ``python -m stages.params [params.yaml]`` to check a file by hand.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stages.errors import ParamsError, run

VARIANT_NAME = re.compile(r"[a-z][a-z0-9_]*")

# The Keras names this project can use, generated from the pinned Keras by
# stages/keras_names.py (which also says what each table allows and why).
KERAS_NAMES = Path(__file__).with_name("keras_names.json")


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


def _suggestion(value: Any, allowed, prefix: str = "") -> str:
    """`` (did you mean '<prefix><closest>'?)`` when one of ``allowed`` is close, else ''."""
    close = difflib.get_close_matches(str(value), allowed, n=1)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def _check_keys(mapping: Any, where: str, expected: tuple[str, ...]) -> dict:
    """The mapping has exactly ``expected`` keys: no typo slips through, nothing is missing."""
    if not isinstance(mapping, dict):
        raise _fail(where or "top level", mapping, f"a mapping with keys {', '.join(expected)}")
    prefix = f"{where}." if where else ""
    for key in mapping:
        if key not in expected:
            raise ParamsError(
                f"params.yaml: unknown key '{prefix}{key}'{_suggestion(key, expected, prefix)}; "
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


@functools.cache
def keras_names_table() -> dict[str, list[str]]:
    return json.loads(KERAS_NAMES.read_text(encoding="utf-8"))


# What each table of stages/keras_names.json holds, for error messages.
KINDS = {
    "activations": "an elementwise activation Keras knows",
    "initializers": "a Keras kernel initializer that draws square kernels",
    "optimizers": "an elementwise Keras optimizer (the trainer stacks replicates in one tensor)",
    "losses": "a Keras loss function",
}


def parse_params(raw: Any) -> Params:
    """Validate the parsed YAML document and return it as :class:`Params`."""
    names = keras_names_table()
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
            activation=_known(
                spec["activation"], f"variants.{name}.activation", "activations", names
            ),
            initializer=_known(
                spec["initializer"], f"variants.{name}.initializer", "initializers", names
            ),
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
        optimizer=_known(train["optimizer"], "train.optimizer", "optimizers", names),
        learning_rate=_real(
            train["learning_rate"], "train.learning_rate", "a number > 0", lambda x: x > 0
        ),
        loss=_known(train["loss"], "train.loss", "losses", names),
        validation_split=_real(
            train["validation_split"],
            "train.validation_split",
            "a number in [0, 1)",
            lambda x: 0 <= x < 1,
        ),
        variants=variants,
    )


class DuplicateKeyError(Exception):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (as DVC does):
    PyYAML alone keeps the last one silently."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise DuplicateKeyError(
                    f"key {key!r} appears twice in one mapping (lines {seen[key]} and {line}); "
                    "expected each key once"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _load_unique_keys(text: str) -> Any:
    """``yaml.safe_load`` that refuses duplicate keys (what ``yaml.load`` does with a loader)."""
    loader = _UniqueKeyLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``path``; raise :class:`ParamsError` with one line on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    try:
        raw = _load_unique_keys(text)
    except DuplicateKeyError as error:
        raise ParamsError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ParamsError(f"{path}: not valid YAML{where}: {problem}") from None
    return parse_params(raw)


def _known(value: Any, key: str, kind: str, names: dict[str, list[str]]) -> str:
    """``value`` is one of the Keras names of ``kind`` this project can use (keras_names.json)."""
    allowed = names[kind]
    if isinstance(value, str) and value in allowed:
        return value
    raise ParamsError(
        f"params.yaml: {key}: {value!r} is not allowed{_suggestion(value, allowed)}; "
        f"expected {KINDS[kind]}: "
        f"{', '.join(allowed)}"
    )


# What the validate stage writes when params.yaml is valid. Always the same bytes, so a
# re-validation never makes DVC re-run what depends on it; if validation fails, DVC has
# deleted it and no stage downstream can run (not even under `dvc repro --keep-going`).
VALIDATED = "params.yaml passed validation (stages/params.py)\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.params", description=__doc__)
    parser.add_argument("params", nargs="?", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, help="the marker file the validate stage writes")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(VALIDATED, encoding="utf-8")
    print(
        f"{args.params}: valid (depth {params.depth}, {params.replicates} replicates, "
        f"variants: {', '.join(params.variants)})"
    )


if __name__ == "__main__":
    run(main)
