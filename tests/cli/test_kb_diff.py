"""`kb diff`: rules added, removed and changed, and what every case concludes differently."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from cramp_expert.authoring import BadArgument
from cramp_expert.authoring.diff import diff
from cramp_expert.cli import cli

BASE = Path(__file__).resolve().parents[1] / "kb_fixtures" / "_base"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


@pytest.fixture
def sides(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The fixture base (old), a changed copy (new) and a folder of cases."""
    old, new, cases = tmp_path / "old", tmp_path / "new", tmp_path / "cases"
    shutil.copytree(BASE, old)
    shutil.copytree(BASE, new)
    rules = new / "rules" / "base"
    # changed: the threshold and the certainty of the low-potassium rule
    edit(rules / "hypokalemia-measured.yaml", "lt: 3.5}", "lt: 3.3}")
    edit(rules / "hypokalemia-measured.yaml", "certainty: 0.8", "certainty: 0.6")
    edit(
        rules / "hypokalemia-measured.yaml",
        "given: {labs.potassium: 3.1}",
        "given: {labs.potassium: 3.2}",
    )
    # removed: the DVT rule (and its red flag, so the knowledge changes too)
    (rules / "dvt-tender-calf.yaml").unlink()
    edit(new / "knowledge" / "conclusions.yaml", "  rf_dvt_suspected:\n", "  rf_dvt:\n")
    # added: a copy of the DVT rule concluding the renamed red flag
    (rules / "dvt-calf.yaml").write_text(
        (BASE / "rules" / "base" / "dvt-tender-calf.yaml")
        .read_text()
        .replace("id: dvt-tender-calf", "id: dvt-calf")
        .replace("rf_dvt_suspected", "rf_dvt")
    )
    cases.mkdir()
    (cases / "low-k.yaml").write_text("labs: {potassium: 3.1}\n")  # certainty 0.8 -> 0.6
    (cases / "borderline-k.yaml").write_text("labs: {potassium: 3.4}\n")  # hypokalemia goes
    (cases / "tender.yaml").write_text("findings: {calf_tenderness: true}\n")  # flag renamed
    (cases / "normal.json").write_text('{"labs": {"potassium": 4.5}}')  # unchanged
    (cases / "vignette.yaml").write_text(
        "patient: {labs: {potassium: 3.4}}\nexpect: {causes: [hypokalemia]}\n"
    )
    (cases / "broken.yaml").write_text("labs: [\n")  # unreadable either way: not a change
    return old, new, cases


def test_rules_added_removed_and_changed(sides):
    old, new, _ = sides
    result = diff(str(old), str(new))
    assert [r.id for r in result.added] == ["dvt-calf"]
    assert [r.id for r in result.removed] == ["dvt-tender-calf"]
    (change,) = result.changed
    assert change.rule_id == "hypokalemia-measured"
    assert [name for name, _, _ in change.fields] == ["when", "certainty", "examples"]
    assert change.fields[1][1:] == (0.8, 0.6)
    assert result.knowledge == [
        "conclusion `rf_dvt` added",
        "conclusion `rf_dvt_suspected` removed",
    ]
    assert result.cases is None


def test_cases_show_what_appears_disappears_and_changes_certainty(sides):
    old, new, cases = sides
    by_path = {c.path: c for c in diff(str(old), str(new), cases).cases or []}
    assert set(by_path) == {
        "low-k.yaml",
        "borderline-k.yaml",
        "tender.yaml",
        "normal.json",
        "vignette.yaml",
        "broken.yaml",
    }
    assert by_path["low-k.yaml"].certainty == [("hypokalemia", 0.8, 0.6)]
    assert by_path["borderline-k.yaml"].disappeared == [("causes", "hypokalemia", 0.8)]
    assert by_path["vignette.yaml"].disappeared == [("causes", "hypokalemia", 0.8)]
    tender = by_path["tender.yaml"]
    assert (tender.appeared, tender.disappeared) == (
        [("red_flags", "rf_dvt", None)],
        [("red_flags", "rf_dvt_suspected", None)],
    )
    assert not by_path["normal.json"].changed and not by_path["broken.yaml"].changed


