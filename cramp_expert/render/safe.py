r"""Text that came from input, made safe to print on a terminal or into a text file.

A patient file's strings (its id, medicines, conditions, answers) reach the clinician's terminal.
A control character, an escape sequence or a bidirectional override in them could clear the
screen, move the cursor, set the window title, write the clipboard or reorder what is shown, so a
file could print a fake "RED FLAGS: None found" over a real one. Every renderer passes such text
through `visible()`, which shows each of those characters as a visible escape (`\x1b`, `\u202e`)
and never emits it. The JSON result keeps the exact input: JSON escapes control characters itself.
"""

from __future__ import annotations

import unicodedata

# Cc: C0 (ESC, CR, backspace, newline, tab, NUL), DEL and C1 (CSI 0x9b, OSC 0x9d); Cf: format
# characters, among them the bidirectional embeddings, overrides and isolates and the invisible
# joiners and marks that reorder or hide text; Zl/Zp: line and paragraph separators, which a
# terminal or editor may break a line at; Cs: lone surrogates, which cannot be encoded.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _shown(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def visible(text: str) -> str:
    """`text` with every control, escape, bidi or line-breaking character shown as an escape.

    The result holds only printable characters and spaces, so it cannot move the cursor, change
    the terminal's state or break a line; plain text passes through unchanged.
    """
    if text.isprintable():
        # str.isprintable is False for every character of UNSAFE_CATEGORIES: a fast, exact path.
        return text
    return "".join(_shown(c) if _unsafe(c) else c for c in text)


def unsafe_characters(text: str) -> list[str]:
    """The characters `visible()` would escape, each once, as it shows them."""
    if text.isprintable():
        return []
    return list(dict.fromkeys(_shown(c) for c in text if _unsafe(c)))


def visible_lines(text: str) -> str:
    """A whole rendered text made safe line by line: its own line breaks kept.

    Every other unsafe character is shown as `visible()` shows it.

    For outputs that draw no colours of their own (the text report, explanations, a rule shown
    in full): whatever input reached them, nothing but printable text and newlines comes out.
    """
    if text.isprintable():
        return text
    return "\n".join(visible(line) for line in text.split("\n"))
