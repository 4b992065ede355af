"""The clinician's text report: summary first, each thing said once, wrapped to the width.

The golden reports of the 8 examples (tests/render/golden/) were read as a clinician would read
them. After an intended change of the knowledge base or the layout, regenerate them with
`UPDATE_GOLDEN=1 pytest tests/render/test_text_report.py` and read the diff.
"""

from __future__ import annotations

import os
import re
import statistics
from pathlib import Path

import pytest

from cramp_expert.explain.text import contract_dict, render_text
from cramp_expert.render.report import distinct_reasons, first_sentence, reasons_of

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
STRESS = Path(__file__).with_name("stress.yaml")
GOLDEN = Path(__file__).with_name("golden")
SECTIONS = ("red_flags", "causes", "excluded", "differentials", "recommendations", "investigations")


@pytest.fixture(scope="module")
def results(consultant):
    return {path.stem: contract_dict(consultant.consult_path(path)) for path in [*EXAMPLES, STRESS]}


def flat(text: str) -> str:
    """The report with its wrapping undone, to search for a sentence across lines."""
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_golden_report(results, consultant, path):
    text = render_text(results[path.stem], consultant.kb, width=100)
    golden = GOLDEN / f"{path.stem}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert golden.exists(), f"no golden report: set UPDATE_GOLDEN=1 to write {golden}"
    assert text == golden.read_text(), (
        f"{path.name}: the report differs from {golden}; if intended, regenerate with "
        "UPDATE_GOLDEN=1 and read the diff"
    )


def test_reports_are_short(results, consultant):
    counts = {
        stem: render_text(results[stem], consultant.kb, width=100).count("\n")
        for stem in (p.stem for p in EXAMPLES)
    }
    assert statistics.median(counts.values()) <= 60, counts
    assert max(counts.values()) <= 80, counts


@pytest.mark.parametrize("stem", [*(p.stem for p in EXAMPLES), "stress"])
def test_brief_is_the_summary_alone_within_12_lines(results, consultant, stem):
    result = results[stem]
    brief = render_text(result, consultant.kb, brief=True, width=100)
    lines = brief.splitlines()
    assert len(lines) <= 12, brief
    assert render_text(result, consultant.kb, width=100).startswith(brief)
    text = flat(brief)
    for flag in result["red_flags"]:
        assert f"{flag['label']}." in text  # each tier and label, whole
    top = result["causes"][0]  # at least the leading cause, however many red flags
    assert f"{top['label']} {top['certainty']:.2f}, " in text
    if not result["red_flags"]:
        assert "RED FLAGS  none found among the findings given" in brief


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_red_flag_label_and_action_in_the_first_15_lines(results, consultant, path):
    result = results[path.stem]
    head = flat("\n".join(render_text(result, consultant.kb, width=100).splitlines()[:15]))
    for flag in result["red_flags"]:
        assert flag["label"] in head
        assert first_sentence(flag["action"]) in head


@pytest.mark.parametrize("width", [60, 100])
@pytest.mark.parametrize("mode", ["default", "brief", "explain"])
def test_no_line_is_longer_than_the_width(results, consultant, width, mode):
    for stem, result in results.items():
        text = render_text(
            result, consultant.kb, width=width, brief=mode == "brief", explain=mode == "explain"
        )
        too_long = [line for line in text.splitlines() if len(line) > width]
        assert not too_long, (stem, too_long[:3])


def test_width_follows_the_terminal_clamped_to_60_100(monkeypatch, results, consultant):
    for columns, width in (("72", 72), ("30", 60), ("250", 100)):
        monkeypatch.setenv("COLUMNS", columns)
        out = render_text(results["V16"], consultant.kb)
        assert max(len(line) for line in out.splitlines()) <= width
        assert any(len(line) == width for line in out.splitlines())  # the heading rules


@pytest.mark.parametrize("stem", [*(p.stem for p in EXAMPLES), "stress"])
def test_each_reason_is_printed_once(results, consultant, stem):
    result = results[stem]
    text = flat(render_text(result, consultant.kb, width=100))
    for section in SECTIONS:
        for item in result[section]:
            for reason in reasons_of(item, consultant.kb):
                assert text.count(reason["text"]) <= 1, (item["id"], reason["text"])


