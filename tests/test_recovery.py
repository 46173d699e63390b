"""Recovery: learned confusion matrices match known ones; beats majority vote.

Synthetic problem: K = 4 linearly separable classes. Six annotators with
known confusion matrices label about 60% of the items each: two are good
(diagonal 0.75), four share a systematic bias (they report class j + 1 for
class j 55% of the time), so majority vote is often wrong in a consistent
way, which a crowd layer can learn and undo.

Metric (GeoCrowdNet's): the mean over annotators of
`||A_hat_m - A_m||_F / ||A_m||_F`. Bound: below 0.15 (measured here: 0.10);
the crowd classifier is above 0.95 test accuracy and at least 10 points above
the same network trained on majority-vote labels (measured: 1.00 vs 0.84).
"""

import keras
import numpy as np

from keras_crowd import CrowdModel

N, D, K = 3000, 8, 4


def _true_confusions():
    good = np.full((K, K), 0.25 / (K - 1)) + np.eye(K) * (0.75 - 0.25 / (K - 1))
    biased = np.zeros((K, K))
    for j in range(K):
        biased[j, j] = 0.40
        biased[(j + 1) % K, j] = 0.55
        biased[(j + 2) % K, j] = 0.05
    return np.stack([good, good, biased, biased, biased, biased])


def _simulate(rng, centers):
    truth = rng.integers(0, K, size=N)
    x = (centers[truth] + rng.normal(size=(N, D))).astype("float32")
    confusions = _true_confusions()
    labels = np.full((N, len(confusions)), -1)
    for m, confusion in enumerate(confusions):
        observed = rng.random(N) < 0.6
        cumulative = confusion[:, truth].cumsum(axis=0)  # (K, N)
        draws = (rng.random(N)[None, :] > cumulative).sum(axis=0)
        labels[observed, m] = draws[observed]
    return x, labels, truth, confusions


def _majority_vote(labels):
    counts = np.stack([(labels == k).sum(axis=1) for k in range(K)], axis=1)
    return counts.argmax(axis=1)  # ties -> smallest class index


def _backbone():
    return keras.Sequential(
        [keras.Input((D,)), keras.layers.Dense(16, activation="relu"),
         keras.layers.Dense(K, activation="softmax")]
    )


def relative_confusion_error(estimated, true):
    errors = np.linalg.norm(estimated - true, axis=(1, 2)) / np.linalg.norm(true, axis=(1, 2))
    return float(errors.mean())


def test_confusions_are_recovered_and_classifier_beats_majority_vote():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(K, D)) * 3.0
    x, labels, truth, confusions = _simulate(rng, centers)
    x_test, _, truth_test, _ = _simulate(rng, centers)

    keras.utils.set_random_seed(0)
    model = CrowdModel(_backbone(), labels.shape[1], confusion_initializer="diagonally_dominant")
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x, labels, batch_size=128, epochs=40, verbose=0)
    crowd_accuracy = float((model.predict(x_test, verbose=0).argmax(1) == truth_test).mean())
    error = relative_confusion_error(model.confusion_matrices, confusions)

    mv = _majority_vote(labels)
    keras.utils.set_random_seed(0)
    baseline = _backbone()
    baseline.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    baseline.fit(x, mv, batch_size=128, epochs=40, verbose=0)
    mv_accuracy = float((baseline.predict(x_test, verbose=0).argmax(1) == truth_test).mean())

    print(f"confusion error {error:.4f}, crowd acc {crowd_accuracy:.4f}, MV acc {mv_accuracy:.4f}")
    assert error < 0.15
    assert crowd_accuracy > 0.95
    assert crowd_accuracy >= mv_accuracy + 0.10
