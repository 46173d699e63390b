"""Reading the CLI's data: bundled datasets and the user's files.

Features: ``.npy``, ``.npz`` (one array, an array named ``x``/``features``/
``x_train``, or ``FILE.npz:KEY``) or ``.csv`` (numbers, optional header
row), one row per item.

Crowd labels, in any format `keras_crowd.data` reads:

- ``.npy`` / ``.npz``: a dense (N, M) matrix, -1 (or NaN, in a float
  array) for missing;
- ``.csv`` with columns ``task, worker, label``: the long format;
- any other ``.csv``: a dense matrix (an optional header row gives the
  annotator ids; -1, ``nan`` or an empty cell for missing; blank lines at
  the end of the file are ignored; a blank line between rows is an item with
  no label in a one-column file, and an error in a file of several columns);
- ``.json``: peerannot ``{task: {worker: label}}``.

Header rows of numeric CSVs (features and dense labels). Each line is one
row; the first line is a header row, not data, when

- it holds text and no number (column names, annotator ids),
- it is exactly ``0,1,...,D-1`` for D >= 2 columns: the column names that
  ``pd.DataFrame(array).to_csv(index=False)`` writes. For dense labels the
  number of items, when known (``train``, ``aggregate --true-labels``),
  decides instead: if the file has exactly that many lines, the line is
  data. Without that number the command warns that it read the line as a
  header. A one-column file's first line ``0`` is data unless that number
  says it is a header;
- for dense labels, it holds distinct numbers (two or more, none missing)
  and either the file has exactly one line more than the number of items,
  when that is known, or, when it is not (``aggregate``), the numbers are
  all larger than every label below: numeric annotator ids such as
  ``101,102,103`` or ``1,2,3``. The command warns that it read the line as
  a header.

A first column that pandas' default ``to_csv()`` adds, its row index, is
dropped with a warning: the header cell of the first column is empty (or
``Unnamed: 0``), the other header cells are not, the rest of the line is a
header by the rules above, and the column holds exactly ``0,1,...,N-1``. An
unnamed first column that holds anything else is an error (name the column
or remove it); without the other header cells, a first line with an empty
first cell is data (a missing first value).

A first line of only missing values (``,,`` or ``nan``) is data. When a
row count is off by one, the error says to check the header row; to be
unambiguous, give the CSV a header of names (or use ``.npy``).

Feature rows that no crowd label names (long or JSON labels of some rows
only, or a dense row of missing labels) are kept, with a warning saying how
``train`` uses them.

Crowd labels with no observed label at all (every cell missing, a long CSV
of only its header) are an error for every command. For ``train``, so are
labels of a single class unless ``--num-classes`` or ``--class-names`` gives
the classes.

Long and JSON labels are matched to feature rows by task id: task ids that
are integers are 0-based row numbers (two ids of one number, such as ``1``
and ``01``, are an error; ids numbered from 1 need ``--task-ids``, or they
name the next row: row 0 is then reported as a task without labels), other
ids need ``--task-ids FILE`` (the id of each feature row, one per line). Features, dense labels and true labels are
matched by row, never by a column: a CSV column of item ids (``task``,
``item``, ``id``, ``index``, ...) is an error, not data.

True labels: ``.npy`` (class indices; a float array of whole numbers is
accepted; a string array holds class names, as ``simulate --class-names``
writes them) or a text/CSV file with one label per line (class indices, or
class names).
"""

import dataclasses
import pathlib
import re
import zipfile

import numpy as np
import pandas as pd

from keras_crowd import data as crowd_data
from keras_crowd.cli import common
from keras_crowd.data import DuplicateLabelError
from keras_crowd.data import EncodedCrowdLabels

