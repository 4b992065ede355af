"""Helpers for testing a knowledge base and the interview.

Hypothesis strategies generated from the vocabulary (`strategies`), the properties every
consultation must have (`properties`), strategies that fuzz the loaders (`fuzz`), and drivers
that answer the interview from a patient file or a script (`interview`).

Public so that knowledge authors can use the same generators as the project's own tests. Runtime
code never imports this package.
"""

from cramp_expert.testing.interview import PatientAnswers, ScriptedIO, answer_from, prompt_key
from cramp_expert.testing.properties import Properties
from cramp_expert.testing.strategies import (
    in_other_units,
    monotone_changes,
    patient_files,
    seeds,
    shuffled,
    thresholds,
    under_other_names,
)

__all__ = [
    "PatientAnswers",
    "Properties",
    "ScriptedIO",
    "answer_from",
    "in_other_units",
    "monotone_changes",
    "patient_files",
    "prompt_key",
    "seeds",
    "shuffled",
    "thresholds",
    "under_other_names",
]
