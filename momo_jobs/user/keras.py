"""Keras callback that prints training metrics by the metric line protocol (DESIGN §4).

Imported only by scripts that use it: it loads Keras (and so TensorFlow or the
configured backend); ``import momo_jobs`` alone does not.
"""
from __future__ import annotations

import os
import shutil
from typing import Any, TextIO

import keras

from ..job.protocol import log_metric, log_param

__all__ = ["MetricsCallback", "resume_callbacks"]


def resume_callbacks() -> list:
    """In a momo job, Keras' ``BackupAndRestore`` in the job's ``MOMO_CHECKPOINT_DIR``
    (kept across its attempts): a retried attempt resumes at the epoch the last one
    reached. Outside a job (no such variable), none. ``double_checkpoint`` keeps the
    epoch before as well: an attempt killed while it wrote its backup (kill -9, a lost
    node) leaves that one half-written, and the next attempt resumes from the one before
    (or, killed while writing its first, starts over)."""
    folder = os.environ.get("MOMO_CHECKPOINT_DIR")
    if not folder:
        return []
    return [_BackupAndRestore(backup_dir=os.path.join(folder, "keras-backup"), double_checkpoint=True)]


class _BackupAndRestore(keras.callbacks.BackupAndRestore):
    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except OSError as exc:  # a backup cut short, and none before it
            print(f"momo-jobs: the backup in {self.backup_dir} can't be read ({exc}); training starts over",
                  flush=True)
            shutil.rmtree(self.backup_dir, ignore_errors=True)


def _plain(value: Any) -> Any:
    """A Python number for NumPy / tensor scalars; anything else unchanged."""
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return value
    if getattr(value, "shape", None) == () or getattr(value, "ndim", None) == 0:
        try:
            return value.item() if hasattr(value, "item") else float(value)
        except (TypeError, ValueError):
            pass
    if hasattr(value, "numpy"):  # an eager tensor
        try:
            return _plain(value.numpy())
        except (TypeError, ValueError, RuntimeError):
            pass
    return value


def learning_rate_param(optimizer: Any) -> Any:
    """The optimizer's learning rate as a parameter: a number, or for a schedule its
    name and its numbers (``CosineDecay(initial_learning_rate=0.0, warmup_target=0.003, …)``)."""
    rate = getattr(optimizer, "_learning_rate", None)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        config = {k: v for k, v in rate.get_config().items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool)}
        return f"{type(rate).__name__}({', '.join(f'{k}={v:g}' for k, v in config.items())})"
    try:
        # At float32's precision: 0.1, not 0.10000000149011612.
        return float(f"{float(keras.ops.convert_to_numpy(optimizer.learning_rate)):.7g}")
    except (AttributeError, TypeError, ValueError):
        return None


class MetricsCallback(keras.callbacks.Callback):
    """Print every value of Keras' logs as a metric line.

    - at the end of each epoch: ``{"metric": "loss", "value": …, "epoch": 1}``
      (``epoch`` is 1-based, as Keras' progress bar counts);
    - with ``every_n_batches=N``, every N training batches:
      ``{"metric": "batch_loss", "value": …, "step": 300}`` (``step`` is the global
      batch count since training began; the name is prefixed so a chart keeps batch
      and epoch points apart);
    - after ``model.evaluate(..., callbacks=[cb])`` outside ``fit``: ``test_loss``, ….

    When training begins it prints the run's parameters (``{"param": "learning_rate",
    "value": 1.0}``): the optimizer and its learning rate, the epochs, and the batch
    size when given (Keras 3 does not tell callbacks the batch size ``fit`` got).

    Keras' own progress bar can stay on: the protocol takes a metric object that
    ends a line even when the bar's text stands before it.
    """

    def __init__(self, every_n_batches: int | None = None, batch_prefix: str = "batch_",
                 test_prefix: str = "test_", file: TextIO | None = None, batch_size: int | None = None):
        super().__init__()
        if every_n_batches is not None and (isinstance(every_n_batches, bool) or int(every_n_batches) < 1):
            raise ValueError("every_n_batches must be a positive integer or None")
        self.every_n_batches = int(every_n_batches) if every_n_batches else None
        self.batch_prefix = batch_prefix
        self.test_prefix = test_prefix
        self.file = file
        self.batch_size = batch_size
        self.global_step = 0
        self._in_fit = False

    def _emit(self, logs: dict | None, prefix: str = "", step: int | None = None,
              epoch: int | None = None) -> None:
        for name, value in (logs or {}).items():
            log_metric(prefix + str(name), _plain(value), step=step, epoch=epoch, file=self.file)

    def on_train_begin(self, logs=None):
        self._in_fit = True
        optimizer = getattr(self.model, "optimizer", None)
        params = {"optimizer": type(optimizer).__name__ if optimizer is not None else None,
                  "learning_rate": learning_rate_param(optimizer) if optimizer is not None else None,
                  "epochs": (self.params or {}).get("epochs"), "batch_size": self.batch_size}
        for name, value in params.items():
            if value is not None:
                log_param(name, value, file=self.file)

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_train_batch_end(self, batch, logs=None):
        self.global_step += 1
        if self.every_n_batches and self.global_step % self.every_n_batches == 0:
            self._emit(logs, self.batch_prefix, step=self.global_step)

    def on_epoch_end(self, epoch, logs=None):
        self._emit(logs, epoch=int(epoch) + 1)

    def on_test_end(self, logs=None):
        # Inside fit, validation results already arrive as val_* in the epoch's logs.
        if not self._in_fit:
            self._emit(logs, self.test_prefix)
