"""The OR-gate depth experiment: one module per DVC stage, plus the pieces they share."""
