"""Memory for the command line: a network too large is refused before anything is allocated,
and an out-of-memory failure that happens anyway becomes one line naming the size.

The estimate is deliberately rough (float32 copies of the params, their gradients, the
update, two optimizer moments and the best params kept for early stopping, plus the
activations of a batch and of the whole data when evaluating): it exists to refuse, at once
and with a clear message, a network that cannot fit by orders of magnitude (2-100000-100000-1
needs about 224 GiB), not to predict the peak to the byte. What slips past it is caught when
XLA reports ``RESOURCE_EXHAUSTED``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

__all__ = ["TooLargeError", "available", "check_training_fits", "format_bytes", "out_of_memory_message"]


class TooLargeError(ValueError):
    """A network whose training would not fit in memory (one-line message)."""


def format_bytes(n: float) -> str:
    """``1536 -> "1.5 KiB"``: binary units, one decimal."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def available() -> tuple[int | None, str]:
    """Bytes free for training on the default device (None when unknown), and how to name
    that device in a message."""
    import jax

    device = jax.devices()[0]
    if device.platform != "cpu":
        stats = device.memory_stats() or {}
        if stats.get("bytes_limit"):
            return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0)), f"the {device.device_kind}"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "this machine"
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"), "this machine"
    except (ValueError, OSError, AttributeError):
        return None, "this machine"


def check_training_fits(sizes: Sequence[int], batch: int, rows: int) -> None:
    """Raises :class:`TooLargeError` when training an MLP of layer widths ``sizes`` on
    ``rows`` rows with mini-batches of ``batch`` would not fit in :func:`available` memory."""
    params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    need = 4 * (6 * params + 4 * batch * sum(sizes) + 2 * rows * max(sizes[1:]))
    free, where = available()
    if free is not None and need > free:
        raise TooLargeError(
            f"the network {'-'.join(map(str, sizes))} has {params:,} parameters; training it needs about "
            f"{format_bytes(need)} but {where} has {format_bytes(max(free, 0))} free; use smaller --hidden "
            "layers (or a smaller --batch-size)")


def out_of_memory_message(e: BaseException) -> str | None:
    """A one-line message for an out-of-memory failure (XLA's ``RESOURCE_EXHAUSTED``,
    Python's ``MemoryError``), naming the size that did not fit; None for other errors."""
    text = str(e)
    if isinstance(e, MemoryError):
        # NumPy's says "Unable to allocate 3.00 GiB for an array ..."; Python's own says nothing.
        match = re.search(r"allocate ([\d.]+) ?([KMGTP]?i?B)\b", text)
        units = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50}
        size = f" {format_bytes(float(match.group(1)) * units[match.group(2)])}" if (
            match and match.group(2) in units) else ""
    elif "RESOURCE_EXHAUSTED" in text or "Out of memory" in text:
        match = re.search(r"allocat\w* (\d+) bytes", text) or re.search(r"(\d+)B\b", text)
        size = f" {format_bytes(int(match.group(1)))}" if match else ""
    else:
        return None
    return (f"out of memory: could not allocate{size or ' the memory needed'} for training; use smaller "
            "--hidden layers, a smaller --batch-size, or fewer rows")
