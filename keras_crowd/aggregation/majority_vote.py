"""Majority vote with deterministic tie-breaking."""

import numpy as np

from keras_crowd.aggregation.base import Aggregator
from keras_crowd.data import dense


def majority_vote_probas(crowd_labels, num_classes):
    """Each item's vote fractions: (N, K), rows sum to 1.

    A tie shares the mass equally among the tied classes; an item with no
    label gets the uniform distribution.

    Args:
        crowd_labels: (N, M) labels, -1 missing (a float array may also use NaN);
            other values must be integers in [0, K).
        num_classes: K.

    Example:

    >>> majority_vote_probas([[0, 1, 1], [2, -1, -1]], 3).round(3).tolist()
    [[0.333, 0.667, 0.0], [0.0, 0.0, 1.0]]
    """
    return _vote_fractions(dense.vote_counts(crowd_labels, num_classes))


def _vote_fractions(vote_counts):
    """(N, K) integer vote counts as fractions; a row without votes uniform."""
    counts = vote_counts.astype(np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    uniform = np.full_like(counts, 1.0 / counts.shape[1])
    return np.divide(counts, totals, out=uniform, where=totals > 0)


class MajorityVote(Aggregator):
    """Majority vote: the class most annotators gave.

    Tie-breaking: a tie goes to the **smallest class index** (the first class
    in `class_names` order). This is deterministic and independent of the row
    order of the input. An item with no label gets a uniform `probas_` row
    and label 0.

    `probas_` holds the vote fractions (ties share the mass), which is also
    what crowd-kit's `MajorityVote.fit_predict_proba` returns.

    Unlike crowd-kit's `MajorityVote`, votes are never weighted: there is no
    `skills` argument to `fit`, no `default_skill` / `on_missing_skill`, and
    no `skills_` attribute. `vote_counts_` is the (N, K) int array of votes.
    See `Aggregator` for the other differences (numpy attributes).

    Args:
        num_classes: optional K.
        class_names: optional K class names, in index order (this order
            decides ties for long data with string labels).
        duplicates: ``"error"`` (default), ``"first"`` or ``"last"``: what
            to do when a worker labelled the same task twice (see
            `Aggregator`).

    Example:

    >>> MajorityVote().fit_predict([[0, 1, 1], [0, 1, -1]]).tolist()
    [1, 0]
    """

    def _fit_dense(self, crowd_labels, num_classes):
        # Counted once: the fractions come from the same integer counts.
        self.vote_counts_ = dense.vote_counts(crowd_labels, num_classes)
        self.probas_ = _vote_fractions(self.vote_counts_)

    @property
    def labels_(self):
        # From the integer counts, so float rounding can never break a tie.
        return np.argmax(self.vote_counts_, axis=1).astype(np.int64)
