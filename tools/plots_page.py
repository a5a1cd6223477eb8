"""Write the HTML page template that makes ``dvc plots show`` work with no internet.

DVC's own page loads vega, vega-lite and vega-embed from a public CDN, so offline it stays
blank. This writes ``.dvc/plots/offline.html`` (``plots.html_template`` in ``.dvc/config``
points there): the same page with those three libraries inlined, taken from the
vl-convert-python package (``vl_convert.javascript_bundle()``, which bundles Vega, Vega-Lite
and Vega-Embed and sets ``window.vegaEmbed``). The file is committed; to regenerate it after
upgrading vl-convert-python (pinned in pyproject.toml)::

    python tools/plots_page.py --out .dvc/plots/offline.html

``tests/test_plots_browser.py::test_the_committed_page_template_is_what_the_command_writes``
checks the committed file is what this command writes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from or_gate.runtime import StageError, run

PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {refresh_tag}
    <title>DVC Plot</title>
    <!-- vega, vega-lite and vega-embed, inlined from vl-convert-python {version} by
         `python tools/plots_page.py`: no network needed -->
    <script>
{bundle}
    </script>
    <style>
        table {{
            border-spacing: 15px;
        }}
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def render_page() -> str:
    from importlib import metadata

    import vl_convert

    bundle = vl_convert.javascript_bundle()
    for placeholder in ("{plot_divs}", "{scripts}", "{refresh_tag}", "</script>"):
        if placeholder in bundle:  # DVC fills placeholders by plain text replacement
            raise StageError(f"the vega bundle contains {placeholder!r}; cannot inline it")
    return PAGE.format(
        bundle=bundle,
        version=metadata.version("vl-convert-python"),
        refresh_tag="{refresh_tag}",
        plot_divs="{plot_divs}",
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python tools/plots_page.py", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(".dvc/plots/offline.html"))
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render_page(), encoding="utf-8")
    print(f"plots_page: wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    run(main)
