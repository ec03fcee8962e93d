"""Tests for jaxnn.checkpoint: round trips against templates, metadata, corruption, atomicity."""

import io
import os
import pathlib
import struct
import subprocess
import sys
import zipfile
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import checkpoint
from jaxnn._version import __version__
from jaxnn.checkpoint import CheckpointError, _format

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
        if type(b) in (bool, int, float, complex):  # not np.float64, a float subclass
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


def test_mlp_params_round_trip(tmp_path, file_format):
    params = mlp_params()
    path = checkpoint.save(tmp_path / "p.ckpt", params, file_format=file_format)
    assert path == tmp_path / "p.ckpt"
    assert_bit_equal(checkpoint.load(path, params), params)
    # Only the template's structure, shapes and dtypes count, not its values.
    assert_bit_equal(checkpoint.load(path, template=mlp_params(seed=7)), params)


def test_odd_leaves_round_trip_bit_exact(tmp_path, file_format):
    tree = odd_leaves_tree()
    checkpoint.save(tmp_path / "odd", tree, file_format=file_format)
    loaded = checkpoint.load(tmp_path / "odd", tree)
    assert_bit_equal(loaded, tree)
    # None and empty containers hold no leaves: they come from the template.
    assert loaded["python"][4] is None
    assert loaded["nested"]["tuple"] == () and loaded["nested"]["list"] == []
    assert loaded["nested"]["dict"] == {} and list(loaded["nested"]["ints"]) == [-1, 7]


def test_scalar_root_and_empty_trees(tmp_path, file_format):
    for i, tree in enumerate([jnp.float32(2.25), 5, {}, optax.EmptyState(), None]):
        path = tmp_path / f"t{i}"
        checkpoint.save(path, tree, file_format=file_format)
        assert_bit_equal(checkpoint.load(path, template=tree), tree)
    assert isinstance(checkpoint.load(tmp_path / "t3", optax.EmptyState()), optax.EmptyState)
    assert checkpoint.load(tmp_path / "t4", None) is None
    assert checkpoint.load_leaves(tmp_path / "t1") == {"": 5}  # the root's key path is ""
    assert checkpoint.load_leaves(tmp_path / "t4") == {}


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


def test_load_without_template_is_one_short_line_naming_the_fix(tmp_path, file_format, monkeypatch):
    params = mlp_params()
    opt, state = adam_after_steps(params)
    path = tmp_path / "run.ckpt"
    checkpoint.save(path, {"params": params, "opt_state": state}, file_format=file_format)
    # Refused before the file is read.
    monkeypatch.setattr(_format, "read_file", lambda *a: pytest.fail("the file was read"))
    with pytest.raises(TypeError) as info:
        checkpoint.load(path)
    message = str(info.value)
    assert "template" in message and "optimizer.init(params)" in message
    assert "checkpoint.load_leaves(path)" in message
    assert "\n" not in message and "PyTreeDef" not in message and len(message) < 400
    monkeypatch.undo()
    # The fix the message names works, and the metadata stays readable without a template.
    loaded = checkpoint.load(path, template={"params": params, "opt_state": opt.init(params)})
    assert_bit_equal(loaded, {"params": params, "opt_state": state})
    assert "['opt_state'][0].mu['layers'][0]['w']" in checkpoint.load_metadata(path).paths


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
    loaded = checkpoint.load(tmp_path / "p", jax.eval_shape(lambda: params))

    @jax.jit
    def forward(p, x):
        for layer in p["layers"]:
            x = jnp.tanh(x @ layer["w"] + layer["b"])
        return x * p["scale"]

    x = jnp.ones((4, 3))
    np.testing.assert_array_equal(forward(loaded, x), forward(params, x))


