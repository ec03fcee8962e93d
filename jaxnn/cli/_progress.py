"""Progress bars of the command line (tqdm, an optional dependency), on stderr."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jaxnn.cli._errors import UsageError


def wants_progress(option: bool | None) -> bool:
    """Whether to show a progress bar: ``--progress`` (needs tqdm), ``--no-progress``, or by
    default when stderr is a terminal and tqdm is installed."""
    if option is False:
        return False
    if importlib.util.find_spec("tqdm") is None:
        if option:
            raise UsageError("--progress needs tqdm: pip install 'jaxnn[progress]'")
        return False
    return True if option else sys.stderr.isatty()


class _NoBar:
    def update(self, n: int) -> None:
        """Does nothing."""


@contextmanager
def progress_bar(enabled: bool, what: str) -> Iterator[Any]:
    """A bar counting rows on stderr, shown once a run has taken a second (a quick one
    shows none); closed however the block ends."""
    if not enabled:
        yield _NoBar()
        return
    from tqdm import tqdm

    with tqdm(desc=what, unit=" rows", unit_scale=True, delay=1.0, file=sys.stderr, leave=False) as bar:
        yield bar
