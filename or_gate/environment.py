"""What runs is what the record says: the same numerics, this checkout's code, the pinned versions.

DVC records the params, the code's hashes and the pinned versions (``requirements.txt``) of
every run. Three things could make a run compute something else than that record says, and
this module rules each out in every command (:func:`check`, called by ``or_gate.runtime.run``).

**The environment.** NumPy, oneDNN and XLA pick their machine code by the CPU they run on, and
the faster paths round differently (wider vectors sum in another order, FMA rounds once
instead of twice, AVX-512 builds of ``log``/``exp`` are other approximations). Measured on an
AMD EPYC with AVX-512 against results made on a machine without it, and on an Intel Xeon with
AMX:

* TensorFlow's oneDNN graph rewrites (on by default on CPUs with AVX-512 VNNI, BF16 or AMX)
  changed the eager gradient norms in the last digits -> ``TF_ENABLE_ONEDNN_OPTS=0``;
* oneDNN's matrix multiply, which TensorFlow's Eigen kernels call even with those rewrites
  off, gave other float32 decision surfaces under AVX-512 than under AVX2 or SSE4.1 ->
  ``ONEDNN_MAX_CPU_ISA=SSE41`` (and its float math mode strict);
* XLA compiles the training loop for the host CPU: capped at AVX2 or above it uses FMA and
  the trained weights differ from a CPU without FMA -> ``--xla_cpu_max_isa=SSE4_2``, which
  every x86-64 CPU that TensorFlow supports has (and which measured no slower here);
* NumPy 2.4 dispatches ``log10``, ``exp``, ``tanh``, ... to X86_V3 / X86_V4 / AVX512 builds
  whose results differ in the last bit -> ``NPY_DISABLE_CPU_FEATURES`` keeps the baseline.

Users' variables reach the same knobs and more: ``XLA_FLAGS=--xla_cpu_enable_fast_math=true``
changed 44 of 75 trained weights, ``TF_XLA_FLAGS=--tf_xla_auto_jit=2`` all of them,
TensorFlow reads ~90 ``TF_*`` variables (mixed precision, ZenDNN, oneDNN's float math mode,
...), ``NPY_ENABLE_CPU_FEATURES`` beside the pinned ``NPY_DISABLE_CPU_FEATURES`` makes NumPy
refuse to import, ``KERAS_BACKEND`` picks another framework, and a visible GPU would move the
arithmetic off the CPU. So :func:`pin_environment` removes every variable of the namespaces
in :data:`SEALED_PREFIXES`, except the few that only set logging or thread counts
(:data:`HARMLESS`: 1, 2 and 64 threads gave the same bytes), then sets :data:`PINNED`. It runs
when ``or_gate`` is imported (``or_gate/__init__.py``), before any module imports NumPy or
TensorFlow; a command notes on stderr which of the user's values it overrode
(:func:`overridden_note`). Keras' float type and epsilon come from ``~/.keras/keras.json``,
not from a variable: ``or_gate.runtime.load_tensorflow`` sets them to Keras' defaults and
:func:`check_pinned` verifies them. The interpreter's own variables (``PYTHONPATH``,
``PYTHONHASHSEED``, ...) do not reach a stage: ``dvc.yaml`` runs them with ``python -E``.
BLAS (NumPy's OpenBLAS) is left alone: the pipeline's outputs were identical with its
Katmai, Haswell and SkylakeX kernels. Only x86-64 is pinned: on ARM or macOS the kernels
differ anyway, and only the metrics gate's tolerances are promised there (not measured yet).

**The code.** A stage must run the library of the checkout DVC runs it in (the workspace, a
queued or ``--temp`` experiment's copy under ``.dvc/tmp/exps/``, a CI clone): ``dvc.yaml``
runs stages as ``python -E -m stages.<name>`` from the checkout's root, which puts that
checkout first on ``sys.path``, and :func:`check_checkout` refuses a command whose ``or_gate``
was imported from elsewhere (an editable install of another checkout, a plain ``pip
install .``).

**The versions.** ``requirements.txt`` pins every package that computes or writes a result,
and is a dependency of every stage; :func:`check_versions` refuses to run with other versions
installed, so the pins DVC records are the versions that ran.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import MutableMapping
from pathlib import Path

# NumPy 2.4's dispatch targets above its X86_V2 baseline (numpy._core._multiarray_umath.
# __cpu_dispatch__). A name NumPy does not know is ignored, so the list is checked after
# import instead (check_pinned), and by tests/test_environment.py against the pinned NumPy.
NUMPY_DISPATCH_TARGETS = ("X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR")
XLA_ISA = "SSE4_2"

PINNED = {
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "ONEDNN_DEFAULT_FPMATH_MODE": "STRICT",
    "NPY_DISABLE_CPU_FEATURES": " ".join(NUMPY_DISPATCH_TARGETS),
    "XLA_FLAGS": f"--xla_cpu_max_isa={XLA_ISA}",  # the whole value: no user flag is kept
    "KERAS_BACKEND": "tensorflow",
    "CUDA_VISIBLE_DEVICES": "",  # the CPU, even where TensorFlow could find a GPU
}
# Every variable in these namespaces is removed, unless pinned above or harmless below.
SEALED_PREFIXES = ("TF_", "XLA_", "ONEDNN_", "DNNL_", "NPY_", "KERAS_", "CUDA_")
HARMLESS = re.compile(
    r"TF_CPP_MIN_LOG_LEVEL|TF_CPP_MAX_VLOG_LEVEL|TF_CPP_VMODULE"  # logging only
    r"|TF_NUM_INTEROP_THREADS|TF_NUM_INTRAOP_THREADS"  # thread counts: the same bytes
)
# TF_ is also Terraform's namespace (TF_CLI_CONFIG_FILE, TF_VAR_*): its variables are removed
# too (harmless), but the note names only those TensorFlow's own families read.
TENSORFLOW_FAMILIES = re.compile(
    r"TF_(XLA|ENABLE|SET|DETERMINISTIC|AUTO_MIXED_PRECISION|FP16|CUDNN|GPU|ONEDNN|MKL|USE"
    r"|DISABLE|MATMUL|CPU|OVERRIDE|NUM)_"
)
# Keras' configuration (keras.json) that the arithmetic reads: its defaults.
KERAS_FLOATX, KERAS_EPSILON = "float32", 1e-7

# Set this to a file path to have every command append a JSON line with the settings it ran
# under (tests/test_environment.py uses it to see inside each stage process).
REPORT_VARIABLE = "OR_GATE_NUMERICS_REPORT"

# What pin_environment() changed in this process's environment: name -> the user's value.
_overridden: dict[str, str] = {}


def sealed(name: str) -> bool:
    """Whether the project decides this variable (pins or removes it)."""
    return name in PINNED or (name.startswith(SEALED_PREFIXES) and not HARMLESS.fullmatch(name))


def pin_environment(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Remove the sealed variables from ``environ`` (the process's own by default) and set the
    pins; return the user's values that this changed."""
    changed = {
        name: value for name, value in environ.items() if sealed(name) and PINNED.get(name) != value
    }
    for name in [name for name in environ if sealed(name)]:
        del environ[name]
    environ.update(PINNED)
    if environ is os.environ:
        _overridden.update(changed)
    return changed


