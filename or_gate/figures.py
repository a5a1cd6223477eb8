"""What the ``plot`` stage draws: the PNG figures, the data of DVC's charts, one colour per variant.

* **Figures** (matplotlib): every ``draw_*`` function takes ``tables`` ({variant:
  {"training": ..., "evaluation": ...}}, as ``or_gate/files/records.py`` reads them), draws
  one figure and saves it as a PNG without a "Software" text chunk, so the bytes depend on the
  drawing, not on the version string.
* **Chart data** for ``dvc plots show`` / ``dvc plots diff``, the VS Code extension and
  Studio: per variant and epoch (or layer), the median and the quartiles over every replicate
  (finite numbers only), which ``dvc.yaml``'s ``plots:`` draw with ``.dvc/plots/band.json``
  (a panel per variant; in it, a median line and its interquartile band per revision, in the
  revision's colour): ``accuracy.csv``, ``val_accuracy.csv``, ``loss.csv``, ``val_loss.csv``,
  ``gradient_profile_init.csv`` and ``gradient_profile_final.csv``. The records keep every
  replicate's curve.
* **Colours**: in the figures, one colour per variant, the same in every figure
  (:func:`variant_colours`: Vega's ``tableau10`` scheme over the names sorted, as Vega-Lite
  assigns a nominal field's colours). DVC's charts colour by revision instead, as DVC, VS Code
  and Studio fill the template's colour anchor, and give each variant its own panel.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from or_gate.evaluation import GRADIENT_FLOOR
from or_gate.files.tables import write_table

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

# Vega's "tableau10" scheme, in its order.
TABLEAU10 = (
    "#4c78a8",
    "#f58518",
    "#e45756",
    "#72b7b2",
    "#54a24b",
    "#eeca3b",
    "#b279a2",
    "#ff9da6",
    "#9d755d",
    "#bab0ac",
)


def variant_colours(names: Iterable[str]) -> dict[str, str]:
    """{variant: colour}, as Vega assigns them: by alphabetical order, cycling the scheme."""
    return {name: TABLEAU10[i % len(TABLEAU10)] for i, name in enumerate(sorted(set(names)))}


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


# The band each chart draws around its median line: the middle half of the replicates.
QUARTILES = {"q25": 0.25, "median": 0.5, "q75": 0.75}


def quartiles(values: pd.DataFrame, by: str, column: str) -> pd.DataFrame:
    """Per value of ``by``, the quartiles of ``column`` over the finite values (a diverged
    replicate's missing numbers are left out; vega cannot draw them)."""
    finite = values[np.isfinite(values[column].astype(float))]
    grouped = finite.groupby(by)[column]
    return pd.DataFrame({name: grouped.quantile(q) for name, q in QUARTILES.items()}).reset_index()


def _curve(tables: dict, curve: str) -> pd.DataFrame:
    """variant, epoch and the quartiles of ``curve`` over every replicate."""
    frames = [
        quartiles(t["training"]["history"], "epoch", curve).assign(variant=name)
        for name, t in tables.items()
    ]
    return pd.concat(frames, ignore_index=True)[["variant", "epoch", *QUARTILES]]


def _profiles(tables: dict, when: str) -> pd.DataFrame:
    """variant, layer and the quartiles over replicates of log10 |dL/d kernel| (an exact zero
    at the floor's log10, -300)."""
    frames = []
    for name, t in tables.items():
        gradients = t["training"]["gradients"]
        epoch = 0 if when == "init" else int(gradients["epoch"].max())
        at_epoch = gradients[gradients["epoch"] == epoch]
        norm = at_epoch["kernel_gradient_norm"].clip(lower=GRADIENT_FLOOR)
        logs = at_epoch.assign(log10_gradient_norm=np.log10(norm))
        frames.append(quartiles(logs, "layer", "log10_gradient_norm").assign(variant=name))
    return pd.concat(frames, ignore_index=True)[["variant", "layer", *QUARTILES]]


def write_chart_data(out_dir: Path, tables: dict) -> None:
    """One CSV per chart; ``tables`` is {variant: {"training": ..., ...}}, as
    ``or_gate/files/records.py`` reads them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for curve in CURVES:
        write_table(out_dir / f"{curve}.csv", _curve(tables, curve))
    for when in ("init", "final"):
        write_table(out_dir / f"gradient_profile_{when}.csv", _profiles(tables, when))


# Exact zeros cannot sit on a log axis; they are drawn at this height and labelled.
DRAWN_ZERO = 1e-40


def new_figure(rows: int, columns: int, figsize: tuple[float, float], **options):
    """A figure and its axes, without pyplot (no global state, nothing to close)."""
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(rows, columns, **options)


def save_figure(figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No "Software" text chunk: the bytes then depend on the drawing, not the version string.
    figure.savefig(path, dpi=100, metadata={"Software": None})


def draw_learning_curves(name: str, history: pd.DataFrame, out_dir: Path) -> None:
    finite = np.isfinite(history["loss"]).groupby(history["replicate"]).all()
    diverged, replicates = int((~finite).sum()), history["replicate"].nunique()
    for quantity in ("accuracy", "loss"):
        figure, axes = new_figure(1, 1, figsize=(6, 4))
        for replicate, rows in sample(history).groupby("replicate"):
            first = replicate == history["replicate"].min()
            axes.plot(
                rows["epoch"],
                rows[quantity],
                color="C0",
                alpha=0.7,
                label="train" if first else None,
            )
            axes.plot(
                rows["epoch"],
                rows[f"val_{quantity}"],
                color="C1",
                alpha=0.7,
                label="validation" if first else None,
            )
        title = f"{name}: model {quantity}"
        if replicates > SAMPLE_REPLICATES:
            title += f" (replicates 0-{SAMPLE_REPLICATES - 1} of {replicates})"
        if diverged:  # their non-finite values cannot be drawn; say so rather than hide them
            title += f" ({diverged} of {replicates} diverged, not drawn)"
        axes.set(title=title, xlabel="epoch", ylabel=quantity)
        if quantity == "loss":
            axes.set_yscale("log")
        axes.legend(loc="best")
        figure.subplots_adjust(left=0.14, right=0.97, bottom=0.13, top=0.91)
        save_figure(figure, out_dir / name / f"{quantity}.png")


def draw_comparison(tables: dict, metrics: dict[str, dict], colours: dict, path: Path) -> None:
    figure, (curves, rates) = new_figure(1, 2, figsize=(11, 4))
    for name, t in tables.items():
        loss = t["training"]["history"].pivot(index="epoch", columns="replicate", values="loss")
        curves.plot(loss.index, loss.median(axis=1), color=colours[name], label=name)
        curves.fill_between(
            loss.index, loss.min(axis=1), loss.max(axis=1), color=colours[name], alpha=0.2
        )
    curves.set(
        title="training loss (median, band = min-max over replicates)",
        xlabel="epoch",
        ylabel="loss",
    )
    curves.set_yscale("log")
    curves.legend()
    names = list(metrics)
    positions = np.arange(len(names))
    # Greys, not colours: every colour on the page belongs to a variant (or_gate/figures.py).
    bars = (("success_rate", -0.27, "0.25", ""), ("collapse_rate", 0.0, "0.6", ""))
    for key, offset, grey, hatch in (*bars, ("diverged_rate", 0.27, "0.85", "//")):
        heights = [metrics[n][key] for n in names]
        rates.bar(
            positions + offset,
            heights,
            0.27,
            color=grey,
            hatch=hatch,
            edgecolor="0.3",
            label=key.replace("_", " "),
        )
    rates.set_xticks(positions, names)
    rates.set(ylim=(0, 1.05), title="share of replicates")
    rates.legend()
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.9, wspace=0.2)
    save_figure(figure, path)


def draw_gradients(tables: dict, colours: dict, path: Path) -> None:
    figure, axes = new_figure(1, 1, figsize=(7, 4.5))
    zeros = False
    for name, t in tables.items():
        gradients = t["training"]["gradients"]
        for epoch, style in ((0, "--"), (int(gradients["epoch"].max()), "-")):
            profile = gradient_profile(gradients, epoch)
            zeros |= bool((profile["kernel_gradient_norm"] == 0).any())
            norm = profile["kernel_gradient_norm"].clip(lower=DRAWN_ZERO)
            label = f"{name}, {'init' if epoch == 0 else f'epoch {epoch}'}"
            axes.plot(profile["layer"], norm, style, marker="o", color=colours[name], label=label)
    axes.set_yscale("log")
    if zeros:
        axes.axhline(DRAWN_ZERO, color="grey", linewidth=0.5)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set(
        title="loss-gradient norm per layer kernel (median over replicates)",
        xlabel="layer (0 = input layer, last = output layer)",
        ylabel="|dL/dW|" + (f"  (exact 0 drawn at {DRAWN_ZERO:g})" if zeros else ""),
    )
    axes.legend(fontsize="small")
    figure.subplots_adjust(left=0.14, right=0.97, bottom=0.12, top=0.92)
    save_figure(figure, path)


def draw_units(tables: dict, colours: dict, path: Path) -> None:
    figure, panels = new_figure(1, 2, figsize=(11, 4), sharey=True)
    for column, axes in zip(("dead_fraction", "saturated_fraction"), panels, strict=True):
        for name, t in tables.items():
            units = t["training"]["units"]
            for epoch, style in ((0, "--"), (int(units["epoch"].max()), "-")):
                at_epoch = units[(units["epoch"] == epoch) & (units["role"] != "output")]
                share = at_epoch.groupby("layer")[column].mean()
                label = f"{name}, {'init' if epoch == 0 else f'epoch {epoch}'}"
                axes.plot(
                    share.index, share.values, style, marker="o", color=colours[name], label=label
                )
        axes.set(
            title=f"{column.replace('_', ' ')} of units (mean over replicates)",
            xlabel="layer (0 = input layer)",
            ylim=(-0.05, 1.05),
        )
        axes.xaxis.get_major_locator().set_params(integer=True)
    panels[0].legend(fontsize="small")
    figure.subplots_adjust(left=0.06, right=0.98, bottom=0.13, top=0.9, wspace=0.08)
    save_figure(figure, path)


def draw_decision_surfaces(tables: dict, path: Path) -> None:
    count = len(tables)
    columns = min(count, 4)
    rows = math.ceil(count / columns)
    figure, panels = new_figure(
        rows, columns, figsize=(3.6 * columns + 1.2, 3.4 * rows), squeeze=False
    )
    figure.subplots_adjust(left=0.08, right=0.86, bottom=0.14, top=0.88, wspace=0.4, hspace=0.45)
    for axes in panels.ravel()[count:]:
        axes.set_visible(False)
    for axes, (name, t) in zip(panels.ravel(), tables.items(), strict=False):
        surface = t["evaluation"]["decision_surface"].pivot(
            index="x2", columns="x1", values="prediction"
        )
        image = axes.imshow(
            surface.values, origin="lower", extent=(0, 1, 0, 1), vmin=0, vmax=1, cmap="coolwarm"
        )
        if np.ptp(surface.values) > 0:
            axes.contour(surface.columns, surface.index, surface.values, levels=[0.5], colors="k")
        for x1, x2 in ((0, 0), (0, 1), (1, 0), (1, 1)):
            axes.scatter(
                x1, x2, s=80, marker="o" if x1 or x2 else "X", color="k", clip_on=False, zorder=3
            )
        axes.set(title=f"{name} (replicate 0)", xlabel="x1", ylabel="x2")
    figure.colorbar(image, cax=figure.add_axes((0.89, 0.2, 0.015, 0.6)), label="output")
    save_figure(figure, path)


FITTED_REPLICATES = 8  # the curves drawn per variant: replicates 0 to 7


def draw_fitted_curves(tables: dict, path: Path) -> None:
    """A regression task's counterpart of the decision surfaces: the target and what the
    first ``FITTED_REPLICATES`` replicates of every variant compute over the test grid. A
    flat line is a collapsed net."""
    count = len(tables)
    columns = min(count, 4)
    rows = math.ceil(count / columns)
    figure, panels = new_figure(
        rows, columns, figsize=(3.6 * columns + 0.6, 3.2 * rows + 0.4), squeeze=False,
        sharey=True,
    )  # fmt: skip
    figure.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.8, wspace=0.15, hspace=0.45)
    for axes in panels.ravel()[count:]:
        axes.set_visible(False)
    for axes, (name, t) in zip(panels.ravel(), tables.items(), strict=False):
        test = t["evaluation"]["predictions"]
        test = test[(test["split"] == "test") & (test["replicate"] < FITTED_REPLICATES)]
        target = test[test["replicate"] == test["replicate"].min()].sort_values("x")
        axes.plot(target["x"], target["y"], color="k", linewidth=3, alpha=0.3, label="target")
        for replicate, curve in test.groupby("replicate"):
            curve = curve.sort_values("x")
            axes.plot(curve["x"], curve["prediction"], linewidth=1, label=f"replicate {replicate}")
        axes.set(title=name, xlabel="x")
    panels[0][0].set_ylabel("output")
    panels[0][0].legend(fontsize="x-small", ncol=2)
    figure.suptitle(f"what the first {FITTED_REPLICATES} replicates compute (flat: collapsed)")
    save_figure(figure, path)
