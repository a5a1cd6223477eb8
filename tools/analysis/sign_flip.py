"""Rister and Rubin's sign flipping, measured at the atlas's depths beside the atlas's nets.

The ``sign_flip`` sweep (docs/fixes.md) trains the write-up's ReLU net (uniform weights) and He
initialisation with ``sign_flip: true`` at 14 of the atlas's depths, 256 replicates a cell,
from the same seeds as the atlas (replicate k: seed 7 + k), so each flipped net is an atlas
net with some of its units' signs changed. The sweep also retrains the unflipped ``relu``
variant, whose cells must equal the atlas's bit for bit: :func:`table` refuses the tables if
they do not.
"""

from __future__ import annotations

from pathlib import Path

from or_gate.runtime import DataError

from .outcomes import read_table as read_outcomes
from .sweep import read_table

# (name in the tables, the atlas's variant, the flipped variant)
PAIRS = (("uniform", "relu", "relu_flip"), ("He", "relu_he", "relu_he_flip"))
RATES = ("success_rate", "collapse_rate", "born_dead_rate")


def _cells(root: Path) -> tuple[dict, dict, dict, list[int]]:
    flipped = {(r.depth, r.variant): r for r in read_table(root / "plots/sign_flip/sign_flip.csv")}
    atlas = {(r.depth, r.variant): r for r in read_table(root / "plots/atlas/atlas.csv")}
    for (depth, variant), result in flipped.items():
        if variant == "relu" and any(
            getattr(result, rate) != getattr(atlas[depth, variant], rate) for rate in RATES
        ):
            raise DataError(
                f"plots/sign_flip/sign_flip.csv: relu at depth {depth} is not the atlas's "
                "(the same seeds must give the same nets): rerun one of the sweeps"
            )
    outcomes = {
        (o.depth, o.variant): o.counts
        for path in ("plots/sign_flip/sign_flip_outcomes.csv", "plots/atlas/atlas_outcomes.csv")
        for o in read_outcomes(root / path)
    }
    return flipped, atlas, outcomes, sorted({depth for depth, _ in flipped})


def table(root: Path) -> str:
    """Per depth: success / collapse of each initialiser, without and with the flip, and the
    share of the flipped nets that die in training."""
    flipped, atlas, outcomes, depths = _cells(root)
    header = ["depth"]
    for name, _, _ in PAIRS:
        header += [name, f"{name}, flipped", f"{name}, flipped: died in training"]
    lines = [f"| {' | '.join(header)} |", "|---" * len(header) + "|"]
    for depth in depths:
        row = [str(depth)]
        for _, plain, flip in PAIRS:
            before, after = atlas[depth, plain], flipped[depth, flip]
            died = outcomes[depth, flip]["died_in_training"] / after.replicates
            row += [
                f"{before.success_rate:.2f} / {before.collapse_rate:.2f}",
                f"{after.success_rate:.2f} / {after.collapse_rate:.2f}",
                f"{died:.2f}",
            ]
        lines.append(f"| {' | '.join(row)} |")
    replicates = sorted({r.replicates for r in flipped.values()})
    lines.append(
        f"\n(success / collapse, width 2, {', '.join(map(str, replicates))} replicates per cell; "
        "without the flip from `plots/atlas/atlas.csv`, with it from "
        "`plots/sign_flip/sign_flip.csv` and `sign_flip_outcomes.csv`.)"
    )
    return "\n".join(lines)


