"""fit's non-finite guard, exact resume through a checkpoint, and data-parallel training."""

import chex
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import checkpoint, heads, nn
from jaxnn.train import EarlyStopping, Supervised, fit, sweep

NET = nn.MLP([16], 3, activation="tanh")
LOSS = Supervised(NET.apply, heads.multiclass())


def data(n=40, seed=0):
    kx, ky = jax.random.split(jax.random.key(seed))
    x = jax.random.normal(kx, (n, 4))
    y = jax.random.randint(ky, (n,), 0, 3)
    return x, y


def params0(seed=0):
    return NET.init(jax.random.key(seed), (-1, 4))[1]


def test_huge_learning_rate_is_reported_not_a_history_of_nans():
    # Gradient descent on a least-squares problem with lr far above 2/L: every step multiplies
    # the error by about lr * L, so it overflows to inf and then NaN within a few epochs.
    x, _ = data()
    y = x @ jnp.ones((4, 1))
    net = nn.MLP([], 1)
    loss = Supervised(net.apply, heads.regression())
    p0 = net.init(jax.random.key(0), (-1, 4))[1]
    r = fit(p0, loss, 10.0 * x, y, optimizer=optax.sgd(10.0), key=jax.random.key(0), epochs=50, batch_size=8)
    e, s = int(r.history.nonfinite_epoch), int(r.history.nonfinite_step)
    assert e >= 0 and 0 <= s < 5
    assert int(r.history.epochs_run) == e  # the failing epoch is not counted
    tl = np.asarray(r.history.train_loss)
    assert np.all(np.isfinite(tl[:e])) and np.all(np.isnan(tl[e:]))
    # The params handed back are finite: those at the start of the failing epoch.
    assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree.leaves(r.params))
    assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree.leaves(r.opt_state))


def test_nonfinite_reports_the_exact_step():
    # A loss whose gradient is -1 until w reaches 3, where it turns NaN: sgd(1) adds 1 to w per step.
    x, y = jnp.ones((4, 1)), jnp.zeros((4,))

    def loss_linear(p, xb, yb):  # d/dw = -1, so sgd(1) adds 1 to w each epoch; NaN once w >= 3
        return (-p["w"] + jnp.where(p["w"] >= 3.0, jnp.nan, 0.0)) * jnp.ones(xb.shape[0]) + 0 * yb

    r = fit({"w": jnp.array(0.0)}, loss_linear, x, y, optimizer=optax.sgd(1.0), key=jax.random.key(0), epochs=10)
    assert int(r.history.nonfinite_epoch) == 3 and int(r.history.nonfinite_step) == 0
    assert float(r.params["w"]) == 3.0  # updated at epochs 0, 1, 2; the NaN step did not apply
    # Mini-batches of 1 (4 steps per epoch): w reaches 3 after three steps; step 3 sees the NaN.
    r = fit({"w": jnp.array(0.0)}, loss_linear, x, y, optimizer=optax.sgd(1.0), key=jax.random.key(0), epochs=10, batch_size=1)
    assert (int(r.history.nonfinite_epoch), int(r.history.nonfinite_step)) == (0, 3)
    assert float(r.params["w"]) == 0.0  # rolled back to the start of the failing epoch
    # Batches of 2 (2 steps per epoch): epoch 0 takes w to 2; in epoch 1 step 0 takes it to 3 and
    # step 1 sees the NaN. The params handed back are those of the start of epoch 1.
    r = fit({"w": jnp.array(0.0)}, loss_linear, x, y, optimizer=optax.sgd(1.0), key=jax.random.key(0), epochs=10, batch_size=2)
    assert (int(r.history.nonfinite_epoch), int(r.history.nonfinite_step)) == (1, 1)
    assert float(r.params["w"]) == 2.0 and int(r.history.epochs_run) == 1
    with pytest.raises(FloatingPointError, match="epoch 0, step 3"):
        fit({"w": jnp.array(0.0)}, loss_linear, x, y, optimizer=optax.sgd(1.0), key=jax.random.key(0), epochs=10,
            batch_size=1, on_nonfinite="raise")
    ignored = fit({"w": jnp.array(0.0)}, loss_linear, x, y, optimizer=optax.sgd(1.0), key=jax.random.key(0), epochs=3,
                  batch_size=1, on_nonfinite="ignore")
    # Unchecked, the NaN losses go straight into the history.
    assert int(ignored.history.nonfinite_epoch) == -1 and np.isnan(np.asarray(ignored.history.train_loss)).all()


