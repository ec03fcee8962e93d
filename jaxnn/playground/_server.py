"""The playground's web server: a Starlette app, one session per browser tab.

A tab opens the WebSocket ``/api/stream``; the server answers with a session id (random,
unguessable) and from then on streams frames for that tab only. The tab drives its session
with small HTTP requests, ``/api/session/{id}/...``: ``config`` (the whole set-up as JSON;
it builds a new job and stops the old one), ``upload`` (a CSV), ``play``, ``pause``,
``step``, ``reset``, and the downloads ``model``, ``script`` and ``data.csv``. Every
request is checked; a bad one gets a 4xx with ``{"error": "<one line>"}``, never a
traceback. Closing the tab closes the WebSocket, which ends the session and its job; a
second tab has its own session and cannot reach the first one's without its id.

This module holds the app, its HTTP routes and the open sessions (:class:`Playground`); a
session is :class:`jaxnn.playground._session.Session`, and its stream of frames, with its
flow control, is :mod:`jaxnn.playground._stream`.
"""

from __future__ import annotations

import json
import pathlib
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from jaxnn.playground import _export, _stream
from jaxnn.playground._config import Config, RequestError, options, parse_config
from jaxnn.playground._data import (
    MAX_UPLOAD_BYTES,
    Data,
    Upload,
    make_data,
    parse_upload,
    to_list,
    upload_notice,
)
from jaxnn.playground._grid import GridJob
from jaxnn.playground._network import NetworkJob
from jaxnn.playground._perceptron import PerceptronJob
from jaxnn.playground._session import Session

__all__ = ["create_app", "MAX_SESSIONS"]

STATIC = pathlib.Path(__file__).parent / "static"
STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css"}
MAX_SESSIONS = 16
MAX_CONFIG_BYTES = 64 * 1024
JOBS = {"network": NetworkJob, "perceptron": PerceptronJob, "grid": GridJob}


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



async def _json_body(request: Request) -> Any:
    """The request's body, at most ``MAX_CONFIG_BYTES``, parsed as JSON."""
    body = await _read_body(request, MAX_CONFIG_BYTES)
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RequestError(f"the request body is not valid JSON ({e.msg if hasattr(e, 'msg') else 'not UTF-8'})") from None


def _job(cfg: Config, d: Data, devices: Any) -> Any:
    """A fresh job of a set-up; a grid's members are split over ``devices`` (if given)."""
    return GridJob(cfg, d, devices) if cfg.mode == "grid" else JOBS[cfg.mode](cfg, d)


def _build(cfg: Config, upload: Upload | None, devices: Any = None) -> tuple[Data, Any]:
    """The data and a fresh job of a set-up (in the worker thread)."""
    d = make_data(cfg, upload)
    return d, _job(cfg, d, devices)


def _needs_job(s: Session) -> Any:
    if s.job is None:
        raise RequestError("nothing to run yet: send a configuration first", 409)
    return s.job


# The controls of a tab's job, by the action in the request's path.


async def _play(s: Session, job: Any) -> None:
    s.playing = not job.done


async def _pause(s: Session, job: Any) -> None:
    s.playing = False


async def _step(s: Session, job: Any) -> None:
    s.playing = False
    s.pending.append("step")


async def _reset(s: Session, job: Any) -> None:
    """A fresh job of the same set-up and data."""
    cfg, d = s.cfg, s.data
    s.install(await anyio.to_thread.run_sync(lambda: _job(cfg, d, s.devices)))


CONTROLS = {"play": _play, "pause": _pause, "step": _step, "reset": _reset}


class _Download(NamedTuple):
    """A file a tab can download: how to make it from the job and the upload, and its type and name."""

    make: Callable[[Any, Upload | None], bytes | str]
    media_type: str
    filename: str


DOWNLOADS = {
    "model": _Download(lambda job, up: _export.model_file(job, up), "application/octet-stream", "playground.jaxnn"),
    "script": _Download(lambda job, up: _export.script(job, up), "text/x-python", "playground_run.py"),
    "data.csv": _Download(lambda job, up: _export.data_csv(job.cfg, job.data, up), "text/csv", "playground_data.csv"),
}


def _export_file(s: Session, job: Any, download: _Download) -> Response:
    """Makes a download holding the session's lock, so that it sees no half-trained job (worker thread)."""
    with s.lock:
        return Response(download.make(job, s.upload), media_type=download.media_type,
                        headers={"Content-Disposition": f'attachment; filename="{download.filename}"'})


