"""Stage ``validate``: check the whole ``params.yaml`` before anything runs or is deleted.

It depends on the WHOLE file, so any change, even a misspelt key no other stage reads
(``dvc exp run -S '+dpeth=3'``), is validated. It writes a marker file that every other stage
depends on; the marker's bytes never change, so a re-validation re-runs nothing, and if
validation fails DVC has deleted the marker and nothing downstream can run (not even under
``dvc repro --keep-going``). Pure Python, no TensorFlow: it takes milliseconds.

    python stages/validate.py params.yaml --out data/validated.txt
"""

from __future__ import annotations

import argparse
from pathlib import Path

from or_gate import resources
from or_gate.errors import ParamsError, run
from or_gate.params import Params, load_params

VALIDATED = "params.yaml passed validation (or_gate/params.py)\n"


def check_weights_fit(params: Params) -> None:
    """Refuse, naming the keys, a run whose stacked weights alone cannot fit in memory."""
    needed = resources.weight_bytes(params.depth, params.model.width, params.replicates)
    available = resources.shortfall(needed)
    if available is not None:
        raise ParamsError(
            f"params.yaml: model.width {params.model.width}, depth {params.depth} and "
            f"replicates {params.replicates} need about {resources.human(needed)} for the "
            f"stacked weights and their training copies alone; {resources.human(available)} "
            "is available (reduce model.width, depth or replicates)"
        )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python stages/validate.py", description=__doc__)
    parser.add_argument("params", nargs="?", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, help="the marker file every stage depends on")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    check_weights_fit(params)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(VALIDATED, encoding="utf-8")
    print(
        f"{args.params}: valid (depth {params.depth}, {params.replicates} replicates, "
        f"variants: {', '.join(params.variants)})"
    )


if __name__ == "__main__":
    run(main)
