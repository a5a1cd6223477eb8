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
# A user environment that asks for the opposite of every pin, and sets every other variable
# known to change the numerics or to crash the start-up: the sealed list of issue 21.
HOSTILE = {
    "NPY_DISABLE_CPU_FEATURES": "",
    "NPY_ENABLE_CPU_FEATURES": "X86_V3",  # beside NPY_DISABLE_CPU_FEATURES: NumPy refuses
    "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_AMX",
    "ONEDNN_DEFAULT_FPMATH_MODE": "BF16",
    "DNNL_DEFAULT_FPMATH_MODE": "BF16",
    "XLA_FLAGS": "--xla_cpu_max_isa=AVX512 --xla_cpu_enable_fast_math=true",
    "TF_XLA_FLAGS": "--tf_xla_auto_jit=2 --tf_xla_cpu_global_jit",
    "TF_ENABLE_ONEDNN_OPTS": "1",
    "TF_SET_ONEDNN_FPMATH_MODE": "BF16",
    "TF_ENABLE_ZENDNN_OPTS": "1",
    "TF_DETERMINISTIC_OPS": "0",
    "KERAS_BACKEND": "jax",  # not installed: Keras would fail to import
    "CUDA_VISIBLE_DEVICES": "0",
}
# Variables in the sealed namespaces that only set logging or thread counts: kept.
HARMLESS_VALUES = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_NUM_INTRAOP_THREADS": "2"}


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not environment.sealed(k)}
    return {
        **env,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": str(REPO),
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


@pytest.mark.slow
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


def test_pinning_removes_every_sealed_variable_and_keeps_the_rest():
    environ = {**HOSTILE, **HARMLESS_VALUES, "PATH": "/bin", "OMP_NUM_THREADS": "1"}
    changed = environment.pin_environment(environ)
    assert environ == {
        **environment.PINNED,
        **HARMLESS_VALUES,
        "PATH": "/bin",
        "OMP_NUM_THREADS": "1",
    }
    assert changed == HOSTILE  # every hostile value is reported as overridden
    assert environment.pin_environment(environ) == {}  # pinning twice changes nothing


def test_a_command_notes_which_of_the_users_variables_it_overrode(tmp_path):
    code = "from or_gate.runtime import run\nrun(lambda argv: print('ran'))\n"
    env = clean_env(XLA_FLAGS="--xla_cpu_enable_fast_math=true", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ran\n"
    assert result.stderr.splitlines() == [
        "-c: note: the project sets its own numerical environment (or_gate/environment.py); "
        "ignored: XLA_FLAGS='--xla_cpu_enable_fast_math=true'"
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


@pytest.mark.slow
@pytest.mark.e2e
def test_every_stage_process_runs_pinned_under_a_hostile_environment(mini_repo, tmp_path):
    repo = duplicate(mini_repo, tmp_path / "repo")
    before = fingerprint(repo)
    report = tmp_path / "environment.jsonl"
    home = keras_json(tmp_path)  # a keras.json that asks for float64 and another epsilon
    env = {**os.environ, **HOSTILE, "HOME": str(home), environment.REPORT_VARIABLE: str(report)}
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
        assert entry["unpinned"] == [], stage
        assert entry.get("numpy_dispatch_enabled", []) == [], stage
        assert entry.get("tensorflow_onednn_enabled", False) is False, stage
    for stage in (("train", "sigmoid"), ("evaluate", None)):
        assert seen[stage]["tensorflow_onednn_enabled"] is False
        assert seen[stage]["keras"] == {
            "backend": "tensorflow",
            "floatx": "float32",
            "epsilon": 1e-7,
        }
    assert "ignored: CUDA_VISIBLE_DEVICES='0', DNNL_DEFAULT_FPMATH_MODE='BF16'" in result.stderr


def keras_json(tmp_path):
    """A home directory whose ~/.keras/keras.json sets float64 and epsilon 1e-3."""
    home = tmp_path / "home"
    (home / ".keras").mkdir(parents=True)
    config = {"floatx": "float64", "epsilon": 0.001, "backend": "tensorflow"}
    (home / ".keras/keras.json").write_text(json.dumps(config))
    return home


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("name", [*HOSTILE, "HOME (keras.json)"])
def test_each_sealed_variable_alone_changes_no_byte(mini_repo, tmp_path, name):
    """`dvc repro -f` under one hostile variable reproduces the committed bytes exactly."""
    repo = duplicate(mini_repo, tmp_path / "repo")
    before = fingerprint(repo)
    hostile = (
        {"HOME": str(keras_json(tmp_path))} if name.startswith("HOME") else {name: HOSTILE[name]}
    )
    env = {**{k: v for k, v in os.environ.items() if not environment.sealed(k)}, **hostile}
    result = subprocess.run(
        ["dvc", "repro", "-f"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert fingerprint(repo) == before, name
