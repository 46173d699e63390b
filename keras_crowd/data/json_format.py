"""peerannot-style JSON: ``{task: {worker: label}}``.

peerannot stores one object per task, mapping each worker id to the label
that worker gave. JSON object keys are strings, so ids read from a file are
strings; integer-like ids sort numerically (``"2"`` before ``"10"``), so
peerannot's ``"0".."N-1"`` task keys come back as rows ``0..N-1``.
"""

import json
import os

import numpy as np
import pandas as pd

from keras_crowd.data import errors
from keras_crowd.data.encoded import EncodedCrowdLabels
from keras_crowd.data.encoded import encode_triples
from keras_crowd.data.vocabulary import Vocabulary
from keras_crowd.utils.atomic_files import atomic_path


class _Pairs(list):
    """The (key, value) pairs of one JSON object, duplicates kept."""


def _items(obj):
    """(key, value) pairs of a dict, or of a `_Pairs` read from a file."""
    if isinstance(obj, _Pairs):
        return list(obj)
    if isinstance(obj, dict):
        return list(obj.items())
    raise errors.CrowdDataError(
        "peerannot JSON must map each task to an object {worker: label}; got "
        f"{type(obj).__name__}."
    )


def _flatten(tasks):
    """`{task: {worker: label}}` -> task, worker, label lists and all task keys."""
    task_column, worker_column, label_column, all_tasks = [], [], [], []
    for task, answers in _items(tasks):
        all_tasks.append(task)
        for worker, label in _items(answers):
            if isinstance(label, (list, tuple, dict, set)):
                raise errors.CrowdDataError(
                    f"Task {task!r}, worker {worker!r}: a label must be a class index or name; "
                    f"got a {type(label).__name__}."
                )
            task_column.append(task)
            worker_column.append(worker)
            label_column.append(label)
    return task_column, worker_column, label_column, all_tasks


def _load_json(source):
    """Parses a JSON file (path or open file), keeping repeated keys."""
    name = getattr(source, "name", source)
    try:
        if hasattr(source, "read"):
            return json.load(source, object_pairs_hook=_Pairs)
        with open(source, encoding="utf-8") as file:
            return json.load(file, object_pairs_hook=_Pairs)
    except UnicodeDecodeError as error:
        raise errors.CrowdDataError(
            f"{name}: not valid UTF-8 text ({error.reason} at byte {error.start}).") from None
    except json.JSONDecodeError as error:
        raise errors.CrowdDataError(f"{name}: not valid JSON ({error}).") from None
    except (OSError, ValueError) as error:  # missing file, a name with a NUL byte, ...
        raise errors.CrowdDataError(f"Cannot read the JSON file {str(name)!r}: {error}.") from None


def _positions_to_names(labels, class_names):
    """Integer labels (JSON numbers) as the class names at those positions."""
    class_names = list(class_names)
    named = []
    for row, label in enumerate(labels):
        is_index = isinstance(label, (int, np.integer)) and not isinstance(label, (bool, np.bool_))
        if is_index and not 0 <= label < len(class_names):
            raise errors.LabelOutOfRangeError(
                f"Label {label} (label {row} of the JSON) is not the index of one of the "
                f"{len(class_names)} class names.")
        named.append(class_names[label] if is_index else label)
    return named


