"""The long ("tidy") format: one row per label, columns ``task, worker, label``.

These are crowd-kit's column names, so a crowd-kit DataFrame can be passed
as is. A CSV file with the same columns is read with `read_csv`.
"""

import os

import numpy as np
import pandas as pd

from keras_crowd.data import errors
from keras_crowd.data.encoded import EncodedCrowdLabels
from keras_crowd.data.encoded import encode_triples
from keras_crowd.utils.atomic_files import atomic_path

TASK_COLUMN = "task"
WORKER_COLUMN = "worker"
LABEL_COLUMN = "label"
# Older crowd-kit releases called the worker column "performer".
_WORKER_ALIASES = ("performer",)
# The cells pandas' `read_csv` reads as missing by default (R writes "NA").
DEFAULT_NA_TOKENS = frozenset((
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
))


def _resolve_columns(frame, task_column, worker_column, label_column):
    if worker_column not in frame.columns and worker_column == WORKER_COLUMN:
        worker_column = next((a for a in _WORKER_ALIASES if a in frame.columns), worker_column)
    missing = [c for c in (task_column, worker_column, label_column) if c not in frame.columns]
    if missing:
        raise errors.CrowdDataError(
            f"Long-format data needs columns {task_column!r}, {worker_column!r} and "
            f"{label_column!r}; missing {missing}. Found columns {list(frame.columns)}."
        )
    return task_column, worker_column, label_column


def _numeric_labels_with_missing(labels, class_names=None):
    """Numeric labels with NA tokens read as missing; text labels unchanged.

    A CSV label column read verbatim is text as soon as one cell is an NA
    token such as ``NA`` (R's missing value). When every other label is a
    number, the tokens are missing labels (NaN, so that `from_long` names
    their rows); when the labels are text, ``NA`` may be a class name and
    is kept.

    Args:
        labels: The label column, as read with only empty cells missing.
        class_names: The class names, if given: a token that is one of
            them stays a label.

    Returns:
        The numeric labels (NaN for the NA tokens), or `labels` itself when
        it is already numeric or some label is text.
    """
    if pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels):
        return labels
    is_na_token = labels.isna() | labels.isin(DEFAULT_NA_TOKENS)
    if class_names is not None:
        # A token that names a class is that class.
        is_na_token &= ~labels.isin([str(name) for name in class_names])
    if not (~is_na_token).any():
        return labels  # no number at all: the tokens are the labels
    try:
        numbers = pd.to_numeric(labels[~is_na_token])
    except (ValueError, TypeError):
        return labels
    if not np.isfinite(numbers.to_numpy(dtype=float)).all():
        return labels  # "inf", "infinity": text, not class indices
    return numbers.reindex(labels.index)


def from_long(data, *, class_names=None, num_classes=None, task_ids=None, annotator_ids=None,
              duplicates="error", empty_tasks="warn", task_column=TASK_COLUMN,
              worker_column=WORKER_COLUMN, label_column=LABEL_COLUMN, integer_labels=None):
    """Reads long-format crowd labels (a DataFrame, or a CSV path) into dense form.

    Args:
        data: `pandas.DataFrame` with columns ``task, worker, label`` (crowd-kit's
            names; ``performer`` is accepted for ``worker``), or a path to a CSV
            file with them (see `read_csv`).
        class_names: optional K class names. Labels are looked up among them
            (by value, or by text: label ``1`` is class ``"1"``); integer
            labels with non-integer names are positions in them. Default: the
            distinct labels, sorted, are the classes (integer labels of a CSV
            file: see `integer_labels`).
        num_classes: optional K. With it, integer labels are class indices
            ``0..K-1`` (useful when the top classes are never used).
        task_ids: optional task ids in the wanted row order (e.g. the feature
            matrix's order); a task is the id equal to it or, else, of the
            same text (the CSV task ``"0"`` is the id ``0``). Default:
            distinct tasks, sorted.
        annotator_ids: optional annotator ids in the wanted column order.
            Default: distinct workers, sorted.
        duplicates: ``"error"`` (default), ``"first"`` or ``"last"``: what to do
            when a worker labelled the same task twice.
        empty_tasks: ``"warn"`` (default, keep and warn), ``"ignore"``,
            ``"error"`` or ``"drop"``. Only tasks listed in `task_ids` can be
            empty.
        task_column, worker_column, label_column: column names.
        integer_labels: how integer labels are read when neither
            `class_names` nor `num_classes` is given: ``"categories"`` (the
            default for a DataFrame, as in crowd-kit: labels ``{1, 4, 5}``
            are three classes named 1, 4 and 5) or ``"indices"`` (the default
            for a CSV file, as written by `write_csv(use_class_names=False)`
            and `keras-crowd simulate` without ``--class-names``: class
            indices ``0..max label``).
            For labels ``0..K-1`` that all occur, both give the same result.

    Returns:
        `EncodedCrowdLabels`.

    Example:

    >>> frame = pd.DataFrame({"task": ["t1", "t1", "t2"], "worker": ["w1", "w2", "w1"],
    ...                       "label": ["cat", "dog", "dog"]})
    >>> crowd = from_long(frame)
    >>> crowd.crowd_labels.tolist(), list(crowd.class_names)
    ([[0, 1], [1, -1]], ['cat', 'dog'])
    """
    if isinstance(data, (str, os.PathLike)):
        return read_csv(data, class_names=class_names, num_classes=num_classes,
                        task_ids=task_ids, annotator_ids=annotator_ids, duplicates=duplicates,
                        empty_tasks=empty_tasks, task_column=task_column,
                        worker_column=worker_column, label_column=label_column,
                        integer_labels=integer_labels)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"from_long expects a pandas DataFrame or a CSV path; got {type(data)}.")
    task_column, worker_column, label_column = _resolve_columns(
        data, task_column, worker_column, label_column)
    return encode_triples(
        data[task_column], data[worker_column], data[label_column], class_names=class_names,
        num_classes=num_classes, task_ids=task_ids, annotator_ids=annotator_ids,
        duplicates=duplicates, empty_tasks=empty_tasks,
        integer_labels=integer_labels or "categories")


