"""Numbers as a clinician writes them, the one reading shared by every input form.

YAML 1.1 reads `0140` as octal (96), `1:30` as base 60 (90), `0b11` as binary and `1_000` with
its underscore; Python's `int()` takes `1_000` and `float()` takes `1e3`, `inf` and `nan`. A
clinician writing `sodium: 0140` means 140 and one writing `1:30` may mean ninety minutes or a
time, so none of these forms is guessed at: only plain decimals (`70`, `-3`, `3.5`, `0.58`,
`1.2e3`) are numbers; everything else stays text and is refused, located, by the patient
file's checks. The same function reads YAML and JSON scalars, CSV cells and interview answers.
"""

from __future__ import annotations

import re

MAX_NUMBER_TEXT = 40
"""Longest text read as a number (checked before matching: no pattern ever sees more)."""
DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]{1,3})?")
"""A plain decimal: no leading zero (but `0.5`), no `_`, no base prefix, no `:`."""
_NUMBER_LIKE = re.compile(r"[-+]?[0-9][0-9_:.]*(?:[eE][-+]?[0-9]+)?|[-+]?0[bBoOxX][0-9a-fA-F_]+")
"""What YAML 1.1 or Python would read as a number although it is not a plain decimal."""


def plain_number(text: str) -> int | float | None:
    """`text` as a number when it is a plain decimal (an int without a point), else None."""
    text = text.strip()
    if len(text) > MAX_NUMBER_TEXT or not DECIMAL.fullmatch(text):
        return None
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


def misread_number(text: str) -> str:
    """Why `text` is not read as a number although it looks like one ("" when it does not).

    Used for the message: `0140 has a leading zero (YAML reads it as octal)`.
    """
    text = text.strip()
    if len(text) > MAX_NUMBER_TEXT or DECIMAL.fullmatch(text) or not _NUMBER_LIKE.fullmatch(text):
        return ""
    body = text.lstrip("+-")
    if body[:2].lower() in ("0b", "0o", "0x"):
        return f"'{text}' is a binary, octal or hexadecimal number: write it in decimal"
    if "_" in body:
        return f"'{text}' has '_' inside the number: write the digits only"
    if ":" in body:
        return f"'{text}' is written as a:b (YAML reads it in base 60): write one decimal number"
    if len(body) > 1 and body[0] == "0" and body[1].isdigit():
        return f"'{text}' has a leading zero (YAML reads it as octal): write it without the zero"
    return ""


class NumberForm(ValueError):
    """A number written in a form that is not read (`0140`, `1:30`, `0x46`, `1_000`)."""


_PREFIX = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
"""A number at the start of a text (linear: no nested repetition, no backtracking into spaces)."""
_ODD_NEXT = re.compile(r"[0-9_:]|[xXoObB][0-9a-fA-F]")
_NUMBER_PART = re.compile(r"[-+]?(?:0[bBoOxX][0-9a-fA-F_]*|[0-9][0-9_:.]*)")
MAX_VALUE_TEXT = 200
"""Longest text read as a value with its unit (`1.4 mg/dL`, `420 U/L uln 200`); checked before
any pattern is applied, so that no pattern ever runs on a megabyte of spaces."""


def split_number(text: str) -> tuple[str, str] | None:
    """`(number, rest)` of a text starting with a plain decimal, or None.

    `3.1 mmol/L` gives (`3.1`, `mmol/L`); a text starting with no number gives None. Raises
    NumberForm for `0140`, `1:30`, `0x46`, `1_000` and for a text longer than MAX_VALUE_TEXT.
    """
    if len(text) > MAX_VALUE_TEXT:
        raise NumberForm(f"the value is {len(text)} characters long; at most {MAX_VALUE_TEXT}")
    text = text.strip()
    match = _PREFIX.match(text)
    if not match:
        return None
    number, rest = match.group(), text[match.end() :]
    body = number.lstrip("+-")
    leading_zero = len(body) > 1 and body[0] == "0" and body[1].isdigit()
    if leading_zero or _ODD_NEXT.match(rest):
        part = _NUMBER_PART.match(text)
        written = part.group() if part else number
        raise NumberForm(
            misread_number(written) or f"'{written}' is not written as a plain decimal number"
        )
    return number, rest.strip()


def shown_number(value: float) -> str:
    """A value as a clinician writes it: `0.58`, `133`, `12,400`, never an exponent.

    Three significant figures below 100; whole numbers with thousands separators from 100 up.
    """
    if abs(value) >= 100:
        return f"{value:,.0f}"
    text = f"{value:.3g}"
    if "e" in text:  # below 0.001: rare, but never `1e-04` on a report
        text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text


__all__ = [
    "DECIMAL",
    "MAX_NUMBER_TEXT",
    "MAX_VALUE_TEXT",
    "NumberForm",
    "misread_number",
    "plain_number",
    "shown_number",
    "split_number",
]
