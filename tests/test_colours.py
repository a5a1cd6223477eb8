"""One colour per variant in every figure: the colours Vega gives a nominal field with the
tableau10 scheme (so a figure reads like a Vega chart coloured by variant)."""

from __future__ import annotations

import re

from or_gate.figures import variant_colours

VARIANTS = ["sigmoid", "relu", "leaky_relu", "tanh"]


def vega_colours(variants: list[str]) -> dict[str, str]:
    """Render a chart coloured by variant with Vega itself (vl-convert) and read each
    variant's line colour from the SVG."""
    import vl_convert

    rows = [
        {"variant": v, "epoch": e, "loss": float(i + e)}
        for i, v in enumerate(variants)
        for e in (1, 2)
    ]
    spec = {
        "data": {"values": rows},
        "mark": {"type": "line", "tooltip": True},
        "encoding": {
            "x": {"field": "epoch", "type": "quantitative"},
            "y": {"field": "loss", "type": "quantitative"},
            "color": {"field": "variant", "type": "nominal", "scale": {"scheme": "tableau10"}},
        },
    }
    svg = vl_convert.vegalite_to_svg(spec)
    # every line mark: its label names the variant, its stroke is the colour drawn
    lines = re.findall(
        r'aria-label="[^"]*variant: ([a-z_]+)(?:;[^"]*)?"[^>]*stroke="(#[0-9a-f]{6})"', svg
    )
    assert len(lines) == len(variants)
    return dict(lines)


def test_figures_use_the_colours_vega_gives_each_variant():
    assert vega_colours(VARIANTS) == variant_colours(VARIANTS)


def test_a_variant_keeps_its_colour_whatever_the_order_in_params():
    assert variant_colours(["sigmoid", "relu"]) == variant_colours(["relu", "sigmoid"])
