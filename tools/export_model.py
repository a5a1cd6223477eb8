"""Export one trained replicate as a standard ``.keras`` file (loads in Keras' safe mode).

The pipeline keeps a variant's replicates stacked in ``models/<variant>/weights.npy``
(``or_gate/files/weights.py``); this writes replicate ``--replicate`` as the Keras model the
write-up's code would have saved, byte-stable (``tools/analysis/export.py``)::

    python tools/export_model.py --model-dir models/relu --replicate 7 --out relu_7.keras
"""

from __future__ import annotations

import argparse
from pathlib import Path

from or_gate.files.weights import load_stacked, replicate_model
from or_gate.runtime import DataError, run

# The pipeline's own outputs: DVC and git own them, and an extra file there changes their hash.
PIPELINE_FOLDERS = ("models", "data", "metrics")


def check_destination(out: Path) -> None:
    """A ``.keras`` file in an existing folder outside the pipeline's outputs, or one line."""
    if out.suffix != ".keras":
        raise DataError(f"--out {out}: must end in .keras, the only name Keras saves a model under")
    checkout = Path(__file__).resolve().parents[1]
    for folder in PIPELINE_FOLDERS:
        if out.resolve().is_relative_to(checkout / folder):
            raise DataError(
                f"--out {out}: inside {folder}/, which the pipeline writes and DVC tracks; "
                "export elsewhere"
            )
    if not out.parent.is_dir():
        raise DataError(f"--out {out}: folder {out.parent} does not exist")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python tools/export_model.py", description=__doc__)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--replicate", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    check_destination(args.out)
    replicates = len(load_stacked(args.model_dir)[1])
    if not 0 <= args.replicate < replicates:
        raise DataError(
            f"{args.model_dir}: no replicate {args.replicate}; it has 0 to {replicates - 1}"
        )
    from or_gate.runtime import load_tensorflow

    from analysis.export import save_model

    load_tensorflow()
    save_model(replicate_model(args.model_dir, args.replicate), args.out)
    print(f"export_model: wrote {args.out} (replicate {args.replicate} of {args.model_dir})")


if __name__ == "__main__":
    run(main)
