"""A sweep's grid: its cells, their names, and the record of how each went.

A sweep is ``-S`` overrides in the grammar of ``dvc exp run --queue`` (``depth=range(1,31)``,
comma lists, ``+variants.x=...``; several ``-S`` make a product), expanded by DVC's own function
(``dvc.utils.hydra.get_hydra_sweeps``), so a grid means here what it means to DVC. Each cell
is one DVC experiment of one commit, named ``<sweep>-<what varies>-<id>``: what varies is
readable in ``dvc exp show`` (``atlas-depth3-...``), and the id, a hash of the commit and of
every override, keeps two grids of one name apart. A cell already pushed (its name's
experiment ref is on the git remote for that commit) is done.

The record (``.dvc/tmp/sweeps/<sweep>.json``) is what the sweep command knows: the grid, each
cell's state (queued, running, done, failed, skipped), the worker that ran it, its error and
timings. The command rewrites it atomically as the cells move; ``status`` reads it and checks
"done" against the remote itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from or_gate.runtime import StageError

NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")  # a git ref component DVC accepts


@dataclass(frozen=True)
class Cell:
    name: str  # the DVC experiment's name
    overrides: tuple[str, ...]  # the -S values of `dvc exp run`

    def ref(self, commit: str) -> str:
        """The experiment's git ref, as DVC names it: refs/exps/<commit split 2/38>/<name>."""
        return f"refs/exps/{commit[:2]}/{commit[2:]}/{self.name}"


def expand(overrides: list[str]) -> list[tuple[str, ...]]:
    """The grid of ``-S`` overrides, as ``dvc exp run --queue`` expands it."""
    from dvc.exceptions import InvalidArgumentError
    from dvc.utils.hydra import get_hydra_sweeps

    try:
        sweeps = get_hydra_sweeps({"params.yaml": list(overrides)})
    except (InvalidArgumentError, Exception) as error:  # Hydra's parse errors vary by type
        raise StageError(f"-S: {error}") from None
    return [tuple(cell["params.yaml"]) for cell in sweeps]


def _readable(value: str) -> str:
    text = re.sub(r"[^a-z0-9.]+", "-", value.lower()).strip("-.")
    return text[:24]


def cells(sweep: str, commit: str, overrides: list[str]) -> list[Cell]:
    """The sweep's cells for ``commit``: one experiment per combination of the overrides."""
    if not NAME.match(sweep):
        raise StageError(
            f"--name {sweep!r}: expected lower-case letters, digits, '_', '.' or '-', "
            "starting with a letter, at most 40 (it names git refs)"
        )
    grid = expand(overrides)
    if not grid:
        raise StageError("-S: the overrides make no cell")
    varying = {
        index
        for index in range(len(grid[0]))
        if len({combination[index] for combination in grid}) > 1
    }
    found = []
    for combination in grid:
        digest = hashlib.sha1("\n".join([commit, *combination]).encode()).hexdigest()[:6]
        label = "-".join(
            _readable(
                combination[i].split("=", 1)[0].split(".")[-1] + combination[i].split("=", 1)[1]
            )
            for i in sorted(varying)
        )
        found.append(
            Cell(f"{sweep}-{label}-{digest}" if label else f"{sweep}-{digest}", combination)
        )
    return found


STATES = ("queued", "running", "done", "failed", "skipped")


@dataclass
class CellRecord:
    overrides: list[str]
    state: str = "queued"
    worker: str = ""
    error: str = ""
    attempts: list[str] = field(default_factory=list)  # the workers that started it
    pushed: int = 0  # how many times this sweep pushed it (once, or none)
    seconds: dict = field(default_factory=dict)  # clone, run, push


@dataclass
class Record:
    sweep: str
    commit: str
    cells: dict[str, CellRecord]
    origin: str = ""  # the git remote the cells are pushed to
    heartbeat: float = 0.0  # when the sweep command last wrote, while it runs

    @staticmethod
    def path(root: Path, sweep: str) -> Path:
        return root / ".dvc/tmp/sweeps" / f"{sweep}.json"

    def save(self, root: Path) -> None:
        path = self.path(root, self.sweep)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.heartbeat = time.time()
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")
        os.replace(partial, path)

    @classmethod
    def load(cls, root: Path, sweep: str) -> Record | None:
        path = cls.path(root, sweep)
        if not path.is_file():
            return None
        document = json.loads(path.read_text(encoding="utf-8"))
        cells = {name: CellRecord(**cell) for name, cell in document.pop("cells").items()}
        return cls(cells=cells, **document)

    @classmethod
    def for_run(cls, root: Path, sweep: str, commit: str, cells: list[Cell]) -> Record:
        """The record a run of ``cells`` writes to. A run of the commit the sweep already ran
        adds its cells to the sweep's (``-S 'depth=31,32'`` after ``-S 'depth=range(1,31)'``
        grows the sweep, and its report draws all 32); a run of another commit starts the
        sweep afresh, since its cells are experiments of that commit."""
        record = cls.load(root, sweep)
        if record is None or record.commit != commit:
            record = cls(sweep, commit, {})
        for cell in cells:
            record.cells.setdefault(cell.name, CellRecord(list(cell.overrides)))
        return record

    def counts(self) -> dict[str, int]:
        return {state: sum(c.state == state for c in self.cells.values()) for state in STATES}
