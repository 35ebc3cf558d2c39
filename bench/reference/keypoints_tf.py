#!/usr/bin/env python3
"""Nouri's net2 in TensorFlow/Keras: the reference for gpubench's `keypoints` workload.

Trains the same model (8,051,502 parameters, 'valid' convolutions, ReLU, weights drawn as
burn draws them) with the same loss (MSE over the present keypoints only), optimizer (Adam,
lr 1e-3 and burn's ε 1e-5, which makes Keras' update burn's to the formula), batch size and
training images as `gpubench run --workload keypoints --synthetic N`, on seeded synthetic data
of the same shapes, or on a Kaggle-format `training.csv` (`--data`, 20 % held out as gpubench
does). Reports throughput the way gpubench does: images trained after the warm-up step divided
by their training time, validation excluded. Prints one machine-readable line:

    images_per_s=… batch=32 params=8051502 tf=2.21.0 … losses=0.5123,0.2210,0.2125

This file also holds the harness that turtle_tf.py uses.
"""

import argparse
import csv
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TF's start-up chatter off stderr

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

SIDE = 96
POINTS = 15
PARAMS = 8_051_502
# Points labelled in nearly all Kaggle rows; 70 % of rows label only these (as in gpubench).
COMMON = (0, 1, 10, 14)


def parse_args(description, data=False):
    p = argparse.ArgumentParser(description=description)
    if data:
        p.add_argument("--data", help="Kaggle-format training.csv to train on instead of "
                       "synthetic images (e.g. from `gpubench data synth`)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--images", type=int, default=256,
                   help="synthetic images, 20 %% held out as gpubench's --synthetic does")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: all cores)")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args()
    if args.threads:
        # Must happen before TF runs its first op.
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    return args


def train_images(n, batch):
    """Images gpubench trains on per epoch out of n: round(20 %) held out for validation
    (at least 1, at most n − 1), then the last partial batch dropped."""
    n_val = min(max(int(n * 0.2 + 0.5), 1), max(n - 1, 1))
    steps = (n - n_val) // batch
    if steps == 0:
        raise SystemExit(f"{n - n_val} training images, fewer than one batch of {batch}")
    return steps * batch


def benchmark(workload, model, loss, x, y, args, params):
    """Trains `model` on (x, y) and prints gpubench's steady-state images/s."""
    counted = model.count_params()
    assert counted == params, f"{workload}: {counted} parameters, expected {params}"
    adam = keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-5)
    model.compile(optimizer=adam, loss=loss)

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.shuffle(len(x), seed=args.seed).batch(args.batch_size, drop_remainder=True)
    if args.threads:
        options = tf.data.Options()
        options.threading.private_threadpool_size = args.threads
        ds = ds.with_options(options)

    # The warm-up step traces the train function, as gpubench's first step compiles kernels;
    # the timed fit reuses it. fit reads the loss back to Python at each epoch's end, which
    # syncs the way gpubench's epoch-end loss read does.
    start = time.perf_counter()
    model.fit(ds.take(1), epochs=1, shuffle=False, verbose=0)
    warmup_s = time.perf_counter() - start
    start = time.perf_counter()
    history = model.fit(ds, epochs=args.epochs, shuffle=False, verbose=0)
    train_s = time.perf_counter() - start

    images = args.epochs * len(x)
    threads = args.threads or len(os.sched_getaffinity(0))
    print(f"images_per_s={images / train_s:.1f} batch={args.batch_size} params={counted} "
          f"tf={tf.__version__} keras={keras.__version__} workload={workload} "
          f"train_images={len(x)} epochs={args.epochs} threads={threads} "
          f"warmup_s={warmup_s:.3f} train_s={train_s:.3f} "
          f"final_loss={history.history['loss'][-1]:.4f} "
          f"losses={','.join(f'{v:.4f}' for v in history.history['loss'])}", flush=True)


def masked_mse(y_true, y_pred):
    """gpubench's loss: y_true packs the targets and their mask side by side; missing
    keypoints add nothing, and the sum is divided by the number of present ones."""
    y, mask = y_true[:, :2 * POINTS], y_true[:, 2 * POINTS:]
    return tf.reduce_sum(mask * tf.square(y_pred - y)) / tf.maximum(tf.reduce_sum(mask), 1.0)


def burn_init(fan_in):
    """burn's default for Conv2d and Linear, weights and biases alike: uniform in
    ±1/√fan_in (Kaiming-uniform with gain 1/√3), where Keras would use Glorot and zero biases."""
    bound = fan_in ** -0.5
    init = keras.initializers.RandomUniform(-bound, bound)
    return {"kernel_initializer": init, "bias_initializer": init}


def net2():
    """conv32@3 → pool2 → conv64@2 → pool2 → conv128@2 → pool2 → fc500 → fc500 → 30."""
    return keras.Sequential([
        keras.Input((SIDE, SIDE, 1)),
        layers.Conv2D(32, 3, activation="relu", **burn_init(1 * 3 * 3)),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 2, activation="relu", **burn_init(32 * 2 * 2)),
        layers.MaxPooling2D(2),
        layers.Conv2D(128, 2, activation="relu", **burn_init(64 * 2 * 2)),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(500, activation="relu", **burn_init(128 * 11 * 11)),
        layers.Dense(500, activation="relu", **burn_init(500)),
        layers.Dense(2 * POINTS, **burn_init(500)),
    ])


def synthetic(n, seed):
    """Gray images in gpubench's value range, targets in (−1, 1) as (pixel − 48) / 48, and
    the Kaggle-like mask; only the shapes and the mask matter for speed."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.25, 0.35, (n, SIDE, SIDE, 1)).astype(np.float32)
    y = rng.uniform(-0.8, 0.8, (n, 2 * POINTS)).astype(np.float32)
    common = np.zeros(2 * POINTS, dtype=bool)
    for k in COMMON:
        common[2 * k:2 * k + 2] = True
    sparse = rng.random(n) < 0.7
    mask = np.where(sparse[:, None] & ~common, 0.0, 1.0).astype(np.float32)
    return x, np.concatenate([y, mask], axis=1)


def kaggle(path, batch, seed):
    """The training images of a Kaggle-format training.csv as gpubench reads it: pixels / 255,
    coordinates as (c − 48) / 48, a mask of the present ones; a seeded 20 % held out."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    targets = np.array([[float(v) if v else np.nan for v in r[:2 * POINTS]] for r in rows],
                       dtype=np.float32)
    x = np.array([np.array(r[2 * POINTS].split(), dtype=np.float32) for r in rows]) / 255.0
    keep = np.random.default_rng(seed).permutation(len(rows))[:train_images(len(rows), batch)]
    mask = (~np.isnan(targets)).astype(np.float32)
    y = np.nan_to_num((targets - 48.0) / 48.0)
    return x[keep].reshape(-1, SIDE, SIDE, 1), np.concatenate([y, mask], axis=1)[keep]


def main():
    args = parse_args("Keras reference for gpubench's keypoints workload (Nouri's net2).", True)
    if args.data:
        x, y = kaggle(args.data, args.batch_size, args.seed)
    else:
        x, y = synthetic(train_images(args.images, args.batch_size), args.seed)
    benchmark("keypoints", net2(), masked_mse, x, y, args, PARAMS)


if __name__ == "__main__":
    main()