def test_no_false_alarm_on_a_healthy_run():
    x, y = data()
    r = fit(params0(), LOSS, x, y, optimizer=optax.adam(1e-2), key=jax.random.key(0), epochs=5, batch_size=8)
    assert int(r.history.nonfinite_epoch) == -1 and int(r.history.epochs_run) == 5


@pytest.mark.parametrize("batch_size", [None, 7])
def test_resume_through_checkpoint_is_bit_identical(tmp_path, batch_size):
    x, y = data()
    opt = optax.adam(1e-2)
    kw = dict(optimizer=opt, key=jax.random.key(5), batch_size=batch_size)
    whole = fit(params0(), LOSS, x, y, epochs=7, **kw)
    first = fit(params0(), LOSS, x, y, epochs=3, **kw)
    path = tmp_path / "run.ckpt"
    checkpoint.save(path, {"params": first.params, "opt_state": first.opt_state})
    template = {"params": params0(), "opt_state": opt.init(params0())}
    restored = checkpoint.load(path, template=template)
    rest = fit(restored["params"], LOSS, x, y, epochs=7, opt_state=restored["opt_state"], initial_epoch=3, **kw)
    chex.assert_trees_all_equal(rest.params, whole.params)
    np.testing.assert_array_equal(rest.history.train_loss[3:], whole.history.train_loss[3:])
    assert np.all(np.isnan(np.asarray(rest.history.train_loss[:3])))


def test_resume_arguments_validated():
    x, y = data()
    with pytest.raises(ValueError, match="initial_epoch"):
        fit(params0(), LOSS, x, y, optimizer=optax.sgd(0.1), key=jax.random.key(0), epochs=3, initial_epoch=3)
    with pytest.raises(ValueError, match="opt_state does not fit"):
        fit(params0(), LOSS, x, y, optimizer=optax.adam(0.1), key=jax.random.key(0), epochs=3,
            opt_state=optax.sgd(0.1).init(params0()))
    with pytest.raises(ValueError, match="on_nonfinite"):
        fit(params0(), LOSS, x, y, optimizer=optax.sgd(0.1), key=jax.random.key(0), epochs=3, on_nonfinite="warn")


def test_device_count_must_divide_batch():
    x, y = data()
    devices = jax.devices() * 3  # the same device three times: only the divisibility check matters here
    with pytest.raises(ValueError, match="not divisible by the 3 devices"):
        fit(params0(), LOSS, x, y, optimizer=optax.sgd(0.1), key=jax.random.key(0), epochs=1, batch_size=8,
            devices=devices)


def test_single_device_mesh_equals_default():
    x, y = data()
    kw = dict(optimizer=optax.adam(1e-2), key=jax.random.key(0), epochs=3, batch_size=8)
    a = fit(params0(), LOSS, x, y, **kw)
    b = fit(params0(), LOSS, x, y, devices=jax.devices()[:1], **kw)
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7), a.params, b.params)