FEATURE_KEYS = ("x", "features", "x_train")
LABEL_KEYS = ("crowd_labels", "labels", "y")
TRUE_LABEL_KEYS = ("y", "labels", "y_test", "y_train", "true_labels")
LONG_FORMAT_COLUMNS = ("task", "label")
WORKER_COLUMNS = ("worker", "performer")
# Header cells of a column of item ids. Features and dense labels are matched
# to items by row, never by such a column: read as data, it would become a
# feature or an annotator.
ID_COLUMNS = ("task", "task_id", "item", "item_id", "id", "index")
# Header cells that mean a long-format file with other column names: read as
# a dense file, every row would become an item and the columns annotators.
LONG_FORMAT_LOOKALIKES = ID_COLUMNS + ("worker", "worker_id", "annotator", "annotator_id",
                                       "performer", "label", "labels", "answer", "response",
                                       "class")
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
        if key is not None and key not in names:
            raise ValueError(
                f"{str(path)!r} has no array {key!r} (it has {', '.join(names) or 'none'})."
            )
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


HEADER_HINT = (
    " The counts differ by one: check the header row of the CSV files (a first line "
    "0,1,...,D-1 is read as pandas' default header, other numbers as data); give the "
    "file a header row of names, or save it as .npy."
)


def count_hint(count, expected, paths=None):
    """`HEADER_HINT` when two row counts differ by exactly one, else ``""``.

    Args:
        count, expected: The two row counts.
        paths: The files they were read from, if known: without a ``.csv``
            among them there is no header row to check, and no hint.
    """
    if paths is not None and not any(
        str(split_npz_key(path)[0]).lower().endswith(".csv") for path in paths
    ):
        return ""
    return HEADER_HINT if abs(int(count) - int(expected)) == 1 else ""


def read_csv_frame(path, role, **options):
    """`pd.read_csv` whose errors name the file and give a short reason.

    Args:
        path: The CSV file.
        role: What the file holds, for error messages.
        **options: Passed to `pd.read_csv`.

    Returns:
        The `pd.DataFrame`.

    Raises:
        ValueError: the file is empty, not UTF-8 text, or not parsable CSV.
    """
    try:
        return pd.read_csv(path, **options)
    except pd.errors.EmptyDataError:
        raise ValueError(f"The {role} file {str(path)!r} is empty.") from None
    except UnicodeDecodeError as error:
        raise ValueError(
            f"Cannot read the {role} file {str(path)!r}: it is not UTF-8 text "
            f"(byte 0x{error.object[error.start]:02x} at position {error.start})."
        ) from None
    except pd.errors.ParserError as error:
        reason = str(error).split("C error: ")[-1].strip().rstrip(".")
        raise ValueError(
            f"Cannot read the {role} file {str(path)!r} as CSV: {reason}."
        ) from None


def _is_column_positions(cells):
    """True for ``("0", "1", ..., "D-1")``, pandas' default column names."""
    return list(cells) == [str(i) for i in range(len(cells))]


def _is_header(first, num_lines, num_rows):
    """Whether the first line of a numeric CSV is a header (see the module docstring).

    Args:
        first: The stripped cells of the first line.
        num_lines: The number of lines (rows) of the file, the first included.
        num_rows: The number of data rows expected, or None if unknown.
    """
    missing = first.str.lower().isin(("", "nan"))
    numbers = pd.to_numeric(first.where(~missing, "nan"), errors="coerce").notna()
    if not numbers.any():
        return not missing.all()  # text is a header; a line of missing values is data
    if not _is_column_positions(tuple(first)):
        return False
    if num_rows is not None:
        return num_lines != num_rows
    return len(first) >= 2


def _raw_lines(path):
    """The lines of a text file that `read_csv_frame` could read, stripped."""
    return [line.strip() for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines()]


def _trailing_blank_lines(lines):
    """How many of `lines` (stripped) at the end are blank."""
    count = 0
    for line in reversed(lines):
        if line:
            break
        count += 1
    return count


