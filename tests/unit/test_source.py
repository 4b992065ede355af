"""Reading YAML/JSON safely with positions: syntax errors, duplicates, tags, bombs, encodings."""

from __future__ import annotations

import os

import pytest

from cramp_expert.errors import InputError
from cramp_expert.source import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_NODES,
    load_bytes,
    load_file,
    parse,
    read_limited,
)


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


def test_limits_are_crossed_at_a_named_place():
    deep = "".join(" " * i + f"k{i}:\n" for i in range(40)) + " " * 40 + "x: 1\n"
    problem = _problem(deep)
    assert problem.code == "E104" and problem.location.line == MAX_DEPTH + 1
    assert problem.location.key.startswith("k0.k1.k2")


def test_a_long_flat_list_is_counted_before_it_is_composed():
    problem = _problem("labs: [" + ", ".join(["0"] * (MAX_NODES + 10)) + "]\n")
    assert problem.code == "E104" and problem.location.line == 1
    assert "alias" not in problem.message  # no alias in the text: no talk of alias bombs


def test_an_alias_bomb_names_aliases():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdef":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 10) + "]\n"
    problem = _problem(bomb)
    assert problem.code == "E104" and "repeats an alias" in problem.message
    assert problem.location.line == 5 and problem.location.key.startswith("e[")


def test_an_impossible_date_is_kept_as_text_not_constructed():
    assert parse("p.yaml", "age: 2001-02-30\n").data == {"age": "2001-02-30"}


@pytest.mark.parametrize("name", ["p.yaml", "p.json"])
def test_an_integer_python_cannot_convert_is_refused_where_it_stands(name):
    text = "age: " + "9" * 5000 + "\n" if name == "p.yaml" else '{\n "age": ' + "9" * 5000 + "}"
    problem = _problem(text, name)
    assert problem.code == "E105" and problem.location.line in (1, 2)
    assert problem.location.key == "age" and "5000 digits" in problem.message


def test_a_control_character_is_located_and_the_message_is_one_line():
    problem = _problem('age: 70\nid: "a\x7fb"\n')
    assert problem.code == "E101" and (problem.location.line, problem.location.column) == (2, 7)
    assert "U+007F" in problem.message and "\n" not in problem.render()


def test_a_tab_in_the_indentation_is_named_in_the_hint():
    problem = _problem("labs:\n\tpotassium: 3.1\n")
    assert problem.code == "E101" and problem.location.line == 2 and "tabs" in problem.hint


def test_json_positions_come_from_the_json_text_itself():
    # A key longer than 1024 characters and a surrogate pair: the YAML composer reads neither.
    text = '{\n  "id": "\\ud83d\\ude00",\n  "%s": 1,\n  "age": 400\n}' % ("k" * 2000)
    doc = parse("p.json", text)
    assert doc.data["id"] == "\U0001f600"
    assert doc.location(("age",)).line == 4 and doc.location(("k" * 2000,)).line == 3


def test_json_duplicates_are_located():
    problem = _problem('{"labs": {\n  "potassium": 3,\n  "potassium": 4}}', "p.json")
    assert problem.code == "E102" and problem.location.line == 3
    assert problem.location.key == "labs.potassium" and "first at line 2" in problem.message


def test_json_too_deep_for_the_json_module_is_located():
    problem = _problem('{"labs":\n' + "[" * 5000 + "]" * 5000 + "}", "p.json")
    assert problem.code == "E104" and problem.location.line == 2
    assert problem.location.column == MAX_DEPTH


def test_json_unpaired_surrogate_is_refused():
    problem = _problem('{"id": "\\ud800"}', "p.json")
    assert problem.code == "E100" and problem.location.key == "id"


def test_reading_stops_at_the_limit(tmp_path):
    # A stream that never ends is read only up to the limit.
    with open("/dev/zero", "rb") as endless:
        assert len(read_limited(endless)) == MAX_BYTES + 1
    # /dev/zero as a file name is a device: refused before a byte is read (as a FIFO is,
    # which would block the open itself).
    with pytest.raises(InputError, match="is a device, not a file: it is not read"):
        load_file("/dev/zero")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"is a FIFO \(named pipe\), not a file"):
        load_file(fifo)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_BYTES + 10))
    with pytest.raises(InputError, match="larger than"):
        load_file(big)


def test_a_yaml_flow_mapping_is_yaml_unless_the_file_says_json():
    assert parse("p.yaml", "{age: 70, sex: male}\n").data == {"age": 70, "sex": "male"}
    assert _problem("{age: 70, sex: male}\n", "p.json").message.startswith("JSON syntax error")
    # Neither JSON nor YAML: the JSON error is the one reported, since it looked like JSON.
    assert _problem('{"age": 70,, }\n', "p.yaml").message.startswith("JSON syntax error")


def test_a_second_document_is_located():
    problem = _problem("age: 70\n---\nage: 71\n")
    assert problem.code == "E101" and problem.location.line == 3 and "several" in problem.message


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("age: !!null 70\n", "'!!null' does not fit '70'"),
        ("a: !!bool maybe\n", "'!!bool'"),
        ('a: !!int ""\n', "'!!int'"),
    ],
)
def test_an_explicit_tag_that_changes_a_value_is_refused(text, shown):
    # !!null 70 would silently read the age as unknown; the other two made PyYAML raise.
    problem = _problem(text)
    assert problem.code == "E103" and shown in problem.message and problem.location.line == 1


def test_explicit_tags_that_change_nothing_are_read():
    assert parse("p.yaml", "age: !!int 70\nid: !!str 012345\n").data == {"age": 70, "id": "012345"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0140", "leading zero"),
        ("-012", "leading zero"),
        ("1:30", "base 60"),
        ("190:20:30", "base 60"),
        ("0b11", "binary, octal or hexadecimal"),
        ("0x46", "binary, octal or hexadecimal"),
        ("1_000", "'_' inside the number"),
    ],
)
def test_yaml_1_1_number_forms_are_refused_where_they_stand(text, reason):
    problem = _problem(f"age: 70\nlabs:\n  sodium: {text}\n", "p.yaml")
    assert (problem.code, problem.location.line, problem.location.key) == ("E106", 3, "labs.sodium")
    assert reason in problem.message


def test_plain_decimals_are_numbers_and_an_id_keeps_its_leading_zero():
    document = parse("p.yaml", "id: 012345\nage: 70\nlabs: {sodium: 140.0, k: -3.5, c: 0.58}\n")
    assert document.data["age"] == 70 and document.data["labs"] == {
        "sodium": 140.0,
        "k": -3.5,
        "c": 0.58,
    }
    assert document.raw[("id",)] == "012345"
