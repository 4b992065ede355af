"""kb check on the real knowledge base, and the checks a file cannot plant."""

from __future__ import annotations

import shutil
from dataclasses import replace

from cramp_expert.kb import load_knowledge_base
from cramp_expert.kb.declarations import load_declarations
from cramp_expert.verify.checks import Verifier, check
from tests.kb.test_fixtures import BASE


def test_the_real_knowledge_base_passes_kb_check():
    result = check()
    assert result.verified
    assert result.findings == (), "\n".join(f.problem.render() for f in result.findings)
    # It did verify: every never-rule, exclusive pair and redundancy candidate was searched.
    assert result.stats["searches"] > 100 and result.stats["undecided"] == 0


def test_every_declaration_of_the_real_knowledge_base_is_proved_not_just_unbroken(kb):
    # Proved: the search ran out of patients, it did not run out of budget.
    verifier = Verifier(kb, load_declarations(kb.knowledge.root.parent, kb.knowledge))
    assert verifier.never() == [] and verifier.conflicts() == []
    assert verifier.stats["undecided"] == 0


def test_a_certainty_below_the_threshold_is_reported_where_the_loader_cannot_stop_it():
    # The loader refuses such a certainty in a file (R204); a knowledge base built in code is
    # not read by the loader.
    kb = load_knowledge_base(BASE)
    rule = kb.rule("hypokalemia-measured")
    weak = replace(rule, then=replace(rule.then, certainty=0.1))
    kb = replace(kb, rules=tuple(weak if r.id == rule.id else r for r in kb.rules))
    findings = Verifier(kb).certainty()
    assert [f.problem.code for f in findings] == ["R408"]
    assert "no combination of its rules reaches it" in findings[0].problem.message
    assert findings[0].problem.location == rule.location


def test_a_knowledge_base_that_does_not_load_is_reported_not_verified(tmp_path):
    shutil.copytree(BASE, tmp_path / "kb")
    rule = tmp_path / "kb" / "rules" / "base" / "hypokalemia-measured.yaml"
    rule.write_text(rule.read_text().replace("labs.potassium, lt", "labs.potasium, lt"))
    result = check(tmp_path / "kb", samples=10)
    assert not result.verified
    assert [f.problem.code for f in result.findings] == ["R303"]


def test_a_cycle_in_the_chaining_is_reported_and_stops_the_verification(tmp_path):
    from tests.kb.test_fixtures import FIXTURES, build

    result = check(build(FIXTURES / "cycle", tmp_path), samples=10)
    assert not result.verified
    assert [(f.problem.location.path, f.problem.code) for f in result.findings] == [
        ("rules/t/ping.yaml", "R401")
    ]
