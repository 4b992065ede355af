"""Reading YAML/JSON safely with positions: syntax errors, duplicates, tags, bombs, encodings."""

from __future__ import annotations

import pytest

from cramp_expert.errors import InputError
from cramp_expert.source import MAX_BYTES, load_bytes, parse


def _problem(text: str, name: str = "p.yaml"):
    with pytest.raises(InputError) as info:
        parse(name, text)
    return info.value.problems[0]


def test_positions_of_nested_values():
    doc = parse("p.yaml", "age: 70\nlabs:\n  potassium: 3.1 mmol/L\nmedications:\n  - a\n  - b\n")
    assert doc.location(("labs", "potassium")).line == 3
    assert doc.location(("medications", 1)).line == 6
    assert str(doc.location(("labs", "potassium"))) == "p.yaml:3:3"


def test_syntax_error_names_line_and_column():
    problem = _problem("age: 70\nlabs: [potassium\nsex: male\n")
    assert problem.code == "E101" and problem.location.line >= 2 and "syntax" in problem.message


def test_duplicate_key_is_reported_not_silently_dropped():
    problem = _problem("age: 70\nage: 71\n")
    assert (
        problem.code == "E102"
        and problem.location.line == 2
        and "first at line 1" in problem.message
    )


def test_python_object_tags_are_refused():
    problem = _problem("age: !!python/object/apply:os.system ['echo hi']\n")
    assert problem.code == "E103" and "not allowed" in problem.message


def test_alias_bomb_is_stopped():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
    assert _problem(bomb).code == "E104"


def test_deep_nesting_is_refused():
    assert _problem("a: " + "[" * 100 + "]" * 100 + "\n").code in ("E104", "E101")


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n"])
def test_empty_files(text):
    assert _problem(text).code == "E101"


def test_not_utf8_names_the_byte():
    with pytest.raises(InputError) as info:
        load_bytes("p.yaml", b"age: 70\nsex: m\xe9le\n")
    problem = info.value.problems[0]
    assert problem.code == "E100" and problem.location.line == 2 and "UTF-8" in problem.message


def test_utf16_is_named():
    with pytest.raises(InputError, match="UTF-16"):
        load_bytes("p.yaml", "age: 70\n".encode("utf-16"))


def test_binary_and_huge_files():
    with pytest.raises(InputError, match="binary"):
        load_bytes("p.bin", b"\x00\x01\x02")
    with pytest.raises(InputError, match="limit"):
        load_bytes("p.yaml", b"#" * (MAX_BYTES + 1))


def test_nan_and_infinity_are_refused():
    assert _problem("labs: {potassium: .nan}\n").code == "E105"
    assert _problem("age: .inf\n").code == "E105"


def test_json_is_read_with_positions():
    doc = parse("p.json", '{\n  "age": 70,\n  "labs": {"potassium": "3.1 mmol/L"}\n}\n')
    assert doc.data["labs"]["potassium"] == "3.1 mmol/L"
    assert doc.location(("labs", "potassium")).line == 3


def test_json_with_tabs_still_reads():
    doc = parse("p.json", '{\n\t"age": 70\n}\n')
    assert doc.data == {"age": 70}
