"""The OR-gate data: raw-file checks (one line naming file and line), the split Keras' fit
makes, the committed raw files, and the prepared splits `dvc repro` writes."""

from __future__ import annotations

import subprocess
import sys

from or_gate.files.data import (
    TEST_FILE,
    TRAIN_FILE,
    count_rows,
    missing_truth_table_inputs,
    or_labels,
    read_raw,
    read_split,
    split_validation,
    write_split,
)
from or_gate.params import load_params
from or_gate.runtime import DataError

import numpy as np
import pytest
from helpers import REPO, quiet_env, run


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "has no rows"),
        ("0,1,1\n0,1\n", ":2: 2 fields"),
        ("0,1,1\n0,1,1,1\n", ":2: 4 fields"),
        ("0,1,1\n0,a,1\n", ":2: x2 = 'a' is not a number"),
        ("0,1,1\n1,1,nan\n", ":2: y = 'nan' is not finite"),
        ("0,1,1\ninf,1,1\n", ":2: x1 = 'inf' is not finite"),
        ("0,1,1\n0,2,1\n", ":2: input x2 = '2'; expected 0 or 1"),
        ("0,1,1\n0,1,0.5\n", ":2: label y = '0.5'; expected 0 or 1"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, content, expected):
    path = tmp_path / "OR-gate.data.csv"
    path.write_text(content)
    with pytest.raises(DataError) as caught:
        read_raw(path)
    assert str(caught.value).startswith(str(path))
    assert expected in str(caught.value)


