"""The crowd layer: one column-stochastic confusion matrix per annotator."""

import keras
from keras import ops

from keras_crowd import initializers as confusion_initializers
from keras_crowd.losses.coupled_cross_entropy import label_cross_entropy
from keras_crowd.losses.coupled_cross_entropy import observed_label_probabilities
from keras_crowd.utils.arguments import positive_integer
from keras_crowd.utils.column_softmax import column_softmax


@keras.saving.register_keras_serializable(package="keras_crowd")
class CrowdLayer(keras.layers.Layer):
    """Maps class probabilities to each annotator's label distribution.

    The layer holds logits `P` of shape `(M, K, K)`. Annotator `m`'s
    confusion matrix is `A_m = softmax(P_m, axis=-2)`: entry `A_m[k, j]` is
    the probability that annotator `m` reports class `k` when the true class
    is `j`, so every column lies on the probability simplex. Called on the
    classifier's probabilities `f` of shape `(B, K)`, the layer returns
    `A_m f` for every annotator, shape `(B, M, K)`.

    For training, `CrowdModel` does not materialise `(B, M, K)`: it calls
    `cross_entropy`, which gathers only the rows of the observed labels.

    Args:
        num_annotators: M, the number of annotators: a positive integer
            (a whole float such as `3.0` is accepted, `2.5` is refused).
        confusion_initializer: Initializer of the logits: `"identity"` (the
            GeoCrowdNet reference), `"diagonally_dominant"`, a
            `keras_crowd.initializers` instance such as
            `DiagonallyDominant(0.95)`, or an `(M, K, K)` array of
            column-stochastic matrices (for example from Dawid-Skene).
        **kwargs: Base `keras.layers.Layer` arguments.

    Input shape:
        `(batch, K)` class probabilities.

    Output shape:
        `(batch, M, K)` label distributions, one per annotator.

    Example:

    >>> probabilities = keras.Input(shape=(10,))
    >>> layer = CrowdLayer(num_annotators=44)
    >>> per_annotator = layer(probabilities)   # (None, 44, 10)
    >>> layer.confusion_matrices.shape          # (44, 10, 10)
    """

    def __init__(self, num_annotators, confusion_initializer="identity", **kwargs):
        super().__init__(**kwargs)
        self.num_annotators = positive_integer("num_annotators", num_annotators)
        self.confusion_initializer = confusion_initializers.get(confusion_initializer)
        self.num_classes = None

    def build(self, input_shape):
        num_classes = input_shape[-1]
        if len(input_shape) != 2 or num_classes is None or int(num_classes) < 2:
            raise ValueError(
                "CrowdLayer needs inputs of shape (batch, K) with a known "
                f"number of classes K >= 2; got input shape {input_shape}."
            )
        self.num_classes = int(num_classes)
        # Stored and read in float32 even under mixed precision (no
        # autocast in `call`): a softmax over confusion logits in float16
        # loses the small off-diagonal mass.
        self.confusion_logits = self.add_weight(
            name="confusion_logits",
            shape=(self.num_annotators, self.num_classes, self.num_classes),
            initializer=self.confusion_initializer,
            dtype="float32",
            trainable=True,
            autocast=False,
        )

    @property
    def confusion_matrices(self):
        """The `(M, K, K)` column-stochastic confusion matrices (a tensor)."""
        return column_softmax(self.confusion_logits)

    def call(self, probabilities):
        probabilities = ops.cast(probabilities, "float32")
        return ops.einsum("mkj,bj->bmk", self.confusion_matrices, probabilities)

    def label_probabilities(self, probabilities, labels, annotator_ids=None,
                            confusion_matrices=None):
        """Each crowd label's probability `(A_m f(x))[y]`, shaped like `labels`.

        Takes the arguments of `cross_entropy`; see
        `keras_crowd.losses.observed_label_probabilities`.
        """
        return observed_label_probabilities(
            probabilities, self.confusion_logits, labels, annotator_ids,
            confusion_matrices=confusion_matrices,
        )

    def cross_entropy(self, probabilities, labels, annotator_ids=None,
                      confusion_matrices=None):
        """Per-label cross-entropy of observed crowd labels.

        Args:
            probabilities: `(B, K)` classifier probabilities.
            labels: `(B, M)` dense labels, or `(B, R)` padded pairs; `-1`
                marks a missing label.
            annotator_ids: `None` (dense layout) or `(B, R)` annotator
                indices of the padded pairs.
            confusion_matrices: Optional `self.confusion_matrices`, already
                computed in this step, to reuse instead of recomputing.

        Returns:
            `(cross_entropy, observed_mask)`, shaped like `labels`.
        """
        return label_cross_entropy(
            self.label_probabilities(probabilities, labels, annotator_ids, confusion_matrices),
            labels,
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_annotators, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_annotators": self.num_annotators,
                "confusion_initializer": keras.saving.serialize_keras_object(
                    self.confusion_initializer
                ),
            }
        )
        return config
