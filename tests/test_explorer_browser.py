"""The explorer page in a real headless Chromium (Playwright), against a real local server.

Uses the system Chromium (``apt-get install -y chromium``; CI's ``.ci/run`` installs it), so no
browser is downloaded. Set ``JAXOPT_LAB_SCREENSHOT=docs/explorer.png`` to keep the screenshot.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import urllib.request

import pytest

pytest.importorskip("fastapi")
sync_api = pytest.importorskip("playwright.sync_api")

import jaxopt_lab as jl  # noqa: E402
from jaxopt_lab import explorer  # noqa: E402

CHROMIUM = os.environ.get("JAXOPT_LAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: Milliseconds to wait for a map: a first compilation on a busy 2-core machine, with room.
WAIT_MS = 90_000
#: A small, quick view: 128 × 128 starts, 300 steps; every test shares its compilation.
VIEW = ("?surface=himmelblau&optimizer=momentum&hp.learning_rate=0.005&hp.momentum=0.9"
        "&steps=300&resolution=128&colour=basin")

if not shutil.which(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def server_url():
    url, server = explorer.start_background(limits=explorer.Limits(max_points=128 ** 2,
                                                                   max_steps=1000))
    yield url
    server.should_exit = True


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server_url):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    # Only this machine's server: any other address would be a leak of the offline promise.
    page.route(re.compile(r"^(?!http://127\.0\.0\.1:).*"), lambda route: route.abort())
    page.base = server_url
    yield page
    context.close()


def version(page, name: str) -> int:
    return int(page.evaluate(f"Number(document.body.dataset.{name}) || 0"))


def wait_for(page, name: str, after: int) -> None:
    page.wait_for_function(f"(Number(document.body.dataset.{name}) || 0) > {after}",
                           timeout=WAIT_MS)


def open_view(page, query: str = VIEW) -> None:
    page.goto(page.base + query)
    wait_for(page, "mapVersion", 0)


def canvas(page, testid: str) -> dict:
    """A digest of the canvas's RGBA bytes, computed in the page (moving a megabyte of pixels
    through the test driver takes seconds): an FNV-1a hash, the number of distinct colours,
    the summed alpha, and the count of strongly red opaque pixels."""
    return page.evaluate(f"""() => {{
        const c = document.querySelector('[data-testid="{testid}"]');
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let hash = 2166136261, alpha = 0, red = 0;
        const colours = new Set();
        for (let i = 0; i < data.length; i += 4) {{
            for (let k = 0; k < 4; k++) hash = Math.imul(hash ^ data[i + k], 16777619) >>> 0;
            alpha += data[i + 3];
            colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
            if (data[i] > 150 && data[i + 1] < 80 && data[i + 2] < 80 && data[i + 3] > 200) red++;
        }}
        return {{hash, alpha, red, colours: colours.size}}; }}""")


def test_page_loads_without_console_errors_and_shows_counts(page):
    open_view(page)
    text = page.get_by_test_id("status").inner_text()
    counts = [int(n) for n in re.findall(r"\d+", text)]
    assert re.fullmatch(r"converged \d+ · diverged \d+ · unfinished \d+", text)
    assert sum(counts) == 128 * 128
    assert canvas(page, "map")["colours"] > 1  # not one flat colour
    for testid in ("surface", "optimizer", "hp-learning_rate", "hp-momentum", "steps",
                   "resolution", "colour", "map", "grid", "error"):
        assert page.get_by_test_id(testid).count() == 1, testid
    assert page.problems == []


def test_a_slider_changes_the_map(page):
    open_view(page)
    before, seen = canvas(page, "map")["hash"], version(page, "mapVersion")
    page.get_by_test_id("hp-learning_rate").fill("0.05")
    wait_for(page, "mapVersion", seen)
    assert canvas(page, "map")["hash"] != before
    assert "hp.learning_rate=0.05" in page.url
    assert page.problems == []


def test_a_click_draws_a_trajectory_and_its_loss_curve(page):
    open_view(page)
    overlay_before = canvas(page, "overlay")["alpha"]
    seen = version(page, "pathVersion")
    page.get_by_test_id("overlay").click(position={"x": 120, "y": 380})
    wait_for(page, "pathVersion", seen)
    assert canvas(page, "overlay")["alpha"] > overlay_before
    assert "paths=" in page.url
    assert page.problems == []


def test_a_bad_value_shows_its_error_next_to_the_control(page):
    open_view(page)
    page.get_by_test_id("hp-learning_rate").fill("50")
    error = page.get_by_test_id("error")
    error.filter(has_text="learning_rate must be in").wait_for(timeout=WAIT_MS)
    assert "invalid" in page.get_by_test_id("hp-learning_rate").get_attribute("class")
    assert "must be in" in page.locator('.field-error[data-field="hp-learning_rate"]').inner_text()


def test_a_copied_url_reproduces_the_view(page, browser):
    open_view(page)
    page.get_by_test_id("colour").select_option("steps")
    seen = version(page, "mapVersion")
    page.get_by_test_id("hp-momentum").fill("0.5")
    wait_for(page, "mapVersion", seen)
    url, status, image = page.url, page.get_by_test_id("status").inner_text(), canvas(page, "map")
    other = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        other.goto(url)
        wait_for(other, "mapVersion", 0)
        assert other.get_by_test_id("colour").input_value() == "steps"
        assert other.get_by_test_id("hp-momentum").input_value() == "0.5"
        assert other.get_by_test_id("status").inner_text() == status
        assert canvas(other, "map") == image
    finally:
        other.close()


def test_the_hyperparameter_plane_draws_the_stability_edge(page):
    query = ("?surface=long_canyon&optimizer=momentum&steps=300&resolution=128&view=plane"
             "&px=learning_rate&py=momentum&pres=16&pstarts=4")
    page.goto(page.base + query)
    wait_for(page, "planeVersion", 0)
    assert canvas(page, "grid-overlay")["red"] > 50, "no red dashed stability edge on the plane"
    assert canvas(page, "grid")["colours"] > 1
    # Clicking a cell sets the sliders to that cell's values.
    page.get_by_test_id("grid-overlay").click(position={"x": 40, "y": 470})
    page.wait_for_function("!location.search.includes('hp.momentum=0.9&')", timeout=WAIT_MS)
    assert float(page.get_by_test_id("hp-learning_rate").input_value()) < 1e-3
    assert page.problems == []


def test_downloads_are_the_map_the_result_and_the_settings(page, tmp_path):
    open_view(page)
    files = {}
    for button in ("download-png", "download-npz", "download-json"):
        with page.expect_download(timeout=WAIT_MS) as download:
            page.get_by_test_id(button).click()
        files[button] = tmp_path / download.value.suggested_filename
        download.value.save_as(files[button])
    assert files["download-png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = jl.SweepResult.load(files["download-npz"])
    counts = [int(n) for n in re.findall(r"\d+", page.get_by_test_id("status").inner_text())]
    assert int((result.status == jl.Status.CONVERGED).sum()) == counts[0]
    settings = json.loads(files["download-json"].read_text())
    assert settings["optimizer"] == "momentum" and settings["resolution"] == 128
    assert page.problems == []


def test_notebook_show_embeds_the_page():
    frame = explorer.show("surface=booth&optimizer=sgd", height=600)
    assert frame.height == 600 and "surface=booth" in frame.src
    with urllib.request.urlopen(frame.src, timeout=30) as response:
        assert b'data-testid="map"' in response.read()


def test_screenshot(page, tmp_path):
    """What a student sees first, with one path; kept for the docs when asked to."""
    open_view(page, VIEW + "&paths=-2.2,-2.6;0.4,4.2")
    page.wait_for_function("(Number(document.body.dataset.pathVersion) || 0) > 0", timeout=WAIT_MS)
    seen = version(page, "mapVersion")
    page.get_by_test_id("hp-momentum").fill("0.9")  # the same view again: a warm map's timings
    wait_for(page, "mapVersion", seen)
    target = os.environ.get("JAXOPT_LAB_SCREENSHOT") or str(tmp_path / "explorer.png")
    page.screenshot(path=target, clip={"x": 0, "y": 0, "width": 1400, "height": 800})
    assert os.path.getsize(target) > 10_000
    assert page.problems == []
