"""`SimulatedCrowd`: synthetic crowd labels together with the truth behind them."""

import dataclasses

import numpy as np

from keras_crowd.data.crowd_shape import CrowdShape
from keras_crowd.data.encoded import EncodedCrowdLabels
from keras_crowd.metrics.empirical_confusion import empirical_confusion_matrices


@dataclasses.dataclass(frozen=True, eq=False)
class SimulatedCrowd(CrowdShape):
    """Simulated crowd labels and the confusion matrices that generated them.

    Args:
        crowd_labels: (N, M) int32, -1 = not labelled.
        confusion_matrices: (M, K, K) true confusion matrices, column-stochastic:
            ``[m, k, k'] = Pr(annotator m says k | true class k')``.
        true_labels: (N,) int32 true classes.
        kind: the annotator type (e.g. ``"hammer_spammer"``, ``"machine"``).

    Example:

    >>> from keras_crowd.simulators import simulate_annotators
    >>> crowd = simulate_annotators([0, 1, 2, 1], "symmetric_flip", num_annotators=3,
    ...                             num_classes=3, seed=0)
    >>> crowd.crowd_labels.shape, crowd.confusion_matrices.shape
    ((4, 3), (3, 3, 3))
    """

    crowd_labels: np.ndarray
    confusion_matrices: np.ndarray
    true_labels: np.ndarray
    kind: str

    @property
    def num_classes(self):
        return self.confusion_matrices.shape[-1]

    def empirical_confusion_matrices(self):
        """Confusion matrices counted from the sampled labels (see metrics)."""
        return empirical_confusion_matrices(self.crowd_labels, self.true_labels,
                                            self.num_classes)

    def encoded_crowd_labels(self):
        """The labels as `EncodedCrowdLabels` (ids = indices)."""
        return EncodedCrowdLabels.from_dense(self.crowd_labels, num_classes=self.num_classes,
                                             empty_tasks="ignore")
