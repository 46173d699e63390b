"""Dense crowd labels: an (N, M) array, one row per item, one column per annotator.

Two spellings of the same thing are supported:
- an integer array with -1 for "annotator m did not label item n" (the
  canonical form used everywhere in keras_crowd);
- a float array with NaN (or -1) for a missing label.
"""

import numpy as np

from keras_crowd.data import validation

MISSING_LABEL = validation.MISSING_LABEL


def from_nan_float(crowd_labels, num_classes=None, empty_tasks="warn"):
    """Converts float labels with NaN for missing into int32 with -1.

    Args:
        crowd_labels: (N, M) float array; NaN (or -1) marks a missing label.
        num_classes: optional K, to check every label is in [0, K).
        empty_tasks: see `keras_crowd.data.validation`.

    Returns:
        (N, M) int32 array, -1 for missing.

    Example:

    >>> from_nan_float([[0.0, float("nan")]]).tolist()
    [[0, -1]]
    """
    array = np.asarray(crowd_labels)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    return validation.check_crowd_labels(array, num_classes, empty_tasks)


def to_nan_float(crowd_labels, dtype="float32"):
    """Converts int labels with -1 for missing into floats with NaN.

    Example:

    >>> to_nan_float([[0, -1]]).tolist()
    [[0.0, nan]]
    """
    labels = np.asarray(crowd_labels)
    return np.where(labels >= 0, labels, np.nan).astype(dtype)


def observed_mask(crowd_labels):
    """Boolean (N, M) mask, True where a label was given."""
    return np.asarray(crowd_labels) >= 0


def infer_num_classes(crowd_labels):
    """K as the largest observed label + 1 (1 if nothing is observed).

    Args:
        crowd_labels: (N, M) labels, as `validation.check_crowd_labels` accepts.

    Example:

    >>> infer_num_classes([[0, -1], [2, 1]])
    3
    """
    labels = validation.check_crowd_labels(crowd_labels, empty_tasks="ignore")
    return int(max(labels.max(initial=-1), 0)) + 1


def labels_per_item(crowd_labels):
    """Number of labels each item received, shape (N,)."""
    return observed_mask(crowd_labels).sum(axis=1)


def labels_per_annotator(crowd_labels):
    """Number of labels each annotator gave, shape (M,)."""
    return observed_mask(crowd_labels).sum(axis=0)


def observed_triples(crowd_labels):
    """The observed labels as three flat arrays, in canonical (item, annotator) order.

    The order is row-major (item-major, then ascending annotator), so it
    depends only on the content of the array, never on how the data was read.

    Returns:
        `(item_index, annotator_index, labels)`, each an int64 array (S,).

    Example:

    >>> [a.tolist() for a in observed_triples([[1, -1], [0, 2]])]
    [[0, 1, 1], [0, 0, 1], [1, 0, 2]]
    """
    labels = np.asarray(crowd_labels)
    item_index, annotator_index = np.nonzero(labels >= 0)
    return (item_index.astype(np.int64), annotator_index.astype(np.int64),
            labels[item_index, annotator_index].astype(np.int64))


def vote_counts(crowd_labels, num_classes):
    """How many annotators gave each class to each item.

    Args:
        crowd_labels: (N, M) int array, -1 missing (or float, -1 or NaN
            missing).
        num_classes: K.

    Returns:
        (N, K) int64 array of counts.

    Raises:
        LabelOutOfRangeError: a label is neither -1 nor in [0, K).
        CrowdDataError: the labels are not whole numbers, or not 2-D.

    Example:

    >>> vote_counts([[1, 1, 0], [-1, 2, -1]], num_classes=3).tolist()
    [[1, 2, 0], [0, 0, 1]]
    """
    num_classes = validation.check_num_classes(num_classes)
    # Checked: a label >= K would otherwise be counted for the next item.
    labels = validation.check_crowd_labels(
        crowd_labels, num_classes, empty_tasks="ignore")
    item_index, _, label = observed_triples(labels)
    flat = np.bincount(item_index * num_classes + label, minlength=labels.shape[0] * num_classes)
    return flat.reshape(labels.shape[0], num_classes)
