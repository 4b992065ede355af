"""The web page: the interview's questions as one form, and the report it gives.

The form is built from the interview's own question catalogue (`interview.questions`), and each
answer is read by the same `Question.read` as a typed answer at the terminal, so the page and
the terminal accept the same answers and give the same patient file. Yes/no findings are one
checklist per section (checkbox groups): a ticked item is present; the others are absent or not
assessed, as the clinician says for the group (never absent by default).
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs

from cramp_expert.interview.questions import AnswerError, Question, questions
from cramp_expert.kb.knowledge import Knowledge
from cramp_expert.patient.inputs import CONDITIONS, MEDICATIONS
from cramp_expert.render.safe import visible

CHECKLIST_SECTIONS = ("findings",)
_E = html.escape

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;line-height:1.4}
fieldset{margin:1rem 0;border:1px solid #bbb;border-radius:.4rem}
legend{font-weight:600}
label{display:block;margin:.2rem 0}
.q{margin:.5rem 0}
.q>span{display:inline-block;min-width:22rem}
.help{color:#555;font-size:.85rem}
.errors{background:#fde8e8;border:1px solid #c00;padding:.5rem 1rem}
.flag-emergency{background:#fdd;border-left:.4rem solid #b00;padding:.3rem .6rem}
.flag-urgent{background:#ffe9cc;border-left:.4rem solid #d80;padding:.3rem .6rem}
.flag-soon,.flag-routine{background:#eef;border-left:.4rem solid #66a;padding:.3rem .6rem}
button{font-size:1rem;padding:.4rem 1.2rem}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_E(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _field(q: Question, value: str = "") -> str:
    name = _E(q.key)
    help_text = f"<div class='help'>{_E(q.help)}</div>" if q.help else ""
    shows_unit = q.unit and q.kind == "number" and q.unit.lower() not in q.text.lower()
    label = _E(q.text + (f" ({q.unit})" if shows_unit else ""))
    if q.kind == "bool":
        options = "".join(
            f"<label style='display:inline'><input type='radio' name='{name}' value='{v}'"
            f"{' checked' if value == v else ''}> {t}</label> "
            for v, t in (("yes", "yes"), ("no", "no"), ("", "not known"))
        )
        return f"<div class='q'><span>{label}</span> {options}{help_text}</div>"
    if q.kind == "choice":
        options = "<option value=''>not known</option>" + "".join(
            f"<option value='{_E(v)}'{' selected' if value == v else ''}>{_E(v)}</option>"
            for v in q.values
        )
        return f"<div class='q'><label><span>{label}</span> <select name='{name}'>{options}</select></label>{help_text}</div>"
    if q.kind == "list":
        boxes = "".join(
            f"<label style='display:inline'><input type='checkbox' name='{name}' value='{_E(v)}'> {_E(v)}</label> "
            for v in q.values
        )
        return f"<fieldset><legend>{label}</legend>{boxes}{help_text}</fieldset>"
    if q.kind in (MEDICATIONS, CONDITIONS):
        return (
            f"<div class='q'><label><span>{label}</span><br><textarea name='{name}' rows='4' cols='60'"
            f" placeholder='one per line'>{_E(value)}</textarea></label>{help_text}</div>"
        )
    return (
        f"<div class='q'><label><span>{label}</span> <input type='text' name='{name}'"
        f" value='{_E(value)}' size='18'></label>{help_text}</div>"
    )


def form_page(knowledge: Knowledge, errors: list[str] | None = None) -> str:
    """The interview as one form."""
    catalogue = questions(knowledge)
    sections: dict[str, list[Question]] = {}
    for q in catalogue:
        section = q.key.split(".")[0] if "." in q.key else "patient"
        sections.setdefault(section, []).append(q)
    parts = [
        "<h1>Night-time leg cramps: cramp-expert</h1>",
        "<p>Answer what is known; leave the rest. Nothing not given is taken as absent "
        "unless you say so for a checklist.</p>",
    ]
    if errors:
        parts.append(
            "<div class='errors' role='alert'><strong>Please correct:</strong><ul>"
            + "".join(f"<li>{_E(visible(e))}</li>" for e in errors)
            + "</ul></div>"
        )
    parts.append("<form method='post' action='/consult'>")
    titles = {
        "patient": "The patient",
        "cramps": "The cramps",
        "findings": "Findings (checklist)",
        "lifestyle": "Lifestyle",
        "labs": "Labs (value and unit, e.g. 3.4 mmol/L)",
        MEDICATIONS: "Medicines",
        CONDITIONS: "Problem list",
    }
    for section, items in sections.items():
        parts.append(
            f"<fieldset id='section-{_E(section)}'><legend>{_E(titles.get(section, section))}</legend>"
        )
        if section in CHECKLIST_SECTIONS:
            parts.append(
                "<p>Tick the findings present. The others are: "
                f"<label style='display:inline'><input type='radio' name='{section}.__others' value='unknown' checked> not assessed</label> "
                f"<label style='display:inline'><input type='radio' name='{section}.__others' value='absent'> absent</label></p>"
            )
            for q in items:
                parts.append(
                    f"<label><input type='checkbox' name='{section}.__present' value='{_E(q.key)}'> {_E(q.text)}</label>"
                )
        else:
            parts.extend(_field(q) for q in items)
        parts.append("</fieldset>")
    parts.append("<p><button type='submit' id='consult'>Consult</button></p></form>")
    return _page("cramp-expert", "".join(parts))


def parse_form(body: bytes) -> dict[str, list[str]]:
    """An urlencoded form body (bounded by the caller) as name -> values."""
    return parse_qs(
        body.decode("utf-8", errors="replace"), keep_blank_values=False, max_num_fields=2000
    )


def patient_from_form(
    form: dict[str, list[str]], knowledge: Knowledge
) -> tuple[dict[str, Any], list[str]]:
    """The patient file the form gives, and one message per answer that cannot be read."""
    data: dict[str, Any] = {}
    errors: list[str] = []

    def store(key: str, value: Any) -> None:
        section, _, name = key.partition(".")
        if name:
            data.setdefault(section, {})[name] = value
        else:
            data[key] = value

    for q in questions(knowledge):
        section = q.key.split(".")[0] if "." in q.key else ""
        if section in CHECKLIST_SECTIONS:
            present = set(form.get(f"{section}.__present", []))
            others = (form.get(f"{section}.__others") or ["unknown"])[0]
            if q.key in present:
                store(q.key, True)
            elif others == "absent":
                store(q.key, False)
            continue
        values = [v for v in form.get(q.key, []) if v.strip()]
        if not values:
            continue
        try:
            if q.kind == "list":
                store(q.key, q.read(",".join(values)))
            elif q.kind in (MEDICATIONS, CONDITIONS):
                lines = [line.strip() for line in values[0].splitlines() if line.strip()]
                store(q.key, q.read("; ".join(lines)) if lines else [])
            else:
                store(q.key, q.read(values[0]))
        except AnswerError as exc:
            errors.append(f"{q.text}: {exc}")
    return data, errors


def report_page(result: Any, consultant: Any) -> str:
    """The clinician's report as a page (until issue 15's render_html lands, a plain form)."""
    from cramp_expert.explain.text import render_text
    from cramp_expert.service.cards import contract

    knowledge = consultant.kb.knowledge
    data = contract(result)
    parts = [
        f"<h1>cramp-expert report: {_E(visible(str(data.get('patient_id') or 'patient')))}</h1>"
    ]
    if data["red_flags"]:
        parts.append("<h2>Red flags</h2>")
        for flag in data["red_flags"]:
            label = knowledge.conclusions[flag["id"]].label
            parts.append(
                f"<div class='flag-{_E(flag.get('urgency', 'urgent'))}' data-id='{_E(flag['id'])}'>"
                f"<strong>{_E(label)}</strong> ({_E(flag.get('urgency', ''))}): {_E(visible(flag.get('action', '')))}</div>"
            )
    parts.append("<h2>Likely causes</h2><ol>")
    parts += [
        f"<li data-id='{_E(c['id'])}'>{_E(c['label'])} (certainty {c['certainty']:g}, evidence {_E(c['evidence'])})</li>"
        for c in data["causes"]
    ]
    parts.append("</ol><h2>Full report</h2>")
    parts.append(f"<pre id='report'>{_E(render_text(result, consultant.kb, explain=True))}</pre>")
    parts.append("<p><a href='/'>New consultation</a></p>")
    return _page("cramp-expert report", "".join(parts))


__all__ = ["form_page", "parse_form", "patient_from_form", "report_page"]
