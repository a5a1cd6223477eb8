"""The training records, formatted chunk by chunk while training runs, are byte for byte the
tables one ``write_csv`` of every row writes (the cell-by-cell formatter is the oracle)."""

from __future__ import annotations

from or_gate.architecture import Architecture
from or_gate.files.records import EVALUATION, TRAINING, TrainingRecords, write_predictions
from or_gate.files.tables import format_cell, format_column, read_csv, write_csv, write_table
from or_gate.training import Diagnostics

import numpy as np
import pytest

ARCHITECTURE = Architecture(depth=2, width=2, activation="relu", initializer="he_normal")


def awkward_floats(rng, count: int, dtype) -> np.ndarray:
    """Magnitudes from 1e-35 to 1e13, repeats, signed zeros and non-finite values."""
    values = rng.standard_normal(count) * np.exp(rng.uniform(-80, 30, count))
    values[::7] = np.round(values[::7])  # repeated small integers
    values = values.astype(dtype)
    values[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5]
    return values


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (np.float32(0.1), "0.1"),  # the shortest text that reads back to the float32
        (np.float64(0.1), "0.1"),
        (np.float32(1 / 3), "0.33333334"),
        (np.float64(1 / 3), "0.3333333333333333"),
        (np.float32(-0.0), "-0.0"),
        (np.float32(1e-35), "1e-35"),
        (np.float64(1e13), "10000000000000.0"),
        (np.float64(1e16), "1e+16"),
        (2.5, "2.5"),
        (np.float32("nan"), ""),  # non-finite numbers never reach a file
        (np.float64("-inf"), ""),
        (None, ""),
        (np.int64(7), "7"),
        (True, "True"),
        ("relu", "relu"),
        ("a,b", '"a,b"'),  # quoted as CSV quotes a field with a comma
        ('say "hi"', '"say ""hi"""'),
    ],
)
def test_a_cell_is_written_as_these_exact_bytes(value, text):
    assert format_cell(value) == text


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_column_formats_as_cell_by_cell(dtype):
    values = awkward_floats(np.random.default_rng(0), 4000, dtype).reshape(40, 100)[:, ::3]
    expected = [format_cell(value) for value in values.ravel()]
    assert format_column(values).ravel().tolist() == expected
    assert "-0.0" in expected and "" in expected  # the awkward cases are really there
    integers = np.arange(-3, 30)
    assert format_column(integers).tolist() == [format_cell(value) for value in integers]


def test_a_pandas_table_is_written_as_write_csv_writes_its_rows_and_reads_back(tmp_path):
    """Each cell formatted once: a text cell with a comma or a quote is quoted once, as CSV
    quotes it, and reads back as itself (it was quoted twice, and read back with quotes)."""
    import pandas as pd

    table = pd.DataFrame(
        {"name": ["relu", "a,b", 'say "hi"'], "rate": [0.5, np.nan, 1 / 3], "count": [1, 2, 3]}
    )
    write_table(tmp_path / "table.csv", table)
    write_csv(tmp_path / "rows.csv", list(table.columns), table.itertuples(index=False))
    assert (tmp_path / "table.csv").read_bytes() == (tmp_path / "rows.csv").read_bytes()
    back = read_csv(tmp_path / "table.csv", text=("name",))
    assert back["name"].tolist() == table["name"].tolist()


def diagnostics_at(rng, replicates: int, layers: int) -> Diagnostics:
    shares = [rng.integers(0, 3, (replicates, layers)) / 2 for _ in range(3)]
    norms = [awkward_floats(rng, replicates * layers, np.float64) for _ in range(2)]
    return Diagnostics(*(n.reshape(replicates, layers) for n in norms), *shares)


def test_chunked_records_equal_one_write_of_all_rows(tmp_path):
    rng, replicates, layers = np.random.default_rng(1), 5, len(ARCHITECTURE.layers)
    # two chunks of epochs (3, then 2) and diagnostics handed over out of epoch order
    chunks = [
        {
            key: awkward_floats(rng, count * replicates, np.float32).reshape(count, replicates)
            for key in TRAINING["history"][2:]
        }
        for count in (3, 2)
    ]
    measured = {epoch: diagnostics_at(rng, replicates, layers) for epoch in (4, 0, 2)}
    records = TrainingRecords(ARCHITECTURE)
    records.add_history(0, chunks[0])
    records.add_history(3, chunks[1])
    for epoch, diagnostics in measured.items():
        records.add_diagnostics(epoch, diagnostics)
    records.write(tmp_path / "chunked")

    history = {key: np.concatenate([c[key] for c in chunks]) for key in TRAINING["history"][2:]}
    expected = tmp_path / "expected"
    write_csv(
        expected / "history.csv",
        TRAINING["history"],
        [
            [k, epoch + 1, *(history[key][epoch, k] for key in TRAINING["history"][2:])]
            for k in range(replicates)
            for epoch in range(5)
        ],
    )
    roles = [layer.role for layer in ARCHITECTURE.layers]
    for name, fields in (
        ("gradients", ("kernel_gradient_norm", "bias_gradient_norm")),
        ("units", ("dead_fraction", "saturated_fraction", "blocked_fraction")),
    ):
        rows = [
            [k, epoch, layer, roles[layer], *(getattr(d, f)[k, layer] for f in fields)]
            for epoch, d in sorted(measured.items())
            for k in range(replicates)
            for layer in range(layers)
        ]
        write_csv(expected / f"{name}.csv", TRAINING[name], rows)
    for name in TRAINING:
        written = (tmp_path / "chunked" / f"{name}.csv").read_bytes()
        assert written == (expected / f"{name}.csv").read_bytes(), name
    assert written.count(b"\n") == 1 + 3 * replicates * layers  # header + every row


def test_no_diagnostics_writes_the_header_alone(tmp_path):
    records = TrainingRecords(ARCHITECTURE)
    records.add_history(0, {key: np.ones((1, 2), np.float32) for key in TRAINING["history"][2:]})
    records.write(tmp_path)
    assert (tmp_path / "units.csv").read_text() == ",".join(TRAINING["units"]) + "\n"
    assert (tmp_path / "history.csv").read_text().splitlines()[1:] == [
        "0,1,1.0,1.0,1.0,1.0",
        "1,1,1.0,1.0,1.0,1.0",
    ]


def test_predictions_are_one_write_of_every_row(tmp_path):
    rng = np.random.default_rng(2)
    x_test = rng.integers(0, 2, (3, 2)).astype(np.float32)
    y_test = rng.integers(0, 2, 3).astype(np.float32)
    test_predictions = awkward_floats(rng, 4 * 3, np.float32).reshape(4, 3)
    truth = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    truth_predictions = rng.uniform(0, 1, (4, 4)).astype(np.float32)
    splits = {
        "test": (x_test, y_test, test_predictions),
        "truth_table": (truth, truth.max(axis=1), truth_predictions),
    }
    write_predictions(tmp_path / "batched", splits)
    rows = [
        [split, k, i, *map(int, x[i]), int(y[i]), predictions[k, i]]
        for split, (x, y, predictions) in splits.items()
        for k in range(len(predictions))
        for i in range(len(x))
    ]
    write_csv(tmp_path / "rows.csv", EVALUATION["predictions"], rows)
    batched = (tmp_path / "batched" / "predictions.csv").read_bytes()
    assert batched == (tmp_path / "rows.csv").read_bytes()
    assert batched.count(b"\n") == 1 + 4 * 3 + 4 * 4