def test_float64_needs_x64(tmp_path, file_format):
    # np.float64 subclasses Python float; it is stored as a 0-d float64 array all the same.
    tree = {"f64": np.array([0.1, 1 / 3]), "i64": np.array([2**40]), "s": np.float64(0.25)}
    checkpoint.save(tmp_path / "x", tree, file_format=file_format)
    assert checkpoint.load_metadata(tmp_path / "x").dtypes == ("float64", "int64", "float64")
    with pytest.raises(CheckpointError, match=r"\['f64'\].*jax_enable_x64"):
        checkpoint.load(tmp_path / "x", tree)
    with pytest.raises(CheckpointError, match=r"\['f64'\].*jax_enable_x64"):
        checkpoint.load_leaves(tmp_path / "x")
    with jax.enable_x64(True):
        assert_bit_equal(checkpoint.load(tmp_path / "x", tree), tree)


def test_custom_pytree_node_round_trips_through_its_template(tmp_path, file_format):
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
    # A node registered without keys numbers its children.
    paths = ("['pair'][<flat index 0>]", "['pair'][<flat index 1>]['x']")
    assert checkpoint.load_metadata(tmp_path / "c").paths == paths
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
    assert meta.format_version == 2
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

    monkeypatch.setattr(_format, "import_safetensors", lambda: None)
    checkpoint.save(tmp_path / "fallback", [jnp.ones(2)])
    assert checkpoint.load_metadata(tmp_path / "fallback").file_format == "npz"
    assert_bit_equal(checkpoint.load(tmp_path / "fallback", [jnp.zeros(2)]), [jnp.ones(2)])
    with pytest.raises(ImportError, match="pip install"):
        checkpoint.save(tmp_path / "x", [jnp.ones(2)], file_format="safetensors")
    # Metadata of a safetensors file is readable without the package; arrays are not.
    assert checkpoint.load_metadata(tmp_path / "auto").file_format == "safetensors"
    with pytest.raises(CheckpointError, match="pip install"):
        checkpoint.load(tmp_path / "auto", [jnp.zeros(2)])


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
    assert_bit_equal(checkpoint.load(path, [jnp.ones(2)]), [jnp.zeros(2)])
    checkpoint.save(path, [jnp.ones(2)], file_format=file_format)
    assert_bit_equal(checkpoint.load(path, [jnp.ones(2)]), [jnp.ones(2)])
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

    writer = "write_safetensors" if file_format == "safetensors" else "write_npz"
    real_writer = getattr(_format, writer)

    def crash_halfway(f, tensors, meta):
        buffer = io.BytesIO()
        real_writer(buffer, tensors, meta)
        f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        raise exc

    monkeypatch.setattr(_format, writer, crash_halfway)
    with pytest.raises(type(exc)):
        checkpoint.save(path, mlp_params(seed=1), file_format=file_format)
    # A crash on the very first save leaves no file at all.
    with pytest.raises(type(exc)):
        checkpoint.save(tmp_path / "fresh", old, file_format=file_format)

    assert os.listdir(tmp_path) == ["ckpt"]  # no temporary litter
    assert path.read_bytes() == before
    assert_bit_equal(checkpoint.load(path, old), old)


# --------------------------------------------------------------------------- #
# Load validation
# --------------------------------------------------------------------------- #


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.safetensors"
    for read in (lambda p: checkpoint.load(p, [jnp.ones(2)]), checkpoint.load_leaves, checkpoint.load_metadata):
        with pytest.raises(FileNotFoundError, match="nope.safetensors"):
            read(missing)


def test_every_truncation_is_detected(tmp_path, file_format):
    path = tmp_path / "p"
    checkpoint.save(path, mlp_params(), config={"a": 1}, file_format=file_format)
    data = path.read_bytes()
    cut = tmp_path / "cut"
    step = 1 if file_format == "safetensors" else 7  # npz is ~4x larger
    for length in [*range(0, len(data), step), len(data) - 1]:
        cut.write_bytes(data[:length])
        with pytest.raises(CheckpointError):
            checkpoint.load(cut, mlp_params())


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
            checkpoint.load(bad, tree)


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
            loaded = checkpoint.load(bad, tree)
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
    for read in (lambda p: checkpoint.load(p, tree), checkpoint.load_leaves):
        with pytest.raises(CheckpointError, match=r"leaf \['b'\] fails its SHA-256"):
            read(path)