def _numeric_csv_cells(path, role):
    """The cells of a numeric CSV as stripped strings, blank lines resolved.

    Blank lines at the end of a file are ignored. A blank line between rows
    is a missing value in a one-column file and an error in a file of
    several columns (a row of missing values is written ``,,``). A quoted
    empty cell (``""``, as pandas writes NaN in a one-column file) is a
    missing value, not a blank line.
    """
    options = dict(header=None, dtype=str, keep_default_na=False)
    # The first row gives the column count, which decides what a blank line
    # is; then the file is parsed once.
    several_columns = read_csv_frame(path, role, nrows=1, **options).shape[1] > 1
    frame = read_csv_frame(path, role, skip_blank_lines=several_columns, **options)
    lines = _raw_lines(path)
    if several_columns:
        inner_blank = [number for number, line in
                       enumerate(lines[:len(lines) - _trailing_blank_lines(lines)], start=1)
                       if not line]
        if inner_blank:
            raise ValueError(
                f"The {role} file {str(path)!r} has a blank line (line {inner_blank[0]}) "
                "before its last row. Write a row of missing labels as empty cells (,,) "
                "or remove the line."
            )
        return frame.fillna("").apply(lambda column: column.str.strip())
    frame = frame.fillna("").apply(lambda column: column.str.strip())
    return frame.iloc[:len(frame) - _trailing_blank_lines(lines)]


def _warn_header_read(role, path, header, reason):
    """Warns that a numeric first line was read as a header, saying why."""
    cells = f"{','.join(header[:4])}{',...' if len(header) > 4 else ''}"
    common.warn(
        f"The first line of the {role} file {str(path)!r}, {cells}, is read as a header "
        f"({reason}), not as data. If it is data, give the file a header row of names, "
        "or save it as .npy."
    )


def _without_pandas_index(frame, path, role, num_rows):
    """`frame` without the row index pandas' ``to_csv()`` writes, if it has one.

    Args:
        frame: The cells of a numeric CSV (`_numeric_csv_cells`), not empty.
        path, role: The file and what it holds, for messages.
        num_rows: The number of data rows expected, or None (`_is_header`).

    Returns:
        `(frame, dropped)`: `frame` without its first column when that is
        pandas' index (with a warning), and whether it was.

    Raises:
        ValueError: the first column has no name but is not 0,1,...,N-1.
    """
    first = frame.iloc[0]
    unnamed = first.iloc[0].lower()
    names = first.iloc[1:]
    if frame.shape[1] < 2 or unnamed not in ("", "unnamed: 0") or (names == "").any():
        return frame, False
    if unnamed == "" and not _is_header(names, len(frame), num_rows):
        return frame, False  # a data row whose first value is missing
    count = len(frame) - 1
    column = pd.to_numeric(frame.iloc[1:, 0], errors="coerce").to_numpy()
    if not np.array_equal(column, np.arange(count)):
        raise ValueError(
            f"The first column of the {role} file {str(path)!r} has no name in the header "
            "row and does not hold the row numbers 0,1,...,N-1 of a pandas index: name the "
            "column, or remove it."
        )
    common.warn(
        f"The unnamed first column of the {role} file {str(path)!r} (0 to {count - 1}) is "
        "read as pandas' row index and dropped; save with index=False to avoid this."
    )
    return frame.iloc[:, 1:], True


def _read_numeric_csv(path, role, num_rows=None):
    """A numeric CSV (optional header row) -> (values float64, header or None).

    Args:
        path: The CSV file.
        role: What the file holds, for error messages.
        num_rows: The number of data rows expected, if known: it decides
            whether a first line ``0,1,...`` is a header (module docstring).

    Returns:
        `(values, header)`: an `(N, D)` float64 array (NaN for an empty cell,
        ``nan`` or a blank line) and the header cells, or None.
    """
    frame = _numeric_csv_cells(path, role)
    if frame.empty:
        raise ValueError(f"The {role} file {str(path)!r} is empty.")
    frame, index_dropped = _without_pandas_index(frame, path, role, num_rows)
    header = None
    first = frame.iloc[0].str.strip()
    if index_dropped or _is_header(first, len(frame), num_rows):
        header, frame = tuple(first), frame.iloc[1:]
        if num_rows is None and not index_dropped and _is_column_positions(header):
            # Nothing else tells pandas' default header from a data row such
            # as `0,1` (two annotators' labels): say which reading was made.
            _warn_header_read(role, path, header, "pandas' default column names")
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


