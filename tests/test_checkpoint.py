"""Tests for jaxnn.checkpoint: round trips, metadata, corruption, atomicity."""

import io
import os
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import checkpoint
from jaxnn._version import __version__
from jaxnn.checkpoint import CheckpointError

FORMATS = ["safetensors", "npz"]


@pytest.fixture(params=FORMATS)
def file_format(request):
    return request.param


def mlp_params(seed=0, sizes=(3, 5, 2)):
    """An MLP-like tree: a list of layer dicts plus odd leaves of every kind."""
    keys = jax.random.split(jax.random.key(seed), len(sizes))
    layers = [
        {
            "w": jax.random.normal(k, (n_in, n_out), jnp.float32),
            "b": jnp.linspace(-1.0, 1.0, n_out, dtype=jnp.float32),
        }
        for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:])
    ]
    return {"layers": layers, "scale": jnp.float32(0.5)}


def odd_leaves_tree():
    """Leaves that stress bit-exactness and the dtype/structure encodings."""
    return {
        "bf16": jnp.asarray([1.5, -0.0, 3.0e38, 1e-40], dtype=jnp.bfloat16),
        "f16": np.array([[np.nan, -np.inf], [65504.0, -0.0]], dtype=np.float16),
        "nan_payload": np.array([0x7FC00001, 0xFF800123], np.uint32).view(np.float32),
        "ints": (np.int8(-7), np.arange(4, dtype=np.uint8), jnp.int32(-3)),
        "mask": np.array([True, False, True]),
        "c64": np.array([1 + 2j, -0.5j], np.complex64),
        "empty": np.zeros((0, 3), np.float32),
        "python": [1, 2.5, True, -3j, None],
        "nested": {"tuple": (), "list": [], "dict": {}, "ints": {7: jnp.zeros((1, 2)), -1: 0.5}},
    }


def assert_bit_equal(loaded, expected):
    """Same tree structure, leaf types, dtypes, shapes and bytes."""
    assert jax.tree_util.tree_structure(loaded) == jax.tree_util.tree_structure(expected)
    for a, b in zip(jax.tree_util.tree_leaves(loaded), jax.tree_util.tree_leaves(expected)):
        if isinstance(b, (bool, int, float, complex)):
            assert type(a) is type(b) and a == b
            continue
        assert isinstance(a, jax.Array), type(a)
        assert a.dtype == np.asarray(b).dtype and a.shape == np.shape(b)
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def adam_after_steps(params, n_steps=3):
    """An Adam state with non-trivial moments and count."""
    opt = optax.adam(1e-2)
    state = opt.init(params)
    for step in range(n_steps):
        grads = jax.tree_util.tree_map(lambda p: jnp.sin(p + step), params)
        _, state = opt.update(grads, state, params)
    return opt, state


# --------------------------------------------------------------------------- #
# Round trips
# --------------------------------------------------------------------------- #


def test_mlp_params_round_trip_without_template(tmp_path, file_format):
    params = mlp_params()
    path = checkpoint.save(tmp_path / "p.ckpt", params, file_format=file_format)
    assert path == tmp_path / "p.ckpt"
    assert_bit_equal(checkpoint.load(path), params)


def test_odd_leaves_round_trip_bit_exact(tmp_path, file_format):
    tree = odd_leaves_tree()
    checkpoint.save(tmp_path / "odd", tree, file_format=file_format)
    loaded = checkpoint.load(tmp_path / "odd")
    assert_bit_equal(loaded, tree)
    # None leaves and empty containers are part of the rebuilt structure.
    assert loaded["python"][4] is None
    assert loaded["nested"]["tuple"] == () and loaded["nested"]["list"] == []
    assert loaded["nested"]["dict"] == {} and list(loaded["nested"]["ints"]) == [-1, 7]
    # The template path gives the same result.
    assert_bit_equal(checkpoint.load(tmp_path / "odd", template=tree), tree)


def test_scalar_root_and_empty_trees(tmp_path, file_format):
    for i, tree in enumerate([jnp.float32(2.25), 5, {}, optax.EmptyState(), None]):
        path = tmp_path / f"t{i}"
        checkpoint.save(path, tree, file_format=file_format)
        assert_bit_equal(checkpoint.load(path, template=tree), tree)
    assert checkpoint.load(tmp_path / "t3") == {}  # a NamedTuple comes back as a dict
    assert checkpoint.load(tmp_path / "t4") is None


