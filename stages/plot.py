"""Stage ``plot``: draw the figures and write the data of DVC's charts, from files only.

Reads ``params.yaml`` (task.name, variants), each variant's training records (``models/<variant>/``)
and its evaluation records and summary (``data/evaluation/<variant>/``). Writes into
``--figures-dir`` (PNG, listed as image plots in ``dvc.yaml``):

* ``<variant>/accuracy.png``, ``<variant>/loss.png``: the write-up's two figures, train vs
  validation by epoch, one line per replicate;
* ``comparison.png``: the variants' training loss by epoch and their success/collapse rates;
* ``gradients.png``: the loss-gradient norm of every layer, at initialisation and after
  training, per variant: the picture of the vanishing gradient;
* ``units.png``: dead and saturated units by layer, at initialisation and after training;
* ``decision_surfaces.png``: what replicate 0 of every variant computes over [0, 1]^2 (a
  regression task's ``fitted_curves.png``: what the first replicates compute over its range);

and into ``--charts-dir`` the data of ``dvc plots show``'s charts (``or_gate/figures.py``).
No TensorFlow here.

    python -m stages.plot --models-dir models --evaluation-dir data/evaluation \
        --figures-dir plots/figures --charts-dir plots/charts
"""

from __future__ import annotations

from or_gate import figures
from or_gate.figures import variant_colours, write_chart_data
from or_gate.files.records import read_evaluation, read_training
from or_gate.files.tables import read_json
from or_gate.params import load_params
from or_gate.runtime import run, stage_arguments
from or_gate.task import is_regression

# The paths dvc.yaml passes to this stage.
PATHS = ("models-dir", "evaluation-dir", "figures-dir", "charts-dir")


def main(argv: list[str]) -> None:
    args = stage_arguments(argv, "stages.plot", __doc__, PATHS)
    params = load_params(args.params)

    regression = is_regression(params.task.name)
    tables = {
        name: {
            "training": read_training(args.models_dir / name),
            "evaluation": read_evaluation(args.evaluation_dir / name, regression),
        }
        for name in params.variants
    }
    metrics = {
        name: read_json(args.evaluation_dir / name / "summary.json") for name in params.variants
    }
    write_chart_data(args.charts_dir, tables)

    colours = variant_colours(params.variants)
    for name, t in tables.items():
        figures.draw_learning_curves(name, t["training"]["history"], args.figures_dir)
    figures.draw_comparison(tables, metrics, colours, args.figures_dir / "comparison.png")
    figures.draw_gradients(tables, colours, args.figures_dir / "gradients.png")
    figures.draw_units(tables, colours, args.figures_dir / "units.png")
    if regression:
        figures.draw_fitted_curves(tables, args.figures_dir / "fitted_curves.png")
    else:
        figures.draw_decision_surfaces(tables, args.figures_dir / "decision_surfaces.png")
    print(f"plot: figures in {args.figures_dir}, chart data in {args.charts_dir}")


if __name__ == "__main__":
    run(main)
