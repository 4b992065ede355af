"""The bad-input corpus through the real command line: exit 1 and one located line per problem.

Every file under patients/ is consulted, and every case under rules/ is loaded as the rules of a
knowledge base (with the bundled knowledge/), through `cramp-expert consult`. What each must
print is in expected.yaml (README.md explains the format). A few cases, marked `process: true`,
also run in a real `python -m cramp_expert` process under a timeout, so that a hang fails the test
instead of stalling it; every in-process run has a deadline too.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import cramp_expert.api
from cramp_expert.cli import cli
from cramp_expert.source import MAX_BYTES, MAX_NODES, load_file

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PATIENT = ROOT / "examples" / "V16.yaml"
MANIFEST: dict[str, Any] = load_file(HERE / "expected.yaml").data  # read by the project's reader
IN_PROCESS_SECONDS = 20
PROCESS_SECONDS = 60  # includes starting Python and loading the knowledge base on a busy machine
AT = re.compile(r"^\d+:\d+$")


# --- generated cases: too big or too hostile to commit ------------------------------------------
def _fifty_megabytes() -> bytes:
    return b"age: 70\n" + b"# padding to 50 MB\n" * (50 * 1024 * 1024 // 19)


def _billion_laughs(prefix: str = "") -> bytes:
    lines = [prefix + 'lol: &lol "lol"']
    for level in range(1, 10):
        previous = "lol" if level == 1 else f"lol{level - 1}"
        lines.append(f"lol{level}: &lol{level} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def _a_million_values() -> bytes:
    return b"labs: [" + b"0," * 600_000 + b"0]\n"


def _nested_100000_deep() -> bytes:
    return b"[" * 100_000 + b"]" * 100_000


RULE = (HERE / "rules" / "misspelt-rule-key" / "low-potassium.yaml").read_text()
GENERATORS: dict[str, dict[str, Callable[[], bytes]]] = {
    "patients": {
        "fifty-megabytes.yaml": _fifty_megabytes,
        "billion-laughs.yaml": _billion_laughs,
        "a-million-values.yaml": _a_million_values,
        "nested-100000-deep.json": _nested_100000_deep,
        "lab-with-a-megabyte-of-spaces.yaml": lambda: (
            b'age: 70\nlabs:\n  potassium: "3.1' + b" " * 1_000_000 + b'mmol/L"\n'
        ),
        "medication-with-a-megabyte-of-spaces.yaml": lambda: (
            b'age: 70\nmedications:\n  - "furosemide' + b" " * 1_000_000 + b'40 mg"\n'
        ),
    },
    "rules": {
        "billion-laughs": lambda: RULE.replace("titel:", "title:").encode() + _billion_laughs(),
        "fifty-megabytes": _fifty_megabytes,
    },
}


# --- the cases -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One corpus entry and what it must produce."""

    section: str  # patients | rules
    name: str
    why: str
    expect: tuple[dict[str, str], ...]
    process: bool = False
    file: str = "rules/low-potassium.yaml"
    generated: bool = False

    @property
    def id(self) -> str:
        return f"{self.section}/{self.name}"

    def materialise(self, tmp: Path) -> tuple[list[str], str]:
        """Write what is needed under `tmp`; return the command's arguments and the file it names."""
        if self.section == "patients":
            path = HERE / "patients" / self.name
            if self.generated:
                path = tmp / self.name
                path.write_bytes(GENERATORS["patients"][self.name]())
            return ["consult", str(path)], str(path)
        kb = tmp / "kb"
        shutil.copytree(ROOT / "knowledge", kb / "knowledge")
        if self.generated:
            (kb / "rules").mkdir()
            (kb / "rules" / "low-potassium.yaml").write_bytes(GENERATORS["rules"][self.name]())
        else:
            shutil.copytree(HERE / "rules" / self.name, kb / "rules")
        return ["consult", str(PATIENT), "--kb", str(kb)], self.file


def _cases() -> list[Case]:
    cases = []
    for generated, sections in ((False, MANIFEST), (True, MANIFEST["generated"])):
        for section in ("patients", "rules"):
            for name, entry in sections[section].items():
                extra = {"file": entry["file"]} if "file" in entry else {}
                cases.append(
                    Case(
                        section,
                        name,
                        entry["why"],
                        tuple(entry["expect"]),
                        entry.get("process", False),
                        generated=generated,
                        **extra,
                    )
                )
    return cases


