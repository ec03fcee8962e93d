"""The WebSocket ``/api/stream`` of one tab: who may open it, acknowledgements in, frames out.

Two loops run side by side while the tab is open, and whichever ends first (the tab went
away) ends the other: one reads the page's messages, the other sends the session's frames.

Flow control: the page acknowledges each frame after drawing it (the message ``"ack"``),
and a session keeps at most two frames unacknowledged, so training never runs ahead of what
the page can show. Each action runs in a worker thread (JAX releases the GIL), one at a time
per session.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect

from jaxnn.playground._session import Session

__all__ = ["admit", "serve"]


async def admit(ws: WebSocket, open_sessions: int, max_sessions: int) -> bool:
    """Accepts the WebSocket of a new tab, or closes it; returns whether it was accepted.

    Args:
      ws: the WebSocket, not yet accepted.
      open_sessions: how many tabs are open now.
      max_sessions: how many may be open at once; one more is told so and closed.
    """
    origin = ws.headers.get("origin")
    host = ws.headers.get("host", "")
    if origin is not None and origin.split("://", 1)[-1] != host:
        await ws.close(code=1008)  # another site's page may not drive this server
        return False
    if open_sessions >= max_sessions:
        await ws.accept()
        await ws.send_json({"type": "error", "message": f"too many open tabs (at most {max_sessions}); close one"})
        await ws.close(code=1013)
        return False
    await ws.accept()
    return True


async def serve(ws: WebSocket, s: Session) -> None:
    """Reads the tab's messages and sends its session's frames until the tab goes away."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(_receive, ws, s, tg.cancel_scope)
        tg.start_soon(_send, ws, s, tg.cancel_scope)


async def _receive(ws: WebSocket, s: Session, scope: anyio.CancelScope) -> None:
    """Reads the page's messages until the tab goes away, then ends the stream."""
    try:
        while True:
            _on_message(s, await ws.receive_text())
    except (WebSocketDisconnect, RuntimeError):
        pass
    scope.cancel()


def _on_message(s: Session, message: str) -> None:
    """Handles one message of the page: ``"ack"`` (a frame is drawn); others are ignored."""
    if message == "ack":
        s.credits.release()


async def _send(ws: WebSocket, s: Session, scope: anyio.CancelScope) -> None:
    """Sends the session's frames until the tab goes away, then ends the stream."""
    try:
        await _frames(ws, s)
    except (WebSocketDisconnect, OSError):
        pass  # the tab went away while a frame was being sent
    scope.cancel()


async def _frames(ws: WebSocket, s: Session) -> None:
    """Runs the session's actions one at a time, each once a credit is free, and sends their frames."""
    while True:
        job, action = await s.next_action()
        await s.credits.acquire()
        try:
            frame = await anyio.to_thread.run_sync(s.run, job, action)
        except Exception as e:  # a failure the checks did not foresee: report it, keep the page alive
            await _report_failure(ws, s, e)
            continue
        await _deliver(ws, s, job, action, frame)


async def _report_failure(ws: WebSocket, s: Session, e: Exception) -> None:
    """Logs a failed action, pauses, and tells the page in one line."""
    print(f"playground: {type(e).__name__}: {e}", file=sys.stderr)
    s.playing = False
    s.credits.release()
    await ws.send_json({"type": "error", "message": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"})


async def _deliver(ws: WebSocket, s: Session, job: Any, action: str, frame: dict[str, Any] | None) -> None:
    """Sends the frame of ``action`` on ``job``, unless there is none or the job was replaced."""
    if frame is None or job is not s.job:  # no frame, or replaced by a new set-up or reset meanwhile
        s.credits.release()
        if action == "warm" and job is s.job:  # not acknowledged: it only says play is compiled
            await ws.send_json({"type": "compiled", "job": job.playground_id})
        return
    if job.done:
        s.playing = False
    frame["playing"] = s.playing
    frame["action"] = action
    frame["job"] = job.playground_id
    await ws.send_text(json.dumps(frame, separators=(",", ":")))
