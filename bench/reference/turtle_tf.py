#!/usr/bin/env python3
"""The seed's turtle-face CNN in TensorFlow/Keras: the reference for gpubench's `turtle` workload.

Same model (10,622 parameters, weights drawn as burn draws them), loss (sparse categorical
cross-entropy on logits), optimizer (Adam, lr 1e-3, ε 1e-5), batch size and training images as
`gpubench run --workload turtle --synthetic N`, timed as keypoints_tf.py describes. Prints one
machine-readable line:

    images_per_s=… batch=32 params=10622 tf=2.21.0 …
"""

import sys

import numpy as np

# Run as a script, this directory is on sys.path; the harness is shared with keypoints.
# No __pycache__ is written next to the sources.
sys.dont_write_bytecode = True
from keypoints_tf import (  # noqa: E402
    benchmark, burn_init, keras, layers, parse_args, train_images)

SIDE = 198
PARAMS = 10_622


def seed_cnn():
    """conv30@3 → maxpool10 → conv30@3 → maxpool10 → flatten → dense50 → dense2 (logits)."""
    return keras.Sequential([
        keras.Input((SIDE, SIDE, 3)),
        layers.Conv2D(30, 3, activation="relu", **burn_init(3 * 3 * 3)),
        layers.MaxPooling2D(10),  # strides by its size: 196 → 19, then 17 → 1
        layers.Conv2D(30, 3, activation="relu", **burn_init(30 * 3 * 3)),
        layers.MaxPooling2D(10),
        layers.Flatten(),
        layers.Dense(50, activation="relu", **burn_init(30)),
        layers.Dense(2, **burn_init(50)),
    ])


def synthetic(n, seed):
    """RGB images in [0, 1) and balanced face / no-face labels; only the shapes matter for speed."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, SIDE, SIDE, 3), dtype=np.float32)
    y = rng.integers(0, 2, n).astype(np.int32)
    return x, y


def main():
    args = parse_args("Keras reference for gpubench's turtle workload (the seed's CNN).")
    x, y = synthetic(train_images(args.images, args.batch_size), args.seed)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    benchmark("turtle", seed_cnn(), loss, x, y, args, PARAMS)


if __name__ == "__main__":
    main()
