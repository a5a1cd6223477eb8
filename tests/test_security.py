"""Security by construction: no pickle, safe YAML, Keras safe mode, nothing but names in shells."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import REPO

SOURCES = sorted([*REPO.glob("stages/*.py"), *REPO.glob("benchmarks/*.py")])


@pytest.mark.parametrize(
    "pattern",
    [
        r"\bimport pickle\b",
        r"\bpickle\.",
        r"allow_pickle\s*=\s*True",
        r"\byaml\.load\(",
        r"safe_mode\s*=\s*False",
        r"shell\s*=\s*True",
        r"\beval\(",
        r"\bexec\(",
    ],
)
def test_no_unsafe_calls_in_the_code(pattern):
    offenders = [p.name for p in SOURCES if re.search(pattern, p.read_text())]
    assert not offenders, f"{pattern} in {offenders}"


def test_models_load_in_keras_safe_mode():
    text = (REPO / "stages/model_files.py").read_text()
    assert re.search(r"load_model\([^)]*safe_mode=True", text)


def test_only_validated_variant_names_reach_stage_commands():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    commands = [stage.get("cmd") or stage["do"]["cmd"] for stage in stages.values()]
    interpolated = {match for cmd in commands for match in re.findall(r"\$\{[^}]*\}", cmd)}
    assert interpolated == {"${key}"}  # the variant name, checked against [a-z][a-z0-9_]*
