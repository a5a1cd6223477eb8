"""The tools' analysis: what runs outside the pipeline, so no stage imports it or depends on it.

* ``gate``: the metrics gate CI runs (``tools/check_metrics.py``) and its rules file;
* ``sweep``: depth sweeps and the atlas, read from DVC's experiments (``tools/sweep_report.py``);
* ``theory``: what theory predicts before any training (born dead, sigmoid's critical depth);
* ``export``: one replicate as a standard, byte-stable ``.keras`` file
  (``tools/export_model.py``).

The tools import it as ``analysis`` (a script's own folder is first on ``sys.path``), the tests
as ``tools.analysis`` (from the repository's root); its modules import each other relatively.
"""