def test_adam_state_round_trip_and_identical_continuation(tmp_path, file_format):
    params = mlp_params()
    opt, state = adam_after_steps(params)
    checkpoint.save(tmp_path / "s", {"params": params, "opt": state}, file_format=file_format)

    template = {"params": params, "opt": opt.init(params)}
    loaded = checkpoint.load(tmp_path / "s", template=template)
    assert isinstance(loaded["opt"][0], optax.ScaleByAdamState)
    assert isinstance(loaded["opt"][1], optax.EmptyState)
    assert loaded["opt"][0].count.dtype == jnp.int32 and int(loaded["opt"][0].count) == 3
    assert_bit_equal(loaded, {"params": params, "opt": state})

    # Optax continues from the restored state exactly as from the original.
    grads = jax.tree_util.tree_map(jnp.cos, params)
    want, _ = opt.update(grads, state, params)
    got, _ = opt.update(grads, loaded["opt"], loaded["params"])
    assert_bit_equal(got, want)


def test_adam_state_without_template_gives_dicts(tmp_path, file_format):
    params = mlp_params()
    _, state = adam_after_steps(params)
    checkpoint.save(tmp_path / "s", state, file_format=file_format)
    loaded = checkpoint.load(tmp_path / "s")
    assert isinstance(loaded, tuple) and len(loaded) == 2
    assert set(loaded[0]) == {"count", "mu", "nu"} and loaded[1] == {}
    assert_bit_equal(loaded[0]["mu"], state[0].mu)
    assert_bit_equal(loaded[0]["nu"], state[0].nu)
    assert int(loaded[0]["count"]) == 3


def test_chain_and_inject_hyperparams_states_round_trip(tmp_path, file_format):
    params = mlp_params(seed=1)
    opt = optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.inject_hyperparams(optax.sgd)(learning_rate=0.1, momentum=0.9),
        optax.adamw(1e-3, weight_decay=1e-2),
    )
    state = opt.init(params)
    for step in range(2):
        grads = jax.tree_util.tree_map(lambda p: p * (step + 1.0), params)
        _, state = opt.update(grads, state, params)
    checkpoint.save(tmp_path / "c", state, file_format=file_format)
    loaded = checkpoint.load(tmp_path / "c", template=opt.init(params))
    assert_bit_equal(loaded, state)
    grads = jax.tree_util.tree_map(jnp.tanh, params)
    assert_bit_equal(opt.update(grads, loaded, params)[0], opt.update(grads, state, params)[0])


def test_template_of_shape_dtype_structs(tmp_path, file_format):
    params = mlp_params()
    opt, state = adam_after_steps(params)
    checkpoint.save(tmp_path / "s", state, file_format=file_format)
    abstract = jax.eval_shape(opt.init, params)
    assert_bit_equal(checkpoint.load(tmp_path / "s", template=abstract), state)


def test_loaded_leaves_are_jax_arrays_usable_under_jit(tmp_path, file_format):
    params = mlp_params()
    checkpoint.save(tmp_path / "p", params, file_format=file_format)
    loaded = checkpoint.load(tmp_path / "p")

    @jax.jit
    def forward(p, x):
        for layer in p["layers"]:
            x = jnp.tanh(x @ layer["w"] + layer["b"])
        return x * p["scale"]

    x = jnp.ones((4, 3))
    np.testing.assert_array_equal(forward(loaded, x), forward(params, x))


def test_float64_needs_x64(tmp_path, file_format):
    tree = {"f64": np.array([0.1, 1 / 3]), "i64": np.array([2**40])}
    checkpoint.save(tmp_path / "x", tree, file_format=file_format)
    with pytest.raises(CheckpointError, match=r"\['f64'\].*jax_enable_x64"):
        checkpoint.load(tmp_path / "x")
    with jax.enable_x64(True):
        assert_bit_equal(checkpoint.load(tmp_path / "x"), tree)


def test_custom_pytree_node_needs_template(tmp_path, file_format):
    @jax.tree_util.register_pytree_node_class
    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b

        def tree_flatten(self):
            return (self.a, self.b), None

        @classmethod
        def tree_unflatten(cls, aux, children):
            return cls(*children)

    tree = {"pair": Pair(jnp.arange(3.0), {"x": jnp.int32(4)})}
    checkpoint.save(tmp_path / "c", tree, file_format=file_format)
    with pytest.raises(CheckpointError, match=r"Pair.*\['pair'\].*template="):
        checkpoint.load(tmp_path / "c")
    loaded = checkpoint.load(tmp_path / "c", template=tree)
    assert isinstance(loaded["pair"], Pair)
    assert_bit_equal(loaded, tree)


