"""Command-line tools (benchmarks, evaluation, training) on top of the ml library; run as ``python -m ml.cli.<tool>``."""
