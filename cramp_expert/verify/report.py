"""Render a `kb check` for people, editors, CI and GitHub: `kb validate`'s formats, with patients.

The line formats are those of `authoring.report` (so editors and CI read both commands alike);
a finding that comes with a patient adds it: after the line in `parsable`, in the annotation in
`github`, under the problem in `text`, as data in `json`.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from itertools import groupby
from typing import Any

from cramp_expert.authoring.report import (
    FORMATS,
    counts,
    github,
    painter,
    parsable,
    problem_lines,
    summary,
    suppressed_json,
)
from cramp_expert.render.safe import visible
from cramp_expert.verify.checks import Check, Finding

_PLAIN = re.compile(r"^[A-Za-z0-9_./%^+-]+(?: [A-Za-z0-9_./%^+()-]+)*$")


def flow(value: Any) -> str:
    """A patient file on one line, in YAML flow style: `{age: 50, labs: {potassium: 3.4 mmol/L}}`."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return f"{value:g}"
    text = str(value)
    return text if _PLAIN.match(text) and not _reads_as_other(text) else json.dumps(text)


def _reads_as_other(text: str) -> bool:
    """Whether YAML would read `text`, unquoted, as something else than this text."""
    if text.lower() in ("true", "false", "yes", "no", "null", "on", "off", "~", ""):
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def _patient_line(finding: Finding) -> str:
    if finding.witness is None:
        return ""
    note = "" if finding.confirmed is not False else " (the engine does not confirm it)"
    return f"patient: {flow(finding.witness)}{note}"


def render(check: Check, output_format: str, *, color: bool = False) -> str:
    """Render `check` in one of `FORMATS`; the text ends with a newline unless empty."""
    if output_format == "text":
        return _human(check, color)
    if output_format == "parsable":
        return "".join(
            parsable(f.problem)
            + (f" {visible(_patient_line(f))}" if f.witness is not None else "")
            + "\n"
            for f in check.findings
        )
    if output_format == "github":
        return "".join(github(_with_patient(f)) + "\n" for f in check.findings)
    if output_format == "json":
        return json.dumps(as_json(check), indent=2, ensure_ascii=False, default=str) + "\n"
    raise ValueError(f"unknown format {output_format!r}; allowed: {', '.join(FORMATS)}")


def _with_patient(finding: Finding) -> Any:
    line = _patient_line(finding)
    if not line:
        return finding.problem
    hint = f"{finding.problem.hint}\n{line}" if finding.problem.hint else line
    return replace(finding.problem, hint=hint)


def as_json(check: Check) -> dict[str, Any]:
    """The check as data: a summary, what the verification did, every finding."""
    return {
        "root": str(check.root),
        "files_checked": len(check.files),
        "rules": check.rules,
        "verified": check.verified,
        "verification": check.stats,
        "problem_count": len(check.findings),
        **counts(check.problems, check.suppressed),
        "problems": [
            {
                "code": f.problem.code,
                "severity": f.problem.severity,
                "message": f.problem.message,
                "hint": f.problem.hint,
                "path": f.problem.location.path,
                "line": f.problem.location.line,
                "column": f.problem.location.column,
                "key": f.problem.location.key,
                "patient": f.witness,
                "confirmed": f.confirmed,
            }
            for f in check.findings
        ],
        "suppressed": [suppressed_json(p) for p in check.suppressed],
    }


def _summary(check: Check) -> str:
    knowledge_files = len(check.files) - check.rules
    checked = f"{knowledge_files} knowledge files and {check.rules} rule files checked"
    if not check.verified:
        return checked + "; not verified, as the knowledge base does not load"
    stats = check.stats
    searches = stats.get("searches", 0)
    return (
        f"{checked}; verified with {stats.get('generated', 0)} generated patients and "
        f"{searches} search{'es' * (searches != 1)} "
        f"({stats.get('combinations', 0)} combinations of facts)"
    )


def _human(check: Check, color: bool) -> str:
    paint = painter(color)

    if not check.findings:
        return f"{paint('ok', summary((), check.suppressed))}: {_summary(check)}.\n"
    lines: list[str] = []
    for path, group in groupby(check.findings, key=lambda f: f.problem.location.path):
        lines.append(paint("path", path))
        for finding in group:
            shown, indent = problem_lines(finding.problem, paint)
            lines += shown
            if finding.witness is not None:
                lines.append(indent + paint("patient", _patient_line(finding)))
        lines.append("")
    lines.append(
        paint("summary", summary(check.problems, check.suppressed)) + f" ({_summary(check)})."
    )
    return "\n".join(lines) + "\n"


__all__ = ["FORMATS", "as_json", "flow", "render"]