def read_csv(path, **kwargs):
    """Reads a long-format CSV file (columns ``task, worker, label``).

    Task and worker ids are read as strings (so ``"007"`` stays ``"007"``),
    verbatim: only an empty cell is missing (``NA``, ``N/A`` or ``null`` are
    ids like any other). Labels are parsed by pandas (integers become class
    indices unless ``integer_labels="categories"``, text becomes class
    names). Among numeric labels, pandas' NA tokens (``NA``, ``N/A``,
    ``null``, ``NaN``...) are missing labels, which are refused; among text
    labels they are class names like any other. Keyword arguments are those
    of `from_long`.
    """
    kwargs["integer_labels"] = kwargs.get("integer_labels") or "indices"
    task_column = kwargs.get("task_column", TASK_COLUMN)
    worker_column = kwargs.get("worker_column", WORKER_COLUMN)
    id_columns = (task_column, worker_column) + (
        _WORKER_ALIASES if worker_column == WORKER_COLUMN else ())
    try:
        frame = pd.read_csv(path, dtype={c: str for c in id_columns}, keep_default_na=False,
                            na_values=[""], encoding="utf-8")
    except UnicodeDecodeError as error:
        raise errors.CrowdDataError(
            f"{path}: not valid UTF-8 text ({error.reason} at byte {error.start}); "
            "save the CSV as UTF-8.") from None
    except pd.errors.EmptyDataError:
        raise errors.CrowdDataError(
            f"{path}: the file is empty; expected a header line "
            f"'{task_column},{worker_column},{kwargs.get('label_column', LABEL_COLUMN)}'."
        ) from None
    except pd.errors.ParserError as error:
        raise errors.CrowdDataError(f"{path}: not a readable CSV file ({error}).") from None
    label_column = kwargs.get("label_column", LABEL_COLUMN)
    if label_column in frame.columns:
        frame[label_column] = _numeric_labels_with_missing(
            frame[label_column], kwargs.get("class_names"))
        if kwargs.get("class_names") is not None:
            frame[label_column] = _labels_as_written(path, label_column, frame[label_column],
                                                     kwargs["class_names"])
    return from_long(frame, **kwargs)


def _labels_as_written(path, label_column, parsed, class_names):
    """The label cells' own text when every one of them is a class name's text.

    pandas parses ``007`` and ``7`` both as the number 7, and ``01`` as 1:
    class names such as ``"007"`` or ``"01"`` (which `write_csv` writes as
    they are) would then merge or match nothing. When the text of every
    label is the text of a class name, that text is the label; otherwise
    the parsed labels are kept (integers may then be positions, see
    `keras_crowd.data.encode_class_labels`). A column pandas kept as text
    is already the text as written: the file is read again only when
    pandas made numbers of it.
    """
    if not pd.api.types.is_numeric_dtype(parsed):
        return parsed
    text = pd.read_csv(path, usecols=[label_column], dtype=str, keep_default_na=False,
                       na_values=[""], encoding="utf-8")[label_column]
    written = text.dropna()
    if len(written) == len(parsed) and written.isin([str(name) for name in class_names]).all():
        return text
    return parsed


def to_long(crowd, *, task_ids=None, annotator_ids=None, class_names=None,
            use_class_names=True):
    """Dense crowd labels -> long DataFrame with columns ``task, worker, label``.

    Args:
        crowd: `EncodedCrowdLabels`, or a dense (N, M) array (-1 or NaN missing).
        task_ids, annotator_ids, class_names: names for a dense array (ignored
            for `EncodedCrowdLabels`, which carries its own); default indices.
        use_class_names: write class names (True) or class indices (False).

    Returns:
        A DataFrame, one row per observed label, rows in (task, worker) order.

    Example:

    >>> to_long([[1, -1], [0, 1]]).to_dict("list")
    {'task': [0, 1, 1], 'worker': [0, 0, 1], 'label': [1, 0, 1]}
    """
    crowd = EncodedCrowdLabels.coerce(
        crowd, class_names=class_names, task_ids=task_ids, annotator_ids=annotator_ids)
    item_index, annotator_index, label_column = crowd.observed_triples(use_class_names)
    frame = pd.DataFrame({
        TASK_COLUMN: crowd.task_ids.decode(item_index),
        WORKER_COLUMN: crowd.annotator_ids.decode(annotator_index),
        LABEL_COLUMN: label_column,
    })
    # Object columns of plain ints/strings: let pandas pick a tight dtype.
    return frame.infer_objects() if len(frame) else frame


def write_csv(crowd, path, **kwargs):
    """Writes crowd labels as a long-format CSV (see `to_long` for kwargs).

    The file is written beside `path` and renamed into place, so a crash
    never leaves a half-written file.
    """
    frame = to_long(crowd, **kwargs)
    with atomic_path(path) as temporary:
        frame.to_csv(temporary, index=False)
    return path


__all__ = ["from_long", "read_csv", "to_long", "write_csv"]
