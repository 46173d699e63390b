"""A Dirichlet prior on every column of every confusion matrix."""

import keras
from keras import ops

from keras_crowd.regularizers.base import CrowdRegularizer
from keras_crowd.regularizers.base import checked_strength


@keras.saving.register_keras_serializable(package="keras_crowd")
class DirichletPrior(CrowdRegularizer):
    """`-strength * sum_m sum_{k,j} alpha_kj log A_m[k, j]`: MAP confusions.

    Each column `A_m[:, j]` gets the pseudo-counts `alpha_jj = diagonal` on
    the true class and `off_diagonal` elsewhere, as if every annotator had
    already given that many extra answers. Annotators with few labels (most
    of a real crowd) then stay close to a plausible, mostly-correct matrix
    instead of fitting their handful of answers exactly, while annotators
    with many labels are governed by their data.

    With `strength = 1 / (number of training labels)` the penalty added to
    the per-batch mean cross-entropy is exactly the negative log-prior of the
    maximum-a-posteriori objective (the log of a Dirichlet density with
    parameters `alpha + 1`).

    Args:
        strength: The weight; `1 / num_training_labels` for exact MAP.
        diagonal: Pseudo-count on the diagonal (the annotator is right);
            finite, >= 0.
        off_diagonal: Pseudo-count on each off-diagonal entry; finite, >= 0.

    Example:

    >>> prior = DirichletPrior(1.0 / num_labels, diagonal=2.0, off_diagonal=0.2)
    >>> model = CrowdModel(backbone, M, regularizer=[GeoCrowdNetF(0.1), prior])
    """

    def __init__(self, strength, diagonal=2.0, off_diagonal=0.2):
        super().__init__(strength)
        self.diagonal = checked_strength(diagonal, "Dirichlet pseudo-count `diagonal`")
        self.off_diagonal = checked_strength(
            off_diagonal, "Dirichlet pseudo-count `off_diagonal`"
        )

    def call(self, probabilities, confusion_matrices):
        confusion_matrices = ops.cast(confusion_matrices, "float32")
        num_classes = ops.shape(confusion_matrices)[-1]
        eye = ops.eye(num_classes, dtype="float32")
        pseudo_counts = self.off_diagonal + (self.diagonal - self.off_diagonal) * eye
        log_confusion = ops.log(ops.maximum(confusion_matrices, 1e-12))
        return -self.strength * ops.sum(pseudo_counts[None] * log_confusion)

    def get_config(self):
        config = super().get_config()
        config.update({"diagonal": self.diagonal, "off_diagonal": self.off_diagonal})
        return config
