"""Tipoff against the raw speed of its database, on the same machine, in the same run.

Run `python -m benchmarks --size small` (see `--help`)."""
