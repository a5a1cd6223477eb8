"""params.yaml read as DVC reads it: YAML 1.2 scalars, keys that are not text, duplicate keys,
no Python objects, no alias expansion, the line of a syntax error."""

from __future__ import annotations

from or_gate.params import load_params, parse_params, read_yaml
from or_gate.runtime import ParamsError

import pytest
from helpers import REPO, with_change

# Plain scalars YAML 1.1 (PyYAML) and YAML 1.2 (ruamel.yaml, DVC) read differently, and
# others a hand edit easily mistypes into another type.
YAML_CASES = [
    "010", "0o10", "0x10", "0b101", "1_000", "1:30", "yes", "no", "on", "off", "y", "n",
    "true", "True", "TRUE", "1e-3", "1E3", "1.", ".5", "+1", "-0", ".inf", "-.Inf", ".nan",
    "~", "null", "Null", "2019-04-13", "'010'", "1,000", "0.1.2", "010.5",
]  # fmt: skip


@pytest.mark.parametrize("value", YAML_CASES)
def test_params_are_read_exactly_as_dvc_reads_them(tmp_path, value):
    from dvc.utils.serialize import parse_yaml

    path = tmp_path / "params.yaml"
    path.write_text(f"depth: {value}\nvariants:\n  {value}: 1\n")
    ours = read_yaml(path)
    dvc = parse_yaml(path.read_text(), str(path))
    assert ours == dvc
    assert [type(k) for k in ours["variants"]] == [type(k) for k in dvc["variants"]]
    assert type(ours["depth"]) is type(dvc["depth"])


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("010", 10),  # YAML 1.1 (PyYAML) would train depth 8
        ("0o10", 8),
        ("1_000", 1000),
        ("'10'", "depth: '10' is not allowed; expected an integer >= 1"),
        ("10.0", "depth: 10.0 is not allowed; expected an integer >= 1"),
        ("yes", "depth: 'yes' is not allowed; expected an integer >= 1"),
        ("true", "depth: true is not allowed; expected an integer >= 1"),
        ("", "depth: null is not allowed; expected an integer >= 1"),
    ],
)
def test_a_hand_edited_depth_trains_what_dvc_records_or_is_refused(tmp_path, yaml_text, expected):
    text = (REPO / "params.yaml").read_text().replace("depth: 1\n", f"depth: {yaml_text}\n", 1)
    path = tmp_path / "params.yaml"
    path.write_text(text)
    if isinstance(expected, int):
        assert load_params(path).depth == expected
    else:
        with pytest.raises(ParamsError) as refused:
            load_params(path)
        assert str(refused.value) == f"params.yaml: {expected}"


def test_yaml_1_1_words_are_strings_as_dvc_reads_them(raw):
    raw["variants"]["on"] = {"activation": "relu", "initializer": "uniform", "residual": "yes"}
    with pytest.raises(ParamsError, match=r"variants\.on\.residual: 'yes' is not allowed"):
        parse_params(raw)
    raw["variants"]["on"]["residual"] = True
    assert "on" in parse_params(raw).variants  # a name, as DVC's foreach names its stage
    assert parse_params(with_change(raw, "train.learning_rate", 1e-3)).train.learning_rate == 1e-3


@pytest.mark.parametrize(
    ("key", "shown", "type_"),
    [
        ("true", "True", "a boolean"),
        ("null", "None", "null"),
        ("7", "7", "an integer"),
        ("0.5", "0.5", "a number"),
        ("[a, b]", "('a', 'b')", "not text"),
    ],
)
def test_a_variant_name_yaml_reads_as_another_type_is_refused_saying_so(
    tmp_path, key, shown, type_
):
    text = (REPO / "params.yaml").read_text()
    path = tmp_path / "params.yaml"
    path.write_text(text + f"  ? {key}\n  : {{activation: relu, initializer: uniform}}\n")
    with pytest.raises(ParamsError) as refused:
        load_params(path)
    assert str(refused.value) == (
        f"params.yaml: variants: name {shown} is not allowed (YAML reads it as {type_}; quote "
        "it, or choose a word: keys and names are text)"
    )


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


