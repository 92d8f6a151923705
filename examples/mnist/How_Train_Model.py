"""Train a convnet on MNIST: the classic Keras example, run as a momo-jobs job.

This is the training part of How_Train_Model.ipynb, exported to a script so it can
run as a job, detached from the notebook:

    python How_Train_Model.py                      # classic model, 12 epochs
    python How_Train_Model.py --model improved     # batch norm, Adam, light shifts
    python How_Train_Model.py --quick              # a few thousand images, 2 epochs
    python How_Train_Model.py --lr 0.5             # another learning rate (the improved model's peak)

``MOMO_EXAMPLE_QUICK=1`` and ``MOMO_EXAMPLE_MODEL=improved`` do the same as the flags
(handy in a job's environment). Metrics are printed as JSON lines (momo-jobs' metric
protocol) next to Keras' progress bar, every 10 batches by step (so a chart moves within
the first epoch) and at the end of each epoch; the options are printed as parameters
(``momo_jobs.log_param``), so ``momo-jobs compare`` and the Runs view show them beside the
results. The trained model goes to ``results/``.
``--lr`` sets the learning rate (e.g. for a sweep: ``momo-jobs sweep How_Train_Model.py
--grid lr=1.0,0.5``). Run as a job, training backs up to the job's ``MOMO_CHECKPOINT_DIR``
after each epoch, so a retried attempt resumes where the last one stopped.
"""
import argparse
import os
import time
from pathlib import Path

# Relative to the working folder, as in the notebook: a job runs a snapshot of this
# script with the script's own folder as its working folder.
DATA = Path("keras_mnist_data") / "mnist.npz"
NUM_CLASSES = 10
# The learning rate of each model unless --lr says otherwise (the improved model's is its
# peak, after warm-up).
DEFAULT_LR = {"classic": 1.0, "improved": 3e-3}
BATCH_METRICS_EVERY = 10
QUICK_TRAIN, QUICK_TEST, QUICK_EPOCHS = 4096, 1024, 2


def parse_args(argv=None):
    env = os.environ
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["classic", "improved"],
                        default=env.get("MOMO_EXAMPLE_MODEL", "classic"))
    parser.add_argument("--epochs", type=int, default=None, help="default: 12, or 2 in quick mode")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default: 1.0 for classic's Adadelta, a 3e-3 peak for improved's Adam)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true",
                        default=env.get("MOMO_EXAMPLE_QUICK", "") not in ("", "0", "false", "no"),
                        help=f"train on {QUICK_TRAIN} images for {QUICK_EPOCHS} epochs (a smoke test)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--results", type=Path, default=Path(env.get("MOMO_RESULTS_DIR") or "results"))
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = QUICK_EPOCHS if args.quick else 12
    if args.lr is None:
        args.lr = DEFAULT_LR[args.model]
    return args


def load_mnist(path=DATA, quick=False):
    """Keras' mnist.npz, scaled to [0, 1], with one-hot labels."""
    import numpy as np
    import keras

    path = Path(path)
    if not path.exists() and path.parts[-2:] == DATA.parts:
        # A fresh copy of the example: fetch or rebuild the data (momo_jobs.examples.mnist_data).
        from momo_jobs.examples.mnist_data import ensure_mnist

        path = ensure_mnist(path.parent.parent)
    with np.load(path) as f:
        x_train, y_train, x_test, y_test = f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    if quick:
        x_train, y_train = x_train[:QUICK_TRAIN], y_train[:QUICK_TRAIN]
        x_test, y_test = x_test[:QUICK_TEST], y_test[:QUICK_TEST]
    x_train = (x_train.astype("float32") / 255)[..., None]
    x_test = (x_test.astype("float32") / 255)[..., None]
    y_train = keras.utils.to_categorical(y_train, NUM_CLASSES)
    y_test = keras.utils.to_categorical(y_test, NUM_CLASSES)
    return (x_train, y_train), (x_test, y_test)


def build_model(kind="classic", steps=None, lr=None):
    """``classic``: the original Keras example, layer for layer. ``improved``: batch
    normalisation, an earlier pooling step that makes a third convolution cheap, random
    shifts of up to 2 pixels, and Adam with warm-up and cosine decay over ``steps``
    (the number of batches in the whole run). ``lr``: the learning rate (the improved
    model's peak), by default DEFAULT_LR's."""
    lr = DEFAULT_LR.get(kind) if lr is None else lr
    import keras
    from keras import layers

    if kind == "classic":
        model = keras.Sequential([
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ])
        # Keras 3's "adadelta" defaults to learning rate 0.001, which barely trains in
        # 12 epochs; the original example ran Keras 2's default, 1.0.
        optimizer = keras.optimizers.Adadelta(learning_rate=lr)
    elif kind == "improved":
        if not steps:
            raise ValueError("the improved model needs steps: the number of batches in the whole run")

        def conv(filters):
            return [layers.Conv2D(filters, (3, 3), use_bias=False),
                    layers.BatchNormalization(momentum=0.9), layers.Activation("relu")]

        model = keras.Sequential([
            keras.Input(shape=(28, 28, 1)),
            layers.RandomTranslation(0.08, 0.08, fill_mode="constant"),  # up to ±2 pixels
            *conv(32),
            layers.MaxPooling2D((2, 2)),
            *conv(64), *conv(64),
            layers.MaxPooling2D((2, 2)),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, use_bias=False),
            layers.BatchNormalization(momentum=0.9),
            layers.Activation("relu"),
            layers.Dropout(0.4),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ])
        warmup = min(200, steps // 4)
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=steps - warmup, warmup_target=lr, warmup_steps=warmup)
        optimizer = keras.optimizers.Adam(learning_rate=schedule)
    else:
        raise ValueError(f"unknown model {kind!r}: classic or improved")
    model.compile(loss="categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


def main(argv=None):
    args = parse_args(argv)
    import keras
    from momo_jobs import log_param
    from momo_jobs.keras import MetricsCallback, resume_callbacks

    for name in ("model", "lr", "epochs", "batch_size", "seed", "quick"):
        log_param(name, getattr(args, name))
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_mnist(args.data, quick=args.quick)
    print(f"x_train {x_train.shape}, x_test {x_test.shape}; model {args.model}, "
          f"{args.epochs} epochs{' (quick mode)' if args.quick else ''}")

    steps = args.epochs * -(-len(x_train) // args.batch_size)
    model = build_model(args.model, steps=steps, lr=args.lr)
    metrics = MetricsCallback(every_n_batches=BATCH_METRICS_EVERY, batch_size=args.batch_size)
    started = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=1,
              validation_data=(x_test, y_test), callbacks=[metrics, *resume_callbacks()])
    train_seconds = time.perf_counter() - started

    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0, callbacks=[metrics])
    print("Test loss:", test_loss)
    print("Test accuracy:", test_accuracy)
    print(f"Training took {train_seconds:.1f} s")

    args.results.mkdir(parents=True, exist_ok=True)
    model.save(args.results / "my_model.keras")
    model.save(args.results / "my_model.h5")  # the original tutorial's format (legacy HDF5)
    print(f"Saved {args.results / 'my_model.keras'} and my_model.h5")
    return test_accuracy


if __name__ == "__main__":
    main()
