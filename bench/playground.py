"""Frame rates of the playground server, driven as the page drives it but without a browser.

Run: python -m bench.playground [--seconds 5] [--port 0]

Starts the real server (uvicorn, in this process, on 127.0.0.1), opens a tab's WebSocket,
sends set-ups over HTTP and acknowledges each frame as soon as it is parsed, as the page does
after drawing it. Every frame holds what the page draws: the output over a 50 x 50 grid, the
hidden units' maps, the weights and the losses of its epochs. Targets on a 2-core CPU:

* one network (XOR, one hidden layer of 4 tanh units, Adam, batch 10, 5 epochs per frame):
  at least 10 frames/s;
* an 8 x 8 grid (learning rates x seeds, the same network): at least 4 frames/s;
* the first frame within 2 s of pressing play, once the set-up's shape has been compiled
  (a new job with an equal set-up, e.g. after reset or a new sample).

Compile time (the first play of a new shape) is timed separately. Frame rates are medians of
the per-frame intervals over ``--seconds`` of play, after a warm-up of a few frames.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time


def _serve(port: int):
    import uvicorn

    from jaxnn.playground import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, sock.getsockname()[1]


class Tab:
    def __init__(self, port: int, ws) -> None:
        import httpx

        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        self.ws = ws
        self.id = json.loads(self.ws.recv())["id"]
        self.bytes = 0
        self.compiled = 0  # the last job whose chunk program the server has compiled

    def post(self, what: str, **kw):
        r = self.http.post(f"/api/session/{self.id}/{what}", **kw)
        r.raise_for_status()
        return r.json()

    def frame(self) -> dict:
        while (frame := json.loads(text := self.ws.recv()))["type"] == "compiled":
            self.compiled = frame["job"]
        self.ws.send("ack")
        self.bytes = len(text)
        return frame

    def setup(self, cfg: dict) -> tuple[float, float]:
        """Sends a set-up; returns the seconds to its first frame and to its compiled chunk."""
        start = time.perf_counter()
        job = self.post("config", json=cfg)["job"]
        while (f := self.frame())["job"] != job or f["action"] != "start":
            pass
        first = time.perf_counter() - start
        while self.compiled != job:
            frame = json.loads(self.ws.recv())
            if frame["type"] == "compiled":
                self.compiled = frame["job"]
        return first, time.perf_counter() - start

    def play(self, seconds: float, warmup: int = 3) -> dict:
        start = time.perf_counter()
        self.post("play")
        first = self.frame()
        to_first = time.perf_counter() - start
        for _ in range(warmup):
            self.frame()
        stamps = [time.perf_counter()]
        while stamps[-1] - stamps[0] < seconds:
            self.frame()
            stamps.append(time.perf_counter())
        self.post("pause")
        while self.frame()["playing"]:  # drain the frames in flight
            pass
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        return {"first_frame_s": to_first, "fps_median": 1 / statistics.median(gaps),
                "fps_mean": len(gaps) / (stamps[-1] - stamps[0]), "frames": len(gaps),
                "frame_kb": self.bytes / 1024, "epoch": first["epoch"]}


NETWORK = {"dataset": "xor", "hidden": [4], "activation": "tanh", "optimizer": "adam", "lr": 0.03, "batch": 10,
           "epochs_per_frame": 5}
GRID = {**NETWORK, "mode": "grid", "grid_axes": "lr_seed", "grid_rows": 8, "grid_cols": 8, "lr_min": 0.001,
        "lr_max": 1.0}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of play per measurement")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server, thread, port = _serve(args.port)
    results = {}
    from websockets.sync.client import connect

    try:
        with connect(f"ws://127.0.0.1:{port}/api/stream", max_size=None) as ws:
            tab = Tab(port, ws)
            for name, cfg in (("one network", NETWORK), ("8 x 8 grid", GRID)):
                # A new shape: its first frame, then the server compiles its chunk before play.
                first_s, compiled_s = tab.setup(cfg)
                cold = tab.play(0.5, warmup=0)
                tab.setup({**cfg, "seed": 1})  # a new sample: the same shapes, a new job
                warm = tab.play(args.seconds)
                results[name] = {"setup_s": first_s, "compiled_s": compiled_s,
                                 "new_shape_first_frame_s": cold["first_frame_s"], **warm}
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    targets = {"one network": 10.0, "8 x 8 grid": 4.0}
    print(f"{'workload':<12} {'set-up s':>9} {'compiled s':>10} {'play->frame s':>13} {'(new shape)':>11} "
          f"{'frames/s':>9} {'target':>7} {'kB/frame':>9}")
    for name, r in results.items():
        ok = "ok" if r["fps_median"] >= targets[name] and r["first_frame_s"] <= 2.0 else "MISS"
        print(f"{name:<12} {r['setup_s']:9.2f} {r['compiled_s']:10.2f} {r['first_frame_s']:13.3f} "
              f"{r['new_shape_first_frame_s']:11.3f} {r['fps_median']:9.1f} {targets[name]:>6.0f}+ "
              f"{r['frame_kb']:9.1f}  {ok}")
    print("set-up: config to its first frame (data, init, maps); compiled: config until the server has compiled "
          "the chunk (it does so while the page shows the first frame); play->frame: play to the first frame for a "
          "new job of a compiled shape (target <= 2 s), and (new shape) for the first job of its shape once "
          f"compiled; frames/s: median over {args.seconds:g} s of play")
    return results


if __name__ == "__main__":
    main()
