"""The data of DVC's interactive charts (``dvc plots show`` / ``dvc plots diff``).

Long-form CSVs with a ``variant`` column and finite numbers only (curves of the first
``SAMPLE_REPLICATES`` replicates; gradient profiles are medians over all), which ``dvc.yaml``'s
``plots:`` draw with ``.dvc/plots/variant_lines.json`` (one colour per variant, one dash per
revision): ``accuracy.csv``, ``val_accuracy.csv``, ``loss.csv``, ``val_loss.csv``,
``gradient_profile_init.csv`` and ``gradient_profile_final.csv``.
"""

from __future__ import annotations

from pathlib import Path

from or_gate.metrics import GRADIENT_FLOOR

import numpy as np
import pandas as pd

CURVES = ("accuracy", "val_accuracy", "loss", "val_loss")
# Charts and figures draw these replicates' curves (0, 1, ...): at 1,000 replicates, every
# curve would make charts of hundreds of thousands of points and files git should not carry.
SAMPLE_REPLICATES = 10


def sample(history: pd.DataFrame) -> pd.DataFrame:
    """The rows of the replicates charts draw: the first SAMPLE_REPLICATES."""
    return history[history["replicate"] < SAMPLE_REPLICATES]


def gradient_profile(gradients: pd.DataFrame, epoch: int) -> pd.DataFrame:
    """Median over replicates of every layer's kernel-gradient norm at ``epoch``."""
    at_epoch = gradients[gradients["epoch"] == epoch]
    return at_epoch.groupby("layer", as_index=False)["kernel_gradient_norm"].median()


def _curve(tables: dict, curve: str) -> pd.DataFrame:
    frames = [
        sample(t["training"]["history"]).assign(variant=name)[
            ["variant", "replicate", "epoch", curve]
        ]
        for name, t in tables.items()
    ]
    data = pd.concat(frames, ignore_index=True)
    return data[np.isfinite(data[curve].astype(float))]  # vega cannot draw a missing value


def _profiles(tables: dict, when: str) -> pd.DataFrame:
    frames = []
    for name, t in tables.items():
        gradients = t["training"]["gradients"]
        epoch = 0 if when == "init" else int(gradients["epoch"].max())
        profile = gradient_profile(gradients, epoch)
        norm = profile["kernel_gradient_norm"].clip(lower=GRADIENT_FLOOR)  # exact zero -> -300
        frames.append(
            pd.DataFrame(
                {"variant": name, "layer": profile["layer"], "log10_gradient_norm": np.log10(norm)}
            )
        )
    return pd.concat(frames, ignore_index=True)


def write_chart_data(out_dir: Path, tables: dict) -> None:
    """One CSV per chart; ``tables`` is {variant: {"training": ..., ...}} (or_gate/records)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for curve in CURVES:
        _curve(tables, curve).to_csv(out_dir / f"{curve}.csv", index=False)
    for when in ("init", "final"):
        _profiles(tables, when).to_csv(out_dir / f"gradient_profile_{when}.csv", index=False)
