"""The web interview in process: issue 14's engine decides every page; the report is issue 15's.

Each test drives the pages through Starlette's test client (the browser test drives the same
pages in Chromium) and checks them against the engine driven directly.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from cramp_expert.api import Consultant
from cramp_expert.interview import AnswerError, Interview
from cramp_expert.render.html import render_html
from cramp_expert.service import web
from cramp_expert.service.app import Settings, create_app

CONSULTANT = Consultant()

# What a clinician types, prompt by prompt (prompts not listed are left unknown).
ANSWERS: dict[str, dict[str, str]] = {
    "patient": {"age": "67", "sex": "female", "dialysis": "no"},
    "medications": {"medications": "furosemide 40 mg\nsimvastatin 40 mg"},
    "labs": {"labs.potassium": "3.1", "labs.ck": "900 U/L uln 200"},
    "cramps": {"cramps.nights_per_week": "4", "cramps.sites": "calf"},
    "dvt": {"findings.calf_tenderness": "yes", web.OTHERS: "absent"},
}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings(form_key="ab" * 32))) as opened:
        yield opened


class Page:
    def __init__(self, response: Any):
        self.status = response.status_code
        self.text = response.text
        found = re.search(r"data-prompt='([^']*)'", self.text)
        self.prompt = html.unescape(found.group(1)) if found else None
        state = re.search(r"name='_state' value='([^']*)'", self.text)
        self.state = html.unescape(state.group(1)) if state else None

    def error(self, key: str) -> str | None:
        found = re.search(rf"id='error-{re.escape(key)}' role='alert'>([^<]*)<", self.text)
        return html.unescape(found.group(1)) if found else None


def post(client: TestClient, page: Page, action: str = "next", **fields: Any) -> Page:
    data = {"_state": page.state, "_prompt": page.prompt, "_action": action, **fields}
    return Page(client.post("/consult", data=data))


def form_fields(prompt: str | None) -> dict[str, str]:
    given = dict(ANSWERS.get(prompt or "", {}))
    return given


def walk(client: TestClient) -> tuple[Page, list[str]]:
    page = Page(client.get("/"))
    seen = []
    while page.prompt is not None:
        seen.append(page.prompt)
        page = post(client, page, **form_fields(page.prompt))
        assert page.status == 200, page.text
        assert len(seen) < 60
    return page, seen


def test_the_pages_are_the_engines_prompts_and_the_report_is_the_html_report(client):
    expected = Interview(CONSULTANT)
    asked = []
    while (prompt := expected.current()) is not None:
        asked.append(prompt.id)
        engine_answers_one(expected, prompt)
    report, seen = walk(client)
    assert seen == asked
    # The report page is render_html's page of the engine's result (robustness included).
    main = render_html(expected.result(), CONSULTANT.kb, standalone=False)
    assert main in report.text
    assert "id='toolbar'" in report.text and "Still unknown" in report.text


def engine_answers_one(interview: Interview, prompt: Any) -> None:
    given = ANSWERS.get(prompt.id, {})
    if prompt.kind == "checklist":
        others = "no" if given.get(web.OTHERS) == "absent" else None
        answers = {q.key: given.get(q.key, others) for q in prompt.items}
    else:
        keys = {q.key for q in (*prompt.items, *prompt.extra)}
        answers = {k: v.replace("\n", "; ") for k, v in given.items() if k in keys}
    interview.submit_items(answers)


def test_the_first_page_shows_the_first_prompts_items(client):
    page = Page(client.get("/"))
    prompt = Interview(CONSULTANT).current()
    assert prompt is not None and page.prompt == prompt.id
    for item in prompt.as_dict()["items"]:
        assert f"name='{item['key']}'" in page.text
    assert "id='back'" not in page.text  # nothing to go back to yet


def test_a_bad_answer_shows_the_engines_message_beside_its_field_and_records_nothing(client):
    page = Page(client.get("/"))
    bad = post(client, page, age="seventy", sex="female")
    assert bad.status == 400 and bad.prompt == page.prompt
    prompt = Interview(CONSULTANT).current()
    assert prompt is not None
    age = next(q for q in prompt.items if q.key == "age")
    with pytest.raises(AnswerError) as refused:
        age.read("seventy")
    assert bad.error("age") == str(refused.value)
    assert bad.error("sex") is None
    assert "value='seventy'" in bad.text  # what was typed stays, to be corrected
    assert web.unsign(bad.state or "", bytes.fromhex("ab" * 32)).transcript == []


def test_a_checklist_is_a_checkbox_group_read_as_present_absent_or_unknown(client):
    page = Page(client.get("/"))
    while page.prompt != "dvt":
        page = post(client, page, **form_fields(page.prompt))
    assert "type='checkbox' name='findings.calf_tenderness'" in page.text
    page = post(client, page, **{"findings.calf_tenderness": "yes", web.OTHERS: "absent"})
    saved = web.unsign(page.state or "", bytes.fromhex("ab" * 32))
    interview = web.restore(CONSULTANT, saved)
    values = interview.history[-1].values
    assert values["findings.calf_tenderness"] is True
    assert values["findings.unilateral_leg_swelling"] is False
    # Unticked, with the others "not assessed": unknown, never absent.
    while page.prompt is not None and page.prompt != "neuromuscular":
        page = post(client, page)
    assert page.prompt == "neuromuscular"
    page = post(client, page, **{"findings.muscle_weakness": "yes"})
    interview = web.restore(CONSULTANT, web.unsign(page.state or "", bytes.fromhex("ab" * 32)))
    given = interview.history[-1].values
    assert given["findings.muscle_weakness"] is True
    assert all(v is None for k, v in given.items() if k != "findings.muscle_weakness")


def test_back_returns_to_the_previous_prompt_with_what_was_typed(client):
    first = Page(client.get("/"))
    second = post(client, first, **ANSWERS["patient"])
    assert second.prompt != first.prompt
    assert "Age 67" in second.text  # the engine's read-back of the answer
    back = post(client, second, "back")
    assert back.prompt == first.prompt
    assert "value='67'" in back.text
    assert web.unsign(back.state or "", bytes.fromhex("ab" * 32)).transcript == []
    again = post(client, back, **ANSWERS["patient"])
    assert again.prompt == second.prompt


def test_skip_asks_the_prompt_again_at_the_end(client):
    page = post(client, Page(client.get("/")), **ANSWERS["patient"])
    skipped = page.prompt
    page = post(client, page, "skip")
    assert page.prompt != skipped and "skipped" in page.text
    seen = []
    while page.prompt is not None and page.prompt != skipped:
        seen.append(page.prompt)
        page = post(client, page)
    assert page.prompt == skipped and seen  # back after the others
    page = post(client, page, "skip")  # skipped twice: left unknown
    assert page.prompt != skipped


def test_why_goes_one_step_up_the_chain_each_time(client):
    page = Page(client.get("/"))
    interview = Interview(CONSULTANT)
    for level in range(3):
        page = post(client, page, "why", _why=str(level))
        assert page.prompt == interview.current().id  # type: ignore[union-attr]
        shown = re.search(r"id='why'>([^<]*)<", page.text)
        assert shown is not None
        expected = interview.why(level).strip("\n")
        assert html.unescape(shown.group(1)) == expected
        assert f"name='_why' value='{level + 1}'" in page.text


def test_a_tampered_or_foreign_transcript_is_refused_with_a_message(client):
    page = post(client, Page(client.get("/")), **ANSWERS["patient"])
    payload, _, mac = (page.state or "").partition(".")
    forged = web.sign(
        web.FormState([{"prompt": "patient", "typed": "age 17; sex male"}], []),
        b"another key",
    )
    for state in (
        payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + mac,
        forged,
        "garbage",
        "",
    ):
        refused = Page(client.post("/consult", data={"_state": state, "_action": "next"}))
        assert refused.status == 400
        assert "cannot be continued" in refused.text and "Traceback" not in refused.text


def test_a_transcript_that_no_longer_replays_is_refused_with_a_message(client):
    key = bytes.fromhex("ab" * 32)
    wrong = web.sign(web.FormState([{"prompt": "patient", "typed": "age seventy"}], []), key)
    refused = Page(client.post("/consult", data={"_state": wrong, "_action": "next"}))
    assert refused.status == 400 and "can no longer be replayed" in refused.text


def test_an_out_of_date_page_shows_the_prompt_asked_now(client):
    first = Page(client.get("/"))
    second = post(client, first, **ANSWERS["patient"])
    stale = Page(
        client.post(
            "/consult", data={"_state": second.state, "_prompt": first.prompt, "_action": "next"}
        )
    )
    assert stale.prompt == second.prompt and "out of date" in stale.text


def test_what_was_typed_is_shown_escaped(client):
    page = post(client, Page(client.get("/")), **ANSWERS["patient"])
    assert page.prompt == "medications"
    # A bidi control is refused by the patient-file check, beside the field, shown escaped.
    refused = post(client, page, medications="furosemide\u202e 40 mg")
    assert refused.status == 400 and "\u202e" not in refused.text
    assert "control or formatting characters" in (refused.error("medications") or "")
    page = post(client, page, medications="<script>alert(1)</script>\nfurosemide 40 mg")
    assert page.status == 200 and "<script>alert" not in page.text
    report, _ = walk_from(client, page)
    assert report.prompt is None and "<script>alert" not in report.text
    assert "&lt;script&gt;" in report.text


def walk_from(client: TestClient, page: Page) -> tuple[Page, int]:
    count = 0
    while page.prompt is not None and count < 60:
        page = post(client, page)
        count += 1
    return page, count


def test_conclude_now_gives_the_report_from_what_is_known(client):
    page = post(client, Page(client.get("/")), **ANSWERS["patient"])
    report = post(client, page, "finish")
    assert report.prompt is None and "<main>" in report.text
    assert "id='back'" in report.text