# --------------------------------------------------------------------------- #
# Metadata and formats
# --------------------------------------------------------------------------- #


def test_metadata_readable(tmp_path, file_format):
    params = mlp_params()
    config = {"sizes": [3, 5, 2], "activation": "tanh", "lr": 1e-3, "extra": None}
    checkpoint.save(tmp_path / "m", params, config=config, file_format=file_format)
    meta = checkpoint.load_metadata(tmp_path / "m")
    assert meta.file_format == file_format
    assert meta.jaxnn_version == __version__
    assert meta.format_version == 1
    assert meta.config == config
    assert meta.paths == (
        "['layers'][0]['b']",
        "['layers'][0]['w']",
        "['layers'][1]['b']",
        "['layers'][1]['w']",
        "['scale']",
    )
    assert meta.shapes == ((5,), (3, 5), (2,), (5, 2), ())
    assert meta.dtypes == ("float32",) * 5
    assert checkpoint.load_metadata(tmp_path / "m").config is not config
    checkpoint.save(tmp_path / "n", params, file_format=file_format)
    assert checkpoint.load_metadata(tmp_path / "n").config is None


def test_file_is_in_the_requested_format(tmp_path):
    checkpoint.save(tmp_path / "a", {"x": jnp.ones(2)}, file_format="safetensors")
    checkpoint.save(tmp_path / "b", {"x": jnp.ones(2)}, file_format="npz")
    a, b = (tmp_path / "a").read_bytes(), (tmp_path / "b").read_bytes()
    header_len = int.from_bytes(a[:8], "little")
    assert a[8:9] == b"{" and b"jaxnn.checkpoint" in a[8 : 8 + header_len]
    assert zipfile.is_zipfile(io.BytesIO(b))
    with np.load(io.BytesIO(b), allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["leaf_0"], np.ones(2, np.float32))


def test_auto_format_and_fallback_without_safetensors(tmp_path, monkeypatch):
    checkpoint.save(tmp_path / "auto", [jnp.ones(2)])
    assert checkpoint.load_metadata(tmp_path / "auto").file_format == "safetensors"

    monkeypatch.setattr(checkpoint, "_import_safetensors", lambda: None)
    checkpoint.save(tmp_path / "fallback", [jnp.ones(2)])
    assert checkpoint.load_metadata(tmp_path / "fallback").file_format == "npz"
    assert_bit_equal(checkpoint.load(tmp_path / "fallback"), [jnp.ones(2)])
    with pytest.raises(ImportError, match="pip install"):
        checkpoint.save(tmp_path / "x", [jnp.ones(2)], file_format="safetensors")
    # Metadata of a safetensors file is readable without the package; arrays are not.
    assert checkpoint.load_metadata(tmp_path / "auto").file_format == "safetensors"
    with pytest.raises(CheckpointError, match="pip install"):
        checkpoint.load(tmp_path / "auto")


def test_save_validates_arguments(tmp_path):
    tree = {"x": jnp.ones(2)}
    with pytest.raises(ValueError, match="JSON"):
        checkpoint.save(tmp_path / "a", tree, config={"f": jnp.ones(2)})
    with pytest.raises(ValueError, match="JSON"):
        checkpoint.save(tmp_path / "a", tree, config={"lr": float("nan")})
    with pytest.raises(ValueError, match="str keys"):
        checkpoint.save(tmp_path / "a", tree, config={1: 2})
    with pytest.raises(ValueError, match="file_format"):
        checkpoint.save(tmp_path / "a", tree, file_format="pickle")
    with pytest.raises(ValueError, match=r"\['name'\].*str"):
        checkpoint.save(tmp_path / "a", {"name": "mlp"})
    with pytest.raises(ValueError, match=r"\['o'\].*dtype object"):
        checkpoint.save(tmp_path / "a", {"o": np.array([None, 1])})
    with pytest.raises(ValueError, match="key_data"):
        checkpoint.save(tmp_path / "a", {"k": jax.random.key(0)})
    with pytest.raises(ValueError, match=r"dict key \(1, 2\)"):
        checkpoint.save(tmp_path / "a", {(1, 2): jnp.ones(1)})
    with pytest.raises(ValueError, match="mixes key types"):
        checkpoint.save(tmp_path / "a", {1: jnp.ones(1), "a": jnp.ones(1)})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        checkpoint.save(tmp_path / "missing_dir" / "a", tree)
    assert os.listdir(tmp_path) == []