def test_a_file_that_is_not_utf8_text_is_one_line_naming_it(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_bytes(b"0,1,1\n\xff\xfe,1,1\n")
    with pytest.raises(DataError) as caught:
        read_raw(path)
    assert str(caught.value) == f"{path}: not a UTF-8 text file"


def test_line_ends_and_spaces_around_a_field_are_read_as_the_value(tmp_path):
    """Windows line ends, spaces and a last line without its end; a field's own text (here
    ending in 'X') is what an error names."""
    path = tmp_path / "rows.csv"
    path.write_text("0, 1 ,1\r\n1,0,1 \r\n0,0,0", newline="")
    assert read_raw(path).tolist() == [[0, 1, 1], [1, 0, 1], [0, 0, 0]]
    path.write_text("0,1,1\n0,1,1X\n")
    with pytest.raises(DataError, match=r":2: y = '1X' is not a number$"):
        read_raw(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_raw(tmp_path / "nope.csv")


def test_values_written_as_floats_are_accepted(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("0.0,1.0,1.0\n\n0,0,0\n")
    assert read_raw(path).tolist() == [[0, 1, 1], [0, 0, 0]]


@pytest.mark.parametrize("rows", [200, 7, 11, 39, 90, 10])
@pytest.mark.parametrize("validation_split", [0.2, 0.1, 0.5, 0.3, 0.7])
def test_split_takes_the_last_rows_as_keras_fit_does(rows, validation_split):
    # The oracle is the function keras.Model.fit(validation_split=...) itself calls. The grid
    # includes sizes where rounding rules disagree (90 rows at 0.3: Keras keeps 62 for
    # training where scikit-learn's ordered split keeps 63).
    from keras.src.trainers.data_adapters.array_slicing import train_validation_split

    table = np.arange(rows * 3).reshape(rows, 3)
    (expected_train,), (expected_validation,) = train_validation_split((table,), validation_split)
    train, validation = split_validation(table, validation_split)
    np.testing.assert_array_equal(train, np.asarray(expected_train))
    np.testing.assert_array_equal(validation, np.asarray(expected_validation))


def test_zero_split_keeps_every_row():
    table = np.ones((5, 3), int)
    train, validation = split_validation(table, 0.0)
    assert len(train) == 5 and len(validation) == 0


def test_split_leaving_nothing_to_train_is_an_error():
    with pytest.raises(DataError, match="both must be non-empty"):
        split_validation(np.ones((1, 3), int), 0.2)


def test_written_split_reads_back(tmp_path):
    rows = np.array([[0, 1, 1], [0, 0, 0]])
    write_split(rows, tmp_path / "train.csv")
    x, y = read_split(tmp_path / "train.csv")
    assert x.dtype == np.float32 and x.shape == (2, 2)
    assert y.tolist() == [1.0, 0.0]
    write_split(rows[:0], tmp_path / "empty.csv")
    x, y = read_split(tmp_path / "empty.csv")
    assert x.shape == (0, 2) and y.shape == (0,)


def run_prepare(raw_dir, out_dir, params=REPO / "params.yaml"):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "stages.prepare",
            "--params",
            str(params),
            "--raw-dir",
            str(raw_dir),
            "--out-dir",
            str(out_dir),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=quiet_env(),
    )


def test_training_file_with_one_class_is_rejected(tmp_path):
    (tmp_path / "OR-gate.data.csv").write_text("0,1,1\n1,1,1\n1,0,1\n1,1,1\n1,1,1\n")
    (tmp_path / "OR-gate-test.data.csv").write_text("0,0,0\n0,1,1\n1,0,1\n1,1,1\n")
    result = run_prepare(tmp_path, tmp_path / "out")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "OR-gate.data.csv" in lines[0] and "no label 0" in lines[0]
    assert not (tmp_path / "out").exists()


def test_bad_row_stops_the_stage_with_one_line(tmp_path):
    (tmp_path / "OR-gate.data.csv").write_text("0,1,1\n0,0,0\n0,1,x\n")
    (tmp_path / "OR-gate-test.data.csv").write_text("0,0,0\n")
    result = run_prepare(tmp_path, tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"prepare: error: {tmp_path / 'OR-gate.data.csv'}:3: y = 'x' is not a number"
    ]


def test_raw_files_regenerate_byte_for_byte(tmp_path):
    # The command the README and tools/make_data.py document.
    command = ["tools/make_data.py", "--train-rows", "200", "--seed", "2019"]
    subprocess.run([sys.executable, *command, "--out-dir", str(tmp_path)], cwd=REPO, check=True)
    for name in (TRAIN_FILE, TEST_FILE):
        assert (tmp_path / name).read_bytes() == (REPO / "data/raw" / name).read_bytes()


def test_raw_files_follow_the_write_up_format():
    train = read_raw(REPO / "data/raw" / TRAIN_FILE)
    test = read_raw(REPO / "data/raw" / TEST_FILE)
    assert train.shape == (200, 3) and test.shape == (7, 3)
    for rows in (train, test):
        np.testing.assert_array_equal(rows[:, 2], rows[:, 0] | rows[:, 1])  # OR
    truth_table = {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert {tuple(r) for r in test[:, :2]} == truth_table
    assert {tuple(r) for r in train[:, :2]} == truth_table
    first_line = (REPO / "data/raw" / TRAIN_FILE).read_text().splitlines()[0]
    assert first_line.count(",") == 2 and not first_line[0].isalpha()  # headerless


@pytest.fixture(scope="module")
def prepared(reproduced_repo):
    return {
        name: read_split(reproduced_repo / "data/prepared" / f"{name}.csv")
        for name in ("train", "validation", "test")
    }


def test_prepared_splits_partition_the_raw_rows_in_order(prepared, reproduced_repo):
    raw = read_raw(reproduced_repo / "data/raw" / TRAIN_FILE).astype(np.float32)
    split = load_params(reproduced_repo / "params.yaml").train.validation_split
    x_train, y_train = prepared["train"]
    x_val, y_val = prepared["validation"]
    assert len(x_val) == len(raw) - int(np.floor(len(raw) * (1 - split)))
    np.testing.assert_array_equal(np.vstack([x_train, x_val]), raw[:, :2])
    np.testing.assert_array_equal(np.concatenate([y_train, y_val]), raw[:, 2])


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_prepared_schema(prepared, reproduced_repo, split):
    header = (reproduced_repo / "data/prepared" / f"{split}.csv").read_text().splitlines()[0]
    assert header == "x1,x2,y"
    x, y = prepared[split]
    assert not np.isnan(x).any() and not np.isnan(y).any()
    assert set(np.unique(x)) <= {0.0, 1.0} and set(np.unique(y)) <= {0.0, 1.0}
    np.testing.assert_array_equal(y, np.logical_or(x[:, 0], x[:, 1]))
    assert set(np.unique(y)) == {0.0, 1.0}  # both classes in every split


def test_a_training_row_that_contradicts_or_is_refused(tmp_path):
    from or_gate.files.data import read_raw

    path = tmp_path / "OR-gate.data.csv"
    path.write_text("0,1,1\n1,1,1\n0,0,1\n")
    with pytest.raises(DataError) as caught:
        read_raw(path)
    assert str(caught.value) == (
        f"{path}:3: label y = 1 contradicts OR(0, 0) = 0; expected the OR gate's truth table"
    )
    path.write_text("1,0,0\n")  # where OR and AND differ
    with pytest.raises(DataError, match=r":1: label y = 0 contradicts OR\(1, 0\) = 1; "):
        read_raw(path)


def test_split_sizes_count_both_parts_and_name_both_when_one_is_empty():
    from or_gate.files.data import split_sizes

    assert split_sizes(10, 0) == (10, 0)  # no validation split: every row trains
    assert split_sizes(10, 0.2) == (8, 2)
    with pytest.raises(DataError) as caught:
        split_sizes(1, 0.5)
    assert str(caught.value) == (
        "validation_split 0.5 of 1 training rows leaves 0 for training and 1 for validation; "
        "both must be non-empty (use more rows or another split)"
    )
    with pytest.raises(DataError, match=r"leaves 10 for training and 0 for validation; "):
        split_sizes(10, 1e-20)  # 1 - 1e-20 is 1.0 in floating point: no row validates


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "header []; expected 'x1,x2,y'"),
        (b"a,b,c\n0,1,1\n", "header ['a,b,c']; expected 'x1,x2,y'"),
        ("x1,x2,y\n0,1,é\n".encode(), "not ASCII text; expected a split as prepare writes it"),
        (b"x1,x2,y\n0,1,one\n", "rows that are not 3 numbers; expected a split as prepare"),
        (b"x1,x2,y\n0,1\n0,1,1,1\n", "rows that are not 3 numbers; expected a split as prepare"),
    ],
)
def test_a_damaged_prepared_split_is_one_line_naming_it(tmp_path, content, expected):
    path = tmp_path / "train.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        read_split(path)
    assert str(caught.value).startswith(f"{path}: {expected}")


