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


def emitted_codes() -> set[str]:
    """Every problem and warning code the package can produce, read from its source.

    Codes are written whole (`"R303"`), or as a number passed to a `Checker` whose prefix
    (`Checker(document, problems, "K")`) the module sets; validate.py's numbers serve every
    prefix.
    """
    import re

    literal: set[str] = set()
    prefixes: set[str] = set()
    shared: set[str] = set()
    per_module: set[str] = set()
    for path in (ROOT / "cramp_expert").rglob("*.py"):
        text = path.read_text()
        literal |= set(re.findall(r'"([EKRPW]\d{3})"', text))
        module_prefixes = set(re.findall(r'Checker\([^()]*"([A-Z])"\)', text))
        prefixes |= module_prefixes
        numbers = set(re.findall(r'\.fail\(\s*"(\d{3})"', text))
        if path.name == "validate.py":
            shared |= numbers
        else:
            per_module |= {p + n for p in module_prefixes for n in numbers}
    return literal | per_module | {p + n for p in prefixes for n in shared}


def documented_codes() -> set[str]:
    import re

    reference = GUIDE.split("## Diagnostics reference", 1)[1]
    return set(re.findall(r"^### ([EKRPW]\d{3}): \S", reference, flags=re.MULTILINE))


def test_every_code_has_a_section_in_the_diagnostics_reference():
    emitted = emitted_codes()
    assert len(emitted) > 40
    assert emitted - documented_codes() == set(), "undocumented codes"
    assert documented_codes() - emitted == set(), "documented codes that nothing produces"


def test_every_knowledge_base_code_is_produced_by_a_fixture():
    from tests.bad_input.test_bad_input import MANIFEST
    from tests.kb.test_fixtures import announced_codes
    from tests.verify.test_planted_defects import CASES, expected

    # R100 needs a knowledge base without rules (tests/cli/test_kb_validate.py); W codes are
    # warnings in a consultation's result (tests/unit/, tests/cli/). R408 (a certainty below
    # the threshold) cannot be written in a file the loader reads: tests/verify/test_checks.py
    # builds one in memory. kb check's other codes come from tests/planted_defects/.
    elsewhere = {"R100", "R408"} | {c for c in emitted_codes() if c.startswith("W")}
    planted = {code for case in CASES for (_, _, code) in expected(case)}
    # Patient-file codes are produced by the bad-input corpus (tests/bad_input/).
    corpus = {
        problem["code"]
        for section in (MANIFEST, MANIFEST["generated"])
        for kind in ("patients", "rules")
        for entry in section[kind].values()
        for problem in entry["expect"]
    }
    assert emitted_codes() - elsewhere - announced_codes() - planted - corpus == set()


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
