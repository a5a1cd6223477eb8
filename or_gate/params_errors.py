"""One line per bad parameter: the key, the bad value, what is allowed, and a did-you-mean.

What is allowed is read from the JSON Schema of :class:`or_gate.params.Params`, so the
messages follow the one declaration of each parameter (and ``docs/params.md`` is written from
the same schema by :func:`allowed`).
"""

from __future__ import annotations

import difflib
import functools
from typing import Any

KEY_OF_MAPPING = "[key]"  # where pydantic reports a bad dictionary key
# The tags of the initializer's two forms (or_gate.params.InitializerSpec), in the order of the
# schema's "oneOf": pydantic puts the tag in an error's location; the message leaves it out.
UNION_TAGS = ("name", "with-arguments")


@functools.cache
def schema() -> dict:
    from or_gate.params import Params

    return Params.model_json_schema()


def _resolve(node: dict) -> dict:
    if "$ref" in node:
        return schema()["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def schema_at(loc: tuple) -> dict:
    """The schema of the value at ``loc`` (a pydantic error location)."""
    node = _resolve(schema())
    for index, part in enumerate(loc):
        if "oneOf" in node and part in UNION_TAGS:
            node = _resolve(node["oneOf"][UNION_TAGS.index(part)])
            continue
        patterns = node.get("patternProperties", {})  # a mapping with constrained names
        if loc[index + 1 : index + 2] == (KEY_OF_MAPPING,):  # (mapping, bad name, "[key]")
            return {"pattern": next(iter(patterns)).strip("^$")}
        if part in node.get("properties", {}):
            node = _resolve(node["properties"][part])
        else:
            node = _resolve(next(iter(patterns.values()), {}))
    return node


def suggestion(value: Any, allowed, prefix: str = "") -> str:
    """`` (did you mean '<prefix><closest>'?)`` when one of ``allowed`` is close, else ''."""
    close = difflib.get_close_matches(str(value), list(allowed), n=1)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def _interval(node: dict, noun: str) -> str:
    low = ("[", node["minimum"]) if "minimum" in node else ("(", node.get("exclusiveMinimum"))
    high = ("]", node["maximum"]) if "maximum" in node else (")", node.get("exclusiveMaximum"))
    if high[1] is None:
        return f"{noun} {'>=' if low[0] == '[' else '>'} {low[1]}"
    return f"{noun} in {low[0]}{low[1]}, {high[1]}{high[0]}"


def allowed(node: dict) -> str:
    """What a value at this schema node may be, in words."""
    from or_gate.params import KERAS_KINDS

    if "enum" in node:
        return f"{KERAS_KINDS[node['keras']]}: {', '.join(node['enum'])}"
    if "pattern" in node:
        return f"lower-case letters, digits and '_', starting with a letter ({node['pattern']})"
    kind = node.get("type")
    if kind in ("integer", "number"):
        return _interval(node, "an integer" if kind == "integer" else "a number")
    if "oneOf" in node:
        return " or ".join(allowed(_resolve(branch)) for branch in node["oneOf"])
    if "properties" in node:
        return f"a mapping with keys {', '.join(node['properties'])}"
    if kind == "object":
        value = next(iter(node["patternProperties"].values()))
        inner = ", ".join(_resolve(value)["properties"])
        return f"a non-empty mapping name -> {{{inner}}}"
    return kind or "a value"


def _is_form_tag(prefix: tuple, part: Any) -> bool:
    """``part`` is the tag pydantic puts after a tagged union's location, not a key."""
    return part in UNION_TAGS and "oneOf" in schema_at(prefix)


def describe(error: dict) -> str:
    """One line for one pydantic validation error."""
    loc = tuple(error["loc"])
    named = [
        part
        for index, part in enumerate(loc)
        if part != KEY_OF_MAPPING and not _is_form_tag(loc[:index], part)
    ]
    dotted = ".".join(str(part) for part in named)
    if error["type"] == "value_error":  # a model's own check, which says what is allowed
        return f"{dotted}: {error['ctx']['error']}"
    if error["type"] == "extra_forbidden":
        parent, key = ".".join(map(str, loc[:-1])), loc[-1]
        keys = list(schema_at(loc[:-1]).get("properties", {}))
        prefix = f"{parent}." if parent else ""
        return (
            f"unknown key '{dotted}'{suggestion(key, keys, prefix)}; "
            f"allowed keys{' in ' + parent if parent else ''}: {', '.join(keys)}"
        )
    if error["type"] == "missing":
        return f"missing key '{dotted}'"
    node = schema_at(loc)
    if loc and loc[-1] == KEY_OF_MAPPING:
        return (
            f"{dotted.rsplit('.', 1)[0]}: name {loc[-2]!r} is not allowed; expected {allowed(node)}"
        )
    hint = suggestion(error["input"], node["enum"]) if "enum" in node else ""
    where = dotted or "the document"
    return f"{where}: {error['input']!r} is not allowed{hint}; expected {allowed(node)}"