def _check_no_id_column(header, text, role):
    """Refuses a features CSV with a column of item ids (`ID_COLUMNS`).

    Features are matched to crowd labels and true labels by row: such a
    column would be read as one more feature, and rows in another order than
    the labels' task ids would be paired with other items' labels.
    """
    ids = [cell for cell in header or () if cell.strip().lower() in ID_COLUMNS]
    if ids:
        raise ValueError(
            f"The {role} file {text!r} has a column {ids[0]!r} of item ids: features are "
            "matched to labels by row (row n is task n, or the n-th id of --task-ids), not "
            "by a column. Remove it (with long or JSON crowd labels, --task-ids FILE gives "
            "the task id of each row)."
        )


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
        features, header = _read_numeric_csv(_path(text, role), role)
        _check_no_id_column(header, text, role)
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
    if not len(features):
        raise ValueError(f"The {role} file {text!r} holds no row of features.")
    features = features.astype(np.float32)
    if not np.all(np.isfinite(features)):
        row = int(np.flatnonzero(~np.all(np.isfinite(features), axis=1))[0])
        raise ValueError(
            f"The {role} in {text!r} contain NaN or infinite values (first in data row "
            f"{row + 1}; an empty cell or a blank line of a CSV is NaN)."
        )
    return features


def _whole_number_indices(values, text, role):
    """A numeric array of class indices -> int64, refusing fractions and NaN."""
    if values.dtype == bool or not np.issubdtype(values.dtype, np.number):
        raise ValueError(f"The {role} in {text!r} are not numbers (dtype {values.dtype}).")
    if np.issubdtype(values.dtype, np.floating):
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise ValueError(
                f"The {role} in {text!r} must be whole numbers (class indices); found a "
                "fractional, NaN or infinite value."
            )
    return values.astype(np.int64)


TRUE_LABEL_HEADERS = ("label", "labels", "y", "true_label")


def _text_labels(path, text, role, row_ids=None):
    """The labels of a text/CSV file, one per line (a ``label`` header skipped).

    A file of several columns holds the labels in the column its header
    names ``label`` (`TRUE_LABEL_HEADERS`), else in its last column, and the
    items' ids in its first, which must be the rows in order
    (`_check_ids_in_row_order`). The CSV of ``aggregate --probabilities``
    (``task,label,proba_...``) is such a file.
    """
    frame = read_csv_frame(path, role, header=None, dtype=str, keep_default_na=False,
                           skip_blank_lines=False).fillna("").apply(
                               lambda column: column.str.strip())
    frame = frame.iloc[:len(frame) - _trailing_blank_lines(_raw_lines(path))]
    first_line, label_column = 1, frame.shape[1] - 1
    header = [cell.lower() for cell in frame.iloc[0]] if len(frame) else []
    named = [index for index, cell in enumerate(header) if cell in TRUE_LABEL_HEADERS]
    if named or (len(header) > 1 and header[0] in ID_COLUMNS):
        frame, first_line = frame.iloc[1:], 2
        label_column = named[-1] if named else label_column
    column = frame.iloc[:, label_column]
    blank = np.flatnonzero(column.to_numpy() == "")
    if blank.size:
        raise ValueError(
            f"The {role} file {text!r} has no label on line {int(blank[0]) + first_line} "
            "(every item needs one)."
        )
    if frame.shape[1] > 1 and label_column > 0:
        _check_ids_in_row_order(frame.iloc[:, 0].tolist(), row_ids, text, role, first_line)
    return column.to_numpy(dtype=object)


