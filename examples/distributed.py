"""Training across devices and hosts: fit(devices=...) data-parallel, sweep(devices=/mesh=) model-parallel.

jaxnn follows JAX's SPMD model: every process runs this same script with the same data, keys
and arguments.

``fit(..., devices=jax.devices())`` splits each batch over all devices of all processes (a
one-axis ``Mesh`` named ``"data"``), keeps params and optimizer state replicated, and lets XLA
all-reduce the gradients. The result is the same as training on one device, to float32
rounding.

``sweep(..., devices=jax.devices())`` splits the *members* of a sweep (seeds x learning rates)
over the devices instead (a ``"models"`` mesh axis): each device trains its share and the
results come back as arrays split the same way. ``sweep(..., mesh=Mesh(devices.reshape(m, d),
("models", "data")))`` does both at once: members over ``"models"``, each member's batch over
``"data"``. Every process then reads every member's params and history with
``jax.experimental.multihost_utils.process_allgather(result, tiled=True)`` (NumPy arrays; in a
single process ``jax.device_get(result)`` does the same).

One host, several devices (GPUs, or simulated CPU devices)::

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python examples/distributed.py
    XLA_FLAGS=--xla_force_host_platform_device_count=8 python examples/distributed.py --data-axis 2

Several hosts (or processes): start one process per host with its rank; process 0's address
is the coordinator. On CPU the processes talk over Gloo; on GPU/TPU clusters
``jax.distributed.initialize()`` usually needs no arguments (it reads SLURM, Open MPI or the
TPU environment)::

    python examples/distributed.py --coordinator host0:12355 --num-processes 2 --process-id 0   # on host 0
    python examples/distributed.py --coordinator host0:12355 --num-processes 2 --process-id 1   # on host 1

The global batch size must be divisible by the total device count for ``fit``, and by the
``"data"`` axis for ``sweep``: both raise a ``ValueError`` saying so otherwise (batches are
never padded across devices silently). A member count that is not a multiple of the
``"models"`` axis is padded with copies of the last member, dropped from the result.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    """Trains a classifier data-parallel, then a sweep of them model-parallel.

    Returns:
      ``{"fit": per-epoch training loss, "sweep": each member's final training loss}``.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coordinator", help="host:port of process 0 (multi-process runs only)")
    parser.add_argument("--num-processes", type=int, default=1)
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, help="fit's global batch size (default: 8 per device)")
    parser.add_argument("--members", type=int, default=12, help="sweep members (seeds x learning rates)")
    parser.add_argument("--data-axis", type=int, default=1,
                        help="split each sweep member's batch over this many devices (a 'data' mesh axis)")
    parser.add_argument("--save", help="write every member's params and history to this .npz (each process)")
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
    from jax.experimental import multihost_utils
    from jax.sharding import Mesh

    from jaxnn import heads, nn
    from jaxnn.train import Supervised, fit, sweep

    # Every process builds the same data from the same key (or loads the same files).
    kx, ky = jax.random.split(jax.random.key(0))
    x = np.asarray(jax.random.normal(kx, (256, 4)))
    y = np.asarray(jax.random.randint(ky, (256,), 0, 3))
    net = nn.MLP([32], 3, activation="tanh")
    loss = Supervised(net.apply, heads.multiclass())
    params = net.init(jax.random.key(1), (-1, 4))[1]

    devices = jax.devices()  # all devices of all processes
    batch_size = args.batch_size or 8 * len(devices)
    result = fit(params, loss, x, y, optimizer=optax.adam(1e-2), key=jax.random.key(2), epochs=args.epochs,
                 batch_size=batch_size, devices=devices)
    losses = [float(v) for v in np.asarray(result.history.train_loss)]
    print(f"process {jax.process_index()}/{jax.process_count()}, {len(devices)} devices, "
          f"batch {batch_size}: train loss per epoch {[round(v, 4) for v in losses]}")

    # The sweep: members over a "models" axis of all devices (and batches over "data").
    if args.data_axis > 1:
        placement = {"mesh": Mesh(np.array(devices).reshape(-1, args.data_axis), ("models", "data"))}
    else:
        placement = {"devices": devices}
    swept = sweep(lambda k: net.init(k, (-1, 4))[1], loss, x, y, make_optimizer=optax.adam,
                  keys=jax.random.split(jax.random.key(3), args.members),
                  hyperparams={"learning_rate": np.geomspace(1e-3, 1e-1, args.members).astype(np.float32)},
                  epochs=args.epochs, batch_size=32, **placement)
    host = multihost_utils.process_allgather(swept, tiled=True)  # every member, on every process
    final = [float(v) for v in host.history.train_loss[:, -1]]
    models = len(devices) // args.data_axis
    print(f"process {jax.process_index()}/{jax.process_count()}, sweep of {args.members} models over "
          f"{models} x {args.data_axis} devices: final train loss per member {final}")
    if args.save:
        leaves = jax.tree_util.tree_leaves_with_path(host)
        np.savez(args.save, **{jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves})
    return {"fit": losses, "sweep": final}


if __name__ == "__main__":
    main()