def from_json(data, *, class_names=None, num_classes=None, task_ids=None, annotator_ids=None,
              duplicates="error", empty_tasks="warn"):
    """Reads peerannot-style crowd labels ``{task: {worker: label}}``.

    Args:
        data: a dict, a path to a ``.json`` file, or an open text file. When
            read from a file, a worker repeated inside one task object and a
            task key repeated at the top level are detected (plain `json`
            would silently keep the last).
        class_names, num_classes, annotator_ids, duplicates: as in
            `keras_crowd.data.from_long`, except for integer labels: in
            JSON a number is a class index, as in peerannot and as `to_json`
            writes them, so with `class_names` label ``i`` is
            ``class_names[i]`` (even for names such as ``"1", "2", ...``);
            a string label is a class name.
        task_ids: optional task ids in the wanted row order. Default: every
            task key of the JSON (including tasks mapped to ``{}``), sorted.
        empty_tasks: ``"warn"`` (default), ``"ignore"``, ``"error"`` or
            ``"drop"``, for tasks mapped to ``{}`` (or listed in `task_ids`
            without labels).

    Returns:
        `EncodedCrowdLabels`.

    Example:

    >>> crowd = from_json({"0": {"w1": 1, "w2": 0}, "1": {"w2": 1}})
    >>> crowd.crowd_labels.tolist(), list(crowd.annotator_ids)
    ([[1, 0], [-1, 1]], ['w1', 'w2'])
    """
    if isinstance(data, (str, os.PathLike)) or hasattr(data, "read"):
        data = _load_json(data)
    tasks, workers, labels, all_tasks = _flatten(data)
    if class_names is not None:
        labels = _positions_to_names(labels, class_names)
    if task_ids is None:
        # Sorted like every other reader, but keeping tasks that have no label.
        task_ids = Vocabulary.from_values(all_tasks, "task")
    return encode_triples(
        pd.Series(tasks, dtype=object), pd.Series(workers, dtype=object),
        pd.Series(labels, dtype=object), class_names=class_names, num_classes=num_classes,
        task_ids=task_ids, annotator_ids=annotator_ids, duplicates=duplicates,
        empty_tasks=empty_tasks)


def to_json(crowd, path=None, *, use_class_names=False, task_ids=None, annotator_ids=None,
            class_names=None):
    """Dense crowd labels -> peerannot dict ``{str(task): {str(worker): label}}``.

    Args:
        crowd: `EncodedCrowdLabels`, or a dense (N, M) array (-1/NaN missing).
        path: if given, the dict is also written there as JSON.
        use_class_names: write class names instead of class indices
            (peerannot itself uses indices, the default).
        task_ids, annotator_ids, class_names: names for a dense array.

    Returns:
        The dict. Every task appears, those without labels as ``{}``.

    Example:

    >>> to_json([[1, -1], [0, 1]])
    {'0': {'0': 1}, '1': {'0': 0, '1': 1}}
    """
    crowd = EncodedCrowdLabels.coerce(
        crowd, class_names=class_names, task_ids=task_ids, annotator_ids=annotator_ids)
    for kind, ids in (("task", crowd.task_ids), ("worker", crowd.annotator_ids)):
        _check_distinct_keys(kind, ids)
    item_index, annotator_index, values = crowd.observed_triples(use_class_names)
    result = {str(task): {} for task in crowd.task_ids}
    for n, m, value in zip(item_index, annotator_index, values):
        value = value.item() if hasattr(value, "item") else value
        result[str(crowd.task_ids[n])][str(crowd.annotator_ids[m])] = value
    if path is not None:
        # Written beside `path` and renamed: never a half-written file.
        with atomic_path(path) as temporary:
            with open(temporary, "w", encoding="utf-8") as file:
                json.dump(result, file)
    return result


def _check_distinct_keys(kind, ids):
    """JSON keys are text: two ids with the same text (1 and "1") would merge."""
    seen = {}
    for identifier in ids:
        text = str(identifier)
        if text in seen:
            raise errors.CrowdDataError(
                f"The {kind} ids {seen[text]!r} and {identifier!r} are both written as the JSON "
                f"key {text!r}, so their labels would merge; rename one of them.")
        seen[text] = identifier


def read_json(path, **kwargs):
    """Reads a peerannot JSON file; keyword arguments are those of `from_json`."""
    return from_json(path, **kwargs)


def write_json(crowd, path, **kwargs):
    """Writes crowd labels as a peerannot JSON file (see `to_json`)."""
    to_json(crowd, path, **kwargs)
    return path
