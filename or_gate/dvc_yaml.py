"""YAML read exactly as DVC reads it: ``params.yaml`` above all.

DVC parses params.yaml with ruamel.yaml's safe loader (dvc/utils/serialize/_yaml.py,
parse_yaml), which implements YAML 1.2; PyYAML implements YAML 1.1. They disagree on values a
user can type (``010`` is 10 in 1.2 and 8 in 1.1; ``yes`` is a string in 1.2 and True in 1.1;
``1e-3`` a number in 1.2 and a string in 1.1), so reading params.yaml any other way than DVC's
would train a value other than the one ``dvc params diff`` and ``dvc exp show`` record.
``tests/test_params.py`` checks this reader against DVC's own on every such case.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from or_gate.runtime import StageError


def _duplicate_key(node: Any, seen: set[int] | None = None) -> tuple[Any, int, int] | None:
    """The first key given twice in one mapping of a composed document, with both lines.
    Each node is visited once: aliases share nodes, and an alias bomb must not expand here."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    seen = set() if seen is None else seen
    if id(node) in seen:
        return None
    seen.add(id(node))
    children = []
    if isinstance(node, MappingNode):
        lines: dict[Any, int] = {}
        for key, value in node.value:
            if key.tag.endswith(("str", "int", "float", "bool", "null")):
                if key.value in lines:
                    return key.value, lines[key.value], key.start_mark.line + 1
                lines[key.value] = key.start_mark.line + 1
            children.append(value)
    elif isinstance(node, SequenceNode):
        children = node.value
    for child in children:
        found = _duplicate_key(child, seen)
        if found:
            return found
    return None


def read_yaml(path: str | Path, error: type[StageError] = StageError) -> Any:
    """The YAML document in ``path``, read exactly as DVC reads params.yaml; ``error`` with one
    line naming the file on any problem (missing, not YAML, a key given twice)."""
    from ruamel.yaml import YAML, YAMLError

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not a UTF-8 text file") from None
    reader = YAML(typ="safe")  # DVC's: no Python objects are ever constructed
    try:
        duplicate = _duplicate_key(reader.compose(text))
        if duplicate:  # DVC refuses such a file too; say where, before ruamel's longer message
            key, first, second = duplicate
            raise error(
                f"{path}: key {key!r} appears twice in one mapping (lines {first} and {second}); "
                "expected each key once"
            )
        return reader.load(text)
    except YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        # A reader error (a control character) has no problem or mark: its first line says it.
        what = getattr(problem, "problem", None) or str(problem).splitlines()[0]
        raise error(f"{path}: not valid YAML{where}: {what}") from None
