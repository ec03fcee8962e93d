"""Dense networks as pairs of pure functions over plain pytrees, in the stax manner.

A :class:`Layer` is ``(init, apply)``:

* ``init(key, input_shape) -> (output_shape, params)``: ``input_shape`` includes the batch
  axis (use ``-1`` for "any"), and the returned ``output_shape`` is the shape contract.
* ``apply(params, x) -> y``: the forward pass; ``params`` is a plain pytree.

Layers combine with :func:`serial`. :func:`MLP` is the course's fully connected network
with one params entry ``{"w": [in, out], "b": [out]}`` per dense layer, so its params are
a list of dicts that hand-written code (backpropagation by hand, the matrix form) can read.

The course's matrix form (inputs with a leading column of ones, weight matrices that hold
the bias in column 0) is :func:`forward_matrix_form`, with :func:`to_augmented` to convert.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxnn import _effort, _structure
from jaxnn import activations as _act
from jaxnn import init as _init
from jaxnn._checks import check_float, check_int, check_key
from jaxnn._stored import stored_jit
from jaxnn._typing import Params

__all__ = [
    "Layer",
    "Dense",
    "Activation",
    "serial",
    "MLP",
    "add_bias_column",
    "to_augmented",
    "forward_matrix_form",
]

Shape = tuple[int, ...]


class Layer(NamedTuple):
    """A layer (or a whole network) as two pure functions.

    Attributes:
      init: ``init(key, input_shape) -> (output_shape, params)``.
      apply: ``apply(params, x) -> y``.
    """

    init: Callable[[jax.Array, Shape], tuple[Shape, Params]]
    apply: Callable[[Params, jax.Array], jax.Array]

    # Two layers built with the same configuration compare and hash alike
    # (``MLP([8], 1) == MLP([8], 1)``), though each holds its own closures: compiled
    # training programs are cached on that, not on the closures' identity.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Layer) and _structure.config_key(tuple(self)) == _structure.config_key(tuple(other))

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(_structure.config_key(tuple(self)))


def _check_input(x: ArrayLike, fan_in: int, where: str) -> jax.Array:
    x = check_float(x, "x")
    if x.ndim < 1 or x.shape[-1] != fan_in:
        raise ValueError(
            f"{where} expects inputs with {fan_in} features (shape [batch, {fan_in}]), "
            f"got x.shape={x.shape}"
        )
    return x


def _check_dense_params(params: Params, where: str) -> tuple[jax.Array, jax.Array]:
    if not isinstance(params, dict) or set(params) != {"w", "b"}:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"{where} params must be a dict with keys 'w' and 'b', got {got}")
    w, b = params["w"], params["b"]
    if jnp.ndim(w) != 2 or jnp.ndim(b) != 1 or jnp.shape(b)[0] != jnp.shape(w)[1]:
        raise ValueError(
            f"{where} params do not fit a dense layer: need w [in, out] and b [out], "
            f"got w.shape={jnp.shape(w)} and b.shape={jnp.shape(b)}"
        )
    return w, b


def Dense(
    features: int,
    *,
    w_init: str | _init.Initializer = "glorot_uniform",
    b_init: str | _init.Initializer = "zeros",
    dtype: Any = jnp.float32,
) -> Layer:
    """A fully connected layer, ``y = x w + b``.

    Params are ``{"w": [in, features], "b": [features]}``.

    Args:
      features: number of outputs (neurons).
      w_init: initializer (or its name) for ``w``; Glorot uniform by default, as Keras.
      b_init: initializer (or its name) for ``b``; zeros by default.
      dtype: the params' floating dtype (``jnp.float32`` by default; ``jnp.bfloat16``, or
        ``jnp.float64`` with ``jax_enable_x64``).

    Returns:
      A :class:`Layer`. ``apply(params, x)`` maps ``[..., in]`` to ``[..., features]``.

    >>> layer = Dense(3)
    >>> out_shape, params = layer.init(jax.random.key(0), (-1, 2))
    >>> out_shape, params["w"].shape
    ((-1, 3), (2, 3))
    """
    features = check_int(features, "features")
    w_init, b_init = _init.get(w_init), _init.get(b_init)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")

    def init(key: jax.Array, input_shape: Shape) -> tuple[Shape, Params]:
        check_key(key)
        fan_in = check_int(input_shape[-1], "input_shape[-1]")
        w_key, b_key = jax.random.split(key)
        params = {"w": w_init(w_key, (fan_in, features), dtype), "b": b_init(b_key, (features,), dtype)}
        return (*input_shape[:-1], features), params

    def apply(params: Params, x: ArrayLike) -> jax.Array:
        w, b = _check_dense_params(params, "Dense")
        x = _check_input(x, w.shape[0], "Dense")
        return x @ w + b

    return Layer(init, apply)


def Activation(fn: str | Callable[[jax.Array], jax.Array]) -> Layer:
    """An elementwise activation as a parameter-free layer (params are ``()``).

    Args:
      fn: an activation function or its name (see :func:`jaxnn.activations.get`).
    """
    fn = _act.get(fn)

    def init(key: jax.Array, input_shape: Shape) -> tuple[Shape, Params]:
        return tuple(input_shape), ()

    def apply(params: Params, x: ArrayLike) -> jax.Array:
        if not (isinstance(params, tuple) and len(params) == 0):
            raise ValueError(f"Activation params must be (), got {type(params).__name__}")
        return fn(x)

    return Layer(init, apply)


def _init_in_sequence(layers: Sequence[Layer], key: jax.Array, input_shape: Shape) -> tuple[Shape, list]:
    """Initializes layers one after another, each with its own subkey; returns the list of params."""
    check_key(key)
    params = []
    for layer, k in zip(layers, jax.random.split(key, len(layers))):
        input_shape, p = layer.init(k, input_shape)
        params.append(p)
    return input_shape, params


_OUTPUT_SHAPES: dict = {}


@functools.partial(jax.jit, static_argnums=(0, 2))
def _init_compiled(layers: tuple[Layer, ...], key: jax.Array, input_shape: Shape) -> list:
    output_shape, params = _init_in_sequence(layers, key, input_shape)
    _OUTPUT_SHAPES[layers, input_shape] = output_shape  # known once traced
    return params


_INIT_PROGRAMS: collections.OrderedDict = collections.OrderedDict()


def _init_program(layers: tuple[Layer, ...], input_shape: Shape) -> Callable:
    """``key -> (params, output shape as an int32 vector)``, compiled once per network and shape.

    Kept across processes with the persistent compilation cache (see :mod:`jaxnn._stored`):
    the output shape comes back as data, so a process that reads the stored program learns
    it without tracing the layers again.
    """
    def init(key: jax.Array) -> tuple[list, jax.Array]:
        output_shape, params = _init_in_sequence(layers, key, input_shape)
        _OUTPUT_SHAPES[layers, input_shape] = output_shape  # known once traced
        return params, jnp.asarray(output_shape, jnp.int32)

    return stored_jit(init, name="init", key=(_structure.config_key(layers), input_shape), **_effort.short_run())


def _init_network(layers: Sequence[Layer], key: jax.Array, input_shape: Shape) -> tuple[Shape, list]:
    """:func:`_init_in_sequence` as one compiled program.

    Run eagerly, a network's initialization is a dozen small operations (key splits, draws,
    scalings), each compiled on its first use: about a second before the first step of a
    fresh process. As one program it compiles once, and layers equal in configuration
    (``MLP([32], 3)`` built anew) reuse it.
    """
    check_key(key)
    layers, input_shape = tuple(layers), tuple(input_shape)
    if isinstance(key, jax.core.Tracer):  # inside another program: the shape is known while tracing
        params = _init_compiled(layers, key, input_shape)
        return _OUTPUT_SHAPES[layers, input_shape], params
    program = _INIT_PROGRAMS.get((layers, input_shape))
    if program is None:
        program = _INIT_PROGRAMS.setdefault((layers, input_shape), _init_program(layers, input_shape))
        while len(_INIT_PROGRAMS) > 64:
            _INIT_PROGRAMS.popitem(last=False)
    try:
        params, output_shape = program(key)
    except TypeError:  # an output shape that is not all whole numbers: traced as it is
        params = _init_compiled(layers, key, input_shape)
        return _OUTPUT_SHAPES[layers, input_shape], params
    known = _OUTPUT_SHAPES.get((layers, input_shape))
    if known is not None:  # traced in this process: no need to wait for the program
        return known, params
    try:  # read back from a stored program: the shape is data
        # (waited for first: reading a failed program's output would wait for ever)
        output_shape = np.asarray(jax.block_until_ready(output_shape))
        known = _OUTPUT_SHAPES[layers, input_shape] = tuple(int(d) for d in output_shape)
    except jax.errors.JaxRuntimeError:
        # The program failed (out of memory, say): run it as before, so that the failure
        # surfaces where the params are used, with the message that explains it.
        params = _init_compiled(layers, key, input_shape)
        return _OUTPUT_SHAPES[layers, input_shape], params
    return known, params


def serial(*layers: Layer) -> Layer:
    """Composes layers in order; params are a tuple with one entry per layer.

    >>> net = serial(Dense(4), Activation("tanh"), Dense(1))
    >>> out_shape, params = net.init(jax.random.key(0), (-1, 2))
    >>> out_shape, len(params)
    ((-1, 1), 3)
    """
    if not layers or not all(isinstance(layer, Layer) for layer in layers):
        raise ValueError("serial needs one or more Layer arguments, e.g. serial(Dense(4), Activation('tanh'))")

    def init(key: jax.Array, input_shape: Shape) -> tuple[Shape, Params]:
        output_shape, params = _init_network(layers, key, input_shape)
        return output_shape, tuple(params)

    def apply(params: Params, x: ArrayLike) -> jax.Array:
        if not isinstance(params, (tuple, list)) or len(params) != len(layers):
            got = len(params) if isinstance(params, (tuple, list)) else type(params).__name__
            raise ValueError(f"serial of {len(layers)} layers needs {len(layers)} params entries, got {got}")
        for layer, p in zip(layers, params):
            x = layer.apply(p, x)
        return x

    return Layer(init, apply)


def MLP(
    hidden_sizes: Sequence[int],
    output_size: int,
    *,
    activation: str | Callable | Sequence[str | Callable] = "relu",
    output_activation: str | Callable | None = None,
    w_init: str | _init.Initializer = "glorot_uniform",
    b_init: str | _init.Initializer = "zeros",
    dtype: Any = jnp.float32,
) -> Layer:
    """A fully connected feed-forward network (multilayer perceptron).

    ``h_0 = x``, ``h_l = phi_l(h_{l-1} w_l + b_l)`` for each hidden layer, and the output
    ``phi_out(h_L w_out + b_out)``. Params are a list of ``{"w": [in, out], "b": [out]}``,
    one per dense layer.

    Args:
      hidden_sizes: widths of the hidden layers (may be empty: a linear/logistic model).
      output_size: number of outputs.
      activation: the hidden activation (function or name), or one per hidden layer.
      output_activation: applied to the output; ``None`` (identity) gives logits, which is
        what the heads in :mod:`jaxnn.heads` and the ``*_with_logits`` losses expect.
      w_init, b_init: initializers (or names) for every layer's weights and biases.
      dtype: the params' floating dtype (float32 by default).

    Returns:
      A :class:`Layer`; ``apply(params, x)`` maps ``[batch, in]`` to ``[batch, output_size]``.

    >>> net = MLP([8], 1, activation="tanh")
    >>> _, params = net.init(jax.random.key(0), (-1, 2))
    >>> [p["w"].shape for p in params]
    [(2, 8), (8, 1)]
    """
    sizes = [check_int(h, "hidden size") for h in hidden_sizes]
    sizes.append(check_int(output_size, "output_size"))
    if isinstance(activation, (str, type(None))) or callable(activation):
        hidden_fns = [_act.get(activation)] * (len(sizes) - 1)
    else:
        if len(activation) != len(sizes) - 1:
            raise ValueError(
                f"got {len(activation)} activations for {len(sizes) - 1} hidden layers; "
                "give one activation, or one per hidden layer"
            )
        hidden_fns = [_act.get(a) for a in activation]
    fns = [*hidden_fns, _act.get(output_activation)]
    layers = [Dense(n, w_init=w_init, b_init=b_init, dtype=dtype) for n in sizes]

    def init(key: jax.Array, input_shape: Shape) -> tuple[Shape, Params]:
        return _init_network(layers, key, input_shape)

    def apply(params: Params, x: ArrayLike) -> jax.Array:
        if not isinstance(params, (list, tuple)) or len(params) != len(layers):
            got = len(params) if isinstance(params, (list, tuple)) else type(params).__name__
            raise ValueError(
                f"this MLP has {len(layers)} dense layers and needs a list of {len(layers)} "
                f"{{'w', 'b'}} dicts, got {got}"
            )
        for i, (p, fn) in enumerate(zip(params, fns)):
            w, b = _check_dense_params(p, f"MLP layer {i}")
            x = fn(_check_input(x, w.shape[0], f"MLP layer {i}") @ w + b)
        return x

    return Layer(init, apply)


def add_bias_column(x: ArrayLike) -> jax.Array:
    """Prepends a column of ones: ``[N, d] -> [N, d + 1]`` (the course's augmented input).

    >>> add_bias_column(jnp.array([[2.0, 3.0]]))
    Array([[1., 2., 3.]], dtype=float32)
    """
    x = check_float(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must have shape [N, d], got {x.shape}")
    return jnp.concatenate([jnp.ones((x.shape[0], 1), x.dtype), x], axis=1)


def to_augmented(params: Params) -> jax.Array:
    """Converts dense params ``{"w": [in, out], "b": [out]}`` to the course's ``W`` of shape ``[out, in + 1]``.

    Row ``j`` of the result is ``(b_j, w_1j, ..., w_inj)``: the bias multiplies the
    leading 1 of the augmented input, so ``add_bias_column(x) @ W.T == x @ w + b``.
    """
    w, b = _check_dense_params(params, "to_augmented")
    return jnp.concatenate([b[:, None], w.T], axis=1)


def forward_matrix_form(
    x: ArrayLike,
    weights: Sequence[ArrayLike],
    activations: Sequence[str | Callable],
) -> jax.Array:
    r"""The course's matrix form of the forward pass.

    With ``X`` the inputs and a leading column of ones (``N x (d + 1)``), each layer computes
    :math:`h = \Phi(\bar h W^T)` and prepends a column of ones for the next layer. For the
    course's example (3 features, 5 hidden units, 4 outputs): ``X`` is ``N x 4``, ``W1`` is
    ``5 x 4``, ``h = Phi1(X W1^T)`` is ``N x 5``, ``h_bar = [1, h]`` is ``N x 6``, ``W2``
    is ``4 x 6`` and ``O = Phi2(h_bar W2^T)`` is ``N x 4``.

    Args:
      x: inputs **without** the ones column, ``[N, d]`` (it is added here).
      weights: augmented matrices ``[out_l, in_l + 1]``, bias in column 0
        (see :func:`to_augmented`).
      activations: one activation (function or name) per layer.

    Returns:
      The outputs ``O``, ``[N, out_L]``, equal to :func:`MLP` ``.apply`` on the same weights.
    """
    if len(weights) != len(activations):
        raise ValueError(f"got {len(weights)} weight matrices and {len(activations)} activations; give one per layer")
    h = check_float(x, "x")
    for i, (w, fn) in enumerate(zip(weights, activations)):
        w = check_float(w, f"weights[{i}]")
        h_bar = add_bias_column(h)
        if w.ndim != 2 or w.shape[1] != h_bar.shape[1]:
            raise ValueError(
                f"weights[{i}] must have shape [out, {h_bar.shape[1]}] for an augmented input of "
                f"shape {h_bar.shape}, got {w.shape}"
            )
        h = _act.get(fn)(h_bar @ w.T)
    return h