def test_not_a_jaxnn_checkpoint(tmp_path):
    import safetensors.numpy

    safetensors.numpy.save_file({"w": np.ones(3, np.float32)}, str(tmp_path / "plain.st"))
    np.savez(tmp_path / "plain.npz", w=np.ones(3))
    (tmp_path / "text").write_text("hello, this is not a checkpoint\n")
    template = {"w": jnp.ones(3)}
    with pytest.raises(CheckpointError, match="not a jaxnn checkpoint"):
        checkpoint.load(tmp_path / "plain.st", template)
    with pytest.raises(CheckpointError, match="not a jaxnn checkpoint"):
        checkpoint.load_leaves(tmp_path / "plain.npz")
    with pytest.raises(CheckpointError, match="not a jaxnn checkpoint"):
        checkpoint.load_metadata(tmp_path / "text")
    with pytest.raises(CheckpointError, match="empty"):
        (tmp_path / "empty").write_bytes(b"")
        checkpoint.load(tmp_path / "empty", template)


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
    for read in (lambda p: checkpoint.load(p, {"w": jnp.ones(3)}), checkpoint.load_leaves):
        with pytest.raises(CheckpointError, match="corrupted"):
            read(path)
    assert _Tripwire.calls == []


def test_newer_format_version_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(_format, "FORMAT_VERSION", 99)
    checkpoint.save(tmp_path / "future", [jnp.ones(1)])
    monkeypatch.undo()
    with pytest.raises(CheckpointError, match="format version 99.*upgrade jaxnn"):
        checkpoint.load(tmp_path / "future", [jnp.ones(1)])


def test_template_key_path_mismatch_names_the_first_differing_path(tmp_path, file_format):
    params = mlp_params()
    checkpoint.save(tmp_path / "p", params, file_format=file_format)

    renamed = {"layers": [{"w": l["w"], "bias": l["b"]} for l in params["layers"]], "scale": 1.0}
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(tmp_path / "p", template=renamed)
    message = str(info.value)
    assert "leaf 0 is ['layers'][0]['b'] in the checkpoint but ['layers'][0]['bias'] in the template" in message
    assert "missing from the checkpoint: ['layers'][0]['bias'], ['layers'][1]['bias'];" in message
    assert "not in the template: ['layers'][0]['b'], ['layers'][1]['b'])" in message
    assert "\n" not in message

    shorter = {"layers": params["layers"][:1], "scale": params["scale"]}
    match = (r"leaf 2 is \['layers'\]\[1\]\['b'\] in the checkpoint but \['scale'\] in the template "
             r"\(missing from the checkpoint: none; not in the template: \['layers'\]\[1\]\['b'\], "
             r"\['layers'\]\[1\]\['w'\]\)")
    with pytest.raises(CheckpointError, match=match):
        checkpoint.load(tmp_path / "p", template=shorter)

    longer = dict(params, zz=jnp.zeros(2))
    with pytest.raises(CheckpointError, match=r"leaf 5 is no leaf in the checkpoint but \['zz'\] in the template"):
        checkpoint.load(tmp_path / "p", template=longer)

    # None is a tree without leaves (it meant "no template" before templates were required).
    with pytest.raises(CheckpointError, match=r"the template has no leaves.*checkpoint\.load_leaves\(path\)"):
        checkpoint.load(tmp_path / "p", template=None)


def test_long_path_lists_are_cut_short(tmp_path):
    checkpoint.save(tmp_path / "p", {f"k{i:02d}": jnp.zeros(1) for i in range(10)})
    template = {f"j{i:02d}": jnp.zeros(1) for i in range(10)}
    with pytest.raises(CheckpointError, match=r"\['j03'\] and 6 more; not in the template: .*\['k03'\] and 6 more\)"):
        checkpoint.load(tmp_path / "p", template)


