"""Hypothesis strategies that fuzz the loaders: YAML-ish text, real files mutated, any structure.

Three families, each for patient files and rule files alike:

- `yamlish_text`: text from a small YAML-ish grammar (known and unknown keys, indentation that
  wanders, tabs, flow collections, anchors, aliases, tags, document markers, comments) whose
  scalars are the spellings that have broken YAML readers before (`1e400`, `.nan`, `012345`,
  `12:30`, `2001-02-30`, `!!bool maybe`, 5000-digit numbers, unpaired surrogate escapes);
- `mutated_text`: real files with lines deleted, duplicated, swapped, re-indented, truncated,
  values replaced or turned into another type, and characters inserted;
- `perturbed`: a real or generated structure with one subtree replaced by anything, a key added
  or removed; `as_bytes` then writes any text in UTF-8 (sometimes with a BOM), Latin-1 or UTF-16,
  with stray bytes inserted now and then.

`tests/fuzz/` feeds these to the patient-file and rule-file loaders; any outcome but a result
or an `InputError` whose problems each name their place is a bug.
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

KeyPath = tuple[str | int, ...]

# fmt: off
SCALARS = (
    "0", "-1", "70", "400", "3.1", "-3.1", "1.9", "1e400", "1.0e+400", "-1.0e+400", "1e3",
    ".nan", ".NaN", ".inf", "-.inf", "NaN", "Infinity", "0x1F", "0o17", "012345", "1_000",
    "12:30", "190:20:30", "2001-02-30", "2001-12-14t21:59:43.10-05:00", "yes", "no", "on",
    "off", "true", "False", "~", "null", "''", '""', '"\\ud800"', '"\\x07"', '"\\u0000"',
    '"\\ud83d\\ude00"', "3.1 mmol/L", "1.4 mg/dL", "140 U/L", "420 IU/L", "3 furlongs",
    "-3 mmol/L", "1e300 U/L", "+5", ".5", "5.", "-0", "&a 1", "*a", "*undefined",
    "!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!!str 5",
    "!!int x", '!!int ""', "!!float abc", "!!bool maybe", "!!null 70", "!!binary aGk=",
    "!!set {a, b}", "!!omap [a: 1]", "!custom x", "!!timestamp x", "[1, 2", "{a: 1", "[]", "{}",
    "- x", "? x", "<<: *a", "# comment", "'unterminated", '"a\\qb"', "a: b: c", "@x", "`x`",
    "%", "|", ">", "\x85", "\u2028", "\ufeff", "\x7f",
    "furosemide 40 mg", "Losec 20 mg od", "heart failure", "no diabetes", "?PAD",
)
KEYS = ("<<", "?", "- a", "", " ", "a b", "é", "\t", "1", "true", "~", "[a]", "{a: 1}", "&k k", "*k")
ODD_LINES = (
    "---", "...", "%YAML 1.1", "%YAML 2.0", "%TAG ! tag:example.com,2000:", "\t", "- ", "? ",
    "&a", "*a", "<<: *a", "#", "- - - x", ": x", "!!map", "!!seq", "|-", ">+", "'", '"',
)


def _long_numbers() -> st.SearchStrategy[str]:
    # Built when drawn, not listed: hypothesis prints its strategies, and a 5000-digit literal
    # would fill the statistics.
    return st.sampled_from([5000, 4301, 400]).map(lambda n: "9" * n) | st.just("1" * 400 + ".5")


def scalars() -> st.SearchStrategy[str]:
    """A scalar as it could be written in YAML: interesting spellings, numbers, quoted text."""
    return st.one_of(
        st.sampled_from(SCALARS),
        _long_numbers(),
        st.integers().map(str),
        st.floats().map(repr),
        st.text(max_size=20).map(lambda t: json.dumps(t, ensure_ascii=False)),
        st.text(alphabet=string.printable, max_size=20),
    )


def yamlish_text(keys: Sequence[str]) -> st.SearchStrategy[str]:
    """Text from a YAML-ish grammar over `keys` (and keys nobody knows)."""
    key = st.one_of(
        st.sampled_from(sorted(keys)),
        st.sampled_from(KEYS),
        st.text(alphabet=string.ascii_lowercase + "_.-", min_size=1, max_size=12),
    )
    flow = st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
            st.lists(st.tuples(key, inner), max_size=4).map(
                lambda kvs: "{" + ", ".join(f"{k}: {v}" for k, v in kvs) + "}"
            ),
        ),
        max_leaves=8,
    )
    line = st.builds(
        lambda indent, dash, k, colon, value, comment: f"{indent}{dash}{k}{colon}{value}{comment}",
        st.sampled_from(["", "", "", "  ", "  ", "    ", "      ", " ", "\t", "  \t"]),
        st.sampled_from(["", "", "", "- "]),
        key,
        st.sampled_from([": ", ": ", ":", " : ", ": |\n  ", ": >-\n  ", ": &a ", ": !!str "]),
        st.one_of(flow, st.just("")),
        st.sampled_from(["", "", "  # note", " #"]),
    )
    return st.lists(st.one_of(line, line, line, st.sampled_from(ODD_LINES)), max_size=15).map(
        "\n".join
    )


@st.composite
def mutated_text(draw: st.DrawFn, texts: Sequence[str], keys: Sequence[str]) -> str:
    """One of `texts` with one to four mutations, line by line."""
    lines = draw(st.sampled_from(texts)).split("\n")
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            lines = [""]
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(
            st.sampled_from(
                [
                    "delete", "duplicate", "swap", "insert", "indent", "dedent", "value",
                    "type", "chars", "truncate",
                ]
            )
        )
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            lines.insert(i, draw(yamlish_text(keys)))
        elif op == "indent":
            lines[i] = draw(st.sampled_from(["  ", " ", "\t", "    "])) + lines[i]
        elif op == "dedent":
            lines[i] = lines[i].lstrip()
        elif op in ("value", "type") and ":" in lines[i]:
            head = lines[i].split(":", 1)[0]
            value = draw(
                scalars()
                if op == "value"
                else st.sampled_from(["[]", "{}", "[x, y]", "{a: 1}", "true", "~", "-", "''"])
            )
            lines[i] = f"{head}: {value}"
        elif op == "chars":
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.text(max_size=3)) + lines[i][at:]
        elif op == "truncate":
            lines = lines[: i + 1]
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
    return "\n".join(lines)


def values() -> st.SearchStrategy[Any]:
    """Any value a YAML or JSON document can hold, with the awkward ones well represented."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        # Beyond 4300 digits in text only (_long_numbers): repr() of such an int raises.
        st.sampled_from([4000, 400, 63]).map(lambda n: 10**n),
        st.sampled_from([400, 19]).map(lambda n: -(10**n)),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=30),
        st.sampled_from(SCALARS),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=5),
            st.dictionaries(st.one_of(st.text(max_size=12), st.sampled_from(KEYS)), inner, max_size=5),
        ),
        max_leaves=12,
    )


