"""Benchmarks (not tests): scripts that print ratios measured in the same run."""
