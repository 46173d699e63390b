"""`EncodedCrowdLabels`: dense crowd labels plus the user's ids for rows, columns and classes."""

import dataclasses
import warnings

import numpy as np
import pandas as pd

from keras_crowd.data.crowd_shape import CrowdShape
from keras_crowd.data import dense
from keras_crowd.data import errors
from keras_crowd.data import validation
from keras_crowd.data.vocabulary import Vocabulary
from keras_crowd.data.vocabulary import is_integer_token
from keras_crowd.data.vocabulary import to_python_scalar


def _as_vocabulary(ids, kind):
    if isinstance(ids, Vocabulary):
        return ids if ids.kind == kind else Vocabulary(ids.tokens, kind=kind)
    return Vocabulary(tuple(ids), kind=kind)


@dataclasses.dataclass(frozen=True, eq=False)
class EncodedCrowdLabels(CrowdShape):
    """Crowd labels as indices, with the maps back to the user's names.

    Args:
        crowd_labels: (N, M) int32 array; ``crowd_labels[n, m]`` is the class
            index annotator m gave item n, or -1 if m did not label n.
        task_ids: `Vocabulary` (or sequence) of the N task ids, in row order.
        annotator_ids: `Vocabulary` (or sequence) of the M annotator ids, in
            column order.
        class_names: `Vocabulary` (or sequence) of the K class names, in index
            order.

    The array is stored read-only; every reader in `keras_crowd.data`
    returns this type.

    Example:

    >>> crowd = EncodedCrowdLabels.from_dense([[0, -1], [1, 1]], class_names=["no", "yes"])
    >>> crowd.num_items, crowd.num_annotators, crowd.num_classes
    (2, 2, 2)
    >>> crowd.decode_labels([1, 0]).tolist()
    ['yes', 'no']
    """

    crowd_labels: np.ndarray
    task_ids: Vocabulary
    annotator_ids: Vocabulary
    class_names: Vocabulary

    def __post_init__(self):
        task_ids = _as_vocabulary(self.task_ids, "task")
        annotator_ids = _as_vocabulary(self.annotator_ids, "annotator")
        class_names = _as_vocabulary(self.class_names, "class")
        labels = validation.check_crowd_labels(
            self.crowd_labels, num_classes=len(class_names), empty_tasks="ignore"
        )
        if labels.shape != (len(task_ids), len(annotator_ids)):
            raise errors.CrowdDataError(
                f"crowd_labels has shape {labels.shape} but there are {len(task_ids)} "
                f"task ids and {len(annotator_ids)} annotator ids."
            )
        if labels is self.crowd_labels or labels.base is not None:
            labels = labels.copy()  # never share memory with the caller's array
        labels.setflags(write=False)
        object.__setattr__(self, "crowd_labels", labels)
        object.__setattr__(self, "task_ids", task_ids)
        object.__setattr__(self, "annotator_ids", annotator_ids)
        object.__setattr__(self, "class_names", class_names)

    @classmethod
    def from_dense(cls, crowd_labels, *, num_classes=None, class_names=None, task_ids=None,
                   annotator_ids=None, empty_tasks="warn"):
        """Wraps a dense (N, M) array (-1 or NaN for missing).

        Args:
            crowd_labels: (N, M) int array with -1 for missing, or float with NaN (or -1).
            num_classes: K; inferred as max label + 1 when neither it nor
                `class_names` is given.
            class_names: optional K class names; default ``0..K-1``.
            task_ids: optional N task ids; default ``0..N-1``.
            annotator_ids: optional M annotator ids; default ``0..M-1``.
            empty_tasks: ``"warn"`` (default), ``"ignore"`` or ``"error"``.
        """
        if class_names is not None and num_classes is not None and len(class_names) != num_classes:
            raise ValueError(
                f"num_classes={num_classes} but {len(class_names)} class names were given."
            )
        if class_names is not None:
            num_classes = len(class_names)
        labels = validation.check_crowd_labels(crowd_labels, num_classes, empty_tasks)
        if num_classes is None:
            num_classes = dense.infer_num_classes(labels)
        num_items, num_annotators = labels.shape
        return cls(
            crowd_labels=labels,
            task_ids=Vocabulary.range(num_items) if task_ids is None else task_ids,
            annotator_ids=(Vocabulary.range(num_annotators) if annotator_ids is None
                           else annotator_ids),
            class_names=Vocabulary.range(num_classes) if class_names is None else class_names,
        )

    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def num_labels(self):
        """Number of observed labels."""
        return int(self.observed_mask.sum())

    @property
    def observed_mask(self):
        """(N, M) boolean mask of the observed labels."""
        return dense.observed_mask(self.crowd_labels)

    def decode_labels(self, class_indices):
        """Class indices -> class names (-1 -> None)."""
        return self.class_names.decode(class_indices)

    def observed_triples(self, use_class_names=False):
        """The observed labels as `(item_index, annotator_index, labels)`.

        Args:
            use_class_names: Give the labels as class names, not indices.
        """
        item_index, annotator_index, labels = dense.observed_triples(self.crowd_labels)
        return item_index, annotator_index, (
            self.decode_labels(labels) if use_class_names else labels)

    @classmethod
    def coerce(cls, crowd, *, class_names=None, task_ids=None, annotator_ids=None):
        """`crowd` itself if already encoded, else `from_dense` with these ids."""
        if isinstance(crowd, cls):
            return crowd
        return cls.from_dense(crowd, class_names=class_names, task_ids=task_ids,
                              annotator_ids=annotator_ids, empty_tasks="ignore")

    def __repr__(self):
        return (f"EncodedCrowdLabels(num_items={self.num_items}, num_annotators="
                f"{self.num_annotators}, num_classes={self.num_classes}, "
                f"num_labels={self.num_labels})")