def _check_ids_in_row_order(ids, row_ids, text, role, first_line):
    """Refuses a true-labels file whose item ids are not the items' rows, in order.

    True labels are matched to items by row, never by id. The ids of the
    file's first column must then be the task ids of the rows (`row_ids`,
    from ``--task-ids``) or, without them, the row numbers ``0..N-1``, as
    integer task ids of long or JSON crowd labels are.

    Args:
        ids: The first column's cells, one per label.
        row_ids: The task id of each row, or None.
        text, role: The file and what it holds, for the message.
        first_line: The file's line of the first label.
    """
    if row_ids is not None and len(row_ids) != len(ids):
        return  # the callers name the two counts
    expected = ([str(task) for task in row_ids] if row_ids is not None
                else [str(row) for row in range(len(ids))])
    given = ids if row_ids is not None else [
        str(int(cell)) if _INTEGER.match(cell) else cell for cell in ids]
    wrong = [row for row, (cell, want) in enumerate(zip(given, expected)) if cell != want]
    if wrong:
        row = wrong[0]
        rows = "the --task-ids, in order" if row_ids is not None else \
            "the row numbers 0,1,...,N-1"
        raise ValueError(
            f"The {role} file {text!r} gives the item {ids[row]!r} on line "
            f"{row + first_line}, where row {row} is {expected[row]!r}: labels are matched "
            f"to items by row, so the ids of its first column must be {rows}. Sort the "
            "file into that order, or keep only the label column."
        )


def check_labels_within_classes(labels, num_classes, what):
    """Refuses true class indices (`labels`) beyond the crowd's K classes.

    Args:
        labels: `(N,)` int class indices.
        num_classes: K, the number of classes of the crowd labels.
        what: How one label is named in the message, e.g. ``"A test label"``.
    """
    if labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"{what} is the class index {int(labels.max())}, but the crowd labels have only "
            f"{num_classes} classes; pass --num-classes or --class-names."
        )


def read_true_labels(path, class_names=None, role="true labels", row_ids=None):
    """Reads `(N,)` int class indices: ``.npy``/``.npz``, or text/CSV one per line.

    Args:
        path: The file. Numeric arrays hold class indices (integers, or
            floats that are whole numbers), as dense crowd label arrays do.
            Text files (and string arrays) hold one label per line, class
            indices or class names (a header line ``label`` is skipped; a
            blank line within the file is an error, final blank lines are
            ignored). In a file of several columns, the labels are the
            column headed ``label`` (else the last column) and the first
            holds the items' ids, which must be `row_ids` (or ``0..N-1``)
            in order.
        class_names: The K class names. Labels of text files are then
            matched to them as crowd labels of long or JSON files are
            (`keras_crowd.data.encode_class_labels`): a label is the class
            of that name (the label ``1`` is the class ``"1"``); integer
            labels are positions in `class_names` only when no class name
            is an integer.
        role: What the file holds, for error messages.
        row_ids: The task id of each item (``--task-ids``), if known.

    Returns:
        `(N,)` int64 class indices.
    """
    return encode_true_labels(read_true_label_values(path, role, row_ids), class_names)


@dataclasses.dataclass
class TrueLabelValues:
    """The labels of a true-labels file as written, before they become class indices.

    Attributes:
        values: The labels as read (numbers or text).
        indices: `(N,)` int64 class indices when every label is an integer, else None.
        numeric: Whether the file is a numeric array (its labels are class
            indices, never names).
        path: The file, for error messages.
        role: What the file holds, for error messages.
    """

    values: np.ndarray
    indices: np.ndarray | None
    numeric: bool
    path: str
    role: str

    def __len__(self):
        return len(self.values)


