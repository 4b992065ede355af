import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from cramp_expert.render import visible
from cramp_expert.render.safe import UNSAFE_CATEGORIES


def test_plain_text_is_unchanged():
    assert visible("Losec 20 mg od — Ménière's, 72 y") == "Losec 20 mg od — Ménière's, 72 y"


def test_escape_sequences_are_shown_not_emitted():
    assert visible("\x1b[2J\rRED FLAGS: None") == "\\x1b[2J\\x0dRED FLAGS: None"
    assert visible("a\x9b2Jb") == "a\\x9b2Jb"
    assert visible("\x1b]52;c;ZXZpbA==\x07") == "\\x1b]52;c;ZXZpbA==\\x07"
    assert visible("x\x08\x00y\nz\tw") == "x\\x08\\x00y\\x0az\\x09w"


def test_bidi_controls_and_separators_are_shown():
    assert visible("abc\u202edef") == "abc\\u202edef"
    assert visible("a\u2066b\u2069c\u2028d") == "a\\u2066b\\u2069c\\u2028d"


@given(st.text())
def test_nothing_unsafe_survives(text):
    shown = visible(text)
    assert not any(unicodedata.category(c) in UNSAFE_CATEGORIES for c in shown)
    if text.isprintable():
        assert shown == text
