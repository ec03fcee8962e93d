"""``python -m jaxnn.playground``: the same as ``jaxnn playground``."""

import sys

from jaxnn.playground import main

if __name__ == "__main__":
    sys.exit(main())
