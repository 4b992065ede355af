"""The web interview driven in the system's headless Chromium, as a clinician would use it.

Through a real uvicorn server on 127.0.0.1: a bad answer comes back with the engine's message
beside its field; back returns to the previous prompt with what was typed; WHY explains; a
checklist is ticked; the report at the end is the clinician's HTML report (issue 15's page).
Screenshots go to CRAMP_EXPERT_SCREENSHOTS (default: `cramp-expert-screenshots` in the
temporary folder) for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cramp_expert.api import Consultant
from tests import browser as chromium
from tests.service.server import running

pytestmark = pytest.mark.skipif(
    bool(chromium.unavailable()), reason=chromium.unavailable() or "browser present"
)
LABELS = Consultant().kb.knowledge.conclusions


@pytest.fixture(scope="module")
def shots() -> Path:
    return chromium.screenshot_folder()


@pytest.fixture(scope="module")
def driver():
    with chromium.browser((1100, 900), exact_viewport=False) as opened:
        yield opened


@pytest.fixture(scope="module")
def site():
    with running() as url:
        yield url


def _prompt(driver) -> str:
    from selenium.webdriver.common.by import By

    forms = driver.find_elements(By.ID, "interview")
    return forms[0].get_attribute("data-prompt") if forms else ""


def _press(driver, button_id: str) -> None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # A mark on the old page's window: the next page has none. Asking an element of the old page
    # whether it is stale (staleness_of) can meet chromedriver mid-navigation and fail with
    # "Node with given id does not belong to the document"; scripts run then are simply retried.
    driver.execute_script("window.__pressed = true")
    driver.find_element(By.ID, button_id).click()
    WebDriverWait(driver, 60, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return !window.__pressed && document.readyState === 'complete'")
    )


def _type(driver, key: str, text: str) -> None:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.ID, f"f-{key}")
    field.clear()
    field.send_keys(text)


def _choose(driver, key: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"input[name='{key}'][value='{value}']").click()


def test_an_interview_in_the_browser_gives_the_html_report(driver, site, shots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(site + "/")
    assert _prompt(driver) == "patient"
    assert "Question 1 of about" in driver.find_element(By.ID, "progress").text
    chromium.screenshot(driver, shots / "web-1-first-prompt.png")

    # A bad answer: the engine's message beside the field, nothing recorded.
    _type(driver, "age", "seventy")
    Select(driver.find_element(By.ID, "f-sex")).select_by_value("female")
    _press(driver, "next")
    assert _prompt(driver) == "patient"
    error = driver.find_element(By.ID, "error-age")
    assert error.is_displayed() and "not a number of years" in error.text
    chromium.screenshot(driver, shots / "web-2-bad-answer.png")

    _type(driver, "age", "58")
    _press(driver, "next")
    assert _prompt(driver) != "patient"
    assert "Age 58" in driver.find_element(By.ID, "readback").text

    # Back: the previous prompt again, with what was typed.
    _press(driver, "back")
    assert _prompt(driver) == "patient"
    assert driver.find_element(By.ID, "f-age").get_attribute("value") == "58"
    _press(driver, "next")

    seen = []
    while (prompt := _prompt(driver)) and len(seen) < 40:
        seen.append(prompt)
        if prompt == "medications":
            _type(driver, "medications", "furosemide 40 mg")
        elif prompt == "labs":
            _type(driver, "labs.potassium", "3.0 mmol/L")
        elif prompt == "dvt":
            _press(driver, "why-button")  # WHY: which rules this checklist can settle
            assert "can settle" in driver.find_element(By.ID, "why").text
            chromium.screenshot(driver, shots / "web-3-why-checklist.png")
            for key in ("findings.unilateral_leg_swelling", "findings.calf_tenderness"):
                _choose(driver, key, "yes")
            _choose(driver, "_others", "absent")
        elif prompt == "cramps":
            _choose(driver, "cramps.sites", "calf")
        _press(driver, "next")
    assert {"medications", "labs", "dvt"} <= set(seen), seen

    # The report: issue 15's clinician page, with the red flag and the causes.
    assert driver.title.startswith("cramp-expert consultation")
    red_flags = driver.find_element(By.ID, "red-flags").text
    assert LABELS["rf_dvt_suspected"].label in red_flags
    causes = driver.find_element(By.ID, "causes").text
    assert LABELS["hypokalemia"].label in causes
    assert "furosemide" in driver.find_element(By.ID, "input").text
    chromium.screenshot(driver, shots / "web-4-report.png")

    # Back from the report: the last prompt again.
    _press(driver, "back")
    assert _prompt(driver) == seen[-1]
