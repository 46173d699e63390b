"""Two-way maps between user ids (names) and contiguous integer indices.

Crowd data names things with the user's own ids: worker ids such as
``"A2PQHWG79HDCX6"``, task ids such as ``"hiphop.00053.mp3"`` and class names
such as ``"jazz"``. Every model and aggregator works with indices
``0..len-1``. A `Vocabulary` keeps the mapping, so results can be reported
with the user's names.
"""

import dataclasses
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from keras_crowd.data import errors

_INTEGER_STRING = re.compile(r"^[+-]?\d+$")

# Which error class to raise for an unknown token, by vocabulary kind.
_UNKNOWN_ERRORS = {"class": errors.UnknownClassError}


def to_python_scalar(value):
    """Turns numpy scalars into Python scalars so tokens hash and print cleanly."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _as_object_array(values):
    """1-D object array of `values` (fast for numpy/pandas inputs)."""
    if isinstance(values, (pd.Series, pd.Index, np.ndarray)):
        return np.asarray(values, dtype=object).reshape(-1)
    values = list(values)
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def is_integer_token(token):
    """True for an integer id: a Python/numpy int (not a bool) or a string like ``"42"``.

    Example:

    >>> [is_integer_token(t) for t in (3, "3", " 3", "cat", True, 3.0)]
    [True, True, False, False, False, False]
    """
    if isinstance(token, (bool, np.bool_)):
        return False
    if isinstance(token, (int, np.integer)):
        return True
    return isinstance(token, str) and bool(_INTEGER_STRING.match(token))


def ordered_unique(values):
    """Returns the distinct values in a deterministic, row-order-free order.

    The order is:
    - numeric order when every value is an integer-like string (``"2"`` before
      ``"10"``), so peerannot-style JSON keys ``"0".."N-1"`` map to rows
      ``0..N-1``;
    - otherwise the natural sort order of the values (numbers numerically,
      strings lexicographically);
    - first-appearance order only when the values cannot be compared with
      each other (mixed types).

    Args:
        values: 1-D array-like of hashable ids.

    Returns:
        A tuple of distinct Python scalars.

    Example:

    >>> ordered_unique(["b", "a", "b"])
    ('a', 'b')
    >>> ordered_unique(["10", "2", "1"])
    ('1', '2', '10')
    """
    unique = [to_python_scalar(v) for v in pd.unique(_as_object_array(values))]
    if all(isinstance(v, str) and _INTEGER_STRING.match(v) for v in unique):
        return tuple(sorted(unique, key=lambda v: (int(v), v)))
    try:
        return tuple(sorted(unique))
    except TypeError:
        return tuple(unique)


def _check_no_look_alikes(tokens, kind):
    """Refuses distinct ids that read alike: the same text but for spaces or type.

    ``"cat"`` and ``"cat "`` (a CSV written as ``t1, w1, cat``, a cell typed
    with a trailing space), or the number ``1`` and the text ``"1"`` (JSON
    labels written by two scripts), would be two classes, or two workers,
    that are one.

    Raises:
        CrowdDataError: naming two such ids.
    """
    if not any(isinstance(token, str) for token in tokens):
        return  # distinct numbers never read alike
    texts = pd.Series([str(token) for token in tokens], dtype=object).str.strip()
    repeated = texts.duplicated(keep=False).to_numpy()
    if repeated.any():
        first, second = (tokens[i] for i in np.flatnonzero(
            repeated & (texts == texts[repeated].iloc[0]).to_numpy())[:2])
        raise errors.CrowdDataError(
            f"The {kind} ids {first!r} and {second!r} differ only by spaces around them or "
            f"by their type (number or text), so they would be two {kind} ids, not one; "
            "write them alike."
        )


@dataclasses.dataclass(frozen=True)
class Vocabulary(Sequence):
    """An ordered set of ids, with `encode` (id -> index) and `decode`.

    A `Vocabulary` is an immutable sequence: ``vocab[i]`` is the id of index
    ``i``, ``len(vocab)`` the number of ids, and ``list(vocab)`` the ids.

    Args:
        tokens: the distinct ids, in index order.
        kind: what the ids name (``"class"``, ``"annotator"``, ``"task"``);
            used in error messages and to choose the error class (an unknown
            class name raises `UnknownClassError`, any other unknown id raises
            `UnknownIdError`).

    Example:

    >>> classes = Vocabulary(("cat", "dog"), kind="class")
    >>> classes.encode(["dog", "cat"]).tolist()
    [1, 0]
    >>> classes.decode([0, 1]).tolist()
    ['cat', 'dog']
    """

    tokens: tuple
    kind: str = "id"

    def __post_init__(self):
        tokens = tuple(to_python_scalar(t) for t in self.tokens)
        object.__setattr__(self, "tokens", tokens)
        missing = np.flatnonzero(pd.isna(_as_object_array(tokens)))
        if len(missing):
            raise errors.CrowdDataError(
                f"{self.kind} ids must not be missing (NaN/None); found one at "
                f"position {missing[0]}."
            )
        index = pd.Index(tokens, dtype=object)
        if not index.is_unique:
            repeated = sorted(map(repr, index[index.duplicated()].unique()))
            raise errors.CrowdDataError(
                f"{self.kind} ids must be distinct; repeated: {', '.join(repeated[:5])}."
            )

    @classmethod
    def from_values(cls, values, kind="id"):
        """Builds the vocabulary of the distinct `values` (see `ordered_unique`)."""
        values = _as_object_array(values)
        missing = np.flatnonzero(pd.isna(values))
        if len(missing):
            raise errors.CrowdDataError(
                f"{'An' if kind[:1] in 'aeiou' else 'A'} {kind} id is missing (NaN/None) "
                f"at row {missing[0]}."
            )
        tokens = ordered_unique(values)
        _check_no_look_alikes(tokens, kind)
        return cls(tokens, kind=kind)

    @classmethod
    def range(cls, size, kind="id"):
        """The vocabulary ``0, 1, ..., size - 1`` (ids equal to indices)."""
        return cls(tuple(range(int(size))), kind=kind)

    def __len__(self):
        return len(self.tokens)

    def __getitem__(self, index):
        return self.tokens[index]

    def __iter__(self):
        return iter(self.tokens)

    def index_of(self, token):
        """Returns the index of one id; raises if it is unknown."""
        return int(self.encode([token])[0])

    def find(self, values):
        """Maps ids to int64 indices, -1 for an id that is not in the vocabulary.

        Args:
            values: 1-D array-like of ids.

        Returns:
            An int64 array of indices (-1 = unknown), same length as `values`.
        """
        values = pd.Index(_as_object_array(values), dtype=object)
        return pd.Index(self.tokens, dtype=object).get_indexer(values).astype(np.int64)

    def encode(self, values):
        """Maps ids to int64 indices.

        Args:
            values: 1-D array-like of ids.

        Returns:
            An int64 array of indices, same length as `values`.

        Raises:
            UnknownClassError: (class vocabularies) a value is not a class name.
            UnknownIdError: (other vocabularies) a value is not a known id.
        """
        indices = self.find(values)
        unknown = indices < 0
        if unknown.any():
            bad = list(pd.unique(_as_object_array(values)[unknown]))
            shown = ", ".join(repr(to_python_scalar(b)) for b in bad[:5])
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            error_class = _UNKNOWN_ERRORS.get(self.kind, errors.UnknownIdError)
            raise error_class(
                f"Unknown {self.kind} {shown}{more}; known {self.kind} ids are "
                f"{self.preview()}."
            )
        return indices

    def decode(self, indices, missing=None):
        """Maps indices back to ids; negative indices become `missing`.

        Args:
            indices: int array-like of any shape.
            missing: value to return for negative indices (missing labels).

        Returns:
            An object array of ids with the shape of `indices`.
        """
        indices = np.asarray(indices)
        if indices.size and indices.max(initial=-1) >= len(self):
            raise errors.LabelOutOfRangeError(
                f"Index {int(indices.max())} is out of range for a {self.kind} "
                f"vocabulary of size {len(self)}."
            )
        table = np.empty(len(self) + 1, dtype=object)
        table[: len(self)] = self.tokens
        table[len(self)] = missing
        return table[np.where(indices < 0, len(self), indices)]

    def preview(self):
        """The first ids and the count, for messages: ``"['a', 'b'] (2 in all)"``."""
        shown = ", ".join(repr(t) for t in self.tokens[:10])
        return f"[{shown}{', ...' if len(self) > 10 else ''}] ({len(self)} in all)"
