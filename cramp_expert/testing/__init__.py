"""Helpers for testing a knowledge base and the interview.

Hypothesis strategies generated from the vocabulary, and drivers that answer the interview from
a patient file or a script.

Public so that knowledge authors can use the same generators as the project's own tests. Runtime
code never imports this package.
"""

from cramp_expert.testing.interview import PatientAnswers, ScriptedIO, answer_from, prompt_key
from cramp_expert.testing.strategies import patient_files, thresholds

__all__ = [
    "PatientAnswers",
    "ScriptedIO",
    "answer_from",
    "patient_files",
    "prompt_key",
    "thresholds",
]
