"""The HTML page in a real browser (headless Debian Chromium): what a clinician sees and prints.

For each example: the summary, every red flag (tier, label and action) and the top causes are on
the first screen (1280 x 800, no scrolling); every cause is displayed; the page prints on at most
two A4 pages with the chains folded. Screenshots and PDFs go to CRAMP_EXPERT_SCREENSHOTS
(default: a `cramp-expert-screenshots` folder in the temporary directory) for a person to look at.
Skips, saying why, where chromium or chromedriver is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cramp_expert.explain.text import contract_dict
from cramp_expert.render.html import render_html
from tests.browser import (
    browser,
    pdf_pages,
    print_pdf,
    screenshot_folder,
    unavailable,
    visible_in_first_screen,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))

pytestmark = pytest.mark.skipif(bool(unavailable()), reason=unavailable() or "browser present")


@pytest.fixture(scope="module")
def shots() -> Path:
    return screenshot_folder()


@pytest.fixture(scope="module")
def driver():
    with browser() as opened:
        yield opened


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_page_as_seen_and_printed(consultant, driver, shots, tmp_path, path):
    from selenium.webdriver.common.by import By

    typed = consultant.consult_path(path)
    result = contract_dict(typed)
    page = tmp_path / f"{path.stem}.html"
    page.write_text(render_html(typed, consultant.kb), encoding="utf-8")
    driver.get(page.as_uri())
    driver.save_screenshot(str(shots / f"{path.stem}-screen.png"))

    summary = driver.find_element(By.ID, "summary")
    assert visible_in_first_screen(driver, summary.find_element(By.TAG_NAME, "h2"))
    flags = summary.find_elements(By.CSS_SELECTOR, ".flaglist li")
    assert len(flags) == len(result["red_flags"])
    for flag, item in zip(flags, result["red_flags"], strict=True):
        assert visible_in_first_screen(driver, flag), item["id"]
        assert item["label"] in flag.text
        assert flag.find_element(By.CLASS_NAME, "tier").text.startswith(item["urgency"].upper())
        assert flag.find_element(By.CLASS_NAME, "action").text  # the action, on screen
    if not result["red_flags"]:
        assert visible_in_first_screen(driver, summary.find_element(By.CLASS_NAME, "noflag"))
    rows = summary.find_elements(By.CSS_SELECTOR, "table.causes tr")
    assert [r.text for r in rows] and all(visible_in_first_screen(driver, r) for r in rows)
    headings = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "#causes h3")]
    for cause in result["causes"]:
        assert any(cause["label"] in h for h in headings), cause["id"]
    for element in driver.find_elements(By.CSS_SELECTOR, "#causes h3, #red-flags h3"):
        assert element.is_displayed()

    pdf = print_pdf(driver)
    (shots / f"{path.stem}.pdf").write_bytes(pdf)
    assert 1 <= pdf_pages(pdf) <= 2, f"{path.stem} prints on {pdf_pages(pdf)} A4 pages"


def test_nothing_is_fetched_from_the_network(consultant, driver, tmp_path):
    result = consultant.consult_path(ROOT / "examples" / "V16.yaml")
    page = tmp_path / "V16.html"
    page.write_text(render_html(result, consultant.kb), encoding="utf-8")
    driver.get(page.as_uri())
    fetched = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert fetched == []
