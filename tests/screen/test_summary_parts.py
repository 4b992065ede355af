"""A screening record decided from the independent parts of a set of fired rules is the whole's.

`Summariser.summary` decides a set of fired rules it has not seen from the set's groups of linked
rules (`linked_rules`), each group decided once and the groups' items sorted together;
`fresh_summary` (what the audit compares against) decides the whole set at once. A link left
out of `linked_rules` makes some pair of the bundled rules decide differently apart.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cramp_expert.kb import load_knowledge_base
from cramp_expert.patient import normalise_patient
from cramp_expert.screen.summary import Summariser, linked_rules
from tests.unit.test_rule_loader import make_kb, rule

KB = load_knowledge_base()
RULES = sorted(rule.id for rule in KB.rules)
PATIENT = normalise_patient({"id": "p"}, KB.knowledge)
LINKED = linked_rules(KB)


def test_every_pair_of_rules_is_decided_apart_as_together():
    summariser = Summariser(KB)
    for index, first in enumerate(RULES):
        for second in RULES[index:]:
            fired = [first, second]
            assert summariser.summary(PATIENT, fired) == summariser.fresh_summary(PATIENT, fired), (
                fired
            )


@given(st.sets(st.sampled_from([*RULES, "not-a-rule"]), max_size=60))
def test_any_set_of_rules_is_decided_from_its_parts_as_a_whole(fired):
    summariser = Summariser(KB)
    for order in (sorted(fired), sorted(fired, reverse=True)):
        assert summariser.summary(PATIENT, order) == summariser.fresh_summary(PATIENT, order)


@given(st.sets(st.sampled_from([*RULES, "not-a-rule"]), max_size=60))
def test_the_parts_split_the_rules_into_unlinked_groups(fired):
    groups = Summariser(KB).parts(fired)
    assert sorted(rule for group in groups for rule in group) == sorted(fired - {"not-a-rule"})
    for group in groups:
        for other in groups:
            if other is not group:
                assert all(LINKED[rule].isdisjoint(other) for rule in group)


def test_links_go_both_ways_and_join_a_red_flag_to_the_state_that_lifts_it():
    assert all(rule in LINKED[other] for rule, near in LINKED.items() for other in near)
    conclusions = KB.knowledge.conclusions
    writers: dict[str, list[str]] = {}
    for kb_rule in KB.rules:
        for cid in kb_rule.then.conclude:
            writers.setdefault(cid, []).append(kb_rule.id)
    lifted = [
        (flag, state)
        for flag, state in (
            (cid, c.emergency_if) for cid, c in conclusions.items() if c.emergency_if
        )
        if flag in writers and state in writers
    ]
    assert lifted
    for flag, state in lifted:
        for flagging in writers[flag]:
            assert all(
                lifting in LINKED[flagging] for lifting in writers[state] if lifting != flagging
            )


def test_a_red_flag_is_decided_with_the_state_that_lifts_it_when_its_rule_does_not_test_it(
    tmp_path,
):
    # The bundled red-flag rules test their lifting state themselves (a link through the rule's
    # plan); here only the flag's `emergency_if` joins the two rules.
    rules = {
        "flag": rule("flag", "all:\n  - {fact: age, ge: 60}", "rf_dvt_suspected", "safety"),
        "lift": rule("lift", "all:\n  - {fact: age, ge: 70}", "state_emergency_dvt", "state"),
    }
    kb = load_knowledge_base(make_kb(tmp_path, rules))
    assert "lift" in linked_rules(kb)["flag"]
    summariser = Summariser(kb)
    record = summariser.summary(PATIENT, ["flag", "lift"])
    assert record == summariser.fresh_summary(PATIENT, ["flag", "lift"])
    assert record["red_flags"] == [{"id": "rf_dvt_suspected", "urgency": "emergency"}]