CASES = _cases()


# --- running and checking ------------------------------------------------------------------------
class _Hung(BaseException):
    """Raised by the deadline; a BaseException, so that CliRunner does not catch it."""


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise _Hung(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check(case: Case, named: str, status: int, stdout: str, stderr: str) -> None:
    """Exit 1, nothing on stdout, exactly the expected lines on stderr, in order."""
    context = f"{case.id} ({case.why})\n--- stderr:\n{stderr}"
    assert status == 1, context
    assert stdout == "", context
    assert "Traceback" not in stderr and "internal error" not in stderr, context
    lines = stderr.splitlines()
    assert len(lines) == len(case.expect), context
    for line, expected in zip(lines, case.expect, strict=True):
        place = f"{named}:{expected['at']}" if "at" in expected else named
        assert line.startswith(f"error: {place}: {expected['code']} "), context
        assert expected["message"] in line, context
        if "key" in expected:
            assert f" [{expected['key']}" in line, context
        if "hint" in expected:
            assert f"; {expected['hint']}" in line, context


@pytest.fixture
def one_knowledge_base(consultant, monkeypatch):
    """The bundled knowledge base loaded once for every patient case, not once per case."""
    real = cramp_expert.api.Consultant
    monkeypatch.setattr(
        cramp_expert.api,
        "Consultant",
        lambda root=None: consultant if root is None else real(root),
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_1_with_one_located_line_per_problem(case, tmp_path, one_knowledge_base):
    args, named = case.materialise(tmp_path)
    with _deadline(IN_PROCESS_SECONDS):
        result = CliRunner().invoke(cli, args)
    # CliRunner turns any exception into exit status 1: only a deliberate exit counts here.
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    check(case, named, result.exit_code, result.stdout, result.stderr)


PROCESS_CASES = [c for c in CASES if c.process]


@pytest.mark.parametrize("case", PROCESS_CASES, ids=[c.id for c in PROCESS_CASES])
def test_in_a_real_process_within_a_time_limit(case, tmp_path):
    args, named = case.materialise(tmp_path)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("CRAMP_EXPERT_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "cramp_expert", *args],
        capture_output=True,
        text=True,
        timeout=PROCESS_SECONDS,
        env=env,
        cwd=tmp_path,
    )
    check(case, named, done.returncode, done.stdout, done.stderr)


def test_fifty_megabytes_on_stdin_are_refused_without_being_read_whole(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "cramp_expert", "consult", "-"],
        input=_fifty_megabytes(),
        capture_output=True,
        timeout=PROCESS_SECONDS,
        cwd=tmp_path,
    )
    assert done.returncode == 1 and done.stdout == b""
    assert done.stderr.decode().splitlines() == [
        f"error: <stdin>: E100 file is larger than {MAX_BYTES} bytes (2 MiB), the limit for a "
        "source file; a patient file is a few hundred bytes and a rule a few KiB: is it the "
        "right file?"
    ]


# --- the corpus itself ---------------------------------------------------------------------------
def test_every_corpus_file_has_an_expectation_and_every_expectation_a_file():
    for section in ("patients", "rules"):
        on_disk = {p.name for p in (HERE / section).iterdir()}
        assert on_disk == set(MANIFEST[section]), section
        assert not on_disk & set(MANIFEST["generated"][section]), section
        assert set(MANIFEST["generated"][section]) == set(GENERATORS[section]), section


def test_every_expectation_is_well_formed():
    for case in CASES:
        assert case.why and case.expect, case.id
        for expected in case.expect:
            assert set(expected) <= {"code", "at", "key", "message", "hint"}, case.id
            assert re.fullmatch(r"[EPR]\d{3}", expected["code"]), case.id
            assert "at" not in expected or AT.match(str(expected["at"])), case.id
            assert expected["message"], case.id


def test_the_corpus_is_as_large_as_the_issue_asks():
    # Issue 7: at least 40 files, for patient files and rule files.
    patients = [c for c in CASES if c.section == "patients"]
    rules = [c for c in CASES if c.section == "rules"]
    assert len(patients) + len(rules) >= 40 and len(patients) >= 40 and len(rules) >= 20


def test_the_generated_cases_really_cross_the_limits():
    assert len(_fifty_megabytes()) > 20 * MAX_BYTES
    assert len(_a_million_values()) < MAX_BYTES and _a_million_values().count(b",") > MAX_NODES
