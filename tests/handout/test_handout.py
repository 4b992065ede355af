"""The patient's handout: built from the result only, plain words, every red flag with its action,
none of the contract's never-rules broken in its own words, one A4 page in a real browser."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given

from cramp_expert.kb import load_knowledge_base
from cramp_expert.kb.declarations import load_declarations
from cramp_expert.kb.handout import jargon_finder, load_handout_wording
from cramp_expert.patient import normalise_patient
from cramp_expert.render.handout import (
    FIRST_WHEN,
    Handout,
    HandoutError,
    Line,
    all_lines,
    build_handout,
    reading_grade,
    render_handout_html,
    render_handout_text,
    urgency_of,
)
from cramp_expert.testing import patient_files, seeds
from tests import browser

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
GOLDEN = Path(__file__).resolve().parent / "golden"
KB = load_knowledge_base()
PATIENTS = patient_files(KB, seeds=seeds(KB))
MAX_GRADE = 8.0

# Advice to stop a medicine: only the clinician's actions tied to a red flag may give it
# (vocabulary.yaml never-rules), and only beside that red flag.
STOPPING = re.compile(
    r"\b(stop taking|stop using|stop your|discontinue|come off|leave out|take no more)\b", re.I
)
CLINICIAN_STOPS = {
    "rec_stop_quinine": "rf_quinine_toxicity",
    "rec_stop_statin_pending_review": "rf_rhabdomyolysis",
}
FLUID_ADVICE = re.compile(
    r"\bdrink (more|plenty|extra|a normal amount)\b|\b(increase|raise) your fluids?\b", re.I
)
POTASSIUM_FOODS = re.compile(r"potassium[- ]rich|rich in potassium|bananas?|salt substitute", re.I)
UNSAFE_IN_PREGNANCY = re.compile(
    r"\b(ibuprofen|aspirin|naproxen tablets?|quinine (may|can) help)\b", re.I
)


@pytest.fixture(scope="module")
def wording(knowledge):
    return load_handout_wording(knowledge.root.parent)


@pytest.fixture(scope="module")
def jargon(knowledge, kb, wording):
    return jargon_finder(wording, knowledge, [r.id for r in kb.rules])


@pytest.fixture(scope="module")
def declarations(knowledge):
    return load_declarations(knowledge.root.parent, knowledge)


def handout_of(consultant, wording, patient: dict) -> tuple[dict, Handout, dict]:
    facts = normalise_patient(patient, consultant.kb.knowledge)
    result = consultant.consult_facts(facts, with_robustness=False).to_dict()
    return result, build_handout(result, consultant.kb.knowledge, wording), facts.values


def flat(text: str) -> str:
    return " ".join(text.split())


def fluid_restricted(values: dict) -> bool:
    diuretic = any(
        values.get(f"meds.{c}") is True
        for c in ("med_diuretic_loop", "med_diuretic_thiazide", "med_diuretic_potassium_sparing")
    )
    return (
        values.get("dialysis") in ("haemodialysis", "peritoneal")
        or "lifestyle.fluid_restriction_litres_per_day" in values
        or (values.get("conditions.heart_failure") is True and diuretic)
    )


def advanced_kidney_disease(values: dict) -> bool:
    egfr = [values.get(k) for k in ("labs.egfr", "labs.egfr_calculated")]
    return values.get("dialysis") in ("haemodialysis", "peritoneal") or any(
        isinstance(v, float | int) and v < 30 for v in egfr
    )


@functools.cache
def _wording(root: Path):
    return load_handout_wording(root)


def violations(result: dict, handout: Handout, values: dict, knowledge, declarations) -> list[str]:
    """What the handout says, in its own words, that the result or the contract forbids."""
    problems: list[str] = []
    concluded = {
        i["id"]
        for k in ("red_flags", "causes", "differentials", "recommendations", "investigations")
        for i in result[k]
    }
    text = render_handout_text(handout)
    prose = flat(text)
    # every red flag, in its lay words, under the action its urgency calls for
    for flag in result["red_flags"]:
        lines = handout.lines_from(flag["id"])
        if not lines:
            problems.append(f"red flag {flag['id']} is not in the handout")
            continue
        if urgency_of(handout, flag["id"]) != flag["urgency"]:
            problems.append(f"red flag {flag['id']} shown as {urgency_of(handout, flag['id'])}")
        for line in lines:
            if flat(line.text) not in prose:
                problems.append(f"red flag {flag['id']}: its words are not in the text")
    for urgency in {f["urgency"] for f in result["red_flags"]}:
        action = handout.section("help").urgencies  # type: ignore[union-attr]
        if not any(g.urgency == urgency and g.action and g.action in prose for g in action):
            problems.append(f"no action for urgency {urgency}")
    if handout.most_urgent in FIRST_WHEN and handout.sections[0].key != "help":
        problems.append("when to get help is not first")
    # no stopping a medicine, but the clinician's own decisions beside their red flag
    # A drug the red flag holds (brief 8.2) is left out by the doctor: the handout may say to
    # leave out only that one, and only when the result holds one.
    held = any(c.get("held") for c in result["causes"])
    for line in all_lines(handout):
        said = STOPPING.search(line.text)
        if said and not (
            (line.source in CLINICIAN_STOPS and CLINICIAN_STOPS[line.source] in concluded)
            or (held and line.text == _wording(knowledge.root.parent).never_stop_held)
        ):
            problems.append(
                f"advises stopping a medicine: {line.source or 'handout'}: {said.group()}"
            )
    # the contract's wording never-rules (knowledge/properties.yaml) on each line: a conclusion's
    # words as its own texts are checked; the handout's own words against every rule
    for line in all_lines(handout):
        source = knowledge.conclusions.get(line.source)
        kind = source.kind if source else ""
        for rule in declarations.never:
            for wording in rule.wording:
                if source is None or wording.applies_to(line.source, kind):
                    for phrase in wording.said(line.text):
                        problems.append(
                            f"never-rule {rule.id}: {line.source or 'handout'} says '{phrase}'"
                        )
    if fluid_restricted(values) and FLUID_ADVICE.search(prose):
        problems.append("advises drinking more with a fluid limit, dialysis or heart failure")
    if advanced_kidney_disease(values) and POTASSIUM_FOODS.search(prose):
        problems.append("advises potassium-rich food in advanced kidney disease")
    if POTASSIUM_FOODS.search(prose):
        problems.append("advises potassium-rich food (no evidence; hazardous in kidney disease)")
    if values.get("pregnant") is True and UNSAFE_IN_PREGNANCY.search(prose):
        problems.append("advice unsafe in pregnancy")
    if "rf_dvt_suspected" in concluded and re.search(r"\brub the muscle|massage the", prose, re.I):
        problems.append("massage beside a suspected clot")
    if handout.most_urgent == "emergency" and handout.section("do") is not None:
        tried = [x for x in handout.section("do").lines if x.note]  # type: ignore[union-attr]
        if tried:
            problems.append("self-care advice beside an emergency")
    return problems


# --- generated patients --------------------------------------------------------------------------
class Context:
    """What the property tests share (a short repr: hypothesis prints its arguments)."""

    def __init__(self, consultant, wording, jargon, declarations):
        self.consultant, self.wording, self.jargon = consultant, wording, jargon
        self.knowledge, self.declarations = consultant.kb.knowledge, declarations

    def __repr__(self) -> str:
        return "Context()"


@pytest.fixture(scope="module")
def ctx(consultant, wording, jargon, declarations):
    return Context(consultant, wording, jargon, declarations)


@given(PATIENTS)
def test_every_handout_carries_the_red_flags_and_breaks_no_never_rule(ctx, patient):
    result, handout, values = handout_of(ctx.consultant, ctx.wording, patient)
    assert violations(result, handout, values, ctx.knowledge, ctx.declarations) == []


@given(PATIENTS)
def test_every_handout_is_plain_words(ctx, patient):
    _, handout, _ = handout_of(ctx.consultant, ctx.wording, patient)
    assert ctx.jargon.find(render_handout_text(handout)) == []
    assert reading_grade(handout) <= MAX_GRADE


@given(PATIENTS)
def test_the_handout_says_only_what_the_result_concludes(ctx, patient):
    knowledge = ctx.knowledge
    result, handout, _ = handout_of(ctx.consultant, ctx.wording, patient)
    concluded = [
        i["id"]
        for k in ("red_flags", "causes", "differentials", "recommendations", "investigations")
        for i in result[k]
    ]
    shown = {line.source for line in all_lines(handout) if line.source}
    assert shown <= set(concluded)
    # everything concluded is said, but what the handout folds together on purpose
    folded = {"medication"} | {
        c["id"]
        for c in result["causes"]
        if any(
            knowledge.conclusions[c["id"]].patient.text == knowledge.conclusions[o].patient.text
            for o in shown
            if o != c["id"]
        )
    }
    if handout.most_urgent == "emergency":
        folded |= {
            r["id"]
            for r in result["recommendations"]
            if knowledge.conclusions[r["id"]].patient.section == "try"
        }
    assert set(concluded) - shown - folded == set()


# --- the examples ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_golden_handout(consultant, wording, path):
    handout = build_handout(
        consultant.consult_path(path).to_dict(), consultant.kb.knowledge, wording
    )
    text = render_handout_text(handout)
    golden = GOLDEN / f"{path.stem}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"regenerate with UPDATE_GOLDEN=1 and read {golden}"
    assert max(len(line) for line in text.splitlines()) <= 78


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_handouts_are_plain_words(
    consultant, wording, jargon, knowledge, declarations, path
):
    result = consultant.consult_path(path).to_dict()
    handout = build_handout(result, knowledge, wording)
    assert jargon.find(render_handout_text(handout)) == []
    assert reading_grade(handout) <= MAX_GRADE
    facts = consultant.read_path(path)
    assert violations(result, handout, facts.values, knowledge, declarations) == []


def test_the_jargon_check_and_the_score_can_fail(knowledge, kb, wording):
    jargon = jargon_finder(wording, knowledge, [r.id for r in kb.rules])
    found = jargon.find(
        "Idiopathic cramps; K 3.1 mmol/L; see rec_calf_stretch_nightly (VERY_LOW), loop-diuretic-cause"
    )
    assert {
        "Idiopathic",
        "mmol",
        "rec_calf_stretch_nightly",
        "loop-diuretic-cause",
        "VERY_LOW",
    } <= set(found)
    assert jargon.find("hydrochlorothiazide and a water tablet") == []
    hard = Handout(
        "t",
        "Pharmacological characterisation of electrolyte abnormalities necessitates comprehensive biochemical investigation.",
        (),
        "",
    )
    assert reading_grade(hard) > MAX_GRADE


def test_the_medicines_are_named_in_plain_words(consultant, wording):
    result = consultant.consult_data(
        {"age": 70, "medications": ["Lasix 40 mg", "spironolactone", "Symbicort"]}
    ).to_dict()
    text = flat(render_handout_text(build_handout(result, consultant.kb.knowledge, wording)))
    assert "Your water tablets (spironolactone and furosemide) may be playing a part" in text
    assert "Your long-acting inhaler (budesonide with formoterol) may be playing a part" in text
    assert "diuretic" not in text.lower() and "stop taking" not in text.lower()


def test_input_text_is_made_visible_and_escaped(consultant, wording):
    # Patient files refuse control characters (P207); a result from elsewhere (another
    # reader, an older file) may still hold them: the handout never emits them.
    result = consultant.consult_data({"id": "P1<b>&", "age": 70}).to_dict()
    result["patient_id"] = "P1\x1b[2J<b>&"
    handout = build_handout(result, consultant.kb.knowledge, wording)
    assert "Patient: P1\\x1b[2J<b>&" in render_handout_text(handout)
    page = render_handout_html(handout)
    assert "P1\\x1b[2J&lt;b&gt;&amp;" in page and "<b>" not in page and "\x1b" not in page


def test_a_conclusion_without_lay_words_writes_no_handout(consultant, wording):
    from dataclasses import replace

    knowledge = consultant.kb.knowledge
    stripped = replace(
        knowledge,
        conclusions={
            **knowledge.conclusions,
            "older_age": replace(knowledge.conclusions["older_age"], patient=None),
        },
    )
    result = consultant.consult_data({"age": 70}).to_dict()
    with pytest.raises(HandoutError) as caught:
        build_handout(result, stripped, wording)
    assert [p.code for p in caught.value.problems] == ["K404"]
    assert "older_age" in caught.value.problems[0].render()


def test_an_emergency_puts_help_first_and_leaves_self_care_for_later(consultant, wording):
    patient = {"age": 60, "findings": {"sudden_severe_leg_pain": True, "cold_pale_limb": True}}
    result = consultant.consult_data(patient).to_dict()
    assert "emergency" in {f["urgency"] for f in result["red_flags"]}
    handout = build_handout(result, consultant.kb.knowledge, wording)
    text = render_handout_text(handout)
    assert handout.sections[0].key == "help"
    assert text.index("Go to the emergency department now") < text.index("What may be causing")
    assert not [x for x in all_lines(handout) if x.note]


# --- the command --------------------------------------------------------------------------------
def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cramp_expert", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=ROOT,
    )


def test_consult_for_patient_text_and_html():
    text = run("consult", "examples/V22.yaml", "--for", "patient")
    assert text.returncode == 0, text.stderr
    assert text.stdout == (GOLDEN / "V22.txt").read_text()
    page = run("consult", "examples/V22.yaml", "--for", "patient", "--format", "html")
    assert page.returncode == 0 and page.stdout.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    "args",
    [
        ("consult", "examples/V22.yaml", "--for", "patient", "--format", "json"),
        ("consult", "examples/V22.yaml", "--for", "patient", "--explain"),
        ("consult", "examples/V22.yaml", "--for", "patient", "--brief"),
        ("consult", "--for", "patient"),
    ],
)
def test_consult_for_patient_usage_errors(args):
    out = run(*args, stdin="")
    assert out.returncode == 2 and "Error:" in out.stderr and "Traceback" not in out.stderr


def test_a_knowledge_base_without_handout_words_is_refused(tmp_path):
    import shutil

    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    (tmp_path / "knowledge" / "handout.yaml").unlink()
    out = run("consult", "examples/V01.yaml", "--for", "patient", "--kb", str(tmp_path))
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("error: knowledge/handout.yaml: E100 no such file")


# --- in a real browser --------------------------------------------------------------------------
@pytest.mark.skipif(bool(browser.unavailable()), reason=browser.unavailable() or "browser present")
def test_each_example_prints_on_one_a4_page(consultant, wording, tmp_path):
    shots = Path(os.environ.get("HANDOUT_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    pages = {}
    with browser.browser(browser.A4_PX, exact_viewport=False) as driver:
        for path in EXAMPLES:
            handout = build_handout(
                consultant.consult_path(path).to_dict(), consultant.kb.knowledge, wording
            )
            page = tmp_path / f"{path.stem}.html"
            page.write_text(render_handout_html(handout))
            pages[path.stem], _ = browser.print_a4(driver, page)
            browser.screenshot(driver, shots / f"{path.stem}.png", width=browser.A4_PX[0])
            # what the patient sees is the handout: every line of it is on the page
            body = flat(driver.find_element("tag name", "body").text)
            for line in all_lines(handout):
                assert flat(line.text) in body, (path.stem, line.source)
    assert pages == {p.stem: 1 for p in EXAMPLES}


@pytest.mark.skipif(bool(browser.unavailable()), reason=browser.unavailable() or "browser present")
def test_the_page_count_can_fail(tmp_path):
    page = tmp_path / "long.html"
    page.write_text("<!DOCTYPE html><html><body>" + "<p>line</p>" * 400 + "</body></html>")
    with browser.browser(browser.A4_PX, exact_viewport=False) as driver:
        count, _ = browser.print_a4(driver, page)
    assert count > 1


def test_the_never_rule_check_can_fail(consultant, wording, knowledge, declarations):
    from dataclasses import replace

    patient = {
        "age": 70,
        "dialysis": "haemodialysis",
        "findings": {"unilateral_leg_swelling": True, "calf_tenderness": True},
    }
    result, handout, values = handout_of(consultant, wording, patient)
    assert violations(result, handout, values, knowledge, declarations) == []
    bad = [
        Line("Stop taking your water tablets and drink more water."),
        Line("Eat potassium-rich food such as bananas."),
        Line("Tonic water helps.", "rec_calf_stretch_nightly"),
    ]
    help_ = handout.section("help")
    broken = replace(
        handout,
        sections=(
            replace(help_, urgencies=()),
            *[replace(s, lines=(*s.lines, *bad)) for s in handout.sections if s.key != "help"],
        ),
    )
    found = violations(result, broken, values, knowledge, declarations)
    assert any("red flag rf_dvt_suspected is not in the handout" in f for f in found)
    assert any("advises stopping a medicine" in f for f in found)
    assert any("drinking more" in f for f in found)
    assert any("potassium-rich food in advanced kidney disease" in f for f in found)
    assert any("quinine-as-treatment" in f for f in found)
