"""How every command runs (or_gate/runtime.py): no phase is silent, no TensorFlow noise,
and a failure is one line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import quiet_env
from test_pipeline_e2e import NOISE


def test_every_phase_announces_itself_and_says_it_is_still_at_it(capsys):
    import time

    from or_gate.runtime import phase

    with phase("train@x", "compiling", every=0.05):
        time.sleep(0.3)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "train@x: compiling..."
    assert len([line for line in lines if line.startswith("train@x: still compiling (")]) >= 2


@pytest.mark.e2e
def test_a_repro_announces_every_phase_and_prints_no_tensorflow_noise(reproduced_repo):
    log = (reproduced_repo / "repro.log").read_text()
    for announced in (
        "train@relu: 2 replicates of depth 1 (relu, uniform) x 3 epochs x 160 steps",
        "train@relu: loading TensorFlow...",
        "train@relu: drawing the initial weights of 2 replicates...",
        "train@relu: compiling, then training...",
        "train@relu: saving 2 models and the training records...",
        "evaluate: 3 variants x 2 replicates on 7 test rows and the truth table",
        "evaluate: relu: predicting with 2 replicates...",
    ):
        assert announced in log
    assert not [line for line in log.splitlines() if any(n in line for n in NOISE)]
    assert "replicate 0: test predictions" not in log  # one summary line per variant


def test_out_of_memory_is_one_line_naming_what_ran_out():
    code = (
        "from or_gate.runtime import run\n"
        "def main(argv): raise MemoryError('cannot allocate 8 GB')\n"
        "run(main, [])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=quiet_env()
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "-c: error: out of memory (cannot allocate 8 GB); see the stage's plan above"
    ]
