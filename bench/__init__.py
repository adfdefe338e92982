"""Benchmarks: measurements, not tests. Run them with ``python -m bench.<name>``."""
