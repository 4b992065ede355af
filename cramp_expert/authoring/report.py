"""Render a validation for people, editors, CI and GitHub.

Four formats, as the linters authors already know give them (yamllint, ruff, ansible-lint):

- `text`: grouped by file, one problem a line with its fix underneath; ANSI colour on request;
- `parsable`: `file:line:col: [severity] CODE message [key] (fix)`, one line each, for editors
  and grep (yamllint's parsable shape);
- `json`: the problems as data, each with its severity, with a summary;
- `github`: workflow commands (`::error`, `::warning`, `::notice` by severity) that GitHub shows
  as annotations on the pull request's lines.

Every problem carries its severity from the registry (`cramp_expert.problems`): only errors make
the command fail; warnings are shown all the same. Problems a rule file suppressed are counted.

A problem without a known position (a missing file) is placed at line 1, column 1 in the
line-based formats, as editors need a number there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from itertools import groupby

from cramp_expert.authoring.lint import Validation
from cramp_expert.errors import Problem
from cramp_expert.render.safe import visible, visible_lines

FORMATS = ("text", "parsable", "json", "github")

_RESET = "\033[0m"
_STYLES = {
    "path": "\033[1;4m",  # bold, underlined
    "position": "\033[2m",  # dim
    "code": "\033[1;31m",  # bold red
    "warning": "\033[1;33m",  # bold yellow: a code of severity warning or info
    "hint": "\033[36m",  # cyan
    "ok": "\033[1;32m",  # bold green
    "summary": "\033[1m",
    "patient": "\033[33m",  # yellow: a verifier finding's patient (kb check)
}


def render(validation: Validation, output_format: str, *, color: bool = False) -> str:
    """Render `validation` in one of `FORMATS`; the text ends with a newline unless empty."""
    if output_format == "text":
        return _human(validation, color)
    if output_format == "parsable":
        return "".join(parsable(p) + "\n" for p in validation.problems)
    if output_format == "json":
        return json.dumps(as_json(validation), indent=2, ensure_ascii=False) + "\n"
    if output_format == "github":
        return "".join(github(p) + "\n" for p in validation.problems)
    raise ValueError(f"unknown format {output_format!r}; allowed: {', '.join(FORMATS)}")


def _line_col(problem: Problem) -> tuple[int, int]:
    location = problem.location
    return (location.line, location.column or 1) if location.line else (1, 1)


def parsable(problem: Problem) -> str:
    """`file:line:col: CODE message [key] (hint)`: the shape editors' error parsers read."""
    line, column = _line_col(problem)
    key = f" [{problem.location.key}]" if problem.location.key else ""
    hint = f" ({problem.hint})" if problem.hint else ""
    return visible(
        f"{problem.location.path}:{line}:{column}: [{problem.severity}] {problem.code} "
        f"{problem.message}{key}{hint}"
    )


def github(problem: Problem) -> str:
    """A GitHub Actions `::error`/`::warning`/`::notice` workflow command (an annotation)."""
    line, column = _line_col(problem)
    # Line breaks are the annotation's own (a finding's patient follows on its own line).
    text = visible_lines(problem.message) + (
        f"\n{visible_lines(problem.hint)}" if problem.hint else ""
    )
    properties = {"file": visible(problem.location.path), "title": problem.code}
    if problem.location.line:
        properties |= {"line": str(line), "col": str(column)}
    props = ",".join(f"{name}={_escape_property(value)}" for name, value in properties.items())
    command = _GITHUB[problem.severity]
    return f"::{command} {props}::{_escape_data(text)}"


