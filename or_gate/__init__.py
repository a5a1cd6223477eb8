"""The OR-gate depth experiment's library: what the pipeline's stages and the tools share.

Importing this package pins the numerical kernels of NumPy, oneDNN and XLA
(``or_gate/environment.py``). It must happen before NumPy or TensorFlow load: every stage
script and tool imports ``or_gate`` first, so every process that makes a result runs pinned.

The modules, bottom up (each imports only those above it):

* ``environment``: the pinned numerical environment;
* ``runtime``: how every command runs: its entry point, errors, arguments, progress;
* ``dvc_yaml``: YAML (``params.yaml`` above all) read exactly as DVC reads it;
* ``task``: what the nets learn, the OR gate or a regression target, and how each is scored;
* ``params``: ``params.yaml``, declared once, validated, its error messages;
* ``architecture``: the network described without TensorFlow (layers, initializers, layout);
* ``plan``: what a run will need (memory, chunks of epochs), said before it starts;
* ``files``: every file format the pipeline reads and writes;
* ``model``: the network in TensorFlow: Keras model, initial weights, replicates stacked;
* ``training``: the compiled training loop and the diagnostics it records;
* ``evaluation``: the metrics;
* ``figures``: the figures, the data of DVC's charts and the variants' colours;
* ``analysis``: the tools' analysis (metrics gate, sweeps, theory, export), which no stage
  imports.
"""

from or_gate.environment import pin_environment

pin_environment()