def test_the_template_decides_lists_and_tuples(tmp_path, file_format):
    # A list and a tuple have the same key paths ([0], [1], ...): the template's container wins.
    params = mlp_params()
    checkpoint.save(tmp_path / "p", params, file_format=file_format)
    as_tuple = {"layers": tuple(params["layers"]), "scale": params["scale"]}
    loaded = checkpoint.load(tmp_path / "p", template=as_tuple)
    assert isinstance(loaded["layers"], tuple)
    assert_bit_equal(loaded, as_tuple)


def test_template_optimizer_mismatch(tmp_path, file_format):
    params = mlp_params()
    _, state = adam_after_steps(params)
    checkpoint.save(tmp_path / "s", state, file_format=file_format)
    sgd_state = optax.sgd(0.1, momentum=0.9).init(params)
    match = r"leaf 0 is \[0\]\.count in the checkpoint but \[0\]\.trace\['layers'\]\[0\]\['b'\] in the template"
    with pytest.raises(CheckpointError, match=match):
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
    with pytest.raises(CheckpointError, match=r"\['scale'\]: the checkpoint has a float32\[\] array but the template "
                                              r"expects a Python float"):
        checkpoint.load(tmp_path / "p", template=python_scalar)

    with pytest.raises(ValueError, match=r"template is not a valid checkpoint template: its leaf at \['layers'\] has type str"):
        checkpoint.load(tmp_path / "p", template={"layers": "abc", "scale": 1.0})


def test_template_of_python_scalars(tmp_path, file_format):
    tree = {"epoch": 3, "lr": 0.5, "done": False, "w": jnp.ones(2)}
    checkpoint.save(tmp_path / "p", tree, file_format=file_format)
    loaded = checkpoint.load(tmp_path / "p", {"epoch": 0, "lr": 0.0, "done": True, "w": jnp.zeros(2)})
    assert_bit_equal(loaded, tree)
    with pytest.raises(CheckpointError, match=r"\['epoch'\]: the checkpoint has a Python int but the template expects a Python float"):
        checkpoint.load(tmp_path / "p", dict(tree, epoch=0.0))
    with pytest.raises(CheckpointError, match=r"\['epoch'\].*dtype int64 \(a Python int\).*shape \(\) dtype int32"):
        checkpoint.load(tmp_path / "p", dict(tree, epoch=jnp.int32(0)))


def test_load_leaves_gives_every_leaf_by_key_path(tmp_path, file_format):
    params = mlp_params()
    opt, state = adam_after_steps(params)
    tree = {"params": params, "opt_state": state, "epoch": 3}
    checkpoint.save(tmp_path / "s", tree, file_format=file_format)
    leaves = checkpoint.load_leaves(tmp_path / "s")
    flat = jax.tree_util.tree_flatten_with_path(tree)[0]
    assert list(leaves) == [jax.tree_util.keystr(p) for p, _ in flat]  # the saved tree's leaf order
    assert list(leaves) == list(checkpoint.load_metadata(tmp_path / "s").paths)
    assert leaves["['epoch']"] == 3 and type(leaves["['epoch']"]) is int
    assert_bit_equal(list(leaves.values()), [leaf for _, leaf in flat])
    assert isinstance(leaves["['opt_state'][0].mu['layers'][1]['w']"], jax.Array)


# --------------------------------------------------------------------------- #
# Untrusted .npz: sizes declared by the zip directory
# --------------------------------------------------------------------------- #


def _zip_bomb_member(uncompressed_mib):
    """A raw deflate stream of ``uncompressed_mib`` MiB of zeros, about 1 KB per MiB.

    Built from one compressed MiB repeated: after a full flush the compressor starts
    afresh, so every MiB compresses to the same bytes.
    """
    mib = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(mib) + c.flush(zlib.Z_FULL_FLUSH)
    stream = block * uncompressed_mib + c.flush()
    crc = 0
    for _ in range(uncompressed_mib):
        crc = zlib.crc32(mib, crc)
    return stream, crc