def _infinite_numbers(labels):
    """Boolean mask of the labels that are infinite floats, or None if none can be.

    Text such as ``"inf"`` in a column of names is a name, not a number.
    """
    if pd.api.types.is_float_dtype(labels.dtype):
        return np.isinf(labels.to_numpy(dtype=float))
    # Only an object column that holds floats needs the per-value loop; a
    # column of text or integers (the common case) is recognised in C.
    if labels.dtype == object and pd.api.types.infer_dtype(labels, skipna=True) in (
            "floating", "mixed-integer-float", "mixed"):
        return np.array([isinstance(value, (float, np.floating)) and bool(np.isinf(value))
                         for value in labels], dtype=bool)
    return None


def _integer_like(labels):
    """True if every label is an integer (int dtype, integral floats, or Python ints)."""
    if pd.api.types.is_bool_dtype(labels.dtype):
        return False
    if pd.api.types.is_integer_dtype(labels.dtype):
        return True
    if pd.api.types.is_float_dtype(labels.dtype):
        values = labels.to_numpy(dtype=float)
        return bool(np.all(values == np.round(values)))
    return all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
               for v in labels)


# Array kinds (integers, booleans, strings) whose equal values all have the
# same text, so that a label can be matched once per distinct value (unlike
# object arrays, where 3 == 3.0 but "3" != "3.0", and floats, -0.0 == 0.0).
_KINDS_WITH_ONE_TEXT_PER_VALUE = frozenset("iubUS")


def _match_each_value(values, vocabulary):
    """Indices of `values` among the ids of `vocabulary` (-1 where none matches).

    A value matches an id equal to it, or else an id with the same text
    (the integer label ``1`` matches the class name ``"1"``, as the command
    line gives class names as strings; the task ``"0"`` of a CSV file
    matches the task id ``0`` of an integer array).
    """
    indices = vocabulary.find(values)
    texts = tuple(str(name) for name in vocabulary)
    if (indices < 0).any() and len(set(texts)) == len(texts):
        unmatched = indices < 0
        indices[unmatched] = Vocabulary(texts, kind=vocabulary.kind).find(
            [str(v) for v in values[unmatched]])
    return indices


def _match_names(values, vocabulary):
    """Indices of `values` among the ids of `vocabulary` (-1 where none matches).

    Same result as `_match_each_value`. For integer (or boolean, or string)
    arrays each distinct value is matched once and the result is spread back
    over all values: millions of integer labels of a few classes cost a few
    look-ups and texts, not millions.

    Args:
        values: 1-D numpy array of labels or ids.
        vocabulary: The class names (or task or worker ids), a `Vocabulary`.

    Returns:
        An int64 array of indices, -1 for a value that matches no id.
    """
    if values.dtype.kind not in _KINDS_WITH_ONE_TEXT_PER_VALUE:
        return _match_each_value(values, vocabulary)
    codes, distinct = pd.factorize(values)
    return _match_each_value(np.asarray(distinct), vocabulary)[codes]