def claims(root: Path, depth: int = 10) -> str:
    """What the sign-flip tables say, as sentences, every number read from them; stops if a
    table no longer shows a claim's direction."""
    flipped, atlas, outcomes, depths = _cells(root)
    he, rai = atlas[depth, "relu_he"], atlas[depth, "relu_rai"]
    he_flip, uniform_flip = flipped[depth, "relu_he_flip"], flipped[depth, "relu_flip"]
    alive_depths = [
        d for d in depths if all(flipped[d, f].born_dead_rate == 0 for _, _, f in PAIRS)
    ]
    dead_again = [
        (d, flipped[d, "relu_flip"].born_dead_rate)
        for d in depths
        if flipped[d, "relu_flip"].born_dead_rate > 0
    ]
    he_never_dead = all(flipped[d, "relu_he_flip"].born_dead_rate == 0 for d in depths)
    deepest = depths[-1]
    he_deep, rai_deep = flipped[deepest, "relu_he_flip"], atlas[deepest, "relu_rai"]
    holds = {
        "He with the flip succeeds more often than RAI": he_flip.success_rate > rai.success_rate,
        "the flip helps uniform less than He": uniform_flip.collapse_rate > he_flip.collapse_rate,
        "He with the flip is never born dead": he_never_dead,
        "He with the flip beats RAI at the deepest depth": he_deep.success_rate
        > rai_deep.success_rate,
        f"He with the flip fails at depth {depth} only by dying in training": outcomes[
            depth, "relu_he_flip"
        ]["died_in_training"]
        == he_flip.replicates - outcomes[depth, "relu_he_flip"]["success"],
    }
    broken = [claim for claim, true in holds.items() if not true]
    if broken:
        raise DataError(f"plots/sign_flip/sign_flip.csv no longer shows: {'; '.join(broken)}")

    def died(cell) -> float:
        return outcomes[cell]["died_in_training"] / flipped[cell].replicates

    return "\n".join(
        [
            f"- No flipped net is born dead at depths {alive_depths[0]} to {alive_depths[-1]}, "
            "as the scheme guarantees; with the write-up's uniform weights born dead returns at "
            + ", ".join(f"depth {d} ({rate:.3f})" for d, rate in dead_again)
            + ". He-initialised flipped nets are never born dead.",
            f"- At depth {depth}, He initialisation with the flip succeeds in "
            f"{he_flip.success_rate:.3f} and collapses in {he_flip.collapse_rate:.3f}, against "
            f"{he.success_rate:.3f} and {he.collapse_rate:.3f} without it and RAI's "
            f"{rai.success_rate:.3f} and {rai.collapse_rate:.3f}; its failures are nets that "
            f"died in training ({died((depth, 'relu_he_flip')):.3f}).",
            f"- The write-up's uniform weights gain less: at depth {depth} the flipped nets "
            f"succeed in {uniform_flip.success_rate:.3f} and "
            f"{died((depth, 'relu_flip')):.3f} die in training.",
            f"- At depth {deepest}, He with the flip still succeeds in "
            f"{he_deep.success_rate:.3f} (RAI: {rai_deep.success_rate:.3f}); "
            f"{died((deepest, 'relu_he_flip')):.3f} die in training and "
            f"{outcomes[deepest, 'relu_he_flip']['stalled'] / he_deep.replicates:.3f} stall.",
        ]
    )


def headline(root: Path, depth: int = 10) -> str:
    """The README's one sentence: the flip against He alone and RAI at ``depth``."""
    flipped, atlas, _, _ = _cells(root)
    he_flip, he, rai = (
        flipped[depth, "relu_he_flip"],
        atlas[depth, "relu_he"],
        atlas[depth, "relu_rai"],
    )
    if not he_flip.success_rate > rai.success_rate > he.success_rate:
        raise DataError(
            f"plots/sign_flip/sign_flip.csv no longer shows the flip beating RAI at depth {depth}"
        )
    return (
        f"- Rister and Rubin's sign flipping (each unit's sign chosen so that it is active on at "
        f"least half of the training rows) with He initialisation succeeds at depth {depth} in "
        f"{he_flip.success_rate:.3f}, against {he.success_rate:.3f} for He alone and "
        f"{rai.success_rate:.3f} for RAI (256 replicates a cell, `plots/sign_flip/sign_flip.csv`)."
    )
