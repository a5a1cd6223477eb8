"""Benchmark: the project's speed and memory targets, measured side by side in one run.

    python benchmarks/bench.py [--skip-sweep] [--skip-large] [--out benchmarks/results.json]

Measures, on this machine, in this order:

1. a bare ``python -c "import tensorflow"`` (median of 3): the floor every TF stage pays;
2. training throughput of the write-up's ``model.fit(batch_size=1)`` (a few epochs, steady
   state) against the project's stacked XLA trainer on the same network and data, per
   optimizer step of one replicate (with and without the one-off compile);
3. a fresh ``dvc repro -f`` with default params in a fresh ``git clone`` (empty DVC cache),
   and the peak resident memory of any process it ran;
4. a no-op ``dvc repro`` and ``dvc status`` (median of 3 each), in the clone and in a project
   of as many trivial stages (``benchmarks/dvc_floor.py``: DVC's own floor);
5. ``dvc exp run -S depth=10`` and its peak memory;
6. the same at 1,000 replicates, per stage, against the training loop alone (400 minus 200
   epochs of each variant), and at 10,000 replicates (``--skip-large`` leaves it out);
7. a sweep of 12 depths, ``dvc exp run --queue -S 'depth=range(1,13)'`` then
   ``dvc queue start -j 2``, until every experiment has finished.

It prints every figure and whether each target holds, and writes them to a JSON file. This is
a benchmark, not a test: the machine is shared and noisy, so targets are ratios measured in
the same run where they can be.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from dvc_floor import measure_dvc_floor
from scale import measure_large, measure_scale, stage_times

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", DVC_NO_ANALYTICS="1")

# The measured child reports its own peak memory and that of everything it waited for.
MEASURED = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:]).returncode
seconds = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"@@ {code} {seconds} {peak_kb}", file=sys.stderr)
"""


def measured(args: list[str], cwd: Path, quiet: bool = True) -> tuple[float, float]:
    """Run ``args``; return (wall seconds, peak RSS in MB of any process it ran)."""
    result = subprocess.run(
        [sys.executable, "-c", MEASURED, *args],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.PIPE,
        text=True,
    )
    report = [line for line in result.stderr.splitlines() if line.startswith("@@ ")][-1]
    _, code, seconds, peak_kb = report.split()
    if int(code) != 0:
        sys.stderr.write(result.stderr[-3000:])
        raise SystemExit(f"benchmark: {' '.join(args)} failed with exit code {code}")
    return float(seconds), int(peak_kb) / 1024


def median_seconds(args: list[str], cwd: Path, runs: int = 3) -> float:
    return statistics.median(measured(args, cwd)[0] for _ in range(runs))


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        memory_kb = 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024**2, 1),
        "python": platform.python_version(),
        **{name: metadata.version(name) for name in ("tensorflow", "keras", "dvc", "numpy")},
    }


# -- DVC ---------------------------------------------------------------------------------------
def start_queue(repo: Path, jobs: int, env: dict | None = None) -> None:
    """``dvc queue start -j jobs`` in ``repo``, its output to ``.dvc/tmp/queue-start.log``,
    never to a pipe: the worker daemons it starts inherit its stdout and stderr, and a worker
    that never exits (DVC's monitor can shut one down while its task still runs,
    treeverse/dvc-task#77; it happened in a run of .ci/run's slow tests) would hold a pipe
    open and its reader waiting forever, though every experiment had finished. The tests
    start their queues here too."""
    log = repo / ".dvc" / "tmp" / "queue-start.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = ["dvc", "queue", "start", "-j", str(jobs)]
    with log.open("w", encoding="utf-8") as output:
        done = subprocess.run(
            command, cwd=repo, env=env or ENV, stdout=output, stderr=subprocess.STDOUT
        )
    if done.returncode != 0:
        raise SystemExit(f"benchmark: {' '.join(command)} failed:\n{log.read_text()}")


