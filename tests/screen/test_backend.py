"""The screening back ends: the compiled rules equal experta, the record equals the full result's.

- On generated patients, the compiled back end fires exactly the rules experta fires.
- The screening record made from the rules that fired is the projection of the full contract
  result (`summary_of`), for experta's rules and the compiled ones.
- The audit: record 1 and one in 100 after it, and every emergency or urgent red flag, go
  through experta too; a back end that differs from experta is caught as a disagreement.
"""

from __future__ import annotations

import pytest
from hypothesis import given

from cramp_expert.api import Consultant
from cramp_expert.kb import load_knowledge_base
from cramp_expert.patient import normalise_patient
from cramp_expert.screen.backend import AuditDisagreement, Screener
from cramp_expert.screen.compiled import CompiledRules
from cramp_expert.screen.summary import Summariser, severe, summary_of
from cramp_expert.source import Document
from cramp_expert.testing import patient_files
from cramp_expert.verify.sampler import Sampler
from tests.unit.test_rule_loader import concluded_and_excluded_kb

KB = load_knowledge_base()
PATIENTS = patient_files(KB)
COMPILED = CompiledRules(KB)
SUMMARISER = Summariser(KB)


@given(PATIENTS)
def test_the_compiled_rules_fire_exactly_what_experta_fires(consultant, patient):
    facts = normalise_patient(patient, KB.knowledge)
    by_experta = [firing.rule_id for firing in consultant.engine.run(facts.values)]
    by_compiled = COMPILED.fired(facts.values)
    assert set(by_compiled) == set(by_experta)
    assert len(by_compiled) == len(set(by_compiled))  # each rule once


@given(PATIENTS)
def test_the_screening_record_is_the_full_results_projection(consultant, patient):
    facts = normalise_patient(patient, KB.knowledge)
    result = consultant.consult_facts(facts, with_robustness=False).to_dict()
    expected = summary_of(result)
    fired = [entry["rule"] for entry in result["trace"]]
    assert SUMMARISER.summary(facts, fired) == expected
    assert SUMMARISER.summary(facts, COMPILED.fired(facts.values)) == expected


def test_compiled_and_experta_agree_on_a_thousand_seeded_patients(consultant):
    # Seeded bulk patients (numbers on and around every threshold), beside hypothesis' search.
    for patient in Sampler.for_kb(KB, 17).patients(1000):
        facts = normalise_patient(patient, KB.knowledge)
        by_experta = {firing.rule_id for firing in consultant.engine.run(facts.values)}
        assert set(COMPILED.fired(facts.values)) == by_experta, patient


def _patients(count: int, seed: int = 3):
    return [normalise_patient(p, KB.knowledge) for p in Sampler.for_kb(KB, seed).patients(count)]


def test_the_audit_takes_record_1_one_in_100_and_every_severe_red_flag(consultant):
    screener = Screener(consultant, "compiled")
    patients = _patients(250)
    audited = []
    for number, facts in enumerate(patients, 1):
        record = screener.screen(facts, number)
        assert record.pop("audited", False) == (number in (1, 101, 201) or severe(record))
        audited.append(number in (1, 101, 201) or severe(record))
    assert screener.audited == sum(audited)
    assert any(severe(screener.screen(p, 2)) for p in patients)  # the share is not all severe


def test_a_back_end_that_differs_from_experta_is_caught(consultant, monkeypatch):
    screener = Screener(consultant, "compiled")
    facts = next(
        f for f in _patients(200) if severe(Screener(consultant).screen(f, 2))
    )  # a patient with an emergency or urgent red flag: always audited
    real = screener.compiled.fired

    def drops_one(values):
        return real(values)[1:]

    def adds_one(values):
        return [*real(values), "x-not-a-rule-that-fired"]

    monkeypatch.setattr(screener.compiled, "fired", drops_one)
    with pytest.raises(AuditDisagreement, match="rules fired by experta only"):
        screener.screen(facts, 2)
    monkeypatch.setattr(screener.compiled, "fired", real)
    monkeypatch.setattr(screener.compiled, "fired", adds_one)
    with pytest.raises(AuditDisagreement, match="compiled back end only: x-not-a-rule"):
        screener.screen(facts, 2)


def test_the_compiled_back_end_is_always_audited(consultant):
    with pytest.raises(ValueError, match="audited in every run"):
        Screener(consultant, "compiled", audit_every=0)
    with pytest.raises(ValueError, match="engine must be one of"):
        Screener(consultant, "fast")


def test_an_id_both_concluded_and_excluded_is_warned_as_in_the_full_result(tmp_path):
    # W100 in the full result and the record (the bundled rules never raise it).
    consultant = Consultant(concluded_and_excluded_kb(tmp_path))
    screener = Screener(consultant, "compiled")
    for age, warned in ((75, True), (65, False)):
        facts = consultant.read(Document("<test>", {"id": "k", "age": age}, {}))
        full = consultant.consult_facts(facts, with_robustness=False).to_dict()
        record = screener.screen(facts, 1)  # record 1: audited, experta's record compared
        assert record.pop("audited") is True
        assert record == summary_of(full)
        assert ("W100" in record["warnings"]) is warned
