"""Grid mode: up to 8 x 8 networks trained side by side, as one vmapped program.

Each chunk of epochs is :func:`jaxnn.train.run_epochs`, the training engine's own epochs
(the batches of :func:`jaxnn.train.epoch_batches`, the masked mean loss, the optimizer
update, the non-finite guard), under ``jax.vmap`` over members: the page draws a frame
between chunks and resumes from the returned states. Member ``i`` splits ``keys[i]`` into
``(init_key, shuffle_key)`` as :func:`jaxnn.train.sweep` does, so a learning-rate x seed
grid equals ``sweep`` and a width x activation cell equals ``fit`` on that network (both
tested, to float32 rounding).

Widths x activations: every member has the widest layers; a member's extra units are
zero-initialized and masked out of the forward pass (their outputs are multiplied by 0),
so they neither contribute nor receive gradient; its activation is picked per member with
``lax.switch``.
"""

from __future__ import annotations

import base64
import functools
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxnn import activations, optim, train
from jaxnn.playground._config import Config, RequestError
from jaxnn.playground._data import Data, to_list
from jaxnn.playground._network import (
    accuracy,
    encode_u8,
    finite_list,
    head_of,
    network,
    outputs_of,
)

__all__ = ["GridJob", "grid_members"]


class Members(NamedTuple):
    """What varies across the grid, one entry per member (row-major)."""

    rows: list[str]
    cols: list[str]
    lrs: np.ndarray  # [M] float32
    seeds: list[int]  # [M]
    widths: list[int]  # [M]
    acts: list[str]  # [M]


def grid_members(cfg: Config) -> Members:
    """The members of a grid set-up: learning rates x seeds, or widths x activations."""
    if cfg.grid_axes == "lr_seed":
        r, c = cfg.grid_rows, cfg.grid_cols
        lrs = np.geomspace(cfg.lr_min, cfg.lr_max, r).astype(np.float32) if r > 1 else np.array([cfg.lr_min], np.float32)
        seeds = [cfg.train_seed + j for j in range(c)]
        width = cfg.hidden[0] if cfg.hidden else 0
        return Members([f"lr {v:.3g}" for v in lrs], [f"seed {s}" for s in seeds], np.repeat(lrs, c),
                       seeds * r, [width] * (r * c), [cfg.activation] * (r * c))
    if not cfg.hidden:
        raise RequestError("a widths x activations grid needs at least one hidden layer (hidden = [4], say)")
    r, c = len(cfg.widths), len(cfg.activations)
    return Members([f"width {w}" for w in cfg.widths], list(cfg.activations),
                   np.full(r * c, cfg.lr, np.float32), [cfg.train_seed] * (r * c),
                   [w for w in cfg.widths for _ in range(c)], list(cfg.activations) * r)


def _layer_sizes(cfg: Config, members: Members) -> tuple[int, ...]:
    if cfg.grid_axes == "lr_seed":
        return cfg.hidden
    return (max(members.widths),) * len(cfg.hidden)


def _pad(params: list[dict], sizes: list[int]) -> list[dict]:
    """Zero-pads an MLP's params to the layer sizes ``sizes`` (inputs first)."""
    out = []
    for layer, (fan_in, fan_out) in zip(params, zip(sizes[:-1], sizes[1:])):
        w, b = np.asarray(layer["w"]), np.asarray(layer["b"])
        pw = np.zeros((fan_in, fan_out), np.float32)
        pw[: w.shape[0], : w.shape[1]] = w
        pb = np.zeros((fan_out,), np.float32)
        pb[: b.shape[0]] = b
        out.append({"w": pw, "b": pb})
    return out


class _Programs(NamedTuple):
    """The compiled programs of a grid shape, each vmapped over members."""

    run_chunk: Any  # (states, keys, lrs, acts, masks, x, y, xv, yv) -> (states, (train_loss, test_loss))
    run_map: Any  # (params, acts, masks, grid) -> outputs [members, grid points, outputs]
    init_state: Any  # (params, lrs) -> states


def _forward(fns: list[Callable]) -> Callable:
    """``apply(params, x, act, masks)``: a member's padded MLP on ``x`` [batch, features].

    The hidden layers' outputs are multiplied by the member's masks (its extra units give 0);
    the activation is ``fns[act]``, picked with ``lax.switch`` when the grid has several.
    """
    def apply(params, x, act, masks):
        h = x
        for layer, m in zip(params[:-1], masks):
            z = h @ layer["w"] + layer["b"]
            h = (jax.lax.switch(act, fns, z) if len(fns) > 1 else fns[0](z)) * m
        return h @ params[-1]["w"] + params[-1]["b"]

    return apply


