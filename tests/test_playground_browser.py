"""The playground in a real headless Chromium, driven by Selenium and the system chromedriver.

Skipped when Chromium, chromedriver or Selenium are missing (``.ci/run`` installs them).
Set ``JAXNN_PLAYGROUND_SCREENSHOTS=DIR`` to save a screenshot of each mode into DIR (the
README's figures come from ``docs/figures``).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("selenium.webdriver")

from _browser import MISSING, start_chromium, wait_for  # noqa: E402 (after the skips)

pytestmark = [
    pytest.mark.skipif(MISSING is not None, reason=MISSING or ""),
    # Its module-scoped browser and server are started once: all its tests run on one worker.
    pytest.mark.xdist_group("test_playground_browser"),
]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def server():
    """``python -m jaxnn.playground --port 0 --no-browser`` in a subprocess; yields its URL."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "jaxnn.playground", "--port", "0", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    line = proc.stdout.readline()
    assert "jaxnn playground at http://127.0.0.1:" in line, line + proc.stderr.read()
    url = line.split(" at ")[1].split()[0]
    yield url
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert "Traceback" not in err, err


@pytest.fixture(scope="module")
def browser():
    driver = start_chromium(1400, 1000)
    yield driver
    driver.quit()


def open_page(browser, server, setup):
    browser.get("about:blank")  # a new page, not just a new #: the set-up comes from the link
    browser.get_log("browser")  # drop what the last page logged while it was being left
    browser.get(server + "#" + setup)
    wait_for(lambda: browser.find_element("tag name", "body").get_attribute("data-ready") == "1", 120,
             "the first frame")
    assert text(browser, "status") == "", text(browser, "status")


def text(browser, element_id):
    # Read in one script call: the perceptron's text is rebuilt every frame.
    return browser.execute_script("const e = document.getElementById(arguments[0]); return e ? e.textContent : ''",
                                  element_id)


def distinct_colors(browser, canvas_id):
    """How many different colours the canvas shows (a blank canvas has one)."""
    return browser.execute_script(
        """const c = document.getElementById(arguments[0]);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 7) seen.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]);
        return seen.size;""", canvas_id)


def no_console_errors(browser):
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def screenshot(browser, name):
    folder = os.environ.get("JAXNN_PLAYGROUND_SCREENSHOTS")
    if folder:
        browser.save_screenshot(os.path.join(folder, f"playground_{name}.png"))


def test_xor_with_four_tanh_units_learns(browser, server):
    open_page(browser, server, "dataset=xor&hidden=4&activation=tanh&optimizer=adam&lr=0.03")
    assert distinct_colors(browser, "output") > 20  # the initial boundary is drawn
    browser.find_element("id", "play").click()
    wait_for(lambda: text(browser, "test-loss") not in ("", "–") and float(text(browser, "test-loss")) < 0.1, 120,
             "test loss below 0.1")
    browser.find_element("id", "play").click()  # pause
    assert int(text(browser, "epoch")) > 0
    assert distinct_colors(browser, "output") > 20 and distinct_colors(browser, "network") > 20
    screenshot(browser, "network")
    no_console_errors(browser)


def test_the_perceptron_never_converges_on_xor(browser, server):
    open_page(browser, server, "mode=perceptron&dataset=xor&perceptron_step=epoch&epochs_per_frame=10")
    browser.find_element("id", "play").click()
    wait_for(lambda: int(text(browser, "epoch")) >= 100, 120, "100 epochs")
    browser.find_element("id", "play").click()
    assert text(browser, "perceptron-converged") == "not converged"
    assert int(text(browser, "last-mistakes")) > 0
    assert distinct_colors(browser, "output") > 2 and distinct_colors(browser, "mistakes") > 2
    screenshot(browser, "perceptron")
    no_console_errors(browser)


def test_a_four_by_four_grid_trains(browser, server):
    open_page(browser, server, "mode=grid&dataset=moons&grid_rows=4&grid_cols=4&lr_min=0.003&lr_max=0.3")
    browser.find_element("id", "play").click()
    wait_for(lambda: int(text(browser, "epoch")) >= 50, 120, "50 epochs of the grid")
    browser.find_element("id", "play").click()
    cells = browser.find_elements("css selector", "#grid canvas:not(.spark)")
    assert len(cells) == 16
    assert all(distinct_colors(browser, c.get_attribute("id")) > 5 for c in cells)
    sparks = browser.find_elements("css selector", "#grid canvas.spark")  # each member's test loss curve
    assert len(sparks) == 16 and all(distinct_colors(browser, c.get_attribute("id")) > 1 for c in sparks)
    screenshot(browser, "grid")
    no_console_errors(browser)
