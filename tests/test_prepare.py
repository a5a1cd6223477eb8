"""prepare: raw-file checks (one line naming file and line) and the Keras-style split."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from stages.errors import DataError
from stages.prepare import load_split, read_raw_rows, split_validation, write_split
from tests.conftest import REPO, quiet_env


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
        read_raw_rows(path)
    assert str(caught.value).startswith(str(path))
    assert expected in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_raw_rows(tmp_path / "nope.csv")


def test_values_written_as_floats_are_accepted(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("0.0,1.0,1.0\n\n0,0,0\n")
    assert read_raw_rows(path).tolist() == [[0, 1, 1], [0, 0, 0]]


@pytest.mark.parametrize("rows", [200, 7, 11, 39])
@pytest.mark.parametrize("validation_split", [0.2, 0.1, 0.5])
def test_split_takes_the_last_rows_like_sklearn_without_shuffle(rows, validation_split):
    table = np.arange(rows * 3).reshape(rows, 3)
    train, validation = split_validation(table, validation_split)
    # Oracle: scikit-learn's ordered split rounds the test share up, as Keras' floor does.
    expected_train, expected_validation = train_test_split(
        table, test_size=validation_split, shuffle=False
    )
    np.testing.assert_array_equal(train, expected_train)
    np.testing.assert_array_equal(validation, expected_validation)


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
    x, y = load_split(tmp_path / "train.csv")
    assert x.dtype == np.float32 and x.shape == (2, 2)
    assert y.tolist() == [1.0, 0.0]
    write_split(rows[:0], tmp_path / "empty.csv")
    x, y = load_split(tmp_path / "empty.csv")
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
    (tmp_path / "OR-gate-test.data.csv").write_text("0,0,0\n")
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