def _penalized_loss(apply: Callable, head: Any, l1: float, l2: float) -> Callable:
    """``loss(params, x, y, act, masks)`` [batch]: the head's loss plus the L1 and L2 penalties of the weights."""
    def loss(params, x, y, act, masks):
        per_example = head.loss(apply(params, x, act, masks), y)
        if l1 == 0 and l2 == 0:
            return per_example
        weights = [layer["w"] for layer in params]
        return per_example + l1 * sum(jnp.sum(jnp.abs(w)) for w in weights) + l2 * sum(
            jnp.sum(w * w) for w in weights)

    return loss


def _member_chunk(loss: Callable, make_opt: Callable, batch: int, chunk: int) -> Callable:
    """One member's chunk of ``chunk`` epochs: the engine's :func:`jaxnn.train.run_epochs`."""
    def member_chunk(state, key, lr, act, masks, x, y, xv, yv):
        state, history = train.run_epochs(lambda p, xb, yb: loss(p, xb, yb, act, masks), make_opt(lr), state, x, y,
                                          key=key, epochs=chunk, batch_size=batch, validation_data=(xv, yv))
        return state, (history["train_loss"], history["val_loss"])

    return member_chunk


@functools.lru_cache(maxsize=16)
def _programs(sizes: tuple[int, ...], act_names: tuple[str, ...], task: str, opt_name: str,
              hyperparams: tuple, l1: float, l2: float, n: int, batch: int, chunk: int) -> _Programs:
    """The compiled chunk and map programs of a grid shape, cached (equal shapes do not recompile)."""
    head = head_of(task)
    hp = dict(hyperparams)
    make_opt = lambda lr: getattr(optim, opt_name)(lr, **hp)
    apply = _forward([activations.get(a) for a in act_names])
    member_chunk = _member_chunk(_penalized_loss(apply, head, l1, l2), make_opt, batch, chunk)
    member_map = lambda params, act, masks, grid: head.output_activation(apply(params, grid, act, masks))
    member_init_state = lambda params, lr: train.init_state(params, make_opt(lr))
    per_member, shared = (0,) * 5, (None,) * 4  # x, y, xv, yv are shared by all members
    return _Programs(
        run_chunk=jax.jit(jax.vmap(member_chunk, in_axes=(*per_member, *shared))),
        run_map=jax.jit(jax.vmap(member_map, in_axes=(0, 0, 0, None))),
        init_state=jax.jit(jax.vmap(member_init_state)),
    )


def _member_mesh(devices: Any, count: int) -> Mesh | None:
    """A ``"models"`` mesh over as many of ``devices`` as divide the ``count`` members evenly.

    ``None`` when that is one device (or none were given): the grid then runs where JAX puts it.
    """
    if devices is None:
        return None
    devices = list(devices)
    use = max(k for k in range(1, len(devices) + 1) if count % k == 0)
    return Mesh(np.asarray(devices[:use]), ("models",)) if use > 1 else None


