"""One colour per variant: the figures' colours are the ones Vega gives in DVC's charts."""

from __future__ import annotations

import json
import re

from or_gate.figures import variant_colours

from helpers import REPO

VARIANTS = ["sigmoid", "relu", "leaky_relu", "tanh"]


def vega_colours(variants: list[str]) -> dict[str, str]:
    """Render the project's chart template with Vega itself (vl-convert) and read each
    variant's line colour from the SVG."""
    import vl_convert

    template = (REPO / ".dvc/plots/variant_lines.json").read_text()
    rows = [
        {"variant": v, "epoch": e, "loss": float(i + e), "rev": "workspace", "replicate": 0}
        for i, v in enumerate(variants)
        for e in (1, 2)
    ]
    spec = json.loads(
        template.replace('"<DVC_METRIC_DATA>"', json.dumps(rows))
        .replace("<DVC_METRIC_X>", "epoch")
        .replace("<DVC_METRIC_Y>", "loss")
        .replace("<DVC_METRIC_TITLE>", "t")
        .replace("<DVC_METRIC_X_LABEL>", "epoch")
        .replace("<DVC_METRIC_Y_LABEL>", "loss")
    )
    svg = vl_convert.vegalite_to_svg(spec)
    # every line mark: its label names the variant, its stroke is the colour drawn
    lines = re.findall(
        r'aria-label="[^"]*variant: ([a-z_]+);[^"]*"[^>]*stroke="(#[0-9a-f]{6})"', svg
    )
    assert len(lines) == len(variants)
    return dict(lines)


def test_figures_use_the_colours_vega_gives_each_variant():
    assert vega_colours(VARIANTS) == variant_colours(VARIANTS)


def test_a_variant_keeps_its_colour_whatever_the_order_in_params():
    assert variant_colours(["sigmoid", "relu"]) == variant_colours(["relu", "sigmoid"])
