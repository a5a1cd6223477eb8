"""Load TensorFlow without its start-up noise, keeping anything else it says.

On a CPU-only machine, importing TensorFlow prints about six lines to stderr before any of
the project's own (absl's "All log messages before absl::InitializeLog()", "Could not find
cuda drivers", "failed call to cuInit ... UNKNOWN ERROR (303)", CPU-feature notices). They
bury a stage's one line. :func:`load_tensorflow` imports TensorFlow and Keras and lets
TensorFlow find its devices with stderr captured, then passes on every captured line that is
not one of those known notices, so a real TensorFlow error or warning still reaches the user
(and errors that matter are raised as Python exceptions anyway).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

# Notices TensorFlow prints at start-up on a machine without a GPU; nothing else is dropped.
START_UP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|cudart_stub\.cc:\d+\] Could not find cuda drivers"
    r"|cuda_platform\.cc:\d+\] failed call to cuInit"
    r"|cuda_executor\.cc:\d+\]"
    r"|cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized"
    r"|^To enable the following instructions: .*rebuild TensorFlow"
    r"|port\.cc:\d+\] oneDNN custom operations are on"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
)


def load_tensorflow() -> None:
    """Import TensorFlow and Keras (once per process) without their start-up noise."""
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # INFO and WARNING logs of the C++ side
    sys.stderr.flush()
    real_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow as tf

            tf.config.list_physical_devices()  # where the CUDA probe and its error happen
        finally:
            os.dup2(real_stderr, 2)
            os.close(real_stderr)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines():
                if line.strip() and not START_UP_NOISE.search(line):
                    print(line, file=sys.stderr)