class GridJob:
    """A grid's members, their training state and the compiled programs that advance and draw them.

    With ``devices`` (a sequence of ``jax.Device``), the members are split over a ``"models"``
    mesh of as many of them as divide the member count evenly, as :func:`jaxnn.train.sweep`
    splits its members: each device trains its share, the data are replicated.
    """

    kind = "grid"

    def __init__(self, cfg: Config, d: Data, devices: Any = None) -> None:
        self.cfg, self.data = cfg, d
        self.members = m = grid_members(cfg)
        sizes = [d.x_train.shape[1], *_layer_sizes(cfg, m), outputs_of(d)]
        params, masks = [], []
        self.keys = []
        for seed, width, act in zip(m.seeds, m.widths, m.acts):
            init_key, shuffle_key = jax.random.split(jax.random.key(seed))
            hidden = cfg.hidden if cfg.grid_axes == "lr_seed" else (width,) * len(cfg.hidden)
            _, p = network(hidden, outputs_of(d), act).init(init_key, (-1, sizes[0]))
            params.append(_pad(jax.device_get(p), sizes))
            masks.append([(np.arange(h) < width).astype(np.float32) if cfg.grid_axes == "width_activation"
                          else np.ones(h, np.float32) for h in sizes[1:-1]])
            self.keys.append(shuffle_key)
        stack = lambda *a: jnp.asarray(np.stack(a))
        params = jax.tree.map(stack, *params)
        self.masks = [jnp.asarray(np.stack([mk[i] for mk in masks])) for i in range(len(sizes) - 2)]
        self.keys = jnp.stack(self.keys)
        names = tuple(dict.fromkeys(m.acts))
        self.act_index = jnp.asarray([names.index(a) for a in m.acts], jnp.int32)
        self.lrs = jnp.asarray(m.lrs)
        n = d.x_train.shape[0]
        self.batch = n if cfg.batch == 0 else cfg.batch
        self.steps_per_epoch = -(-n // self.batch)
        self.run_chunk, self.run_map, init_state = _programs(
            tuple(sizes), names, d.task, cfg.optimizer, tuple(cfg.optimizer_hyperparams().items()),
            cfg.l1, cfg.l2, n, self.batch, cfg.epochs_per_frame,
        )
        self.state = init_state(params, self.lrs)  # a jaxnn.train.TrainState per member
        self.xy = tuple(jnp.asarray(a) for a in (d.x_train, d.y_train, d.x_test, d.y_test))
        # The output map's points, then the training and test inputs: one call gives the maps and the accuracies.
        self.grid = jnp.asarray(np.concatenate([d.grid_x, d.x_train, d.x_test]))
        self.mesh = _member_mesh(devices, len(m.lrs))
        if self.mesh is not None:  # the compiled programs follow their inputs' placement
            split, whole = NamedSharding(self.mesh, PartitionSpec("models")), NamedSharding(self.mesh, PartitionSpec())
            self.state, self.keys, self.lrs, self.act_index, self.masks = jax.device_put(
                (self.state, self.keys, self.lrs, self.act_index, self.masks), split)
            self.xy, self.grid = jax.device_put((self.xy, self.grid), whole)
        self.chunks = 0

    @property
    def params(self) -> Any:
        """The members' params, stacked on a leading member axis."""
        return self.state.params

    @property
    def done(self) -> bool:
        return bool(jnp.all(self.state.stopped))

    def warm(self) -> None:
        """Compiles the chunk ahead of play (one chunk from the initial state, thrown away)."""
        jax.block_until_ready(self.run_chunk(self.state, self.keys, self.lrs, self.act_index, self.masks, *self.xy))

    def advance(self, epochs: int | None = None) -> dict[str, Any]:
        # Always whole chunks of epochs_per_frame: one compiled program per grid shape.
        start = time.perf_counter()
        self.state, (train_loss, test_loss) = self.run_chunk(
            self.state, self.keys, self.lrs, self.act_index, self.masks, *self.xy)
        train_loss, test_loss = jax.device_get((train_loss, test_loss))
        self.chunks += 1
        seconds = time.perf_counter() - start
        steps = self.cfg.epochs_per_frame * self.steps_per_epoch * len(self.members.lrs)
        return self.frame(train_loss, test_loss, steps / seconds)

    def frame(self, train_loss: Any = None, test_loss: Any = None, steps_per_s: float = 0.0) -> dict[str, Any]:
        every = np.asarray(self.run_map(self.state.params, self.act_index, self.masks, self.grid))
        g, n = len(self.data.grid_x), len(self.data.x_train)
        out = every[:, :g]
        task = self.data.task
        maps = []
        for o in out:
            if task == "binary":
                maps.append({"p": encode_u8(o[:, 0])})
            elif task == "multiclass":
                maps.append({"cls": base64.b64encode(np.argmax(o, 1).astype(np.uint8).tobytes()).decode("ascii"),
                             "conf": encode_u8(np.max(o, 1))})
            else:
                maps.append({"values": to_list(o[:, 0])})
        count = len(self.members.lrs)
        failed = jax.device_get(self.state.nonfinite_epoch)
        acc = {"train": [accuracy(task, o, self.data.y_train) for o in every[:, g:g + n]],
               "test": [accuracy(task, o, self.data.y_test) for o in every[:, g + n:]]}
        return {
            "type": "frame",
            "kind": self.kind,
            "epoch": self.chunks * self.cfg.epochs_per_frame,
            "rows": self.members.rows,
            "cols": self.members.cols,
            "maps": maps,
            "train_loss": [finite_list(train_loss[i]) if train_loss is not None else [] for i in range(count)],
            "test_loss": [finite_list(test_loss[i]) if test_loss is not None else [] for i in range(count)],
            "nonfinite": [int(f) if f >= 0 else None for f in failed],
            "steps_per_s": round(steps_per_s, 1),
            "done": self.done,
            "accuracy": acc,
            "devices": 1 if self.mesh is None else int(self.mesh.size),
        }

    def start_frame(self) -> dict[str, Any]:
        return self.frame()
