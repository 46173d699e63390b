"""The trace regularizer of Tanno et al. (2019)."""

import keras
from keras import ops

from keras_crowd.regularizers.base import CrowdRegularizer


@keras.saving.register_keras_serializable(package="keras_crowd")
class TraceRegularizer(CrowdRegularizer):
    """`lambda * sum_m trace(A_m)`: pushes annotators to look noisier.

    Minimising the trace of the estimated confusion matrices, together with
    the cross-entropy, drives the classifier towards the true labels when
    annotators are on average correct (Tanno et al., CVPR 2019).

    Args:
        strength: lambda.

    Example:

    >>> model = CrowdModel(backbone, num_annotators=59,
    ...                    regularizer=TraceRegularizer(1e-2))
    """

    def call(self, probabilities, confusion_matrices):
        confusion_matrices = ops.cast(confusion_matrices, "float32")
        traces = ops.trace(confusion_matrices, axis1=-2, axis2=-1)
        return self.strength * ops.sum(traces)
