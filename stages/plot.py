"""Stage ``plot``: draw the figures and write the data of DVC's charts, from files only.

Reads ``params.yaml`` (variants), the training records ``plots/train/<variant>/*.csv``, the
evaluation records ``plots/evaluate/<variant>/*.csv`` and ``metrics/<variant>.json``.
Writes into ``--figures-dir`` (PNG, listed as image plots in ``dvc.yaml``):

* ``<variant>/accuracy.png``, ``<variant>/loss.png``: the write-up's two figures, train vs
  validation by epoch, one line per replicate;
* ``comparison.png``: the variants' training loss by epoch and their success/collapse rates;
* ``gradients.png``: the loss-gradient norm of every layer, at initialisation and after
  training, per variant: the picture of the vanishing gradient;
* ``units.png``: dead and saturated units by layer, at initialisation and after training;
* ``decision_surfaces.png``: what replicate 0 of every variant computes over [0, 1]^2.

and into ``--chart-data-dir`` the long-form CSVs (a ``variant`` column, finite numbers only)
that ``dvc plots show`` overlays with ``.dvc/plots/variant_lines.json``: ``accuracy.csv``,
``val_accuracy.csv``, ``loss.csv``, ``val_loss.csv``, ``gradient_profile_init.csv``,
``gradient_profile_final.csv``. No TensorFlow here.

    python -m stages.plot --train-plots-dir plots/train --evaluate-plots-dir plots/evaluate \
        --metrics-dir metrics --figures-dir plots/figures --chart-data-dir plots/combined
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from stages.errors import DataError, run
from stages.params import load_params

CURVES = ("accuracy", "val_accuracy", "loss", "val_loss")
# Exact zeros cannot sit on a log axis; they are drawn at this height and labelled.
DRAWN_ZERO = 1e-40


def read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (run `dvc repro`)") from None


def read_metrics(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (run `dvc repro evaluate`)") from None


def gradient_profile(gradients: pd.DataFrame, epoch: int) -> pd.DataFrame:
    """Median over replicates of every layer's kernel-gradient norm at ``epoch``."""
    at_epoch = gradients[gradients["epoch"] == epoch]
    profile = at_epoch.groupby("layer", as_index=False)["kernel_gradient_norm"].median()
    return profile


