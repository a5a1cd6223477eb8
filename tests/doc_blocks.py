"""Every command block of README.md and docs/ (fenced ```bash), and what runs it.

A block is known by its page and its first command. Each is run as written by the test named
in RUN_BY, or listed in NOT_RUN with the reason it cannot run here; `tests/test_docs.py`
checks that no block is in neither, so a new block cannot go untried. The long ones run with
small params: SMALLER maps each long value a block names to the small one the test uses (the
same commands otherwise).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Block:
    page: str
    heading: str  # the nearest heading above it
    script: str  # as written

    @property
    def commands(self) -> list[str]:
        """One per command: continuation lines joined, comments and blank lines dropped."""
        joined = re.sub(r"\\\n\s*", " ", self.script)
        lines = (re.sub(r"\s+#.*$", "", line).strip() for line in joined.splitlines())
        return [line for line in lines if line and not line.startswith("#")]

    @property
    def key(self) -> tuple[str, str]:
        """(page, the first 40 characters of its first command): short, and unique."""
        return self.page, self.commands[0][:40]


def pages() -> list[str]:
    return ["README.md", *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md"))]


def fences(page: str) -> list[tuple[str, str, str]]:
    """(language, heading, body) of every fenced block of ``page``."""
    found, heading = [], ""
    lines = (REPO / page).read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("```"):
            end = lines.index("```", i + 1)
            found.append((line[3:], heading, "\n".join(lines[i + 1 : end]) + "\n"))
            i = end
        i += 1
    return found


def blocks(page: str | None = None, heading: str | None = None) -> list[Block]:
    """The bash blocks of one page (or all), optionally only those under ``heading``."""
    return [
        Block(name, under, body)
        for name in ([page] if page else pages())
        for language, under, body in fences(name)
        if language == "bash" and (heading is None or under == heading)
    ]


# Long values in the docs' commands and the small ones the tests run them with.
SMALLER = {
    "replicates=1000": "replicates=8",
    "replicates=256": "replicates=2",
    "--replicates 256": "--replicates 2",
    "--depths 12": "--depths 2",
    "range(1,31)": "range(1,4)",
    "range(1,19)": "range(1,3)",
    "range(1,13)": "range(1,3)",
    "range(2,11)": "range(2,4)",
    "range(1,11)": "range(1,3)",
    "train.epochs=1000": "train.epochs=4",
    "depth=2,5,10,20": "depth=2,3",
    "depth=1,2,3,4,5,6,7,8,10,12,15,20,25,30": "depth=1,2",
}


def smaller(script: str, **placeholders: str) -> str:
    """``script`` with its long values made small and its placeholders filled in."""
    for long, small in {**SMALLER, **placeholders}.items():
        script = script.replace(long, small)
    return script


# page -> {the first 40 characters of a block's first command: the test that runs it}
RUN_BY = {
    "README.md": {
        "python -m pip install -e . && dvc repro": "test_ci.py::"
        "test_ci_run_installs_as_the_readme_says_and_gates",
        "dvc exp run --temp -n depth-10 -S depth=": "test_readme_explore",
        "python tools/sweep.py run --name scan -S": "test_readme_sweep",
    },
    "docs/benchmark.md": {
        "python benchmarks/bench.py": "test_benchmarks",
        "python benchmarks/sweep_engines.py --dep": "test_benchmarks",
    },
    "docs/fixes.md": {
        "python tools/sweep.py run --name fixes -": "test_fixes",
        "python tools/sweep.py run --name input_l": "test_fixes",
        "python tools/sweep.py run --name sign_fl": "test_fixes",
        "python tools/sweep.py run --name atlas -": "test_fixes",
    },
    "docs/sigmoid.md": {
        "python tools/sweep.py run --name sigmoid": "test_fixes",
    },
    "docs/literature.md": {
        "python tools/sweep.py run --name widths ": "test_fixes",
        "python tools/sweep.py run --name lu_abs ": "test_fixes",
        "python tools/sweep.py run --name lu_abs_": "test_fixes",
        "python tools/literature_report.py --out-": "test_literature.py::"
        "test_the_docs_command_writes_the_committed_comparison_from_the_committed_sources",
    },
    "docs/operations.md": {
        "python tools/export_model.py --model-dir": "test_export_and_gate",
        "dvc exp run --queue -n too-deep -S repli": "test_queue_failure_and_clean_up",
        "dvc queue remove --failed": "test_queue_failure_and_clean_up",
        "dvc remote add -d store /mnt/team/or-gat": "test_sharing_and_cluster",
        'python -m pip install -e ".[cluster]"': "test_sharing_and_cluster",
        "git push": "test_sharing_and_cluster",
        "git clone <url> colleague && cd colleagu": "test_sharing_and_cluster",
        "python tools/check_metrics.py --baseline": "test_export_and_gate",
    },
    "docs/recovery.md": {
        "rm -f .git/index.lock": "test_recovery_e2e.py::recovery_commands",
    },
}

# page -> {the first 40 characters of a block's first command: why no test can run it here}
NOT_RUN = {
    "docs/sigmoid.md": {
        "for cell in 1e-3:3,4,5,6,7 1e-5:4,5,6,7,": "seven sweeps, 35 cells: the sweep command "
        "it repeats runs in test_fixes, and compare's scoring in tests/test_registration.py",
        "python tools/sigmoid_gate.py timeline": "four cells, about 4 minutes of one core: "
        "tests/test_sigmoid_timeline.py trains the first with the same command and compares "
        "the committed rows",
        "for eps in 1e-3 1e-5 1e-7 1e-9 1e-11 1e-": "fourteen sweeps, 70 cells: the sweep "
        "command they repeat runs in test_fixes, and compare's scoring in "
        "tests/test_registration.py",
        "while read -r name eps depths epochs lr;": "45 runs, 214 cells, about 90 minutes of "
        "two cores: the sweep command runs in test_fixes, a sweep's growth in "
        "tests/test_sweep.py, and compare's scoring in tests/test_registration.py",
        "while read -r name lr epochs eps depths;": "16 runs, 81 cells, about 26 "
        "minutes of two cores: the sweep command runs in test_fixes, and compare's "
        "scoring and figure in tests/test_registration.py",
        "while read -r name eps lr epochs depths;": "15 runs, 79 cells, about 27 "
        "minutes of two cores: the sweep command runs in test_fixes, and compare's "
        "scoring and figure in tests/test_registration.py",
        "while read -r name epochs lr eps depths;": "10 runs, 59 cells, about 21 "
        "minutes of two cores: the sweep command runs in test_fixes, and compare's "
        "scoring and figure in tests/test_registration.py",
        "while read -r name lr eps epochs depths;": "7 runs, 63 cells, about 19 "
        "minutes of two cores: the sweep command runs in test_fixes, and compare's "
        "scoring and figure in tests/test_registration.py",
    },
    "docs/mutation.md": {
        "python -m pip install mutmut==3.8.1": "hours: mutmut runs the suite once per mutant; "
        "the page reports what it measured",
        "while read -r name; do": "needs mutants/ from a mutmut run and a "
        "names list; minutes to hours, one test run per mutant",
        'own="tests/test_training.py tests/test_t': "needs mutants/ from a mutmut run and a "
        "names list; hours: one training test run per mutant",
    },
    "docs/operations.md": {
        "dask scheduler --scheduler-file ~/schedu": "needs a Slurm cluster (sbatch); "
        "its sweep command runs against a real scheduler in test_sharing_and_cluster",
        'python -c "from dask_jobqueue import SLU': "needs a Slurm cluster "
        "that dask-jobqueue submits to",
        'python -c "from dask_kubernetes.operator': "needs a Kubernetes "
        "cluster with the Dask operator",
    },
}
