"""Machine annotators: small classifiers trained on small random subsets.

As in the paper's MNIST / Fashion-MNIST study, each "annotator" is a weak
classifier trained on a few labelled examples; its predictions are its
labels. Here each one is a numpy softmax regression (multinomial logistic
regression with L2), trained by full-batch gradient descent: no scikit-learn.
"""

import numpy as np

from keras_crowd.data.validation import MISSING_LABEL
from keras_crowd.datasets.preprocessing import standardize_features
from keras_crowd.metrics.empirical_confusion import empirical_confusion_matrices
from keras_crowd.simulators.observation import observation_mask
from keras_crowd.simulators.sampling import checked_true_labels
from keras_crowd.simulators.simulated_crowd import SimulatedCrowd


def _softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_softmax_regression(features, labels, num_classes, l2=1e-2, learning_rate=0.5,
                           num_steps=200):
    """Multinomial logistic regression by full-batch gradient descent.

    Minimises ``mean CE + l2/2 * ||W||^2`` (bias not penalised).

    Args:
        features: (n, D) float features (standardise them first).
        labels: (n,) int classes.
        num_classes: K.
        l2: L2 penalty on the weights.
        learning_rate: gradient-descent step.
        num_steps: number of steps.

    Returns:
        `(weights (D, K), bias (K,))`.

    Example:

    >>> x = np.array([[-1.0], [-2.0], [1.0], [2.0]])
    >>> w, b = fit_softmax_regression(x, np.array([0, 0, 1, 1]), 2)
    >>> predict_softmax_regression(x, w, b).tolist()
    [0, 0, 1, 1]
    """
    features = np.asarray(features, dtype=np.float64)
    one_hot = np.eye(num_classes)[np.asarray(labels)]
    weights = np.zeros((features.shape[1], num_classes))
    bias = np.zeros(num_classes)
    for _ in range(num_steps):
        error = (_softmax(features @ weights + bias) - one_hot) / len(features)
        weights -= learning_rate * (features.T @ error + l2 * weights)
        bias -= learning_rate * error.sum(axis=0)
    return weights, bias


def predict_softmax_regression(features, weights, bias):
    """Class predictions (ties to the smallest index) of a softmax regression."""
    return np.argmax(np.asarray(features, dtype=np.float64) @ weights + bias, axis=1)


def simulate_machine_annotators(features, true_labels, num_annotators, train_size=100,
                                num_classes=None, labels_per_item=None, missing_rate=None,
                                l2=1e-2, learning_rate=0.5, num_steps=200, seed=None):
    """Simulates M machine annotators, each a classifier trained on a small subset.

    Annotator m is a softmax regression trained on ``train_size[m]`` items
    drawn at random (without replacement) from (`features`, `true_labels`).
    It then predicts every item; its label on item n is that prediction, kept
    where the observation pattern (`labels_per_item` or `missing_rate`) says
    m labelled n.

    The returned `confusion_matrices` are each annotator's **empirical**
    confusion against the truth, over all N items it predicted (before the
    pattern hides some): the best available "true" A_m for a classifier. A
    true class with no item gives a uniform column.

    Args:
        features: (N, ...) features; flattened to (N, D) and standardised
            with their own mean/std (no labels used).
        true_labels: (N,) int true classes.
        num_annotators: M.
        train_size: items per annotator: an int, or M ints (varied sizes give
            varied skills).
        num_classes: K; default max(true_labels) + 1.
        labels_per_item, missing_rate: the observation pattern (one or none).
        l2, learning_rate, num_steps: the softmax regression's training.
        seed: int, None or `numpy.random.Generator`.

    Returns:
        `SimulatedCrowd` with ``kind="machine"``.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, size=300)
    >>> x = np.eye(3)[y] + rng.normal(scale=0.8, size=(300, 3))
    >>> crowd = simulate_machine_annotators(x, y, num_annotators=4, train_size=20, seed=0)
    >>> crowd.confusion_matrices.shape
    (4, 3, 3)
    """
    rng = np.random.default_rng(seed)
    true_labels, num_classes = checked_true_labels(true_labels, num_classes)
    features = np.asarray(features, dtype=np.float64)
    if features.ndim < 1 or len(features) != len(true_labels):
        raise ValueError(
            f"features must have one row per true label ({len(true_labels)}); got shape "
            f"{features.shape}.")
    features = features.reshape(len(true_labels), -1)
    (features,) = standardize_features(features, dtype=np.float64)
    sizes = np.broadcast_to(np.asarray(train_size, dtype=np.int64), (num_annotators,))
    if np.any(sizes < 1) or np.any(sizes > len(true_labels)):
        raise ValueError(f"train_size must be in [1, {len(true_labels)}]; got {train_size}.")

    predictions = np.empty((len(true_labels), num_annotators), dtype=np.int32)
    for m, size in enumerate(sizes):
        subset = rng.choice(len(true_labels), size=int(size), replace=False)
        weights, bias = fit_softmax_regression(features[subset], true_labels[subset],
                                               num_classes, l2, learning_rate, num_steps)
        predictions[:, m] = predict_softmax_regression(features, weights, bias)
    confusions = empirical_confusion_matrices(predictions, true_labels, num_classes)

    mask = observation_mask(len(true_labels), num_annotators, labels_per_item, missing_rate,
                            seed=rng)
    crowd_labels = np.where(mask, predictions, MISSING_LABEL).astype(np.int32)
    return SimulatedCrowd(crowd_labels=crowd_labels, confusion_matrices=confusions,
                          true_labels=true_labels.astype(np.int32), kind="machine")
