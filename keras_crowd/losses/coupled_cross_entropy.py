"""Coupled cross-entropy (CCEM) over observed crowd labels only.

For an observed label `y` given by annotator `m` on item `x`, the model's
probability of that label is `p = sum_j A_m[y, j] f_j(x)`: only the row
`A_m[y, :]` is needed, not the whole product `A_m f`. This module
gathers exactly those rows, so the work per observed label is `O(K^2)` (to
normalise the gathered column-softmax) plus `O(K)`, and never depends on the
number of annotators M.

Two label layouts are accepted, both with static shapes (XLA-friendly: the
number of observed labels per batch can vary without recompiling):

- **dense** `labels` of shape `(B, M)`, `-1` for missing; annotator `m` is
  column `m`. Cost `O(B * M * K)`, plus `O(M * K^2)` once per batch. Small
  crowds (`M * K * K <= DENSE_PRODUCT_MAX_SIZE`) compute every `A_m f(x)`
  instead, `O(B * M * K^2)`: fewer, cheaper ops than a gather and its
  scatter gradient at that size.
- **padded pairs**: `annotator_ids` and `labels` of shape `(B, R)`, where
  row `n` lists the `R` (annotator, label) pairs of item `n`, padded with
  label `-1`. Cost `O(B * R * K^2)`, independent of M. Use this layout for
  crowds of thousands of annotators (see `keras_crowd.data.to_padded_pairs`).
"""

from keras import ops

from keras_crowd.utils.column_softmax import column_softmax

# Probabilities are clipped to this floor before the log, so a confident
# wrong prediction costs at most -log(floor) instead of inf.
PROBABILITY_FLOOR = 1e-7
# Dense labels with M * K * K at most this use `A_m f(x)` for every
# annotator (one matmul) instead of gathering rows: on LabelMe (M=59, K=8) a
# CrowdModel epoch then costs 1.11x the bare backbone's instead of 1.34x
# (the gather's gradient is a scatter with a fixed cost per step).
# Above it, gathering keeps the cost independent of M * K * K.
DENSE_PRODUCT_MAX_SIZE = 16384


def _small_crowd(confusion_logits):
    """Whether `M * K * K` is known and small enough for the dense product."""
    shape = confusion_logits.shape
    return None not in shape and shape[0] * shape[1] * shape[2] <= DENSE_PRODUCT_MAX_SIZE


def _dense_label_probability(probabilities, confusion_matrices, labels):
    """`(A_m f(x_n))[y_nm]` for dense labels via every `A_m f(x_n)`: `(B, M)`.

    One matmul gives all `B * M * K` label probabilities, flattened as
    `(B, M * K)`; each label then picks its entry `m * K + y`, read from the
    flattened `(B * M * K,)` vector at `n * M * K + m * K + y` by one plain
    gather. (`ops.take_along_axis` picks the same values, but on TensorFlow
    it broadcasts, transposes and batch-gathers, and its gradient undoes all
    of that: the loss and its gradient took about 10% longer per step.)
    """
    num_annotators, num_classes = confusion_matrices.shape[0], confusion_matrices.shape[-1]
    row_size = num_annotators * num_classes
    rows = ops.reshape(confusion_matrices, (row_size, num_classes))  # (M*K, K)
    label_distributions = ops.matmul(probabilities, ops.transpose(rows))  # (B, M*K)
    batch_size = ops.shape(labels)[0]
    index = (
        ops.maximum(labels, 0)
        + ops.arange(num_annotators, dtype="int32") * num_classes
        + ops.arange(batch_size, dtype="int32")[:, None] * row_size
    )
    return ops.take(ops.reshape(label_distributions, (-1,)), index)


def _gather_dense_rows(confusion_matrices, labels):
    """Rows `A_m[y_nm, :]` for dense labels: `(B, M, K)`."""
    num_annotators = ops.shape(confusion_matrices)[0]
    return _gather_rows(confusion_matrices, ops.arange(num_annotators, dtype="int32")[None, :],
                        labels)


def _gather_rows(confusion_matrices, annotator_ids, labels):
    """Rows `A_m[y, :]` of given `(M, K, K)` matrices, shaped like `labels` + `(K,)`."""
    num_classes = ops.shape(confusion_matrices)[-1]
    flat_rows = ops.reshape(confusion_matrices, (-1, num_classes))  # (M*K, K)
    return ops.take(flat_rows, ops.maximum(labels, 0) + annotator_ids * num_classes, axis=0)


def _gather_pair_rows(confusion_logits, annotator_ids, labels):
    """Rows `A_m[y, :]` for padded (annotator, label) pairs: `(B, R, K)`,
    normalising only the gathered annotators' logits."""
    safe_ids = ops.maximum(annotator_ids, 0)
    safe_labels = ops.maximum(labels, 0)
    logits = ops.take(confusion_logits, safe_ids, axis=0)  # (B, R, K, K)
    confusion = column_softmax(logits)
    rows = ops.take_along_axis(
        confusion, safe_labels[..., None, None], axis=-2
    )  # (B, R, 1, K)
    return ops.squeeze(rows, axis=-2)


