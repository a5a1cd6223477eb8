"""The benchmark's scale figures: 1,000 replicates end to end, per stage, and the loop alone.

Used by ``benchmarks/bench.py``; every figure is measured in the same run as the figures it
is compared with.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPLICATES = 1000
LARGE_REPLICATES = 10_000
STEPS = 160  # training rows at batch size 1


def stage_times(args: list[str], cwd: Path, env: dict, wrapper: str) -> tuple[float, float, dict]:
    """Run ``args`` under the peak-memory wrapper, streaming its output: (wall seconds, peak
    MB, {stage: seconds from its "Running stage" line to the next one or the end})."""
    process = subprocess.Popen(
        [sys.executable, "-c", wrapper, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started, marks = time.perf_counter(), []
    for line in process.stdout:
        if line.startswith("Running stage '"):
            marks.append((line.split("'")[1], time.perf_counter() - started))
    stderr = process.communicate()[1]
    _, code, seconds, peak_kb = [s for s in stderr.splitlines() if s.startswith("@@ ")][-1].split()
    if int(code) != 0:
        raise SystemExit(f"benchmark: {' '.join(args)} failed:\n{stderr[-3000:]}")
    ends = [t for _, t in marks[1:]] + [float(seconds)] * bool(marks)
    spent = {stage: end - start for (stage, start), end in zip(marks, ends, strict=True)}
    return float(seconds), int(peak_kb) / 1024, spent


def loop_seconds(clone: Path, env: dict, wrapper: str, variant: str) -> float:
    """The training loop alone, for one variant at REPLICATES replicates and depth 10: the
    difference between training 400 and 200 epochs."""
    params = yaml.safe_load((clone / "params.yaml").read_text())
    params.update(depth=10, replicates=REPLICATES)
    seconds = {}
    with tempfile.TemporaryDirectory() as scratch:
        for epochs in (200, 400):
            params["train"]["epochs"] = epochs
            path = Path(scratch) / f"params_{epochs}.yaml"
            path.write_text(yaml.safe_dump(params))
            args = [sys.executable, "-m", "stages.train", "--params", str(path), "--variant"]
            args += [variant, "--data-dir", "data/prepared", "--model-dir"]
            args += [f"{scratch}/m{epochs}"]
            seconds[epochs] = stage_times(args, clone, env, wrapper)[0]
    return seconds[400] - seconds[200]


def per_step_us(seconds: float) -> float:
    return seconds * 1e6 / (REPLICATES * 200 * STEPS)


def measure_scale(clone: Path, results: dict, env: dict, wrapper: str) -> None:
    command = ["dvc", "exp", "run", "-S", "depth=10", "-S", f"replicates={REPLICATES}"]
    seconds, peak, stages = stage_times(command, clone, env, wrapper)
    variants = list(yaml.safe_load((clone / "params.yaml").read_text())["variants"])
    loops = {variant: loop_seconds(clone, env, wrapper, variant) for variant in variants}
    extra = seconds - results["exp_run_depth_10"]["seconds"]
    results["replicates_1000"] = {
        "seconds": seconds,
        "peak_mb": peak,
        "stage_seconds": stages,
        "loop_seconds": loops,
        "extra_seconds_over_5": extra,
        # the training loop of those 1,000 replicates: every variant's own loop
        "extra_over_loop": extra / sum(loops.values()),
        # the first estimate of it: sigmoid's loop times the number of variants
        "extra_over_sigmoid_loop_times_variants": extra / (len(loops) * loops["sigmoid"]),
        "loop_us_per_replicate_step": per_step_us(loops["sigmoid"]),
    }
    print(f"`{' '.join(command)}`: {seconds:.1f} s, peak process memory {peak:.0f} MB")
    for stage, spent in stages.items():
        print(f"  {stage}: {spent:.1f} s")
    print(f"  extra over 5 replicates: {extra:.1f} s; training loop (400 minus 200 epochs):")
    for variant, loop in loops.items():
        print(f"    {variant}: {loop:.1f} s ({per_step_us(loop):.3f} us per replicate-step)")
    print(
        f"  extra / loops {results['replicates_1000']['extra_over_loop']:.2f}; "
        f"extra / (sigmoid's loop x {len(loops)}) "
        f"{results['replicates_1000']['extra_over_sigmoid_loop_times_variants']:.2f}"
    )


def measure_large(clone: Path, results: dict, env: dict, wrapper: str) -> None:
    """10,000 replicates end to end: that it finishes, its wall time and peak memory."""
    command = ["dvc", "exp", "run", "-S", "depth=10", "-S", f"replicates={LARGE_REPLICATES}"]
    seconds, peak, stages = stage_times(command, clone, env, wrapper)
    results["replicates_10000"] = {"seconds": seconds, "peak_mb": peak, "stage_seconds": stages}
    print(f"`{' '.join(command)}`: {seconds:.1f} s, peak process memory {peak:.0f} MB")
    for stage, spent in stages.items():
        print(f"  {stage}: {spent:.1f} s")
