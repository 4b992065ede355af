"""Three-valued evaluation, relevance and robustness on hand-picked cases."""

from __future__ import annotations

import itertools

import pytest

from cramp_expert.reasoning.partial import kleene_and, kleene_not, kleene_or
from cramp_expert.reasoning.robustness import candidate_values, file_is_open

VALUES = (True, False, None)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(VALUES, VALUES)))
def test_kleene_connectives_agree_with_every_way_of_deciding_the_unknowns(a, b):
    def completions(value):
        return (True, False) if value is None else (value,)

    def collapse(results):
        return results.pop() if len(results) == 1 else None

    ands = {x and y for x in completions(a) for y in completions(b)}
    ors = {x or y for x in completions(a) for y in completions(b)}
    assert kleene_and([a, b]) == collapse(ands)
    assert kleene_or([a, b]) == collapse(ors)
    assert kleene_not(a) == collapse({not x for x in completions(a)})


def _outcome(consultant, values, open_facts):
    return consultant.evaluator.evaluate(values, lambda f: f in open_facts)


def test_an_open_potassium_leaves_hypokalaemia_undecided_until_measured(consultant):
    open_facts = {"labs.potassium"}
    assert _outcome(consultant, {}, open_facts).concluded("hypokalemia") is None
    assert _outcome(consultant, {"labs.potassium": 3.0}, set()).concluded("hypokalemia") is True
    low_normal = _outcome(consultant, {"labs.potassium": 3.6}, set())
    assert low_normal.concluded("hypokalemia") is False
    assert low_normal.negative("hypokalemia") is True  # excluded by the measurement


def test_an_unknown_that_is_settled_behaves_as_the_engine_sees_it(consultant):
    # Settled unknown: no rule on potassium can fire, and `none:` of it holds.
    settled = _outcome(consultant, {}, set())
    assert settled.concluded("hypokalemia") is False


def test_relevance_names_the_open_fact_and_marks_conditions_under_none(consultant):
    open_facts = {"labs.potassium", "dialysis", "conditions.chronic_kidney_disease"}
    outcome = _outcome(consultant, {"age": 50}, open_facts)
    live = consultant.evaluator.live(outcome)
    assert "labs.potassium" in live.facts
    uses = {rule.id: negated for rule, _, negated in live.facts["dialysis"]}
    assert uses["dialysis-cause"] is False  # needs dialysis
    assert uses["ckd-known"] is True  # needs NOT dialysis


def test_a_decided_rule_makes_its_facts_irrelevant(consultant):
    # older-age needs age >= 60: once age is known, no question about age remains.
    outcome = _outcome(consultant, {"age": 30}, set())
    assert "age" not in consultant.evaluator.live(outcome).facts


def test_candidate_values_straddle_every_threshold(consultant, knowledge):
    values = candidate_values(knowledge.facts["labs.potassium"], consultant.evaluator)
    assert any(v < 3.5 for v in values) and 3.5 in values and any(v > 3.5 for v in values)
    assert candidate_values(knowledge.facts["pregnant"], consultant.evaluator) == [True, False]


def test_a_start_date_is_not_open_for_a_class_the_patient_is_not_on():
    is_open = file_is_open({"meds.med_statin": False, "medications.count": 1.0})
    assert not is_open("meds.med_statin.started_months_ago")
    assert not is_open("meds.med_quinine.stopped")  # the list is read as complete
    assert is_open("labs.potassium")
    assert not file_is_open({"sex": "male"})("pregnant")


def test_v16_robustness_names_what_holds_and_the_most_informative_test(consultant):
    robust = consultant.consult_path("examples/V16.yaml").robustness
    assert robust is not None
    assert {"hypomagnesemia", "med_ppi", "rec_correct_deficiency"} <= set(robust.holds_regardless)
    depends = {d.id: d for d in robust.depends_on_unknowns}
    assert "labs.sodium" in depends["hyponatremia"].facts and not depends["hyponatremia"].concluded
    best = robust.most_informative
    assert best is not None
    assert best.ask == ("labs.sodium",) and best.decides == (
        "rf_severe_electrolyte",
        "hyponatremia",
    )
    assert best.text.startswith("measure Serum sodium [labs.sodium]: it decides")


def test_the_text_report_says_what_holds_and_what_to_find_out(consultant):
    from cramp_expert.explain.text import render_text

    result = consultant.consult_path("examples/V16.yaml")
    text = render_text(result, consultant.kb, width=100)
    section = text[text.index("STILL UNKNOWN") :]
    assert "Red flags not ruled out (findings unknown): rf_abnormal_neuro_exam" in section
    assert "Most informative next step: measure Serum sodium [labs.sodium]" in section
    assert "9 not ruled out" in text.splitlines()[1]  # and the summary counts them
    # --explain adds what holds whatever the unknown facts turn out to be
    text = render_text(result, consultant.kb, explain=True, width=100)
    section = text[text.index("ROBUSTNESS TO WHAT IS UNKNOWN") :]
    assert "Holds whatever the unknown facts turn out to be: hypomagnesemia" in section
