"""Training targets for the two-stage baselines "DL-MV" and "DL-DS".

These baselines first aggregate the crowd labels, then train an ordinary
classifier on the result: hard targets (one class per item, for
``sparse_categorical_crossentropy``) or soft targets (the posterior, for
``categorical_crossentropy``). The network training itself is done elsewhere.
"""

import numpy as np

from keras_crowd.aggregation.base import Aggregator
from keras_crowd.aggregation.dawid_skene import DawidSkene
from keras_crowd.aggregation.majority_vote import MajorityVote

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


def hard_labels(data, method="majority_vote", **kwargs):
    """One aggregated class index per item: targets for "DL-MV" / "DL-DS".

    Args:
        data: crowd labels in any format `Aggregator.fit` accepts.
        method: see `get_aggregator`.
        **kwargs: aggregator constructor arguments.

    Returns:
        (N,) int32 class indices, rows in the order of the (encoded) tasks.

    Example:

    >>> hard_labels([[0, 1, 1], [2, 2, -1]]).tolist()
    [1, 2]
    """
    aggregator = get_aggregator(method, **kwargs).fit(data)
    return aggregator.labels_.astype(np.int32)


def soft_labels(data, method="dawid_skene", **kwargs):
    """Each item's posterior over the true class: soft targets, (N, K) float32.

    Example:

    >>> soft_labels([[0, 1], [1, 1]], method="mv").tolist()
    [[0.5, 0.5], [0.0, 1.0]]
    """
    aggregator = get_aggregator(method, **kwargs).fit(data)
    return aggregator.probas_.astype(np.float32)
