"""Depth sweeps and the atlas: success and collapse against depth, with the theory.

Reads the experiments DVC knows (through DVC's own API, or a saved ``dvc exp show --json``).
Only experiments that finished successfully become results; failed, queued and running ones
are listed with their reason. Results are grouped only with experiments whose other
parameters agree (:func:`check_settings_agree`). For each variant it gives success, collapse and
born-dead rates with 95% Clopper-Pearson intervals, and, where the born-dead theory applies
(ReLU with zero biases and no skip connections), the probability that a width-w, depth-L net
is born dead, 1 - (1 - 2^-w)^L, with the range of rates the theory predicts for that many
replicates (the central 95% of Binomial(replicates, p) / replicates).
``tools/sweep_report.py`` writes the table and figure. No TensorFlow here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from or_gate.architecture import Initializer
from or_gate.figures import variant_colours
from or_gate.runtime import DataError
from or_gate.task import OR_GATE

from .theory import born_dead_probability, born_dead_theory_applies

CONFIDENCE = 0.95
BOUNDS = {"maxval", "minval"}  # a uniform initializer's arguments
TABLE_COLUMNS = (
    "depth",
    "width",
    "variant",
    "activation",
    "initializer",
    "residual",
    "replicates",
    "success_rate",
    "collapse_rate",
    "born_dead_rate",
    "experiment",
)
# Written only where some row differs from the default, so that every table of variants
# without them keeps its bytes.
OPTIONAL_COLUMNS = {"sign_flip": False, "task": OR_GATE}


@dataclass(frozen=True)
class VariantResult:
    experiment: str
    timestamp: str
    depth: int
    width: int
    variant: str
    activation: str
    initializer: str
    residual: bool
    replicates: int
    success_rate: float
    collapse_rate: float
    born_dead_rate: float
    sign_flip: bool = False
    task: str = OR_GATE  # what the nets learned (or_gate/task.py)


def write_table(results: list[VariantResult], path: Path) -> None:
    """``depth_sweep.csv``: one row per depth and variant."""
    from or_gate.files.tables import write_csv

    rows = sorted(results, key=lambda r: (r.depth, r.width, r.variant))
    optional = [
        c for c, default in OPTIONAL_COLUMNS.items() if any(getattr(r, c) != default for r in rows)
    ]
    columns = (*TABLE_COLUMNS, *optional)
    write_csv(path, columns, ([getattr(r, c) for c in columns] for r in rows))


def read_table(path: Path) -> list[VariantResult]:
    from or_gate.files.tables import read_csv

    text = ("experiment", "variant", "activation", "initializer", "task")  # names stay names
    table = read_csv(path, TABLE_COLUMNS, text=text)
    return [VariantResult(timestamp="", **row) for row in table.to_dict("records")]


@dataclass(frozen=True)
class Experiment:
    """One DVC experiment: its name, how it ended, its params and metrics by variant."""

    name: str
    state: str  # success, failed, queued, running (DVC's executor states)
    params: dict
    metrics: dict  # variant -> its metrics/<variant>.json
    timestamp: str = ""
    reason: str = ""  # why it failed, from its log


def load_experiments(source: Path | None, root: Path = Path("."), revs=None) -> list:
    """The experiments of ``revs`` (default HEAD) as ``dvc exp show --json`` gives them (read
    in-process through DVC's API, the call ``dvc.api.exp_show`` makes, which keeps the params'
    types), or a document saved from that command."""
    if source is not None:
        try:
            return json.loads(source.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise DataError(
                f"{source}: cannot read `dvc exp show --json` output ({error})"
            ) from None
    from dvc.repo import Repo

    with Repo.open(str(root)) as repo:
        return [baseline.dumpd() for baseline in repo.experiments.show(revs=revs)]


def _failure_reason(executor: dict) -> str:
    """The stage's own error line from a failed experiment's log, or its exit status."""
    log = Path(((executor.get("local") or {}).get("log")) or "")
    lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
    ours = [line.strip() for line in lines if ": error: " in line or "internal error" in line]
    if ours:
        return ours[-1]
    code = (executor.get("local") or {}).get("returncode")
    return f"failed (exit status {code}; `dvc queue logs` shows why)" if code else "failed"


def experiments_of(document: list) -> list[Experiment]:
    """Every experiment in a ``dvc exp show --json`` document, with how it ended. A failed
    experiment carries its baseline's metrics files in the document (with an error field):
    its state, not its metrics, says it failed."""
    found = []
    for baseline in document:
        for experiment in baseline.get("experiments") or []:
            executor = experiment.get("executor") or {}
            for revision in experiment.get("revs") or []:
                data = revision.get("data") or {}
                params = ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}
                state = executor.get("state") or ("failed" if revision.get("error") else "success")
                metrics = {
                    Path(name).stem: entry["data"]
                    for name, entry in (data.get("metrics") or {}).items()
                    if name.startswith("metrics/") and "data" in entry
                }
                found.append(
                    Experiment(
                        name=revision.get("name") or experiment.get("name") or revision["rev"],
                        state=state,
                        params=params,
                        metrics=metrics,
                        timestamp=str(data.get("timestamp") or ""),
                        reason=_failure_reason(executor) if state == "failed" else "",
                    )
                )
    return found


def finished_experiments(document: list, names: list[str] | None, command: str) -> list:
    """The successful experiments of a ``dvc exp show --json`` document (only those named, if
    any), after saying which are left out and why; refused if their settings disagree."""
    experiments = experiments_of(document)
    if names:
        unknown = set(names) - {e.name for e in experiments}
        if unknown:
            raise DataError(f"no experiment named {', '.join(sorted(unknown))}")
        experiments = [e for e in experiments if e.name in names]
    for experiment in experiments:
        if experiment.state != "success":
            why = experiment.reason or f"not finished ({experiment.state})"
            depth = experiment.params.get("depth")
            print(f"{command}: left out {experiment.name} (depth {depth}): {why}")
    finished = [e for e in experiments if e.state == "success"]
    if not finished:
        raise DataError("no successful experiments; run a sweep first (see --help)")
    check_settings_agree(finished)
    return finished


# What may differ between the experiments of one report: the depth (its x axis), the width
# and the variants (its lines). Everything else must agree, or the report would put results of
# other settings side by side (20 epochs beside 200).
REPORT_AXES = ("depth", "model.width", "variants")


def _flat(params: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in params.items():
        if isinstance(value, dict) and f"{prefix}{key}" not in REPORT_AXES:
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_settings_agree(experiments: list[Experiment]) -> None:
    """Refuse, naming the parameter, experiments whose settings other than the report's axes
    differ; and a variant defined two ways."""
    first = experiments[0]
    settings = {k: v for k, v in _flat(first.params).items() if k not in REPORT_AXES}
    specs: dict[str, tuple] = {}
    for experiment in experiments:
        flat = _flat(experiment.params)
        for key in sorted(set(settings) | {k for k in flat if k not in REPORT_AXES}):
            if flat.get(key) != settings.get(key):
                raise DataError(
                    f"experiments {first.name!r} and {experiment.name!r} differ in {key} "
                    f"({settings.get(key)!r} and {flat.get(key)!r}): a report groups only "
                    "experiments whose other parameters agree; choose with --experiments"
                )
        for variant, spec in (experiment.params.get("variants") or {}).items():
            named = specs.setdefault(variant, (experiment.name, spec))
            if named[1] != spec:
                raise DataError(
                    f"variant {variant!r} is {named[1]} in {named[0]!r} and {spec} in "
                    f"{experiment.name!r}: one name, one definition; choose with --experiments"
                )


def task_of(params: dict) -> str:
    """The task an experiment's params name (the OR gate for those from before the key)."""
    return (params.get("task") or {}).get("name", OR_GATE)


