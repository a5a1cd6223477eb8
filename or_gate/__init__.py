"""The OR-gate depth experiment's library: what the pipeline's stages and the tools share.

Importing this package pins the numerical kernels of NumPy, oneDNN and XLA
(``or_gate/numerics.py``). It must happen before NumPy or TensorFlow load: every stage script
and tool imports ``or_gate`` first, so every process that makes a result runs pinned.
"""

from or_gate.numerics import pin_environment

pin_environment()
