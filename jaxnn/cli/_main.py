"""``main``: parses the command line, runs the command, and turns every failure into an exit status."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from jaxnn import _interrupt
from jaxnn.cli import _demo, _exit, _parser, _predict, _train

_COMMANDS = ("demo", "train", "predict", "playground", "bench")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``jaxnn`` command line.

    Every exception ends here: the user's errors (bad input, options, files, too little
    memory) as one line and status 2; anything else as one line saying it is a bug and
    status 1; the traceback only with ``--debug``.

    Args:
      argv: the arguments without the program name (``None``: ``sys.argv[1:]``, and the
        process is the ``jaxnn`` program: an interrupt then ends it at once).

    Returns:
      The exit status: 0 on success, 2 for bad input (a one-line message on stderr), 1 for
      a bug, 130 when interrupted.
    """
    as_program = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    # The command, for messages: the first word that is not an option ('jaxnn --debug train').
    command = next((a for a in argv if not a.startswith("-")), None)
    command = command if command in _COMMANDS else None
    if as_program:
        # Ctrl-C ends the program at once, whenever it comes (see jaxnn._interrupt); usually
        # installed already, before JAX was imported, by the program's module jaxnn.__main__.
        _interrupt.install(command)
    debug = "--debug" in argv and command not in ("bench", "playground")
    try:
        return _run(argv)
    except (KeyboardInterrupt, Exception) as e:  # the one place every error is reported
        return _exit.exit_status(e, command, debug=debug, as_program=as_program)


def _run(argv: list[str]) -> int:
    """Parses ``argv`` and runs its command; returns the exit status."""
    if argv[:1] == ["bench"]:
        # The suite lives beside the package in a checkout, not inside it: the package never
        # edits sys.path to reach it, so the command only says how to run it.
        return _exit.fail("bench", "the benchmark suite ships with the source, not the package: run "
                          "'python -m bench' from the root of a checkout of the jaxnn repository")
    if argv[:1] == ["playground"]:  # its own options, parsed by the server's entry point
        from jaxnn import playground

        return playground.main(argv[1:])
    try:
        args = _parser.build().parse_args(argv)
    except SystemExit as e:  # --help and --version
        return int(e.code or 0)
    if args.command is None:
        _parser.build().print_help()
        return 0
    if not getattr(args, "no_cache", False):
        # A fresh process would compile every program again; the cache keeps them on disk.
        # An unwritable cache folder is one warning line, never an error.
        from jaxnn._cache import enable_compilation_cache

        enable_compilation_cache()
    return {"demo": _demo.run, "train": _train.run, "predict": _predict.run}[args.command](args)
