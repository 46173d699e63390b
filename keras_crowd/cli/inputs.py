"""Reading the CLI's data: bundled datasets and the user's files.

Features: ``.npy``, ``.npz`` (one array, an array named ``x``/``features``/
``x_train``, or ``FILE.npz:KEY``) or ``.csv`` (numbers, optional header
row), one row per item.

Crowd labels, in any format `keras_crowd.data` reads:

- ``.npy`` / ``.npz``: a dense (N, M) matrix, -1 (or NaN) for missing;
- ``.csv`` with columns ``task, worker, label``: the long format;
- any other ``.csv``: a dense matrix (an optional header row gives the
  annotator ids; -1 or an empty cell for missing);
- ``.json``: peerannot ``{task: {worker: label}}``.

Long and JSON labels are matched to feature rows by task id: task ids that
are integers are row numbers, other ids need ``--task-ids FILE`` (the id of
each feature row, one per line).

True labels: ``.npy`` or a text/CSV file with one label per line (class
indices, or class names).
"""

import dataclasses
import pathlib
import re
import zipfile

import numpy as np
import pandas as pd

from keras_crowd import data as crowd_data
from keras_crowd.data import DuplicateLabelError
from keras_crowd.data import EncodedCrowdLabels
from keras_crowd.data import Vocabulary

FEATURE_KEYS = ("x", "features", "x_train")
LABEL_KEYS = ("crowd_labels", "labels", "y")
TRUE_LABEL_KEYS = ("y", "labels", "y_test", "y_train", "true_labels")
LONG_FORMAT_COLUMNS = ("task", "label")
WORKER_COLUMNS = ("worker", "performer")
_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclasses.dataclass
class CrowdData:
    """Training data for the CLI, from a bundled dataset or from files.

    Attributes:
        name: Dataset name (bundled name, or the features file's stem).
        x: `(N, D)` float32 training features.
        crowd: `EncodedCrowdLabels` aligned with `x`.
        x_test, y_test: Optional test features and true labels.
        y_train: Optional true labels of the training items.
        source: ``"bundled"`` or ``"files"``.
        paths: The files read, by role.
    """

    name: str
    x: np.ndarray
    crowd: EncodedCrowdLabels
    x_test: np.ndarray = None
    y_test: np.ndarray = None
    y_train: np.ndarray = None
    source: str = "files"
    paths: dict = dataclasses.field(default_factory=dict)

    @property
    def crowd_labels(self):
        return np.asarray(self.crowd.crowd_labels)

    @property
    def num_classes(self):
        return self.crowd.num_classes


def _path(path, role):
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"The {role} file {str(path)!r} does not exist.")
    return path


def split_npz_key(path):
    """``"a.npz:key"`` -> ``("a.npz", "key")``; other paths -> ``(path, None)``."""
    text = str(path)
    match = re.match(r"^(.*\.npz):([^/\\]+)$", text, flags=re.IGNORECASE)
    return (match.group(1), match.group(2)) if match else (text, None)


def _load_array(path, role, preferred_keys):
    text, key = split_npz_key(path)
    path = _path(text, role)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise ValueError(f"Cannot read the {role} file {str(path)!r}: not a .npy/.npz file.")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"Cannot read the {role} file {str(path)!r}: it is not a valid numeric "
            f"{suffix} file ({str(error).split('. ')[0].rstrip('.')})."
        ) from None
    if suffix == ".npy":
        return loaded
    with loaded as arrays:
        names = list(arrays.files)
        if key is None:
            if len(names) == 1:
                key = names[0]
            else:
                key = next((k for k in preferred_keys if k in names), None)
        if key not in names:
            raise ValueError(
                f"Cannot tell which array of {str(path)!r} holds the {role} (it has "
                f"{', '.join(names) or 'none'}); name one as {path.name}:KEY."
            )
        return arrays[key]


def _read_numeric_csv(path, role):
    """A numeric CSV (optional header row) -> (values float64, header or None)."""
    frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    if frame.empty:
        raise ValueError(f"The {role} file {str(path)!r} is empty.")
    header = None
    first = pd.to_numeric(frame.iloc[0].str.strip().replace("", "nan"), errors="coerce")
    if first.isna().all():
        header, frame = tuple(frame.iloc[0].str.strip()), frame.iloc[1:]
    values = frame.apply(lambda column: column.str.strip().replace("", "nan"))
    numbers = values.apply(pd.to_numeric, errors="coerce")
    bad = numbers.isna() & (values.apply(lambda c: c.str.lower()) != "nan")
    if bad.to_numpy().any():
        row, column = np.argwhere(bad.to_numpy())[0]
        raise ValueError(
            f"The {role} file {str(path)!r} holds a non-numeric value "
            f"{values.iat[row, column]!r} (data row {row + 1}, column {column + 1})."
        )
    return np.array(numbers.to_numpy(dtype=np.float64)), header  # a writable copy


