"""The answer grammars of prompts that ask several entries at once.

- A checklist (yes/no findings): the item numbers or keys of the items present, separated by
  spaces or commas; every other listed item is absent. `?N` (or `?key`) marks item N unknown;
  `none` means all absent; an empty answer or `unknown` means all unknown.
- A line of fields, labs or start dates: `name value` entries separated by `;` or `,`. A name is
  the item's key, the last part of it (`potassium`), or a declared short name (`K`, `nights`);
  for start dates also the item's number or the first word of the medicine. `name ?` leaves
  that item unknown. In a fields line, a value without a name goes to the first item, in order,
  that can take it (`72, woman`); lab values always need their name. Items not given stay
  unknown.

Each reader returns entry key -> value (None: unknown, or known and nothing to write) and raises
AnswerError with the reason and an example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from cramp_expert.interview.questions import MAX_ANSWER, UNKNOWN_ANSWERS, AnswerError, Question
from cramp_expert.numbers import MAX_VALUE_TEXT

NONE_ANSWERS = ("none", "no", "n", "nil", "nothing", "all absent", "none present")
CHECKLIST_HELP = (
    "Type the numbers (or keys) of the items present, separated by spaces or commas: every "
    "other item listed is then absent. '?N' (or '?key') marks item N unknown. 'none': all "
    "absent. Enter or 'unknown': all unknown. Example: '1 3 ?2' (1 and 3 present, 2 unknown, "
    "the rest absent)."
)
LINE_HELP = (
    "Type 'name value' for each item known, separated by ';' or ','; a name is the key, its "
    "last part or the short name shown; 'name ?' leaves it unknown. Items not given stay "
    "unknown."
)
FIELDS_HELP = (
    LINE_HELP + " A value without a name fills the first item, in order, that can take it."
)
LABS_HELP = (
    LINE_HELP + " Units are optional where the default unit is meant; for CK add the lab's "
    "limit: 'CK 420 U/L uln 200'."
)


def _fold(text: str) -> str:
    return text.strip().lower().rstrip(":=").strip()


def item_names(
    items: Sequence[Question], names: Mapping[str, str], numbered: bool = False
) -> dict[str, str]:
    """Every name a typed entry may use for an item: key, last part, short names (lower case)."""
    keys = {q.key for q in items}
    found: dict[str, str] = {}
    for index, question in enumerate(items, start=1):
        found[question.key.lower()] = question.key
        found.setdefault(question.key.rsplit(".", 1)[-1].lower(), question.key)
        if numbered:
            found[str(index)] = question.key
    for name, key in names.items():
        if key in keys:
            found.setdefault(name.lower(), key)
    return found


def read_checklist(items: Sequence[Question], text: str) -> dict[str, bool | None]:
    """A checklist answer: key -> True (present), False (absent) or None (unknown)."""
    if len(text) > MAX_ANSWER:
        raise AnswerError(f"an answer of {len(text)} characters is too long")
    folded = " ".join(text.split()).lower()
    if folded in UNKNOWN_ANSWERS:
        return {q.key: None for q in items}
    if folded in NONE_ANSWERS:
        return {q.key: False for q in items}
    names = item_names(items, {}, numbered=True)
    present: set[str] = set()
    unknown: set[str] = set()
    for token in (t for t in re.split(r"[\s,;]+", folded) if t):
        marked = token.startswith("?")
        name = token.lstrip("?").removeprefix("findings.") if marked else token
        key = names.get(name) or names.get(token.lstrip("?"))
        if key is None:
            raise AnswerError(
                f"'{token}' is not an item: type item numbers 1-{len(items)} or their keys; "
                f"e.g. '1 3 ?2'"
            )
        (unknown if marked else present).add(key)
    both = present & unknown
    if both:
        raise AnswerError(f"{', '.join(sorted(both))} is both present and unknown; e.g. '1 ?2'")
    return {q.key: True if q.key in present else None if q.key in unknown else False for q in items}


def read_line(
    items: Sequence[Question],
    text: str,
    names: Mapping[str, str],
    *,
    positional: bool,
    numbered: bool = False,
    extra: Sequence[Question] = (),
) -> dict[str, Any]:
    """A line of `name value` entries: key -> value for the items given (None: unknown).

    `extra` are items not shown that the line may still name (a lab that was not asked for).
    """
    if len(text) > MAX_ANSWER:  # before any pattern runs
        raise AnswerError(f"an answer of {len(text)} characters is too long")
    folded = " ".join(text.split())
    if folded.lower() in UNKNOWN_ANSWERS or folded.lower() in NONE_ANSWERS:
        return {}
    known = item_names([*items, *extra], names, numbered=numbered)
    by_key = {q.key: q for q in [*items, *extra]}
    given: dict[str, Any] = {}
    last: str | None = None
    for entry in (e.strip() for e in re.split(r"[;,\n]", folded)):
        if not entry:
            continue
        if len(entry) > MAX_VALUE_TEXT:
            raise AnswerError(f"an entry of {len(entry)} characters is too long")
        named = _named(entry, known)
        if named is not None:
            key, rest = named
            if key in given:
                raise AnswerError(f"{key} is given twice")
            given[key] = _read_value(by_key[key], rest)
            last = key
            continue
        if last is not None and by_key[last].kind == "list" and isinstance(given[last], list):
            # `sites calf, foot`: a list's values may be separated by commas too.
            try:
                more = by_key[last].read(entry)
            except AnswerError:
                pass
            else:
                given[last] = sorted({*given[last], *more})
                continue
        if not positional:
            raise AnswerError(
                f"'{entry}': begin each entry with the item's name, e.g. "
                f"'{_name_for(items[0], names)} {items[0].example()}'"
            )
        _place(entry, items, given)
    return given


def _named(entry: str, known: Mapping[str, str]) -> tuple[str, str] | None:
    """(key, value text) when the entry begins with an item's name followed by a value."""
    head, _, rest = entry.partition(" ")
    key = known.get(_fold(head))
    if key is not None and rest.strip():
        return key, rest.strip()
    # Names of two words ("creatine kinase") and names glued to the value ("K3.4").
    for name, name_key in known.items():
        lowered = entry.lower()
        if " " in name and lowered.startswith(name + " ") and entry[len(name) :].strip():
            return name_key, entry[len(name) :].strip()
    glued = re.match(r"^([a-zA-Z][a-zA-Z0-9_]*?)\s*[:=]?\s*([-+]?\.?\d.*)$", entry)
    if glued and glued.group(1).lower() in known:
        return known[glued.group(1).lower()], glued.group(2)
    return None


