"""DVC's own floor for target 4: a no-op ``dvc repro`` against ``dvc status`` in a project of
trivial stages (one ``cp`` each, as many stages and dependencies as the real pipeline).

A no-op repro does more than status whatever the stages run: it imports networkx to build
the stage graph and edits the stage lock file more often. Measured beside the real
pipeline, in the same run and with the same timer, this separates DVC's cost from the
project's.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml


def pipeline_shape(repo: Path) -> tuple[int, int]:
    """(stages, most dependencies of one stage) of ``repo``'s dvc.lock."""
    stages = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    return len(stages), max(len(stage.get("deps", [])) for stage in stages.values())


def trivial_project(target: Path, stages: int, deps: int, env: dict) -> None:
    """A git + DVC project of ``stages`` chained ``cp`` stages, each with ``deps`` deps."""
    (target / "src").mkdir(parents=True)
    for index in range(deps):
        (target / "src" / f"module_{index}.py").write_text(f"x = {index}\n")
    pipeline = {}
    for number in range(stages):
        first = f"out_{number - 1}.txt" if number else "src/module_0.py"
        pipeline[f"stage_{number}"] = {
            "cmd": f"cp {first} out_{number}.txt",
            "deps": [first, *(f"src/module_{i}.py" for i in range(1, deps))],
            "outs": [f"out_{number}.txt"],
        }
    (target / "dvc.yaml").write_text(yaml.safe_dump({"stages": pipeline}))
    commit = ["git", "-c", "user.name=benchmark", "-c", "user.email=benchmark@example.invalid"]
    commit += ["commit", "-q", "-m", "trivial pipeline"]
    commands = (["git", "init", "-q"], ["dvc", "init", "-q"], ["dvc", "repro", "-q"])
    for command in (*commands, ["git", "add", "-A"], commit):  # committed, as the real clone
        subprocess.run(command, cwd=target, env=env, check=True, capture_output=True)


def measure_dvc_floor(
    clone: Path, results: dict, env: dict, median_seconds: Callable[[list[str], Path], float]
) -> None:
    """``median_seconds`` is the benchmark's own timer, so that the trivial project is timed
    exactly as the pipeline is."""
    stages, deps = pipeline_shape(clone)
    with tempfile.TemporaryDirectory() as scratch:
        trivial_project(Path(scratch), stages, deps, env)
        repro = median_seconds(["dvc", "repro"], Path(scratch))
        status = median_seconds(["dvc", "status"], Path(scratch))
    results["dvc_floor"] = {
        "stages": stages,
        "deps": deps,
        "noop_repro_seconds": repro,
        "status_seconds": status,
    }
    print(
        f"  DVC alone, {stages} trivial stages of {deps} deps: no-op `dvc repro` {repro:.2f} s, "
        f"`dvc status` {status:.2f} s, {repro / status:.2f}x"
    )
