"""Validation of dense crowd labels and of the data policies.

Policies, shared by every reader in `keras_crowd.data`:

- **Duplicates** (`duplicates=`): an annotator who labels the same task more
  than once. ``"error"`` (default) raises `DuplicateLabelError`; ``"first"``
  keeps the first label in input row order, ``"last"`` the last one. (A dense
  (N, M) array cannot hold duplicates.)
- **Empty tasks** (`empty_tasks=`): a task with no label at all. ``"warn"``
  (default) keeps it, so rows stay aligned with the features, and emits an
  `EmptyTaskWarning`; ``"ignore"`` keeps it silently; ``"error"`` raises
  `EmptyTaskError`; ``"drop"`` removes it (only where tasks carry ids, i.e.
  the long and JSON formats; a dense array cannot drop rows without
  misaligning them with the features, so there ``"drop"`` is refused).
"""

import warnings

import numpy as np

from keras_crowd.data import errors

MISSING_LABEL = -1

DUPLICATE_POLICIES = ("error", "first", "last")
EMPTY_TASK_POLICIES = ("warn", "ignore", "error", "drop")


def check_policy(name, value, allowed):
    """Raises a `ValueError` unless `value` is one of `allowed`."""
    if value not in allowed:
        raise ValueError(
            f"`{name}` must be one of {', '.join(map(repr, allowed))}; got {value!r}."
        )
    return value


def check_num_classes(num_classes):
    """Checks that `num_classes` is an integer >= 1 and returns it as `int`."""
    if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(f"`num_classes` must be a positive integer; got {num_classes!r}.")
    return int(num_classes)


def check_class_indices(labels, num_classes=None, name="Label", reading=None):
    """Validates class indices that cannot be missing (e.g. true labels).

    Args:
        labels: 1-D array-like of class indices: integers, or floats holding
            whole numbers. No value means "missing": NaN and -1 are refused.
        num_classes: optional K; every index must then be in [0, K).
        name: what one label is called in the error messages.
        reading: optional note, shown in the message, on how the labels
            were read.

    Returns:
        The indices as an int64 array.

    Raises:
        CrowdDataError: not 1-D, not numbers, or not whole numbers (NaN too).
        LabelOutOfRangeError: an index < 0, or >= `num_classes`.

    Example:

    >>> check_class_indices([0, 2.0, 1], num_classes=3).tolist()
    [0, 2, 1]
    """
    array = np.asarray(labels)
    if array.ndim != 1:
        raise errors.CrowdDataError(f"{name}s must be 1-D; got shape {array.shape}.")
    if array.dtype == bool or array.dtype.kind not in "iuf":
        raise errors.CrowdDataError(
            f"{name}s must be class indices (integers); got dtype {array.dtype}.")
    if array.dtype.kind == "f":
        fractional = ~np.isfinite(array) | (array != np.round(array))
        if fractional.any():
            row = int(np.flatnonzero(fractional)[0])
            raise errors.CrowdDataError(
                f"{name}s must be whole numbers (class indices, none missing); found "
                f"{array[row]} (row {row}).")
    indices = _signed(array).astype(np.int64, copy=False)
    upper = np.inf if num_classes is None else check_num_classes(num_classes)
    bad = (indices < 0) | (indices >= upper)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        known = "negative: classes are 0, 1, ..." if num_classes is None else (
            f"outside the known classes [0, {upper})")
        why = f" ({reading})" if reading else ""
        raise errors.LabelOutOfRangeError(
            f"{name} {int(indices[row])} (row {row}) is {known}{why}; {int(bad.sum())} "
            "such label(s) in all.")
    return indices


def _signed(array):
    """An unsigned integer array as int64 (room for -1), after a bound check."""
    if array.dtype.kind != "u":
        return array
    if array.max(initial=0) > np.iinfo(np.int64).max:
        raise errors.LabelOutOfRangeError(
            f"Label {array.max()} is too large to be a class index.")
    return array.astype(np.int64)


def _as_integer_labels(array):
    """Converts an int array (-1 missing) or a float array (NaN or -1 missing).

    Unsigned integers (e.g. a fully observed uint8 array) become int64.
    """
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise errors.CrowdDataError(
            "Dense crowd labels must be an integer array (-1 = missing) or a "
            f"float array (NaN or -1 = missing); got dtype {array.dtype}."
        )
    if np.issubdtype(array.dtype, np.floating):
        missing = np.isnan(array) | (array == MISSING_LABEL)
        filled = np.where(missing, MISSING_LABEL, array)
        if not np.all(np.isfinite(filled)) or np.any(filled != np.round(filled)):
            raise errors.CrowdDataError(
                "Float crowd labels must hold whole numbers, or NaN or -1 (missing); "
                "found a fractional or infinite value."
            )
        if np.any(filled[~missing] < 0):
            raise errors.LabelOutOfRangeError(
                "Float crowd labels mark missing entries with NaN or -1; found a "
                f"negative label {filled[~missing].min():g}."
            )
        return filled.astype(np.int64)
    return _signed(array)


