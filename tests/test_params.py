"""params.yaml validation: one line naming the key, the bad value and what is allowed."""

from __future__ import annotations

import subprocess
import sys

from or_gate.architecture import Architecture, Initializer
from or_gate.params import keras_names_table, load_params, parse_params
from or_gate.runtime import ParamsError

import pytest
import yaml
from helpers import REPO, quiet_env, run, with_change


def validate_command(path) -> list[str]:
    out = path.parent / "validated.txt"
    arguments = ["--params", str(path), "--raw-dir", "data/raw", "--out", str(out)]
    return [sys.executable, "-m", "stages.validate", *arguments]


def test_committed_params_are_valid():
    params = load_params(REPO / "params.yaml")
    assert params.depth >= 1 and params.model.width >= 1 and params.train.batch_size >= 1
    assert {"sigmoid", "relu", "leaky_relu"} <= set(params.variants)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("depth", "three", "depth: 'three'"),
        ("depth", 0, "depth: 0"),
        ("depth", True, "depth: true"),
        ("depth", 2.5, "depth: 2.5"),
        ("replicates", 0, "replicates: 0"),
        ("model.width", 0, "model.width: 0"),
        ("train.epochs", 0, "train.epochs: 0"),
        ("train.batch_size", 0, "train.batch_size: 0"),
        ("train.learning_rate", 0, "train.learning_rate: 0"),
        ("train.learning_rate", -1e-3, "train.learning_rate: -0.001"),
        ("train.learning_rate", ".nan", "train.learning_rate: '.nan'"),
        ("train.validation_split", 1.0, "train.validation_split: 1.0"),
        ("train.validation_split", -0.1, "train.validation_split: -0.1"),
        ("seed", -1, "seed: -1"),
        ("variants", {}, "variants: {}"),
    ],
)
def test_bad_values_name_key_value_and_allowed(raw, key, value, expected):
    with pytest.raises(ParamsError) as caught:
        parse_params(with_change(raw, key, value))
    message = str(caught.value)
    assert expected in message
    assert "expected" in message
    assert "\n" not in message


OPTIMIZERS = ", ".join(keras_names_table()["optimizers"])


@pytest.mark.parametrize(
    ("key", "value", "line"),
    [
        # each kind of schema node says what it allows in its own words, exactly
        ("depth", None, "depth: null is not allowed; expected an integer >= 1"),
        ("depth", False, "depth: false is not allowed; expected an integer >= 1"),
        ("train.learning_rate", 0, "train.learning_rate: 0 is not allowed; expected a number > 0"),
        (
            "train.validation_split",
            1.0,
            "train.validation_split: 1.0 is not allowed; expected a number in [0, 1)",
        ),
        ("seed", -1, "seed: -1 is not allowed; expected an integer in [0, 2147483648)"),
        (
            "train.optimizer",
            "adamm",
            "train.optimizer: 'adamm' is not allowed (did you mean 'adam'?); expected an "
            f"elementwise Keras optimizer (the trainer stacks replicates in one tensor): "
            f"{OPTIMIZERS}",
        ),
        (
            "variants.relu.residual",
            "yes",
            "variants.relu.residual: 'yes' is not allowed; expected true or false",
        ),
        (
            "variants",
            {},
            "variants: {} is not allowed; expected a non-empty mapping name -> "
            "{activation, initializer, residual, input_layer, sign_flip}",
        ),
        (
            "variants",
            {"Bad": {"activation": "relu", "initializer": "uniform"}},
            "variants: name 'Bad' is not allowed; expected lower-case letters, digits and '_', "
            "starting with a letter ([a-z][a-z0-9_]*)",
        ),
        (
            "train",
            None,
            "train: null is not allowed; expected a mapping with keys epochs, batch_size, "
            "optimizer, learning_rate, epsilon, loss, validation_split",
        ),
        (
            "model.depth",
            3,
            "unknown key 'model.depth' (did you mean 'model.width'?); allowed keys in model: width",
        ),
        (
            "variants.relu.extra",
            1,
            "unknown key 'variants.relu.extra'; allowed keys in variants.relu: activation, "
            "initializer, residual, input_layer, sign_flip",
        ),
    ],
)
def test_each_refusal_is_exactly_one_line_saying_what_is_allowed(raw, key, value, line):
    with pytest.raises(ParamsError) as caught:
        parse_params(with_change(raw, key, value))
    assert str(caught.value) == f"params.yaml: {line}"


