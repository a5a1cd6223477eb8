"""dvc.yaml lists, for every stage, each project module its script imports."""

from __future__ import annotations

import ast

import pytest
import yaml

from tests.conftest import REPO

# errors.py only formats failures: a change there cannot change any output.
NOT_A_RESULT = {"stages/errors.py"}


def imported_modules(path) -> set[str]:
    """stages/*.py files a module imports, directly or through the modules it imports."""
    found, todo = set(), [path]
    while todo:
        tree = ast.parse((REPO / todo.pop()).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stages."):
                name = "stages/" + node.module.split(".", 1)[1] + ".py"
                if name not in found:
                    found.add(name)
                    todo.append(name)
    return found - NOT_A_RESULT


@pytest.mark.parametrize("stage", ["validate", "prepare", "train", "evaluate", "plot"])
def test_each_stage_depends_on_the_code_it_runs(stage):
    definition = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][stage]
    definition = definition.get("do", definition)
    module = "stages/" + definition["cmd"].split("-m stages.", 1)[1].split()[0] + ".py"
    deps = set(definition["deps"])
    assert module in deps
    assert imported_modules(module) <= deps, imported_modules(module) - deps