def read_true_label_values(path, role="true labels", row_ids=None):
    """Reads a true-labels file (as `read_true_labels`) without encoding its labels:
    their count is known before the class names are (`encode_true_labels`)."""
    text, _ = split_npz_key(path)
    suffix = pathlib.Path(text).suffix.lower()
    if suffix in (".npy", ".npz"):
        values = np.asarray(_load_array(path, role, TRUE_LABEL_KEYS)).reshape(-1)
        indices = None if values.dtype.kind in "USO" else _whole_number_indices(
            values, text, role)
        numeric = indices is not None
    else:
        values = _text_labels(_path(text, role), text, role, row_ids)
        indices, numeric = None, False
    if values.size == 0:
        raise ValueError(f"The {role} file {text!r} holds no label.")
    if not numeric and all(_INTEGER.match(str(v).strip()) for v in values):
        indices = np.array([int(str(v)) for v in values], dtype=np.int64)
    return TrueLabelValues(values, indices, numeric, text, role)


def encode_true_labels(labels, class_names=None):
    """`(N,)` int64 class indices of `TrueLabelValues`, by `read_true_labels`'s rules."""
    text, role, indices = labels.path, labels.role, labels.indices
    if labels.numeric:
        # A numeric array holds class indices, as dense crowd label arrays do.
        if indices.min() < 0 or (class_names is not None and indices.max() >= len(class_names)):
            raise ValueError(f"The {role} in {text!r} hold a class index out of range.")
        return indices
    if class_names is not None:
        # The crowd labels' rule: a label is the class of that name (1 is
        # class "1"); integers are positions only if no class name is one.
        values = indices if indices is not None else [str(v).strip() for v in labels.values]
        try:
            encoded, _ = crowd_data.encode_class_labels(values, class_names)
        except ValueError as error:
            raise ValueError(
                f"The {role} in {text!r} do not match the classes: {error} Correct the "
                "spelling, or, for a class that no crowd label gives, pass --class-names "
                "with every class.") from None
        return np.asarray(encoded, dtype=np.int64)
    if indices is None:
        raise ValueError(
            f"The {role} in {text!r} are not class indices; pass --class-names to map names."
        )
    if indices.min() < 0:
        raise ValueError(f"The {role} in {text!r} hold a class index out of range.")
    return indices


SORTED_NAMES_REMEDY = "pass --class-names in that order, or write the true labels as names"


def warn_about_indices_of_sorted_names(labels, class_names, remedy=SORTED_NAMES_REMEDY):
    """Warns when true labels are class indices but the classes are names nobody ordered.

    Without ``--class-names``, the classes of crowd labels written as names
    are those names sorted; true labels given as indices (a ``.npy`` of
    ints, say) then index that sorted list, which need not be the user's
    own order (their accuracy would be silently wrong).

    Args:
        labels: The `TrueLabelValues` read.
        class_names: The crowd labels' class names (inferred, not given).
        remedy: What the user can do about it, for the message.
    """
    if labels.indices is None or all(_INTEGER.match(str(name)) for name in class_names):
        return
    listed = ", ".join(f"{index}={name}" for index, name in enumerate(class_names))
    common.warn(
        f"The {labels.role} in {labels.path!r} are class indices, read as positions in the "
        f"crowd labels' class names, sorted: {listed}. If your indices follow another "
        f"order, {remedy}."
    )


def _is_long_csv(path):
    """Whether the CSV has the long format's columns; an error if its header
    names columns like them (``item,annotator,label``) but not those."""
    columns = [str(c).strip().lower()
               for c in read_csv_frame(path, "crowd labels", nrows=0).columns]
    if all(c in columns for c in LONG_FORMAT_COLUMNS) and any(
            c in columns for c in WORKER_COLUMNS):
        return True
    lookalikes = [c for c in columns if c in LONG_FORMAT_LOOKALIKES]
    if lookalikes:
        raise ValueError(
            f"{str(path)!r} has the columns {', '.join(lookalikes)}: long-format labels need "
            "the columns task, worker (or performer) and label, one row per label. Rename "
            "its columns (a dense file has one column per annotator, and no such names)."
        )
    return False