class Playground:
    """The app's state and its routes: the open sessions, by id, and the static page.

    Args:
      precompile: whether a new job's chunk is compiled right after its first frame.
    """

    def __init__(self, precompile: bool, book_url: str | None = None, devices: Any = None) -> None:
        self.sessions: dict[str, Session] = {}
        self.precompile = precompile
        self.devices = devices
        self.book_url = book_url
        self.page = (STATIC / "index.html").read_text(encoding="utf-8")
        self.assets = {name: (STATIC / name).read_text(encoding="utf-8") for name in STATIC_FILES}

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.index),
            Route("/static/{name}", self.static),
            Route("/api/options", self.get_options),
            Route("/api/session/{sid}/config", self.configure, methods=["POST"]),
            Route("/api/session/{sid}/upload", self.upload, methods=["POST"]),
            Route("/api/session/{sid}/{what:str}", self.download, methods=["GET"]),
            Route("/api/session/{sid}/{action}", self.control, methods=["POST"]),
            WebSocketRoute("/api/stream", self.stream),
        ]

    def session_of(self, request: Request) -> Session:
        s = self.sessions.get(request.path_params["sid"])
        if s is None:
            raise RequestError("no such session: it ended when its tab closed; reload the page", 404)
        return s

    async def index(self, request: Request) -> Response:
        return HTMLResponse(self.page, headers={"Cache-Control": "no-store"})

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            raise RequestError(f"no such file: {name}", 404)
        return Response(self.assets[name], media_type=STATIC_FILES[name], headers={"Cache-Control": "no-store"})

    async def get_options(self, request: Request) -> Response:
        return JSONResponse(options(self.book_url))

    async def configure(self, request: Request) -> Response:
        """A new set-up: builds its data and job, which replaces the tab's job."""
        s = self.session_of(request)
        cfg = parse_config(await _json_body(request))
        d, job = await anyio.to_thread.run_sync(_build, cfg, s.upload, s.devices)
        s.cfg, s.data = cfg, d
        return JSONResponse({"setup": _setup(cfg, d, job), "job": s.install(job)})

    async def upload(self, request: Request) -> Response:
        s = self.session_of(request)
        body = await _read_body(request, MAX_UPLOAD_BYTES)
        up = parse_upload(body, request.query_params.get("name", "upload.csv")[:100])
        s.upload = up
        task = "regression" if up.y.dtype.kind == "f" else f"{len(set(up.y.tolist()))} classes"
        return JSONResponse({"rows": int(len(up.x)), "task": task, "notice": upload_notice(up)})

    async def control(self, request: Request) -> Response:
        s = self.session_of(request)
        action = request.path_params["action"]
        if action not in CONTROLS:
            raise RequestError(f"unknown action {action!r}; use play, pause, step or reset", 404)
        await CONTROLS[action](s, _needs_job(s))
        s.poke()
        return JSONResponse({"playing": s.playing, "job": s.job_id})

    async def download(self, request: Request) -> Response:
        s = self.session_of(request)
        what = request.path_params["what"]
        if what not in DOWNLOADS:
            raise RequestError(f"unknown download {what!r}; use model, script or data.csv", 404)
        return await anyio.to_thread.run_sync(_export_file, s, _needs_job(s), DOWNLOADS[what])

    async def stream(self, ws: WebSocket) -> None:
        """A tab's WebSocket: its session lives as long as the connection."""
        if not await _stream.admit(ws, len(self.sessions), MAX_SESSIONS):
            return
        s = Session(self.precompile)
        s.devices = self.devices
        self.sessions[s.id] = s
        await ws.send_json({"type": "session", "id": s.id})
        try:
            await _stream.serve(ws, s)
        finally:
            s.close()
            self.sessions.pop(s.id, None)


async def _on_request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    return _error(str(exc), exc.status)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    text = "no such page" if status == 404 else "method not allowed" if status == 405 else "bad request"
    return _error(f"{text}: {request.method} {request.url.path}", status)


async def _on_server_error(request: Request, exc: Exception) -> Response:
    print(f"playground: {type(exc).__name__}: {exc}", file=sys.stderr)
    return _error(f"internal error: {type(exc).__name__}", 500)


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
EXCEPTION_HANDLERS = {RequestError: _on_request_error, 404: _on_http_error, 405: _on_http_error,
                      Exception: _on_server_error}


def create_app(allowed_hosts: list[str] | None = None, *, precompile: bool = True,
               book_url: str | None = None, devices: Any = None) -> Starlette:
    """The playground app (``uvicorn.run(create_app())``); sessions live in the app's state.

    Args:
      allowed_hosts: the ``Host`` names it answers (default: the loopback names). Anything
        else gets a 400, so that a web site cannot reach the server by DNS rebinding.
      precompile: whether a new job's chunk is compiled right after its first frame, while
        the page shows it (so that play starts at once).
      book_url: the address of the course book's HTML (the folder holding ``course/``), or a
        local folder of the built book (``docs/_build/html``), which the app then serves
        under ``/book/`` (a page on http may not link to files on disk). The lessons link
        their chapter there; ``None``: they name the chapter.
      devices: JAX devices that grid mode splits its networks over (a ``models`` mesh axis,
        as :func:`jaxnn.train.sweep` does with ``devices=``); ``None``: the default device.
    """
    book_dir = None
    if book_url is not None and pathlib.Path(book_url).is_dir():
        book_dir, book_url = pathlib.Path(book_url).resolve(), "/book"
    playground = Playground(precompile, book_url, devices)
    hosts = list(LOCAL_HOSTS) + ["testserver"] if allowed_hosts is None else allowed_hosts
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=hosts)]
    routes = playground.routes()
    if book_dir is not None:
        routes.append(Mount("/book", StaticFiles(directory=book_dir, html=True)))
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=EXCEPTION_HANDLERS)
    app.state.sessions = playground.sessions
    return app
