"""Checks on crowd labels and features, run before training starts."""

import dataclasses

import numpy as np

ANNOTATOR_IDS_KEY = "annotator_ids"
LABELS_KEY = "labels"


def is_padded_pairs(labels):
    """Whether `labels` is the padded-pair dict layout."""
    return isinstance(labels, dict) and set(labels) == {ANNOTATOR_IDS_KEY, LABELS_KEY}


def refuse_other_label_dicts(labels):
    """Refuse crowd labels given as a dict other than the padded-pair one."""
    if isinstance(labels, dict) and not is_padded_pairs(labels):
        raise ValueError(
            "Crowd labels given as a dict must have exactly the keys "
            f"'{ANNOTATOR_IDS_KEY}' and '{LABELS_KEY}'; got {sorted(labels)}."
        )


def _integer_labels(values, what):
    """Return `values` as int64, refusing non-integer floats and NaN."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)):
            raise ValueError(
                f"{what} contain NaN or inf. Mark missing labels with -1 "
                "(keras_crowd.data converts NaN-coded arrays)."
            )
        if np.any(values != np.round(values)):
            bad = values[values != np.round(values)].flat[0]
            raise ValueError(f"{what} must be integers; found the value {bad}.")
    elif values.dtype.kind not in "iu":
        raise ValueError(
            f"{what} must be an integer array; got dtype {values.dtype}."
        )
    return values.astype("int64")


def _check_label_range(labels, num_classes, what, missing_allowed=True):
    """Refuse labels outside `[0, K)`, other than -1 (missing) when
    `missing_allowed` (crowd labels; true labels have no missing marker)."""
    if labels.size == 0:
        return
    low, high = int(labels.min()), int(labels.max())
    if low < -1:
        valid = "a class index >= 0" if num_classes is None else (
            f"a class index in [0, {num_classes - 1}]"
        )
        raise ValueError(f"{what} must be -1 (missing) or {valid}; found {low}.")
    if num_classes is not None and high >= num_classes:
        raise ValueError(
            f"{what} contain the class {high}, but the classifier has only "
            f"{num_classes} classes (valid labels are 0..{num_classes - 1}"
            + (", and -1 for missing" if missing_allowed else "")
            + ")."
        )


def validate_crowd_labels(labels, num_annotators, num_classes):
    """Validate crowd labels against the model's M and K.

    Args:
        labels: `(N, M)` dense labels with -1 for missing, or the padded
            pair dict `{"annotator_ids": (N, R), "labels": (N, R)}`.
        num_annotators: The model's M, or `None` if not known yet (only
            annotator ids >= 0 are then checked).
        num_classes: The model's K, or `None` if not known yet.

    Returns:
        The number of items N.

    Raises:
        ValueError: naming the first problem found.
    """
    if is_padded_pairs(labels):
        annotator_ids = _integer_labels(labels[ANNOTATOR_IDS_KEY], "Annotator ids")
        pair_labels = _integer_labels(labels[LABELS_KEY], "Crowd labels")
        if annotator_ids.shape != pair_labels.shape or pair_labels.ndim != 2:
            raise ValueError(
                "Padded pairs need `annotator_ids` and `labels` of the same "
                f"shape (N, R); got {annotator_ids.shape} and {pair_labels.shape}."
            )
        observed = pair_labels >= 0
        ids = annotator_ids[observed]
        if ids.size and num_annotators is None and ids.min() < 0:
            raise ValueError(
                f"Annotator ids must be >= 0; found {int(ids.min())}."
            )
        if ids.size and num_annotators is not None and (
            ids.min() < 0 or ids.max() >= num_annotators
        ):
            raise ValueError(
                f"Annotator ids must lie in [0, {num_annotators - 1}] for a "
                f"model of {num_annotators} annotators; found "
                f"{int(ids.min())}..{int(ids.max())}."
            )
        _check_label_range(pair_labels, num_classes, "Crowd labels")
        _refuse_repeated_pairs(annotator_ids, observed)
        return pair_labels.shape[0]
    refuse_other_label_dicts(labels)
    labels = _integer_labels(labels, "Crowd labels")
    if labels.ndim != 2:
        raise ValueError(
            "Crowd labels must be an (N, M) array, one column per annotator "
            f"and -1 for missing; got shape {labels.shape}."
        )
    if num_annotators is not None and labels.shape[1] != num_annotators:
        raise ValueError(
            f"Crowd labels have {labels.shape[1]} annotator columns, but the "
            f"model was built for num_annotators={num_annotators}."
        )
    _check_label_range(labels, num_classes, "Crowd labels")
    return labels.shape[0]


def _refuse_repeated_pairs(annotator_ids, observed):
    """Refuse an annotator with two labels for one item: the loss would count
    both, as if the dense layout could hold two labels in one cell."""
    items, slots = np.nonzero(observed)
    ids = annotator_ids[items, slots].astype(np.int64)
    keys = items.astype(np.int64) * (int(ids.max(initial=0)) + 1) + ids
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    if np.any(counts > 1):
        key = np.flatnonzero(counts > 1)[0]
        item, annotator = int(items[first[key]]), int(ids[first[key]])
        raise ValueError(
            f"Annotator {annotator} has {int(counts[key])} labels for item {item} in the "
            "padded pairs; an (item, annotator) pair holds one label, as a cell of the "
            "dense layout does. Drop the repeats, e.g. with keras_crowd.data."
            "from_padded_pairs(..., duplicates='first') and to_padded_pairs."
        )


def validate_true_labels(labels, num_classes):
    """Validate a 1-D vector of true class indices; returns N."""
    labels = _integer_labels(labels, "True labels")
    if labels.ndim != 1:
        raise ValueError(f"True labels must be 1-D; got shape {labels.shape}.")
    if labels.size and labels.min() < 0:
        raise ValueError("True labels must be class indices >= 0.")
    _check_label_range(labels, num_classes, "True labels", missing_allowed=False)
    return labels.shape[0]


def validate_features(features, num_items):
    """Refuse features with NaN/inf or a number of rows unlike the labels."""
    leaves = features.values() if isinstance(features, dict) else (
        features if isinstance(features, (list, tuple)) else [features]
    )
    for leaf in leaves:
        array = np.asarray(leaf)
        if array.shape[:1] != (num_items,):
            raise ValueError(
                f"Features have {array.shape[0] if array.ndim else 0} rows but "
                f"the labels have {num_items} items."
            )
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise ValueError(
                "Features contain NaN or inf; clean or impute them first."
            )


# The attribute under which `mark_validated` records, on the dataset object
# itself, that its crowd labels were validated on the in-memory arrays it was
# built from (`keras_crowd.training.epoch_dataset(..., num_classes=K)`). A
# dataset derived from it (by `map`, `take`, ...) is a new object without the
# attribute, and is checked again as it streams.
_VALIDATED_ATTRIBUTE = "_keras_crowd_validated"


@dataclasses.dataclass(frozen=True)
class ValidatedDataset:
    """What is known of a dataset validated when it was built.

    Attributes:
        num_annotators: M, the annotator columns of its crowd labels.
        num_classes: K; every label is -1 or in `[0, K)`.
        feature_sample: The first rows of its features (an array), for
            checks that need a few real inputs without iterating it.
    """

    num_annotators: int
    num_classes: int
    feature_sample: object


def mark_validated(dataset, num_annotators, num_classes, feature_sample):
    """Record on `dataset` that it yields only validated crowd labels.

    Returns:
        `dataset` itself.
    """
    setattr(dataset, _VALIDATED_ATTRIBUTE,
            ValidatedDataset(int(num_annotators), int(num_classes), feature_sample))
    return dataset


def validated_dataset_info(dataset):
    """The `ValidatedDataset` record of `dataset`, or `None`."""
    record = getattr(dataset, _VALIDATED_ATTRIBUTE, None)
    return record if isinstance(record, ValidatedDataset) else None


# The attribute under which `mark_source_arrays` records the in-memory
# arrays a dataset that cannot be mapped (a `tf.distribute` distributed
# dataset) was built from, so that `CrowdModel.fit` can check them.
_SOURCE_ARRAYS_ATTRIBUTE = "_keras_crowd_source_arrays"


@dataclasses.dataclass(frozen=True)
class SourceArrays:
    """The features and crowd labels a dataset was built from.

    Attributes:
        features: `(N, ...)` features.
        labels: `(N, M)` dense crowd labels or the padded-pair dict.
    """

    features: object
    labels: object


def mark_source_arrays(dataset, features, labels):
    """Record on `dataset` the arrays it yields, for checks before training.

    Args:
        dataset: Any dataset object (e.g. a `tf.distribute`
            `DistributedDataset`) whose batches are rows of the arrays.
        features: Its `(N, ...)` features (referenced, not copied).
        labels: Its crowd labels (referenced, not copied).

    Returns:
        `dataset` itself.
    """
    setattr(dataset, _SOURCE_ARRAYS_ATTRIBUTE, SourceArrays(features, labels))
    return dataset


def source_arrays(dataset):
    """The `SourceArrays` record of `dataset`, or `None`."""
    record = getattr(dataset, _SOURCE_ARRAYS_ATTRIBUTE, None)
    return record if isinstance(record, SourceArrays) else None