def read_features(path, role="features"):
    """Reads an `(N, D)` float32 feature matrix from ``.npy``, ``.npz`` or ``.csv``.

    Args:
        path: The file (``FILE.npz:KEY`` picks one array of an archive).
        role: What the file holds, for error messages.

    Returns:
        `(N, D)` float32 array.

    Example:

    >>> x = read_features("features.csv")
    """
    text, _ = split_npz_key(path)
    if pathlib.Path(text).suffix.lower() == ".csv":
        features, _ = _read_numeric_csv(_path(text, role), role)
    elif pathlib.Path(text).suffix.lower() in (".npy", ".npz"):
        features = _load_array(path, role, FEATURE_KEYS)
    else:
        raise ValueError(
            f"Cannot read the {role} file {text!r}: use .npy, .npz or .csv."
        )
    features = np.asarray(features)
    if not (np.issubdtype(features.dtype, np.number) or features.dtype == bool):
        raise ValueError(f"The {role} in {text!r} are not numbers (dtype {features.dtype}).")
    if features.ndim == 1:
        features = features[:, None]
    if features.ndim != 2:
        raise ValueError(
            f"The {role} in {text!r} have shape {features.shape}; the CLI needs one row of "
            "numbers per item, (N, D). Flatten them first, or use the Python API with a "
            "backbone of your own."
        )
    features = features.astype(np.float32)
    if not np.all(np.isfinite(features)):
        raise ValueError(f"The {role} in {text!r} contain NaN or infinite values.")
    return features


def read_true_labels(path, class_names=None, role="true labels"):
    """Reads `(N,)` int class indices: ``.npy``/``.npz``, or text/CSV one per line.

    Args:
        path: The file. Text files may hold class indices or class names (a
            header line ``label`` is skipped).
        class_names: The K class names, to map names to indices.
        role: What the file holds, for error messages.

    Returns:
        `(N,)` int64 class indices.
    """
    text, _ = split_npz_key(path)
    suffix = pathlib.Path(text).suffix.lower()
    if suffix in (".npy", ".npz"):
        values = np.asarray(_load_array(path, role, TRUE_LABEL_KEYS)).reshape(-1)
    else:
        column = pd.read_csv(_path(text, role), header=None, dtype=str).iloc[:, -1].str.strip()
        if len(column) and column.iloc[0].lower() in ("label", "labels", "y", "true_label"):
            column = column.iloc[1:]
        values = column.to_numpy(dtype=object)
    if values.size == 0:
        raise ValueError(f"The {role} file {text!r} holds no label.")
    integer_like = all(_INTEGER.match(str(v).strip()) for v in values)
    if class_names is not None and not integer_like:
        indices = Vocabulary(tuple(class_names), kind="class").encode(
            pd.Series([str(v) for v in values]))
        return np.asarray(indices, dtype=np.int64)
    if not integer_like:
        raise ValueError(
            f"The {role} in {text!r} are not class indices; pass --class-names to map names."
        )
    indices = np.array([int(str(v)) for v in values], dtype=np.int64)
    if indices.min() < 0 or (class_names is not None and indices.max() >= len(class_names)):
        raise ValueError(f"The {role} in {text!r} hold a class index out of range.")
    return indices


def _is_long_csv(path):
    columns = [str(c).strip().lower() for c in pd.read_csv(path, nrows=0).columns]
    return all(c in columns for c in LONG_FORMAT_COLUMNS) and any(
        c in columns for c in WORKER_COLUMNS)


def _read_labels_file(path, class_names, num_classes, duplicates):
    text, _ = split_npz_key(path)
    suffix = pathlib.Path(text).suffix.lower()
    options = dict(class_names=class_names, num_classes=num_classes)
    keyed_options = dict(options, duplicates=duplicates, empty_tasks="ignore")
    if suffix in (".npy", ".npz"):
        array = _load_array(path, "crowd labels", LABEL_KEYS)
        return EncodedCrowdLabels.from_dense(array, empty_tasks="ignore", **options), True
    path = _path(text, "crowd labels")
    if suffix == ".json":
        return crowd_data.read_json(path, **keyed_options), False
    if suffix == ".csv":
        if _is_long_csv(path):
            return crowd_data.read_csv(path, **keyed_options), False
        values, header = _read_numeric_csv(path, "crowd labels")
        values[values == -1] = np.nan
        return EncodedCrowdLabels.from_dense(
            values, annotator_ids=header, empty_tasks="ignore", **options), True
    raise ValueError(
        f"Cannot read the crowd labels file {text!r}: use .npy/.npz (dense), .csv (long "
        "task,worker,label or dense) or .json (peerannot)."
    )


def _rows_of_tasks(crowd, num_items, task_ids):
    """Feature row of each task of `crowd`."""
    if task_ids is not None:
        row_of = {str(task): row for row, task in enumerate(task_ids)}
        if len(row_of) != len(task_ids):
            raise ValueError("The --task-ids file lists a task id twice.")
        unknown = [t for t in crowd.task_ids if str(t) not in row_of]
        if unknown:
            raise ValueError(
                f"{len(unknown)} labelled task(s) are not in --task-ids, e.g. {unknown[0]!r}."
            )
        return np.array([row_of[str(t)] for t in crowd.task_ids], dtype=np.int64)
    if not all(_INTEGER.match(str(t)) for t in crowd.task_ids):
        example = next(t for t in crowd.task_ids if not _INTEGER.match(str(t)))
        raise ValueError(
            f"Task ids such as {example!r} are not feature row numbers; pass --task-ids FILE "
            "with the task id of each feature row, one per line."
        )
    rows = np.array([int(str(t)) for t in crowd.task_ids], dtype=np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= num_items):
        raise ValueError(
            f"Task id {int(rows.max() if rows.max() >= num_items else rows.min())} is not a "
            f"row of the {num_items} feature rows."
        )
    return rows


