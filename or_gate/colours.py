"""One colour per variant, the same in every matplotlib figure and every DVC chart.

DVC's charts (``.dvc/plots/variant_lines.json``) colour lines by the ``variant`` field with
Vega's ``tableau10`` scheme, over the variant names sorted alphabetically (Vega-Lite's
default domain order for a nominal field). The figures take their colours from here, in the
same order, so sigmoid is one colour on the whole ``dvc plots show`` page.
"""

from __future__ import annotations

from collections.abc import Iterable

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
