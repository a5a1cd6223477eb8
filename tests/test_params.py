"""params.yaml validation: one line naming the key, the bad value and what is allowed."""

from __future__ import annotations

import copy
import re
import subprocess
import sys

from or_gate.params import load_params, parse_params
from or_gate.runtime import ParamsError

import pytest
import yaml
from helpers import REPO, quiet_env, run


@pytest.fixture()
def raw() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def with_change(raw: dict, dotted: str, value) -> dict:
    changed = copy.deepcopy(raw)
    node = changed
    *parents, last = dotted.split(".")
    for key in parents:
        node = node[key]
    node[last] = value
    return changed


def test_committed_params_are_valid():
    params = load_params(REPO / "params.yaml")
    assert params.depth >= 1 and params.model.width >= 1 and params.train.batch_size >= 1
    assert {"sigmoid", "relu", "leaky_relu"} <= set(params.variants)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("depth", "three", "depth: 'three'"),
        ("depth", 0, "depth: 0"),
        ("depth", True, "depth: True"),
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


@pytest.mark.parametrize("name", ["Tanh", "1st", "a-b", "x y", "relu;rm"])
def test_variant_names_must_be_shell_safe(raw, name):
    raw["variants"][name] = {"activation": "tanh", "initializer": "glorot_uniform"}
    with pytest.raises(
        ParamsError, match=rf"variants: name '{re.escape(name)}'.*\[a-z\]\[a-z0-9_\]\*"
    ):
        parse_params(raw)


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
    variants = parse_params(raw).variants
    assert variants["wide"].initializer_form() == {
        "name": "random_uniform",
        "minval": -0.2,
        "maxval": 0.2,
    }
    assert variants["rai"].initializer_form() == "rai" and not variants["rai"].residual
    assert variants["res"].residual
    raw["variants"]["res"]["residual"] = "yes"
    with pytest.raises(ParamsError, match=r"variants\.res\.residual: 'yes' is not allowed"):
        parse_params(raw)


def test_learning_rate_written_without_a_dot_is_a_number(raw):
    # PyYAML reads 1e-3 as a string; YAML 1.2 and DVC mean a number.
    assert (
        parse_params(with_change(raw, "train.learning_rate", "1e-3")).train.learning_rate == 0.001
    )


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
    result = run([sys.executable, "stages/validate.py", str(path)], REPO, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "validate: error: params.yaml: depth: 'three' is not allowed; expected an integer >= 1"
    ]
    assert "Traceback" not in result.stderr


def test_or_gate_debug_shows_the_traceback(tmp_path, raw):
    raw["depth"] = "three"
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    command = [sys.executable, "stages/validate.py", str(path)]
    quiet = run(command, REPO, check=False)
    debug = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, env=quiet_env(OR_GATE_DEBUG="1")
    )
    assert quiet.returncode == debug.returncode == 2
    assert "Traceback" not in quiet.stderr
    assert "Traceback (most recent call last)" in debug.stderr
    assert "ParamsError" in debug.stderr


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    text = (REPO / "params.yaml").read_text()
    path = tmp_path / "params.yaml"
    path.write_text(text.replace("depth: 1\n", "depth: 1\ndepth: 10\n", 1))
    line = text.splitlines().index("depth: 1") + 1
    with pytest.raises(ParamsError) as caught:
        load_params(path)
    assert str(caught.value) == (
        f"{path}: key 'depth' appears twice in one mapping (lines {line} and {line + 1}); "
        "expected each key once"
    )


def test_the_duplicate_key_loader_is_a_safe_loader(tmp_path):
    from or_gate.params import UniqueKeyLoader

    assert issubclass(UniqueKeyLoader, yaml.SafeLoader)
    path = tmp_path / "params.yaml"
    path.write_text("seed: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(path)


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 7\ndepth: [1\n")
    with pytest.raises(ParamsError, match=r"not valid YAML at line \d+"):
        load_params(path)


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
