#!/usr/bin/env python3
"""Times pandas on Kaggle's facial-keypoints training.csv and prints MB/s (10^6 bytes/s), the
unit the load_keypoints criterion bench prints for gpubench's reader.

  read_csv          pandas.read_csv alone: Image stays one string per row
  seeds' way        read_csv, then np.fromstring(Image, sep=' ') per row, vstack, /255 as
                    float32, targets (y-48)/48: what the seed projects (Nouri's kfkd.py) do

Usage: loader_pandas.py TRAINING_CSV [REPEATS]   (best of REPEATS, default 3)
"""
import os
import sys
import time

import numpy as np
import pandas as pd


def read_csv(path):
    return pd.read_csv(path)


def seeds_way(path):
    df = pd.read_csv(path)
    df["Image"] = df["Image"].apply(lambda im: np.fromstring(im, sep=" "))
    x = (np.vstack(df["Image"].values) / 255.0).astype(np.float32)
    y = ((df[df.columns[:-1]].values - 48) / 48).astype(np.float32)
    return x, y


def main():
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    mb = os.path.getsize(path) / 1e6
    print(f"{path}: {mb:.1f} MB, pandas {pd.__version__}, numpy {np.__version__}")
    for name, load in [("pandas read_csv", read_csv), ("pandas seeds' way", seeds_way)]:
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            load(path)
            best = min(best, time.perf_counter() - start)
        print(f"{name:20s} {best:7.3f} s {mb / best:8.1f} MB/s")


if __name__ == "__main__":
    main()
