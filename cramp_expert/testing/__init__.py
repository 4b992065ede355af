"""Helpers for testing a knowledge base: hypothesis strategies generated from the vocabulary.

Public so that knowledge authors can use the same generators as the project's own tests. Runtime
code never imports this package.
"""

from cramp_expert.testing.strategies import patient_files, thresholds

__all__ = ["patient_files", "thresholds"]
