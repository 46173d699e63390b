"""Padded per-item (annotator, label) pairs: the compact form for huge crowds.

A dense (N, M) array costs O(N * M) memory even though real crowds are
90-97% missing. The padded-pair form keeps, for each item, only the R
annotators who labelled it:

- ``annotator_ids[n, r]``: the annotator index of item n's r-th label;
- ``labels[n, r]``: that label.

Both are (N, R) int32 and padded with -1 (``labels < 0`` marks padding). R is
the largest number of labels any item received, so shapes are static and do
not depend on M (XLA compiles once).
"""

import numpy as np

from keras_crowd.data import errors
from keras_crowd.data import validation
from keras_crowd.data.encoded import EncodedCrowdLabels
from keras_crowd.utils.arguments import non_negative_integer
from keras_crowd.utils.arguments import positive_integer

PADDING = -1
# Keys of the dict form accepted by `keras_crowd.CrowdModel.fit`.
ANNOTATOR_IDS_KEY = "annotator_ids"
LABELS_KEY = "labels"


def to_padded_pairs(crowd_labels, max_labels_per_item=None, as_dict=False):
    """Dense (N, M) crowd labels -> padded (annotator_ids, labels), each (N, R).

    Within an item, pairs are in ascending annotator order.

    Args:
        crowd_labels: (N, M) int array with -1 for missing (or float with
            NaN), or an `EncodedCrowdLabels` (its dense labels).
        max_labels_per_item: R. Default: the largest number of labels on one
            item (at least 1). A larger R pads more; a smaller R raises, since
            labels would be lost.
        as_dict: return ``{"annotator_ids": ..., "labels": ...}``, the layout
            `keras_crowd.CrowdModel.fit` takes as its labels.

    Returns:
        `(annotator_ids, labels)`, two (N, R) int32 arrays padded with -1
        (or the dict, with `as_dict`).

    Example:

    >>> ids, labels = to_padded_pairs([[-1, 2, 0], [1, -1, -1]])
    >>> ids.tolist(), labels.tolist()
    ([[1, 2], [0, -1]], [[2, 0], [1, -1]])
    """
    if isinstance(crowd_labels, EncodedCrowdLabels):
        crowd_labels = crowd_labels.crowd_labels
    crowd_labels = validation.check_crowd_labels(crowd_labels, empty_tasks="ignore")
    mask = crowd_labels >= 0
    counts = mask.sum(axis=1)
    needed = int(max(counts.max(initial=0), 1))
    width = (needed if max_labels_per_item is None
             else positive_integer("max_labels_per_item", max_labels_per_item))
    if width < needed:
        raise errors.CrowdDataError(
            f"max_labels_per_item={max_labels_per_item} but item "
            f"{int(np.argmax(counts))} has {needed} labels; labels would be lost."
        )
    rows, columns = np.nonzero(mask)  # row-major: ascending annotator within an item
    row_starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slots = np.arange(len(rows)) - row_starts[rows]
    annotator_ids = np.full((crowd_labels.shape[0], width), PADDING, dtype=np.int32)
    labels = np.full((crowd_labels.shape[0], width), PADDING, dtype=np.int32)
    annotator_ids[rows, slots] = columns
    labels[rows, slots] = crowd_labels[rows, columns]
    if as_dict:
        return {ANNOTATOR_IDS_KEY: annotator_ids, LABELS_KEY: labels}
    return annotator_ids, labels


def from_padded_pairs(annotator_ids, labels, num_annotators=None, duplicates="error"):
    """Padded (annotator_ids, labels) pairs -> dense (N, M) crowd labels.

    Args:
        annotator_ids: (N, R) int array of annotator indices.
        labels: (N, R) int array of labels; -1 is padding (its annotator
            id is ignored), and other negative labels are an error.
        num_annotators: M. Default: the largest annotator index + 1.
        duplicates: ``"error"`` (default), ``"first"`` or ``"last"`` (by slot
            order) when an annotator appears twice in one item's row.

    Returns:
        (N, M) int32 array with -1 for missing.

    Example:

    >>> from_padded_pairs([[1, 2], [0, -1]], [[2, 0], [1, -1]], num_annotators=3).tolist()
    [[-1, 2, 0], [1, -1, -1]]
    """
    annotator_ids = np.asarray(annotator_ids)
    labels = np.asarray(labels)
    if annotator_ids.shape != labels.shape or labels.ndim != 2:
        raise errors.CrowdDataError(
            "annotator_ids and labels must both be (N, R); got shapes "
            f"{annotator_ids.shape} and {labels.shape}."
        )
    for name, array in (("annotator_ids", annotator_ids), ("labels", labels)):
        if not np.issubdtype(array.dtype, np.integer):
            raise errors.CrowdDataError(f"{name} must be an integer array; got {array.dtype}.")
    if labels.size and labels.min() < -1:
        row, slot = np.argwhere(labels < -1)[0]
        raise errors.LabelOutOfRangeError(
            f"Label {int(labels[row, slot])} (item {row}, slot {slot}) is negative; -1 is "
            "the only padding label.")
    rows, slots = np.nonzero(labels >= 0)
    columns = annotator_ids[rows, slots].astype(np.int64)
    if columns.size and columns.min() < 0:
        raise errors.CrowdDataError(
            "A label has a negative annotator id (padding ids are only allowed where "
            "the label is padding too)."
        )
    if num_annotators is None:
        num_annotators = int(columns.max(initial=-1)) + 1
    num_annotators = non_negative_integer("num_annotators", num_annotators)
    if columns.size and columns.max() >= num_annotators:
        raise errors.UnknownIdError(
            f"Annotator index {int(columns.max())} is out of range for "
            f"num_annotators={num_annotators}."
        )
    keep = validation.duplicate_keep_mask(rows, columns, duplicates)
    crowd_labels = np.full((labels.shape[0], num_annotators), validation.MISSING_LABEL,
                           dtype=np.int64)
    crowd_labels[rows[keep], columns[keep]] = labels[rows[keep], slots[keep]]
    # Checked before the int32 cast, which would wrap a large label.
    return validation.check_crowd_labels(crowd_labels, empty_tasks="ignore")
