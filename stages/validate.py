"""Stage ``validate``: check the whole ``params.yaml`` before anything runs or is deleted.

It depends on the WHOLE file, so any change, even a misspelt key no other stage reads
(``dvc exp run -S '+dpeth=3'``), is validated. It writes a marker file that every other stage
depends on; the marker's bytes never change, so a re-validation re-runs nothing, and if
validation fails DVC has deleted the marker and nothing downstream can run (not even under
``dvc repro --keep-going``). Pure Python, no TensorFlow: it takes milliseconds.

    python -m stages.validate --params params.yaml --out data/validated.txt
"""

from __future__ import annotations

from or_gate import plan
from or_gate.params import load_params
from or_gate.runtime import run, stage_arguments

VALIDATED = "params.yaml passed validation (or_gate/params.py)\n"


def main(argv: list[str]) -> None:
    args = stage_arguments(argv, "stages.validate", __doc__, ("out",))
    params = load_params(args.params)
    plan.check_weights_fit(params)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(VALIDATED, encoding="utf-8")
    print(
        f"{args.params}: valid (depth {params.depth}, {params.replicates} replicates, "
        f"variants: {', '.join(params.variants)})"
    )


if __name__ == "__main__":
    run(main)
