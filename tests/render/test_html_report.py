"""The clinician's HTML page, read as markup: self-contained, structured, escaped, complete."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cramp_expert.explain.text import contract_dict
from cramp_expert.render.html import render_html
from cramp_expert.render.report import URGENCY_TEXT

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
STRESS = Path(__file__).with_name("stress.yaml")
VOID = {"meta", "br", "hr", "img", "input", "link"}


class _Tags(HTMLParser):
    """Checks that every element is closed in order, and collects what the page refers to."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, name, value) for name, value in attrs]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> _Tags:
    tags = _Tags()
    tags.feed(page)
    tags.close()
    return tags


@pytest.fixture(scope="module")
def pages(consultant):
    out = {}
    for path in [*EXAMPLES, STRESS]:
        typed = consultant.consult_path(path)
        out[path.stem] = (contract_dict(typed), render_html(typed, consultant.kb), typed)
    return out


def test_every_page_is_well_formed_and_self_contained(pages):
    for stem, (_, page, _) in pages.items():
        tags = parse(page)
        assert not tags.errors and not tags.stack, (stem, tags.errors[:3], tags.stack)
        assert "script" not in tags.tags and "link" not in tags.tags and "img" not in tags.tags
        assert "iframe" not in tags.tags and "object" not in tags.tags
        assert "@import" not in page and "url(" not in page
        for tag, name, value in tags.attrs:
            assert name not in ("src", "srcset") and not name.startswith("on"), (tag, name)
            if name == "href":
                assert value and (
                    value.startswith("#")
                    or value.startswith("https://doi.org/")
                    or value.startswith("https://pubmed.ncbi.nlm.nih.gov/")
                ), value


def test_every_page_has_landmarks_headings_and_a_print_style(pages):
    for stem, (_, page, _) in pages.items():
        tags = parse(page)
        assert tags.tags.count("h1") == 1 and tags.tags.count("main") == 1, stem
        assert {"header", "nav", "section", "h2"} <= set(tags.tags)
        assert page.index('id="summary"') < page.index('<h2 id="h-causes"')
        assert '<html lang="en">' in page and '<meta charset="utf-8">' in page
        assert "@media print" in page and "size: A4" in page
        for section in re.findall(r'<section id="([a-z-]+)" aria-labelledby="h-\1">', page):
            assert f'<h2 id="h-{section}">' in page


def test_red_flags_by_tier_in_colour_and_words_first(pages):
    for stem, (result, page, _) in pages.items():
        summary = page[page.index('id="summary"') : page.index("</section>")]
        for flag in result["red_flags"]:
            words = URGENCY_TEXT[flag["urgency"]]
            assert f'<li class="{flag["urgency"]}"><span class="tier">{words}</span>' in summary
            assert re.search(rf'<article class="flag {flag["urgency"]}"', page), stem
        if not result["red_flags"]:
            assert "No red flag found among the findings given" in summary


def test_causes_have_a_certainty_bar_with_its_number(pages):
    for _stem, (result, page, _) in pages.items():
        for cause in result["causes"]:
            bar = (
                f'aria-label="certainty {cause["certainty"]:.2f}"><span style="width:'
                f'{cause["certainty"] * 100:.0f}%"></span></span>{cause["certainty"]:.2f}'
            )
            assert bar in page
            assert f"{cause['label']}" in page


def test_each_conclusion_has_its_chain_collapsed(pages, consultant):
    result, page, typed = pages["V16"]
    chains = page.count("<details><summary>How this was concluded")
    listed = sum(
        len(result[k])
        for k in ("red_flags", "causes", "excluded", "recommendations", "investigations")
    )
    assert chains == listed
    # the medication cause's chain shows the rule, the fact it matched and, beneath, the rules
    # that concluded what it tested
    assert "<code>loop-diuretic-cause</code>" in page
    assert "labs.magnesium = 1.4 mg/dL = 0.58 mmol/L" in page
    opened = render_html(typed, consultant.kb, open_chains=True)
    assert "<details open><summary>How this was concluded" in opened


def test_the_input_as_read_and_references_with_links(pages, consultant):
    _result, page, _ = pages["V16"]
    assert "<td>Losec 20 mg od</td><td>omeprazole</td>" in page
    assert "<td>1.4 mg/dL</td><td>0.58 mmol/L</td>" in page
    for key in re.findall(r'href="#ref-([A-Z0-9-]+)"', page):
        assert f'<li id="ref-{key}"' in page
    assert (
        '<a href="https://doi.org/' in page and '<a href="https://pubmed.ncbi.nlm.nih.gov/' in page
    )


def test_input_text_is_escaped(consultant):
    result = contract_dict(
        consultant.consult_data(
            {
                "id": '<script>alert(1)</script>"',
                "age": 70,
                "medications": ["<img src=x onerror=alert(1)>", "atorvastatin 40 mg"],
                "conditions": ["<b>diabetes</b>"],
            }
        )
    )
    # The reader refuses control characters in a patient file; a result from elsewhere (an
    # older run, another reader) may still hold them, and the page shows them escaped.
    result["interpreted"]["medications"][1]["input"] = "atorvastatin\x1b[2J\u202e 40 mg"
    page = render_html(result, consultant.kb)
    tags = parse(page)
    assert not tags.errors
    assert "script" not in tags.tags and "img" not in tags.tags and "b" not in tags.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "atorvastatin\\x1b[2J\\u202e 40 mg" in page
    assert "\x1b" not in page and "\u202e" not in page


def test_the_main_element_alone_for_pages_that_embed_it(pages, consultant):
    _, _, typed = pages["V09"]
    main = render_html(typed, consultant.kb, standalone=False)
    assert main.startswith("<main>") and main.endswith("</main>") and "<style>" not in main
