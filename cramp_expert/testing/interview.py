"""Drive the interview from a patient file, as a script would: read the key in brackets, answer.

`PatientAnswers` answers each prompt from a patient file's data (unknown where the file has no
value), which is how the tests prove that an interview ends where `consult` on the whole file
does. `ScriptedIO` plays a list of typed lines instead (`why`, `back`, a bad answer, `quit`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

PROMPT_KEY = re.compile(r"\[([^\]]+)\]: $")
"""Every interview prompt ends with its key in brackets."""
_STARTED = re.compile(r"^medications\.(\d+)\.started_months_ago$")


def prompt_key(prompt: str) -> str:
    """The key in brackets at the end of a prompt: `labs.potassium`."""
    match = PROMPT_KEY.search(prompt)
    if match is None:
        raise ValueError(f"prompt without a key in brackets: {prompt!r}")
    return match.group(1)


def typed_value(value: Any) -> str:
    """What a clinician would type for a patient-file value."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        unit = f" {value['unit']}" if value.get("unit") else ""
        uln = f" uln {value['uln']}" if "uln" in value else ""
        return f"{value.get('value')}{unit}{uln}"
    return str(value)


def answer_from(data: dict[str, Any], key: str) -> str:
    """The answer to the question with `key`, from a patient file's data ('' when unknown)."""
    if key in ("medications", "conditions"):
        if data.get(key) is None:
            return ""
        names = [e if isinstance(e, str) else str(e.get("name", "")) for e in data[key]]
        return "; ".join(names) if names else "none"
    started = _STARTED.match(key)
    if started:
        entry = data["medications"][int(started.group(1))]
        value = entry.get("started_months_ago") if isinstance(entry, dict) else None
        return "" if value is None else str(value)
    section, _, name = key.partition(".")
    value = (data.get(section) or {}).get(name) if name else data.get(key)
    return "" if value is None else typed_value(value)


class PatientAnswers:
    """An InterviewIO that answers every question from a patient file's data."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.prompts: list[str] = []
        self.said: list[str] = []

    def ask(self, prompt: str) -> str | None:
        """Answer from the patient file."""
        if self.prompts[-3:] == [prompt] * 3:
            # The same question a fourth time in a row: the answer was refused each time.
            raise AssertionError(f"answer refused: {prompt}{self.said[-1:]}")
        self.prompts.append(prompt)
        return answer_from(self.data, prompt_key(prompt))

    def say(self, text: str) -> None:
        """Keep what the interview said."""
        self.said.append(text)


class ScriptedIO:
    """An InterviewIO that types the given lines in order, then ends the input."""

    def __init__(self, lines: Iterable[str]):
        self.lines = list(lines)
        self.prompts: list[str] = []
        self.said: list[str] = []

    def ask(self, prompt: str) -> str | None:
        """Type the next line, or end the input."""
        self.prompts.append(prompt)
        return self.lines.pop(0) if self.lines else None

    def say(self, text: str) -> None:
        """Keep what the interview said."""
        self.said.append(text)


__all__ = ["PatientAnswers", "ScriptedIO", "answer_from", "prompt_key", "typed_value"]
