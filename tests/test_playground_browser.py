"""The playground in a real headless Chromium, driven by Selenium and the system chromedriver.

Skipped when Chromium, chromedriver or Selenium are missing (``.ci/run`` installs them).
Set ``JAXNN_PLAYGROUND_SCREENSHOTS=DIR`` to save a screenshot of each mode into DIR (the
README's figures come from ``docs/figures``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

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


# ----------------------------------------------------------------------------- what a class hit


def config(browser):
    return browser.execute_script("return cfg")


def playing(browser):
    return browser.execute_script("return document.getElementById('play').classList.contains('playing')")


def test_play_right_after_a_network_change_trains_the_new_network(browser, server):
    open_page(browser, server, "dataset=xor&hidden=4")
    # A disabled button looks disabled (it used to look exactly like an enabled one).
    assert float(browser.execute_script(
        "const b = document.getElementById('step'); b.disabled = true; const o = getComputedStyle(b).opacity; "
        "b.disabled = false; return o")) < 1
    browser.find_element("id", "layer-plus").click()
    browser.find_element("id", "play").click()  # at once: the new network is still being built
    wait_for(lambda: int(text(browser, "epoch")) > 0, 120, "training to start")
    assert browser.execute_script("return setup.sizes") == [2, 4, 4, 1] and playing(browser)
    browser.find_element("id", "play").click()
    wait_for(lambda: not playing(browser), 30, "the pause")
    # A width typed, then play within the 0.2 s before the set-up is sent.
    browser.execute_script("const e = document.getElementById('layer-1'); e.value = 3; "
                           "e.dispatchEvent(new Event('change'))")  # as typing 3 and Tab does
    browser.find_element("id", "play").click()
    wait_for(lambda: text(browser, "status") or (browser.execute_script("return setup && setup.sizes.join(',')")
             == "2,4,3,1" and int(text(browser, "epoch")) > 0), 120, "the edited network to train")
    assert text(browser, "status") == ""
    assert playing(browser)
    browser.find_element("id", "play").click()
    no_console_errors(browser)


def test_data_sets_take_their_own_noise_and_separable_stays_separable(browser, server):
    open_page(browser, server, "dataset=spirals")
    assert browser.find_element("id", "noise").get_attribute("value") == "0.05"
    assert "0.05" in text(browser, "noise-default")
    assert browser.find_element("id", "noise").get_attribute("max") == "2"  # as far as a link may set
    # The perceptron on the data set named separable converges at its default, and play
    # returns to "play" when it stops.
    open_page(browser, server, "mode=perceptron&dataset=separable&perceptron_step=epoch")
    browser.find_element("id", "play").click()
    wait_for(lambda: text(browser, "perceptron-converged") == "converged", 120, "convergence")
    time.sleep(1.0)  # the answer to the play request may come after the last frame
    assert not playing(browser) and "play" in text(browser, "play")
    assert "Novikoff" in text(browser, "perceptron-info")
    no_console_errors(browser)


def test_compiling_clears_once_the_program_is_compiled(browser, server):
    open_page(browser, server, "dataset=circles&hidden=3,2&activation=relu")
    wait_for(lambda: text(browser, "compiling") == "", 120, "'compiling…' to clear before play")
    # A slow answer to the set-up (a busy network): the new job's first frame and its
    # "compiled" message (the shape is compiled already) come over the stream before it.
    browser.execute_script("""const plain = window.fetch;
        window.fetch = async (url, options) => {
          const r = await plain(url, options);
          if (String(url).endsWith('/config')) await new Promise((ok) => setTimeout(ok, 1500));
          return r;
        };""")
    browser.find_element("id", "new-sample").click()
    wait_for(lambda: browser.execute_script("return jobId") == 2 and text(browser, "epoch") == "0", 60,
             "the new sample's first frame")
    time.sleep(1.0)
    assert text(browser, "compiling") == ""
    browser.find_element("id", "play").click()
    wait_for(lambda: int(text(browser, "epoch")) >= 20, 120, "20 epochs")
    browser.find_element("id", "play").click()
    assert text(browser, "compiling") == ""
    assert text(browser, "train-acc").endswith("%") and text(browser, "test-acc").endswith("%")
    no_console_errors(browser)


def test_an_eight_by_eight_grid_fits_and_hides_what_it_ignores(browser, server):
    browser.set_window_size(1280, 1000)
    try:
        open_page(browser, server, "mode=grid&dataset=moons&grid_rows=8&grid_cols=8")
        right = max(c.rect["x"] + c.rect["width"] for c in browser.find_elements("css selector", "#grid .cell"))
        assert right <= browser.find_element("id", "views").rect["x"]
        assert not browser.find_element("id", "lr").is_displayed()  # the rows set the learning rates
        browser.find_element("id", "play").click()
        wait_for(lambda: int(text(browser, "epoch")) >= 10, 120, "10 epochs of the grid")
        browser.find_element("id", "play").click()
        assert text(browser, "cell-acc-7-7").startswith("acc ")
        assert distinct_colors(browser, "loss") > 2
        open_page(browser, server, "mode=grid&grid_axes=width_activation")
        assert browser.find_element("id", "lr").is_displayed()
        assert not browser.find_element("id", "activation").is_displayed()  # the columns set it
    finally:
        browser.set_window_size(1400, 1000)
    no_console_errors(browser)


def test_a_regression_link_and_an_upload_of_ten_labels(browser, server, tmp_path):
    open_page(browser, server, "dataset=regression")  # a hand-written link, without features
    assert config(browser)["features"] == ["x1"]
    path = tmp_path / "digits.csv"
    path.write_text("x1,x2,label\n" + "\n".join(f"{i / 7},{(i * 3) % 11 / 5},{i % 10}" for i in range(60)))
    browser.find_element("id", "upload").send_keys(str(path))
    wait_for(lambda: "10 different whole numbers" in text(browser, "status"), 60, "the notice on the labels")
    wait_for(lambda: browser.find_element("tag name", "body").get_attribute("data-ready") == "1"
             and config(browser)["dataset"] == "upload", 60, "the upload's first frame")
    assert not browser.find_element("id", "samples").is_displayed()
    assert not browser.find_element("id", "noise").is_displayed()
    no_console_errors(browser)


def test_show_test_data_and_discretize_output(browser, server):
    open_page(browser, server, "dataset=moons&hidden=4")
    picture = lambda: browser.execute_script("return document.getElementById('output').toDataURL()")
    before, shaded = picture(), distinct_colors(browser, "output")
    browser.find_element("id", "show_test").click()
    assert picture() != before and "show_test=0" in browser.current_url
    browser.find_element("id", "discretize").click()
    assert distinct_colors(browser, "output") < shaded and "discretize=1" in browser.current_url
    open_page(browser, server, "dataset=gaussians")  # a 2-D regression: a map of values
    assert distinct_colors(browser, "output") > 20
    no_console_errors(browser)


def test_every_lesson_sets_the_page_and_trains(browser, server):
    from selenium.webdriver.support.ui import Select

    open_page(browser, server, "")
    lessons = browser.execute_script("return OPTIONS.lessons")
    assert len(lessons) >= 10
    for lesson in lessons:
        Select(browser.find_element("id", "lesson")).select_by_value(lesson["id"])
        wait_for(lambda: browser.execute_script("return setup && setup.config.mode") == lesson["settings"]["mode"]
                 and browser.find_element("tag name", "body").get_attribute("data-ready") == "1", 120,
                 f"lesson {lesson['id']}'s first frame")
        cfg = config(browser)
        assert {k: cfg[k] for k in lesson["settings"]} == lesson["settings"], lesson["id"]
        assert f"lesson={lesson['id']}" in browser.current_url
        assert text(browser, "lesson-title").endswith(lesson["title"])
        assert lesson["chapter_title"] in text(browser, "lesson-chapter")
        browser.find_element("id", "play").click()
        wait_for(lambda: int(text(browser, "epoch")) > 0 or text(browser, "status"), 120, f"{lesson['id']} to train")
        assert text(browser, "status") == "", (lesson["id"], text(browser, "status"))
        if lesson["id"] == "perceptron-xor":  # 10,000 epochs compiled, a frame of 100 at a time
            wait_for(lambda: "never end" in text(browser, "perceptron-info"), 120, "the verdict on XOR")
            assert text(browser, "certificate") == "No line separates these points"
        if playing(browser):
            browser.find_element("id", "play").click()
    open_page(browser, server, "lesson=linear-collapse")  # a lesson's link opens it
    assert config(browser)["activation"] == "identity" and config(browser)["hidden"] == [4, 4]
    assert browser.find_element("id", "lesson-panel").is_displayed()
    no_console_errors(browser)
