"""The web page driven in the system's headless Chromium (Selenium), as a clinician would use it."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.service.server import running

CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"
SHOTS = Path(os.environ.get("CRAMP_EXPERT_SCREENSHOTS", tempfile.gettempdir()))

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
    reason="Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)",
)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="cramp-expert-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1200,2400",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def site():
    with running() as url:
        yield url


def _fill(driver, name, text):
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.NAME, name)
    field.clear()
    field.send_keys(text)


def test_the_form_gives_the_report_with_its_red_flag_and_causes(browser, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(site + "/")
    assert "cramp-expert" in browser.title
    _fill(browser, "age", "58")
    Select(browser.find_element(By.NAME, "sex")).select_by_value("female")
    browser.find_element(By.CSS_SELECTOR, "input[name='cramps.sites'][value='calf']").click()
    # The findings checklist: two items present, the rest declared absent.
    for key in ("findings.unilateral_leg_swelling", "findings.calf_tenderness"):
        browser.find_element(
            By.CSS_SELECTOR, f"input[name='findings.__present'][value='{key}']"
        ).click()
    browser.find_element(By.CSS_SELECTOR, "input[name='findings.__others'][value='absent']").click()
    _fill(browser, "labs.potassium", "3.0 mmol/L")
    _fill(browser, "medications", "furosemide 40 mg")
    browser.save_screenshot(str(SHOTS / "cramp-expert-form.png"))
    browser.find_element(By.ID, "consult").click()
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.ID, "report")))
    browser.save_screenshot(str(SHOTS / "cramp-expert-report.png"))
    flag = browser.find_element(By.CSS_SELECTOR, "[data-id='rf_dvt_suspected']")
    assert flag.is_displayed() and "urgent" in flag.text
    causes = [
        e.get_attribute("data-id") for e in browser.find_elements(By.CSS_SELECTOR, "li[data-id]")
    ]
    assert "hypokalemia" in causes and "med_diuretic_loop" in causes
    assert "furosemide" in browser.find_element(By.ID, "report").text


def test_a_bad_answer_comes_back_with_its_reason(browser, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(site + "/")
    _fill(browser, "age", "seventy")
    browser.find_element(By.ID, "consult").click()
    alert = WebDriverWait(browser, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "[role='alert']"))
    )
    assert "Age" in alert.text and "number" in alert.text
    browser.save_screenshot(str(SHOTS / "cramp-expert-form-error.png"))