def _paths(data: Any, here: KeyPath = ()) -> list[KeyPath]:
    found = [here]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*here, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*here, index))
    return found


def _copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _copy(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_copy(value) for value in data]
    return data


@st.composite
def perturbed(
    draw: st.DrawFn, structures: st.SearchStrategy[Any], names: Sequence[str]
) -> Any:
    """A structure from `structures` with one to three subtrees replaced, added or removed.

    `names` are words worth trying as keys and values (fact ids, units, operators, ids), so that
    a change often stays close enough to valid to reach the deeper checks.
    """
    data = _copy(draw(structures))
    anything = st.one_of(values(), st.sampled_from(sorted(names)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data)))
        if not path:
            if isinstance(data, dict) and draw(st.booleans()):
                data[draw(st.sampled_from(sorted(names)))] = draw(anything)
            else:
                data = draw(anything)
            continue
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        op = draw(st.sampled_from(["replace", "remove", "add", "wrap"]))
        if op == "replace":
            parent[last] = draw(anything)
        elif op == "remove":
            del parent[last]
        elif op == "wrap":
            parent[last] = draw(st.sampled_from([[parent[last]], {"all": [parent[last]]}]))
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(sorted(names)))] = draw(anything)
        else:
            parent.insert(last, draw(anything))
    return data


