"""``python -m bench``: see :func:`bench.main`."""

from bench import main

if __name__ == "__main__":
    raise SystemExit(main())
