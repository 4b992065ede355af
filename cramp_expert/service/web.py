"""The web page: issue 14's interview engine put to a clinician one prompt per page, then the report.

Why one page per prompt rather than one long form: the engine (`interview.Interview`) decides
after every answer which entries can still change a conclusion and which questions apply
(pregnancy only for a woman of the age, start dates only for the medicines listed, a checklist
only with its items that still matter). A single form would have to show every question the
knowledge base could ever ask. Page by page, the clinician sees what the terminal would ask, in
the groups, order and words of knowledge/interview.yaml: a checklist as a checkbox group, a
line of fields or labs as one input per item.

The server keeps no interview. Each page carries the answers so far (the engine's transcript,
with what was typed in each field) in a hidden field signed with the service's key (HMAC-SHA256);
a post replays it (`Interview.replay`), applies the action (answer, back, skip, why, conclude)
and shows the next prompt, or the report when nothing more can change a conclusion. A changed or
foreign transcript is refused with a message, never a traceback. Each answer is read by the
engine: an item that cannot be read comes back with the engine's message beside its field.

The report is the clinician's HTML report of issue 15 (`render.html.render_html`), the same page
as `consult --format html`. Every text that came from the clinician or the record goes through
`render.visible` and HTML escaping.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from cramp_expert.interview import AnswerError, Interview, Prompt, Question
from cramp_expert.interview.questions import UNKNOWN_ANSWERS
from cramp_expert.patient.inputs import CONDITIONS, MEDICATIONS
from cramp_expert.render.safe import visible, visible_lines

STATE = "_state"
ACTION = "_action"
WHY = "_why"
SHOWN = "_prompt"
OTHERS = "_others"
"""A checklist's unticked items: `absent` or `unknown` (not assessed; the default)."""
ACTIONS = ("next", "back", "skip", "why", "finish")
MAX_ANSWERS = 200
"""More answers than any interview asks: a longer transcript is refused, not replayed."""


def _e(text: Any) -> str:
    """Visible (no control or bidi characters) and HTML-escaped, quotes included."""
    return html.escape(visible(str(text)), quote=True)


def _e_lines(text: str) -> str:
    """Like `_e`, keeping line breaks (shown as lines by `white-space: pre-wrap`)."""
    return html.escape(visible_lines(text), quote=True)


_STYLE = """
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;
 color:#1a1a1a;max-width:52rem;margin:1rem auto;padding:0 1rem}
header{border-bottom:2px solid #1a1a1a;margin-bottom:.8rem}
h1{font-size:1.25rem;margin:.2rem 0}
h2{font-size:1.15rem;margin:.6rem 0 .3rem}
.progress{color:#555;font-size:.9rem}
.readback{background:#eef6ee;border-left:.35rem solid #2f6f4f;padding:.3rem .6rem;margin:.4rem 0}
.errors{background:#fde8e8;border:1px solid #b00;padding:.4rem .8rem;margin:.4rem 0}
.error{color:#a00;font-weight:600;display:block;font-size:.92rem}
.why{background:#f3f3fb;border-left:.35rem solid #446;padding:.3rem .6rem;white-space:pre-wrap;
 font-size:.92rem;margin:.4rem 0}
fieldset{border:1px solid #bbb;border-radius:.4rem;margin:.6rem 0;padding:.4rem .8rem}
legend{font-weight:600}
.item{margin:.45rem 0}
.item>label.q{display:block;font-weight:500}
.item.bad input[type=text],.item.bad textarea{border:2px solid #b00}
.hint{color:#555;font-size:.88rem}
.choices label{margin-right:1rem;white-space:nowrap}
.checklist label{display:block;margin:.2rem 0}
.previous{color:#555;font-size:.9rem}
.buttons{margin:1rem 0;display:flex;flex-wrap:wrap;gap:.6rem}
button{font-size:1rem;padding:.35rem 1rem}
button.primary{font-weight:700}
details{margin:.4rem 0}
.toolbar{border-top:2px solid #1a1a1a;margin-top:1.2rem;padding-top:.5rem}
"""


def _page(title: str, body: str, status_note: str = "") -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
        "<header><h1>Night-time leg cramps: cramp-expert</h1>"
        "<p class='progress'>Decision support: the clinician decides."
        f"{status_note}</p></header>{body}</body></html>"
    )


