"""Reading YAML safely: PyYAML's safe loader, refusing a key given twice in one mapping.

PyYAML alone keeps the last of two equal keys silently; DVC refuses such a file, so a
``params.yaml`` that DVC would reject must not train here either.
"""

from __future__ import annotations

from typing import Any

import yaml


class DuplicateKeyError(Exception):
    pass


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that raises :class:`DuplicateKeyError` on a repeated key."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise DuplicateKeyError(
                    f"key {key!r} appears twice in one mapping (lines {seen[key]} and {line}); "
                    "expected each key once"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_unique_keys(text: str) -> Any:
    """``yaml.safe_load`` that refuses duplicate keys."""
    loader = UniqueKeyLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
