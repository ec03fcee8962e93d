"""The playground's entry points: the web app, and the command that serves it."""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
import webbrowser
from collections.abc import Sequence

from jaxnn import _interrupt

DEFAULT_PORT = 8765


def create_app(allowed_hosts: list[str] | None = None, *, precompile: bool = True, book_url: str | None = None,
               devices=None):
    """The Starlette app (built by ``jaxnn/playground/_server.py``); needs the ``playground`` extra."""
    from jaxnn.playground._server import create_app as make

    return make(allowed_hosts, precompile=precompile, book_url=book_url, devices=devices)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="jaxnn playground",
        description="Start the jaxnn playground: a local web page to train networks and watch them learn.",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, metavar="N",
                   help=f"the port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to bind (default 127.0.0.1, this machine only; anything else is reachable "
                        "from the network and prints a warning)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--book", metavar="URL", default=None,
                   help="the course book: the folder of the built book (docs/_build/html), which the server then "
                        "serves, or the address where it is published; each lesson links its chapter there "
                        "(without it, lessons name the chapter)")
    p.add_argument("--devices", type=int, default=0, metavar="N",
                   help="grid mode splits its networks over the first N devices of JAX (default: one device)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the playground server until Ctrl-C; returns the exit status (0, or 2 for bad arguments)."""
    if argv is None:  # the program itself (``python -m jaxnn.playground``): Ctrl-C stops it at any moment
        _interrupt.install("playground")
    parser = _parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as e:  # --help (0) or a usage error (2), already printed by argparse
        return int(e.code or 0)
    if not 0 <= args.port <= 65535:
        print(f"jaxnn playground: --port must be in [0, 65535], got {args.port}", file=sys.stderr)
        return 2
    try:
        import uvicorn

        from jaxnn.playground._server import LOCAL_HOSTS
    except ImportError as e:
        print(f"jaxnn playground: needs the playground extra ({e.name} is missing): "
              "pip install 'jaxnn[playground]'", file=sys.stderr)
        return 1
    devices = None
    if args.devices:
        import jax

        available = jax.devices()
        if not 1 <= args.devices <= len(available):
            print(f"jaxnn playground: --devices must be in [1, {len(available)}] (the devices JAX sees), "
                  f"got {args.devices}", file=sys.stderr)
            return 2
        devices = available[: args.devices]
    local = args.host in LOCAL_HOSTS
    if not local:
        print(f"warning: binding {args.host}: the playground is reachable from other machines; it has no "
              "authentication, so do this only on a network you trust", file=sys.stderr)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host.strip("[]"), args.port))
        # Listening before the address is printed: a browser opened on it at once waits in the
        # backlog while the server starts, instead of being refused.
        sock.listen(128)
    except OSError as e:
        sock.close()
        print(f"jaxnn playground: cannot listen on {args.host}:{args.port} ({e.strerror}); "
              "try another --port", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"
    app = create_app(None if local else ["*"], book_url=args.book, devices=devices)
    config = uvicorn.Config(app, log_level="warning")
    server = uvicorn.Server(config)
    if _interrupt.installed():
        # From here on Ctrl-C asks the server to stop, also before uvicorn has installed its own
        # handler (which it restores, and re-raises the signal to, when it is done): raising
        # KeyboardInterrupt instead could be swallowed by a garbage-collector callback of JAX's.
        signal.signal(signal.SIGINT, lambda signum, frame: setattr(server, "should_exit", True))
    print(f"jaxnn playground at {url} (Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        threading.Timer(0.5, lambda: webbrowser.open(url)).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print("jaxnn playground stopped", flush=True)
    return 0