def _zip_with_raw_member(members, name, stream, crc, size):
    """A zip archive of ``members`` (stored) plus ``name``: a given deflate stream."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for member_name, data in members.items():
            zf.writestr(member_name, data)
    body = out.getvalue()
    # Append the deflated member by hand (zipfile cannot write a precompressed one):
    # local header + data, then the old central directory plus one entry, then the end record.
    end = body.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<LL", body[end + 12 : end + 20])
    count = struct.unpack("<H", body[end + 10 : end + 12])[0]
    local_offset = cd_offset
    encoded = name.encode()
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 33, crc, len(stream), size, len(encoded), 0)
    central = struct.pack(
        "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 33, crc, len(stream), size, len(encoded), 0, 0, 0, 0, 0, local_offset
    )
    new_cd = body[cd_offset : cd_offset + cd_size] + central + encoded
    new_cd_offset = local_offset + len(local) + len(encoded) + len(stream)
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count + 1, count + 1, len(new_cd), new_cd_offset, 0)
    return body[:cd_offset] + local + encoded + stream + new_cd + eocd


def _forbid_inflating(monkeypatch):
    """Makes opening any deflated zip member fail the test (stored members still open)."""
    real = zipfile._get_decompressor

    def checked(compress_type):
        if compress_type != zipfile.ZIP_STORED:
            pytest.fail("a compressed member was opened for inflating")
        return real(compress_type)

    monkeypatch.setattr(zipfile, "_get_decompressor", checked)


def test_npz_zip_bomb_is_refused_before_inflating(tmp_path, monkeypatch):
    path = tmp_path / "p.npz"
    checkpoint.save(path, {"w": jnp.ones(3)}, file_format="npz")
    with zipfile.ZipFile(path) as zf:
        members = {m.filename: zf.read(m) for m in zf.infolist() if m.filename != "leaf_0.npy"}
    stream, crc = _zip_bomb_member(1024)  # 1 GiB of zeros in about 1 MB
    bomb = _zip_with_raw_member(members, "leaf_0.npy", stream, crc, 1 << 30)
    assert len(bomb) < 1.1e6
    path.write_bytes(bomb)
    # The archive is a valid zip that really inflates: the first MiB comes out as zeros.
    with zipfile.ZipFile(path) as zf, zf.open("leaf_0.npy") as member:
        assert member.read(1 << 20) == bytes(1 << 20)

    _forbid_inflating(monkeypatch)
    for read in (lambda p: checkpoint.load(p, {"w": jnp.ones(3)}), checkpoint.load_leaves, checkpoint.load_metadata):
        with pytest.raises(CheckpointError, match=r"declares 10737\d+ bytes of content in a \d+-byte file"):
            read(path)


def test_npz_leaf_larger_than_its_metadata_is_refused(tmp_path, monkeypatch):
    # Within the overall limit, but one member declares more than its metadata's shape holds.
    path = tmp_path / "p.npz"
    checkpoint.save(path, {"w": jnp.ones(3), "b": jnp.zeros(2)}, file_format="npz")
    with zipfile.ZipFile(path) as zf:
        members = {m.filename: zf.read(m) for m in zf.infolist() if m.filename != "leaf_1.npy"}
    stream, crc = _zip_bomb_member(1)
    path.write_bytes(_zip_with_raw_member(members, "leaf_1.npy", stream, crc, 1 << 20))
    _forbid_inflating(monkeypatch)
    with pytest.raises(CheckpointError, match=r"corrupted: leaf \['w'\] declares 1048576 bytes but its metadata says 12"):
        checkpoint.load(path, {"w": jnp.ones(3), "b": jnp.zeros(2)})


# --------------------------------------------------------------------------- #
# Byte-reproducible files
# --------------------------------------------------------------------------- #

_SAVE = """
import sys
import jax.numpy as jnp
from jaxnn import checkpoint
tree = {"w": jnp.arange(6.0).reshape(2, 3), "opt": (jnp.int32(3), [jnp.ones(2, jnp.bfloat16)]), "n": 4}
config = {"z": 1, "a": {"y": [1, 2], "b": "\\u00e9"}, "m": None}
for name in sys.argv[1:]:
    checkpoint.save(name, tree, config=config, file_format=name.rsplit(".", 1)[1])
