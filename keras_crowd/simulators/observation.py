"""Which annotator labels which item: the observation pattern of a simulated crowd."""

import numpy as np


def observation_mask(num_items, num_annotators, labels_per_item=None, missing_rate=None,
                     ensure_labeled=True, seed=None):
    """A random (N, M) boolean mask of the observed (item, annotator) pairs.

    Give at most one of:
    - `labels_per_item` R: every item is labelled by exactly R distinct
      annotators, chosen uniformly at random;
    - `missing_rate` p: every pair is missing independently with probability
      p. With `ensure_labeled` (default), an item left with no label gets one
      annotator chosen uniformly, so there are no empty tasks (the realised
      missing rate is then slightly below p).
    With neither, every annotator labels every item.

    Args:
        num_items: N.
        num_annotators: M.
        labels_per_item: R in [1, M].
        missing_rate: p in [0, 1).
        ensure_labeled: see above (only used with `missing_rate`).
        seed: int, None or `numpy.random.Generator`.

    Returns:
        (N, M) bool array.

    Example:

    >>> observation_mask(4, 5, labels_per_item=2, seed=0).sum(axis=1).tolist()
    [2, 2, 2, 2]
    """
    if labels_per_item is not None and missing_rate is not None:
        raise ValueError("Give labels_per_item or missing_rate, not both.")
    rng = np.random.default_rng(seed)
    if labels_per_item is not None:
        if isinstance(labels_per_item, bool) or not isinstance(labels_per_item,
                                                               (int, np.integer)):
            raise ValueError(f"labels_per_item must be an integer; got {labels_per_item!r}.")
        if not 1 <= labels_per_item <= num_annotators:
            raise ValueError(
                f"labels_per_item must be in [1, {num_annotators}]; got {labels_per_item}.")
        chosen = np.argsort(rng.random((num_items, num_annotators)), axis=1)[:, :labels_per_item]
        mask = np.zeros((num_items, num_annotators), dtype=bool)
        np.put_along_axis(mask, chosen, True, axis=1)
        return mask
    if missing_rate is None:
        return np.ones((num_items, num_annotators), dtype=bool)
    if not 0.0 <= missing_rate < 1.0:
        raise ValueError(f"missing_rate must be in [0, 1); got {missing_rate}.")
    mask = rng.random((num_items, num_annotators)) >= missing_rate
    if ensure_labeled:
        empty = np.flatnonzero(~mask.any(axis=1))
        mask[empty, rng.integers(0, num_annotators, size=len(empty))] = True
    return mask