def _check_label_shapes(probabilities, confusion_logits, labels, annotator_ids):
    """Refuse labels whose static shape does not fit the other arguments.

    The gathers broadcast: dense labels of shape `(B, 1)` against M
    annotators would otherwise count every label M times (as given by every
    annotator), and labels with fewer rows than `probabilities` would be
    read against the first rows only. Unknown dimensions are not checked.
    """
    if len(labels.shape) != 2:
        raise ValueError(
            "Crowd labels must have shape (batch, M) (dense) or (batch, R) "
            f"(padded pairs); got shape {tuple(labels.shape)}."
        )
    batch, labels_batch = probabilities.shape[0], labels.shape[0]
    if batch is not None and labels_batch is not None and batch != labels_batch:
        raise ValueError(
            f"Crowd labels have {labels_batch} rows but the probabilities have {batch}; "
            "they must describe the same items."
        )
    if annotator_ids is None:
        num_annotators, width = confusion_logits.shape[0], labels.shape[-1]
        if num_annotators is not None and width is not None and width != num_annotators:
            raise ValueError(
                f"Dense crowd labels must have one column per annotator, M={num_annotators}; "
                f"got shape {tuple(labels.shape)}. For (annotator, label) pairs pass "
                "`annotator_ids`."
            )
    elif tuple(annotator_ids.shape) != tuple(labels.shape) and None not in (
        tuple(annotator_ids.shape) + tuple(labels.shape)
    ):
        raise ValueError(
            "`annotator_ids` and `labels` of padded pairs must have the same shape "
            f"(batch, R); got {tuple(annotator_ids.shape)} and {tuple(labels.shape)}."
        )


def observed_label_probabilities(
    probabilities, confusion_logits, labels, annotator_ids=None, confusion_matrices=None
):
    """The model's probability of every crowd label, `(A_m f(x))[y]`.

    Takes the arguments of `observed_label_cross_entropy`.

    Returns:
        A float32 tensor shaped like `labels`: the probability of each
        label (unclipped; a missing label's entry is that of class 0 and
        means nothing).

    Raises:
        ValueError: if the known dimensions of `labels` do not fit: not 2-D,
            not as many rows as `probabilities`, dense labels without one
            column per annotator, or `annotator_ids` of another shape.

    Example:

    >>> p = observed_label_probabilities(f, layer.confusion_logits, y)
    """
    probabilities = ops.convert_to_tensor(probabilities)
    labels = ops.convert_to_tensor(labels)
    if annotator_ids is not None:
        annotator_ids = ops.convert_to_tensor(annotator_ids)
    _check_label_shapes(probabilities, confusion_logits, labels, annotator_ids)
    labels = ops.cast(labels, "int32")
    probabilities = ops.cast(probabilities, "float32")
    confusion_logits = ops.cast(confusion_logits, "float32")
    if annotator_ids is not None:
        annotator_ids = ops.cast(annotator_ids, "int32")
    if confusion_matrices is None and annotator_ids is None:
        confusion_matrices = column_softmax(confusion_logits)  # (M, K, K)
    if confusion_matrices is not None:
        confusion_matrices = ops.cast(confusion_matrices, "float32")
    if annotator_ids is None and _small_crowd(confusion_logits):
        return _dense_label_probability(probabilities, confusion_matrices, labels)
    if annotator_ids is None:
        rows = _gather_dense_rows(confusion_matrices, labels)
    elif confusion_matrices is not None:
        rows = _gather_rows(confusion_matrices, ops.maximum(annotator_ids, 0), labels)
    else:
        rows = _gather_pair_rows(confusion_logits, annotator_ids, labels)
    return ops.sum(rows * probabilities[:, None, :], axis=-1)


def label_cross_entropy(label_probabilities, labels):
    """`-log p` of observed labels (0 where missing), and the observed mask.

    Args:
        label_probabilities: Each label's probability, shaped like `labels`
            (`observed_label_probabilities`, or a mixture of it); clipped
            to `[PROBABILITY_FLOOR, 1]` before the log.
        labels: Integer labels, `-1` for missing.

    Returns:
        `(cross_entropy, observed_mask)`, both float32 and shaped like
        `labels`.
    """
    label_probabilities = ops.clip(label_probabilities, PROBABILITY_FLOOR, 1.0)
    observed_mask = ops.cast(ops.cast(labels, "int32") >= 0, "float32")
    return -ops.log(label_probabilities) * observed_mask, observed_mask


def observed_label_cross_entropy(
    probabilities, confusion_logits, labels, annotator_ids=None, confusion_matrices=None
):
    """Cross-entropy of every crowd label, and which ones are observed.

    Args:
        probabilities: `(B, K)` class probabilities `f(x)` of the classifier.
        confusion_logits: `(M, K, K)` logits; the confusion matrices are
            their softmax over axis -2 (column-stochastic).
        labels: Integer labels, `-1` for missing: `(B, M)` in the dense
            layout, or `(B, R)` in the padded-pair layout.
        annotator_ids: `None` for the dense layout, else the `(B, R)`
            annotator index of each label.
        confusion_matrices: Optional `column_softmax(confusion_logits)`,
            `(M, K, K)`, when the caller has it already (for a regularizer
            on the confusion matrices, such as GeoCrowdNet-W): the rows are
            then read from it instead of normalising the logits again. The
            values and gradients are the same.

    Returns:
        A tuple `(cross_entropy, observed_mask)`, both shaped like `labels`
        and float32. `cross_entropy` is zero where `observed_mask` is zero,
        so `sum(cross_entropy) / sum(observed_mask)` is the CCEM loss.

    Example:

    >>> ce, mask = observed_label_cross_entropy(f, layer.confusion_logits, y)
    >>> loss = ops.sum(ce) / ops.maximum(ops.sum(mask), 1.0)
    """
    return label_cross_entropy(
        observed_label_probabilities(
            probabilities, confusion_logits, labels, annotator_ids, confusion_matrices
        ),
        labels,
    )