def variant_results(experiments: list[Experiment]) -> list[VariantResult]:
    """The results of every variant of the finished (successful) experiments."""
    results = []
    for experiment in experiments:
        if experiment.state != "success":
            continue
        params = experiment.params
        width = int((params.get("model") or {}).get("width", 2))
        for variant, spec in (params.get("variants") or {}).items():
            values = experiment.metrics.get(variant)
            if not values:
                continue
            results.append(
                VariantResult(
                    experiment=experiment.name,
                    timestamp=experiment.timestamp,
                    depth=int(params["depth"]),
                    width=width,
                    variant=variant,
                    activation=spec.get("activation", ""),
                    initializer=str(Initializer.of(spec.get("initializer", ""))),
                    residual=bool(spec.get("residual", False)),
                    sign_flip=bool(spec.get("sign_flip", False)),
                    # what the experiment ran (its metrics hold only the headline rates)
                    replicates=int(params["replicates"]),
                    success_rate=float(values["success_rate"]),
                    collapse_rate=float(values["collapse_rate"]),
                    born_dead_rate=float(values["born_dead_rate"]),
                    task=task_of(params),
                )
            )
    return results


def one_per_cell(results: list[VariantResult]) -> list[VariantResult]:
    """One result per depth, width and variant. Experiments that agree on every setting give
    the same bytes (the pipeline is deterministic), so a repeat is the same result; a repeat
    that differs is refused."""
    cells: dict[tuple, VariantResult] = {}
    for result in results:
        cell = (result.depth, result.width, result.variant)
        kept = cells.setdefault(cell, result)
        rates = ("success_rate", "collapse_rate", "born_dead_rate", "replicates")
        if any(getattr(kept, r) != getattr(result, r) for r in rates):
            raise DataError(
                f"experiments {kept.experiment!r} and {result.experiment!r} both measure "
                f"{result.variant} at depth {result.depth}, width {result.width}, and disagree; "
                "choose with --experiments"
            )
    return list(cells.values())


