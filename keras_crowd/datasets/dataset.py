"""`CrowdDataset`: one crowdsourced dataset's arrays and names."""

import dataclasses

import numpy as np

from keras_crowd.data.crowd_shape import CrowdShape
from keras_crowd.data.encoded import EncodedCrowdLabels
from keras_crowd.data.long_format import to_long


@dataclasses.dataclass(frozen=True, eq=False)
class CrowdDataset(CrowdShape):
    """A crowdsourced classification dataset.

    Args:
        x_train: (N, ...) training features.
        crowd_labels: (N, M) int32 crowd labels, -1 = not labelled.
        y_train: (N,) int32 true classes of the training items (for
            evaluation only: a real user would not have them).
        x_test: test features.
        y_test: (N_test,) true test classes.
        class_names: tuple of the K class names, in index order.
        annotator_ids: tuple of the M annotator ids, in column order.
        name: dataset name.
        x_valid, y_valid: optional validation split (clean labels).
        task_ids: optional tuple of the N training item ids, in row order.

    Example:

    >>> import keras_crowd
    >>> ds = keras_crowd.datasets.labelme()
    >>> ds.num_items, ds.num_annotators, ds.num_classes
    (1000, 59, 8)
    """

    x_train: np.ndarray
    crowd_labels: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple
    annotator_ids: tuple
    name: str
    x_valid: np.ndarray = None
    y_valid: np.ndarray = None
    task_ids: tuple = None

    @property
    def num_classes(self):
        return len(self.class_names)

    @classmethod
    def from_bundled_arrays(cls, arrays, name, x_train, x_test, **extra):
        """Builds a dataset from the arrays of a bundled ``.npz`` file.

        Args:
            arrays: dict with ``crowd_labels``, ``y_train``, ``y_test``,
                ``class_names`` and ``annotator_ids``.
            name: the dataset name.
            x_train, x_test: the (possibly standardised) features.
            **extra: other fields (``x_valid``, ``y_valid``, ``task_ids``).
        """
        return cls(
            x_train=x_train,
            crowd_labels=arrays["crowd_labels"].astype(np.int32),
            y_train=arrays["y_train"].astype(np.int32),
            x_test=x_test,
            y_test=arrays["y_test"].astype(np.int32),
            class_names=tuple(arrays["class_names"].tolist()),
            annotator_ids=tuple(arrays["annotator_ids"].tolist()),
            name=name,
            **extra,
        )

    def encoded_crowd_labels(self):
        """The crowd labels with their ids, as `EncodedCrowdLabels`."""
        return EncodedCrowdLabels.from_dense(
            self.crowd_labels, class_names=self.class_names, annotator_ids=self.annotator_ids,
            task_ids=self.task_ids, empty_tasks="ignore")

    def to_long(self, use_class_names=True):
        """The crowd labels as a crowd-kit DataFrame (``task, worker, label``)."""
        return to_long(self.encoded_crowd_labels(), use_class_names=use_class_names)

    def __repr__(self):
        splits = [f"train={self.num_items}"]
        if self.x_valid is not None:
            splits.append(f"valid={len(self.x_valid)}")
        splits.append(f"test={len(self.x_test)}")
        return (f"CrowdDataset(name={self.name!r}, {', '.join(splits)}, num_annotators="
                f"{self.num_annotators}, num_classes={self.num_classes}, num_labels="
                f"{int((self.crowd_labels >= 0).sum())})")
