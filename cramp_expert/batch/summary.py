"""Counts over a whole batch run, and the summary a person reads after it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from cramp_expert.batch.records import Outcome
from cramp_expert.render import visible


@dataclass
class Summary:
    """Counts over a whole run."""

    records: int = 0
    consulted: int = 0
    failed: int = 0
    internal: int = 0
    causes: Counter[str] = field(default_factory=Counter)
    red_flags: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    """Problem code -> records with at least one problem of that code."""

    def add(self, outcome: Outcome) -> None:
        """Count one record."""
        self.records += 1
        if outcome.errors:
            self.failed += 1
            # A bug, or the compiled back end's audit finding a difference from experta.
            self.internal += "internal" in outcome.errors or "audit" in outcome.errors
            self.errors.update(set(outcome.errors))
        else:
            self.consulted += 1
            self.causes.update(outcome.causes)
            self.red_flags.update(outcome.red_flags)

    def merge(self, other: Summary) -> None:
        """Count another part of the run's records (counted apart, e.g. on a Dask worker)."""
        self.records += other.records
        self.consulted += other.consulted
        self.failed += other.failed
        self.internal += other.internal
        self.causes.update(other.causes)
        self.red_flags.update(other.red_flags)
        self.errors.update(other.errors)

    def render(self, output: str) -> str:
        """The summary for a person: counts, then red flags, causes and errors by frequency."""
        lines = [f"{self.records} records: {self.consulted} consulted, {self.failed} with errors"]
        if self.failed:
            lines[0] += f" (their 'error' lines in {visible(output)} say why)"
        sections = (
            ("Red flags (patients)", self.red_flags),
            ("Causes (patients)", self.causes),
            ("Errors (records)", self.errors),
        )
        for title, counts in sections:
            if counts:
                lines.append(f"{title}:")
                shown = {visible(key): count for key, count in counts.items()}
                width = max(len(key) for key in shown)
                for key, count in sorted(shown.items(), key=lambda item: (-item[1], item[0])):
                    lines.append(f"  {key:<{width}}  {count:>6}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Joined:
    """Records consulted elsewhere, as their output lines already joined, and their counts."""

    data: bytes
    """Whole lines, each with its newline, encoded as `writer.joined_lines` encodes them."""
    summary: Summary
    """What the run's summary counts of them (`summary.records`: how many)."""


__all__ = ["Joined", "Summary"]
