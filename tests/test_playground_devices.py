"""The playground's grid over several devices: members split over a "models" mesh, results unchanged.

Eight CPU devices are simulated in a subprocess (the device count is fixed when JAX starts).
The reference is the same grid on one device, itself tested equal to ``sweep`` and ``fit``
in test_playground_training.py.
"""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("starlette")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = textwrap.dedent(
    """
    import base64
    import jax, numpy as np
    from jax.sharding import PartitionSpec
    from jaxnn.playground._config import parse_config
    from jaxnn.playground._data import make_data
    from jaxnn.playground._grid import GridJob

    assert len(jax.devices()) == 8
    for rows, cols, used in [(2, 4, 8), (3, 3, 3)]:  # 9 members: the 3 devices that divide them
        cfg = parse_config({"samples": 60, "dataset": "moons", "hidden": [4], "grid_rows": rows, "grid_cols": cols,
                            "lr_min": 0.01, "lr_max": 1.0, "optimizer": "sgd", "batch": 10, "epochs_per_frame": 3})
        one, many = GridJob(cfg, make_data(cfg)), GridJob(cfg, make_data(cfg), devices=jax.devices())
        assert one.mesh is None and many.mesh.devices.size == used, many.mesh
        for _ in range(2):
            a, b = one.advance(), many.advance()
        for leaf in jax.tree.leaves(many.state):
            assert leaf.sharding.spec == PartitionSpec("models") and len(leaf.sharding.device_set) == used
        for u, v in zip(jax.tree.leaves(jax.device_get(one.params)), jax.tree.leaves(jax.device_get(many.params))):
            np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.array(a["train_loss"], float), np.array(b["train_loss"], float), rtol=1e-5)
        pixels = lambda frame: np.stack([np.frombuffer(base64.b64decode(m["p"]), np.uint8) for m in frame["maps"]])
        assert np.abs(pixels(a).astype(int) - pixels(b).astype(int)).max() <= 1  # 8-bit maps, float rounding
    print("GRID-DEVICES-OK")
    """
)


def test_grid_on_eight_simulated_devices_equals_the_one_device_grid():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "GRID-DEVICES-OK" in out.stdout
