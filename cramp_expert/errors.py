"""Problems with a location, and the exceptions that carry them.

Every problem found in a patient file, a rule file or a knowledge file is a `Problem`: a code, a
message, where it is (file, line, column, key path) and, where one can be derived, a hint such as
"did you mean 'potassium'?". Loaders collect every problem they find before raising, so one run
reports them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cramp_expert.problems import Severity, lookup
from cramp_expert.render.safe import visible


@dataclass(frozen=True, order=True)
class Location:
    """Where a value sits in a source file. Line and column are 1-based; 0 means unknown."""

    path: str
    line: int = 0
    column: int = 0
    key: str = ""

    def __post_init__(self) -> None:
        if self.line < 0 or self.column < 0:
            raise ValueError("line and column are 1-based (0 = unknown)")

    def __str__(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        return where


@dataclass(frozen=True)
class Problem:
    """One finding about an input: a stable code, a message, a location and an optional hint."""

    code: str
    """A code of the registry (`cramp_expert.problems`); any other is refused when made."""
    message: str
    location: Location
    hint: str = ""

    def __post_init__(self) -> None:
        lookup(self.code)

    @property
    def severity(self) -> Severity:
        """error, warning or info, as the registry declares the code."""
        return lookup(self.code).severity

    def render(self) -> str:
        """Return `file:line:col: message (key) hint`, the one-line form used on stderr.

        Control, escape and bidi characters (a newline inside a quoted key, an escape sequence
        quoted from a file) are shown escaped (`render.visible`), so that one problem is always
        exactly one line and cannot rewrite the terminal.
        """
        key = f" [{self.location.key}]" if self.location.key else ""
        hint = f"; {self.hint}" if self.hint else ""
        return visible(f"{self.location}: {self.code} {self.message}{key}{hint}")


@dataclass
class ProblemCollector:
    """Accumulates problems so that a loader can report all of them at once."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, code: str, message: str, location: Location, hint: str = "") -> None:
        """Record one problem."""
        self.problems.append(Problem(code, message, location, hint))

    def __bool__(self) -> bool:
        return bool(self.problems)


class CrampExpertError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(CrampExpertError):
    """Bad input: a patient file, a rule file or a knowledge file that cannot be used.

    Carries every problem that was found, each with its location.
    """

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(p.render() for p in self.problems))


class BadArgument(CrampExpertError):
    """An argument names something that is not there.

    An unknown rule, example or conclusion id, a git revision that does not exist: the command
    line reports it as a usage error (exit status 2).
    """


class KnowledgeBaseError(InputError):
    """The knowledge base (rules/ or knowledge/) is invalid; nothing can be concluded from it."""


class PatientFileError(InputError):
    """The patient file is invalid; the consultation does not run on a half-read patient."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return a "did you mean ...?" hint naming the closest candidate(s), or "" if none is close.

    Only candidates as close as the best one are named, so the hint points at one fix.
    """
    matches = closest(name, candidates)
    if not matches:
        return ""
    return "did you mean " + " or ".join(f"'{m}'" for m in matches) + "?"


def closest(name: str, candidates: Iterable[str]) -> list[str]:
    """The (at most three) candidates nearest to `name`, best first; empty if none is close."""
    pool = sorted(set(candidates))
    lowered = name.lower()
    scored = []
    for candidate in pool:
        matcher = difflib.SequenceMatcher(None, lowered, candidate.lower())
        # The quick upper bounds first, as difflib.get_close_matches does: a name of a
        # megabyte is compared in microseconds, not minutes.
        if matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6:
            score = matcher.ratio()
            if score >= 0.6:
                scored.append((score, candidate))
    if not scored:
        return []
    best = max(score for score, _ in scored)
    return [
        c
        for score, c in sorted(scored, key=lambda item: (-item[0], item[1]))
        if score >= best - 0.02
    ][:3]


def allowed(values: Iterable[object]) -> str:
    """Return an "allowed: a, b, c" hint."""
    return "allowed: " + ", ".join(str(v) for v in values)