@pytest.mark.parametrize(("where", "said"), [((), "the document: key"), (("train",), "train: key")])
def test_a_key_that_is_not_text_is_named_where_it_is(raw, where, said):
    node = raw
    for key in where:
        node = node[key]
    node[7] = "x"
    with pytest.raises(ParamsError) as refused:
        parse_params(raw)
    assert str(refused.value) == (
        f"params.yaml: {said} 7 is not allowed (YAML reads it as an integer; quote it, or "
        "choose a word: keys and names are text)"
    )


@pytest.mark.parametrize(
    ("document", "key", "lines"),
    [
        ("train:\n  epochs: 1\n  epochs: 2\n", "epochs", (2, 3)),  # in a nested mapping
        ("a: [{b: 1}, {c: 1, c: 2}]\n", "c", (1, 1)),  # in a mapping inside a list
        ("7: a\n7: b\n", "7", (1, 2)),  # keys YAML reads as numbers, booleans, null
        ("0.5: a\n0.5: b\n", "0.5", (1, 2)),
        ("true: a\ntrue: b\n", "true", (1, 2)),
        ("null: a\nnull: b\n", "null", (1, 2)),
    ],
)
def test_a_key_given_twice_anywhere_is_refused(tmp_path, document, key, lines):
    path = tmp_path / "params.yaml"
    path.write_text(document)
    with pytest.raises(ParamsError) as caught:
        read_yaml(path, ParamsError)
    assert str(caught.value) == (
        f"{path}: key '{key}' appears twice in one mapping (lines {lines[0]} and {lines[1]}); "
        "expected each key once"
    )


def test_the_reader_constructs_no_python_objects(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(path)
    assert not (tmp_path / "pwned").exists()


def test_an_alias_bomb_is_read_without_expanding_it(tmp_path):
    levels = "".join(
        f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}]\n" for i in range(1, 30)
    )
    path = tmp_path / "bomb.yaml"
    path.write_text("l0: &l0 [x]\n" + levels)
    assert set(read_yaml(path)) == {f"l{i}" for i in range(30)}  # 4**29 leaves if expanded


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 7\nreplicates: 5\ndepth: 1\n  width: 2\n")  # line 4 indented
    with pytest.raises(ParamsError) as caught:
        load_params(path)
    assert str(caught.value) == (
        f"{path}: not valid YAML at line 4: mapping values are not allowed in this context"
    )


def test_an_error_in_context_names_the_problem_not_the_context(tmp_path):
    """ruamel's message starts with its context ("while parsing a flow sequence"); the
    line says what is wrong and where."""
    path = tmp_path / "params.yaml"
    path.write_text("seed: 7\ndepth: [1\n")
    with pytest.raises(ParamsError) as caught:
        load_params(path)
    assert (
        str(caught.value) == f"{path}: not valid YAML at line 3: did not find expected ',' or ']'"
    )


def test_a_control_character_is_named(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 7\ndepth: \x07\n")
    with pytest.raises(ParamsError) as caught:
        load_params(path)
    assert str(caught.value) == (
        f"{path}: not valid YAML: unacceptable character #x0007: control characters are not allowed"
    )


def test_a_missing_or_binary_file_is_named_saying_which(tmp_path):
    path = tmp_path / "params.yaml"
    with pytest.raises(ParamsError) as caught:
        load_params(path)
    assert str(caught.value) == f"{path}: file not found"
    path.write_bytes(b"seed: \xff\xfe\n")
    with pytest.raises(ParamsError) as caught:
        load_params(path)
    assert str(caught.value) == f"{path}: not a UTF-8 text file"


def test_params_are_read_from_the_working_directory_by_default(monkeypatch):
    monkeypatch.chdir(REPO)
    assert load_params() == load_params(REPO / "params.yaml")