def check_crowd_labels(crowd_labels, num_classes=None, empty_tasks="warn"):
    """Validates dense crowd labels and returns them as an int32 array.

    Args:
        crowd_labels: (N, M) array. Integer dtype with -1 for a missing label,
            or float dtype with NaN (or -1) for a missing label.
        num_classes: K. If given, every observed label must be in [0, K).
        empty_tasks: policy for rows with no label: ``"warn"`` (default),
            ``"ignore"`` or ``"error"`` (``"drop"`` is refused for dense arrays,
            see the module docstring).

    Returns:
        An (N, M) int32 array with -1 for missing labels.

    Raises:
        CrowdDataError: wrong shape or dtype, or fractional float labels.
        LabelOutOfRangeError: a label < -1, or >= `num_classes`.
        EmptyTaskError: a row has no label and ``empty_tasks="error"``.

    Example:

    >>> check_crowd_labels([[0, -1], [1, 1]], num_classes=2).tolist()
    [[0, -1], [1, 1]]
    """
    check_policy("empty_tasks", empty_tasks, EMPTY_TASK_POLICIES)
    if empty_tasks == "drop":
        raise ValueError(
            'empty_tasks="drop" is not available for dense arrays: dropping rows '
            "would misalign them with the features. Drop the rows of both yourself, "
            'or use "warn", "ignore" or "error".'
        )
    array = np.asarray(crowd_labels)
    if array.ndim != 2:
        raise errors.CrowdDataError(
            f"Dense crowd labels must be 2-D (num_items, num_annotators); got shape {array.shape}."
        )
    labels = _as_integer_labels(array)
    lowest = labels.min(initial=0)
    highest = labels.max(initial=-1)
    if lowest < MISSING_LABEL:
        n, m = np.argwhere(labels < MISSING_LABEL)[0]
        raise errors.LabelOutOfRangeError(
            f"Label {labels[n, m]} at item {n}, annotator {m} is negative; "
            f"only {MISSING_LABEL} (missing) may be negative."
        )
    if num_classes is not None:
        num_classes = check_num_classes(num_classes)
        if highest >= num_classes:
            n, m = np.argwhere(labels >= num_classes)[0]
            raise errors.LabelOutOfRangeError(
                f"Label {labels[n, m]} at item {n}, annotator {m} is outside the "
                f"known classes [0, {num_classes})."
            )
    if highest > np.iinfo(np.int32).max:
        raise errors.LabelOutOfRangeError("Labels must fit in int32.")
    labels = labels.astype(np.int32, copy=False)
    if empty_tasks != "ignore":
        handle_empty_tasks(np.flatnonzero(~np.any(labels >= 0, axis=1)), empty_tasks)
    return labels


def empty_tasks_message(empty_rows, task_ids=None):
    """``"2 task(s) have no label at all: 'a', 'c'."`` (the first five named).

    Args:
        empty_rows: int array of the row indices with no label (not empty).
        task_ids: optional `Vocabulary` or sequence to name the tasks; by
            default the row indices name them.

    Returns:
        The message, one sentence.
    """
    names = [repr(task_ids[i]) if task_ids is not None else str(int(i)) for i in empty_rows[:5]]
    more = f" (and {len(empty_rows) - 5} more)" if len(empty_rows) > 5 else ""
    return f"{len(empty_rows)} task(s) have no label at all: {', '.join(names)}{more}."


def handle_empty_tasks(empty_rows, empty_tasks, task_ids=None):
    """Applies the empty-task policy to the rows (tasks) that have no label.

    Args:
        empty_rows: int array of the row indices with no label.
        empty_tasks: ``"warn"``, ``"ignore"``, ``"error"`` or ``"drop"``
            (``"drop"`` is handled by the caller; here it is silent).
        task_ids: optional `Vocabulary` or sequence to name the tasks.
    """
    if len(empty_rows) == 0 or empty_tasks in ("ignore", "drop"):
        return
    message = empty_tasks_message(empty_rows, task_ids)
    if empty_tasks == "error":
        raise errors.EmptyTaskError(message)
    warnings.warn(
        message + ' They are kept (uniform majority-vote posterior, prior under '
        'Dawid-Skene); pass empty_tasks="ignore" to silence this.',
        errors.EmptyTaskWarning,
        stacklevel=3,
    )


def duplicate_keep_mask(task_index, annotator_index, duplicates="error", task_ids=None,
                        annotator_ids=None):
    """Which (task, annotator, label) rows to keep under the duplicates policy.

    Args:
        task_index: int array (S,) of task indices, in input row order.
        annotator_index: int array (S,) of annotator indices.
        duplicates: ``"error"`` (default), ``"first"`` or ``"last"``.
        task_ids, annotator_ids: optional vocabularies to name offenders.

    Returns:
        A boolean array (S,): True for the rows to keep.

    Raises:
        DuplicateLabelError: with ``duplicates="error"``, when some annotator
            labelled some task twice or more.
    """
    check_policy("duplicates", duplicates, DUPLICATE_POLICIES)
    task_index = np.asarray(task_index, dtype=np.int64)
    annotator_index = np.asarray(annotator_index, dtype=np.int64)
    keys = task_index * (int(annotator_index.max(initial=0)) + 1) + annotator_index
    if duplicates == "last":
        _, reversed_first = np.unique(keys[::-1], return_index=True)
        keep_rows = len(keys) - 1 - reversed_first
    else:
        _, keep_rows = np.unique(keys, return_index=True)
    keep = np.zeros(len(keys), dtype=bool)
    keep[keep_rows] = True
    if duplicates == "error" and not keep.all():
        row = int(np.flatnonzero(~keep)[0])
        same = np.flatnonzero(keys == keys[row])
        task = task_ids[task_index[row]] if task_ids is not None else int(task_index[row])
        worker = (annotator_ids[annotator_index[row]] if annotator_ids is not None
                  else int(annotator_index[row]))
        raise errors.DuplicateLabelError(
            f"Annotator {worker!r} labelled task {task!r} {len(same)} times (rows "
            f"{', '.join(map(str, same[:5]))}); {int((~keep).sum())} duplicate row(s) "
            'in all. Pass duplicates="first" or duplicates="last" to keep one label (the '
            'readers and the aggregators take it, e.g. MajorityVote(duplicates="first")).'
        )
    return keep
