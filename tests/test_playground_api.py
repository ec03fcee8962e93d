"""The playground's HTTP and WebSocket API through Starlette's test client.

Every control of the page (set-up, upload, play, pause, step, reset, downloads) and every
validation error: a bad request gets a 4xx with a one-line JSON message, never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")

with warnings.catch_warnings():  # newer Starlette asks for httpx2; httpx works the same here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from jaxnn.playground import _config, create_app  # noqa: E402 - after the skips above
from jaxnn.playground._data import MAX_UPLOAD_BYTES  # noqa: E402

# Its module-scoped fixture is built once: all its tests run on one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("test_playground_api")

SMALL = {"samples": 60, "hidden": [3], "epochs_per_frame": 2, "batch": 0}


@pytest.fixture(scope="module")
def client():
    # Without compiling each job ahead of play: most set-ups here are never played.
    with TestClient(create_app(precompile=False)) as c:
        yield c


class Tab:
    """One browser tab: a WebSocket session and its HTTP controls."""

    def __init__(self, client, ws):
        self.client, self.ws = client, ws
        hello = ws.receive_json()
        assert hello["type"] == "session"
        self.id = hello["id"]

    def post(self, what, **kw):
        return self.client.post(f"/api/session/{self.id}/{what}", **kw)

    def get(self, what):
        return self.client.get(f"/api/session/{self.id}/{what}")

    def frame(self):
        """The next frame (acknowledged, as the page does after drawing it)."""
        while (msg := self.ws.receive_json())["type"] == "compiled":
            pass
        self.ws.send_text("ack")
        return msg

    def configure(self, **cfg):
        """Sends a small set-up with these changes; returns the setup and the first frame."""
        r = self.post("config", json={**SMALL, **cfg})
        assert r.status_code == 200, r.text
        first = self.frame()
        assert first["action"] == "start" and first["job"] == r.json()["job"]
        return r.json()["setup"], first


@pytest.fixture
def tab(client):
    with client.websocket_connect("/api/stream") as ws:
        yield Tab(client, ws)


def one_line_error(r, status):
    assert r.status_code == status, r.text
    message = r.json()["error"]
    assert message and "\n" not in message and "Traceback" not in message
    return message


# ----------------------------------------------------------------------------- static


def test_page_and_assets_load_nothing_from_the_network(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas id=\"output\"" in page.text
    for name in ("app.js", "style.css"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200
        assert "http://" not in r.text and "https://" not in r.text
    assert "http://" not in page.text and "https://" not in page.text
    one_line_error(client.get("/static/../_server.py"), 404)
    one_line_error(client.get("/static/secret.txt"), 404)


def test_options_list_every_generator_activation_and_optimizer(client):
    o = client.get("/api/options").json()
    assert set(o["datasets"]) >= {"separable", "xor", "circles", "moons", "spirals", "blobs", "regression", "upload"}
    assert set(o["optimizers"]) == {"sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam", "adamw"}
    assert {"sign", "identity", "tanh", "sigmoid", "relu"} <= set(o["activations"])
    assert _config.parse_config(o["defaults"]) == _config.Config()


def test_a_data_set_without_noise_takes_the_generators_own_default(client):
    import inspect

    from jaxnn import datasets

    o = client.get("/api/options").json()
    for name, generator in [("spirals", datasets.spirals), ("moons", datasets.two_moons), ("xor", datasets.noisy_xor),
                            ("circles", datasets.circles), ("plane", datasets.regression_plane)]:
        library = inspect.signature(generator).parameters["noise"].default
        assert o["noise_defaults"][name] == library
        assert _config.parse_config({"dataset": name}).noise == library
    assert _config.parse_config({"dataset": "spirals", "noise": 0.7}).noise == 0.7
    assert o["noise_defaults"]["separable"] == 0.0


def test_every_lesson_is_a_valid_set_up_with_its_chapter(client):
    import pathlib

    o = client.get("/api/options").json()
    assert len(o["lessons"]) >= 10 and len({lesson["id"] for lesson in o["lessons"]}) == len(o["lessons"])
    book = pathlib.Path(__file__).parent.parent / "docs" / "course"
    for lesson in o["lessons"]:
        cfg = _config.parse_config(lesson["settings"])
        assert cfg.mode == lesson["settings"]["mode"]
        chapter = (book / f"{lesson['chapter']}.md").read_text(encoding="utf-8")
        assert f"# {lesson['chapter_title']}" in chapter.splitlines()
        assert all(lesson[k].strip() for k in ("look", "question", "course"))
    assert o["book_url"] is None


def test_a_book_folder_is_served_and_the_lessons_link_into_it(tmp_path):
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "02_xor.html").write_text("<h1>Its limit: XOR</h1>")
    with TestClient(create_app(precompile=False, book_url=str(tmp_path))) as c:
        assert c.get("/api/options").json()["book_url"] == "/book"
        assert "Its limit: XOR" in c.get("/book/course/02_xor.html").text
        assert c.get("/book/../_server.py").status_code == 404
    with TestClient(create_app(precompile=False, book_url="https://example.org/jaxnn")) as c:
        assert c.get("/api/options").json()["book_url"] == "https://example.org/jaxnn"


def test_the_readme_lists_the_lessons_in_order(client):
    import pathlib

    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for i, lesson in enumerate(client.get("/api/options").json()["lessons"], 1):
        assert f"  {i}. {lesson['title']} (*{lesson['chapter_title']}*)" in readme, lesson["title"]


def test_a_foreign_host_header_is_refused(client):
    r = client.get("/api/options", headers={"host": "attacker.example"})
    assert r.status_code == 400


# ----------------------------------------------------------------------------- controls


def test_setup_play_pause_step_reset(tab):
    setup, first = tab.configure(dataset="xor")
    assert setup["task"] == "binary" and setup["sizes"] == [2, 3, 1]
    assert len(setup["train"]["x"]) + len(setup["test"]["x"]) == 60
    assert first["epoch"] == 0 and set(first["initial_loss"]) == {"train", "test"}
    assert len(first["units"]) == 1 and len(first["units"][0]["maps"]) == 3
    assert len(first["output"]["p"]) == 4 * ((50 * 50 + 2) // 3)  # base64 of 2500 bytes

    r = tab.post("step")
    assert r.json()["playing"] is False
    f = tab.frame()
    assert f["action"] == "step" and f["epoch"] == 1 and len(f["test_loss"]) == 1

    assert tab.post("play").json()["playing"] is True
    epochs = [tab.frame()["epoch"] for _ in range(3)]
    assert epochs == [3, 5, 7]  # two epochs per frame
    assert tab.post("pause").json()["playing"] is False
    # At most two frames were unacknowledged when the pause arrived; then the stream stops.
    while True:
        f = tab.frame()
        if not f["playing"] or f["epoch"] >= 11:
            break
    assert tab.post("reset").status_code == 200
    while (f := tab.frame())["action"] != "start":
        pass
    assert f["epoch"] == 0 and f["job"] == 2


def test_each_mode_streams_its_frames(tab):
    _, f = tab.configure(mode="perceptron", dataset="separable")
    assert f["kind"] == "perceptron" and f["weights"] == [0.0, 0.0, 0.0]
    tab.post("step")
    f = tab.frame()
    assert f["updates"] == 1 and f["last_update"] is not None
    _, f = tab.configure(mode="grid", dataset="moons", grid_rows=2, grid_cols=3)
    assert f["kind"] == "grid" and len(f["maps"]) == 6 and f["rows"] == ["lr 0.001", "lr 1"]
    tab.post("step")
    f = tab.frame()
    assert f["epoch"] == 2 and all(len(losses) == 2 for losses in f["test_loss"])


@pytest.mark.parametrize("dataset", ["separable", "circles", "moons", "spirals", "blobs", "regression"])
def test_every_generator(tab, dataset):
    features = ["x1", "x1sq"] if dataset == "regression" else ["x1", "x2", "x1x2", "sinx2"]
    setup, f = tab.configure(dataset=dataset, classes=3, features=features)
    assert setup["task"] == {"regression": "regression", "spirals": "multiclass", "blobs": "multiclass"}.get(dataset, "binary")
    assert setup["dim"] == (1 if dataset == "regression" else 2)
    assert ("values" in f["output"]) == (dataset == "regression")


@pytest.mark.parametrize("name", sorted(_config.OPTIMIZERS))
def test_every_optimizer_trains(tab, name):
    tab.configure(optimizer=name, lr=0.05, l1=0.001, l2=0.001)
    tab.post("step")
    f = tab.frame()
    assert f["epoch"] == 1 and f["train_loss"][0] is not None


def test_a_diverging_run_reports_the_nonfinite_epoch_and_stops(tab):
    tab.configure(dataset="regression", features=["x1"], hidden=[8, 8], activation="relu",
                  optimizer="sgd", lr=10.0)
    tab.post("play")
    for _ in range(20):
        f = tab.frame()
        if f["done"]:
            break
    assert f["nonfinite"] is not None and f["nonfinite"]["epoch"] >= 0
    assert f["playing"] is False and f["done"] is True
    assert all(np.isfinite(w) for layer in f["weights"] for w in layer["w"])  # the last finite weights


def test_ten_whole_number_labels_are_read_as_regression_with_a_notice(tab):
    rows = "\n".join(f"{i / 10},{-i / 10},{i % 10}" for i in range(40))
    info = tab.post("upload", content=rows.encode(), headers={"content-type": "text/csv"}).json()
    assert info["task"] == "regression"
    assert "10 different whole numbers" in info["notice"] and "at most 6 classes" in info["notice"]


def test_frames_carry_the_accuracy_of_their_params(tab):
    setup, first = tab.configure(dataset="moons", hidden=[], features=["x1", "x2"])
    tab.post("step")
    f = tab.frame()
    (layer,) = f["weights"]  # a logistic regression: p = sigmoid(x w + b), class 1 where x w + b >= 0
    w, b = np.asarray(layer["w"]).reshape(2, 1), np.asarray(layer["b"])
    for name in ("train", "test"):
        x, y = np.asarray(setup[name]["x"]), np.asarray(setup[name]["y"])
        predicted = (x @ w + b)[:, 0] >= 0
        assert f["accuracy"][name] == pytest.approx(np.mean(predicted == (y == 1)), abs=1.5 / len(y))
    _, first = tab.configure(dataset="regression", features=["x1"])
    assert first["accuracy"] == {"train": None, "test": None}


def test_upload_csv_then_train(tab):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    labels = np.where(x[:, 0] * x[:, 1] > 0, 1, -1)
    body = "x1,x2,label\n" + "\n".join(f"{a},{b},{c}" for (a, b), c in zip(x, labels))
    r = tab.post("upload", content=body.encode(), headers={"content-type": "text/csv"})
    assert r.json() == {"rows": 40, "task": "2 classes", "notice": ""}
    setup, _ = tab.configure(dataset="upload")
    assert setup["task"] == "binary" and len(setup["train"]["x"]) == 20
    csv = tab.get("data.csv").text.splitlines()
    assert csv[0] == "x1,x2,label,split" and len(csv) == 41
    assert {line.split(",")[2] for line in csv[1:]} == {"-1", "1"}


def test_downloads(tab):
    tab.configure()
    tab.post("step")
    tab.frame()
    model = tab.get("model")
    assert model.status_code == 200 and "attachment" in model.headers["content-disposition"]
    script = tab.get("script")
    assert script.status_code == 200 and "train.fit(" in script.text and "schedule = [(1, 1)]" in script.text
    compile(script.text, "playground_run.py", "exec")
    tab.configure(mode="perceptron")
    assert "409" not in one_line_error(tab.get("model"), 409)
    assert tab.get("script").status_code == 200


def test_a_tab_that_vanishes_mid_stream_leaves_no_server_error(caplog):
    # A real server: the test client cannot drop a connection while a frame is being sent.
    uvicorn = pytest.importorskip("uvicorn")
    from websockets.sync.client import connect

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = create_app(precompile=False)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None))  # log records reach caplog
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = sock.getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(3):
                with connect(f"ws://127.0.0.1:{port}/api/stream", max_size=None) as ws:
                    sid = json.loads(ws.recv())["id"]
                    http.post(f"/api/session/{sid}/config", json={**SMALL, "epochs_per_frame": 1})
                    http.post(f"/api/session/{sid}/play")
                    for _ in range(10):  # acknowledged at once, so the server is always sending
                        ws.recv()
                        ws.send("ack")
                    ws.socket.shutdown(socket.SHUT_RDWR)  # gone without a closing handshake
                    ws.socket.close()
        end = time.monotonic() + 30
        while app.state.sessions and time.monotonic() < end:
            time.sleep(0.05)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    assert app.state.sessions == {}
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_new_job_is_compiled_before_play():
    with TestClient(create_app()) as client, client.websocket_connect("/api/stream") as ws:
        tab = Tab(client, ws)
        job = tab.post("config", json=SMALL).json()["job"]
        assert ws.receive_json()["action"] == "start"
        ws.send_text("ack")
        assert ws.receive_json() == {"type": "compiled", "job": job}


def test_tabs_are_separate_and_closing_one_ends_its_session(client):
    with client.websocket_connect("/api/stream") as ws1:
        first = Tab(client, ws1)
        with client.websocket_connect("/api/stream") as ws2:
            second = Tab(client, ws2)
            assert first.id != second.id
            first.configure()
            second.configure(dataset="moons")
            second.post("step")
            assert second.frame()["epoch"] == 1
        # the second tab closed: its session and job are gone
        one_line_error(client.post(f"/api/session/{second.id}/play"), 404)
        assert first.post("step").status_code == 200
        assert first.frame()["epoch"] == 1
    assert client.app.state.sessions == {}


# ----------------------------------------------------------------------------- validation


BAD_CONFIGS = [
    ({"dataset": "mnist"}, "unknown dataset 'mnist'"),
    ({"mode": "gan"}, "unknown mode"),
    ({"activation": "swishy"}, "unknown activation"),
    ({"optimizer": "lbfgs"}, "unknown optimizer"),
    ({"features": ["x3"]}, "unknown feature"),
    ({"features": []}, "features must have 1 to 7 entries"),
    ({"features": ["x1", "x1"]}, "must not repeat"),
    ({"hidden": [4] * 7}, "hidden must have 0 to 6 entries"),
    ({"hidden": [9]}, "hidden layer width must be in [1, 8]"),
    ({"hidden": [2.5]}, "must be a whole number"),
    ({"hidden": "4"}, "hidden must be a list"),
    ({"lr": 0}, "lr must be in (0, 10]"),
    ({"lr": 11}, "lr must be in (0, 10]"),
    ({"lr": "fast"}, "lr must be a number"),
    ({"lr": True}, "lr must be a number"),
    ({"samples": 5}, "samples must be in [10, 2000]"),
    ({"samples": 1e9}, "samples must be in"),
    ({"noise": -1}, "noise must be in"),
    ({"test_ratio": 0.95}, "test_ratio must be in"),
    ({"b1": 1.0}, "b1 must be in"),
    ({"grid_rows": 9}, "grid_rows must be in [1, 8]"),
    ({"widths": [1] * 9}, "widths must have 1 to 8 entries"),
    ({"lr_min": 1.0, "lr_max": 0.1}, "must not exceed lr_max"),
    ({"batch": 500}, "larger than the"),
    ({"learning_rate": 0.1}, "unknown setting 'learning_rate'"),
    ({"dataset": "upload"}, "no data uploaded"),
    ({"mode": "perceptron", "dataset": "spirals", "classes": 3}, "the perceptron separates two classes"),
    ({"mode": "grid", "grid_axes": "width_activation", "hidden": []}, "needs at least one hidden layer"),
    ({"dataset": "regression", "features": ["x2"]}, "needs two inputs"),
]


@pytest.mark.parametrize("cfg,message", BAD_CONFIGS, ids=[m for _, m in BAD_CONFIGS])
def test_bad_configs_get_a_one_line_4xx(tab, cfg, message):
    r = tab.post("config", json={**cfg})
    assert message in one_line_error(r, 409 if "uploaded" in message else 400)


def test_bad_requests(tab, client):
    assert "not valid JSON" in one_line_error(tab.post("config", content=b"{not json"), 400)
    assert "not valid JSON" in one_line_error(tab.post("config", content=b"\xff\xfe"), 400)
    assert "JSON object" in one_line_error(tab.post("config", json=[1, 2]), 400)
    assert "limit" in one_line_error(tab.post("config", content=b"{" + b" " * 70000 + b"}"), 413)
    assert "send a configuration first" in one_line_error(tab.post("play"), 409)
    assert "unknown action" in one_line_error(tab.post("launch"), 404)
    tab.configure()
    assert "unknown download" in one_line_error(tab.get("weights.bin"), 404)
    assert "no such session" in one_line_error(client.post("/api/session/forged/config", json={}), 404)
    assert client.get("/api/nothing").status_code == 404


BAD_UPLOADS = [
    (b"", "at least 4 data rows"),
    (b"x1,x2,label\n1,2,0\n", "at least 4 data rows"),
    (b"1,2,0\n3,4,1\n5,6\n7,8,1\n", "row 3"),
    (b"1,2,0\n3,4,1\n5,six,1\n7,8,1\n", "row 3"),
    (b"1,2,0\n3,4,0\n5,6,0\n7,8,0\n", "single class"),
    (b"1,2,0\n3,nan,1\n5,6,0\n7,8,1\n", "non-finite"),
    (b"\xff\xfe\x00\x01", "not UTF-8"),
]


@pytest.mark.parametrize("body,message", BAD_UPLOADS, ids=[m for _, m in BAD_UPLOADS])
def test_bad_uploads(tab, body, message):
    assert message in one_line_error(tab.post("upload", content=body), 400)


def test_oversized_upload(tab):
    body = b"1,2,0\n" * (MAX_UPLOAD_BYTES // 6 + 10)
    assert "limit" in one_line_error(tab.post("upload", content=body), 413)


def test_config_echo_is_canonical(tab):
    setup, _ = tab.configure(features=["x2", "x1"])
    assert setup["config"]["features"] == ["x1", "x2"]
    assert json.loads(json.dumps(setup["config"])) == setup["config"]


# ----------------------------------------------------------------------------- the command


def test_main_rejects_bad_arguments(capsys):
    from jaxnn.playground import main

    assert main(["--port", "70000"]) == 2
    assert "--port must be in [0, 65535]" in capsys.readouterr().err
    assert main(["--port", "x"]) == 2
    assert main(["--colour"]) == 2
    assert main(["--devices", "999", "--port", "0", "--no-browser"]) == 2
    assert "--devices must be in [1, " in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "--no-browser" in capsys.readouterr().out


def test_main_reports_a_busy_port(capsys):
    from jaxnn.playground import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["--port", str(busy.getsockname()[1]), "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert "cannot listen on 127.0.0.1:" in err and "Traceback" not in err


def test_the_printed_address_accepts_a_connection_at_once():
    # A browser opened on the address the moment it is printed must not be refused while the
    # server is still starting: the socket listens before the address is shown.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "jaxnn.playground", "--port", "0", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        line = proc.stdout.readline()
        port = int(line.split(":")[2].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
            conn.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            conn.settimeout(60)
            assert conn.recv(12).startswith(b"HTTP/1.")
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def test_a_public_host_warns_and_ctrl_c_stops_cleanly():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "jaxnn.playground", "--host", "0.0.0.0", "--port", "0",
                             "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("jaxnn playground at http://127.0.0.1:")
        port = int(line.split(":")[2].split("/")[0])
        for _ in range(100):  # until it answers, as a user would see the page first
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "warning: binding 0.0.0.0" in err and "Traceback" not in err
    assert "stopped" in out
