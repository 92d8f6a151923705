"""momo_jobs.keras.MetricsCallback and log_metric print lines the project's parser reads."""
import io
import subprocess
import sys

import pytest

from momo_jobs import log_metric
from momo_jobs.job.protocol import parse_metric_line

keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

from momo_jobs.keras import MetricsCallback  # noqa: E402  (needs keras)


def points(text):
    return [p for p in map(parse_metric_line, text.splitlines()) if p is not None]


def tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def tiny_data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 3, n), 3)
    return x, y


def test_log_metric_lines_parse():
    out = io.StringIO()
    log_metric("loss", 0.5, file=out)
    log_metric("loss", 0.25, step=120, file=out)
    log_metric("val_loss", 0.04, epoch=3, file=out)
    log_metric("acc", np.float32(0.75), step=1, epoch=1, file=out)
    got = [tuple(p) for p in points(out.getvalue())]
    assert got == [("loss", 0.5, None, None), ("loss", 0.25, 120, None),
                   ("val_loss", 0.04, None, 3), ("acc", 0.75, 1, 1)]


def test_epoch_lines_beside_keras_progress_bar(capsys):
    x, y = tiny_data()
    model = tiny_model()
    # verbose=1: Keras' own bar writes without a newline, so the first metric of each
    # epoch lands right after the bar's text (DESIGN §4) and must still count.
    model.fit(x, y, batch_size=16, epochs=3, verbose=1, validation_data=(x, y), callbacks=[MetricsCallback()])
    out = capsys.readouterr().out
    got = points(out)
    names = {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert {p.metric for p in got} == names
    for name in names:
        series = [p for p in got if p.metric == name]
        assert [p.epoch for p in series] == [1, 2, 3]
        assert all(p.step is None and isinstance(p.value, float) for p in series)
    assert any(not line.startswith("{") and parse_metric_line(line) for line in out.splitlines()), \
        "expected a metric line that shares its line with Keras' progress bar"


def test_every_n_batches_and_evaluate():
    x, y = tiny_data(64)  # 4 batches of 16 per epoch
    model = tiny_model()
    out = io.StringIO()
    callback = MetricsCallback(every_n_batches=3, file=out)
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[callback])
    model.evaluate(x, y, verbose=0, callbacks=[callback])
    got = points(out.getvalue())
    batch_loss = [p for p in got if p.metric == "batch_loss"]
    assert [p.step for p in batch_loss] == [3, 6, 9, 12]  # the global batch count across epochs
    assert all(p.epoch is None for p in batch_loss)
    assert [p.epoch for p in got if p.metric == "loss"] == [1, 2, 3]
    test = {p.metric: p for p in got if p.metric.startswith("test_")}
    assert set(test) == {"test_loss", "test_accuracy"}
    assert 0.0 <= test["test_accuracy"].value <= 1.0


def test_every_n_batches_must_be_positive():
    for bad in (0, -2, True):
        with pytest.raises(ValueError):
            MetricsCallback(every_n_batches=bad)


def test_import_momo_jobs_stays_light():
    code = ("import sys, momo_jobs, momo_jobs.examples.mnist_data, momo_jobs.examples\n"
            "heavy = sorted(m for m in ('tensorflow', 'keras', 'numpy', 'jax', 'torch') if m in sys.modules)\n"
            "print(heavy)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_callback_prints_the_run_s_parameters():
    from momo_jobs.job.protocol import ParamPoint, find_record

    x, y = tiny_data(32)
    model = tiny_model()
    out = io.StringIO()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[MetricsCallback(file=out, batch_size=16)])
    params = {found[0].param: found[0].value for found in map(find_record, out.getvalue().splitlines())
              if found is not None and isinstance(found[0], ParamPoint)}
    assert params["optimizer"] == "SGD" and params["epochs"] == 2 and params["batch_size"] == 16
    assert params["learning_rate"] == pytest.approx(0.01)

    schedule = keras.optimizers.schedules.CosineDecay(0.0, decay_steps=10, warmup_target=3e-3, warmup_steps=2)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="categorical_crossentropy")
    out = io.StringIO()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[MetricsCallback(file=out)])
    assert '{"param": "learning_rate", "value": "CosineDecay(initial_learning_rate=0, decay_steps=10' in out.getvalue()
    assert '"batch_size"' not in out.getvalue()
class _StopAfter(keras.callbacks.Callback):
    """Ends training as a killed attempt would: after ``epochs`` epochs, without finishing."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.epochs:
            raise KeyboardInterrupt


def test_resume_callbacks_resume_a_later_attempt_from_the_checkpoint_dir(tmp_path, monkeypatch):
    from momo_jobs.keras import resume_callbacks

    monkeypatch.delenv("MOMO_CHECKPOINT_DIR", raising=False)
    assert resume_callbacks() == []
    monkeypatch.setenv("MOMO_CHECKPOINT_DIR", str(tmp_path))
    x, y = tiny_data()
    with pytest.raises(KeyboardInterrupt):
        tiny_model().fit(x, y, epochs=5, verbose=0, callbacks=[*resume_callbacks(), _StopAfter(2)])
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))
    tiny_model().fit(x, y, epochs=5, verbose=0, callbacks=[*resume_callbacks(), record])
    assert seen == [2, 3, 4]  # the second attempt starts at the third epoch


def test_a_backup_cut_short_starts_training_over(tmp_path, monkeypatch, capsys):
    from momo_jobs.keras import resume_callbacks

    monkeypatch.setenv("MOMO_CHECKPOINT_DIR", str(tmp_path))
    (tmp_path / "keras-backup").mkdir()
    (tmp_path / "keras-backup" / "latest.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n cut short by kill -9")
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))
    x, y = tiny_data()
    tiny_model().fit(x, y, epochs=2, verbose=0, callbacks=[*resume_callbacks(), record])
    assert seen == [0, 1] and "training starts over" in capsys.readouterr().out