_GITHUB = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(text: str) -> str:
    # GitHub's workflow-command escaping (actions/toolkit, command.ts).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def as_json(validation: Validation) -> dict[str, object]:
    """The validation as JSON data: a summary and every problem with its location."""
    return {
        "root": str(validation.root),
        "files_checked": len(validation.files),
        "rules": validation.rules,
        "problem_count": len(validation.problems),
        **counts(validation.problems, validation.suppressed),
        "problems": [
            {
                "code": p.code,
                "severity": p.severity,
                "message": p.message,
                "hint": p.hint,
                "path": p.location.path,
                "line": p.location.line,
                "column": p.location.column,
                "key": p.location.key,
            }
            for p in validation.problems
        ],
        "suppressed": [suppressed_json(p) for p in validation.suppressed],
    }


def suppressed_json(problem: Problem) -> dict[str, object]:
    """A suppressed problem as data: what was silenced, and where."""
    location = problem.location
    return {
        "code": problem.code,
        "message": problem.message,
        "path": location.path,
        "line": location.line,
        "column": location.column,
    }


def counts(problems: Sequence[Problem], suppressed: Sequence[Problem]) -> dict[str, int]:
    """How many errors and warnings (notes counted as warnings) were found, how many silenced."""
    errors = sum(1 for p in problems if p.severity == "error")
    return {
        "error_count": errors,
        "warning_count": len(problems) - errors,
        "suppressed_count": len(suppressed),
    }


def summary(problems: Sequence[Problem], suppressed: Sequence[Problem]) -> str:
    """`Found 3 problems in 2 files` (errors and warnings counted apart when some are warnings).

    What was suppressed is counted after it; `No problems` when nothing is reported.
    """
    found = counts(problems, suppressed)
    silenced = f"; {found['suppressed_count']} suppressed" if suppressed else ""
    if not problems:
        return "No problems" + (f" ({found['suppressed_count']} suppressed)" if suppressed else "")
    count = len(problems)
    files = len({p.location.path for p in problems})
    split = ""
    if found["warning_count"]:
        errors, warnings = found["error_count"], found["warning_count"]
        split = f" ({errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)})"
    return (
        f"Found {count} problem{'s' * (count != 1)}{split} in {files} file{'s' * (files != 1)}"
        + silenced
    )


def painter(color: bool) -> Callable[[str, str], str]:
    """`paint(style, text)`: the text in the style's colour, or as it is without colour."""

    def paint(style: str, text: str) -> str:
        # What is painted may quote a file (a message, a hint, a path): shown visibly, so that
        # only the report's own colours reach the terminal.
        return f"{_STYLES[style]}{visible(text)}{_RESET}" if color else visible(text)

    return paint


def problem_lines(problem: Problem, paint: Callable[[str, str], str]) -> tuple[list[str], str]:
    """One problem in the human format (position, code, message, hint), and its indent.

    Lines added under the problem (a verifier finding's patient) use the same indent.
    """
    location = problem.location
    position = f"{location.line}:{location.column or 1}" if location.line else "-"
    key = f"  [{location.key}]" if location.key else ""
    error = problem.severity == "error"
    tag = "" if error else f"{problem.severity}: "
    lines = [
        f"  {paint('position', position.ljust(7))} "
        f"{paint('code' if error else 'warning', problem.code)}  "
        f"{visible(tag + problem.message + key)}"
    ]
    indent = f"  {' ' * 7} {' ' * len(problem.code)}  "
    if problem.hint:
        lines.append(indent + paint("hint", problem.hint))
    return lines, indent


def _human(validation: Validation, color: bool) -> str:
    paint = painter(color)

    knowledge_files = len(validation.files) - validation.rules
    checked = f"{knowledge_files} knowledge files and {validation.rules} rule files checked"
    if not validation.problems:
        return f"{paint('ok', summary((), validation.suppressed))}: {checked}.\n"
    lines: list[str] = []
    for path, group in groupby(validation.problems, key=lambda p: p.location.path):
        lines.append(paint("path", path))
        for problem in group:
            lines += problem_lines(problem, paint)[0]
        lines.append("")
    lines.append(
        paint("summary", summary(validation.problems, validation.suppressed)) + f" ({checked})."
    )
    return "\n".join(lines) + "\n"