@pytest.mark.parametrize(
    ("optimizer", "epsilon", "line"),
    [
        ("adam", -1, "train.epsilon: -1 is not allowed; expected a number > 0 or null"),
        ("adam", "tiny", "train.epsilon: 'tiny' is not allowed; expected a number > 0 or null"),
        (
            "sgd",
            1e-3,
            "train: epsilon 0.001 given, but sgd has none; set train.epsilon to null, or choose "
            "an optimizer that has one: adadelta, adagrad, adam, adamax, adamw, nadam, rmsprop",
        ),
    ],
)
def test_an_epsilon_is_a_positive_number_for_an_optimizer_that_has_one(
    raw, optimizer, epsilon, line
):
    raw["train"]["epsilon"] = 1e-9
    assert parse_params(raw).train.epsilon == 1e-9
    raw["train"]["optimizer"], raw["train"]["epsilon"] = "sgd", None
    assert parse_params(raw).train.epsilon is None  # null: whatever the optimizer
    raw["train"]["optimizer"], raw["train"]["epsilon"] = optimizer, epsilon
    with pytest.raises(ParamsError) as caught:
        parse_params(raw)
    assert str(caught.value) == f"params.yaml: {line}"


def test_skips_without_the_input_layer_need_the_inputs_width(raw):
    """The first skip adds x (2 values) to the first hidden layer's output: width 2 only."""
    skip = {"activation": "relu", "initializer": "he_normal", "residual": True}
    raw["variants"]["res"] = {**skip, "input_layer": False}
    assert not parse_params(raw).variants["res"].input_layer  # width 2: allowed
    raw["model"]["width"] = 3
    with pytest.raises(ParamsError) as caught:
        parse_params(raw)
    assert str(caught.value) == (
        "params.yaml: variants.res: residual: true without the input layer adds the 2 input(s) "
        "to its first hidden layer's output, so it needs model.width 2, not 3; give it "
        "input_layer: true or residual: false"
    )
    raw["variants"]["res"] = {**skip, "input_layer": True}  # the input layer makes width 3
    assert parse_params(raw).variants["res"].input_layer
    # a regression target has one input: its skip needs width 1
    raw["task"]["name"], raw["variants"]["res"] = "abs", {**skip, "input_layer": False}
    with pytest.raises(ParamsError, match=r"adds the 1 input\(s\) .* needs model.width 1, not 3"):
        parse_params(raw)
    raw["model"]["width"] = 1
    assert not parse_params(raw).variants["res"].input_layer


def test_sign_flipping_is_for_plain_layers_and_off_unless_asked(raw):
    raw["variants"]["flip"] = {"activation": "relu", "initializer": "he_normal", "sign_flip": True}
    params = parse_params(raw)
    assert (
        Architecture.of(params, "flip").sign_flip and not Architecture.of(params, "relu").sign_flip
    )
    raw["variants"]["flip"]["residual"] = True
    with pytest.raises(ParamsError) as caught:
        parse_params(raw)
    assert str(caught.value) == (
        "params.yaml: variants.flip: sign_flip: true keeps rows alive through plain layers; a "
        "residual layer's skip keeps them alive already: set one of residual and sign_flip to "
        "false"
    )


def test_a_missing_key_is_named_with_its_path(raw):
    del raw["variants"]["relu"]["activation"]
    with pytest.raises(ParamsError) as caught:
        parse_params(raw)
    assert str(caught.value) == "params.yaml: missing key 'variants.relu.activation'"


def test_unknown_key_is_rejected_with_a_suggestion(raw):
    raw["dpeth"] = 3
    with pytest.raises(ParamsError, match=r"unknown key 'dpeth' \(did you mean 'depth'\?\)"):
        parse_params(raw)


def test_unknown_nested_key_is_rejected(raw):
    raw["train"]["epoch"] = 3
    with pytest.raises(
        ParamsError, match=r"unknown key 'train.epoch' \(did you mean 'train.epochs'\?\)"
    ):
        parse_params(raw)


def test_missing_key_is_rejected(raw):
    del raw["train"]["loss"]
    with pytest.raises(ParamsError, match=r"missing key 'train\.loss'"):
        parse_params(raw)


@pytest.mark.parametrize("name", ["Tanh", "1st", "a-b", "x y", "relu;rm", "relu.v2", "a.b.c"])
def test_variant_names_must_be_shell_safe(raw, name):
    raw["variants"][name] = {"activation": "tanh", "initializer": "glorot_uniform"}
    with pytest.raises(ParamsError) as refused:
        parse_params(raw)
    assert str(refused.value) == (
        f"params.yaml: variants: name '{name}' is not allowed; expected lower-case letters, "
        "digits and '_', starting with a letter ([a-z][a-z0-9_]*)"
    )


def test_an_unknown_top_level_key_lists_the_top_level_keys(raw):
    raw["sede"] = 7
    with pytest.raises(ParamsError) as refused:
        parse_params(raw)
    assert str(refused.value) == (
        "params.yaml: unknown key 'sede' (did you mean 'seed'?); allowed keys: seed, depth, "
        "replicates, task, model, train, variants"
    )


