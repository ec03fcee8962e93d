"""``jaxnn demo``: the course end to end (the sections live in :mod:`jaxnn._demo`)."""

from __future__ import annotations

import argparse

from jaxnn.cli._errors import UsageError


def run(args: argparse.Namespace) -> int:
    """Runs the demo's sections (all, or those of ``--only``) at ``--quick`` or full size.

    Args:
      args: the parsed ``demo`` options (``out``, ``quick``, ``only``).

    Returns:
      The demo's exit status.

    Raises:
      UsageError: ``--only`` names a section that does not exist.
    """
    from jaxnn import _demo

    only = None if args.only is None else [k.strip() for k in args.only.split(",") if k.strip()]
    if only is not None:
        known = list(_demo.sections())
        unknown = [k for k in only if k not in known]
        if unknown:
            raise UsageError(f"unknown demo section(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    return _demo.run(args.out, quick=args.quick, only=only)
