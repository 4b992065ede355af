"""Run every rule's embedded examples through the whole knowledge base.

One test per example, with the id `<rule-id>::<example-name>`, so `pytest -k hypokalemia`
selects one rule's examples. A failure says what was expected, what was concluded and which
rules fired.
"""

from __future__ import annotations

import pytest

from cramp_expert.kb import load_knowledge_base

_KB = load_knowledge_base()
CASES = [(rule, example) for rule in _KB.rules for example in rule.examples]


@pytest.mark.parametrize(("rule", "example"), CASES, ids=[f"{r.id}::{e.name}" for r, e in CASES])
def test_rule_example(consultant, rule, example):  # type: ignore[no-untyped-def]
    outcome = consultant.run_example(consultant.kb.rule(rule.id), example)
    assert not outcome.failures, outcome.describe()
