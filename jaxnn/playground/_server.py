"""The playground's web server: a Starlette app, one session per browser tab.

A tab opens the WebSocket ``/api/stream``; the server answers with a session id (random,
unguessable) and from then on streams frames for that tab only. The tab drives its session
with small HTTP requests, ``/api/session/{id}/...``: ``config`` (the whole set-up as JSON;
it builds a new job and stops the old one), ``upload`` (a CSV), ``play``, ``pause``,
``step``, ``reset``, and the downloads ``model``, ``script`` and ``data.csv``. Every
request is checked; a bad one gets a 4xx with ``{"error": "<one line>"}``, never a
traceback. Closing the tab closes the WebSocket, which ends the session and its job; a
second tab has its own session and cannot reach the first one's without its id.

Flow control: the page acknowledges each frame after drawing it, and the server keeps at
most two frames unacknowledged, so training never runs ahead of what the page can show.
Training runs in a worker thread (JAX releases the GIL), one action at a time per session.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import secrets
import sys
import threading
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from jaxnn.playground import _export
from jaxnn.playground._config import Config, RequestError, options, parse_config
from jaxnn.playground._data import (
    MAX_UPLOAD_BYTES,
    Data,
    Upload,
    make_data,
    parse_upload,
    to_list,
)
from jaxnn.playground._grid import GridJob
from jaxnn.playground._network import NetworkJob
from jaxnn.playground._perceptron import PerceptronJob

__all__ = ["create_app", "MAX_SESSIONS"]

STATIC = pathlib.Path(__file__).parent / "static"
STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css"}
MAX_SESSIONS = 16
MAX_CONFIG_BYTES = 64 * 1024
JOBS = {"network": NetworkJob, "perceptron": PerceptronJob, "grid": GridJob}


class Session:
    """One tab: its set-up, data, job and what its stream should do next."""

    def __init__(self) -> None:
        self.id = secrets.token_urlsafe(18)
        self.cfg: Config | None = None
        self.data: Data | None = None
        self.upload: Upload | None = None
        self.job: Any = None
        self.lock = threading.Lock()  # held while the job computes; exports take it too
        self.playing = False
        self.pending: list[str] = []  # one-shot actions: "start" (the first frame), "warm", "step"
        self.wake = asyncio.Event()
        self.credits = asyncio.Semaphore(2)
        self.closed = False
        self.precompile = True
        self.job_id = 0  # counts the jobs of this tab; frames carry it, so the page drops stale ones

    def install(self, job: Any) -> int:
        self.job_id += 1
        # The first frame, then compiling the job's chunk while the page shows it.
        self.job, self.playing, self.pending = job, False, ["start", "warm"] if self.precompile else ["start"]
        job.playground_id = self.job_id
        self.poke()
        return self.job_id

    def poke(self) -> None:
        self.wake.set()


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise RequestError(f"the request body is larger than the limit of {limit} bytes", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(f"the request body is larger than the limit of {limit} bytes", 413)
    return bytes(body)


def _setup(cfg: Config, d: Data, job: Any) -> dict[str, Any]:
    """What the page draws that does not change while training: the data and the layout."""
    def labels(y: Any) -> list:
        y = y.reshape(len(y), -1)[:, 0]
        return to_list(y) if d.task == "regression" else [int(v) for v in y]

    out = {
        "config": cfg.to_json(),
        "task": d.task,
        "classes": d.classes,
        "dim": int(d.raw_train.shape[1]),
        "box": list(d.box),
        "grid": int(round(len(d.grid_raw) ** (1 / d.raw_train.shape[1]))),
        "train": {"x": to_list(d.raw_train), "y": labels(d.y_train)},
        "test": {"x": to_list(d.raw_test), "y": labels(d.y_test)},
        "features": list(cfg.features),
        "sizes": [len(cfg.features), *cfg.hidden, d.classes if d.task == "multiclass" else 1],
    }
    if d.task == "regression":  # the colour scale of a 2-D regression's output map
        out["y_range"] = [float(d.y_train.min()), float(d.y_train.max())]
    if job.kind == "grid":
        out["rows"], out["cols"] = job.members.rows, job.members.cols
    return out


def _act(job: Any, action: str) -> dict[str, Any] | None:
    """Runs one action of a job in the worker thread and returns its frame (``None``: no frame)."""
    if action == "warm":
        job.warm()
        return None
    if action == "start":
        return job.start_frame()
    if action == "step":
        if job.kind == "network":
            return job.advance(1)
        if job.kind == "perceptron":
            return job.step()
    return job.advance()


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def create_app(allowed_hosts: list[str] | None = None, *, precompile: bool = True) -> Starlette:
    """The playground app (``uvicorn.run(create_app())``); sessions live in the app's state.

    Args:
      allowed_hosts: the ``Host`` names it answers (default: the loopback names). Anything
        else gets a 400, so that a web site cannot reach the server by DNS rebinding.
    """
    sessions: dict[str, Session] = {}
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    assets = {name: (STATIC / name).read_text(encoding="utf-8") for name in STATIC_FILES}

    def new_session() -> Session:
        s = Session()
        s.precompile = precompile
        return s

    def session_of(request: Request) -> Session:
        s = sessions.get(request.path_params["sid"])
        if s is None:
            raise RequestError("no such session: it ended when its tab closed; reload the page", 404)
        return s

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            raise RequestError(f"no such file: {name}", 404)
        return Response(assets[name], media_type=STATIC_FILES[name], headers={"Cache-Control": "no-store"})

    async def get_options(request: Request) -> Response:
        return JSONResponse(options())

    async def configure(request: Request) -> Response:
        s = session_of(request)
        body = await _read_body(request, MAX_CONFIG_BYTES)
        try:
            raw = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RequestError(f"the request body is not valid JSON ({e.msg if hasattr(e, 'msg') else 'not UTF-8'})") from None
        cfg = parse_config(raw)
        upload = s.upload

        def build() -> tuple[Data, Any]:
            d = make_data(cfg, upload)
            return d, JOBS[cfg.mode](cfg, d)

        d, job = await anyio.to_thread.run_sync(build)
        s.cfg, s.data = cfg, d
        return JSONResponse({"setup": _setup(cfg, d, job), "job": s.install(job)})

    async def upload(request: Request) -> Response:
        s = session_of(request)
        body = await _read_body(request, MAX_UPLOAD_BYTES)
        up = parse_upload(body, request.query_params.get("name", "upload.csv")[:100])
        s.upload = up
        task = "regression" if up.y.dtype.kind == "f" else f"{len(set(up.y.tolist()))} classes"
        return JSONResponse({"rows": int(len(up.x)), "task": task})

    def needs_job(s: Session) -> Any:
        if s.job is None:
            raise RequestError("nothing to run yet: send a configuration first", 409)
        return s.job

    async def control(request: Request) -> Response:
        s = session_of(request)
        action = request.path_params["action"]
        if action not in ("play", "pause", "step", "reset"):
            raise RequestError(f"unknown action {action!r}; use play, pause, step or reset", 404)
        job = needs_job(s)
        if action == "play":
            s.playing = not job.done
        elif action == "pause":
            s.playing = False
        elif action == "step":
            s.playing = False
            s.pending.append("step")
        elif action == "reset":
            cfg, d = s.cfg, s.data
            s.install(await anyio.to_thread.run_sync(lambda: JOBS[cfg.mode](cfg, d)))
        s.poke()
        return JSONResponse({"playing": s.playing, "job": s.job_id})

    async def download(request: Request) -> Response:
        s = session_of(request)
        what = request.path_params["what"]
        if what not in ("model", "script", "data.csv"):
            raise RequestError(f"unknown download {what!r}; use model, script or data.csv", 404)
        job = needs_job(s)

        def make() -> Response:
            with s.lock:
                if what == "model":
                    return Response(_export.model_file(job, s.upload), media_type="application/octet-stream",
                                    headers={"Content-Disposition": 'attachment; filename="playground.jaxnn"'})
                if what == "script":
                    return Response(_export.script(job, s.upload), media_type="text/x-python",
                                    headers={"Content-Disposition": 'attachment; filename="playground_run.py"'})
                return Response(_export.data_csv(job.cfg, job.data, s.upload), media_type="text/csv",
                                    headers={"Content-Disposition": 'attachment; filename="playground_data.csv"'})

        return await anyio.to_thread.run_sync(make)

    async def stream(ws: WebSocket) -> None:
        origin = ws.headers.get("origin")
        host = ws.headers.get("host", "")
        if origin is not None and origin.split("://", 1)[-1] != host:
            await ws.close(code=1008)  # another site's page may not drive this server
            return
        if len(sessions) >= MAX_SESSIONS:
            await ws.accept()
            await ws.send_json({"type": "error", "message": f"too many open tabs (at most {MAX_SESSIONS}); close one"})
            await ws.close(code=1013)
            return
        await ws.accept()
        s = new_session()
        sessions[s.id] = s
        await ws.send_json({"type": "session", "id": s.id})
        try:
            async with anyio.create_task_group() as tg:
                async def receive() -> None:
                    try:
                        while True:
                            message = await ws.receive_text()
                            if message == "ack":
                                s.credits.release()
                    except (WebSocketDisconnect, RuntimeError):
                        pass
                    tg.cancel_scope.cancel()

                async def send() -> None:
                    try:
                        await _frames(ws, s)
                    except (WebSocketDisconnect, OSError):
                        pass  # the tab went away while a frame was being sent
                    tg.cancel_scope.cancel()

                tg.start_soon(receive)
                tg.start_soon(send)
        finally:
            s.closed, s.playing, s.job = True, False, None
            sessions.pop(s.id, None)

    async def _frames(ws: WebSocket, s: Session) -> None:
        while True:
            job = s.job
            if not s.pending and not (s.playing and job is not None and not job.done):
                s.wake.clear()
                await s.wake.wait()
                continue
            action = s.pending.pop(0) if s.pending else "advance"
            await s.credits.acquire()

            def run(job: Any = job, action: str = action) -> dict[str, Any] | None:
                with s.lock:
                    return _act(job, action)

            try:
                frame = await anyio.to_thread.run_sync(run)
            except Exception as e:  # a failure the checks did not foresee: report it, keep the page alive
                print(f"playground: {type(e).__name__}: {e}", file=sys.stderr)
                s.playing = False
                s.credits.release()
                await ws.send_json({"type": "error", "message": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"})
                continue
            if frame is None or job is not s.job:  # no frame, or replaced by a new set-up or reset meanwhile
                s.credits.release()
                if action == "warm" and job is s.job:  # not acknowledged: it only says play is compiled
                    await ws.send_json({"type": "compiled", "job": job.playground_id})
                continue
            if job.done:
                s.playing = False
            frame["playing"] = s.playing
            frame["action"] = action
            frame["job"] = job.playground_id
            await ws.send_text(json.dumps(frame, separators=(",", ":")))

    async def on_request_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestError)
        return _error(str(exc), exc.status)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        text = "no such page" if status == 404 else "method not allowed" if status == 405 else "bad request"
        return _error(f"{text}: {request.method} {request.url.path}", status)

    async def on_server_error(request: Request, exc: Exception) -> Response:
        print(f"playground: {type(exc).__name__}: {exc}", file=sys.stderr)
        return _error(f"internal error: {type(exc).__name__}", 500)

    routes = [
        Route("/", index),
        Route("/static/{name}", static),
        Route("/api/options", get_options),
        Route("/api/session/{sid}/config", configure, methods=["POST"]),
        Route("/api/session/{sid}/upload", upload, methods=["POST"]),
        Route("/api/session/{sid}/{what:str}", download, methods=["GET"]),
        Route("/api/session/{sid}/{action}", control, methods=["POST"]),
        WebSocketRoute("/api/stream", stream),
    ]
    hosts = list(LOCAL_HOSTS) + ["testserver"] if allowed_hosts is None else allowed_hosts
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=hosts)]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={RequestError: on_request_error, 404: on_http_error, 405: on_http_error, Exception: on_server_error})
    app.state.sessions = sessions
    return app