def _annotator_id_header(values, num_rows):
    """Why the first row of dense labels reads as numeric annotator ids, or None.

    The first row must have at least two cells, none missing, holding
    distinct numbers. With a known item count, it is a header when the file
    has exactly one row more than the count. Without one, when its numbers
    all exceed every label of the rows below (which hold at least one
    label): a header of worker ids such as ``101,102,103`` looks like that,
    and a real item's labels practically never do, since all of its classes
    would then occur nowhere else in the file.

    Args:
        values: `(N, M)` float array of the file's cells, NaN for missing.
        num_rows: The number of items expected, or None if unknown.

    Returns:
        The reason, for the warning, or None if the row is data.
    """
    first, rest = values[0], values[1:]
    if len(first) < 2 or np.isnan(first).any() or len(np.unique(first)) < len(first):
        return None
    if num_rows is not None:
        if len(values) == num_rows + 1:
            return f"annotator ids: distinct numbers, and one row more than the {num_rows} items"
        return None
    observed = rest[~np.isnan(rest) & (rest != crowd_data.MISSING_LABEL)]
    if observed.size > 0 and first.min() > observed.max():
        return "annotator ids: distinct numbers larger than every label below"
    return None


def _read_labels_file(path, class_names, num_classes, duplicates, num_rows=None):
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
        values, header = _read_numeric_csv(path, "crowd labels", num_rows)
        reason = None if header is not None else _annotator_id_header(values, num_rows)
        if reason is not None:
            # Read as data, it would add an item, and classes up to the largest id.
            header = tuple(f"{number:g}" for number in values[0])
            values = values[1:]
            _warn_header_read("crowd labels", path, header, reason)
        return EncodedCrowdLabels.from_dense(
            values, annotator_ids=header, empty_tasks="ignore",
            **options), True
    raise ValueError(
        f"Cannot read the crowd labels file {text!r}: use .npy/.npz (dense), .csv (long "
        "task,worker,label or dense) or .json (peerannot)."
    )


def _rows_of_tasks(crowd, num_items, task_ids, rows_role):
    """Feature row (or true label row, `rows_role`) of each task of `crowd`."""
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
    repeated = pd.Index(rows).duplicated()
    if repeated.any():
        # "1" and "01" name the same row: their labels would overwrite each other.
        row = int(rows[repeated][0])
        same = [task for task, task_row in zip(crowd.task_ids, rows) if task_row == row]
        raise ValueError(
            f"The task ids {same[0]!r} and {same[1]!r} are both the row number {row}; "
            "write each row number once, or pass --task-ids FILE with the task id of each "
            "feature row."
        )
    if rows.size and (rows.min() < 0 or rows.max() >= num_items):
        raise ValueError(
            f"Task id {int(rows.max() if rows.max() >= num_items else rows.min())} is not a "
            f"row of the {num_items} {rows_role}."
            + (count_hint(rows.max() + 1, num_items) if rows.max() >= num_items else "")
        )
    return rows