def test_overwrite(tmp_path, file_format):
    path = tmp_path / "p"
    checkpoint.save(path, [jnp.zeros(2)], file_format=file_format)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        checkpoint.save(path, [jnp.ones(2)], overwrite=False, file_format=file_format)
    assert_bit_equal(checkpoint.load(path), [jnp.zeros(2)])
    checkpoint.save(path, [jnp.ones(2)], file_format=file_format)
    assert_bit_equal(checkpoint.load(path), [jnp.ones(2)])
    assert os.listdir(tmp_path) == ["p"]


# --------------------------------------------------------------------------- #
# Atomicity
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("exc", [RuntimeError("disk died"), KeyboardInterrupt()])
def test_crash_mid_save_keeps_previous_checkpoint(tmp_path, file_format, monkeypatch, exc):
    path = tmp_path / "ckpt"
    old = mlp_params(seed=0)
    checkpoint.save(path, old, file_format=file_format)
    before = path.read_bytes()

    writer = "_write_safetensors" if file_format == "safetensors" else "_write_npz"
    real_writer = getattr(checkpoint, writer)

    def crash_halfway(f, tensors, meta):
        buffer = io.BytesIO()
        real_writer(buffer, tensors, meta)
        f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        raise exc

    monkeypatch.setattr(checkpoint, writer, crash_halfway)
    with pytest.raises(type(exc)):
        checkpoint.save(path, mlp_params(seed=1), file_format=file_format)
    # A crash on the very first save leaves no file at all.
    with pytest.raises(type(exc)):
        checkpoint.save(tmp_path / "fresh", old, file_format=file_format)

    assert os.listdir(tmp_path) == ["ckpt"]  # no temporary litter
    assert path.read_bytes() == before
    assert_bit_equal(checkpoint.load(path), old)


# --------------------------------------------------------------------------- #
# Load validation
# --------------------------------------------------------------------------- #


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        checkpoint.load(missing)
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        checkpoint.load_metadata(missing)


def test_every_truncation_is_detected(tmp_path, file_format):
    path = tmp_path / "p"
    checkpoint.save(path, mlp_params(), config={"a": 1}, file_format=file_format)
    data = path.read_bytes()
    cut = tmp_path / "cut"
    step = 1 if file_format == "safetensors" else 7  # npz is ~4x larger
    for length in [*range(0, len(data), step), len(data) - 1]:
        cut.write_bytes(data[:length])
        with pytest.raises(CheckpointError):
            checkpoint.load(cut)


@pytest.mark.parametrize("mask", [0x01, 0x80])
def test_every_byte_flip_is_detected_safetensors(tmp_path, mask):
    tree = {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.ones(3, jnp.bfloat16), "c": 7}
    path = tmp_path / "p"
    checkpoint.save(path, tree, config={"lr": 0.1}, file_format="safetensors")
    data = path.read_bytes()
    bad = tmp_path / "bad"
    for i in range(len(data)):
        flipped = bytearray(data)
        flipped[i] ^= mask
        bad.write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError):
            checkpoint.load(bad)


def test_byte_flips_npz_never_return_wrong_values(tmp_path):
    # Zip headers hold fields nobody reads (timestamps, "version made by"), so
    # some flips are harmless; none may change the loaded values.
    tree = {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.ones(3, jnp.bfloat16), "c": 7}
    path = tmp_path / "p"
    checkpoint.save(path, tree, file_format="npz")
    data = path.read_bytes()
    bad = tmp_path / "bad"
    detected = 0
    for i in range(0, len(data), 2):
        flipped = bytearray(data)
        flipped[i] ^= 0x01
        bad.write_bytes(bytes(flipped))
        try:
            loaded = checkpoint.load(bad)
        except CheckpointError:
            detected += 1
        else:
            assert_bit_equal(loaded, tree)
    assert detected > 0.8 * (len(data) // 2)


def test_flipped_data_byte_names_the_leaf(tmp_path):
    tree = {"a": jnp.zeros(4), "b": jnp.arange(8.0)}
    path = tmp_path / "p"
    checkpoint.save(path, tree, file_format="safetensors")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x40  # last byte of the last tensor, leaf ['b']
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"leaf \['b'\] fails its SHA-256"):
        checkpoint.load(path)


def test_not_a_jaxnn_checkpoint(tmp_path):
    import safetensors.numpy

    safetensors.numpy.save_file({"w": np.ones(3, np.float32)}, str(tmp_path / "plain.st"))
    np.savez(tmp_path / "plain.npz", w=np.ones(3))
    (tmp_path / "text").write_text("hello, this is not a checkpoint\n")
    with pytest.raises(CheckpointError, match="not a jaxnn checkpoint"):
        checkpoint.load(tmp_path / "plain.st")
    with pytest.raises(CheckpointError, match="not a jaxnn checkpoint"):
        checkpoint.load(tmp_path / "plain.npz")
    with pytest.raises(CheckpointError, match="not a jaxnn checkpoint"):
        checkpoint.load_metadata(tmp_path / "text")
    with pytest.raises(CheckpointError, match="empty"):
        (tmp_path / "empty").write_bytes(b"")
        checkpoint.load(tmp_path / "empty")