def test_a_missing_prepared_split_says_which_stage_makes_it(tmp_path):
    with pytest.raises(DataError) as caught:
        read_split(tmp_path / "train.csv")
    assert (
        str(caught.value) == f"{tmp_path / 'train.csv'}: file not found (run `dvc repro prepare`)"
    )


def test_a_test_file_missing_a_truth_table_input_is_refused(tmp_path):
    raw = REPO / "data/raw"
    (tmp_path / "OR-gate.data.csv").write_text((raw / "OR-gate.data.csv").read_text())
    (tmp_path / "OR-gate-test.data.csv").write_text("0,0,0\n0,1,1\n1,0,1\n0,0,0\n")
    paths = ["--raw-dir", str(tmp_path), "--out-dir", str(tmp_path / "out")]
    result = run([sys.executable, "-m", "stages.prepare", *paths], REPO, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"prepare: error: {tmp_path / 'OR-gate-test.data.csv'}: no row for the truth-table "
        "input(s) (1, 1); the test set must cover all four"
    ]


def test_a_large_training_file_is_read_compactly(tmp_path):
    from or_gate.files.data import read_raw

    path = tmp_path / "OR-gate.data.csv"
    path.write_text("0,1,1\n1,0,1\n0,0,0\n1,1,1\n" * 25_000)
    rows = read_raw(path)
    assert rows.shape == (100_000, 3) and rows.dtype == np.int8  # 3 bytes a row


def test_or_labels_are_the_truth_table():
    inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [1, 1]])
    assert or_labels(inputs).tolist() == [0, 1, 1, 1, 1]


@pytest.mark.parametrize(
    ("inputs", "missing"),
    [
        ([[0, 0], [0, 1], [1, 0], [1, 1]], []),
        ([[0, 0], [1, 1], [1, 1]], [(0, 1), (1, 0)]),
        ([[1, 0]], [(0, 0), (0, 1), (1, 1)]),
    ],
)
def test_the_truth_table_inputs_no_row_has_are_named_in_order(inputs, missing):
    rows = np.array([[*x, 1] for x in inputs], dtype=np.float32)
    assert missing_truth_table_inputs(rows) == missing


def test_count_rows_counts_non_empty_lines_and_names_a_missing_file(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("0,0,0\n\n1,0,1\n   \n0,1,1")  # blank lines, and no final newline
    assert count_rows(path) == 3
    with pytest.raises(DataError) as missing:
        count_rows(tmp_path / "absent.csv")
    assert str(missing.value) == f"{tmp_path / 'absent.csv'}: file not found"