def write_chart_data(out_dir: Path, tables: dict[str, dict[str, pd.DataFrame]]) -> None:
    """Long-form CSVs, one per chart; rows with a missing or non-finite value are left out."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for curve in CURVES:
        frames = [
            t["history"].assign(variant=name)[["variant", "replicate", "epoch", curve]]
            for name, t in tables.items()
        ]
        data = pd.concat(frames, ignore_index=True)
        data = data[np.isfinite(data[curve].astype(float))]
        data.to_csv(out_dir / f"{curve}.csv", index=False)
    for when in ("init", "final"):
        frames = []
        for name, t in tables.items():
            epoch = 0 if when == "init" else int(t["gradients"]["epoch"].max())
            profile = gradient_profile(t["gradients"], epoch)
            norm = profile["kernel_gradient_norm"].clip(lower=1e-300)  # exact zero -> -300
            frames.append(
                pd.DataFrame(
                    {
                        "variant": name,
                        "layer": profile["layer"],
                        "log10_gradient_norm": np.log10(norm),
                    }
                )
            )
        pd.concat(frames, ignore_index=True).to_csv(
            out_dir / f"gradient_profile_{when}.csv", index=False
        )


def _save(figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No "Software" text chunk: the bytes then depend on the drawing, not the version string.
    figure.savefig(path, dpi=100, metadata={"Software": None})


def draw_learning_curves(name: str, history: pd.DataFrame, out_dir: Path) -> None:
    import matplotlib.pyplot as plt

    for quantity in ("accuracy", "loss"):
        figure, axes = plt.subplots(figsize=(6, 4))
        for replicate, rows in history.groupby("replicate"):
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
        axes.set(title=f"{name}: model {quantity}", xlabel="epoch", ylabel=quantity)
        if quantity == "loss":
            axes.set_yscale("log")
        axes.legend(loc="best")
        figure.subplots_adjust(left=0.14, right=0.97, bottom=0.13, top=0.91)
        _save(figure, out_dir / name / f"{quantity}.png")
        plt.close(figure)


def draw_comparison(tables: dict, metrics: dict[str, dict], path: Path) -> None:
    import matplotlib.pyplot as plt

    figure, (curves, rates) = plt.subplots(1, 2, figsize=(11, 4))
    for index, (name, t) in enumerate(tables.items()):
        loss = t["history"].pivot(index="epoch", columns="replicate", values="loss")
        curves.plot(loss.index, loss.median(axis=1), color=f"C{index}", label=name)
        curves.fill_between(
            loss.index, loss.min(axis=1), loss.max(axis=1), color=f"C{index}", alpha=0.2
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
    rates.bar(
        positions - 0.2, [metrics[n]["success_rate"] for n in names], 0.4, label="success rate"
    )
    rates.bar(
        positions + 0.2, [metrics[n]["collapse_rate"] for n in names], 0.4, label="collapse rate"
    )
    rates.set_xticks(positions, names)
    rates.set(ylim=(0, 1.05), title="share of replicates")
    rates.legend()
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.9, wspace=0.2)
    _save(figure, path)
    plt.close(figure)


def draw_gradients(tables: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    zeros = False
    for index, (name, t) in enumerate(tables.items()):
        gradients = t["gradients"]
        for epoch, style in ((0, "--"), (int(gradients["epoch"].max()), "-")):
            profile = gradient_profile(gradients, epoch)
            zeros |= bool((profile["kernel_gradient_norm"] == 0).any())
            norm = profile["kernel_gradient_norm"].clip(lower=DRAWN_ZERO)
            label = f"{name}, {'init' if epoch == 0 else f'epoch {epoch}'}"
            axes.plot(profile["layer"], norm, style, marker="o", color=f"C{index}", label=label)
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
    _save(figure, path)
    plt.close(figure)


def draw_units(tables: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure, panels = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for column, axes in zip(("dead_fraction", "saturated_fraction"), panels, strict=True):
        for index, (name, t) in enumerate(tables.items()):
            units = t["units"]
            for epoch, style in ((0, "--"), (int(units["epoch"].max()), "-")):
                at_epoch = units[(units["epoch"] == epoch) & (units["role"] != "output")]
                share = at_epoch.groupby("layer")[column].mean()
                label = f"{name}, {'init' if epoch == 0 else f'epoch {epoch}'}"
                axes.plot(
                    share.index, share.values, style, marker="o", color=f"C{index}", label=label
                )
        axes.set(
            title=f"{column.replace('_', ' ')} of units (mean over replicates)",
            xlabel="layer (0 = input layer)",
            ylim=(-0.05, 1.05),
        )
        axes.xaxis.get_major_locator().set_params(integer=True)
    panels[0].legend(fontsize="small")
    figure.subplots_adjust(left=0.06, right=0.98, bottom=0.13, top=0.9, wspace=0.08)
    _save(figure, path)
    plt.close(figure)


def draw_decision_surfaces(tables: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    count = len(tables)
    columns = min(count, 4)
    rows = math.ceil(count / columns)
    figure, panels = plt.subplots(
        rows, columns, figsize=(3.6 * columns + 1.2, 3.4 * rows), squeeze=False
    )
    figure.subplots_adjust(left=0.08, right=0.86, bottom=0.14, top=0.88, wspace=0.4, hspace=0.45)
    for axes in panels.ravel()[count:]:
        axes.set_visible(False)
    for axes, (name, t) in zip(panels.ravel(), tables.items(), strict=False):
        surface = t["surface"].pivot(index="x2", columns="x1", values="prediction")
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
    _save(figure, path)
    plt.close(figure)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.plot", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--train-plots-dir", type=Path, required=True)
    parser.add_argument("--evaluate-plots-dir", type=Path, required=True)
    parser.add_argument("--metrics-dir", type=Path, required=True)
    parser.add_argument("--figures-dir", type=Path, required=True)
    parser.add_argument("--chart-data-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    params = load_params(args.params)

    tables = {
        name: {
            "history": read_csv(args.train_plots_dir / name / "history.csv"),
            "gradients": read_csv(args.train_plots_dir / name / "gradients.csv"),
            "units": read_csv(args.train_plots_dir / name / "units.csv"),
            "surface": read_csv(args.evaluate_plots_dir / name / "decision_surface.csv"),
        }
        for name in params.variants
    }
    metrics = {name: read_metrics(args.metrics_dir / f"{name}.json") for name in params.variants}
    write_chart_data(args.chart_data_dir, tables)

    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    for name, t in tables.items():
        draw_learning_curves(name, t["history"], args.figures_dir)
    draw_comparison(tables, metrics, args.figures_dir / "comparison.png")
    draw_gradients(tables, args.figures_dir / "gradients.png")
    draw_units(tables, args.figures_dir / "units.png")
    draw_decision_surfaces(tables, args.figures_dir / "decision_surfaces.png")
    print(f"plot: figures in {args.figures_dir}, chart data in {args.chart_data_dir}")


if __name__ == "__main__":
    run(main)