def test_markdown_for_the_reviewer(sides):
    old, new, cases = sides
    result = CliRunner().invoke(cli, ["kb", "diff", str(old), str(new), "--cases", str(cases)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "## Rules: 1 added, 1 removed, 1 changed" in out
    assert "- changed `hypokalemia-measured` (rules/base/hypokalemia-measured.yaml):" in out
    assert "    - was: `labs.potassium < 3.5`\n    - now: `labs.potassium < 3.3`" in out
    assert "  - certainty: 0.8 -> 0.6" in out
    assert "## Cases: 4 of 6 patient files in " in out
    assert "### low-k.yaml\n\n- certainty of cause `hypokalemia`: 0.80 -> 0.60" in out
    assert "- disappears: cause `hypokalemia` (0.80)" in out
    assert "- appears: red flag `rf_dvt`" in out
    data = json.loads(
        CliRunner()
        .invoke(cli, ["kb", "diff", str(old), str(new), "--cases", str(cases), "--format", "json"])
        .output
    )
    assert data["rules"]["removed"][0]["id"] == "dvt-tender-calf"
    assert {c["path"] for c in data["cases"] if c["certainty"]} == {"low-k.yaml"}


def test_a_case_unreadable_with_the_new_knowledge_base_is_reported(sides):
    old, new, cases = sides
    edit(new / "knowledge" / "facts.yaml", "  findings.calf_tenderness:", "  findings.calf_pain:")
    for rule in (new / "rules" / "base").glob("dvt-*.yaml"):
        rule.write_text(rule.read_text().replace("calf_tenderness", "calf_pain"))
    tender = next(c for c in diff(str(old), str(new), cases).cases or [] if c.path == "tender.yaml")
    assert list(tender.errors) == [str(new)]
    assert "P202 unknown key of findings 'calf_tenderness'" in tender.errors[str(new)]


def test_a_broken_side_is_named(sides):
    old, new, _ = sides
    edit(
        new / "rules" / "base" / "hypokalemia-measured.yaml",
        "labs.potassium, lt",
        "labs.potasium, lt",
    )
    result = CliRunner().invoke(cli, ["kb", "diff", str(old), str(new)])
    assert result.exit_code == 1
    assert f"{new}: rules/base/hypokalemia-measured.yaml:9:8: R303" in result.output


def test_git_revisions_are_exported(sides, tmp_path, monkeypatch):
    old, new, cases = sides
    repo = tmp_path / "repo"
    shutil.copytree(old, repo)

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=repo,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "old")
    shutil.rmtree(repo / "rules")
    shutil.rmtree(repo / "knowledge")
    shutil.copytree(new / "rules", repo / "rules")
    shutil.copytree(new / "knowledge", repo / "knowledge")
    git("add", "-A")
    git("commit", "-qm", "new")
    cache = tmp_path / "cache"
    monkeypatch.setenv("CRAMP_EXPERT_CACHE", str(cache))
    result = diff("HEAD~1", "HEAD", cases, workdir=repo)
    # The exported revisions' folders are gone, and so are their parsed-knowledge caches.
    assert sorted(p.name for p in cache.iterdir()) == ["key"]
    assert [r.id for r in result.added] == ["dvt-calf"]
    assert sum(c.changed for c in result.cases or []) == 4
    with pytest.raises(BadArgument, match="neither a folder nor a git revision"):
        diff("no-such-revision", "HEAD", workdir=repo)
    with pytest.raises(BadArgument, match="not inside a git repository"):
        diff("HEAD~1", "HEAD", workdir=tmp_path / "cases")


def test_usage_errors_exit_2(sides, tmp_path):
    old, _, _ = sides
    result = CliRunner().invoke(cli, ["kb", "diff", "--", str(old), "-rev"])
    assert result.exit_code == 2 and "neither a folder nor a git revision" in result.output
    assert CliRunner().invoke(cli, ["kb", "diff", str(old), str(tmp_path / "cases")]).exit_code == 2
