"""Test data shared by the distribution tests: a crowd split unevenly.

About 90% of the labels are missing, and the first half of every global
batch (what replica or worker 0 receives) holds most of the observed ones, so
a loss normalised per replica would train differently from one device.
"""

import numpy as np

N, D, K, M = 256, 6, 4, 16
BATCH = 64


def uneven_crowd(seed=0):
    """`(x, crowd_labels)`: (N, D) float32 features and (N, M) int64 labels."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, D)).astype("float32")
    truth = rng.integers(0, K, size=N)
    labels = np.full((N, M), -1, dtype="int64")
    for n in range(N):
        count = rng.integers(2, 4) if (n % BATCH) < BATCH // 2 else int(rng.random() < 0.3)
        for m in rng.choice(M, size=count, replace=False):
            labels[n, m] = truth[n] if rng.random() < 0.7 else rng.integers(0, K)
    return x, labels
