"""Training targets for the two-stage baselines "DL-MV" and "DL-DS".

These baselines first aggregate the crowd labels, then train an ordinary
classifier on the result: hard targets (one class per item, for
``sparse_categorical_crossentropy``; or one-hot, for
``categorical_crossentropy``) or soft targets (the posterior, for
``categorical_crossentropy``). The network training itself is done elsewhere.
"""

import numpy as np
import pandas as pd

from keras_crowd.aggregation.base import Aggregator
from keras_crowd.aggregation.dawid_skene import DawidSkene
from keras_crowd.aggregation.majority_vote import MajorityVote
from keras_crowd.data.dense import labels_per_item

_METHODS = {
    "mv": MajorityVote,
    "majority_vote": MajorityVote,
    "ds": DawidSkene,
    "dawid_skene": DawidSkene,
}


def get_aggregator(method="majority_vote", **kwargs):
    """An unfitted aggregator from a name, or `method` itself if it already is one.

    Args:
        method: ``"majority_vote"`` / ``"mv"``, ``"dawid_skene"`` / ``"ds"``,
            or an `Aggregator` instance.
        **kwargs: constructor arguments (e.g. ``num_classes``, ``n_iter``).
    """
    if isinstance(method, Aggregator):
        if kwargs:
            raise ValueError("Pass constructor arguments only with a method name.")
        return method
    key = str(method).lower()
    if key not in _METHODS:
        raise ValueError(
            f"Unknown aggregation method {method!r}; use one of {sorted(_METHODS)} "
            "or an Aggregator instance.")
    return _METHODS[key](**kwargs)


def _fit(data, method, kwargs):
    """A fitted aggregator and the mask of its items that have no label at all."""
    aggregator = get_aggregator(method, **kwargs).fit(data)
    unlabeled = labels_per_item(aggregator.encoding_.crowd_labels) == 0
    return aggregator, unlabeled


def hard_labels(data, method="majority_vote", **kwargs):
    """One aggregated class index per item: targets for "DL-MV" / "DL-DS".

    An item without any label has no aggregated class: it gets -1, never an
    arbitrary class (drop those rows before training, or use
    `one_hot_labels`, which gives them the aggregator's posterior).

    Args:
        data: crowd labels in any format `Aggregator.fit` accepts.
        method: see `get_aggregator`.
        **kwargs: aggregator constructor arguments.

    Returns:
        (N,) int32 class indices, -1 for an item with no label. For a
        `pandas.DataFrame` of long-format labels, a `pandas.Series` indexed
        by task id (its rows are in sorted task order, not the input's:
        align it with the features by task id, e.g. `.loc[task_ids]`).

    Example:

    >>> hard_labels([[0, 1, 1], [2, 2, -1]]).tolist()
    [1, 2]
    """
    aggregator, unlabeled = _fit(data, method, kwargs)
    labels = aggregator.labels_.astype(np.int32)
    labels[unlabeled] = -1
    return _as_given(labels, aggregator, data)


def one_hot_labels(data, method="majority_vote", **kwargs):
    """The aggregated class of each item, one-hot: DL-MV's training targets.

    An item without any label keeps the aggregator's posterior instead (the
    uniform vote fractions under majority vote, the class prior under
    Dawid-Skene), so it pulls the classifier towards no class in particular.

    Args:
        data: crowd labels in any format `Aggregator.fit` accepts.
        method: see `get_aggregator`.
        **kwargs: aggregator constructor arguments.

    Returns:
        (N, K) float32 rows that sum to 1. For a `pandas.DataFrame` of
        long-format labels, a `pandas.DataFrame` indexed by task id, one
        column per class name (see `hard_labels`).

    Example:

    >>> one_hot_labels([[0, 1, 1], [-1, -1, -1]], num_classes=2).tolist()
    [[0.0, 1.0], [0.5, 0.5]]
    """
    aggregator, unlabeled = _fit(data, method, kwargs)
    probas = aggregator.probas_
    targets = np.eye(probas.shape[1], dtype=np.float32)[aggregator.labels_]
    targets[unlabeled] = probas[unlabeled]
    return _as_given(targets, aggregator, data)


def soft_labels(data, method="dawid_skene", **kwargs):
    """Each item's posterior over the true class: soft targets, (N, K) float32.

    For a `pandas.DataFrame` of long-format labels, a `pandas.DataFrame`
    indexed by task id, one column per class name (see `hard_labels`).

    Example:

    >>> soft_labels([[0, 1], [1, 1]], method="mv").tolist()
    [[0.5, 0.5], [0.0, 1.0]]
    """
    aggregator = get_aggregator(method, **kwargs).fit(data)
    return _as_given(aggregator.probas_.astype(np.float32), aggregator, data)


def _as_given(values, aggregator, data):
    """`values` as `fit_predict` gives them: indexed by task id for a DataFrame."""
    return aggregator.by_task(values) if isinstance(data, pd.DataFrame) else values
