"""dvc.yaml is the wiring diagram: each stage runs one script, depends on all the code it runs
(and on nothing the tools run), and lists exactly the params it reads; only train and evaluate
load TensorFlow."""

from __future__ import annotations

import ast
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import REPO, quiet_env
from pydantic import BaseModel

STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
LIBRARY = "or_gate"


def definition(stage: str) -> dict:
    return STAGES[stage].get("do", STAGES[stage])


def script_of(stage: str) -> str:
    """The stage's script: ``python -E -m stages.train ...`` -> ``stages/train.py``."""
    command = definition(stage)["cmd"].split()
    assert command[:3] == ["python", "-E", "-m"], "stages run as modules of their checkout"
    return command[3].replace(".", "/") + ".py"


def module_file(name: str) -> str:
    """``or_gate.files.data`` -> ``or_gate/files/data.py`` (or a package's ``__init__.py``)."""
    path = name.replace(".", "/")
    return f"{path}/__init__.py" if (REPO / path).is_dir() else f"{path}.py"


def imported_modules(tree: ast.Module) -> set[str]:
    """Project files (or_gate's and the tools' analysis) one module imports, outside
    ``if TYPE_CHECKING:`` blocks."""
    skip = {
        id(node)
        for parent in ast.walk(tree)
        if isinstance(parent, ast.If) and getattr(parent.test, "id", "") == "TYPE_CHECKING"
        for node in ast.walk(parent)
    }
    ours = (LIBRARY, "analysis")
    names = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ours:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.split(".")[0] in ours}
    files = set()
    for name in names:
        parts = name.split(".")
        if parts[0] == "analysis":
            parts = ["tools", *parts]
        for depth in range(1, len(parts) + 1):  # a package's __init__ runs before its modules
            candidate = module_file(".".join(parts[:depth]))
            if (REPO / candidate).is_file():
                files.add(candidate)
    return files


def code_run_by(script: str) -> set[str]:
    """Every project file a script runs, through the modules it imports (the package's
    __init__.py runs first), and the data files the library reads."""
    found, todo = set(), [script, "or_gate/__init__.py"]
    while todo:
        module = todo.pop()
        found.add(module)
        todo += imported_modules(ast.parse((REPO / module).read_text())) - found
    return found | {str(p.relative_to(REPO)) for p in (REPO / LIBRARY).glob("*.json")}


def covered_by(path: str, deps: set[str]) -> bool:
    return any(path == dep or path.startswith(dep.rstrip("/") + "/") for dep in deps)


@pytest.mark.parametrize("stage", list(STAGES))
def test_each_stage_depends_on_all_the_code_it_runs(stage):
    deps = set(definition(stage)["deps"])
    run_code = code_run_by(script_of(stage))
    assert {path for path in run_code if not covered_by(path, deps)} == set()
    assert not any(path.startswith("tools/") for path in run_code), "a stage runs tool code"
    assert "requirements.txt" in deps, "the pinned versions decide every stage's bytes"


def test_stages_holds_exactly_one_script_per_stage():
    scripts = sorted(p.name for p in (REPO / "stages").glob("*.py") if p.name != "__init__.py")
    assert scripts == sorted(Path(script_of(stage)).name for stage in STAGES)


class Recorder:
    """Wraps the validated params and records every dotted key the code reads."""

    def __init__(self, value, key: str, log: set[str]):
        self._value, self._key, self._log = value, key, log

    def _child(self, value, key: str):
        if isinstance(value, BaseModel | dict):
            return Recorder(value, key, self._log)
        self._log.add(key)
        return value

    def __getattr__(self, name: str):
        return self._child(getattr(self._value, name), f"{self._key}.{name}".lstrip("."))

    def __getitem__(self, name: str):  # variants[name]
        return self._child(self._value[name], f"{self._key}.{name}")

    def __contains__(self, name: str) -> bool:
        self._log.add(f"{self._key}.{name}")
        return name in self._value

    def __iter__(self):  # the whole mapping
        self._log.add(self._key)
        return iter(self._value)

    def __len__(self):
        self._log.add(self._key)
        return len(self._value)


def covered(key: str, listed: set[str]) -> bool:
    return any(key == item or key.startswith(item + ".") for item in listed)


STAGE_ARGS = {  # each stage's arguments, its outputs redirected under {out}
    "validate": ["--raw-dir", "data/raw", "--out", "{out}/validated.txt"],
    "prepare": ["--raw-dir", "data/raw", "--out-dir", "{out}/prepared"],
    "train@sigmoid": [
        *["--variant", "sigmoid", "--data-dir", "data/prepared"],
        *["--model-dir", "{out}/models"],
    ],
    "evaluate": [
        *["--data-dir", "data/prepared", "--models-dir", "models"],
        *["--metrics-dir", "{out}/metrics", "--evaluation-dir", "{out}/evaluation"],
    ],
    "plot": [
        *["--models-dir", "models", "--evaluation-dir", "data/evaluation"],
        *["--figures-dir", "{out}/figures", "--charts-dir", "{out}/charts"],
    ],
}


@pytest.mark.e2e
@pytest.mark.parametrize("stage", [stage for stage in STAGE_ARGS if stage != "validate"])
def test_each_stage_lists_exactly_the_params_it_reads(
    stage, reproduced_repo, tmp_path, monkeypatch
):
    import or_gate.params

    log: set[str] = set()
    real = or_gate.params.load_params
    monkeypatch.setattr(or_gate.params, "load_params", lambda path: Recorder(real(path), "", log))
    monkeypatch.chdir(reproduced_repo)
    name, _, variant = stage.partition("@")
    script = runpy.run_path(str(REPO / script_of(name)), run_name="recorded")
    script["main"]([a.format(out=tmp_path) for a in STAGE_ARGS[stage]])
    listed = {p.replace("${key}", variant) for p in definition(name).get("params", [])}
    assert log, "the stage read no params at all?"
    assert {key for key in log if not covered(key, listed)} == set(), "read but not listed"
    assert {item for item in listed if not any(covered(k, {item}) for k in log)} == set(), (
        "listed but never read"
    )


@pytest.mark.e2e
@pytest.mark.parametrize("stage", ["validate", "prepare", "plot"])
def test_only_train_and_evaluate_load_tensorflow(stage, reproduced_repo, tmp_path):
    args = [a.format(out=tmp_path) for a in STAGE_ARGS[stage]]
    code = (
        "import runpy, sys; sys.argv = sys.argv[1:]; "
        "runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True); "
        "print('tensorflow loaded:', 'tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, f"stages.{stage}", *args],
        cwd=reproduced_repo,
        capture_output=True,
        text=True,
        env=quiet_env(),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "tensorflow loaded: False"


@pytest.mark.e2e
def test_an_edit_to_docs_or_tools_reruns_nothing_and_one_to_the_pins_reruns_every_stage(
    mini_repo, tmp_path
):
    from helpers import duplicate, run

    repo = duplicate(mini_repo, tmp_path / "repo")
    for path in ("README.md", "docs/science.md", "tools/analysis/gate.py", "tests/helpers.py"):
        (repo / path).write_text((repo / path).read_text() + "\n# an edit\n")
    assert run(["dvc", "status"], repo).stdout.strip() == "Data and pipelines are up to date."
    pins = repo / "requirements.txt"
    pins.write_text(pins.read_text() + "# an edit\n")
    changed = yaml.safe_load(run(["dvc", "status", "--json"], repo).stdout)
    assert set(changed) == set(STAGES) - {"train"} | {"train@sigmoid"}