class _Tripwire:
    """Unpickling this appends to ``calls``: proves whether pickle ran."""

    calls: list = []

    def __reduce__(self):
        return (_Tripwire.calls.append, ("unpickled",))


def test_pickled_member_is_refused_not_unpickled(tmp_path):
    path = tmp_path / "p"
    checkpoint.save(path, {"w": jnp.ones(3)}, file_format="npz")
    # Rebuild the archive with leaf_0 replaced by a pickled object array.
    payload = io.BytesIO()
    np.save(payload, np.array([_Tripwire()], dtype=object), allow_pickle=True)
    rewritten = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(rewritten, "w") as dst:
        for item in src.infolist():
            data = payload.getvalue() if item.filename == "leaf_0.npy" else src.read(item)
            dst.writestr(item.filename, data)
    path.write_bytes(rewritten.getvalue())
    with pytest.raises(CheckpointError, match="corrupted"):
        checkpoint.load(path)
    assert _Tripwire.calls == []


def test_newer_format_version_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "_FORMAT_VERSION", 99)
    checkpoint.save(tmp_path / "future", [jnp.ones(1)])
    monkeypatch.setattr(checkpoint, "_FORMAT_VERSION", 1)
    with pytest.raises(CheckpointError, match="format version 99.*upgrade jaxnn"):
        checkpoint.load(tmp_path / "future")


def test_template_structure_mismatch_names_the_key_path(tmp_path, file_format):
    params = mlp_params()
    checkpoint.save(tmp_path / "p", params, file_format=file_format)

    renamed = {"layers": [{"w": l["w"], "bias": l["b"]} for l in params["layers"]], "scale": 1.0}
    match = r"at \['layers'\]\[0\].*\['b', 'w'\].*\['bias', 'w'\]"
    with pytest.raises(CheckpointError, match=match):
        checkpoint.load(tmp_path / "p", template=renamed)

    shorter = {"layers": params["layers"][:1], "scale": params["scale"]}
    with pytest.raises(CheckpointError, match=r"at \['layers'\].*list of length 2.*length 1"):
        checkpoint.load(tmp_path / "p", template=shorter)

    as_tuple = {"layers": tuple(params["layers"]), "scale": params["scale"]}
    with pytest.raises(CheckpointError, match=r"at \['layers'\].*list.*tuple"):
        checkpoint.load(tmp_path / "p", template=as_tuple)


def test_template_optimizer_mismatch(tmp_path, file_format):
    params = mlp_params()
    _, state = adam_after_steps(params)
    checkpoint.save(tmp_path / "s", state, file_format=file_format)
    sgd_state = optax.sgd(0.1, momentum=0.9).init(params)
    with pytest.raises(CheckpointError, match=r"at \[0\].*ScaleByAdamState.*TraceState"):
        checkpoint.load(tmp_path / "s", template=sgd_state)


def test_template_shape_and_dtype_mismatch(tmp_path, file_format):
    params = mlp_params()
    checkpoint.save(tmp_path / "p", params, file_format=file_format)

    wrong_shape = jax.tree_util.tree_map(lambda x: x, params)
    wrong_shape["layers"][1]["w"] = jnp.zeros((2, 5))
    with pytest.raises(
        CheckpointError, match=r"\['layers'\]\[1\]\['w'\].*shape \(5, 2\).*shape \(2, 5\)"
    ):
        checkpoint.load(tmp_path / "p", template=wrong_shape)

    wrong_dtype = jax.tree_util.tree_map(lambda x: x.astype(jnp.bfloat16), params)
    with pytest.raises(CheckpointError, match=r"\['layers'\]\[0\]\['b'\].*float32.*bfloat16"):
        checkpoint.load(tmp_path / "p", template=wrong_dtype)

    python_scalar = dict(params, scale=0.5)
    with pytest.raises(CheckpointError, match=r"\['scale'\].*float32.*Python float"):
        checkpoint.load(tmp_path / "p", template=python_scalar)

    with pytest.raises(ValueError, match="template"):
        checkpoint.load(tmp_path / "p", template={"layers": "abc", "scale": 1.0})