def test_a_document_that_is_not_a_mapping_is_named_as_the_document():
    with pytest.raises(ParamsError) as refused:
        parse_params([1, 2])
    assert str(refused.value).startswith("params.yaml: the document: [1, 2] is not allowed;")


def test_a_schema_node_without_a_type_allows_a_value():
    from or_gate.params import allowed

    assert allowed({}) == "a value"
    assert allowed({"type": "boolean"}) == "true or false"
    assert allowed({"anyOf": [{"type": "boolean"}, {"type": "null"}]}) == "true or false or null"
    tagged = {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "boolean"}]}  # a tagged union
    assert allowed(tagged) == "an integer >= 1 or true or false"


def test_variant_needs_exactly_activation_and_initializer(raw):
    raw["variants"]["tanh"] = {"activation": "tanh"}
    with pytest.raises(ParamsError, match=r"missing key 'variants\.tanh\.initializer'"):
        parse_params(raw)


@pytest.mark.parametrize(
    ("initializer", "message"),
    [
        (
            {"name": "random_uniform", "minvl": -0.2},
            "variants.relu.initializer: random_uniform takes no argument 'minvl'; "
            "its arguments: minval, maxval",
        ),
        (
            {"name": "random_uniform", "minval": "-0.2"},
            "variants.relu.initializer: random_uniform's minval must be a number, not '-0.2'",
        ),
        (
            {"name": "variance_scaling", "mode": 2},
            "variants.relu.initializer: variance_scaling's mode must be one of fan_avg, fan_in, "
            "fan_out, not 2",
        ),
        (  # refused here, before DVC deletes anything, not by Keras in train
            {"name": "variance_scaling", "mode": "fan_sideways"},
            "variants.relu.initializer: variance_scaling's mode must be one of fan_avg, fan_in, "
            "fan_out, not 'fan_sideways'",
        ),
        (
            {"name": "rai", "scale": 2.0},
            "variants.relu.initializer: rai takes no argument 'scale'; its arguments: none",
        ),
        (
            {"name": "he_normall"},
            "variants.relu.initializer.name: 'he_normall' is not allowed "
            "(did you mean 'he_normal'?)",
        ),
        ({"minval": 1.0}, "missing key 'variants.relu.initializer.name'"),
        (  # Keras refuses it in train, after DVC deleted the models: refused here first
            {"name": "variance_scaling", "scale": -1.0},
            "variants.relu.initializer: variance_scaling's scale must be a number > 0 (Keras "
            "refuses the rest), not -1.0",
        ),
        (
            {"name": "variance_scaling", "scale": 0},
            "variance_scaling's scale must be a number > 0 (Keras refuses the rest), not 0",
        ),
        (
            {"name": "random_normal", "stddev": float("nan")},
            "variants.relu.initializer: random_normal's stddev must be a finite number (in "
            "float32), not nan",
        ),
        (
            {"name": "random_uniform", "maxval": float("inf")},
            "random_uniform's maxval must be a finite number (in float32), not inf",
        ),
        (  # finite in float64, infinite weights in float32
            {"name": "random_uniform", "maxval": 1e39},
            "random_uniform's maxval must be a finite number (in float32), not 1e+39",
        ),
    ],
)
def test_initializer_arguments_are_checked_against_what_keras_takes(raw, initializer, message):
    raw["variants"]["relu"]["initializer"] = initializer
    with pytest.raises(ParamsError) as caught:
        parse_params(raw)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_initializer_forms_and_residual_are_accepted(raw):
    raw["variants"]["wide"] = {
        "activation": "sigmoid",
        "initializer": {"name": "random_uniform", "minval": -0.2, "maxval": 0.2},
    }
    raw["variants"]["rai"] = {"activation": "relu", "initializer": "rai"}
    raw["variants"]["res"] = {"activation": "relu", "initializer": "he_normal", "residual": True}
    params = parse_params(raw)
    wide = Architecture.of(params, "wide").initializer
    assert wide == Initializer("random_uniform", (("maxval", 0.2), ("minval", -0.2)))
    assert wide.to_json() == {"name": "random_uniform", "maxval": 0.2, "minval": -0.2}
    assert Architecture.of(params, "rai").initializer == Initializer("rai")
    assert Architecture.of(params, "res").residual and not Architecture.of(params, "rai").residual
    assert not params.variants["rai"].residual and params.variants["res"].residual
    raw["variants"]["res"]["residual"] = "yes"
    with pytest.raises(ParamsError, match=r"variants\.res\.residual: 'yes' is not allowed"):
        parse_params(raw)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("variants.relu.activation", "relu2", "an elementwise activation Keras knows"),
        ("variants.relu.activation", "softmax", "an elementwise activation Keras knows"),
        ("variants.relu.activation", "glu", "an elementwise activation Keras knows"),
        ("variants.relu.activation", 3, "an elementwise activation Keras knows"),
        ("variants.relu.initializer", "he_normall", "(did you mean 'he_normal'?)"),
        ("variants.relu.initializer", "stft", "a Keras kernel initializer"),
        ("train.optimizer", "adamm", "(did you mean 'adam'?)"),
        ("train.optimizer", "muon", "an elementwise Keras optimizer"),
        ("train.loss", "mean_squared_errr", "(did you mean 'mean_squared_error'?)"),
    ],
)
def test_keras_names_are_checked_without_tensorflow(raw, key, value, expected):
    with pytest.raises(ParamsError) as caught:
        parse_params(with_change(raw, key, value))
    message = str(caught.value)
    assert f"{key}: {value!r} is not allowed" in message and expected in message
    assert "\n" not in message