def message_page(text: str) -> str:
    """A page with one message and a link to start again."""
    return _page(
        "cramp-expert",
        f"<p role='alert'>{_e(text)}</p><p><a href='/'>Start a new consultation</a></p>",
    )


# --- the signed state ------------------------------------------------------------------------
class StateError(ValueError):
    """A posted interview state that is not one this service signed (or cannot be replayed)."""


@dataclass
class FormState:
    """What a page carries: the answers (transcript entries with the typed fields), skips."""

    transcript: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def sign(state: FormState, key: bytes) -> str:
    """The state as `payload.mac` (base64url JSON and its HMAC-SHA256)."""
    raw = json.dumps(
        {"v": 1, "t": state.transcript, "s": state.skipped},
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode()
    mac = hmac.new(key, raw, hashlib.sha256).digest()
    return _b64(raw) + "." + _b64(mac)


def unsign(token: str, key: bytes) -> FormState:
    """The state `sign` wrote; StateError when it was changed or signed with another key."""
    payload, _, mac = token.partition(".")
    try:
        raw, given = _unb64(payload), _unb64(mac)
    except ValueError:
        raise StateError("the form's answers are not readable") from None
    if not hmac.compare_digest(hmac.new(key, raw, hashlib.sha256).digest(), given):
        raise StateError(
            "the form's answers were changed, or come from another server or an older session"
        )
    data = json.loads(raw)
    transcript, skipped = data.get("t"), data.get("s")
    if not isinstance(transcript, list) or not isinstance(skipped, list):
        raise StateError("the form's answers are not readable")
    if len(transcript) > MAX_ANSWERS:
        raise StateError(f"more than {MAX_ANSWERS} answers")
    return FormState(transcript, skipped)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from None


def restore(consultant: Any, state: FormState) -> Interview:
    """The interview the state describes: its answers replayed, its pending skips made again."""
    try:
        interview = Interview.replay(consultant, state.transcript)
    except AnswerError as exc:
        raise StateError(f"the answers can no longer be replayed ({exc})") from None
    pending = set(state.skipped)
    while (prompt := interview.current()) is not None and (
        prompt.id in pending and prompt.id not in interview.skipped
    ):
        interview.skip()
    return interview


def state_of(interview: Interview, typed_items: list[dict[str, Any]]) -> FormState:
    """The state to carry after `interview`'s answers (`typed_items`: each answer's fields)."""
    transcript = []
    for number, entry in enumerate(interview.transcript()):
        items = typed_items[number] if number < len(typed_items) else {}
        transcript.append({**entry, "items": items})
    return FormState(transcript, sorted(interview.skipped))


# --- the form --------------------------------------------------------------------------------
def parse_form(body: bytes) -> dict[str, list[str]]:
    """An urlencoded form body (bounded by the caller) as name -> values."""
    return parse_qs(
        body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=2000
    )


def _one(form: Mapping[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0]


def answers_from_form(prompt: Prompt, form: Mapping[str, list[str]]) -> dict[str, str | None]:
    """The prompt's items as typed: key -> text (None: not known), as `submit_items` takes them."""
    answers: dict[str, str | None] = {}
    if prompt.kind == "checklist":
        others = "no" if _one(form, OTHERS) == "absent" else None
        for q in prompt.items:
            answers[q.key] = "yes" if form.get(q.key) else others
        return answers
    for q in (*prompt.items, *prompt.extra):
        values = [v for v in form.get(q.key, []) if v.strip()]
        if not values:
            if q in prompt.items:
                answers[q.key] = None
            continue
        if q.kind == "list":
            answers[q.key] = ", ".join(values)
        elif q.kind in (MEDICATIONS, CONDITIONS):
            lines = [line.strip() for line in values[0].splitlines() if line.strip()]
            answers[q.key] = "; ".join(lines) if lines else None
        else:
            answers[q.key] = values[0]
    return answers


def item_errors(prompt: Prompt, answers: Mapping[str, str | None]) -> dict[str, str]:
    """Each item the engine's reader cannot read: key -> its message."""
    by_key = {q.key: q for q in (*prompt.items, *prompt.extra)}
    errors: dict[str, str] = {}
    for key, text in answers.items():
        if text is None:
            continue
        if " ".join(text.split()).lower() in UNKNOWN_ANSWERS:
            continue  # left unknown, as submit_items reads it
        try:
            by_key[key].read(text)
        except AnswerError as exc:
            errors[key] = str(exc)
    return errors


def _typed_value(q: Question, typed: Mapping[str, Any]) -> str:
    value = typed.get(q.key)
    return value if isinstance(value, str) else ""


def _input(q: Question, typed: Mapping[str, Any], error: str | None) -> str:
    key = _e(q.key)
    value = _typed_value(q, typed)
    hint = q.hint()
    label_text = q.label if q.kind == "started" and q.label else q.text
    help_html = f"<div class='hint'>{_e(q.help)}</div>" if q.help else ""
    error_html = (
        f"<span class='error' id='error-{key}' role='alert'>{_e(error)}</span>" if error else ""
    )
    bad = " bad" if error else ""
    if q.kind == "bool":
        chosen = value.lower()
        options = "".join(
            f"<label><input type='radio' name='{key}' value='{v}'"
            f"{' checked' if chosen == v else ''}> {t}</label>"
            for v, t in (("yes", "yes"), ("no", "no"), ("", "not known"))
        )
        return (
            f"<div class='item{bad}' data-key='{key}'><fieldset class='choices'>"
            f"<legend>{_e(q.text)}</legend>{options}{error_html}{help_html}</fieldset></div>"
        )
    if q.kind == "choice":
        options = (
            f"<option value=''{' selected' if not value else ''}>not known</option>"
            + "".join(
                f"<option value='{_e(v)}'{' selected' if value == v else ''}>{_e(v)}</option>"
                for v in q.values
            )
        )
        return (
            f"<div class='item{bad}' data-key='{key}'><label class='q' for='f-{key}'>{_e(q.text)}"
            f"</label><select id='f-{key}' name='{key}'>{options}</select>{error_html}{help_html}</div>"
        )
    if q.kind == "list":
        ticked = {v.strip() for v in value.split(",")}
        boxes = "".join(
            f"<label><input type='checkbox' name='{key}' value='{_e(v)}'"
            f"{' checked' if v in ticked else ''}> {_e(v)}</label>"
            for v in q.values
        )
        return (
            f"<div class='item{bad}' data-key='{key}'><fieldset class='choices'>"
            f"<legend>{_e(q.text)} <span class='hint'>(one or more)</span></legend>{boxes}"
            f"{error_html}{help_html}</fieldset></div>"
        )
    if q.kind in (MEDICATIONS, CONDITIONS):
        shown = "\n".join(part.strip() for part in value.split(";") if part.strip())
        example = "furosemide 40 mg\nomeprazole 20 mg" if q.kind == MEDICATIONS else "CKD 4"
        return (
            f"<div class='item{bad}' data-key='{key}'><label class='q' for='f-{key}'>{_e(q.text)}"
            f" <span class='hint'>(one per line; 'none' if there are none)</span></label>"
            f"<textarea id='f-{key}' name='{key}' rows='6' cols='50' placeholder='{_e_lines(example)}'>"
            f"{_e_lines(shown)}</textarea>{error_html}{help_html}</div>"
        )
    unit = f" <span class='hint'>({_e(hint)})</span>" if hint else ""
    placeholder = q.example() if q.kind in ("lab", "number", "started") else ""
    return (
        f"<div class='item{bad}' data-key='{key}'><label class='q' for='f-{key}'>{_e(label_text)}"
        f"{unit}</label><input type='text' id='f-{key}' name='{key}' value='{_e(value)}' size='24'"
        f" placeholder='{_e(placeholder)}' autocomplete='off'>{error_html}{help_html}</div>"
    )


def _checklist(prompt: Prompt, typed: Mapping[str, Any], errors: Mapping[str, str]) -> str:
    boxes = []
    for q in prompt.items:
        key = _e(q.key)
        ticked = str(typed.get(q.key) or "").lower() == "yes"
        error = errors.get(q.key)
        boxes.append(
            f"<label data-key='{key}'><input type='checkbox' name='{key}' value='yes'"
            f"{' checked' if ticked else ''}> {_e(q.label or q.text)}</label>"
            + (
                f"<span class='error' id='error-{key}' role='alert'>{_e(error)}</span>"
                if error
                else ""
            )
        )
    others_absent = typed.get(OTHERS) == "absent"
    return (
        f"<fieldset class='checklist' id='checklist'><legend>{_e(prompt.text)}: tick those present"
        f"</legend>{''.join(boxes)}</fieldset>"
        "<fieldset class='choices'><legend>The items not ticked are</legend>"
        f"<label><input type='radio' name='{OTHERS}' value='unknown'"
        f"{'' if others_absent else ' checked'}> not assessed (unknown)</label>"
        f"<label><input type='radio' name='{OTHERS}' value='absent'"
        f"{' checked' if others_absent else ''}> absent (assessed, not present)</label></fieldset>"
    )


def prompt_page(
    prompt: Prompt,
    state_token: str,
    *,
    typed: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    problems: list[str] | None = None,
    read_back: str = "",
    why: str = "",
    why_level: int = 0,
    can_go_back: bool = False,
) -> str:
    """One prompt of the interview as a form (its items as the engine gives them)."""
    typed = typed or {}
    errors = errors or {}
    parts = [f"<p class='progress' id='progress'>Question {_e(prompt.progress)}</p>"]
    if read_back:
        parts.append(
            f"<p class='readback' id='readback'>Previous answer{_e(read_back.strip() and ': ')}"
            f"{_e(read_back.strip())}</p>"
        )
    if problems:
        parts.append(
            "<div class='errors' role='alert' id='problems'><strong>Not understood:</strong><ul>"
            + "".join(f"<li>{_e(p)}</li>" for p in problems)
            + "</ul></div>"
        )
    parts.append(
        f"<form method='post' action='/consult' id='interview' data-prompt='{_e(prompt.id)}'>"
    )
    parts.append(f"<h2 id='prompt-text'>{_e(prompt.text)}</h2>")
    if prompt.previous is not None:
        parts.append(
            f"<p class='previous'>Your answer before: {_e(prompt.previous or '(not known)')}</p>"
        )
    if prompt.kind == "checklist":
        parts.append(_checklist(prompt, typed, errors))
    else:
        parts += [_input(q, typed, errors.get(q.key)) for q in prompt.items]
        if prompt.extra:
            parts.append(
                "<details><summary>Other results you may give (optional)</summary>"
                + "".join(_input(q, typed, errors.get(q.key)) for q in prompt.extra)
                + "</details>"
            )
    if why:
        parts.append(f"<div class='why' id='why'>{_e_lines(why.strip(chr(10)))}</div>")
    parts.append(
        f"<input type='hidden' name='{STATE}' value='{_e(state_token)}'>"
        f"<input type='hidden' name='{SHOWN}' value='{_e(prompt.id)}'>"
        f"<input type='hidden' name='{WHY}' value='{why_level}'>"
        "<div class='buttons'>"
        f"<button type='submit' class='primary' name='{ACTION}' value='next' id='next'>Next</button>"
        + (
            f"<button type='submit' name='{ACTION}' value='back' id='back'>Back</button>"
            if can_go_back
            else ""
        )
        + f"<button type='submit' name='{ACTION}' value='skip' id='skip'>Skip (ask later)</button>"
        f"<button type='submit' name='{ACTION}' value='why' id='why-button'>"
        f"{'Why? (one step further)' if why else 'Why is this asked?'}</button>"
        f"<button type='submit' name='{ACTION}' value='finish' id='finish'>"
        "Conclude from what is known</button></div>"
        f"<details><summary>How to answer</summary><p class='hint' style='white-space:pre-wrap'>{_e_lines(prompt.help())}</p></details>"
        "</form>"
    )
    return _page(f"cramp-expert: {prompt.text}", "".join(parts))


def report_page(result: Any, kb: Any, state_token: str | None = None) -> str:
    """The clinician's HTML report (issue 15's page), with a way back into the interview."""
    from cramp_expert.render.html import render_html

    page = render_html(result, kb)
    toolbar = ["<div class='toolbar' id='toolbar'>"]
    if state_token is not None:
        toolbar.append(
            "<form method='post' action='/consult' style='display:inline'>"
            f"<input type='hidden' name='{STATE}' value='{_e(state_token)}'>"
            f"<button type='submit' name='{ACTION}' value='back' id='back'>"
            "Back: change the last answer</button></form> "
        )
    toolbar.append("<a href='/' id='new'>New consultation</a></div>")
    return page.replace("\n</body>", "\n" + "".join(toolbar) + "\n</body>", 1)


__all__ = [
    "ACTIONS",
    "FormState",
    "StateError",
    "answers_from_form",
    "item_errors",
    "message_page",
    "parse_form",
    "prompt_page",
    "report_page",
    "restore",
    "sign",
    "state_of",
    "unsign",
]
