"""The crowd-kit-shaped interface shared by all label aggregators."""

import numpy as np
import pandas as pd

from keras_crowd.data import errors
from keras_crowd.data import validation
from keras_crowd.data.convert import encode_crowd_labels

# Relative gap under which two posteriors count as tied (see `labels_`).
_TIE_TOLERANCE = 1e-9


def most_probable_classes(probas):
    """(N,) int64: each row's most probable class; ties go to the smallest index.

    Posteriors within a relative `1e-9` of the row's largest count as tied,
    so that an exact tie that EM's round-off split (0.5 - 1e-16 against
    0.5 + 1e-16) still goes to the smallest class.

    Example:

    >>> most_probable_classes([[0.5 - 1e-16, 0.5 + 1e-16], [0.2, 0.8]]).tolist()
    [0, 1]
    """
    probas = np.asarray(probas)
    tied = probas >= probas.max(axis=1, keepdims=True) * (1 - _TIE_TOLERANCE)
    return np.argmax(tied, axis=1).astype(np.int64)


class Aggregator:
    """Base class: infers each item's true label from its crowd labels.

    The interface follows crowd-kit (`fit`, `fit_predict`, `fit_predict_proba`)
    and accepts, as `data`:
    - a long-format DataFrame with columns ``task, worker, label`` (crowd-kit's);
    - a dense (N, M) array, int with -1 (or float with NaN or -1) for missing;
    - a peerannot dict, a ``.csv``/``.json`` path, or `EncodedCrowdLabels`.

    Whatever the input, the fitted attributes are numpy arrays in index
    space (row n = ``encoding_.task_ids[n]``, class k =
    ``encoding_.class_names[k]``):
    - `probas_`: (N, K) posterior over the true class of each item;
    - `labels_`: (N,) int, the most probable class, ties to the smallest index;
    - `encoding_`: the `EncodedCrowdLabels` that was fitted, with the ids.

    `fit_predict` / `fit_predict_proba` return pandas objects indexed by task
    id with the user's class names when `data` is a DataFrame (like
    crowd-kit), and the numpy arrays otherwise. `named_labels()` and
    `named_probas()` give the pandas form at any time.

    Differences from crowd-kit (whose fitted `labels_`, `probas_` and
    `priors_` are pandas objects keyed by task / label):
    - the fitted attributes here are numpy arrays in index space (see above):
      use `fit_predict`, `fit_predict_proba`, `named_labels()` or
      `named_probas()` for the pandas form;
    - `fit_predict` / `fit_predict_proba` of anything but a DataFrame (a
      dense array, a dict, a path) return numpy arrays of class indices /
      posteriors, rows in `encoding_.task_ids` order;
    - a worker who labelled the same task twice is an error by default
      (crowd-kit counts both labels): see `duplicates`;
    - `fit` takes only `data` (no per-call options such as crowd-kit's
      `skills` or `true_labels`).

    Memory: the labels are held as a dense (N, M) int32 array (N tasks, M
    workers), so memory grows with N * M, not with the number of labels:
    fitting 500,000 labels over 100,000 tasks and 5,000 workers took about
    15 s and peaked at 4.6 GB (whole process, measured).

    Subclasses implement `_fit_dense(crowd_labels, num_classes)` and set
    `probas_`.

    Tie-breaking and class order: "smallest class index" refers to the
    order of `class_names`. Long data with string labels and no
    `class_names` gets its classes in sorted order; pass `class_names` to fix
    the order (and so the tie-breaking) yourself.

    Args:
        num_classes: K. Needed only when the top classes never occur in dense
            integer labels; otherwise inferred.
        class_names: optional K class names, in index order (see
            `keras_crowd.data.from_long` for how labels are matched).
        duplicates: what to do when a worker labelled the same task twice
            (long and JSON data): ``"error"`` (default) raises
            `DuplicateLabelError`, ``"first"`` / ``"last"`` keep that label
            (see `keras_crowd.data.validation`).
    """

    def __init__(self, num_classes=None, class_names=None, duplicates="error"):
        self.num_classes = num_classes
        self.class_names = None if class_names is None else tuple(class_names)
        self.duplicates = validation.check_policy("duplicates", duplicates,
                                                  validation.DUPLICATE_POLICIES)

    def encode(self, data, **kwargs):
        """Reads `data` as `fit` does: with this aggregator's classes and duplicates policy.

        Args:
            data: crowd labels in any format `fit` accepts.
            **kwargs: further reader options (e.g. ``empty_tasks="ignore"``),
                see `keras_crowd.data.encode_crowd_labels`.

        Returns:
            `EncodedCrowdLabels`.

        Example:

        >>> import pandas as pd
        >>> frame = pd.DataFrame({"task": [1, 1], "worker": ["a", "b"], "label": ["yes", "no"]})
        >>> list(Aggregator(class_names=["yes", "no"]).encode(frame).class_names)
        ['yes', 'no']
        """
        return encode_crowd_labels(data, num_classes=self.num_classes,
                                   class_names=self.class_names, duplicates=self.duplicates,
                                   **kwargs)

    def fit(self, data):
        """Fits the aggregator. Returns `self`.

        Raises:
            CrowdDataError: `data` holds no observed label at all (e.g. an
                empty DataFrame): there is nothing to aggregate.
        """
        crowd = self.encode(data)
        if crowd.num_labels == 0:
            raise errors.CrowdDataError(
                f"{type(self).__name__}.fit got no crowd label ({crowd.num_items} tasks, "
                "every label missing): there is nothing to aggregate.")
        self.encoding_ = crowd
        self._fit_dense(np.asarray(crowd.crowd_labels), crowd.num_classes)
        return self

    def _fit_dense(self, crowd_labels, num_classes):
        raise NotImplementedError

    @property
    def labels_(self):
        """(N,) int: argmax of `probas_`; ties go to the smallest class index.

        Posteriors within a relative `1e-9` of the row's largest count as
        tied (see `most_probable_classes`).
        """
        return most_probable_classes(self.probas_)

    def fit_predict(self, data):
        """Fits and returns the aggregated label of each task."""
        self.fit(data)
        return self.named_labels() if isinstance(data, pd.DataFrame) else self.labels_

    def fit_predict_proba(self, data):
        """Fits and returns each task's posterior over the true class."""
        self.fit(data)
        return self.named_probas() if isinstance(data, pd.DataFrame) else self.probas_

    def named_labels(self):
        """`pandas.Series` of class names, indexed by task id (name ``agg_label``)."""
        return self.by_task(self.encoding_.decode_labels(self.labels_))

    def named_probas(self):
        """`pandas.DataFrame` (tasks x class names) of posteriors."""
        return self.by_task(self.probas_)

    def by_task(self, values):
        """Per-task values of the fitted data as pandas objects indexed by task id.

        Args:
            values: `(N,)` values (a `Series` named ``agg_label``) or `(N, K)`
                rows (a `DataFrame` whose columns are the class names), one
                per task of `encoding_`, in its order.

        Returns:
            `pandas.Series` or `pandas.DataFrame` with index ``task``.

        Example:

        >>> import pandas as pd
        >>> from keras_crowd.aggregation import MajorityVote
        >>> frame = pd.DataFrame({"task": ["b", "a"], "worker": ["w", "w"], "label": [1, 0]})
        >>> MajorityVote().fit(frame).by_task([10, 20]).to_dict()
        {'a': 10, 'b': 20}
        """
        crowd = self.encoding_
        # tupleize_cols=False: tuple ids (``("img", 1)``) are ids, not MultiIndex levels.
        index = pd.Index(list(crowd.task_ids), name="task", tupleize_cols=False)
        if np.ndim(values) == 1:  # class names stay as they are (no numpy conversion)
            return pd.Series(values, index=index, name="agg_label")
        return pd.DataFrame(values, index=index, columns=pd.Index(
            list(crowd.class_names), name="label", tupleize_cols=False))

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"
