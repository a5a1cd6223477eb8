"""Stage ``validate``: check the whole ``params.yaml`` before anything runs or is deleted.

It depends on the WHOLE file, so any change, even a misspelt key no other stage reads
(``dvc exp run -S '+dpeth=3'``), is validated. It writes a marker file that every other stage
depends on; the marker's bytes never change, so a re-validation re-runs nothing, and if
validation fails DVC has deleted the marker and nothing downstream can run (not even under
``dvc repro --keep-going``). It also refuses what ``train`` would refuse for its size: the
memory of training on the raw file's rows (a regression task's ``task.points``;
``or_gate/plan.py``), planned in closed form, so
any depth or replicate count is planned at once. Pure Python, no TensorFlow: it takes
milliseconds.

    python -m stages.validate --params params.yaml --raw-dir data/raw --out data/validated.txt
"""

from __future__ import annotations

from or_gate import plan
from or_gate.files.data import TRAIN_FILE, count_rows, split_sizes
from or_gate.params import load_params
from or_gate.runtime import run, stage_arguments
from or_gate.task import is_regression

VALIDATED = "params.yaml passed validation (or_gate/params.py)\n"


def main(argv: list[str]) -> None:
    args = stage_arguments(argv, "stages.validate", __doc__, ("raw-dir", "out"))
    params = load_params(args.params)
    # What train would refuse, refused here first: the memory of training on these rows.
    if is_regression(params.task.name):  # drawn by prepare, not read
        raw_rows = params.task.points
    else:
        raw_rows = count_rows(args.raw_dir / TRAIN_FILE)
    rows, _ = split_sizes(raw_rows, params.train.validation_split)
    memory = plan.check_fits(params, rows, "training each variant")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(VALIDATED, encoding="utf-8")
    print(
        f"{args.params}: valid (depth {params.depth}, {params.replicates} replicates, "
        f"variants: {', '.join(params.variants)}; training each needs about "
        f"{plan.human(memory.total)})"
    )


if __name__ == "__main__":
    run(main)
