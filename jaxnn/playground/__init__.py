"""``jaxnn playground``: the course in the browser, on the real compiled library.

A local web server (Starlette + uvicorn, ``pip install -e ".[playground]"``) and a static
page of plain HTML, CSS and JavaScript that loads nothing from the network. Students pick a
2-D data set, input features, a network and an optimizer, and watch the decision boundary,
every hidden unit's map, the weights and the loss curves move while :func:`jaxnn.train.fit`
trains in compiled chunks; Rosenblatt's perceptron runs update by update; a grid of up to
8 x 8 networks trains as one vmapped program. The trained model downloads as the file
``jaxnn predict`` reads, with a script that reproduces the run.

Usage::

    jaxnn playground [--port N] [--host 127.0.0.1] [--no-browser] [--book URL] [--devices N]
    python -m jaxnn.playground [...]
"""

from jaxnn.playground._main import create_app, main

__all__ = ["main", "create_app"]