def read_crowd_labels(path, num_items=None, task_ids=None, class_names=None,
                      num_classes=None, duplicates="error", rows_role="feature rows"):
    """Reads crowd labels in any supported format, aligned with the feature rows.

    Args:
        path: The labels file (see the module docstring for formats).
        num_items: N, the number of feature rows (None: no alignment). It
            also decides whether the first line ``0,1,...`` of a dense CSV
            is a header (see the module docstring).
        task_ids: Optional task id of each feature row: long/JSON tasks are
            matched to rows by it; dense rows take it as their ids.
        class_names: Optional K class names.
        num_classes: Optional K.
        duplicates: ``"error"``, ``"first"`` or ``"last"``: a worker who
            labelled a task twice (long/JSON formats).
        rows_role: What the `num_items` rows are, for error messages.

    Returns:
        `EncodedCrowdLabels` with `num_items` rows when given. Tasks without
        any label are kept (rows stay aligned); callers decide whether to warn.

    Raises:
        ValueError: the file holds no crowd label at all (every one missing).

    Example:

    >>> crowd = read_crowd_labels("answers.csv", num_items=len(x))
    """
    try:
        crowd, is_dense = _read_labels_file(path, class_names, num_classes, duplicates,
                                            num_rows=num_items)
    except DuplicateLabelError as error:
        message = str(error).split(" Pass duplicates=")[0]
        raise DuplicateLabelError(
            f"{message} Pass --duplicates first or --duplicates last to keep one label."
        ) from None
    if crowd.num_labels == 0:
        raise ValueError(
            f"The crowd labels file {str(split_npz_key(path)[0])!r} holds no crowd label "
            "(every label is missing): there is nothing to learn from."
        )
    if num_items is None:
        return crowd
    if is_dense:
        if crowd.num_items != num_items:
            raise ValueError(
                f"The crowd labels have {crowd.num_items} rows but there are {num_items} "
                f"{rows_role}." + count_hint(crowd.num_items, num_items)
            )
        if task_ids is not None:
            # Dense rows are the tasks in order: they take the given ids.
            return EncodedCrowdLabels(crowd.crowd_labels, tuple(task_ids),
                                      crowd.annotator_ids, crowd.class_names)
        return crowd
    rows = _rows_of_tasks(crowd, num_items, task_ids, rows_role)
    labels = np.full((num_items, crowd.num_annotators), crowd_data.MISSING_LABEL, np.int32)
    labels[rows] = crowd.crowd_labels
    row_ids = tuple(task_ids) if task_ids is not None else tuple(
        str(row) for row in range(num_items))
    return EncodedCrowdLabels(labels, row_ids, crowd.annotator_ids, crowd.class_names)


def read_task_ids(path):
    """One task id per line (a text file), in feature row order."""
    # utf-8-sig: a byte order mark (Notepad, Excel) is not part of the first id.
    lines = _path(path, "task ids").read_text(encoding="utf-8-sig").splitlines()
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

    Raises:
        ValueError: among others, the crowd labels hold a single class and
            neither `class_names` nor `num_classes` is given.
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
        raise ValueError(f"--task-ids lists {len(ids)} ids for {len(x)} feature rows."
                         + count_hint(len(ids), len(x), (task_ids, features)))
    crowd = read_crowd_labels(labels, len(x), ids, class_names, num_classes, duplicates)
    if crowd.num_classes < 2 and class_names is None and num_classes is None:
        raise ValueError(
            f"The crowd labels hold a single class ({crowd.class_names.tokens[0]!r}); a "
            "classifier needs two or more: pass --num-classes or --class-names when the "
            "other classes never occur in the labels."
        )
    unlabelled = int(np.sum(crowd_data.labels_per_item(crowd.crowd_labels) == 0))
    if unlabelled:
        common.warn(
            f"{unlabelled} of {len(x)} feature rows have no crowd label; they are kept: the "
            "crowd-label methods leave them out of the label loss (only geocrowdnet-f's "
            "regularizer sees their predictions), dl-mv (the baseline) trains them toward a "
            "uniform target, dl-ds toward the class prior."
        )
    data = CrowdData(name=pathlib.Path(split_npz_key(features)[0]).stem, x=x, crowd=crowd,
                     paths={"features": str(features), "labels": str(labels)})
    if test_features is not None:
        data.x_test = read_features(test_features, role="test features")
        y_test = read_true_label_values(test_labels, role="test labels")
        if class_names is None:
            warn_about_indices_of_sorted_names(y_test, crowd.class_names)
        data.y_test = encode_true_labels(y_test, crowd.class_names)
        if len(data.x_test) != len(data.y_test):
            raise ValueError(
                f"{len(data.x_test)} test feature rows but {len(data.y_test)} test labels."
                + count_hint(len(data.x_test), len(data.y_test), (test_features, test_labels))
            )
        if data.x_test.shape[1] != x.shape[1]:
            raise ValueError(
                f"Test features have {data.x_test.shape[1]} columns, training features "
                f"{x.shape[1]}."
            )
        check_labels_within_classes(data.y_test, crowd.num_classes, "A test label")
        data.paths.update(test_features=str(test_features), test_labels=str(test_labels))
    return data
