"""A variant's trained replicates as one file: the stacked weights and their architecture.

``models/<variant>/`` holds

* ``weights.npy``: the float32 array (replicates, parameters) the trainer ends with, in
  ``ParamLayout`` order (Keras' ``get_weights`` order, flattened), written by ``numpy.save``
  (its header, then the raw bytes: the same weights give the same bytes);
* ``architecture.json``: depth, width, activation, initializer and residual (and input_layer
  where it is false, sign_flip where it is true, a regression task's inputs and
  output_activation), sorted keys.

One file instead of one ``.keras`` archive per replicate: at 1,000 replicates, saving and
loading them one by one cost minutes and gigabytes. Any replicate is still one line away from
a standard Keras model that loads in safe mode::

    python tools/export_model.py --model-dir models/relu --replicate 7 --out relu_7.keras

(or, in Python, :func:`replicate_model`). A model of an ``rai`` variant names the project's
initializer in its config: load it in safe mode after ``import or_gate.model``, which
registers it with Keras. Files are written to a hidden
``.partial`` name and renamed into place, so a killed run never leaves a truncated file.
``numpy.load`` reads them with ``allow_pickle=False``: nothing in them can run code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from or_gate.architecture import Architecture
from or_gate.runtime import DataError

import numpy as np

if TYPE_CHECKING:
    import keras

WEIGHTS = "weights.npy"
ARCHITECTURE = "architecture.json"


def _write_atomically(path: Path, write) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def save_stacked(model_dir: str | Path, architecture: Architecture, weights: np.ndarray) -> None:
    """Write every replicate's flat weights (replicates, parameters) and the architecture."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    weights = np.ascontiguousarray(weights, dtype=np.float32)
    if weights.shape[1:] != (architecture.layout.size,):
        raise ValueError(f"weights of shape {weights.shape} for {architecture}")
    _write_atomically(model_dir / WEIGHTS, lambda handle: np.save(handle, weights))
    text = json.dumps(architecture.to_json(), sort_keys=True) + "\n"
    _write_atomically(model_dir / ARCHITECTURE, lambda handle: handle.write(text.encode()))


def _read_architecture(path: Path) -> Architecture:
    """``architecture.json``, checked field by field: one line naming the file if broken."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: not found (run `dvc repro`)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not valid JSON ({type(error).__name__})") from None
    expected = {"activation": str, "depth": int, "initializer": (str, dict)}
    expected |= {"residual": bool, "width": int}
    # written only where not the default
    optional = {"input_layer": bool, "sign_flip": bool, "inputs": int, "output_activation": str}
    if not isinstance(document, dict) or not set(expected) <= set(document) <= {
        *expected,
        *optional,
    }:
        keys = sorted(document) if isinstance(document, dict) else type(document).__name__
        raise DataError(
            f"{path}: keys {keys}; expected {', '.join(sorted(expected))} "
            f"(and optionally {', '.join(optional)})"
        )
    for key, kind in (expected | optional).items():
        if key not in document:
            continue
        value = document[key]
        if not isinstance(value, kind) or (kind is int and (isinstance(value, bool) or value < 1)):
            raise DataError(f"{path}: {key} is {value!r}, not what train writes")
    return Architecture(**document)


def load_stacked(model_dir: str | Path) -> tuple[Architecture, np.ndarray]:
    """The architecture and the (replicates, parameters) float32 weights of a variant; a
    missing, truncated, pickled or misshapen file is one line naming it."""
    model_dir = Path(model_dir)
    architecture = _read_architecture(model_dir / ARCHITECTURE)
    path = model_dir / WEIGHTS
    try:
        weights = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: not found (run `dvc repro`)") from None
    except (ValueError, EOFError, OSError) as error:  # truncated, pickled, not .npy at all
        raise DataError(
            f"{path}: not the array train writes ({str(error).splitlines()[0]}); "
            "run `dvc checkout` or `dvc repro`"
        ) from None
    if weights.dtype != np.float32 or weights.shape[1:] != (architecture.layout.size,):
        raise DataError(
            f"{path}: {weights.dtype} array of shape {weights.shape}; expected float32 "
            f"(replicates, {architecture.layout.size}) for depth {architecture.depth}, "
            f"width {architecture.width}"
        )
    return architecture, weights


def replicate_model(model_dir: str | Path, replicate: int) -> keras.Model:
    """Replicate ``replicate`` of a variant as a standard Keras model (imports TensorFlow)."""
    from or_gate.model import build_model

    architecture, weights = load_stacked(model_dir)
    model = build_model(architecture)
    model.set_weights(architecture.layout.unflatten(weights[replicate]))
    return model
