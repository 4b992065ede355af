"""The parsed-document cache: the same knowledge base, problems and results, with or without it."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import shutil
import stat
import time
from pathlib import Path

import pytest

from cramp_expert import source
from cramp_expert.errors import KnowledgeBaseError
from cramp_expert.kb import load_knowledge_base
from cramp_expert.kb.cache import ENVIRONMENT, FORMAT, KEEP, PRUNE_DAYS, cache_folder, prune

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


# --- verified on read, private, pruned (issue 12) -----------------------------------------------
def _cache_file(cache: Path) -> Path:
    (path,) = cache.glob("kb-*.json")
    return path


def _sign(cache: Path, body: bytes) -> bytes:
    secret = (cache / "key").read_bytes()
    return (
        f"cramp-expert-cache {FORMAT} {hmac.new(secret, body, hashlib.sha256).hexdigest()}\n".encode()
        + body
    )


def test_an_edited_entry_is_not_trusted(kb_copy, cache, caplog):
    expected = load_knowledge_base(kb_copy)
    path = _cache_file(cache)
    raw = path.read_bytes()
    # Change what a cached rule says (a threshold), keeping the file's JSON valid.
    edited = raw.replace(b'"older-age"', b'"older-agX"', 1)
    assert edited != raw
    path.write_bytes(edited)
    with caplog.at_level(logging.WARNING, logger="cramp_expert.cache"):
        again = load_knowledge_base(kb_copy)
    assert again.rules == expected.rules and again.digest == expected.digest
    assert any("does not match its HMAC" in r.getMessage() for r in caplog.records)
    assert len(caplog.records) == 1


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b"[" * 100_000 + b"]" * 100_000, b'{"key": 1, "documents": []}', b"\xff"],
    ids=["array", "nested", "wrong-type", "not-utf8"],
)
def test_a_signed_cache_of_the_wrong_shape_is_ignored_with_a_note(kb_copy, cache, caplog, body):
    expected = load_knowledge_base(kb_copy).rules
    _cache_file(cache).write_bytes(_sign(cache, body))
    with caplog.at_level(logging.WARNING, logger="cramp_expert.cache"):
        assert load_knowledge_base(kb_copy).rules == expected
    assert [
        r.getMessage().startswith("cramp-expert: note: the knowledge cache") for r in caplog.records
    ] == [True]


def test_a_fifo_in_place_of_the_cache_is_not_waited_on(kb_copy, cache, caplog):
    expected = load_knowledge_base(kb_copy).rules
    path = _cache_file(cache)
    path.unlink()
    os.mkfifo(path)
    with caplog.at_level(logging.WARNING, logger="cramp_expert.cache"):
        assert load_knowledge_base(kb_copy).rules == expected
    assert "not a regular file" in caplog.records[0].getMessage()


def test_a_folder_others_can_write_is_not_used(kb_copy, tmp_path, monkeypatch, caplog):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv(ENVIRONMENT, str(shared))
    with caplog.at_level(logging.WARNING, logger="cramp_expert.cache"):
        load_knowledge_base(kb_copy)
    assert list(shared.iterdir()) == []
    assert "not private to this user" in caplog.records[0].getMessage()


def test_a_new_cache_folder_and_key_are_private(kb_copy, cache):
    load_knowledge_base(kb_copy)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE((cache / "key").stat().st_mode) == 0o600
    assert stat.S_IMODE(_cache_file(cache).stat().st_mode) & 0o077 == 0


def test_old_and_surplus_cache_files_are_pruned(tmp_path):
    now = time.time()
    for n in range(KEEP + 5):
        path = tmp_path / f"kb-{n:016x}.json"
        path.write_text("{}")
        os.utime(path, (now - n, now - n))
    stale = tmp_path / "kb-stale.json"
    stale.write_text("{}")
    os.utime(stale, (now - (PRUNE_DAYS + 1) * 86400,) * 2)
    removed = prune(tmp_path, now)
    kept = sorted(p.name for p in tmp_path.glob("kb-*.json"))
    assert kept == sorted(f"kb-{n:016x}.json" for n in range(KEEP))
    assert stale in removed and len(removed) == 6
