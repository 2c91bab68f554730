"""Reproducible performance scripts; see benchmarks/README.md."""
