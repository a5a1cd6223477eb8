"""Sweeps that outgrow one machine: a grid of DVC experiments run on a Dask cluster.

    python tools/sweep.py run --name NAME -S KEY=VALUES ... [--scheduler ADDRESS |
        --scheduler-file FILE | --workers N]
    python tools/sweep.py status --name NAME
    python tools/sweep.py report --name NAME --out-dir DIR

``run`` expands the ``-S`` overrides as ``dvc exp run --queue`` does (``depth=range(1,31)``,
comma lists, ``+variants.x=...``; several ``-S`` make a product) and runs each cell as a DVC
experiment named ``NAME-<what varies>-<id>`` of the committed HEAD, each in its own clone on
the Dask worker that runs it, then shares it: its models to the DVC remote, its git ref to the
git remote (``tools/analysis/cluster.py``). With no scheduler it starts a local cluster of one
worker per core that shares this repository and its DVC cache directly; given a scheduler, the
workers use the repository's ``origin`` and its default DVC remote. Cells already pushed are
skipped, so rerunning the command after a crash runs only what is missing; rerun with more
values under the same name and the sweep grows (from the same commit). A failed cell is
reported with its error and never pushed. It refuses, one line each, uncommitted changes, a
missing or unreachable remote, and a worker whose installed packages are not the commit's pins.

``status`` prints done, running, failed and missing; ``report`` draws what
``tools/sweep_report.py`` draws (success and collapse against depth, 95% Clopper-Pearson bands,
the born-dead theory) from that sweep's experiments only, and what ``tools/outcome_report.py``
draws (how every replicate ended, from the experiments' records). docs/operations.md has the set-ups
(local, a scheduler, Slurm, Kubernetes).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from or_gate.environment import pinned_versions
from or_gate.runtime import StageError, run

from analysis import cluster, grid, outcomes, sweep

RUNNING_FOR = 30.0  # a record written longer ago than this belongs to a sweep that stopped


def start(args) -> None:
    root = Path(".").resolve()
    commit = cluster.committed_head(root)
    local = not (args.scheduler or args.scheduler_file)
    origin, dvc_remote = cluster.remotes(root, local, commit)
    cells = grid.cells(args.name, commit, args.set)
    record = grid.Record.for_run(root, args.name, commit, cells)
    record.origin = origin
    pushed = cluster.pushed_cells(root, origin, commit)
    for cell in cells:
        if cell.name in pushed and record.cells[cell.name].state != "done":
            record.cells[cell.name].state = "skipped"  # pushed before: nothing to run
    record.save(root)
    todo = [c for c in cells if record.cells[c.name].state not in ("done", "skipped")]
    grown = f" (the sweep has {len(record.cells)})" if len(record.cells) > len(cells) else ""
    print(
        f"sweep {args.name}: {len(cells)} cells of commit {commit[:8]}{grown}, "
        f"{len(cells) - len(todo)} already pushed, {len(todo)} to run"
    )
    if not todo:
        return
    client = cluster.connect(args.scheduler, args.scheduler_file, args.workers)
    if client.dashboard_link:
        print(f"sweep {args.name}: Dask dashboard {client.dashboard_link}")
    problems = cluster.worker_problems(client, pinned_versions_at(root, commit))
    if problems:
        worker, problem = next(iter(problems.items()))
        raise StageError(f"worker {worker}: {problem} (install the pins there first)")

    def spec_of(cell: grid.Cell) -> dict:
        return {
            "origin": origin,
            "commit": commit,
            "cell": cell.name,
            "ref": cell.ref(commit),
            "overrides": list(cell.overrides),
            "dvc_remote": dvc_remote,
        }

    started = time.monotonic()
    cluster.drive(client, root, record, cells, spec_of)
    states = [record.cells[c.name].state for c in cells]  # this run's cells
    finished, failed_count = sum(s in ("done", "skipped") for s in states), states.count("failed")
    print(
        f"sweep {args.name}: {finished} of {len(cells)} done in {time.monotonic() - started:.0f} s"
    )
    if failed_count:
        failed = [c.name for c in cells if record.cells[c.name].state == "failed"]
        raise StageError(f"{failed_count} cell(s) failed, none of them pushed: {failed[0]}, ...")


def pinned_versions_at(root: Path, commit: str) -> dict[str, str]:
    """The pins of the commit the cells run (its requirements.txt), not the workspace's."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        text = cluster.git(root, "show", f"{commit}:requirements.txt")
        (Path(folder) / "requirements.txt").write_text(text + "\n")
        return pinned_versions(Path(folder))


def status(args) -> None:
    root = Path(".").resolve()
    record = grid.Record.load(root, args.name)
    if record is None:
        raise StageError(f"no sweep named {args.name!r} was run from this repository")
    pushed = cluster.pushed_cells(root, record.origin, record.commit)
    alive = time.time() - record.heartbeat < RUNNING_FOR
    states = {"done": [], "running": [], "failed": [], "missing": []}
    for name, cell in record.cells.items():
        if name in pushed:
            states["done"].append(name)
        elif cell.state == "failed":
            states["failed"].append(name)
        elif cell.state == "running" and alive:
            states["running"].append(name)
        else:
            states["missing"].append(name)
    print(
        f"sweep {args.name} (commit {record.commit[:8]}): "
        + ", ".join(f"{len(names)} {state}" for state, names in states.items())
    )
    for name in states["failed"]:
        print(f"  failed {name}: {record.cells[name].error}")
    for name in states["running"]:
        print(f"  running {name} on {record.cells[name].attempts[-1]}")


def report(args) -> None:
    root = Path(".").resolve()
    chosen = cluster.sweep_experiments(root, args.name)
    sweep.write_report(sweep.variant_results(chosen), args.out_dir, args.name)
    outcomes.write_report(outcomes.sweep_outcomes(root, chosen), args.out_dir, args.name)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python tools/sweep.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    started = commands.add_parser("run", help="run the grid's missing cells")
    started.add_argument("--name", required=True)
    started.add_argument("-S", "--set", action="append", required=True, help="as dvc exp run -S")
    where = started.add_mutually_exclusive_group()
    where.add_argument("--scheduler", help="a running Dask scheduler's address")
    where.add_argument("--scheduler-file", type=Path, help="a Dask scheduler file")
    where.add_argument("--workers", type=int, help="a local cluster of this many workers")
    for name in ("status", "report"):
        sub = commands.add_parser(name)
        sub.add_argument("--name", required=True)
        if name == "report":
            sub.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    {"run": start, "status": status, "report": report}[args.command](args)


if __name__ == "__main__":
    run(main)
