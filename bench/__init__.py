"""vodstack benchmarks: each prints a table and ratios against a baseline run in the same run."""
