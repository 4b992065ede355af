"""The parsed-document cache: the same knowledge base, problems and results, with or without it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cramp_expert import source
from cramp_expert.errors import KnowledgeBaseError
from cramp_expert.kb import load_knowledge_base
from cramp_expert.kb.cache import ENVIRONMENT, cache_folder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", root / "knowledge")
    shutil.copytree(ROOT / "rules", root / "rules")
    return root


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(ENVIRONMENT, str(folder))
    return folder


def _parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record which files are parsed from YAML from now on."""
    parsed: list[str] = []
    real = source.load_bytes

    def recording(name: str, raw: bytes, **options: bool) -> source.Document:
        parsed.append(name)
        return real(name, raw, **options)

    monkeypatch.setattr("cramp_expert.kb.cache.load_bytes", recording)
    return parsed


def test_a_second_load_reads_no_yaml_and_gives_the_same_knowledge_base(kb_copy, cache, monkeypatch):
    first = load_knowledge_base(kb_copy)
    assert len(list(cache.glob("kb-*.json"))) == 1
    parsed = _parsed(monkeypatch)
    second = load_knowledge_base(kb_copy)
    assert parsed == []
    assert second.rules == first.rules
    assert second.knowledge == first.knowledge
    assert (second.digest, second.strata, second.salience) == (
        first.digest,
        first.strata,
        first.salience,
    )
    assert [r.location for r in second.rules] == [r.location for r in first.rules]


def test_an_edited_file_is_read_again(kb_copy, cache, monkeypatch):
    load_knowledge_base(kb_copy)
    rule = kb_copy / "rules" / "lifestyle" / "older-age.yaml"
    rule.write_text(rule.read_text().replace("title:", "title: Edited", 1))
    parsed = _parsed(monkeypatch)
    kb = load_knowledge_base(kb_copy)
    assert parsed == ["rules/lifestyle/older-age.yaml"]
    edited = kb.rule("older-age")
    assert edited is not None and edited.title.startswith("Edited")


def test_problems_are_the_same_from_the_cache(kb_copy, cache):
    rule = kb_copy / "rules" / "lifestyle" / "older-age.yaml"
    rule.write_text(rule.read_text().replace("fact: age", "fact: agee", 1))
    with pytest.raises(KnowledgeBaseError) as fresh:
        load_knowledge_base(kb_copy)
    with pytest.raises(KnowledgeBaseError) as cached:
        load_knowledge_base(kb_copy)
    assert [p.render() for p in cached.value.problems] == [p.render() for p in fresh.value.problems]


def test_a_broken_cache_file_is_ignored(kb_copy, cache):
    expected = load_knowledge_base(kb_copy).rules
    for path in cache.glob("kb-*.json"):
        path.write_text('{"key": "')
    assert load_knowledge_base(kb_copy).rules == expected


def test_the_cache_can_be_turned_off(kb_copy, tmp_path, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT, "off")
    assert cache_folder() is None
    load_knowledge_base(kb_copy)
    assert not (tmp_path / "cache").exists()


def test_the_default_folder_is_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_folder() == tmp_path / "cramp-expert"
