"""Render a validation for people, editors, CI and GitHub.

Four formats, as the linters authors already know give them (yamllint, ruff, ansible-lint):

- `text`: grouped by file, one problem a line with its fix underneath; ANSI colour on request;
- `parsable`: `file:line:col: CODE message [key] (fix)`, one line each, for editors and grep;
- `json`: the problems as data, with a summary;
- `github`: workflow commands that GitHub shows as annotations on the pull request's lines.

A problem without a known position (a missing file) is placed at line 1, column 1 in the
line-based formats, as editors need a number there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
        f"{problem.location.path}:{line}:{column}: {problem.code} {problem.message}{key}{hint}"
    )


def github(problem: Problem) -> str:
    """A GitHub Actions `::error` workflow command (an annotation on the file's line)."""
    line, column = _line_col(problem)
    # Line breaks are the annotation's own (a finding's patient follows on its own line).
    text = visible_lines(problem.message) + (
        f"\n{visible_lines(problem.hint)}" if problem.hint else ""
    )
    properties = {"file": visible(problem.location.path), "title": problem.code}
    if problem.location.line:
        properties |= {"line": str(line), "col": str(column)}
    props = ",".join(f"{name}={_escape_property(value)}" for name, value in properties.items())
    return f"::error {props}::{_escape_data(text)}"


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
        "problems": [
            {
                "code": p.code,
                "message": p.message,
                "hint": p.hint,
                "path": p.location.path,
                "line": p.location.line,
                "column": p.location.column,
                "key": p.location.key,
            }
            for p in validation.problems
        ],
    }


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
    lines = [
        f"  {paint('position', position.ljust(7))} {paint('code', problem.code)}  "
        f"{visible(problem.message + key)}"
    ]
    indent = f"  {' ' * 7} {' ' * len(problem.code)}  "
    if problem.hint:
        lines.append(indent + paint("hint", problem.hint))
    return lines, indent


def _human(validation: Validation, color: bool) -> str:
    paint = painter(color)

    knowledge_files = len(validation.files) - validation.rules
    checked = f"{knowledge_files} knowledge files and {validation.rules} rule files checked"
    if validation.ok:
        return f"{paint('ok', 'No problems')}: {checked}.\n"
    lines: list[str] = []
    for path, group in groupby(validation.problems, key=lambda p: p.location.path):
        lines.append(paint("path", path))
        for problem in group:
            lines += problem_lines(problem, paint)[0]
        lines.append("")
    files = len({p.location.path for p in validation.problems})
    count = len(validation.problems)
    lines.append(
        paint(
            "summary",
            f"Found {count} problem{'s' * (count != 1)} in {files} file{'s' * (files != 1)}",
        )
        + f" ({checked})."
    )
    return "\n".join(lines) + "\n"
