"""Drive the interview from a patient file, as a script would: read the keys in brackets, answer.

`PatientAnswers` answers each prompt from a patient file's data through the documented answer
grammar (unknown where the file has no value): a checklist with the keys present and `?key` for
the unknown ones, a line with `key value` entries, a question with its value. That is how the
tests prove that an interview ends where `consult` on the whole file does. `ScriptedIO` plays a
list of typed lines instead (`why`, `back`, a bad answer, `quit`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

PROMPT_KEY = re.compile(r"\[([^\]]+)\]: $")
"""Every interview prompt ends with its keys in brackets, comma-separated."""
_STARTED = re.compile(r"^medications\.(\d+)\.started_months_ago$")


def prompt_keys(prompt: str) -> list[str]:
    """The keys in brackets at the end of a prompt: `[labs.potassium, labs.sodium]: `."""
    match = PROMPT_KEY.search(prompt)
    if match is None:
        raise ValueError(f"prompt without keys in brackets: {prompt!r}")
    return [key.strip() for key in match.group(1).split(",")]


def prompt_key(prompt: str) -> str:
    """The one key in brackets at the end of a prompt."""
    keys = prompt_keys(prompt)
    if len(keys) != 1:
        raise ValueError(f"prompt with several keys: {prompt!r}")
    return keys[0]


def typed_value(value: Any) -> str:
    """What a clinician would type for a patient-file value."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, dict):
        unit = f" {value['unit']}" if value.get("unit") else ""
        uln = f" uln {value['uln']}" if "uln" in value else ""
        return f"{value.get('value')}{unit}{uln}"
    return str(value)


def file_value(data: Mapping[str, Any], key: str) -> Any:
    """The patient file's value for an entry key (None when the file has none)."""
    if key in ("medications", "conditions"):
        return data.get(key)
    started = _STARTED.match(key)
    if started:
        entry = data["medications"][int(started.group(1))]
        return entry.get("started_months_ago") if isinstance(entry, dict) else None
    section, _, name = key.partition(".")
    if name:
        block = data.get(section)
        return block.get(name) if isinstance(block, dict) else None
    return data.get(key)


def answer_from(data: Mapping[str, Any], key: str) -> str:
    """The answer to a one-entry question, from a patient file's data ('' when unknown)."""
    value = file_value(data, key)
    if key in ("medications", "conditions"):
        if value is None:
            return ""
        names = [e if isinstance(e, str) else str(e.get("name", "")) for e in value]
        return "; ".join(names) if names else "none"
    return "" if value is None else typed_value(value)


def answer_prompt(data: Mapping[str, Any], prompt: str) -> str:
    """The answer to any prompt, from a patient file's data, in the documented grammar."""
    keys = prompt_keys(prompt)
    if len(keys) == 1:
        return answer_from(data, keys[0])
    if "Numbers or keys present" in prompt.rsplit("\n", 1)[-1]:  # a checklist
        parts = []
        for key in keys:
            value = file_value(data, key)
            if value is None:
                parts.append(f"?{key}")
            elif value is True:
                parts.append(key)
        return ", ".join(parts) if parts else "none"
    entries = []
    for key in keys:
        value = file_value(data, key)
        if value is not None:
            entries.append(f"{key} {typed_value(value)}")
    return "; ".join(entries)


class PatientAnswers:
    """An InterviewIO that answers every prompt from a patient file's data."""

    def __init__(self, data: Mapping[str, Any]):
        self.data = data
        self.prompts: list[str] = []
        self.said: list[str] = []

    def ask(self, prompt: str) -> str | None:
        """Answer from the patient file."""
        if self.prompts[-3:] == [prompt] * 3:
            # The same prompt a fourth time in a row: the answer was refused each time.
            raise AssertionError(f"answer refused: {prompt}{self.said[-1:]}")
        self.prompts.append(prompt)
        return answer_prompt(self.data, prompt)

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


def interviewable(data: Mapping[str, Any], knowledge: Any) -> dict[str, Any]:
    """The patient file as the interview can take it.

    What it would not ask or would refuse (knowledge/interview.yaml; such a file gets a W008
    warning) is left out, and a pregnancy implied by weeks of gestation is said (as the
    normaliser reads it, W005).
    """
    from cramp_expert.patient import normalise_patient

    out: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    if "gestation_weeks" in out and "pregnant" not in out:
        out["pregnant"] = True
    facts = normalise_patient(out, knowledge)
    for warning in facts.warnings:
        if warning.code == "W008":
            section, _, name = warning.where.partition(".")
            if name and isinstance(out.get(section), dict):
                out[section].pop(name, None)
            else:
                out.pop(warning.where, None)
                if warning.where == "pregnant":
                    out.pop("gestation_weeks", None)
    return out


__all__ = [
    "PatientAnswers",
    "ScriptedIO",
    "answer_from",
    "answer_prompt",
    "file_value",
    "interviewable",
    "prompt_key",
    "prompt_keys",
    "typed_value",
]
