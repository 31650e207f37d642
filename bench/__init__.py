"""Benchmarks and the datatrove reference (not part of the installed package)."""
