"""The HTML report: one self-contained file, charts drawn, nothing fetched from anywhere."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from convsdk.report import load_report, render_html
from convsdk.report.metrics import Report

from .conftest import GOALS, T0, make, scenario, write_sqlite

CHROME_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture
def report(tmp_path: Path) -> Report:
    events = scenario()
    # Text that must come out escaped, not as markup.
    events.append(
        make(
            "page_view",
            90,
            "mallory",
            variant="<script>alert(1)</script>",
            utm={"source": 'x"><img src=y>'},
        )
    )
    return load_report(write_sqlite(tmp_path / "events.db", events), GOALS, since=T0)


def test_the_page_is_self_contained(report: Report) -> None:
    page = render_html(report)
    assert page.startswith("<!doctype html>")
    # No URL to load anything from: no http(s) src/href, no url(), no script, no @import.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower() and "@import" not in page and "url(" not in page
    assert "<link" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=y>" not in page


def test_the_page_has_every_section_and_chart(report: Report) -> None:
    page = render_html(report)
    for section in ("goals", "funnels", "lift", "variants", "channels", "time"):
        assert f'id="{section}"' in page
    # A funnel, the lift forest plot, the variant rates and the histogram.
    assert page.count("<svg") == 4
    assert 'aria-label="Funnel buy"' in page
    assert "USD 30.00" in page and "EUR 35.00" in page  # never added together


def test_the_lift_chart_draws_every_pair_with_an_interval(report: Report) -> None:
    from convsdk.report.html import lift_chart

    chart = lift_chart(report.lift)
    # newsletter → purchase has a lift of 0 (nobody who subscribed bought): its interval
    # is drawn, without a dot, as are the others. viewed_pricing → purchase is infinite
    # (every buyer viewed pricing): listed under the chart, not drawn, so its interval
    # sets no bound of the axis.
    assert "newsletter → purchase" in chart
    infinite = [r for r in report.lift if r.lift is None and r.did_not.rate == 0]
    assert [(r.micro, r.macro) for r in infinite] == [("viewed_pricing", "purchase")]
    drawn = [r for r in report.lift if r.lift_ci_low and r.lift_ci_high and r not in infinite]
    assert chart.count('class="whisker"') == len(drawn)
    assert chart.count('class="dot"') == sum(1 for r in drawn if r.lift)
    assert "Not drawn, lift ∞×" in chart and "viewed_pricing → purchase" in chart
    finite_high = max(r.lift_ci_high or 0 for r in drawn)
    ticks = [float(t.rstrip("×")) for t in re.findall(r">([0-9.]+)×<", chart)]
    assert max(ticks) < 2 * finite_high  # the axis ends at the next power of two


def test_a_report_without_goals_or_conversions_still_renders(tmp_path: Path) -> None:
    source = write_sqlite(tmp_path / "events.db", [make("page_view", 0, "v")])
    page = render_html(load_report(source))
    assert "No macro conversion in this period." in page
    assert "<svg" not in page


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        chromium = None
        missing = "selenium"
    else:
        missing = "chromium" if not chromium else "chromedriver"
    if not chromium or not driver_path:
        message = f"{missing} is not installed"
        if os.environ.get("CONVSDK_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message}; CONVSDK_REQUIRE_SERVICES=1 requires it")
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    for argument in CHROME_ARGS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path / 'chrome-profile'}")
    options.binary_location = chromium
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_headless_chromium_renders_it_without_a_request(
    report: Report, tmp_path: Path, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    browser.get(page.as_uri())
    assert browser.title == "Conversion report"
    charts = browser.find_elements(By.TAG_NAME, "svg")
    assert len(charts) == 4
    assert all(c.size["width"] > 100 and c.size["height"] > 20 for c in charts)
    bars = browser.find_elements(By.CSS_SELECTOR, "svg rect.bar")
    assert bars and all(b.size["width"] > 0 for b in bars)
    assert browser.find_element(By.ID, "goals").is_displayed()
    # The document itself is the only thing loaded.
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources == []
    navigation = browser.execute_script(
        "return performance.getEntriesByType('navigation').map(e => e.name)"
    )
    assert navigation == [page.as_uri()]


@pytest.mark.parametrize("width", [1280, 390])
def test_the_page_never_scrolls_sideways(
    report: Report, tmp_path: Path, browser: Any, width: int
) -> None:
    """On a laptop nothing is wider than the window, tables included; on a phone a table
    wider than the screen scrolls inside its own box, and nothing else sticks out."""
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    browser.set_window_size(width, 900)
    browser.get(page.as_uri())
    page_width, sticking_out = browser.execute_script(
        """
        const width = document.documentElement.clientWidth;
        const out = [];
        for (const e of document.querySelectorAll("body *")) {
          const box = e.getBoundingClientRect();
          const boxed = e.closest(".scroll") && width < 800;  // a phone: tables scroll
          if (box.width > 0 && box.right > width + 1 && !boxed) {
            const table = e.closest("table");
            const where = table ? table.querySelector("th").textContent : "";
            out.push(`${e.tagName}.${e.className} ${Math.round(box.right)}/${width} ${where}`);
          }
        }
        return [document.documentElement.scrollWidth - width, out];
        """
    )
    assert page_width <= 0 and sticking_out == []
