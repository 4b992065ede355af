"""Broken knowledge bases produce exactly the problems their files announce.

Each folder of tests/kb_fixtures/ is one case, laid over the tiny valid knowledge base in
`_base/`; its files say which problem they must produce on which line (`# expect: R303`), as
semgrep's `# ruleid:` annotations do. See tests/kb_fixtures/README.md.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from cramp_expert.authoring.lint import validate

FIXTURES = Path(__file__).resolve().parent.parent / "kb_fixtures"
BASE = FIXTURES / "_base"
CASES = sorted(p for p in FIXTURES.iterdir() if p.is_dir() and not p.name.startswith("_"))
EXPECT = re.compile(
    r"#\s*expect:\s*(?P<codes>[A-Z]\d{3}(?:\s*,\s*[A-Z]\d{3})*)(?:\s+at line (?P<line>\d+))?"
)

Found = Counter[tuple[str, int, str]]


def expected(case: Path) -> Found:
    """Every (file, line, code) the case announces."""
    wanted: Found = Counter()
    for path in sorted(case.rglob("*")):
        relative = path.relative_to(case).as_posix()
        if path.name == "expect.txt":
            for entry in path.read_text().splitlines():
                where, code = entry.split()
                name, line = where.rsplit(":", 1)
                wanted[(name, int(line), code)] += 1
        elif path.suffix in (".yaml", ".json") and path.is_file():
            try:
                lines = path.read_text().splitlines()
            except UnicodeDecodeError:
                continue  # announced in expect.txt
            for number, text in enumerate(lines, start=1):
                for match in EXPECT.finditer(text):
                    line = int(match["line"]) if match["line"] is not None else number
                    for code in re.split(r"\s*,\s*", match["codes"]):
                        wanted[(relative, line, code)] += 1
    return wanted


def build(case: Path, tmp_path: Path) -> Path:
    root = tmp_path / case.name
    shutil.copytree(BASE, root)
    shutil.copytree(case, root, dirs_exist_ok=True)
    (root / "expect.txt").unlink(missing_ok=True)
    return root


def found(root: Path) -> tuple[Found, list[str]]:
    problems = validate(root).problems
    for problem in problems:
        # Every problem has the shape the reference documents, and a position when it has a line.
        assert re.fullmatch(r"[EKRP]\d{3}", problem.code), problem.render()
        assert problem.message, problem.render()
        assert problem.location.column >= 1 or not problem.location.line, problem.render()
    return (
        Counter((p.location.path, p.location.line, p.code) for p in problems),
        [p.render() for p in problems],
    )


def test_the_real_knowledge_base_validates_clean():
    validation = validate()
    assert validation.problems == (), "\n".join(p.render() for p in validation.problems)
    assert validation.rules > 100


def test_the_base_is_a_valid_knowledge_base():
    assert validate(BASE).problems == ()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture(case, tmp_path):
    wanted = expected(case)
    assert wanted, f"{case.name} announces no problem"
    got, rendered = found(build(case, tmp_path))
    assert got == wanted, "\n".join(
        [
            "missing: " + repr(sorted((wanted - got).elements())),
            "unexpected: " + repr(sorted((got - wanted).elements())),
            *rendered,
        ]
    )


def announced_codes() -> set[str]:
    """Every code some case announces (and, the test above shows, produces)."""
    return {code for case in CASES for (_, _, code) in expected(case)}
