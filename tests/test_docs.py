"""The authors' guide documents the language the loader accepts."""

from __future__ import annotations

import re
from pathlib import Path

from cramp_expert.kb.loader import RULE_KEYS, THEN_KEYS
from cramp_expert.kb.model import EVIDENCE_GRADES, OPERATORS

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "authoring.md").read_text()


def test_every_operator_is_documented():
    for operator in OPERATORS:
        assert f"{operator}:" in GUIDE or f"`{operator}`" in GUIDE, operator


def test_every_rule_key_and_action_key_is_documented():
    for key in (*RULE_KEYS, *THEN_KEYS):
        assert f"{key}:" in GUIDE or f"`{key}`" in GUIDE, key


def test_every_tier_and_evidence_grade_is_documented(knowledge):
    for tier in knowledge.tiers:
        assert tier in GUIDE, tier
    for grade in EVIDENCE_GRADES:
        assert grade in GUIDE, grade


def test_the_template_rule_is_valid_and_documented(tmp_path):
    import shutil

    from cramp_expert.kb import load_knowledge_base

    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    (tmp_path / "rules" / "t").mkdir(parents=True)
    text = (ROOT / "rules" / "_template.yaml").read_text()
    (tmp_path / "rules" / "t" / "my-new-rule.yaml").write_text(text)
    assert [r.id for r in load_knowledge_base(tmp_path).rules] == ["my-new-rule"]
    assert "_template.yaml" in GUIDE


def test_the_rule_catalogue_is_current(kb):
    from cramp_expert.authoring.docs import COMMAND, render_catalogue

    committed = (ROOT / "docs" / "rules.md").read_text()
    assert committed == render_catalogue(kb), f"docs/rules.md is stale: run `{COMMAND}`"


def test_the_catalogue_documents_every_rule_with_its_references(kb):
    catalogue = (ROOT / "docs" / "rules.md").read_text()
    for rule in kb.rules:
        entry = catalogue.split(f"### `{rule.id}`\n", 1)[1].split("\n### ", 1)[0]
        assert f"evidence **{rule.evidence}**" in entry, rule.id
        for key in rule.references:
            assert f"[{key}](#ref-{key.lower()})" in entry, (rule.id, key)
            assert f'<a id="ref-{key.lower()}"></a>' in catalogue
    assert catalogue.count("```mermaid") == len({r.topic for r in kb.rules}) + 2


def spelt_codes() -> dict[str, set[str]]:
    """Every problem code the package's code names, by module, read from its syntax tree.

    A code is named whole, as a string (`"R303"`), or through one of the registry's shape
    constants (`RULE_SHAPE`: R201-R204), which a module passes to its `Checker`. The registry
    itself is left out: what is declared there is what is compared with.
    """
    import ast

    from cramp_expert import problems

    shapes = {
        name: set(getattr(problems, name)) for name in dir(problems) if name.endswith("_SHAPE")
    }
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "cramp_expert").rglob("*.py")):
        if path.name == "problems.py" and path.parent.name == "cramp_expert":
            continue
        tree = ast.parse(path.read_text())
        codes: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.fullmatch(r"[BEKPRW]\d{3}", node.value):
                    codes.add(node.value)
            elif isinstance(node, ast.Name) and node.id in shapes:
                codes |= shapes[node.id]
            elif isinstance(node, ast.alias) and node.name in shapes:
                codes |= shapes[node.name]
        if codes:
            found[path.relative_to(ROOT).as_posix()] = codes
    return found


def test_every_code_named_in_the_package_is_registered_and_every_registered_code_is_named():
    from cramp_expert.problems import CODES

    spelt = set().union(*spelt_codes().values())
    assert len(spelt) > 70
    assert spelt - set(CODES) == set(), "codes named in the package but not registered"
    assert set(CODES) - spelt == set(), "registered codes that no module names (dead entries)"


def test_no_code_is_assembled_at_run_time():
    # A code is named whole where it is raised: no prefix set on a Checker and a number passed
    # to fail() (`Checker(doc, problems, "K")` + `fail("303")`), so a grep for K303 finds it.
    for path in (ROOT / "cramp_expert").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r'\.fail\(\s*"\d{3}"', text), path
        assert not re.search(r'Checker\([^()]*"[A-Z]"\)', text), path


