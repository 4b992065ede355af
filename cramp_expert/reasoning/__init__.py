"""Reasoning about a consultation beyond its result: partial knowledge, how, why not.

`partial` evaluates the rule base in three-valued logic (a fact may still become known), which
drives the interview's choice of questions and WHY, and a result's robustness to unknowns;
`how` follows the trace from a conclusion down to the facts; `whynot` explains a conclusion
that was not reached and finds the smallest verified change that would reach it.
"""

from cramp_expert.reasoning.how import how
from cramp_expert.reasoning.partial import Liveness, PartialEvaluator, PartialOutcome, Truth
from cramp_expert.reasoning.robustness import robustness
from cramp_expert.reasoning.whynot import why_not

__all__ = [
    "Liveness",
    "PartialEvaluator",
    "PartialOutcome",
    "Truth",
    "how",
    "robustness",
    "why_not",
]
