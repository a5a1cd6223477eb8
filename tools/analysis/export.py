"""Standard ``.keras`` files with the same bytes every time (a replicate exported for Keras).

The pipeline keeps a variant's replicates stacked in one file (``or_gate/files/weights.py``);
this module writes and reads a single replicate as a Keras archive.

A ``.keras`` file is a zip archive of ``config.json``, ``metadata.json`` and
``model.weights.h5``. Two saves of the same weights differ: Keras writes the save time twice
(``date_saved`` in the metadata and the weights entry's zip timestamp) and ``config.json``
numbers shared objects by their Python ``id()``, which changes from process to process. DVC
would then re-run everything downstream of an unchanged model. :func:`save_model` rewrites
the archive without the save date, with fixed timestamps, and with shared objects numbered
1, 2, ... in order of appearance (the sharing itself is kept); the result still loads with
``keras.saving.load_model(path, safe_mode=True)``.

Writes go to a hidden ``.<name>.partial`` file in the same directory that is renamed into
place, so a process killed half-way never leaves a truncated or extra ``*.keras`` behind.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold


def renumber_shared_objects(config):
    """Replace ``shared_object_id`` values (Python ids) by 1, 2, ... in order of appearance."""
    numbers: dict = {}

    def visit(node):
        if isinstance(node, dict):
            return {
                key: numbers.setdefault(value, len(numbers) + 1)
                if key == "shared_object_id"
                else visit(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [visit(item) for item in node]
        return node

    return visit(config)


def _normalise(source: Path, target: Path) -> None:
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        for info in archive.infolist():
            data = archive.read(info)
            if info.filename == "metadata.json":
                metadata = json.loads(data)
                metadata.pop("date_saved", None)
                data = json.dumps(metadata, sort_keys=True).encode()
            elif info.filename == "config.json":
                data = json.dumps(renumber_shared_objects(json.loads(data))).encode()
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            entry.compress_type = info.compress_type
            entry.external_attr = info.external_attr
            out.writestr(entry, data)


def save_model(model: keras.Model, path: str | Path) -> None:
    """Save ``model`` to ``path`` (a ``.keras`` file), byte-stable and atomically."""
    path = Path(path)
    # Keras' own save goes to a scratch directory (it insists on a .keras name), so a kill
    # mid-save leaves no *.keras file but the real ones beside the models; the normalised
    # archive is written next to its target and renamed onto it, which is atomic.
    partial = path.with_name(f".{path.stem}.partial")
    try:
        with tempfile.TemporaryDirectory(prefix="or-gate-save-") as scratch:
            raw = Path(scratch) / "model.keras"
            model.save(raw)
            _normalise(raw, partial)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def load_model(path: str | Path) -> keras.Model:
    """Load a saved model in Keras' safe mode (no arbitrary code from the file)."""
    import keras

    return keras.saving.load_model(path, compile=False, safe_mode=True)