def test_an_unregistered_code_is_refused_when_a_problem_is_made():
    import pytest

    from cramp_expert.errors import Location, Problem, ProblemCollector
    from cramp_expert.patient.normalise import InputWarning
    from cramp_expert.problems import RULE_SHAPE, UnknownCode
    from cramp_expert.result import Warning
    from cramp_expert.source import Document
    from cramp_expert.validate import Checker

    with pytest.raises(UnknownCode, match="R999"):
        Problem("R999", "no such code", Location("x.yaml"))
    with pytest.raises(UnknownCode):
        InputWarning("W999", "no such code", "age")
    with pytest.raises(UnknownCode):
        Warning("W999", "no such code", "rules")
    check = Checker(Document("x.yaml", {}, {}), ProblemCollector(), RULE_SHAPE)
    with pytest.raises(UnknownCode, match="'303'"):
        check.fail("303", "a code without its letter", ())
    check.fail("R303", "a registered code", ())
    assert [p.severity for p in check.problems.problems] == ["error"]


def test_every_registry_entry_is_complete():
    from cramp_expert.problems import CODES, SEVERITIES, STAGES

    for code, entry in CODES.items():
        assert re.fullmatch(r"[BEKPRW]\d{3}", code) and entry.code == code
        assert entry.severity in SEVERITIES, code
        assert entry.stage in STAGES, code
        summary = entry.summary
        # One line, lower case (but for an acronym: "YAML or JSON syntax error"), no full stop.
        first = summary.split()[0]
        assert "\n" not in summary and not summary.endswith("."), code
        assert first.islower() or first.isupper(), code
        for part in (entry.meaning, entry.example, entry.fix):
            assert part.strip(), code
        # Only findings about a rule that was read can be silenced in its file.
        if entry.suppressible:
            assert code.startswith("R") and entry.stage in ("validate", "check"), code
        # A warning in a consultation's result never stops it; W codes are never errors.
        if code.startswith("W"):
            assert entry.severity == "warning", code


def test_the_problem_reference_is_current():
    from cramp_expert.authoring.problems_doc import COMMAND, render_reference

    committed = (ROOT / "docs" / "problems.md").read_text()
    assert committed == render_reference(), f"docs/problems.md is stale: run `{COMMAND}`"


def test_every_registered_code_is_produced_by_a_test_input():
    from cramp_expert.problems import CODES
    from tests.bad_input.test_bad_input import MANIFEST
    from tests.kb.test_fixtures import announced_codes
    from tests.verify.test_planted_defects import CASES, expected

    # Produced by a named test rather than a corpus case:
    elsewhere = {
        # a knowledge base without rules (tests/cli/test_kb_validate.py)
        "R100",
        # a certainty below the threshold cannot be written in a file the loader reads:
        # tests/verify/test_checks.py builds one in memory
        "R408",
        # batch inputs: tests/cli/test_batch.py, test_batch_hardening.py
        "B200",
        "B201",
        "B202",
        "B203",
        # FHIR Bulk Data resources that name no Patient: tests/fhir/test_bulk_and_property.py
        "W210",
        # warnings in a consultation's result: tests/unit/, tests/cli/, tests/acceptance/
        *(code for code in CODES if code.startswith("W")),
    }
    planted = {code for case in CASES for (_, _, code) in expected(case)}
    # Patient-file codes are produced by the bad-input corpus (tests/bad_input/).
    corpus = {
        problem["code"]
        for section in (MANIFEST, MANIFEST["generated"])
        for kind in ("patients", "rules")
        for entry in section[kind].values()
        for problem in entry["expect"]
    }
    assert set(CODES) - elsewhere - announced_codes() - planted - corpus == set()
    # Each code left to a named test is asserted by one (the code appears in a test file).
    texts = [
        path.read_text()
        for path in (ROOT / "tests").rglob("*.py")
        if path.name != "test_docs.py" and "kb_fixtures" not in path.parts
    ]
    assert {code for code in elsewhere if not any(code in text for text in texts)} == set()


def test_the_documented_limits_are_the_codes_limits():
    from cramp_expert import batch, numbers, source
    from cramp_expert.patient import normalise

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Limits\n", 1)[1].split("\n## ", 1)[0]
    rows = {
        row.split("`")[-2]: row.split("|")[2]
        for row in section.splitlines()
        if row.startswith("| ") and row.count("`") >= 2
    }
    documented = {name: int(re.search(r"\d+", cell).group()) for name, cell in rows.items()}
    assert documented == {
        "source.MAX_BYTES": source.MAX_BYTES,
        "source.MAX_DEPTH": source.MAX_DEPTH,
        "source.MAX_NODES": source.MAX_NODES,
        "patient.normalise.MAX_ENTRIES": normalise.MAX_ENTRIES,
        "patient.normalise.MAX_TEXT": normalise.MAX_TEXT,
        "numbers.MAX_VALUE_TEXT": numbers.MAX_VALUE_TEXT,
        "batch.MAX_RECORD": batch.MAX_RECORD,
    }
