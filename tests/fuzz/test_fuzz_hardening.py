"""Fuzzing what issue 12's red team broke: terminal attacks in every free-text field, long runs
of spaces, YAML 1.1 number forms, and bad records in batch with 1 and 2 workers.

The outcomes allowed are those of `test_fuzz_loaders` (a result or a clean, located refusal), and
in addition: a patient text holding a control, escape or bidi character is always refused (P207)
at its own key, and nothing printed (report, problem lines) ever holds such a character; a
number written in a YAML 1.1 form is never read as a number; a batch writes one line per record,
in order, the same with 1 and 2 workers.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cramp_expert import batch
from cramp_expert.api import Consultant
from cramp_expert.errors import InputError
from cramp_expert.explain.text import render_text
from cramp_expert.interview.questions import AnswerError, questions
from cramp_expert.kb import load_knowledge_base
from cramp_expert.render import unsafe_characters, visible_lines
from cramp_expert.source import dump_yaml, format_path, load_file, parse
from cramp_expert.testing.fuzz import (
    NUMBER_FORMS,
    hostile_text,
    long_spaces,
    with_hostile_text,
)

pytestmark = pytest.mark.fuzz

ROOT = Path(__file__).resolve().parents[2]
KB = load_knowledge_base()
EXAMPLES = [load_file(p).data for p in sorted((ROOT / "examples").glob("*.yaml"))]
NUMBER_FACTS = ["age", "gestation_weeks", "cramps.nights_per_week", "cramps.episode_minutes"]
LABS = sorted(KB.knowledge.analytes)


@cache
def _consultant() -> Consultant:
    return Consultant(kb=KB)


def _printed_safely(text: str) -> None:
    assert visible_lines(text) == text, f"unsafe character printed: {text!r}"


@given(with_hostile_text(st.sampled_from(EXAMPLES)), st.booleans())
def test_a_terminal_attack_in_any_text_is_refused_at_its_key(attacked, as_json):
    data, path = attacked
    raw = json.dumps(data, ensure_ascii=False) if as_json else dump_yaml(data)
    name = "fuzz.json" if as_json else "fuzz.yaml"
    try:
        document = parse(name, raw)
    except InputError as error:  # what YAML itself cannot hold (a raw control character)
        for problem in error.problems:
            _printed_safely(problem.render())
        return
    value = document.data
    for part in path:
        value = value[part]
    attack_kept = unsafe_characters(value) != []  # YAML folds some (NEL becomes a space)
    try:
        result = _consultant().consult(document)
    except InputError as error:
        for problem in error.problems:
            _printed_safely(problem.render())
        codes = {(p.code, p.location.key) for p in error.problems}
        assert not attack_kept or ("P207", format_path(path)) in codes, codes
        return
    assert not attack_kept, f"{value!r} was consulted"
    _printed_safely(render_text(result, _consultant().kb, explain=True))


@given(
    st.sampled_from(EXAMPLES),
    st.sampled_from(NUMBER_FACTS + [f"labs.{a}" for a in LABS]),
    st.sampled_from(NUMBER_FORMS),
)
def test_a_yaml_1_1_number_form_is_never_read_as_a_number(example, fact, form):
    data = json.loads(json.dumps(example))
    section, _, key = fact.partition(".")
    if key:
        data.setdefault(section, {})
        if not isinstance(data[section], dict):
            data[section] = {}
        data[section][key] = "@@"
    else:
        data[section] = "@@"
    text = dump_yaml(data).replace("'@@'", form).replace("@@", form)
    with pytest.raises(InputError) as refused:
        _consultant().consult_bytes("fuzz.yaml", text.encode())
    where = {p.location.key for p in refused.value.problems if p.code in ("E106", "P205", "P201")}
    assert fact in where, [p.render() for p in refused.value.problems]


@given(st.sampled_from(LABS), long_spaces())
def test_long_runs_of_spaces_in_a_lab_value_are_read_or_refused(lab, value):
    try:
        _consultant().consult_data({"age": 60, "labs": {lab: value}})
    except InputError as error:
        for problem in error.problems:
            _printed_safely(problem.render())


ANSWERED = [q for q in questions(KB.knowledge) if q.kind in ("number", "lab")]


@given(
    st.sampled_from(ANSWERED),
    st.one_of(
        long_spaces(), st.sampled_from(NUMBER_FORMS), hostile_text(st.sampled_from(["3.1", "70"]))
    ),
)
def test_interview_answers_never_misread_a_number_or_stall(question, answer):
    try:
        value = question.read(answer)
    except AnswerError:
        return
    if answer.strip() in NUMBER_FORMS:
        pytest.fail(f"{answer!r} read as {value!r}")


# --- batch: bad records with 1 and 2 workers ----------------------------------------------------
GOOD = json.dumps({"id": "G", "age": 60, "labs": {"potassium": "3.1 mmol/L"}})
RECORDS = st.one_of(
    st.just(GOOD.encode()),
    st.sampled_from(EXAMPLES).map(lambda d: json.dumps(d).encode()),
    hostile_text(st.just("P")).map(lambda t: json.dumps({"id": t, "age": 60}).encode()),
    st.sampled_from(NUMBER_FORMS).map(lambda f: f'{{"age": "{f}"}}'.encode()),
    st.just(b'{"id": "\\ud800", "age": 60}'),
    st.just(b'{"id": "bad\xff\xfe", "age": 60}'),
    st.just(b'{"age": 60, "sex": '),
    st.just(b'{"age": 1e999}'),
    st.just(b'{"a": ' * 40 + b"1" + b"}" * 40),
    long_spaces().map(lambda v: json.dumps({"age": 60, "labs": {"potassium": v}}).encode()),
    st.binary(max_size=40).filter(lambda b: b"\n" not in b and b.strip() != b""),
)


def _run(tmp: Path, lines: list[bytes], workers: int) -> list[str]:
    source = tmp / "in.jsonl"
    source.write_bytes(b"{}\n" + b"\n".join(lines) + b"\n")  # the first record makes it JSON Lines
    output = tmp / f"out-{workers}.jsonl"
    batch.run_batch(
        source,
        output,
        knowledge=KB.knowledge,
        workers=workers,
        consultant=_consultant() if workers == 1 else None,
        kb_digest=KB.digest,
    )
    return output.read_text(encoding="utf-8").splitlines()


@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(RECORDS, min_size=1, max_size=12))
def test_bad_records_are_error_lines_and_the_run_goes_on_with_one_worker(tmp_path, lines):
    out = _run(tmp_path, lines, 1)
    records = [json.loads(line)["source"]["record"] for line in out]
    blank = sum(1 for line in lines if not line.strip())
    assert records == list(range(1, len(lines) + 2 - blank))
    for line in out:
        _printed_safely(line)  # compact JSON: no raw control characters
        json.loads(line)


@settings(
    max_examples=4,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(RECORDS, min_size=40, max_size=80))
def test_two_workers_write_what_one_writes(tmp_path, lines):
    assert _run(tmp_path, lines, 2) == _run(tmp_path, lines, 1)
