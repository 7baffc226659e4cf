"""Benchmarks: pytest-benchmark entries and the peers harness (``python -m benches.peers.run``)."""
