"""Every rule fires on an embedded example and on a generated patient."""

from __future__ import annotations

import pytest

from cramp_expert.verify.coverage import coverage, render


@pytest.fixture(scope="module")
def table(kb):
    return coverage(kb)


def test_every_rule_fires_on_an_embedded_example(table):
    assert [c.rule.id for c in table.rules if not c.examples] == []


def test_every_rule_fires_on_a_generated_patient(table):
    # Random patients first; a rule none of them reaches is searched for, and the patient
    # found is a generated patient too (a patient file, normalised and evaluated like any).
    assert [c.rule.id for c in table.rules if c.witness is None] == []
    assert all(c.source in ("generated", "search") for c in table.rules)
    random_share = sum(1 for c in table.rules if c.generated) / len(table.rules)
    assert random_share > 0.8, "random patients reach too few rules: the generator has decayed"


def test_the_patients_found_by_search_make_the_engine_fire_the_rule(table, consultant):
    for entry in table.rules:
        if entry.source == "search":
            fired = {f.rule_id for f in consultant.engine.run(entry.witness.facts)}
            assert entry.rule.id in fired, entry.rule.id


def test_the_report_names_every_rule_and_says_what_covers_it(table, kb):
    text = render(table)
    for rule in kb.rules:
        assert f"\n{rule.id} " in text
    assert f"{len(kb.rules)}/{len(kb.rules)} rules fire on an embedded example" in text
    assert "Not covered" not in text
