"""The pipeline's stages, one thin script each; ``dvc.yaml`` runs them as
``python -E -m stages.<name>`` from the checkout's root, so each runs that checkout's
``or_gate`` (``or_gate/environment.py`` says why and checks it)."""
