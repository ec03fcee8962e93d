"""The error every checkpoint reader raises for a file it refuses."""

from __future__ import annotations

__all__ = ["CheckpointError"]


class CheckpointError(ValueError):
    """A checkpoint file is corrupted, truncated, not a jaxnn checkpoint, or
    does not match the template it is loaded into."""


CheckpointError.__module__ = "jaxnn.checkpoint"  # where users import it from