def read_crowd_labels(path, num_items=None, task_ids=None, class_names=None,
                      num_classes=None, duplicates="error"):
    """Reads crowd labels in any supported format, aligned with the feature rows.

    Args:
        path: The labels file (see the module docstring for formats).
        num_items: N, the number of feature rows (None: no alignment).
        task_ids: Optional task id of each feature row (long/JSON formats).
        class_names: Optional K class names.
        num_classes: Optional K.
        duplicates: ``"error"``, ``"first"`` or ``"last"``: a worker who
            labelled a task twice (long/JSON formats).

    Returns:
        `EncodedCrowdLabels` with `num_items` rows when given.

    Example:

    >>> crowd = read_crowd_labels("answers.csv", num_items=len(x))
    """
    try:
        crowd, is_dense = _read_labels_file(path, class_names, num_classes, duplicates)
    except DuplicateLabelError as error:
        message = str(error).split(" Pass duplicates=")[0]
        raise DuplicateLabelError(
            f"{message} Pass --duplicates first or --duplicates last to keep one label."
        ) from None
    if num_items is None:
        return crowd
    if is_dense:
        if crowd.num_items != num_items:
            raise ValueError(
                f"The crowd labels have {crowd.num_items} rows but there are {num_items} "
                "feature rows."
            )
        return crowd
    rows = _rows_of_tasks(crowd, num_items, task_ids)
    labels = np.full((num_items, crowd.num_annotators), crowd_data.MISSING_LABEL, np.int32)
    labels[rows] = crowd.crowd_labels
    row_ids = tuple(task_ids) if task_ids is not None else tuple(
        str(row) for row in range(num_items))
    return EncodedCrowdLabels(labels, row_ids, crowd.annotator_ids, crowd.class_names)


def read_task_ids(path):
    """One task id per line (a text file), in feature row order."""
    lines = _path(path, "task ids").read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip())


def load_bundled(name):
    """A bundled dataset as `CrowdData` (its test split included)."""
    from keras_crowd import datasets

    loaders = {"labelme": datasets.labelme, "music": datasets.music}
    if name not in loaders:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {', '.join(loaders)}.")
    dataset = loaders[name]()
    return CrowdData(
        name=name, x=dataset.x_train, crowd=dataset.encoded_crowd_labels(),
        x_test=dataset.x_test, y_test=dataset.y_test, y_train=dataset.y_train,
        source="bundled",
    )


def load_crowd_data(dataset=None, features=None, labels=None, test_features=None,
                    test_labels=None, task_ids=None, class_names=None, num_classes=None,
                    duplicates="error"):
    """The training data of ``keras-crowd train``, from a bundled dataset or files.

    Args:
        dataset: A bundled dataset name, or None to read the files.
        features, labels: Training features and crowd labels files.
        test_features, test_labels: Optional test features and true labels.
        task_ids: Optional task-ids file (long/JSON labels).
        class_names: Optional K class names.
        num_classes: Optional K.
        duplicates: See `read_crowd_labels`.

    Returns:
        `CrowdData`.
    """
    if dataset is not None:
        return load_bundled(dataset)
    if features is None or labels is None:
        raise ValueError("User data needs both --features and --labels.")
    if (test_features is None) != (test_labels is None):
        raise ValueError("Give --test-features and --test-labels together.")
    x = read_features(features)
    ids = read_task_ids(task_ids) if task_ids is not None else None
    if ids is not None and len(ids) != len(x):
        raise ValueError(f"--task-ids lists {len(ids)} ids for {len(x)} feature rows.")
    crowd = read_crowd_labels(labels, len(x), ids, class_names, num_classes, duplicates)
    data = CrowdData(name=pathlib.Path(split_npz_key(features)[0]).stem, x=x, crowd=crowd,
                     paths={"features": str(features), "labels": str(labels)})
    if test_features is not None:
        data.x_test = read_features(test_features, role="test features")
        data.y_test = read_true_labels(test_labels, crowd.class_names, role="test labels")
        if len(data.x_test) != len(data.y_test):
            raise ValueError(
                f"{len(data.x_test)} test feature rows but {len(data.y_test)} test labels."
            )
        if data.x_test.shape[1] != x.shape[1]:
            raise ValueError(
                f"Test features have {data.x_test.shape[1]} columns, training features "
                f"{x.shape[1]}."
            )
        if data.y_test.max() >= crowd.num_classes:
            raise ValueError(
                f"A test label is {int(data.y_test.max())} but the crowd labels have only "
                f"{crowd.num_classes} classes; pass --num-classes or --class-names."
            )
        data.paths.update(test_features=str(test_features), test_labels=str(test_labels))
    return data
