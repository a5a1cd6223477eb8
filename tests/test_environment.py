"""The same params give the same bytes on any x86-64 CPU: the project pins the kernels.

CPUs are emulated on this one by capping the instruction sets NumPy, oneDNN and XLA may use
(``tests/cpu_emulation.py``). Without the pins, emulated CPUs compute different bytes (so
the emulation is real); with them, every emulated CPU computes exactly the bytes of the
smallest x86-64 CPU, whatever the user's environment says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from or_gate import environment

import pytest
from helpers import REPO, duplicate, fingerprint

NUMPY_ABOVE_AVX2 = "X86_V4 AVX512_ICL AVX512_SPR"
# name -> the environment variables that make this machine behave like that CPU.
EMULATED_CPUS = {
    "this CPU": {},
    "an AVX2 CPU": {
        "NPY_DISABLE_CPU_FEATURES": NUMPY_ABOVE_AVX2,
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "XLA_FLAGS": "--xla_cpu_max_isa=AVX2",
        "TF_ENABLE_ONEDNN_OPTS": "0",
    },
    "an SSE4.2 CPU": {
        "NPY_DISABLE_CPU_FEATURES": "X86_V3 " + NUMPY_ABOVE_AVX2,
        "ONEDNN_MAX_CPU_ISA": "SSE41",
        "XLA_FLAGS": "--xla_cpu_max_isa=SSE4_2",
        "TF_ENABLE_ONEDNN_OPTS": "0",
    },
}
# A user environment that asks for the opposite of every pin.
HOSTILE = {
    "NPY_DISABLE_CPU_FEATURES": "",
    "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_AMX",
    "XLA_FLAGS": "--xla_cpu_max_isa=AVX512 --xla_cpu_enable_fast_math=false",
    "TF_ENABLE_ONEDNN_OPTS": "1",
}


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (*environment.PINNED, "XLA_FLAGS")}
    return {
        **env,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tools'}",
        **extra,
    }


def digests(runs: dict[str, tuple[str, dict]], tmp_path) -> dict[str, dict]:
    """Run every (mode, env) at once (two cores), return each one's digests."""
    processes = {
        name: subprocess.Popen(
            [sys.executable, "tests/cpu_emulation.py", mode, str(tmp_path / f"{i}.keras")],
            cwd=REPO,
            env=clean_env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, (name, (mode, env)) in enumerate(runs.items())
    }
    results = {}
    for name, process in processes.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{name}: {err[-3000:]}"
        results[name] = json.loads(out.strip().splitlines()[-1])
    return results


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the pins are for x86-64 CPUs")
def test_every_emulated_cpu_computes_the_same_bytes_when_pinned(tmp_path):
    runs = {f"unpinned on {cpu}": ("unpinned", env) for cpu, env in EMULATED_CPUS.items()}
    runs |= {f"pinned on {cpu}": ("pinned", env) for cpu, env in EMULATED_CPUS.items()}
    runs["pinned, hostile environment"] = ("pinned", HOSTILE)
    results = digests(runs, tmp_path)
    for name, result in results.items():
        print(name, result)

    floor = results["unpinned on an SSE4.2 CPU"]
    unpinned = [results[f"unpinned on {cpu}"] for cpu in EMULATED_CPUS]
    # The emulation is real: without the pins, some result differs between emulated CPUs
    # in each of the three libraries (XLA training, oneDNN matmul, NumPy math).
    for key in ("trained_weights", "decision_surface", "log10_gradients"):
        assert len({result[key] for result in unpinned}) > 1, key
    # With them, every CPU and environment computes the smallest CPU's bytes.
    for name, result in results.items():
        if name.startswith("pinned"):
            assert result == floor, name
    assert floor["reloaded_equal"] == "True"


def test_pin_overrides_the_users_environment_and_keeps_other_xla_flags():
    environ = dict(HOSTILE)
    environment.pin_environment(environ)
    for name, value in environment.PINNED.items():
        assert environ[name] == value
    assert environ["XLA_FLAGS"].split() == [
        "--xla_cpu_enable_fast_math=false",
        "--xla_cpu_max_isa=SSE4_2",
    ]


def test_numpy_dispatch_list_is_complete_for_the_pinned_numpy():
    from numpy._core._multiarray_umath import __cpu_dispatch__

    assert set(__cpu_dispatch__) == set(environment.NUMPY_DISPATCH_TARGETS)


def test_this_test_process_is_pinned():
    environment.check_pinned()
    settings = environment.observed_settings()
    assert settings["numpy_dispatch_enabled"] == []


def test_a_process_that_loaded_numpy_first_is_refused():
    code = (
        "import sys, numpy\n"
        "from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__\n"
        "if not any(__cpu_features__.get(n) for n in __cpu_dispatch__): sys.exit(3)\n"
        "from or_gate import environment\n"
        "environment.check_pinned()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=clean_env(), capture_output=True, text=True
    )
    if result.returncode == 3:
        pytest.skip("this CPU has none of NumPy's dispatch targets: nothing to refuse")
    assert result.returncode == 1
    assert "numerics not pinned (NumPy dispatch" in result.stderr


@pytest.mark.e2e
@pytest.mark.xdist_group("mini")
def test_every_stage_process_runs_pinned_under_a_hostile_environment(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    before = fingerprint(repo)
    report = tmp_path / "environment.jsonl"
    env = {**os.environ, **HOSTILE, environment.REPORT_VARIABLE: str(report)}
    result = subprocess.run(
        ["dvc", "repro", "-f"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert fingerprint(repo) == before  # the same bytes as under a clean environment
    seen = {}
    for line in report.read_text().splitlines():
        entry = json.loads(line)
        seen[
            (entry["prog"], entry["argv"][entry["argv"].index("--variant") + 1])
            if "--variant" in entry["argv"]
            else (entry["prog"], None)
        ] = entry
    assert set(seen) == {
        ("validate", None),
        ("prepare", None),
        ("train", "sigmoid"),
        ("evaluate", None),
        ("plot", None),
    }
    for stage, entry in seen.items():
        for name, value in environment.PINNED.items():
            assert entry[name] == value, (stage, name)
        assert entry["XLA_FLAGS"].split()[-1] == "--xla_cpu_max_isa=SSE4_2", stage
        assert entry.get("numpy_dispatch_enabled", []) == [], stage
        assert entry.get("tensorflow_onednn_enabled", False) is False, stage
    assert seen[("train", "sigmoid")]["tensorflow_onednn_enabled"] is False
    assert seen[("evaluate", None)]["tensorflow_onednn_enabled"] is False
