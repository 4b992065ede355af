"""The audit trail: every result names the knowledge base's version and one digest of its content
and of the engine; the same input with the same digest always gives the same result."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given

from cramp_expert import audit
from cramp_expert.api import Consultant
from cramp_expert.cli import cli
from cramp_expert.kb import load_knowledge_base
from cramp_expert.testing import patient_files

ROOT = Path(__file__).resolve().parents[2]
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _copy_kb(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    return tmp_path


def test_every_result_names_version_digest_and_engine(consultant):
    block = consultant.consult_path(ROOT / "examples" / "V16.yaml").knowledge_base
    assert block.version == consultant.kb.version != ""
    assert DIGEST.match(block.digest) and block.digest == consultant.kb.digest
    assert block.engine == audit.engine_version()
    assert f"experta {metadata.version('experta')}" in block.engine
    assert f"cramp-expert {metadata.version('cramp-expert')} (source " in block.engine


# NOTE: set and dict ordering in CPython depends on PYTHONHASHSEED for strings; two processes with
# different seeds would expose any output that depends on it.
_CONSULT_ALL = """
import sys
from pathlib import Path
from click.testing import CliRunner
import cramp_expert.api
from cramp_expert.cli import cli
one = cramp_expert.api.Consultant()  # loaded once: the command line would load it per run
cramp_expert.api.Consultant = lambda root=None: one
for path in sorted(Path("examples").glob("*.yaml")):
    for args in (["--format", "json"], ["--explain"]):
        result = CliRunner().invoke(cli, ["consult", str(path), *args])
        assert result.exit_code == 0, result.output
        sys.stdout.write(result.stdout)
"""


def test_two_runs_give_byte_identical_results_whatever_the_hash_seed():
    outputs = []
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _CONSULT_ALL],
            capture_output=True,
            cwd=ROOT,
            env=env,
            timeout=300,
            check=True,
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and len(outputs[0]) > 100_000


@pytest.fixture(scope="module")
def second_consultant() -> Consultant:
    """The same knowledge base loaded and compiled a second time, independently."""
    return Consultant()


@given(patient_files(load_knowledge_base()))
def test_same_digest_and_same_input_give_the_same_result(consultant, second_consultant, patient):
    # The session consultant has run many patients before; the second one far fewer: a result
    # depends on the input and the digest only, not on what the engine ran before.
    first = consultant.consult_data(patient)
    second = second_consultant.consult_data(patient)
    assert first.knowledge_base.digest == second.knowledge_base.digest
    assert first.to_json() == second.to_json()


def test_a_changed_certainty_changes_the_digest(tmp_path, kb):
    root = _copy_kb(tmp_path)
    rule = root / "rules" / "electrolytes" / "hypokalemia-measured.yaml"
    assert "certainty: 0.7\n" in rule.read_text()
    assert load_knowledge_base(root).digest == kb.digest  # a copy is the same knowledge base
    rule.write_text(rule.read_text().replace("certainty: 0.7\n", "certainty: 0.75\n"))
    changed = load_knowledge_base(root)
    assert changed.version == kb.version  # the version number alone would not tell them apart
    assert changed.digest != kb.digest and changed.content_digest != kb.content_digest
    result = Consultant(root).consult_path(ROOT / "examples" / "V16.yaml")
    assert result.knowledge_base.digest == changed.digest


def test_a_knowledge_file_and_a_moved_rule_change_the_digest(tmp_path, kb):
    root = _copy_kb(tmp_path)
    units = root / "knowledge" / "units.yaml"
    units.write_text(units.read_text() + "\n# a comment is content too\n")
    assert load_knowledge_base(root).content_digest != kb.content_digest
    shutil.copy(ROOT / "knowledge" / "units.yaml", units)
    (root / "rules" / "elsewhere").mkdir()
    shutil.move(
        root / "rules" / "electrolytes" / "hypokalemia-measured.yaml",
        root / "rules" / "elsewhere" / "hypokalemia-measured.yaml",
    )
    assert load_knowledge_base(root).content_digest != kb.content_digest


def test_the_digest_covers_the_engine_versions(monkeypatch, kb):
    package, source, _ = audit.engine_identity()
    monkeypatch.setattr(audit, "engine_identity", lambda: (package, source, "experta 1.9.5"))
    same_content = load_knowledge_base()
    assert same_content.content_digest == kb.content_digest
    assert same_content.digest != kb.digest


def test_the_digest_covers_the_engine_source(monkeypatch, kb):
    package, _, experta = audit.engine_identity()
    monkeypatch.setattr(
        audit, "engine_identity", lambda: (package, "source sha256:" + "0" * 64, experta)
    )
    assert load_knowledge_base().digest != kb.digest


def test_the_source_digest_changes_with_any_module(tmp_path):
    copy = tmp_path / "cramp_expert"
    shutil.copytree(audit.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert audit.source_digest(copy) == audit.source_digest()
    module = copy / "compile" / "predicates.py"
    module.write_text(module.read_text() + "\n# one more line\n")
    assert audit.source_digest(copy) != audit.source_digest()


def test_version_shows_engine_knowledge_base_and_the_results_digest(consultant):
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        lines[0]
        == f"cramp-expert {metadata.version('cramp-expert')} ({audit.engine_identity()[1]})"
    )
    assert lines[1] == f"experta {metadata.version('experta')}"
    kb = consultant.kb
    assert lines[2] == (
        f"knowledge base {kb.version} ({len(kb.rules)} rules), content {kb.content_digest}"
    )
    digest = consultant.consult_path(ROOT / "examples" / "V16.yaml").knowledge_base.digest
    assert lines[3].startswith(f"digest {digest} ")
