"""PyTorch's eager training loop (``zero_grad``/``backward``/``step``) on a :class:`Problem`."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from bench._peers._base import Problem, Trainer, import_peer


class _Setup(NamedTuple):
    """A PyTorch model for a problem, and what its trainer and stepper share."""

    torch: Any
    model: Any
    load: Callable[[], None]  # copies the problem's initial weights in
    params: Callable[[], list[tuple[np.ndarray, np.ndarray]]]
    loss_fn: Any
    x: Any
    y: Any
    make_optimizer: Callable[[], Any]
    threads: int
    note: str


def _setup(p: Problem, threads: int | None = None) -> _Setup:
    torch = import_peer("torch")
    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    nn = torch.nn
    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[p.activation]
    layers, linears = [], []
    for i, (w, _) in enumerate(p.params0):
        lin = nn.Linear(w.shape[0], w.shape[1])
        layers.append(lin)
        linears.append(lin)
        if i < len(p.params0) - 1:
            layers.append(act())
    if p.output_activation == "tanh":
        layers.append(nn.Tanh())
    model = nn.Sequential(*layers)

    def load() -> None:
        with torch.no_grad():
            for lin, (w, b) in zip(linears, p.params0):
                lin.weight.copy_(torch.from_numpy(np.array(w.T)))
                lin.bias.copy_(torch.from_numpy(np.array(b)))

    def params():
        return [(lin.weight.detach().numpy().T.copy(), lin.bias.detach().numpy().copy()) for lin in linears]

    loss_fn = {"softmax_ce": nn.CrossEntropyLoss, "bce_logits": nn.BCEWithLogitsLoss, "mse": nn.MSELoss}[p.loss]()
    x = torch.from_numpy(np.array(p.x))
    y = torch.from_numpy(np.array(p.y, np.int64 if p.loss == "softmax_ce" else p.y.dtype))

    def make_optimizer():
        if p.optimizer == "adam":
            return torch.optim.Adam(model.parameters(), lr=p.lr, betas=(0.9, 0.999), eps=1e-8)
        return torch.optim.SGD(model.parameters(), lr=p.lr)

    note = f"torch {torch.__version__}, eager, {threads} thread{'s' if threads > 1 else ''}"
    return _Setup(torch, model, load, params, loss_fn, x, y, make_optimizer, threads, note)


def trainer(p: Problem, threads: int | None = None) -> Trainer:
    """Every epoch of ``p`` in PyTorch's eager loop, from ``p.params0`` with a new optimizer each run."""
    s = _setup(p, threads)
    batches = None if p.full_batch else [s.torch.from_numpy(idx.astype(np.int64)) for idx in p.batches()]
    steps = len(p.orders) * (p.x.shape[0] // p.batch_size)

    def run():
        s.torch.set_num_threads(s.threads)  # another trainer may have changed the global setting
        s.load()
        opt = s.make_optimizer()
        for i in range(steps):
            xb, yb = (s.x, s.y) if batches is None else (s.x[batches[i]], s.y[batches[i]])
            opt.zero_grad(set_to_none=True)
            loss = s.loss_fn(s.model(xb), yb)
            loss.backward()
            opt.step()
        return loss.detach()

    return Trainer(run, s.params, s.note)


def stepper(p: Problem, threads: int | None = None) -> tuple[Callable[[], Any], str]:
    """One eager step on all of ``p.x`` per call, the model and optimizer state carried between calls."""
    s = _setup(p, threads)
    s.load()
    opt = s.make_optimizer()

    def step():
        if s.torch.get_num_threads() != s.threads:
            s.torch.set_num_threads(s.threads)
        opt.zero_grad(set_to_none=True)
        loss = s.loss_fn(s.model(s.x), s.y)
        loss.backward()
        opt.step()
        return loss.detach()

    return step, s.note