def overridden_note() -> str | None:
    """One line naming the user's variables this process overrode, or None."""
    noted = {
        name: value
        for name, value in _overridden.items()
        if not name.startswith("TF_") or name in PINNED or TENSORFLOW_FAMILIES.match(name)
    }
    if not noted:
        return None
    names = ", ".join(f"{name}={value!r}" for name, value in sorted(noted.items()))
    return (
        f"note: the project sets its own numerical environment (or_gate/environment.py); "
        f"ignored: {names}"
    )


def observed_settings() -> dict:
    """What is actually in force in this process."""
    settings = {name: os.environ.get(name) for name in PINNED}
    settings["unpinned"] = sorted(
        name for name in os.environ if sealed(name) and name not in PINNED
    )
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

        settings["numpy_dispatch_enabled"] = [
            name for name in __cpu_dispatch__ if __cpu_features__.get(name)
        ]
    if "tensorflow" in sys.modules:
        from tensorflow.python.util import _pywrap_util_port

        settings["tensorflow_onednn_enabled"] = bool(_pywrap_util_port.IsMklEnabled())
    if "keras" in sys.modules:
        import keras

        settings["keras"] = {
            "backend": keras.config.backend(),
            "floatx": keras.config.floatx(),
            "epsilon": keras.config.epsilon(),
        }
    return settings


