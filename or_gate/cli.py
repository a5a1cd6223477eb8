"""The command line every stage script shares: ``--params`` and its required paths.

Every path a stage reads or writes reaches it as an argument (``dvc.yaml`` is the wiring
diagram), so a stage declares the names of its paths and gets them back as ``Path`` objects.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def stage_arguments(
    argv: list[str], script: str, doc: str | None, paths: tuple[str, ...], *, variant=False
) -> argparse.Namespace:
    """Parse ``argv``: ``--params`` (default params.yaml), ``--variant`` if asked for, and one
    required ``--<name>`` path per entry of ``paths`` (``args.<name_with_underscores>``)."""
    parser = argparse.ArgumentParser(prog=f"python {script}", description=doc)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    if variant:
        parser.add_argument("--variant", required=True)
    for name in paths:
        parser.add_argument(f"--{name}", type=Path, required=True)
    return parser.parse_args(argv)