def _encode_ids(values, vocabulary):
    """Indices of task or worker ids in the given `vocabulary`, equal or of the same text.

    Raises:
        UnknownIdError: an id matches none of `vocabulary`.
    """
    values = values.to_numpy()
    indices = _match_names(values, vocabulary)
    if (indices < 0).any():
        vocabulary.encode(values[indices < 0])  # raises, naming the unknown ids
    return indices


def _encode_with_class_names(labels, vocabulary):
    """Class indices of `labels` given the K class names (see `encode_class_labels`)."""
    integer_labels = _integer_like(labels)
    values = labels.to_numpy().astype(np.int64) if integer_labels else labels.to_numpy()
    indices = _match_names(values, vocabulary)
    if (indices >= 0).all():
        return indices
    if integer_labels and not any(is_integer_token(name) for name in vocabulary):
        validation.check_class_indices(
            values, len(vocabulary),
            reading="integer labels are positions in the (non-integer) class names")
        return values
    unknown = pd.unique(labels[indices < 0].to_numpy())
    shown = ", ".join(repr(to_python_scalar(v)) for v in unknown[:5]) + (
        f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else "")
    hint = (" Integer labels are read as positions only when no class name is an "
            "integer." if integer_labels else "")
    raise errors.UnknownClassError(
        f"Unknown class {shown}: {int((indices < 0).sum())} label(s) match no class name; "
        f"the class names are {vocabulary.preview()}.{hint}"
    )


INTEGER_LABEL_READINGS = ("indices", "categories")


def encode_class_labels(labels, class_names=None, num_classes=None, integer_labels="indices"):
    """Maps one column of labels (indices or class names) to class indices.

    Rules:
    - With `class_names`: a label is the class whose name equals it, or else
      whose name has the same text (label ``1`` is class ``"1"``). Only when
      some labels match no name, the labels are integers and no class name is
      an integer (or integer text), are the labels positions in `class_names`
      (``0 -> class_names[0]``); otherwise an unmatched label is an error.
    - Without `class_names`, integer labels are read as `integer_labels`
      says: ``"indices"``: K = `num_classes` or max label + 1, and class names
      ``0..K-1``; ``"categories"`` (only without `num_classes`): the class
      names are the distinct labels, sorted, like any other label.
    - Other labels (strings) are class names, sorted (see `ordered_unique`).

    Args:
        labels: 1-D array-like of labels, one per observed label (no missing).
        class_names: optional sequence of the K class names.
        num_classes: optional K.
        integer_labels: ``"indices"`` (default) or ``"categories"``, for
            integer labels without `class_names` (see above).

    Returns:
        `(class_indices int64 (S,), class_names Vocabulary)`.

    Raises:
        CrowdDataError: a label is missing (NaN/None).
        LabelOutOfRangeError: an integer label (an index or a position) is
            outside [0, K), or a float label is infinite.
        UnknownClassError: a label matches no name of `class_names`.
    """
    validation.check_policy("integer_labels", integer_labels, INTEGER_LABEL_READINGS)
    labels = pd.Series(labels).reset_index(drop=True)
    missing = labels.isna().to_numpy()
    if missing.any():
        rows = np.flatnonzero(missing)
        raise errors.CrowdDataError(
            f"{len(rows)} label(s) are missing (NaN/None), e.g. at row(s) "
            f"{', '.join(map(str, rows[:5]))}. In the long and JSON formats every row is "
            "an observed label: remove the rows without a label."
        )
    infinite = _infinite_numbers(labels)
    if infinite is not None and infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        raise errors.LabelOutOfRangeError(
            f"Label {labels.iat[row]} (row {row}) is infinite, not a class; "
            f"{int(infinite.sum())} such label(s) in all."
        )
    if class_names is not None:
        vocabulary = _as_vocabulary(class_names, "class")
        if num_classes is not None and num_classes != len(vocabulary):
            raise ValueError(
                f"num_classes={num_classes} but {len(vocabulary)} class names were given."
            )
        return _encode_with_class_names(labels, vocabulary), vocabulary
    if _integer_like(labels):
        indices = labels.to_numpy().astype(np.int64)
        if integer_labels == "categories" and num_classes is None and len(indices):
            categories, codes = np.unique(indices, return_inverse=True)
            return codes.astype(np.int64), Vocabulary(tuple(categories.tolist()), kind="class")
        if num_classes is None:
            num_classes = int(indices.max(initial=-1)) + 1
            if len(indices) and indices.min() > 0:
                warnings.warn(
                    f"No label is class 0 (the integer labels run from {int(indices.min())} "
                    f"to {int(indices.max())}), so there are {num_classes} classes and "
                    "class 0 has no label. If your classes are numbered from 1, subtract 1 "
                    "or name them (class_names=[...], --class-names on the command line).",
                    errors.ClassZeroWithoutLabelsWarning,
                    stacklevel=2,
                )
        num_classes = validation.check_num_classes(max(num_classes, 1))
        validation.check_class_indices(indices, num_classes)
        return indices, Vocabulary.range(num_classes, kind="class")
    vocabulary = Vocabulary.from_values(labels, kind="class")
    if num_classes is not None and num_classes != len(vocabulary):
        raise errors.CrowdDataError(
            f"num_classes={num_classes} but the labels hold {len(vocabulary)} distinct class "
            "names; pass class_names= to name every class."
        )
    return vocabulary.encode(labels), vocabulary