def check_pinned() -> None:
    """Raise RuntimeError if a setting is not in force (e.g. NumPy was imported first)."""
    settings = observed_settings()
    wrong = [name for name, value in PINNED.items() if settings[name] != value]
    wrong += settings["unpinned"]
    if settings.get("numpy_dispatch_enabled"):
        wrong.append(f"NumPy dispatch {settings['numpy_dispatch_enabled']}")
    if settings.get("tensorflow_onednn_enabled"):
        wrong.append("TensorFlow oneDNN")
    keras_settings = settings.get("keras")
    expected = {"backend": "tensorflow", "floatx": KERAS_FLOATX, "epsilon": KERAS_EPSILON}
    if keras_settings is not None and keras_settings != expected:
        wrong.append(f"Keras configuration {keras_settings}")
    if wrong:
        raise RuntimeError(
            f"numerics not pinned ({', '.join(wrong)}): import the 'or_gate' package before "
            "NumPy or TensorFlow, so or_gate/environment.py can pin them"
        )


def report(prog: str) -> None:
    """Append this process's settings to the file named by ``OR_GATE_NUMERICS_REPORT``."""
    path = os.environ.get(REPORT_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"prog": prog, "argv": sys.argv, **observed_settings()}) + "\n")


# -- The code and the versions that run ----------------------------------------------------------


def library_checkout() -> Path:
    """The checkout whose ``or_gate`` this process imported (the folder holding ``or_gate/``)."""
    return Path(__file__).resolve().parents[1]


def command_checkout() -> Path | None:
    """The checkout of the running command: the folder above its ``stages/`` or ``tools/``
    script (None for ``python -c`` and the like)."""
    script = getattr(sys.modules.get("__main__"), "__file__", None)
    return Path(script).resolve().parents[1] if script else None


def check_checkout() -> str | None:
    """What is wrong if this command's ``or_gate`` is not its own checkout's, else None."""
    command, library = command_checkout(), library_checkout()
    if command is None or command == library or not (command / "or_gate").is_dir():
        return None
    return (
        f"this command is {command}'s but imported or_gate from {library}: a stage must run "
        "its own checkout's code (dvc.yaml runs `python -E -m stages.<name>` from the "
        "checkout's root; run a tool from its checkout after `python -m pip install -e .` there)"
    )


PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;#]+)")


def pinned_versions(checkout: Path) -> dict[str, str]:
    """``name==version`` lines of the checkout's requirements.txt."""
    path = checkout / "requirements.txt"
    if not path.is_file():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    return {m[1].split("[")[0]: m[2] for line in lines if (m := PIN.match(line.strip()))}


def check_versions(checkout: Path) -> str | None:
    """What is wrong if an installed version differs from the checkout's pins, else None."""
    from importlib.metadata import PackageNotFoundError, version

    for name, pinned in pinned_versions(checkout).items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed"
        if installed != pinned:
            return (
                f"{name} {installed} is installed, requirements.txt pins {pinned}: the pins "
                "decide the bytes DVC records (`python -m pip install -e .` installs them)"
            )
    return None
