"""The plan: what a training will need, said (and refused) before anything runs or is deleted.

Oracles: the network's own parameter layout, the schedule's definition written out, the bytes
of real records, and the peak memory of a real training process.
"""

from __future__ import annotations

import subprocess
import sys

from or_gate import plan
from or_gate.architecture import Architecture
from or_gate.params import load_params

import pytest
import yaml
from helpers import REPO, run

PARAMS = load_params(REPO / "params.yaml")


def with_changes(**changes):
    """The committed params with dotted keys changed (``train.epochs``)."""
    raw = PARAMS.model_dump()
    for dotted, value in changes.items():
        node, *path = dotted.split(".")
        (raw[node] if path else raw).__setitem__(path[0] if path else node, value)
    return raw


def validate(tmp_path, **changes) -> subprocess.CompletedProcess:
    raw = with_changes(**changes)
    raw["variants"] = {
        name: {k: v for k, v in spec.items() if k != "residual" or v}
        for name, spec in raw["variants"].items()
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    command = [sys.executable, "-m", "stages.validate", "--params", str(tmp_path / "params.yaml")]
    command += ["--raw-dir", "data/raw", "--out", str(tmp_path / "validated.txt")]
    return run(command, REPO, check=False)


@pytest.mark.parametrize(("depth", "width"), [(1, 2), (10, 2), (3, 5), (30, 1)])
def test_the_parameter_count_is_the_layouts(depth, width):
    layout = Architecture(depth, width, "relu", "he_normal").layout
    assert plan.parameters_per_replicate(depth, width) == layout.size


@pytest.mark.parametrize("epochs", [1, 2, 3, 8, 9, 200, 1000])
def test_log_spaced_epochs_are_zero_the_powers_of_two_below_and_the_last(epochs):
    powers, power = set(), 1
    while power < epochs:
        powers.add(power)
        power *= 2
    assert plan.log_spaced_epochs(epochs) == sorted({0, epochs} | powers)


@pytest.mark.parametrize(
    ("changes", "largest"),
    [
        ({"depth": 10**6}, "the compiled graph"),
        ({"depth": 10**18}, "the compiled graph"),  # planned in closed form: no layer is built
        ({"model.width": 100000}, "the stacked weights"),
        ({"replicates": 10**9}, "the history"),
        ({"train.epochs": 10**12}, "the history"),
    ],
)
def test_what_cannot_fit_is_refused_by_validate_naming_the_keys(tmp_path, changes, largest):
    result = validate(tmp_path, **changes)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("validate: error: training each variant needs about ")
    assert f"(the largest part, {largest} " in line
    assert "; " in line and line.endswith("is available (reduce those keys)")
    assert not (tmp_path / "validated.txt").exists()  # so nothing downstream can run


def test_the_history_counts_in_the_plan(monkeypatch):
    """1,000 replicates x 5,000 epochs peaked at 1.80 GB while the plan said 67 MB: the history
    (floats and text) is counted now, so a machine with 1.5 GB free refuses it up front."""
    monkeypatch.setattr(plan, "available_bytes", lambda: 1_500_000_000)
    big = PARAMS.model_copy(update={"replicates": 1000})
    plan.check_fits(big, 160, "train@relu")  # 200 epochs fit
    longer = big.model_copy(update={"train": big.train.model_copy(update={"epochs": 5000})})
    with pytest.raises(Exception, match=r"needs about .* train.epochs 5000 on 160 training rows"):
        plan.check_fits(longer, 160, "train@relu")
    history = plan.training_memory(longer, 160).parts["the history"]
    assert history == 5000 * 1000 * (4 * 4 * 2 + plan.HISTORY_LINE_BYTES)


def with_train(params, **train):
    return params.model_copy(update={"train": params.train.model_copy(update=train)})


def test_each_part_of_the_plan_grows_as_its_closed_form_says():
    """Every part is a product of the keys it depends on: doubling one key doubles exactly
    the parts that scale with it (the graph with the layers, depth + 2; the weights with the
    parameters; the activations with replicates x padded rows x width x layers; ...)."""
    base = PARAMS.model_copy(update={"depth": 4, "replicates": 8})
    rows = 16

    def parts(params, rows=rows):
        return plan.training_memory(params, rows).parts

    before = parts(base)
    assert before["TensorFlow itself"] == plan.TENSORFLOW_BYTES
    assert before["the compiled graph"] == plan.GRAPH_BYTES_PER_LAYER * (4 + 2)
    assert before["the stacked weights"] == 6 * 4 * 8 * plan.parameters_per_replicate(4, 2)
    assert before["the diagnostics' activations"] == 4 * 4 * 8 * 16 * 2 * (4 + 2)
    assert before["the row orders"] == 2 * 2 * 4 * plan.CHUNK_EPOCHS * 8 * 16
    assert before["the history"] == 200 * 8 * (4 * 4 * 2 + plan.HISTORY_LINE_BYTES)
    diagnosed = len(plan.log_spaced_epochs(200))
    assert before["the diagnostic records"] == 2 * 96 * diagnosed * 8 * (4 + 2)

    doubled = parts(base.model_copy(update={"replicates": 16}))
    for part in before:
        grows = part not in ("TensorFlow itself", "the compiled graph")
        assert doubled[part] == before[part] * (2 if grows else 1), part
    # a batch that does not divide the rows pads the last step: 16 rows in batches of 5 is 20
    padded = parts(with_train(base, batch_size=5))
    assert (
        padded["the diagnostics' activations"] == before["the diagnostics' activations"] * 20 // 16
    )
    assert padded["the row orders"] == before["the row orders"] * 20 // 16


def test_the_refusal_names_the_largest_part_and_every_key(monkeypatch):
    monkeypatch.setattr(plan, "available_bytes", lambda: 10**9)
    with pytest.raises(Exception) as refused:
        plan.check_fits(PARAMS.model_copy(update={"depth": 1000}), 160, "train@relu")
    total = plan.training_memory(PARAMS.model_copy(update={"depth": 1000}), 160)
    assert str(refused.value) == (
        f"train@relu needs about {plan.human(total.total)} (the largest part, the compiled graph "
        f"{plan.human(total.parts['the compiled graph'])}) for depth 1000, model.width 2, "
        "replicates 5 and train.epochs 200 on 160 training rows; 1 GB is available (reduce "
        "those keys)"
    )


@pytest.mark.parametrize(
    ("count", "said"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1 kB"),
        (1234567, "1.23 MB"),
        (2e9, "2 GB"),
        (3.5e12, "3.5 TB"),
    ],
)
def test_sizes_read_in_the_largest_unit_that_fits(count, said):
    assert plan.human(count) == said


@pytest.mark.parametrize(
    ("replicates", "rows", "chunk"),
    [(5, 160, 20), (10**4, 160, 20), (10**5, 160, 2), (10**7, 160, 1), (10**9, 10**6, 1)],
)
def test_a_chunk_of_epochs_shrinks_only_when_its_row_orders_would_not_fit(replicates, rows, chunk):
    assert plan.chunk_epochs_for(replicates, rows) == chunk
    if chunk > 1:
        assert 8 * chunk * replicates * rows <= plan.ORDER_BYTES


def test_a_batch_larger_than_the_data_is_planned_as_all_of_it():
    huge_batch = PARAMS.model_copy(
        update={"train": PARAMS.train.model_copy(update={"batch_size": 10**9})}
    )
    assert plan.batch_shape(huge_batch, 160) == (160, 1)
    assert (
        plan.training_plan(huge_batch, "relu", 160).split("; ")[0].endswith("x 1 steps of 160 rows")
    )


def test_train_states_the_plan_that_validate_checked():
    line = plan.training_plan(PARAMS, "relu", 160)
    total = plan.human(plan.training_memory(PARAMS, 160).total)
    assert line == (
        "train@relu: 5 replicates of depth 1 (relu, uniform) x 200 epochs x 160 steps of 1 "
        f"rows; about {total} of memory"
    )


@pytest.mark.e2e
def test_a_real_training_stays_within_its_plan_and_its_records_within_their_line_bounds(
    reproduced_repo, tmp_path
):
    params = load_params(reproduced_repo / "params.yaml")
    outputs = ["--model-dir", str(tmp_path / "m")]
    arguments = ["--variant", "relu", "--data-dir", "data/prepared", *outputs]
    measured = (  # the stage, run as DVC runs it, then its own peak resident memory
        "import resource, runpy, sys\n"
        f"sys.argv = ['train', *{arguments!r}]\n"
        "runpy.run_module('stages.train', run_name='__main__', alter_sys=True)\n"
        "print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)\n"
    )
    result = run([sys.executable, "-c", measured], reproduced_repo)
    peak = int(result.stdout.strip().splitlines()[-1].split()[1])
    assert peak <= plan.training_memory(params, 160).total
    for name, bound in (
        ("history", plan.HISTORY_LINE_BYTES),
        ("gradients", plan.DIAGNOSTIC_LINE_BYTES),
        ("units", plan.DIAGNOSTIC_LINE_BYTES),
    ):
        lines = (tmp_path / "m" / f"{name}.csv").read_bytes().splitlines(keepends=True)
        assert max(len(line) for line in lines) <= bound, name


def test_a_plan_of_exactly_the_available_memory_fits_and_one_byte_more_does_not(monkeypatch):
    needed = plan.training_memory(PARAMS, 160).total
    monkeypatch.setattr(plan, "available_bytes", lambda: needed)
    assert plan.check_fits(PARAMS, 160, "train@relu").total == needed
    monkeypatch.setattr(plan, "available_bytes", lambda: needed - 1)
    with pytest.raises(Exception, match=r"^train@relu needs about "):
        plan.check_fits(PARAMS, 160, "train@relu")