def test_validation_imports_no_tensorflow(tmp_path):
    """The validate stage runs before anything is deleted and must stay fast."""
    code = (
        "import sys; from or_gate.params import load_params; load_params('params.yaml'); "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.split() == ["False", "False"]


def test_cli_prints_one_line_and_exits_non_zero(tmp_path, raw):
    raw["depth"] = "three"
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = run(validate_command(path), REPO, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "validate: error: params.yaml: depth: 'three' is not allowed; expected an integer >= 1"
    ]
    assert "Traceback" not in result.stderr


def test_or_gate_debug_shows_the_traceback(tmp_path, raw):
    raw["depth"] = "three"
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    command = validate_command(path)
    quiet = run(command, REPO, check=False)
    debug = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, env=quiet_env(OR_GATE_DEBUG="1")
    )
    assert quiet.returncode == debug.returncode == 2
    assert "Traceback" not in quiet.stderr
    assert "Traceback (most recent call last)" in debug.stderr
    assert "ParamsError" in debug.stderr


def test_the_docs_parameter_table_is_generated_from_the_declaration(tmp_path):
    out = tmp_path / "params.md"
    subprocess.run(
        [sys.executable, "tools/params_table.py", "--out", str(out)], cwd=REPO, check=True
    )
    assert (REPO / "docs/params.md").read_text() == out.read_text(), (
        "docs/params.md is stale: run `python tools/params_table.py`"
    )
    for key in ("seed", "depth", "model.width", "train.batch_size", "train.validation_split"):
        assert f"| `{key}` |" in out.read_text()
    # In-process too, where mutation testing sees which code the comparison exercises.
    from tools.params_table import render

    assert render(REPO / "params.yaml") == out.read_text()


def test_an_interval_names_its_closed_and_open_ends():
    from or_gate.params import _interval

    assert _interval({"minimum": 0, "maximum": 1}, "a number") == "a number in [0, 1]"
    both_open = {"exclusiveMinimum": 0, "exclusiveMaximum": 1}
    assert _interval(both_open, "a number") == "a number in (0, 1)"
    assert _interval({"exclusiveMinimum": 0}, "a number") == "a number > 0"
    assert _interval({"minimum": 1}, "an integer") == "an integer >= 1"


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "sparse_categorical_crossentropy"])
def test_a_loss_that_cannot_train_this_output_is_refused_by_rule(loss):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["train"]["loss"] = loss
    with pytest.raises(ParamsError) as caught:
        parse_params(raw)
    message = str(caught.value)
    assert message.startswith(f"params.yaml: train.loss: '{loss}' is not allowed")
    assert "smallest where the prediction is t, with a gradient toward t elsewhere" in message


def test_the_loss_rule_keeps_the_losses_that_can_train():
    losses = set(keras_names_table()["losses"])
    assert {"mean_squared_error", "binary_crossentropy", "hinge", "log_cosh"} <= losses
    assert not {"categorical_crossentropy", "kl_divergence", "cosine_similarity"} & losses


def test_a_number_is_checked_at_its_bounds_exactly():
    """keras_names.json's argument kinds: "number" (finite in float32, its largest value
    included), "number > 0" and "number >= 0" (0.5 passes both; 0 passes only the second)."""
    from or_gate.params import FLOAT32_MAX, _check_number

    for accepted in ("number", "number > 0", "number >= 0"):
        _check_number("scale", 0.5, accepted)
    _check_number("maxval", FLOAT32_MAX, "number")
    _check_number("scale", 0, "number >= 0")
    for value, accepted, message in [
        (-0.5, "number >= 0", "scale must be a number >= 0 (Keras refuses the rest), not -0.5"),
        (0, "number > 0", "scale must be a number > 0 (Keras refuses the rest), not 0"),
        (FLOAT32_MAX * 2, "number", "scale must be a finite number (in float32), not 6.8"),
    ]:
        with pytest.raises(ValueError) as refused:
            _check_number("scale", value, accepted)
        assert str(refused.value).startswith(message)
