"""Benchmarks of Vigil, run against a production-style stack on this machine."""
