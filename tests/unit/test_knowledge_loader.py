"""A broken knowledge/ folder gives located problems, never a crash or a silent misreading."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cramp_expert.api import Consultant
from cramp_expert.errors import KnowledgeBaseError
from cramp_expert.kb import load_knowledge_base

ROOT = Path(__file__).resolve().parents[2]


def broken_kb(tmp_path: Path, file: str, old: str, new: str) -> Path:
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    path = tmp_path / "knowledge" / file
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return tmp_path


@pytest.mark.parametrize(
    ("file", "old", "new", "fragment"),
    [
        (
            "units.yaml",
            "units: {mmol/L: 1, mEq/L: 1}",
            "units: {mmol/L: one, mEq/L: 1}",
            "must be a number",
        ),
        ("units.yaml", "plausible: [1.0, 10.0]", "plausible: [low, 10.0]", "[low, high]"),
        (
            "units.yaml",
            "unit_aliases:\n",
            "unit_aliases: [1, 2]\nunused:\n",
            "unit_aliases must be a mapping",
        ),
        ("facts.yaml", "range: [0, 120]", "range: [zero, 120]", "[low, high]"),
        ("facts.yaml", "  sex:\n", "  se__x:\n", "no '__'"),
        ("facts.yaml", "  labs.potassium:\n", "  labs.potasium:\n", "has no fact 'labs.potassium'"),
        (
            "settings.yaml",
            "certainty_threshold: 0.2",
            "certainty_threshold: high",
            "must be a number",
        ),
        ("settings.yaml", "safety: 400", "safety: 4000", "out of range"),
    ],
)
def test_broken_knowledge_is_reported_with_a_location(tmp_path, file, old, new, fragment):
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(broken_kb(tmp_path, file, old, new))
    problems = info.value.problems
    assert any(
        fragment in p.message + p.hint and p.location.path.endswith(file) and p.location.line
        for p in problems
    ), [p.render() for p in problems]


def test_a_file_that_is_not_a_mapping(tmp_path):
    root = broken_kb(tmp_path, "facts.yaml", "facts:", "facts:")
    (root / "knowledge" / "facts.yaml").write_text("5\n")
    with pytest.raises(KnowledgeBaseError, match="must be a mapping"):
        load_knowledge_base(root)


def test_a_lone_brand_is_one_name_not_its_letters(tmp_path):
    root = broken_kb(
        tmp_path, "medications.yaml", "brands: [Lasix, Frusol, Furoscan]", "brands: Lasix"
    )
    names = Consultant(root).kb.knowledge.drug_names
    assert names["lasix"] == ("furosemide",)
    assert "x" not in names and "frusol" not in names
