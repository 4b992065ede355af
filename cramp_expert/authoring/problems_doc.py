"""The problem-code reference in Markdown (`cramp-expert kb docs --problems`): docs/problems.md.

Generated from the registry (`cramp_expert.problems`) alone, as sqlfluff and ruff generate their
rule pages: one section per code with its severity, where it is raised, what it means, an
example and the fix. tests/test_docs.py compares the committed file with this output.
"""

from __future__ import annotations

from cramp_expert.problems import CODES, STAGES, SUPPRESSIBLE, Code

COMMAND = "cramp-expert kb docs --problems -o docs/problems.md"

_FAMILIES = (
    ("E", "Any YAML or JSON file"),
    ("K", "Knowledge files"),
    ("R", "Rule files"),
    ("P", "Patient files"),
    ("B", "Batch inputs"),
    ("W", "Warnings in a consultation's result"),
)


def render_reference() -> str:
    """Every registered code as Markdown, in the registry's order."""
    counts = {s: sum(1 for c in CODES.values() if c.severity == s) for s in ("error", "warning")}
    out = [
        f"<!-- Generated from cramp_expert/problems.py by `{COMMAND}`: do not edit by hand.",
        "     tests/test_docs.py fails when this file is stale. -->",
        "# Problem codes",
        "",
        f"Every problem cramp-expert reports has one of these {len(CODES)} codes "
        f"({counts['error']} errors, {counts['warning']} warnings). The first letter says what "
        "was being read, the hundreds what kind of problem it is: 1xx reading the file, 2xx its "
        "shape, 3xx names and types, 4xx logic, 5xx examples, 6xx suppressions.",
        "",
        "- **error**: the input cannot be used as it is; `kb validate`, `kb check`, `consult` "
        "and `batch` fail (exit status 1).",
        "- **warning**: printed (and in `--format json`/`parsable`/`github` with its "
        "severity), but the command succeeds.",
        "",
        "A rule file may silence a finding about itself with `suppress:` (see docs/authoring.md, "
        '"Suppressing a finding"); only these codes can be suppressed: '
        + ", ".join(f"[{code}](#{code.lower()})" for code in SUPPRESSIBLE)
        + ".",
        "",
        "| code | severity | summary |",
        "|---|---|---|",
        *(
            f"| [{c.code}](#{c.code.lower()}) | {c.severity} | {c.summary} |"
            for c in CODES.values()
        ),
    ]
    for letter, title in _FAMILIES:
        out += ["", f"## {letter}: {title}"]
        for entry in CODES.values():
            if entry.code.startswith(letter):
                out += _section(entry)
    return "\n".join(out) + "\n"


def _section(entry: Code) -> list[str]:
    where = STAGES[entry.stage]
    suppress = "; a rule file may suppress it" if entry.suppressible else ""
    return [
        "",
        f'<a id="{entry.code.lower()}"></a>',
        f"### {entry.code}: {entry.summary}",
        "",
        f"**{entry.severity}**, raised by {where}{suppress}.",
        "",
        entry.meaning,
        "",
        "Example:",
        "",
        "```",
        entry.example,
        "```",
        "",
        f"Fix: {entry.fix}",
    ]


__all__ = ["COMMAND", "render_reference"]
