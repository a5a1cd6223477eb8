"""Pin the numerical kernels, so that the same params give the same bytes on any x86-64 CPU.

NumPy, oneDNN and XLA each pick their machine code by the CPU they run on, and the faster
paths round differently (wider vectors sum in another order, FMA rounds once instead of
twice, AVX-512 builds of ``log``/``exp`` are other approximations). Measured on an AMD EPYC
with AVX-512 against results made on a machine without it, and on an Intel Xeon with AMX:

* TensorFlow's oneDNN graph rewrites (on by default on CPUs with AVX-512 VNNI, BF16 or AMX)
  changed the eager gradient norms in the last digits -> ``TF_ENABLE_ONEDNN_OPTS=0``;
* oneDNN's matrix multiply, which TensorFlow's Eigen kernels call even with those rewrites
  off, gave other float32 decision surfaces under AVX-512 than under AVX2 or SSE4.1 ->
  ``ONEDNN_MAX_CPU_ISA=SSE41``;
* XLA compiles the training loop for the host CPU: capped at AVX2 or above it uses FMA and
  the trained weights differ from a CPU without FMA -> ``--xla_cpu_max_isa=SSE4_2``, which
  every x86-64 CPU that TensorFlow supports has (and which measured no slower here);
* NumPy 2.4 dispatches ``log10``, ``exp``, ``tanh``, ... to X86_V3 / X86_V4 / AVX512 builds
  whose results differ in the last bit -> ``NPY_DISABLE_CPU_FEATURES`` keeps the baseline.

The number of intra-op threads changed nothing (1, 2 and 64 threads gave the same bytes).

These are set by :func:`pin_environment`, which ``or_gate/__init__.py`` calls, so they are in
force before any stage module imports NumPy or TensorFlow, whatever the user's environment
says (a conflicting value is overwritten). :func:`check_pinned` verifies it in the process
itself; every stage calls it through ``or_gate.runtime.run``. Only x86-64 is pinned: on ARM
or macOS the kernels differ anyway, and only the metrics gate's tolerances are promised there
(not measured yet).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import MutableMapping

# NumPy 2.4's dispatch targets above its X86_V2 baseline (numpy._core._multiarray_umath.
# __cpu_dispatch__). A name NumPy does not know is ignored, so the list is checked after
# import instead (check_pinned), and by tests/test_environment.py against the pinned NumPy.
NUMPY_DISPATCH_TARGETS = ("X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR")
XLA_ISA_FLAG = "--xla_cpu_max_isa"
XLA_ISA = "SSE4_2"

PINNED = {
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "NPY_DISABLE_CPU_FEATURES": " ".join(NUMPY_DISPATCH_TARGETS),
}

# Set this to a file path to have every stage append a JSON line with the settings it ran
# under (tests/test_environment.py uses it to see inside each stage process).
REPORT_VARIABLE = "OR_GATE_NUMERICS_REPORT"


def pinned_xla_flags(current: str) -> str:
    """``current`` XLA_FLAGS with any ISA cap replaced by the project's."""
    kept = [flag for flag in current.split() if not flag.startswith(XLA_ISA_FLAG)]
    return " ".join([*kept, f"{XLA_ISA_FLAG}={XLA_ISA}"])


def pin_environment(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set the variables above in ``environ`` (the process's own by default)."""
    environ.update(PINNED)
    environ["XLA_FLAGS"] = pinned_xla_flags(environ.get("XLA_FLAGS", ""))


def observed_settings() -> dict:
    """What is actually in force in this process."""
    settings = {name: os.environ.get(name) for name in (*PINNED, "XLA_FLAGS")}
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

        settings["numpy_dispatch_enabled"] = [
            name for name in __cpu_dispatch__ if __cpu_features__.get(name)
        ]
    if "tensorflow" in sys.modules:
        from tensorflow.python.util import _pywrap_util_port

        settings["tensorflow_onednn_enabled"] = bool(_pywrap_util_port.IsMklEnabled())
    return settings


def check_pinned() -> None:
    """Raise RuntimeError if a setting is not in force (e.g. NumPy was imported first)."""
    settings = observed_settings()
    wrong = [name for name, value in PINNED.items() if settings[name] != value]
    if f"{XLA_ISA_FLAG}={XLA_ISA}" not in (settings["XLA_FLAGS"] or "").split():
        wrong.append("XLA_FLAGS")
    if settings.get("numpy_dispatch_enabled"):
        wrong.append(f"NumPy dispatch {settings['numpy_dispatch_enabled']}")
    if settings.get("tensorflow_onednn_enabled"):
        wrong.append("TensorFlow oneDNN")
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