@st.composite
def as_bytes(draw: st.DrawFn, texts: st.SearchStrategy[str]) -> bytes:
    """Text written as a file might be: mostly UTF-8, sometimes another encoding or stray bytes."""
    text = draw(texts)
    # Mostly UTF-8, so that most inputs get past decoding to the checks behind it.
    codec = draw(st.sampled_from(["utf-8"] * 20 + ["utf-8-sig", "latin-1", "utf-16"]))
    try:
        raw = text.encode(codec, errors="surrogatepass" if codec.startswith("utf") else "replace")
    except UnicodeError:
        raw = text.encode("utf-8", errors="replace")
    # NOTE: a value inside the range, not 0: hypothesis draws the ends of a range far more often.
    if draw(st.integers(0, 19)) == 7:
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at:]
    return raw


# --- issue 12: what rewrote the report, stalled a pattern or misread a number -------------------
TERMINAL_ATTACKS = (
    "\x1b[2J\x1b[H", "\x1b[1A\x1b[2K", "\x9b2J", "\x1b]0;pwned\x07", "\x1b]52;c;aGk=\x07",
    "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\", "\x9d0;t\x9c", "\r", "\b\b\b",
    "\n", "\t", "\x00", "\x7f", "\x85", "\u202e", "\u2066", "\u200f", "\u2028", "\u2029",
    "\ufeff", "\x1bP+q\x1b\\", "\x1b[?1049h",
)
"""Control, escape and bidi sequences that rewrote the report: clear the screen, move the cursor,
set the title, write the clipboard, hide a link, reverse a line, overwrite it."""
NUMBER_FORMS = (
    "0140", "070", "012", "-012", "+0140", "1:30", "190:20:30", "0b11", "0x46", "0o17", "1_000",
    "1_0.5", "0_7",
)
"""Numbers YAML 1.1 (or Python) reads in another base or with separators."""


@st.composite
def hostile_text(draw: st.DrawFn, base: st.SearchStrategy[str] | None = None) -> str:
    """A text with one to three terminal attacks inserted anywhere in it."""
    text: str = draw(base if base is not None else st.sampled_from(SCALARS[-5:]))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(TERMINAL_ATTACKS)) + text[at:]
    return text


def _texts(data: Any, here: KeyPath = ()) -> list[KeyPath]:
    return [path for path in _paths(data, here) if isinstance(_at(data, path), str)]


def _at(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def with_hostile_text(draw: st.DrawFn, structures: st.SearchStrategy[Any]) -> tuple[Any, KeyPath]:
    """A structure with a terminal attack in one of its texts, and that text's path.

    Any text may be chosen: the id, a medication, a condition, a note, a lab value.
    """
    data = _copy(draw(structures))
    paths = _texts(data)
    if not paths:
        data = {"id": "x", **(data if isinstance(data, dict) else {})}
        paths = [("id",)]
    path = draw(st.sampled_from(paths))
    parent = _at(data, path[:-1])
    parent[path[-1]] = draw(hostile_text(st.just(parent[path[-1]])))
    return data, path


def long_spaces() -> st.SearchStrategy[str]:
    """A value with a long run of spaces (quadratic for a lazy group before trailing spaces)."""
    return st.builds(
        lambda head, n, tail: head + " " * n + tail,
        st.sampled_from(["3.1", "1.4", "420", "", "3.1 mmol/L", "x"]),
        st.sampled_from([199, 200, 201, 5_000, 60_000, 1_000_000]),
        st.sampled_from(["", "x", "mmol/L", "uln 200", "\t"]),
    )


__all__ = [
    "NUMBER_FORMS",
    "TERMINAL_ATTACKS",
    "as_bytes",
    "hostile_text",
    "long_spaces",
    "mutated_text",
    "perturbed",
    "scalars",
    "values",
    "with_hostile_text",
    "yamlish_text",
]
