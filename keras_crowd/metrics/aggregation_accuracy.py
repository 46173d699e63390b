"""Accuracy of aggregated labels against ground truth."""

import numpy as np
import pandas as pd

from keras_crowd.aggregation.base import most_probable_classes


def _values_by_position(labels, name, other):
    """The values of `labels`, to be compared with `other` position by position.

    A `pandas.Series` qualifies only when its index is the positions
    ``0..N-1``; any other index holds task ids, which an array cannot match.
    """
    if not isinstance(labels, pd.Series):
        return labels
    if not labels.index.equals(pd.RangeIndex(len(labels))):
        shown = ", ".join(repr(task) for task in labels.index[:3]) + (
            ", ..." if len(labels) > 3 else "")
        raise ValueError(
            f"`{name}` is indexed by task id ({shown}) but `{other}` is not: pass "
            f"`{other}` as a Series indexed by task id too, so that the two are matched by "
            "task rather than by position.")
    return labels.to_numpy()


def aggregation_accuracy(predicted, true_labels):
    """Fraction of items whose aggregated label equals the true label.

    Pandas inputs (as returned by `fit_predict` / `fit_predict_proba` for
    DataFrame input) are matched by task: when both are indexed by task id,
    `true_labels` is aligned on the index of `predicted` (it may hold more
    tasks) and the class names are compared. A Series or DataFrame whose
    index is not ``0..N-1`` cannot be compared with an array.

    Args:
        predicted: (N,) class indices; or (N, K) posteriors (argmax, ties to
            the smallest index, as in `Aggregator.labels_`); or a
            `pandas.Series` of class names indexed by task; or a
            `pandas.DataFrame` (tasks x class names) of posteriors, read as
            the most probable class name of each task (ties to the first
            column, the smallest class index).
        true_labels: (N,) true classes, or a `pandas.Series` of class names
            indexed by task.

    Returns:
        float in [0, 1].

    Raises:
        ValueError: the shapes differ, a predicted task has no true label,
            or only one of the two is indexed by task id.

    Example:

    >>> aggregation_accuracy([[0.6, 0.4], [0.5, 0.5]], [0, 1])
    0.5
    >>> probas = pd.DataFrame([[0.2, 0.8], [0.5, 0.5]], index=["t1", "t2"],
    ...                       columns=["cat", "dog"])
    >>> aggregation_accuracy(probas, pd.Series({"t2": "cat", "t1": "dog"}))
    1.0
    """
    if isinstance(predicted, pd.DataFrame):
        predicted = pd.Series(predicted.columns[most_probable_classes(predicted.to_numpy())],
                              index=predicted.index)
    if isinstance(predicted, pd.Series) and isinstance(true_labels, pd.Series):
        aligned = true_labels_by_task(true_labels, predicted.index)
        return float((predicted.to_numpy() == aligned.to_numpy()).mean())
    predicted = np.asarray(_values_by_position(predicted, "predicted", "true_labels"))
    if predicted.ndim == 2:
        predicted = most_probable_classes(predicted)
    true_labels = np.asarray(_values_by_position(true_labels, "true_labels", "predicted"))
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