def wait_for_queue(repo: Path, poll: float = 5.0, timeout: float = 7200.0) -> None:
    """Poll ``dvc queue status`` until nothing is queued or running (at most ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        status = subprocess.run(
            ["dvc", "queue", "status"], cwd=repo, env=ENV, capture_output=True, text=True
        ).stdout
        if " Failed" in status:
            raise SystemExit(f"benchmark: a queued experiment failed:\n{status}")
        if " Queued" not in status and " Running" not in status:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"benchmark: the queue is not done after {timeout:.0f} s:\n{status}")
        time.sleep(poll)


def verdict(value: float, limit: float, at_least: bool = False) -> str:
    ok = value >= limit if at_least else value <= limit
    return "PASS" if ok else "FAIL"


def measure_tensorflow_import(results: dict) -> float:
    import_seconds = [measured([sys.executable, "-c", "import tensorflow"], REPO) for _ in range(3)]
    tf_import = statistics.median(s for s, _ in import_seconds)
    results["tensorflow_import_seconds"] = tf_import
    print(
        f"bare `import tensorflow`: {tf_import:.2f} s (median of 3), peak "
        f"{max(m for _, m in import_seconds):.0f} MB"
    )
    return tf_import


def measure_throughput(results: dict) -> dict:
    child = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/throughput.py")],
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    speed = json.loads(child.stdout.strip().splitlines()[-1])
    results["throughput"] = speed
    print(
        f"model.fit(batch_size=1): {speed['fit_seconds_per_step'] * 1e3:.2f} ms/step; "
        f"stacked trainer: {speed['trainer_seconds_per_replicate_step'] * 1e6:.2f} us per "
        f"replicate-step ({speed['trainer_seconds_per_replicate_step_with_compile'] * 1e6:.2f} us "
        f"with its {speed['trainer_compile_seconds']:.1f} s compile); speed-up "
        f"{speed['speedup_steady']:.0f}x steady, {speed['speedup_with_compile']:.0f}x with compile"
    )
    return speed


def measure_dvc(clone: Path, results: dict) -> None:
    """A fresh repro, no-op repro and status, and one deep experiment, in a fresh clone."""
    seconds, peak = measured(["dvc", "repro", "-f"], clone)
    results["fresh_repro"] = {"seconds": seconds, "peak_mb": peak}
    print(f"fresh `dvc repro -f` (empty cache): {seconds:.1f} s, peak process memory {peak:.0f} MB")
    changed = git("status", "--porcelain", cwd=clone).strip()
    results["fresh_repro"]["bytes_match_committed"] = not changed
    print(f"  every tracked byte equals the committed one: {not changed}")
    noop = median_seconds(["dvc", "repro"], clone)
    status = median_seconds(["dvc", "status"], clone)
    results["noop_repro_seconds"], results["status_seconds"] = noop, status
    print(f"no-op `dvc repro`: {noop:.2f} s; `dvc status`: {status:.2f} s")
    measure_dvc_floor(clone, results, ENV, median_seconds)
    seconds, peak, stages = stage_times(
        ["dvc", "exp", "run", "-S", "depth=10"], clone, ENV, MEASURED
    )
    results["exp_run_depth_10"] = {"seconds": seconds, "peak_mb": peak, "stage_seconds": stages}
    print(f"`dvc exp run -S depth=10`: {seconds:.1f} s, peak process memory {peak:.0f} MB")
    print("  " + ", ".join(f"{stage} {spent:.1f} s" for stage, spent in stages.items()))


def measure_sweep(clone: Path, results: dict) -> None:
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=clone, check=True)
    subprocess.run(["dvc", "checkout", "-q"], cwd=clone, env=ENV, check=True)
    queue = ["dvc", "exp", "run", "--queue", "-S", "depth=range(1,13)", "-S", "replicates=256"]
    subprocess.run(queue, cwd=clone, env=ENV, check=True, capture_output=True)
    started = time.perf_counter()
    start_queue(clone, jobs=2)
    wait_for_queue(clone)
    results["sweep_12_depths_seconds"] = time.perf_counter() - started
    seconds = results["sweep_12_depths_seconds"]
    print(f"sweep of 12 depths x 256 replicates, `dvc queue start -j 2`: {seconds:.0f} s")
    subprocess.run(["dvc", "queue", "stop"], cwd=clone, env=ENV, capture_output=True)


def targets(results: dict, tf_import: float, speed: dict) -> list[tuple]:
    """(name, value, limit, at_least, unit) of every target this run measured."""
    peaks = [results["fresh_repro"]["peak_mb"], results["exp_run_depth_10"]["peak_mb"]]
    found = [
        (
            "0. fresh repro equals the committed bytes",
            results["fresh_repro"]["bytes_match_committed"],
            1,
            True,
            "",
        ),
        (
            "1. trainer throughput vs model.fit (with compile)",
            speed["speedup_with_compile"],
            100,
            True,
            "x",
        ),
        (
            "2. fresh dvc repro / bare TensorFlow import",
            results["fresh_repro"]["seconds"] / tf_import,
            7,
            False,
            "x",
        ),
        ("3a. dvc exp run -S depth=10", results["exp_run_depth_10"]["seconds"], 90, False, "s"),
        (
            "4. no-op dvc repro / dvc status",
            results["noop_repro_seconds"] / results["status_seconds"],
            1.3,
            False,
            "x",
        ),
        ("5. peak memory of any stage", max(peaks), 1536, False, "MB"),
    ]
    if "sweep_12_depths_seconds" in results:
        sweep = results["sweep_12_depths_seconds"]
        found.insert(4, ("3b. sweep, 12 depths x 256 replicates, -j 2", sweep, 600, False, "s"))
    scale = results["replicates_1000"]
    extra, step = scale["extra_over_loop"], scale["loop_us_per_replicate_step"]
    found += [
        ("6. extra time of 1000 over 5 replicates / loops", extra, 1.25, False, "x"),
        ("7. sigmoid loop per replicate-step, depth 10", step, 0.15, False, "us"),
        ("8. peak memory at 1000 replicates", scale["peak_mb"], 1536, False, "MB"),
    ]
    if "replicates_10000" in results:
        large = results["replicates_10000"]["peak_mb"]
        found.append(("9. peak memory at 10000 replicates", large, 4096, False, "MB"))
    return found


def report(results: dict, found: list[tuple]) -> None:
    results["targets"] = []
    print("\ntarget                                              measured     limit   verdict")
    for name, value, limit, at_least, unit in found:
        verdict_text = verdict(float(value), limit, at_least)
        results["targets"].append(
            {
                "target": name,
                "value": value,
                "limit": limit,
                "at_least": at_least,
                "unit": unit,
                "verdict": verdict_text,
            }
        )
        bound = ">=" if at_least else "<="
        print(f"{name:50s} {float(value):9.2f} {unit:<3s} {bound} {limit:<6g} {verdict_text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-sweep", action="store_true", help="leave out the 12-depth sweep")
    parser.add_argument(
        "--skip-large", action="store_true", help="leave out the 10,000-replicate run"
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results.json")
    args = parser.parse_args()
    results: dict = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M %Z")}
    print(f"machine: {results['machine']}")
    tf_import = measure_tensorflow_import(results)
    speed = measure_throughput(results)
    workdir = Path(tempfile.mkdtemp(prefix="or-gate-bench-"))
    try:
        clone = workdir / "clone"
        git("clone", "-q", str(REPO), str(clone), cwd=workdir)
        git("config", "user.name", "benchmark", cwd=clone)  # experiments are git commits
        git("config", "user.email", "benchmark@example.invalid", cwd=clone)
        measure_dvc(clone, results)
        measure_scale(clone, results, ENV, MEASURED)
        if not args.skip_large:
            measure_large(clone, results, ENV, MEASURED)
        if not args.skip_sweep:
            measure_sweep(clone, results)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(results, targets(results, tf_import, speed))
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
