"""Confusion matrices measured against ground truth."""

import numpy as np

from keras_crowd.data import dense
from keras_crowd.data import validation


def empirical_confusion_matrices(crowd_labels, true_labels, num_classes=None, counts=False):
    """Each annotator's confusion matrix counted against the true labels.

    ``A[m, k, k'] = #{n : y_nm = k, z_n = k'} / #{n : m labelled n, z_n = k'}``
    (column-stochastic, like every confusion matrix in keras_crowd). For real
    annotators this is the reference the paper compares estimates against.

    An annotator who labelled no item of true class k' has no evidence for
    column k': that column is set to the **uniform** distribution 1/K (with
    ``counts=True`` it stays all zeros).

    Every item needs its true class: a true label cannot be missing (-1 or
    NaN raise; drop the items without ground truth first).

    Args:
        crowd_labels: (N, M) int array, -1 = missing (or float, NaN or -1
            missing).
        true_labels: (N,) int array of true classes.
        num_classes: K; default max(label, true label) + 1.
        counts: return the raw counts (M, K, K) instead of frequencies.

    Returns:
        (M, K, K) float64 array (int64 with ``counts=True``).

    Raises:
        LabelOutOfRangeError: a crowd label is neither -1 nor in [0, K), or
            a true label is not in [0, K).
        CrowdDataError: labels that are not whole numbers, or a true label
            that is missing (NaN).
        ValueError: `true_labels` does not have one entry per item.

    Example:

    >>> empirical_confusion_matrices([[0], [1], [1]], [0, 0, 1], num_classes=2)[0].tolist()
    [[0.5, 0.0], [0.5, 1.0]]
    """
    crowd_labels = validation.check_crowd_labels(crowd_labels, num_classes, empty_tasks="ignore")
    true_labels = validation.check_class_indices(true_labels, num_classes, name="True label")
    if true_labels.shape != crowd_labels.shape[:1]:
        raise ValueError(
            f"true_labels has shape {true_labels.shape}; expected ({crowd_labels.shape[0]},).")
    if num_classes is None:
        num_classes = max(dense.infer_num_classes(crowd_labels),
                          int(true_labels.max(initial=-1)) + 1)
    num_annotators = crowd_labels.shape[1]
    item_index, annotator_index, labels = dense.observed_triples(crowd_labels)
    flat = (annotator_index * num_classes + labels) * num_classes + true_labels[item_index]
    table = np.bincount(flat, minlength=num_annotators * num_classes * num_classes)
    table = table.reshape(num_annotators, num_classes, num_classes)
    if counts:
        return table
    totals = table.sum(axis=1, keepdims=True)
    uniform = np.full(table.shape, 1.0 / num_classes)
    return np.divide(table, totals, out=uniform, where=totals > 0)
