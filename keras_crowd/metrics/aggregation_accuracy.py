"""Accuracy of aggregated labels against ground truth."""

import numpy as np
import pandas as pd


def aggregation_accuracy(predicted, true_labels):
    """Fraction of items whose aggregated label equals the true label.

    Args:
        predicted: (N,) class indices; or (N, K) posteriors (argmax, ties to
            the smallest index); or a `pandas.Series` indexed by task (as
            returned for DataFrame input), in which case `true_labels` may be
            a Series indexed by task too and is aligned on the index.
        true_labels: (N,) true classes (or a Series).

    Returns:
        float in [0, 1].

    Example:

    >>> aggregation_accuracy([[0.6, 0.4], [0.5, 0.5]], [0, 1])
    0.5
    """
    if isinstance(predicted, pd.Series) and isinstance(true_labels, pd.Series):
        aligned = true_labels_by_task(true_labels, predicted.index)
        return float((predicted.to_numpy() == aligned.to_numpy()).mean())
    predicted = np.asarray(predicted)
    if predicted.ndim == 2:
        predicted = np.argmax(predicted, axis=1)
    true_labels = np.asarray(true_labels)
    if predicted.shape != true_labels.shape:
        raise ValueError(
            f"predicted has shape {predicted.shape}, true_labels {true_labels.shape}.")
    return float(np.mean(predicted == true_labels))


def true_labels_by_task(true_labels, task_ids):
    """The values of a Series of true labels indexed by task, in `task_ids` order.

    Args:
        true_labels: `pandas.Series` of true labels (class names), indexed by
            task id; it may hold more tasks than `task_ids`.
        task_ids: the task ids wanted, in order.

    Returns:
        `pandas.Series` indexed by `task_ids`.

    Raises:
        ValueError: some task of `task_ids` has no true label.

    Example:

    >>> truth = pd.Series({"t1": "cat", "t2": "dog"})
    >>> true_labels_by_task(truth, ["t2", "t1"]).tolist()
    ['dog', 'cat']
    """
    aligned = true_labels.reindex(list(task_ids))
    missing = aligned.isna().to_numpy()
    if missing.any():
        shown = ", ".join(repr(task) for task in aligned.index[missing][:5])
        raise ValueError(
            f"{int(missing.sum())} task(s) have no true label, e.g. {shown}: the index of "
            "the true labels must hold the task ids.")
    return aligned


def raw_label_accuracy(crowd_labels, true_labels):
    """Fraction of all observed crowd labels that equal the true label.

    Example:

    >>> raw_label_accuracy([[0, 1], [1, -1]], [0, 1])
    0.6666666666666666
    """
    crowd_labels = np.asarray(crowd_labels)
    observed = crowd_labels >= 0
    correct = crowd_labels == np.asarray(true_labels)[:, None]
    return float(correct[observed].mean())
