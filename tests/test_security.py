"""Security by construction: no pickle, safe YAML, Keras safe mode, no shell, no eval.

The code is read as Python (its syntax tree), not searched as text, so an alias
(``from yaml import load``), another spelling (``yaml.full_load``) or a keyword argument
split over lines is still found. Variant names with shell characters are refused end to end
in tests/test_recovery_e2e.py.
"""

from __future__ import annotations

import ast
import re

import pytest
from helpers import REPO

SOURCES = sorted(
    p
    for folder in ("or_gate", "stages", "tools", "benchmarks")
    for p in REPO.glob(f"{folder}/**/*.py")
)
UNSAFE_MODULES = {"pickle", "cPickle", "dill", "shelve", "marshal"}
UNSAFE_CALLS = {
    "yaml.load",
    "yaml.unsafe_load",
    "yaml.full_load",
    "yaml.load_all",
    "yaml.unsafe_load_all",
    "yaml.full_load_all",
    "eval",
    "exec",
    "os.system",
    "os.popen",
}
# ruamel.yaml (how the project reads YAML, as DVC does) constructs Python objects only with
# typ="unsafe"; its safe loader is typ="safe".
UNSAFE_KEYWORDS = {
    ("shell", True),
    ("safe_mode", False),
    ("allow_pickle", True),
    ("typ", "unsafe"),
}


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return ""


def findings(tree: ast.AST) -> list[str]:
    """Unsafe imports and calls in one module; ``from m import f`` is resolved to ``m.f``."""
    aliases: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name] = alias.name
                if alias.name.split(".")[0] in UNSAFE_MODULES:
                    found.append(f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            if node.module.split(".")[0] in UNSAFE_MODULES:
                found.append(f"from {node.module} import ...")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        head, _, rest = name.partition(".")
        name = ".".join(filter(None, (aliases.get(head, head), rest)))
        if name in UNSAFE_CALLS:
            found.append(f"{name}()")
        for keyword in node.keywords:
            value = getattr(keyword.value, "value", None)
            if (keyword.arg, value) in UNSAFE_KEYWORDS and isinstance(keyword.value, ast.Constant):
                found.append(f"{name}({keyword.arg}={value})")
    return found


@pytest.mark.parametrize(
    "code",
    [
        "import yaml\nyaml.load(text)",
        "import yaml\nyaml.unsafe_load(text)",
        "import yaml\nyaml.full_load(text)",
        "from yaml import load\nload(text)",
        "from yaml import load as parse\nparse(text)",
        "import pickle",
        "from pickle import loads",
        "import subprocess\nsubprocess.run(cmd,\n    shell=True)",
        "keras.saving.load_model(p, safe_mode=False)",
        "np.load(p, allow_pickle=True)",
        "from ruamel.yaml import YAML\nYAML(typ='unsafe').load(text)",
        "eval(text)",
    ],
)
def test_the_check_finds_each_unsafe_form(code):
    assert findings(ast.parse(code))


def test_no_unsafe_calls_in_the_code():
    assert len(SOURCES) > 20
    offenders = {
        str(p.relative_to(REPO)): f for p in SOURCES if (f := findings(ast.parse(p.read_text())))
    }
    assert offenders == {}


def test_models_load_in_keras_safe_mode():
    tree = ast.parse((REPO / "tools/analysis/export.py").read_text())
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and dotted(node.func).endswith("load_model")
    ]
    keywords = {(k.arg, getattr(k.value, "value", None)) for c in calls for k in c.keywords}
    assert ("safe_mode", True) in keywords


def test_only_validated_variant_names_reach_stage_commands():
    import yaml

    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    commands = [stage.get("cmd") or stage["do"]["cmd"] for stage in stages.values()]
    interpolated = {match for cmd in commands for match in re.findall(r"\$\{[^}]*\}", cmd)}
    assert interpolated == {"${key}"}  # the variant name, checked against [a-z][a-z0-9_]*
