"""The one headless Chromium of the tests (Debian's chromium + chromedriver, driven by selenium).

Tests that look at a page as a person would use it: the clinician's report (tests/render), the
patient's handout on A4 (tests/handout), the web interview (tests/service). Nothing is
downloaded: the browser and its driver are the system's packages; `unavailable()` says why a
browser test must skip when they are absent (`.ci/run` installs chromium chromium-driver).
"""

from __future__ import annotations

import base64
import os
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
A4_CM = (21.0, 29.7)
A4_PX = (794, 1123)
"""An A4 sheet in CSS pixels at 96 per inch."""

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
        return "the selenium package is not installed (make env)"
    return ""


@contextmanager
def browser(size: tuple[int, int] = SCREEN, *, exact_viewport: bool = True) -> Iterator[Any]:
    """A headless Chromium with a fresh profile, quit (and its profile removed) afterwards.

    `exact_viewport`: make the page's viewport itself `size` (--window-size sets the outer
    window), so that "on the first screen" means what a laptop shows.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="cramp-expert-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        driver.set_page_load_timeout(60)
        if exact_viewport:
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False},
            )
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def print_pdf(driver: Any) -> bytes:
    """The page shown printed on A4 (as the browser's print dialog would, with backgrounds)."""
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


def print_a4(driver: Any, page: Path) -> tuple[int, bytes]:
    """Open `page` and print it on A4 with no margins of the printer's own (its @page margins).

    Returns the page count and the PDF.
    """
    from selenium.webdriver.common.print_page_options import PrintOptions

    driver.get(page.as_uri())
    options = PrintOptions()
    options.page_width, options.page_height = A4_CM
    options.margin_top = options.margin_bottom = options.margin_left = options.margin_right = 0
    options.background = True
    pdf = base64.b64decode(driver.print_page(options))
    return pdf_pages(pdf), pdf


def pdf_pages(pdf: bytes) -> int:
    """The number of pages of a PDF (its page objects; Chromium writes no compressed ones)."""
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def screenshot_folder() -> Path:
    """Where screenshots and PDFs go for a person to look at: $CRAMP_EXPERT_SCREENSHOTS, or a
    `cramp-expert-screenshots` folder in the temporary directory."""
    folder = Path(
        os.environ.get("CRAMP_EXPERT_SCREENSHOTS")
        or Path(tempfile.gettempdir()) / "cramp-expert-screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(driver: Any, out: Path, width: int | None = None) -> Path:
    """A screenshot of the whole page shown (as tall as its content), `width` pixels wide."""
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width or size["width"], max(size["height"], int(height) + 100))
    driver.save_screenshot(str(out))
    driver.set_window_size(size["width"], size["height"])
    return out


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
