"""Every file the pipeline reads and writes, each format read and written in one place.

* ``data``: the OR-gate data: the raw files (the write-up's format) and the prepared splits;
* ``tables``: CSV tables and JSON documents, numbers in their shortest exact form;
* ``records``: what one variant's training and evaluation leave (history, gradient norms and
  unit activity per layer, predictions, decision surface);
* ``weights``: a variant's trained replicates, stacked in one ``weights.npy`` beside its
  ``architecture.json``.

No TensorFlow here (``weights.replicate_model`` imports it when called).
"""