def uniform_scale(result: VariantResult) -> float | None:
    """s, for a sigmoid variant whose hidden weights are uniform on [-s, s], else None."""
    if result.activation != "sigmoid" or result.residual:
        return None
    spec = Initializer.parse(result.initializer)
    bounds = dict(spec.arguments)
    if spec.name not in ("uniform", "random_uniform") or set(bounds) not in (set(), BOUNDS):
        return None
    maxval, minval = bounds.get("maxval", 0.05), bounds.get("minval", -0.05)  # Keras' defaults
    return maxval if maxval == -minval > 0 else None


def theory_applies(result: VariantResult) -> bool:
    """The theory counts blocked layers over the OR gate's inputs after its input layer. A
    regression task's single real input reaches the first layer with either sign when there is
    no input layer, where ``theory.born_dead_on_a_line`` holds instead; the sweep table does not
    record whether a variant had the input layer, so it draws no theory for a regression."""
    return result.task == OR_GATE and born_dead_theory_applies(
        result.activation, result.initializer, result.residual, result.sign_flip
    )


def clopper_pearson(rate: float, trials: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    interval = binomtest(round(rate * trials), trials).proportion_ci(CONFIDENCE, method="exact")
    return interval.low, interval.high


def rate_with_interval(rate: float, trials: int) -> str:
    """``0.911 (0.892-0.928)``: a rate and its 95% Clopper-Pearson interval."""
    low, high = clopper_pearson(rate, trials)
    return f"{rate:.3f} ({low:.3f}-{high:.3f})"


def binomial_range(probability: float, trials: int) -> tuple[float, float]:
    """The central 95% of the rates Binomial(trials, probability) / trials gives."""
    from scipy.stats import binom

    tail = (1 - CONFIDENCE) / 2
    low, high = binom.ppf([tail, 1 - tail], trials, probability)
    return low / trials, high / trials


def theory_range(depth: int, trials: int, width: int = 2) -> tuple[float, float]:
    """The central 95% of the rates Binomial(trials, 1 - (1 - 2^-width)^depth) gives."""
    return binomial_range(born_dead_probability(depth, width), trials)


def theory_table(results: list[VariantResult]) -> str:
    lines = [
        "| experiment | variant | depth | width | replicates | born_dead_rate (95% CI) "
        "| collapse_rate (95% CI) | theory 1-(1-2^-width)^depth | theory's 95% range |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(results, key=lambda r: (r.depth, r.width, r.variant)):
        if r.activation != "relu":
            continue
        if theory_applies(r):
            low, high = theory_range(r.depth, r.replicates, r.width)
            theory = f"{born_dead_probability(r.depth, r.width):.3f} | {low:.3f}-{high:.3f}"
        else:
            theory = "does not apply | "
        lines.append(
            f"| {r.experiment} | {r.variant} ({r.initializer}{', residual' * r.residual}"
            f"{', sign-flipped' * r.sign_flip}) "
            f"| {r.depth} | {r.width} | {r.replicates} "
            f"| {rate_with_interval(r.born_dead_rate, r.replicates)} "
            f"| {rate_with_interval(r.collapse_rate, r.replicates)} | {theory} |"
        )
    return "\n".join(lines)


def _label(result: VariantResult, widths: set[int]) -> str:
    return result.variant if len(widths) == 1 else f"{result.variant}, width {result.width}"


def _draw_sigmoid_predictions(panel, results, lines, colours) -> None:
    """A dotted vertical line at the predicted critical depth of each uniform sigmoid variant
    (``tools/analysis/theory.py``), in the variant's colour."""
    from .theory import sigmoid_critical_depth

    for variant, width in lines:
        first = next(r for r in results if (r.variant, r.width) == (variant, width))
        scale = uniform_scale(first)
        if scale is None:
            continue
        colour = colours[variant, width]
        depth = sigmoid_critical_depth(scale, width)
        panel.axvline(depth, color=colour, linestyle=":", linewidth=1.2)
        panel.text(
            depth,
            0.5,
            f" {variant}: theory L* = {depth:.1f}",
            color=colour,
            rotation=90,
            fontsize="x-small",
            va="center",
            ha="right",
        )


def _line_colours(lines: list[tuple[str, int]], widths: set[int]) -> dict:
    """One colour per variant, or per variant and width where the figure has several widths."""
    names = {(v, w): f"{v}@{w}" if len(widths) > 1 else v for v, w in lines}
    by_name = variant_colours(names.values())
    return {line: by_name[name] for line, name in names.items()}


def draw_depth_sweep(results: list[VariantResult], path: Path) -> None:
    """Success and collapse rate against depth, one line per variant (and width), 95% bands,
    and the born-dead theory for every width where it applies."""
    from or_gate.figures import new_figure, save_figure

    import numpy as np

    widths = {r.width for r in results}
    lines = sorted({(r.variant, r.width) for r in results})
    colours = _line_colours(lines, widths)
    many = len(lines) > 4
    figure, panels = new_figure(1, 2, figsize=(13 if many else 11, 4.6), sharey=True)
    depths = np.arange(1, max(r.depth for r in results) + 1)
    for panel, column in zip(panels, ("success_rate", "collapse_rate"), strict=True):
        for variant, width in lines:
            rows = sorted(
                (r for r in results if (r.variant, r.width) == (variant, width)),
                key=lambda r: r.depth,
            )
            colour = colours[variant, width]
            xs = [r.depth for r in rows]
            rates = np.array([getattr(r, column) for r in rows])
            intervals = np.array([clopper_pearson(getattr(r, column), r.replicates) for r in rows])
            panel.plot(
                xs, rates, marker="o", markersize=3, color=colour, label=_label(rows[0], widths)
            )
            panel.fill_between(xs, intervals[:, 0], intervals[:, 1], color=colour, alpha=0.12)
            if column == "collapse_rate" and rows[0].activation == "relu":
                panel.plot(
                    xs,
                    [r.born_dead_rate for r in rows],
                    "x",
                    markersize=4,
                    color=colour,
                    label=f"{_label(rows[0], widths)}: born dead",
                )
        if column == "success_rate":
            _draw_sigmoid_predictions(panel, results, lines, colours)
        if column == "collapse_rate":
            for width in sorted({r.width for r in results if theory_applies(r)}):
                panel.plot(
                    depths,
                    born_dead_probability(depths, width),
                    "k--",
                    linewidth=1,
                    label=f"born dead, theory: 1 - (1 - 2^-{width})^depth",
                )
        panel.set(
            title=column.replace("_", " "), xlabel="depth (hidden layers)", ylim=(-0.05, 1.05)
        )
        panel.set_xticks(depths if len(depths) <= 15 else depths[depths % 5 == 0])
    _label_and_lay_out(figure, panels, results, many)
    save_figure(figure, path)


def _label_and_lay_out(figure, panels, results: list[VariantResult], many: bool) -> None:
    """The y label, the legend (beside the panels when the lines are many) and a task's name
    where it is not the OR gate (the default goes unnamed: the committed figures' bytes)."""
    panels[0].set_ylabel("share of replicates (bands: 95% intervals)")
    tasks = sorted({r.task for r in results} - {OR_GATE})
    if tasks:
        figure.suptitle(f"task: {', '.join(tasks)}", fontsize="medium", y=0.995)
    if many:
        panels[1].legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        figure.subplots_adjust(left=0.06, right=0.78, bottom=0.12, top=0.9, wspace=0.06)
    else:
        panels[1].legend(fontsize="small", loc="center right")
        figure.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.9, wspace=0.06)


def write_report(
    results: list[VariantResult], out_dir: Path, name: str, table: bool = True
) -> None:
    """The table (``<name>.csv``, unless redrawing from it) and figure (``<name>.png``) of a
    sweep's results, and the theory table printed: one result per depth, width and variant."""
    results = one_per_cell(results)
    if not results:
        raise DataError("no finished experiments with metrics; run a sweep first (see --help)")
    if table:
        write_table(results, out_dir / f"{name}.csv")
    draw_depth_sweep(results, out_dir / f"{name}.png")
    depths = sorted({r.depth for r in results})
    print(
        f"sweep_report: {len(depths)} depths ({depths[0]}-{depths[-1]}), "
        f"{len({r.variant for r in results})} variants -> {out_dir}"
    )
    print(theory_table(results))
