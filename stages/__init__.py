"""The OR-gate depth experiment: pipeline stages and the library they share.

Importing this package pins the numerical kernels of NumPy, oneDNN and XLA (see
``stages/numerics.py``). It must happen before NumPy or TensorFlow load, and ``python -m
stages.<stage>`` imports this package first, so every stage process runs pinned.
"""

from stages.numerics import pin_environment

pin_environment()