"""


def test_same_tree_and_config_give_identical_bytes(tmp_path):
    # safetensors keeps its metadata in a hash map seeded afresh for every map, so without
    # sorting two saves in one process already differ about half the time; 16 saves per
    # format here, and one more from another process.
    names = [str(tmp_path / f"{i}.{fmt}") for fmt in FORMATS for i in range(16)]
    subprocess.run([sys.executable, "-c", _SAVE, *names[:-1]], check=True, timeout=120)
    exec(_SAVE.replace("sys.argv[1:]", "names[-1:]"), {"names": names})
    for fmt in FORMATS:
        contents = {pathlib.Path(n).read_bytes() for n in names if n.endswith(fmt)}
        assert len(contents) == 1, f"{len(contents)} different {fmt} files"
    # The rewritten safetensors header is one that safetensors itself reads.
    import safetensors.numpy

    loaded = safetensors.numpy.load_file(names[0])
    np.testing.assert_array_equal(loaded["leaf_3"], np.arange(6.0).reshape(2, 3))
    assert checkpoint.load_metadata(names[0]).config == {"z": 1, "a": {"y": [1, 2], "b": "\u00e9"}, "m": None}


def test_identical_bytes_do_not_depend_on_the_clock(tmp_path, file_format, monkeypatch):
    import time

    tree = mlp_params()
    checkpoint.save(tmp_path / "a", tree, config={"lr": 0.1}, file_format=file_format)
    later = time.time() + 3 * 86400 + 17
    monkeypatch.setattr(time, "time", lambda: later)
    monkeypatch.setattr(time, "time_ns", lambda: int(later * 1e9))
    checkpoint.save(tmp_path / "b", tree, config={"lr": 0.1}, file_format=file_format)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


# --------------------------------------------------------------------------- #
# Temporary files of killed saves
# --------------------------------------------------------------------------- #


def _leftover(directory, target_name, *, age_s=60.0, token="0123456789abcdef"):
    """A temporary file as a killed save of ``target_name`` leaves it, ``age_s`` old."""
    path = directory / f".{target_name}.{token}.tmp"
    path.write_bytes(b"half a checkpoint")
    old = path.stat().st_mtime - age_s
    os.utime(path, (old, old))
    return path


def test_next_save_removes_temp_files_of_killed_saves(tmp_path, file_format):
    target = tmp_path / "model.ckpt"
    stale = [_leftover(tmp_path, "model.ckpt", token=f"{i:016x}") for i in range(3)]
    # Not ours to remove: another target's temp file, a look-alike name, and a user's file.
    others = [
        _leftover(tmp_path, "other.ckpt"),
        _leftover(tmp_path, "model.ckpt", token="not-hex-at-all!!"),
        _leftover(tmp_path, "model.ckpt.0123456789abcdef", token="0123456789abcdef"),
    ]
    (tmp_path / "model.ckpt.tmp").write_bytes(b"a user's file")
    checkpoint.save(target, mlp_params(), file_format=file_format)
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in others)
    assert (tmp_path / "model.ckpt.tmp").exists()
    assert_bit_equal(checkpoint.load(target, mlp_params()), mlp_params())


def test_temp_file_of_a_live_or_newer_write_is_kept(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    target = tmp_path / "model.ckpt"
    live = _leftover(tmp_path, "model.ckpt", token="1" * 16)
    with open(live, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # as a writer that is still running holds it
        checkpoint.save(target, {"w": jnp.ones(2)})
        assert live.exists()
    newer = _leftover(tmp_path, "model.ckpt", token="2" * 16, age_s=-3600.0)  # written after ours began
    checkpoint.save(target, {"w": jnp.ones(2)})
    assert live.exists() is False  # its writer is gone now (the lock was released)
    assert newer.exists()


def test_killed_save_leaves_a_temp_file_the_next_save_removes(tmp_path):
    """A real kill -9 mid-write: the old checkpoint survives, the next save cleans up."""
    target = tmp_path / "model.ckpt"
    checkpoint.save(target, {"w": jnp.zeros(4)})
    before = target.read_bytes()
    script = f"""
