"""One browser tab's session: its set-up, data and job, and the actions its stream runs next.

The HTTP requests of a tab change its session (a new job, play, pause, a queued step); the
tab's WebSocket stream (:mod:`jaxnn.playground._stream`) waits on the session for something
to do, runs it in a worker thread and sends the frame.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from typing import Any

from jaxnn.playground._config import Config
from jaxnn.playground._data import Data, Upload

__all__ = ["Session"]


class Session:
    """One tab: its set-up, data, job and what its stream should do next.

    Args:
      precompile: whether a new job's chunk is compiled (the ``"warm"`` action) right after
        its first frame, while the page shows it.
    """

    def __init__(self, precompile: bool = True) -> None:
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
        self.precompile = precompile
        self.job_id = 0  # counts the jobs of this tab; frames carry it, so the page drops stale ones
        self.devices: Any = None  # the devices grid mode splits its networks over (None: the default one)

    def install(self, job: Any) -> int:
        """Makes ``job`` the session's job, paused, and queues its first frame; returns its id."""
        self.job_id += 1
        # The first frame, then compiling the job's chunk while the page shows it.
        self.job, self.playing, self.pending = job, False, ["start", "warm"] if self.precompile else ["start"]
        job.playground_id = self.job_id
        self.poke()
        return self.job_id

    def poke(self) -> None:
        """Wakes the stream, which looks again for something to do."""
        self.wake.set()

    def close(self) -> None:
        """Ends the session when its tab has gone: no job, nothing to play."""
        self.closed, self.playing, self.job = True, False, None

    async def next_action(self) -> tuple[Any, str]:
        """Waits until there is something to run; returns the job and the action to run on it.

        Queued one-shot actions come first; otherwise a playing job that is not done advances.
        """
        while True:
            job = self.job
            if self.pending or (self.playing and job is not None and not job.done):
                return job, self.pending.pop(0) if self.pending else "advance"
            self.wake.clear()
            await self.wake.wait()

    def run(self, job: Any, action: str) -> dict[str, Any] | None:
        """Runs one action of ``job`` holding the session's lock (in the worker thread)."""
        with self.lock:
            return _act(job, action)


def _act(job: Any, action: str) -> dict[str, Any] | None:
    """Runs one action of a job and returns its frame (``None``: no frame)."""
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
