"""dvc.yaml lists, for every stage, each project module its script imports."""

from __future__ import annotations

import ast

import pytest
import yaml

from tests.conftest import REPO

# errors.py only formats failures: a change there cannot change any output.
NOT_A_RESULT = {"stages/errors.py"}


def project_imports(tree: ast.Module) -> set[str]:
    """stages/*.py files one module's ``from stages... import ...`` lines name."""
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("stages"):
            continue
        if node.module == "stages":  # from stages import numerics
            names |= {f"stages/{alias.name}.py" for alias in node.names}
        else:
            names.add("stages/" + node.module.split(".", 1)[1] + ".py")
    return names


def imported_modules(path) -> set[str]:
    """stages/*.py files a module runs, directly or through the modules it imports; the
    package's __init__.py runs first in every stage process."""
    found, todo = set(), [path, "stages/__init__.py"]
    while todo:
        module = todo.pop()
        found.add(module)
        todo += project_imports(ast.parse((REPO / module).read_text())) - found
    return found - NOT_A_RESULT - {path}


@pytest.mark.parametrize("stage", ["validate", "prepare", "train", "evaluate", "plot"])
def test_each_stage_depends_on_the_code_it_runs(stage):
    definition = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][stage]
    definition = definition.get("do", definition)
    module = "stages/" + definition["cmd"].split("-m stages.", 1)[1].split()[0] + ".py"
    deps = set(definition["deps"])
    assert module in deps
    assert imported_modules(module) <= deps, imported_modules(module) - deps
