"""Benchmarks that compare against a baseline in the same run and report ratios."""
