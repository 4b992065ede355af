"""The rule language: validation with locations, strata, and compiled semantics on tiny rule bases."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from cramp_expert.api import Consultant
from cramp_expert.errors import KnowledgeBaseError
from cramp_expert.kb import load_knowledge_base

ROOT = Path(__file__).resolve().parents[2]

VALID = """\
id: {id}
title: A test rule
tier: {tier}
rationale: Only for tests.
evidence: LOW
references: [AK12]
when:
{when}
then:
  conclude: [{conclude}]
examples:
  - name: fires
    given: {{age: 70}}
"""


def make_kb(tmp_path: Path, rules: dict[str, str]) -> Path:
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    for name, text in rules.items():
        path = tmp_path / "rules" / "t" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path


def rule(rule_id: str, when: str, conclude: str = "older_age", tier: str = "cause") -> str:
    return VALID.format(
        id=rule_id,
        when=textwrap.indent(textwrap.dedent(when).strip(), "  "),
        conclude=conclude,
        tier=tier,
    )


def concluded_and_excluded_kb(tmp_path: Path) -> Path:
    """Three rules: hypokalemia concluded from 60, excluded from 70, and tested by a third (the
    bundled rules never conclude and exclude one id together: their exclusions are guarded)."""
    exclude = rule("exclude-k", "all:\n  - {fact: age, ge: 70}").replace(
        "conclude: [older_age]", "exclude: [hypokalemia]\n  reason: only for tests"
    )
    rules = {
        "conclude-k": rule("conclude-k", "all:\n  - {fact: age, ge: 60}", "hypokalemia"),
        "exclude-k": exclude,
        "use-k": rule("use-k", "all:\n  - {concluded: hypokalemia}", "test_potassium", "workup"),
    }
    return make_kb(tmp_path, rules)


def problems(tmp_path: Path, rules: dict[str, str]):
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(make_kb(tmp_path, rules))
    return info.value.problems


def test_a_rule_of_only_negations_fires_on_an_empty_patient(tmp_path):
    root = make_kb(tmp_path, {"only-none": rule("only-none", "none:\n  - {fact: age, lt: 60}")})
    consultant = Consultant(root)
    assert [c.id for c in consultant.consult_data({}).causes] == ["older_age"]
    assert consultant.consult_data({"age": 40}).causes == ()


def test_known_false_next_to_any(tmp_path):
    when = """
    all:
      - {fact: labs.potassium, known: false}
    any:
      - {fact: age, ge: 60}
      - {fact: pregnant, is: true}
    """
    consultant = Consultant(
        make_kb(tmp_path, {"unknown-k": rule("unknown-k", when, "test_potassium", "workup")})
    )
    assert [i.id for i in consultant.consult_data({"age": 70}).investigations] == ["test_potassium"]
    assert (
        consultant.consult_data({"age": 70, "labs": {"potassium": "4 mmol/L"}}).concluded == set()
    )
    assert consultant.consult_data({"age": 30}).investigations == ()


def test_any_rule_counts_once_in_certainty(tmp_path):
    when = """
    any:
      - {fact: age, ge: 60}
      - {fact: age, ge: 65}
    """
    text = rule("twice", when).replace(
        "conclude: [older_age]", "conclude: [older_age]\n  certainty: 0.5"
    )
    result = Consultant(make_kb(tmp_path, {"twice": text})).consult_data({"age": 70})
    assert result.causes[0].certainty == 0.5
    assert [e.rule for e in result.trace].count("twice") == 2  # experta fires once per branch


def test_chained_rules_fire_in_strata_whatever_their_names(tmp_path):
    rules = {
        "a-consumer": rule("a-consumer", "none:\n  - {concluded: state_on_diuretic}", "idiopathic"),
        "z-producer": rule(
            "z-producer", "all:\n  - {fact: age, ge: 60}", "state_on_diuretic", "state"
        ),
    }
    consultant = Consultant(make_kb(tmp_path, rules))
    assert consultant.consult_data({"age": 70}).causes == ()
    assert [c.id for c in consultant.consult_data({"age": 40}).causes] == ["idiopathic"]


@pytest.mark.parametrize(
    ("text", "code", "line", "fragment"),
    [
        (
            rule("bad-fact", "all:\n  - {fact: labs.potasium, lt: 3.5}"),
            "R303",
            9,
            "'labs.potassium'",
        ),
        (
            rule("bad-op", "all:\n  - {fact: findings.calf_tenderness, lt: 3}"),
            "R304",
            9,
            "allowed: is, known",
        ),
        (rule("bad-value", "all:\n  - {fact: sex, is: mael}"), "R204", 9, "'male'"),
        (
            rule("bad-conclusion", "all:\n  - {fact: age, ge: 60}", "hypokalaemia"),
            "R302",
            11,
            "'hypokalemia'",
        ),
        (
            rule("bad-key", "all:\n  - {fact: age, ge: 60}").replace("tier:", "teir:"),
            "R202",
            3,
            "'tier'",
        ),
        (
            rule("other-name", "all:\n  - {fact: age, ge: 60}").replace(
                "id: other-name", "id: renamed"
            ),
            "R206",
            1,
            "rename the file",
        ),
        (
            rule("bad-ref", "all:\n  - {fact: age, ge: 60}").replace("[AK12]", "[AK21]"),
            "R301",
            6,
            "'AK12'",
        ),
        (rule("unknown-operator", "all:\n  - {fact: age, greater: 60}"), "R202", 9, "allowed"),
        (
            rule("bad-example", "all:\n  - {fact: age, ge: 60}").replace(
                "given: {age: 70}", "given: {age: old}"
            ),
            "R201",
            14,
            "must be a number",
        ),
    ],
)
def test_rule_problems_are_located(tmp_path, text, code, line, fragment):
    name = text.split("\n", 1)[0].removeprefix("id: ")
    stem = "other-name" if code == "R206" else name
    found = problems(tmp_path, {stem: text})
    assert any(
        p.code == code and p.location.line == line and fragment in (p.message + p.hint)
        for p in found
    ), [p.render() for p in found]


def test_every_problem_is_reported_in_one_run(tmp_path):
    found = problems(
        tmp_path,
        {
            "one": rule("one", "all:\n  - {fact: nope, is: true}"),
            "two": rule("two", "all:\n  - {fact: age, ge: 60}", "nothing_like_this"),
        },
    )
    assert {p.location.path for p in found} == {"rules/t/one.yaml", "rules/t/two.yaml"}


def test_cycles_are_refused(tmp_path):
    found = problems(
        tmp_path,
        {
            "ping": rule(
                "ping",
                "all:\n  - {concluded: state_on_diuretic}",
                "state_fluid_restricted",
                "state",
            ),
            "pong": rule(
                "pong",
                "all:\n  - {concluded: state_fluid_restricted}",
                "state_on_diuretic",
                "state",
            ),
        },
    )
    assert any(p.code == "R401" and "cycle" in p.message for p in found)


def test_duplicate_keys_in_a_rule_file(tmp_path):
    text = rule("dup", "all:\n  - {fact: age, ge: 60}").replace(
        "evidence: LOW\n", "evidence: LOW\nevidence: HIGH\n"
    )
    found = problems(tmp_path, {"dup": text})
    assert found[0].code == "E102" and found[0].location.line == 6


def test_duplicate_rule_ids_name_both_files(tmp_path):
    root = make_kb(tmp_path, {"same": rule("same", "all:\n  - {fact: age, ge: 60}")})
    other = root / "rules" / "u" / "same.yaml"
    other.parent.mkdir()
    other.write_text(rule("same", "all:\n  - {fact: age, ge: 70}"))
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(root)
    (problem,) = info.value.problems
    assert (
        problem.code == "R210"
        and "rules/t/same.yaml" in problem.message
        and problem.location.path == "rules/u/same.yaml"
    )


def test_an_excluded_conclusion_does_not_hold_for_the_rules_that_test_it(tmp_path):
    consultant = Consultant(concluded_and_excluded_kb(tmp_path))
    both = consultant.consult_data({"age": 75})
    assert [e.id for e in both.excluded] == ["hypokalemia"]
    assert both.investigations == () and "use-k" not in both.rules_fired
    assert [w.code for w in both.warnings] == ["W100"]
    only = consultant.consult_data({"age": 65})
    assert [i.id for i in only.investigations] == ["test_potassium"]


def test_a_rule_with_many_branches_runs_to_the_end(tmp_path):
    branches = "any:\n" + "".join(f"  - {{fact: age, ge: {n}}}\n" for n in range(1, 30))
    consultant = Consultant(make_kb(tmp_path, {"wide": rule("wide", branches)}))
    result = consultant.consult_data({"age": 70})
    assert [c.id for c in result.causes] == ["older_age"]
    assert len(result.trace) == 29


def test_a_broken_knowledge_file_does_not_hide_the_rules_problems(tmp_path):
    root = make_kb(tmp_path, {"one": rule("one", "all:\n  - {fact: nope, is: true}")})
    references = root / "knowledge" / "references.yaml"
    references.write_text(references.read_text() + "\n  broken: [\n")
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(root)
    found = info.value.problems
    assert sorted({(p.location.path, p.code) for p in found}) == [
        ("knowledge/references.yaml", "E101"),
        ("rules/t/one.yaml", "R303"),  # and no R301 for [AK12]: the references are unreadable
    ]


def test_a_duplicate_key_does_not_hide_the_files_other_problems(tmp_path):
    text = rule("dup", "all:\n  - {fact: agee, ge: 60}").replace(
        "evidence: LOW\n", "evidence: LOW\nevidence: HIGH\n"
    )
    found = problems(tmp_path, {"dup": text})
    assert [(p.code, p.location.line) for p in found] == [("E102", 6), ("R303", 10)]


def test_a_missing_key_is_reported_once(tmp_path):
    text = rule("terse", "all:\n  - {fact: age, ge: 60}").replace(
        "rationale: Only for tests.\n", ""
    )
    assert [p.code for p in problems(tmp_path, {"terse": text})] == ["R203"]