import os, signal
from jaxnn import checkpoint
real = checkpoint._format.write_safetensors
def write_half_then_die(f, tensors, meta):
    buffer = __import__("io").BytesIO()
    real(buffer, tensors, meta)
    f.write(buffer.getvalue()[:100]); f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
checkpoint._format.write_safetensors = write_half_then_die
import jax.numpy as jnp
checkpoint.save({str(target)!r}, {{"w": jnp.ones(4)}}, file_format="safetensors")
"""
    proc = subprocess.run([sys.executable, "-c", script], check=False, timeout=120)
    assert proc.returncode == -9
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1 and target.read_bytes() == before
    old = leftovers[0].stat().st_mtime - 1
    os.utime(leftovers[0], (old, old))  # the next save begins after the kill
    checkpoint.save(target, {"w": jnp.ones(4)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ckpt"]


# --------------------------------------------------------------------------- #
# Files of earlier format versions
# --------------------------------------------------------------------------- #

DATA = pathlib.Path(__file__).parent / "data"


def _v1_params():
    """The params of the format-1 fixtures, as ``np.arange`` made them."""
    w0 = np.arange(12, dtype=np.float32).reshape(3, 4) / 8 - 0.5
    b0 = np.arange(4, dtype=np.float32) / 4
    w1 = np.arange(8, dtype=np.float32).reshape(4, 2) / 16 - 0.25
    b1 = np.array([0.5, -0.5], np.float32)
    return [(w0, b0), (w1, b1)]


@pytest.mark.parametrize("suffix", ["safetensors", "npz"])
def test_format_1_file_loads_against_a_template(suffix):
    # tests/data/checkpoint_v1.* were written by format 1's checkpoint.save from
    # {"params": _v1_params(), "opt_state": adam.init(params) after one adam(1e-2) update
    # whose gradient was the params themselves, "epoch": 7}, config={"sizes": [3, 4, 2]}.
    path = DATA / f"checkpoint_v1.{suffix}"
    meta = checkpoint.load_metadata(path)
    assert meta.format_version == 1 and meta.file_format == suffix
    assert meta.config == {"sizes": [3, 4, 2]}

    params = _v1_params()
    opt = optax.adam(1e-2)
    template = {"params": params, "opt_state": opt.init(params), "epoch": 0}
    loaded = checkpoint.load(path, template=template)

    assert loaded["epoch"] == 7 and type(loaded["epoch"]) is int
    for (w, b), (want_w, want_b) in zip(loaded["params"], params, strict=True):
        assert w.dtype == jnp.float32 and b.dtype == jnp.float32
        np.testing.assert_array_equal(w, want_w)
        np.testing.assert_array_equal(b, want_b)
    adam = loaded["opt_state"][0]
    assert isinstance(adam, optax.ScaleByAdamState) and isinstance(loaded["opt_state"][1], optax.EmptyState)
    assert adam.count.dtype == jnp.int32 and int(adam.count) == 1
    # One Adam step from zero moments with gradient g: mu = (1 - b1) g, nu = (1 - b2) g^2.
    for got_mu, got_nu, g in zip(jax.tree.leaves(adam.mu), jax.tree.leaves(adam.nu), jax.tree.leaves(params)):
        np.testing.assert_allclose(got_mu, 0.1 * g, rtol=1e-6, atol=0)
        np.testing.assert_allclose(got_nu, 0.001 * g * g, rtol=1e-6, atol=0)
    # Without a template, by key path.
    leaves = checkpoint.load_leaves(path)
    assert list(leaves) == list(meta.paths) and leaves["['epoch']"] == 7
    np.testing.assert_array_equal(leaves["['params'][1][0]"], params[1][0])
