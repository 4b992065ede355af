"""The system's headless Chromium, driven by selenium: print a page to PDF, take a screenshot."""

from __future__ import annotations

import base64
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
A4_CM = (21.0, 29.7)
A4_PX = (794, 1123)  # CSS pixels at 96 per inch


def missing() -> str:
    """Why the browser cannot run here, or ""."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is not installed (Debian: apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (a development dependency: make env)"
    return ""


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium with a fresh profile, quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="cramp-handout-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={A4_PX[0]},{A4_PX[1]}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def pdf_pages(driver: Any, page: Path) -> tuple[int, bytes]:
    """Print `page` as Chromium prints it on A4 (its own @page margins); the page count and PDF."""
    from selenium.webdriver.common.print_page_options import PrintOptions

    driver.get(page.as_uri())
    options = PrintOptions()
    options.page_width, options.page_height = A4_CM
    options.margin_top = options.margin_bottom = options.margin_left = options.margin_right = 0
    options.background = True
    pdf = base64.b64decode(driver.print_page(options))
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf)), pdf


def screenshot(driver: Any, page: Path, out: Path) -> None:
    """A screenshot of `page` at the width of an A4 sheet, as tall as the page."""
    driver.get(page.as_uri())
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(A4_PX[0], max(A4_PX[1], int(height) + 100))
    driver.save_screenshot(str(out))