def test_reasons_that_add_nothing_are_folded_but_their_rules_kept(results, consultant):
    flag = next(f for f in results["stress"]["red_flags"] if f["id"] == "rf_rhabdomyolysis")
    reasons = reasons_of(flag, consultant.kb)
    kept = distinct_reasons(reasons)
    assert len(kept) < len(reasons)  # five CK sentences do not all print
    assert sorted(r for k in kept for r in k["rules"]) == sorted(flag["because"])


def test_entries_that_share_a_reason_point_to_it(results, consultant):
    text = flat(render_text(results["V16"], consultant.kb, width=100))
    # The umbrella "medicine-associated" cause restates the proton-pump inhibitor's reasons
    # (cause 2), and the loop diuretic restates the umbrella's (cause 3): each points instead.
    assert "[medication] 0.55, LOW [GAR12] (as for cause 2)" in text
    assert "[med_diuretic_loop] 0.54, LOW [GAR12] (as for cause 3)" in text
    assert text.count("on the proton-pump inhibitor for 48 months") == 1


def test_standing_advice_is_one_line_unless_the_patient_makes_it_specific(results, consultant):
    quinine_text = "The FDA added a boxed warning (2009)"
    pregnant = render_text(results["V09"], consultant.kb, width=100)
    assert quinine_text not in flat(pregnant)
    line = next(x for x in pregnant.splitlines() if "Quinine is not a routine" in x)
    assert "Quinine is not a routine treatment for night cramps; never in pregnancy" in line
    assert quinine_text in flat(render_text(results["V22"], consultant.kb, width=100))
    assert quinine_text in flat(render_text(results["V16"], consultant.kb, explain=True))


def test_numbers_and_units_as_a_clinician_writes_them(results, consultant):
    text = flat(render_text(results["stress"], consultant.kb, explain=True, width=100))
    assert "platelets 1 x10^9/L while taking quinine" in text
    assert "ankle-brachial index 0.35 is 0.90 or less" in text
    assert "CK 12,400 U/L (62 x ULN, ULN 200 U/L)" in text
    assert "e+0" not in text and "0.35 ratio" not in text and "1 10^9/L" not in text


def test_references_are_the_keys_cited_one_line_each(results, consultant):
    for stem, result in results.items():
        text = render_text(result, consultant.kb, width=100)
        body, _, refs = text.partition("REFERENCES ---")
        listed = re.findall(r"^  \[([A-Z0-9-]+)\] ", refs, re.M)
        cited = {
            k for group in re.findall(r"\[([A-Z0-9, -]+)\]", flat(body)) for k in group.split(", ")
        }
        cited &= set(consultant.kb.knowledge.references)
        assert set(listed) == cited, stem
        assert len(refs.splitlines()) == len(listed) + 2, stem  # heading, entries, closing hint


def test_summary_asks_to_confirm_how_the_input_was_read(results, consultant):
    brief = flat(render_text(results["stress"], consultant.kb, brief=True, width=100))
    assert "CONFIRM please confirm 'atorvastatn 40 mg' read as atorvastatin" in brief


def test_input_text_cannot_reach_the_terminal_raw(consultant):
    result = contract_dict(
        consultant.consult_data({"id": "P1", "age": 70, "medications": ["atorvastatn 40 mg"]})
    )
    # The reader refuses control characters in a patient file; a result from elsewhere may
    # still hold them, and the report shows them as escapes.
    result["patient_id"] = "P\x1b[2J\u202e1"
    result["interpreted"]["medications"][0]["input"] = "atorvastatn\x1b]0;owned\x07 40 mg"
    for mode in ({}, {"explain": True}, {"brief": True}):
        text = render_text(result, consultant.kb, width=80, **mode)
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    brief = render_text(result, consultant.kb, brief=True)
    assert "P\\x1b[2J\\u202e1" in brief and "atorvastatn\\x1b]0;owned\\x07 40 mg" in brief