def encode_triples(tasks, workers, labels, *, class_names=None, num_classes=None, task_ids=None,
                   annotator_ids=None, duplicates="error", empty_tasks="warn",
                   integer_labels="indices"):
    """Builds `EncodedCrowdLabels` from parallel (task, worker, label) columns.

    This is the engine behind the long (crowd-kit) and JSON (peerannot)
    readers. The result does not depend on the order of the rows (except for
    which label ``duplicates="first"/"last"`` keeps).

    Args:
        tasks, workers, labels: 1-D array-likes of equal length S.
        class_names: optional K class names (see `encode_class_labels`).
        num_classes: optional K.
        task_ids: optional task ids, in the row order wanted (e.g. the order of
            the feature matrix). A task is the id equal to it, or else the id
            with the same text (the task ``"0"`` of a CSV file is the id ``0``).
            Tasks in `task_ids` without labels are empty
            tasks; a task not in `task_ids` raises `UnknownIdError`. Default:
            the distinct tasks, sorted (see `ordered_unique`).
        annotator_ids: optional annotator ids, in the column order wanted;
            default: the distinct workers, sorted.
        duplicates: ``"error"`` (default), ``"first"`` or ``"last"``.
        empty_tasks: ``"warn"`` (default), ``"ignore"``, ``"error"`` or ``"drop"``.
        integer_labels: ``"indices"`` (default) or ``"categories"`` (see
            `encode_class_labels`).

    Returns:
        `EncodedCrowdLabels`.
    """
    validation.check_policy("duplicates", duplicates, validation.DUPLICATE_POLICIES)
    validation.check_policy("empty_tasks", empty_tasks, validation.EMPTY_TASK_POLICIES)
    tasks, workers, labels = (pd.Series(c).reset_index(drop=True) for c in (tasks, workers, labels))
    if not len(tasks) == len(workers) == len(labels):
        raise errors.CrowdDataError("task, worker and label columns differ in length.")
    task_vocabulary = (Vocabulary.from_values(tasks, "task") if task_ids is None
                       else _as_vocabulary(task_ids, "task"))
    annotator_vocabulary = (Vocabulary.from_values(workers, "annotator") if annotator_ids is None
                            else _as_vocabulary(annotator_ids, "annotator"))
    task_index = _encode_ids(tasks, task_vocabulary)
    annotator_index = _encode_ids(workers, annotator_vocabulary)
    class_index, class_vocabulary = encode_class_labels(labels, class_names, num_classes,
                                                        integer_labels)
    keep = validation.duplicate_keep_mask(
        task_index, annotator_index, duplicates, task_vocabulary, annotator_vocabulary
    )
    task_index, annotator_index, class_index = (
        task_index[keep], annotator_index[keep], class_index[keep])

    has_label = np.zeros(len(task_vocabulary), dtype=bool)
    has_label[task_index] = True
    empty_rows = np.flatnonzero(~has_label)
    validation.handle_empty_tasks(empty_rows, empty_tasks, task_vocabulary)
    if empty_tasks == "drop" and len(empty_rows):
        new_row = np.cumsum(has_label) - 1
        task_index = new_row[task_index]
        task_vocabulary = Vocabulary(
            tuple(t for t, kept in zip(task_vocabulary, has_label) if kept), kind="task")

    crowd_labels = np.full((len(task_vocabulary), len(annotator_vocabulary)),
                           validation.MISSING_LABEL, dtype=np.int32)
    crowd_labels[task_index, annotator_index] = class_index
    return EncodedCrowdLabels(crowd_labels, task_vocabulary, annotator_vocabulary,
                              class_vocabulary)
