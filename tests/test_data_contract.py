"""Data contracts: the committed raw files and the prepared splits `dvc repro` writes."""

from __future__ import annotations

import numpy as np
import pytest

from stages.make_data import TEST_FILE, TRAIN_FILE
from stages.make_data import main as make_data
from stages.params import load_params
from stages.prepare import load_split, read_raw_rows
from tests.conftest import REPO


def test_raw_files_regenerate_byte_for_byte(tmp_path):
    # The command the README and stages/make_data.py document.
    make_data(["--train-rows", "200", "--seed", "2019", "--out-dir", str(tmp_path)])
    for name in (TRAIN_FILE, TEST_FILE):
        assert (tmp_path / name).read_bytes() == (REPO / "data/raw" / name).read_bytes()


def test_raw_files_follow_the_write_up_format():
    train = read_raw_rows(REPO / "data/raw" / TRAIN_FILE)
    test = read_raw_rows(REPO / "data/raw" / TEST_FILE)
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
        name: load_split(reproduced_repo / "data/prepared" / f"{name}.csv")
        for name in ("train", "validation", "test")
    }


@pytest.mark.xdist_group("reproduced")
def test_prepared_splits_partition_the_raw_rows_in_order(prepared, reproduced_repo):
    raw = read_raw_rows(reproduced_repo / "data/raw" / TRAIN_FILE).astype(np.float32)
    split = load_params(reproduced_repo / "params.yaml").validation_split
    x_train, y_train = prepared["train"]
    x_val, y_val = prepared["validation"]
    assert len(x_val) == len(raw) - int(np.floor(len(raw) * (1 - split)))
    np.testing.assert_array_equal(np.vstack([x_train, x_val]), raw[:, :2])
    np.testing.assert_array_equal(np.concatenate([y_train, y_val]), raw[:, 2])


@pytest.mark.xdist_group("reproduced")
@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_prepared_schema(prepared, reproduced_repo, split):
    header = (reproduced_repo / "data/prepared" / f"{split}.csv").read_text().splitlines()[0]
    assert header == "x1,x2,y"
    x, y = prepared[split]
    assert not np.isnan(x).any() and not np.isnan(y).any()
    assert set(np.unique(x)) <= {0.0, 1.0} and set(np.unique(y)) <= {0.0, 1.0}
    np.testing.assert_array_equal(y, np.logical_or(x[:, 0], x[:, 1]))
    assert set(np.unique(y)) == {0.0, 1.0}  # both classes in every split