DATA_PARALLEL_SCRIPT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np, optax
    from jaxnn import heads, nn
    from jaxnn.train import Supervised, fit

    assert jax.device_count() == 8, jax.devices()
    net = nn.MLP([32], 3, activation="tanh")
    loss = Supervised(net.apply, heads.multiclass())
    kx, ky = jax.random.split(jax.random.key(0))
    x = jax.random.normal(kx, (100, 4))
    y = jax.random.randint(ky, (100,), 0, 3)
    p0 = net.init(jax.random.key(1), (-1, 4))[1]
    kw = dict(optimizer=optax.adam(1e-2), key=jax.random.key(2), epochs=4, batch_size=16)
    one = fit(p0, loss, x, y, **kw)
    many = fit(p0, loss, x, y, devices=jax.devices(), **kw)
    # The params really were replicated over all 8 devices.
    assert len(many.params[0]["w"].sharding.device_set) == 8
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6), one.params, many.params)
    np.testing.assert_allclose(one.history.train_loss, many.history.train_loss, rtol=2e-5)
    try:
        fit(p0, loss, x, y, devices=jax.devices(), **{**kw, "batch_size": 12})
    except ValueError as err:
        assert "not divisible by the 8 devices" in str(err)
    else:
        raise AssertionError("batch 12 on 8 devices must raise")
    print("DATA-PARALLEL-OK")
    """
)


def test_data_parallel_on_eight_simulated_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", DATA_PARALLEL_SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "DATA-PARALLEL-OK" in out.stdout


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _multi_process_or_skip() -> None:
    """Skips where two JAX processes cannot talk: no loopback sockets, or no Gloo (Windows)."""
    if sys.platform == "win32":
        pytest.skip("JAX's CPU collectives (Gloo) are not available on Windows")
    try:
        _free_port()
    except OSError as err:
        pytest.skip(f"no loopback socket for the coordinator: {err}")


def test_multi_process_training_matches_one_process(tmp_path):
    # The worked example of examples/distributed.py as two real processes of two simulated
    # devices each, talking over Gloo on loopback, against the same script in one process of
    # four devices: fit (data-parallel) to float32 rounding, and the sweep over a 2 x 2
    # ("models", "data") mesh bit for bit, every member's params and history read by both.
    _multi_process_or_skip()
    script = os.path.join(os.path.dirname(__file__), "..", "examples", "distributed.py")
    args = ["--epochs", "3", "--members", "6", "--data-axis", "2"]
    env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    port = _free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, script, "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2",
             "--process-id", str(i), "--save", str(tmp_path / f"process{i}.npz"), *args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for i in range(2)
    ]
    try:
        outs = [p.communicate(timeout=300) for p in procs]
    finally:  # a process left waiting for its peer is stopped, not leaked
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    single = subprocess.run([sys.executable, script, "--save", str(tmp_path / "single.npz"), *args], env=env,
                            capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]

    def fit_losses(text):
        line = next(t for t in text.splitlines() if "train loss per epoch" in t)
        return [float(v) for v in line.split("epoch [")[1].rstrip("]").split(",")]

    assert "process 0/2, 4 devices, batch 32" in outs[0][0] and "process 0/1, 4 devices, batch 32" in single.stdout
    assert "sweep of 6 models over 2 x 2 devices" in outs[1][0]
    assert fit_losses(outs[0][0]) == fit_losses(outs[1][0])  # every process holds the same replicated result
    np.testing.assert_allclose(fit_losses(outs[0][0]), fit_losses(single.stdout), rtol=1e-4)
    saved = [np.load(tmp_path / name) for name in ("process0.npz", "process1.npz", "single.npz")]
    assert sorted(saved[0].files) == sorted(saved[2].files) and "[0]['w']" in "".join(saved[0].files)
    for name in saved[2].files:
        assert saved[2][name].shape[0] == 6, name
        np.testing.assert_array_equal(saved[0][name], saved[2][name], err_msg=name)
        np.testing.assert_array_equal(saved[1][name], saved[2][name], err_msg=name)


def test_sweep_freezes_a_diverging_member_and_leaves_the_others():
    # Least squares with learning rates below and far above 2/L: the large one overflows.
    x, _ = data()
    y = x @ jnp.ones((4, 1))
    net = nn.MLP([], 1)
    loss = Supervised(net.apply, heads.regression())
    init_fn = lambda k: net.init(k, (-1, 4))[1]
    keys = jax.random.split(jax.random.key(0), 3)
    lrs = jnp.array([1e-4, 1e-3, 50.0])
    r = sweep(init_fn, loss, 10.0 * x, y, make_optimizer=optax.sgd, keys=keys,
              hyperparams={"learning_rate": lrs}, epochs=40)
    e = np.asarray(r.history.nonfinite_epoch)
    assert e[0] == -1 and e[1] == -1 and e[2] >= 0
    run = np.asarray(r.history.epochs_run)
    assert run[0] == run[1] == 40 and run[2] == e[2]
    tl = np.asarray(r.history.train_loss)
    assert np.all(np.isfinite(tl[:2])) and np.all(np.isnan(tl[2, e[2]:])) and np.all(np.isfinite(tl[2, : e[2]]))
    assert all(bool(jnp.all(jnp.isfinite(leaf[2]))) for leaf in jax.tree.leaves(r.params))
    # The healthy members equal their own fits.
    for i in (0, 1):
        init_key, shuffle_key = jax.random.split(keys[i])
        one = fit(init_fn(init_key), loss, 10.0 * x, y, optimizer=optax.sgd(float(lrs[i])), key=shuffle_key, epochs=40)
        np.testing.assert_allclose(tl[i], one.history.train_loss, rtol=1e-4)


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"epochs": True}, TypeError, "epochs must be an int"),
        ({"epochs": 2.0}, TypeError, "epochs must be an int"),
        ({"epochs": 2**31}, ValueError, r"epochs must be an int in \[1, 10_000_000\]"),
        ({"early_stopping": "patience=2.5"}, TypeError, r"patience must be an int >= 1 \(a whole number of epochs\)"),
        ({"early_stopping": "patience=True"}, TypeError, r"patience must be an int >= 1 \(a whole number of epochs\)"),
        ({"early_stopping": "min_delta=nan"}, ValueError, "min_delta must be a finite number"),
        ({"progress_chunk": 0}, ValueError, "progress_chunk"),
    ],
)
def test_bad_run_settings_are_refused_before_compiling(change, error, match):
    x, y = data()
    kw = {"epochs": 3}
    if "early_stopping" in change:
        name, value = change.pop("early_stopping").split("=")
        es = {"patience": {"2.5": 2.5, "True": True}.get(value), "min_delta": float(value) if name == "min_delta" else 0.0}
        kw.update(validation_data=(x, y), early_stopping=EarlyStopping(**{name: es[name]}))
    kw.update(change)
    with pytest.raises(error, match=match):
        fit(params0(), LOSS, x, y, optimizer=optax.sgd(0.1), key=jax.random.key(0), **kw)


def test_negative_class_labels_are_called_what_they_are():
    x, y = data()
    y = y.at[3].set(-1)
    with pytest.raises(ValueError, match="never negative") as info:
        fit(params0(), LOSS, x, y, optimizer=optax.sgd(0.1), key=jax.random.key(0), epochs=1)
    assert "give the output layer" not in str(info.value)


def test_text_labels_are_a_type_error_naming_the_encoding():
    x, _ = data(4)
    with pytest.raises(TypeError, match="np.unique"):
        fit(params0(), LOSS, x, np.array(["a", "b", "a", "c"]), optimizer=optax.sgd(0.1), key=jax.random.key(0), epochs=1)


def test_opt_state_of_other_params_is_refused_with_the_path():
    x, y = data()
    other = nn.MLP([5], 3).init(jax.random.key(0), (-1, 4))[1]  # same structure, other shapes
    with pytest.raises(ValueError, match=r"opt_state.*belongs to other params"):
        fit(params0(), LOSS, x, y, optimizer=optax.adam(0.1), key=jax.random.key(0), epochs=2,
            opt_state=optax.adam(0.1).init(other))


def test_params_whose_computation_failed_raise_instead_of_hanging():
    # An init too large for memory fails asynchronously; fit must report it, not wait for
    # ever on the failed buffer (XLA would).
    script = textwrap.dedent(
        """
        import jax, jax.numpy as jnp
        from jaxnn import heads, nn, optim, train
        net = nn.MLP([100000, 100000], 1)
        _, params = net.init(jax.random.key(0), (-1, 2))
        try:
            train.fit(params, train.Supervised(net.apply, heads.regression()), jnp.ones((4, 2)),
                      jnp.ones((4, 1)), optimizer=optim.sgd(0.1), key=jax.random.key(0), epochs=1)
        except MemoryError as err:
            print("MemoryError:", err)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert "MemoryError: the params" in out.stdout and "40000000000 bytes" in out.stdout, out.stderr[-2000:]
