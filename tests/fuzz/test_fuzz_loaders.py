"""Fuzzing the patient-file and rule-file loaders: a result or a located refusal, nothing else.

Each test feeds one family of generated input (`cramp_expert.testing.fuzz`) through the real
reading path: bytes -> `source` -> patient normalisation -> engine -> JSON and text report, or
bytes -> `source` -> rule validation -> compiled engine -> the rule's own examples. The only
allowed outcomes are a result or an `InputError` whose every problem is one printable line naming
the file (and, for text, its line). Any other exception is a bug; hypothesis shrinks it.

Profiles (tests/conftest.py): `ci` runs each test 100 times, derandomized; `fuzz` runs each
test 15,000 times (105,000 inputs: 60,000 patient files, 45,000 rule files; about 20 minutes):

    HYPOTHESIS_PROFILE=fuzz .venv/bin/python -m pytest -m fuzz -p no:cacheprovider
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cramp_expert.api import Consultant
from cramp_expert.errors import InputError
from cramp_expert.explain.text import render_text
from cramp_expert.kb import load_knowledge_base
from cramp_expert.kb.loader import (
    GROUP_KEYS,
    RULE_ID,
    RULE_KEYS,
    THEN_KEYS,
    knowledge_base,
    read_rules,
)
from cramp_expert.kb.model import OPERATORS
from cramp_expert.patient.normalise import TOP_LEVEL
from cramp_expert.result import Consultation
from cramp_expert.source import load_file, parse
from cramp_expert.testing import patient_files
from cramp_expert.testing.fuzz import as_bytes, mutated_text, perturbed, values, yamlish_text

pytestmark = pytest.mark.fuzz

ROOT = Path(__file__).resolve().parents[2]
KB = load_knowledge_base()
KNOWLEDGE = KB.knowledge
CODE = re.compile(r"^[EPRK]\d{3}$")
# Problems about a whole file (empty, binary, not UTF-8 at all, too large): no line to name.
WHOLE_FILE = ("E100", "E101")

PATIENT_TEXTS = [p.read_text() for p in sorted((ROOT / "examples").glob("*.yaml"))]
PATIENT_TEXTS += [
    json.dumps(load_file(p).data, indent=2) for p in (ROOT / "examples").glob("*.yaml")
]
RULE_PATHS = sorted(p for p in (ROOT / "rules").rglob("*.yaml") if not p.name.startswith("_"))
RULE_TEXTS = [p.read_text() for p in RULE_PATHS]
RULE_DATA = [parse(str(p), text).data for p, text in zip(RULE_PATHS, RULE_TEXTS, strict=True)]

PATIENT_WORDS = [
    *TOP_LEVEL,
    *KNOWLEDGE.analytes,
    *(fact.split(".", 1)[-1] for fact in KNOWLEDGE.facts),
    *(unit.name for analyte in KNOWLEDGE.analytes.values() for unit in analyte.units),
]
RULE_WORDS = [
    *RULE_KEYS,
    *THEN_KEYS,
    *GROUP_KEYS,
    *OPERATORS,
    "fact",
    "concluded",
    "name",
    "given",
    "patient",
    "expect",
    "expect_not",
    "fires",
    *KNOWLEDGE.facts,
    *KNOWLEDGE.conclusions,
    *KNOWLEDGE.tiers,
    *KNOWLEDGE.references,
]


def assert_clean_refusal(error: InputError, name: str, text: bool) -> None:
    """Every problem: a known code, one printable line, the file's name, and a line if it can."""
    assert error.problems, "an InputError without problems"
    for problem in error.problems:
        line = problem.render()
        assert "\n" not in line and "\r" not in line, line
        line.encode("utf-8")  # printable on stderr (no unpaired surrogate)
        assert CODE.match(problem.code), line
        assert problem.location.path == name, line
        if text and problem.code not in WHOLE_FILE:
            assert problem.location.line >= 1, f"no line for: {line}"


@cache
def _consultant() -> Consultant:
    return Consultant(kb=KB)


def consult_or_refuse(name: str, raw: bytes) -> Consultation | None:
    """The command line's path for one patient file, up to the printed report."""
    consultant = _consultant()
    try:
        result = consultant.consult_bytes(name, raw)
    except InputError as error:
        assert_clean_refusal(error, name, text=True)
        return None
    result.to_json().encode("utf-8")
    render_text(result, consultant.kb, explain=True).encode("utf-8")
    return result


def load_rule_or_refuse(raw: bytes, rule_id: str = "low-potassium") -> None:
    """One rule file as the rule base: refused cleanly, or compiled and its examples run.

    The file is named after `rule_id` (the id it holds, when it still holds one), so that a rule
    that is otherwise valid is not refused only because its name no longer matches.
    """
    name = f"rules/fuzz/{rule_id if RULE_ID.match(rule_id) else 'low-potassium'}.yaml"
    try:
        kb = knowledge_base(read_rules(ROOT, KNOWLEDGE, [(name, raw)]))
    except InputError as error:
        assert_clean_refusal(error, name, text=True)
        return
    consultant = Consultant(kb=kb)
    for rule in kb.rules:
        for example in rule.examples:
            consultant.run_example(rule, example).describe()


# --- patient files -------------------------------------------------------------------------------
@given(as_bytes(yamlish_text(PATIENT_WORDS)))
def test_patient_files_from_a_yaml_ish_grammar(raw):
    consult_or_refuse("fuzz.yaml", raw)


@given(as_bytes(mutated_text(PATIENT_TEXTS, PATIENT_WORDS)))
def test_real_patient_files_mutated(raw):
    consult_or_refuse("fuzz.yaml", raw)


@given(
    perturbed(st.one_of(patient_files(KB), patient_files(KB), values()), PATIENT_WORDS),
    st.booleans(),
)
def test_patient_structures_as_yaml_and_json(data, as_json):
    if as_json:
        raw = json.dumps(data, indent=1).encode("utf-8", errors="surrogatepass")
        consult_or_refuse("fuzz.json", raw)
    else:
        raw = yaml.safe_dump(data, allow_unicode=True).encode("utf-8", errors="surrogatepass")
        consult_or_refuse("fuzz.yaml", raw)


@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_patient_files_of_any_bytes(raw):
    consult_or_refuse("fuzz.yaml", raw)


# --- rule files ----------------------------------------------------------------------------------
@given(as_bytes(yamlish_text(RULE_WORDS)))
def test_rule_files_from_a_yaml_ish_grammar(raw):
    load_rule_or_refuse(raw)


@given(as_bytes(mutated_text(RULE_TEXTS, RULE_WORDS)))
def test_real_rule_files_mutated(raw):
    found = re.search(rb"^id: *([a-z0-9-]+) *$", raw, re.MULTILINE)
    load_rule_or_refuse(raw, found.group(1).decode() if found else "low-potassium")


@given(perturbed(st.sampled_from(RULE_DATA), RULE_WORDS))
def test_rule_structures(data):
    rule_id = data.get("id") if isinstance(data, dict) else None
    raw = yaml.safe_dump(data, allow_unicode=True).encode("utf-8", "surrogatepass")
    load_rule_or_refuse(raw, rule_id if isinstance(rule_id, str) else "low-potassium")