def _read_value(question: Question, text: str) -> Any:
    lowered = text.strip().lower()
    if question.kind == "choice" and lowered in question.values:
        return lowered  # `sex unknown` is a value of its own
    if lowered in UNKNOWN_ANSWERS or lowered == "?":
        return None
    try:
        return question.read(text)
    except AnswerError as exc:
        raise AnswerError(f"{question.key}: {exc}") from None


def _place(entry: str, items: Sequence[Question], given: dict[str, Any]) -> None:
    """Give a value without a name to the first item, in order, that can take it."""
    if entry.lower() in UNKNOWN_ANSWERS or entry == "?":
        for question in items:
            if question.key not in given:
                given[question.key] = None
                return
        raise AnswerError("more values than items")
    reasons = []
    for question in items:
        if question.key in given:
            continue
        try:
            given[question.key] = question.read(entry)
            return
        except AnswerError as exc:
            reasons.append(f"{question.key}: {exc}")
    # "72 woman": several values without separators.
    words = entry.split()
    if len(words) > 1:
        trial = dict(given)
        try:
            for word in words:
                _place(word, items, trial)
        except AnswerError:
            pass
        else:
            given.update(trial)
            return
    open_items = [q for q in items if q.key not in given]
    example = (
        "; ".join(f"{q.key.rsplit('.', 1)[-1]} {q.example()}" for q in open_items[:2])
        or "name value"
    )
    raise AnswerError(
        f"'{entry}' fits no item left ({'; '.join(reasons[:3]) or 'every item is given'}); "
        f"name the item, e.g. '{example}'"
    )


def _name_for(question: Question, names: Mapping[str, str]) -> str:
    short = [n for n, key in names.items() if key == question.key]
    return short[0] if short else question.key.rsplit(".", 1)[-1]


__all__ = [
    "CHECKLIST_HELP",
    "FIELDS_HELP",
    "LABS_HELP",
    "LINE_HELP",
    "item_names",
    "read_checklist",
    "read_line",
]
