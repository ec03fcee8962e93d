"""Data-parallel training across devices and hosts with jaxnn.train.fit(devices=...).

jaxnn follows JAX's SPMD model: every process runs this same script with the same data, key
and arguments; ``fit(..., devices=jax.devices())`` then splits each batch over all devices
of all processes (a one-axis ``Mesh`` named ``"data"``), keeps params and optimizer state
replicated, and lets XLA all-reduce the gradients. The result is the same as training on one
device, to float32 rounding.

One host, several devices (GPUs, or simulated CPU devices)::

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python examples/distributed.py

Several hosts (or processes): start one process per host with its rank; process 0's address
is the coordinator. On CPU the processes talk over Gloo; on GPU/TPU clusters
``jax.distributed.initialize()`` usually needs no arguments (it reads SLURM, Open MPI or the
TPU environment)::

    python examples/distributed.py --coordinator host0:12355 --num-processes 2 --process-id 0   # on host 0
    python examples/distributed.py --coordinator host0:12355 --num-processes 2 --process-id 1   # on host 1

The global batch size must be divisible by the total device count: ``fit`` raises a
``ValueError`` saying so otherwise (it never pads batches across devices silently).
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> list[float]:
    """Trains a small classifier data-parallel and returns its per-epoch training loss."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coordinator", help="host:port of process 0 (multi-process runs only)")
    parser.add_argument("--num-processes", type=int, default=1)
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, help="global batch size (default: 8 per device)")
    args = parser.parse_args(argv)

    import jax

    if args.num_processes > 1:
        # Only used by CPU devices; must be set before the backend starts.
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(
            coordinator_address=args.coordinator,
            num_processes=args.num_processes,
            process_id=args.process_id,
        )

    import numpy as np
    import optax

    from jaxnn import heads, nn
    from jaxnn.train import Supervised, fit

    # Every process builds the same data from the same key (or loads the same files).
    kx, ky = jax.random.split(jax.random.key(0))
    x = np.asarray(jax.random.normal(kx, (256, 4)))
    y = np.asarray(jax.random.randint(ky, (256,), 0, 3))
    net = nn.MLP([32], 3, activation="tanh")
    params = net.init(jax.random.key(1), (-1, 4))[1]

    devices = jax.devices()  # all devices of all processes
    batch_size = args.batch_size or 8 * len(devices)
    result = fit(params, Supervised(net.apply, heads.multiclass()), x, y, optimizer=optax.adam(1e-2),
                 key=jax.random.key(2), epochs=args.epochs, batch_size=batch_size, devices=devices)
    losses = [float(v) for v in np.asarray(result.history.train_loss)]
    print(f"process {jax.process_index()}/{jax.process_count()}, {len(devices)} devices, "
          f"batch {batch_size}: train loss per epoch {[round(v, 4) for v in losses]}")
    return losses


if __name__ == "__main__":
    main()
