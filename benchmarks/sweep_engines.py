"""Benchmark: the same sweep on DVC's queue and on the project's Dask sweep, side by side.

    python benchmarks/sweep_engines.py [--depths 12] [--replicates 256] [--out FILE]

Each engine in its own fresh clone of this repository (empty DVC cache, so neither finds the
other's results in a cache), in this order:

1. ``python tools/sweep.py run -S 'depth=range(1,D+1)' -S replicates=R`` on the local Dask
   cluster (one worker per core): each cell cloned, run as a named experiment and pushed;
   its clone, run and push seconds come from the sweep's own record;
2. ``dvc exp run --queue`` of the same grid, then ``dvc queue start -j <cores>``, until done;
3. ``python tools/sweep.py report`` of the Dask sweep (what a user does next: with the local
   cluster the experiments already are in this repository, so there is nothing to pull; the
   report's own time is printed beside it).

It prints both wall times, their ratio and each cell's overhead (clone + push over its run),
and merges the figures into ``benchmarks/results.json`` under ``sweep_engines``. Both engines
run as many cells at a time as the machine has cores, so the ratio compares the engines, not
the parallelism. The two sweeps run the same commit with the same params.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# this folder's speed benchmark: its environment for dvc, its queue start and its poll
from bench import ENV, start_queue, wait_for_queue

REPO = Path(__file__).resolve().parents[1]
SWEEP = "bench"


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    # the clone's own library (a tool refuses to run another checkout's code)
    env = dict(ENV, PYTHONPATH=str(cwd))
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"benchmark: {' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


def measure(clones: tuple[Path, Path], depths: int, replicates: int, workers: int) -> dict:
    clone, queued = clones
    grid = ["-S", f"depth=range(1,{depths + 1})", "-S", f"replicates={replicates}"]
    sweep = [sys.executable, "tools/sweep.py"]
    dask_seconds = timed([*sweep, "run", "--name", SWEEP, *grid, "--workers", str(workers)], clone)
    print(f"Dask local cluster ({workers} workers): {dask_seconds:.0f} s", flush=True)
    record = json.loads((clone / ".dvc/tmp/sweeps" / f"{SWEEP}.json").read_text())
    phases = [cell["seconds"] for cell in record["cells"].values()]
    overheads = [(p.get("clone", 0) + p.get("push", 0)) / p["run"] for p in phases]
    report_seconds = timed([*sweep, "report", "--name", SWEEP, "--out-dir", "bench-report"], clone)

    queue_seconds = timed(["dvc", "exp", "run", "--queue", *grid], queued)
    started = time.perf_counter()
    start_queue(queued, workers, env=dict(ENV, PYTHONPATH=str(queued)))
    wait_for_queue(queued, poll=2.0)
    queue_seconds = time.perf_counter() - started + queue_seconds
    subprocess.run(["dvc", "queue", "stop"], cwd=queued, env=ENV, capture_output=True)
    print(f"dvc queue start -j {workers}: {queue_seconds:.0f} s (queueing included)", flush=True)
    return {
        "cells": depths,
        "replicates": replicates,
        "workers": workers,
        "dask_seconds": dask_seconds,
        "queue_seconds": queue_seconds,
        "dask_over_queue": dask_seconds / queue_seconds,
        "cell_seconds": {
            phase: statistics.mean(p.get(phase, 0.0) for p in phases)
            for phase in ("clone", "run", "push")
        },
        "overhead_median": statistics.median(overheads),
        "overhead_max": max(overheads),
        "report_seconds": report_seconds,
    }


def print_figures(found: dict) -> None:
    cell = found["cell_seconds"]
    print(
        f"\n{found['cells']} depths x {found['replicates']} replicates, "
        f"{found['workers']} cells at a time"
    )
    print(f"  Dask sweep            {found['dask_seconds']:7.1f} s")
    print(f"  dvc queue             {found['queue_seconds']:7.1f} s")
    verdict = "PASS" if found["dask_over_queue"] <= 1.0 else "FAIL"
    print(f"  Dask / queue          {found['dask_over_queue']:7.2f} x  (<= 1.00: {verdict})")
    print(
        f"  a Dask cell, mean     clone {cell['clone']:.1f} s, run {cell['run']:.1f} s, "
        f"push {cell['push']:.1f} s"
    )
    verdict = "PASS" if found["overhead_max"] < 0.10 else "FAIL"
    print(
        f"  overhead (clone + push) / run: median {100 * found['overhead_median']:.1f}%, "
        f"worst {100 * found['overhead_max']:.1f}%  (< 10%: {verdict})"
    )
    print(f"  report of the sweep   {found['report_seconds']:7.1f} s (nothing to pull locally)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depths", type=int, default=12)
    parser.add_argument("--replicates", type=int, default=256)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results.json")
    args = parser.parse_args()
    workers = os.cpu_count() or 1
    workdir = Path(tempfile.mkdtemp(prefix="or-gate-engines-"))
    try:
        clones = (workdir / "dask", workdir / "queue")
        for clone in clones:
            subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
            for key, value in (("user.name", "bench"), ("user.email", "bench@example.invalid")):
                subprocess.run(["git", "config", key, value], cwd=clone, check=True)
        found = measure(clones, args.depths, args.replicates, workers)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_figures(found)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results["sweep_engines"] = {**found, "date": time.strftime("%Y-%m-%d %H:%M %Z")}
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out} (sweep_engines)")


if __name__ == "__main__":
    main()
