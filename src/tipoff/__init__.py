"""Tipoff: tells B2B sales reps which accounts are ready to buy, and why."""

__version__ = "0.1.0"
