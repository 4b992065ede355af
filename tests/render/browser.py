"""Headless Debian Chromium over WebDriver (selenium + /usr/bin/chromedriver), for tests that look
at a page as a person would: what is on the first screen, what prints, how many A4 pages.

Nothing is downloaded: the browser and its driver are the system's packages; `available()` says
why a browser test must skip when they are absent.
"""

from __future__ import annotations

import base64
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREEN = (1280, 800)
"""A laptop's first screen (CSS pixels): what the clinician sees before scrolling."""

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def unavailable() -> str:
    """Why the browser tests cannot run here, or '' when they can."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is absent (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:  # pragma: no cover - a dev dependency
        return "the selenium package is not installed (uv sync)"
    return ""


@contextmanager
def browser() -> Iterator[Any]:
    """A headless Chromium with a fresh profile, closed (and its profile removed) afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="cramp-expert-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={SCREEN[0]},{SCREEN[1]}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        # --window-size sets the outer window; make the viewport itself the laptop screen.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": SCREEN[0], "height": SCREEN[1], "deviceScaleFactor": 1, "mobile": False},
        )
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def print_pdf(driver: Any) -> bytes:
    """The page printed on A4 (as the browser's print dialog would, with backgrounds)."""
    printed = driver.execute_cdp_cmd(
        "Page.printToPDF",
        {
            "paperWidth": 8.27,
            "paperHeight": 11.69,
            "printBackground": True,
            "preferCSSPageSize": True,
        },
    )
    return base64.b64decode(printed["data"])


def pdf_pages(pdf: bytes) -> int:
    """The number of pages of a PDF (its page objects; Chromium writes no compressed ones)."""
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def visible_in_first_screen(driver: Any, element: Any) -> bool:
    """The element is displayed and lies within the first screen (no scrolling)."""
    rect = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return [r.top, r.bottom, r.width, r.height, window.innerHeight, window.scrollY];",
        element,
    )
    top, bottom, width, height, screen, scrolled = rect
    return (
        element.is_displayed()
        and width > 0
        and height > 0
        and scrolled == 0
        and top >= 0
        and bottom <= screen
    )
