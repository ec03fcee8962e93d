"""sweep over devices: members split over a "models" mesh axis (and batches over "data").

Every sharded run is checked against an independent reference, the one-device sweep of the
same members (itself tested against separate fits in test_train.py), and one member against
its own fit. Eight devices are simulated in a subprocess (the device count is fixed when JAX
starts); the argument checks and the one-device mesh run in this process.
"""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxnn import heads, nn
from jaxnn.train import Supervised, sweep

NET = nn.MLP([8], 1, activation="tanh")
LOSS = Supervised(NET.apply, heads.binary())


def init_fn(k):
    return NET.init(k, (-1, 2))[1]


def data(n=24):
    x = jax.random.normal(jax.random.key(0), (n, 2))
    return x, (x[:, :1] * x[:, 1:] > 0).astype(jnp.float32)


def run(members=3, **kw):
    x, y = data()
    kw.setdefault("epochs", 4)
    return sweep(init_fn, LOSS, x, y, make_optimizer=optax.sgd, keys=jax.random.split(jax.random.key(1), members),
                 hyperparams={"learning_rate": jnp.linspace(0.1, 1.0, members)}, batch_size=8, **kw)


def assert_same_bits(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


def test_a_one_device_mesh_gives_the_default_sweep_bit_for_bit():
    # The sharded sweep's code paths (placing, the mesh-aware result) on the one device this
    # process has; its programs are compiled for one partition, as by default.
    # (The two-axis mesh is tested on eight devices below.)
    mae = {"mae": lambda p, a, b: jnp.mean(jnp.abs(NET.apply(p, a) - b))}
    plain = run(validation_data=data(8), metrics=mae)
    placed = run(validation_data=data(8), metrics=mae, devices=jax.devices()[:1])
    assert_same_bits(jax.device_get(placed), jax.device_get(plain))
    for leaf in jax.tree.leaves(placed):
        assert isinstance(leaf.sharding, NamedSharding) and leaf.sharding.spec == PartitionSpec("models")
    # Any sequence of devices will do, as for fit (here an array of them: the same program).
    as_array = run(validation_data=data(8), metrics=mae, devices=np.array(jax.devices()[:1]))
    assert_same_bits(jax.device_get(as_array), jax.device_get(plain))


def _mesh(names):
    return Mesh(np.array(jax.devices()[:1]).reshape((1,) * len(names)), names)


@pytest.mark.parametrize(
    "placement, error, match",
    [
        (lambda d: {"devices": []}, ValueError, "devices must be a non-empty sequence"),
        (lambda d: {"devices": "cpu"}, ValueError, "devices must be a non-empty sequence"),
        (lambda d: {"devices": 2}, ValueError, "devices must be a non-empty sequence"),
        (lambda d: {"devices": [0]}, TypeError, "devices must hold jax devices"),
        (lambda d: {"devices": [d, d]}, ValueError, "devices must be distinct"),
        (lambda d: {"devices": [d], "mesh": _mesh(("models", "data"))}, ValueError, "not both"),
        (lambda d: {"mesh": [d]}, TypeError, "mesh must be a jax.sharding.Mesh"),
        (lambda d: {"mesh": _mesh(("models",))}, ValueError,
         r"exactly the axes \('models', 'data'\), got \('models',\)"),
        (lambda d: {"mesh": _mesh(("batch", "models"))}, ValueError, r"got \('batch', 'models'\)"),
    ],
    ids=["empty", "text", "a-number", "not-devices", "repeated", "both", "not-a-mesh", "no-data-axis", "wrong-names"],
)
def test_bad_devices_and_meshes_are_refused_before_compiling(placement, error, match):
    with pytest.raises(error, match=match):
        run(**placement(jax.devices()[0]))


EIGHT_DEVICES_SCRIPT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np, optax
    from jax.sharding import Mesh, PartitionSpec
    from jaxnn import heads, nn
    from jaxnn.train import Supervised, fit, sweep

    assert jax.device_count() == 8, jax.devices()
    net = nn.MLP([8], 1, activation="tanh")
    loss = Supervised(net.apply, heads.binary())
    init_fn = lambda k: net.init(k, (-1, 2))[1]
    x = jax.random.normal(jax.random.key(0), (48, 2))
    y = (x[:, :1] * x[:, 1:] > 0).astype(jnp.float32)
    xv, yv = x[:16], y[:16]
    acc = lambda p, a, b: jnp.mean((net.apply(p, a) > 0) == (b > 0.5))

    def run(members, make_optimizer, lrs, **kw):
        keys = jax.random.split(jax.random.key(1), members)
        return sweep(init_fn, loss, x, y, make_optimizer=make_optimizer, keys=keys,
                     hyperparams={"learning_rate": jnp.asarray(lrs[:members])}, epochs=60, batch_size=16,
                     validation_data=(xv, yv), metrics={"acc": acc}, **kw)

    def leaves(result):
        return jax.tree.leaves(jax.device_get(result))

    # Members over a "models" axis of 8 devices, SGD on mini-batches: the same bits as the
    # one-device sweep, for 16 members (2 per device) and for 13 (padded to 16, padding dropped).
    sgd_lrs = np.linspace(0.05, 2.0, 16)
    for members in (16, 13):
        one, many = run(members, optax.sgd, sgd_lrs), run(members, optax.sgd, sgd_lrs, devices=jax.devices())
        assert jax.tree.structure(one) == jax.tree.structure(many)
        for a, b in zip(leaves(one), leaves(many)):
            np.testing.assert_array_equal(a, b)
        w = many.params[0]["w"]
        assert w.shape == (members, 2, 8) and len(w.sharding.device_set) == 8
        # Split over "models" when the count divides evenly; otherwise replicated (a
        # jax.Array cannot be split unevenly).
        assert w.sharding.spec == (PartitionSpec("models") if members == 16 else PartitionSpec())
        assert many.history.train_loss.sharding.spec == w.sharding.spec

    # A 4 x 2 ("models", "data") mesh, Adam: each member's batch is split over "data", so its
    # loss and gradient sums are reduced in another order: equal to float32 rounding.
    adam_lrs = np.geomspace(1e-3, 1e-1, 16)
    mesh = Mesh(np.array(jax.devices()).reshape(4, 2), ("models", "data"))
    one, grid = run(16, optax.adam, adam_lrs), run(16, optax.adam, adam_lrs, mesh=mesh)
    for a, b in zip(leaves(one), leaves(grid)):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    assert set(grid.params[0]["w"].sharding.device_set) == set(jax.devices())
    # And one member against its own fit, an independent reference.
    i = 11
    init_key, shuffle_key = jax.random.split(jax.random.split(jax.random.key(1), 16)[i])
    alone = fit(init_fn(init_key), loss, x, y, optimizer=optax.adam(float(jnp.float32(adam_lrs[i]))),
                key=shuffle_key, epochs=60, batch_size=16, validation_data=(xv, yv), metrics={"acc": acc})
    host = jax.device_get(grid)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a[i], b, rtol=2e-4, atol=2e-5), host.params, alone.params)
    np.testing.assert_allclose(host.history.train_loss[i], alone.history.train_loss, rtol=2e-4)

    # A "data" axis must divide the batch.
    wide = Mesh(np.array(jax.devices()).reshape(1, 8), ("models", "data"))
    try:
        sweep(init_fn, loss, x, y, make_optimizer=optax.sgd, keys=jax.random.split(jax.random.key(1), 2),
              hyperparams={"learning_rate": jnp.ones(2)}, epochs=1, batch_size=12, mesh=wide)
    except ValueError as err:
        assert "not divisible by the mesh's 'data' axis of size 8" in str(err), err
    else:
        raise AssertionError("batch 12 over a data axis of 8 must raise")
    print("SWEEP-DEVICES-OK")
    """
)


def test_sweep_on_eight_simulated_devices_equals_the_one_device_sweep():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", EIGHT_DEVICES_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "SWEEP-DEVICES-OK" in out.stdout
