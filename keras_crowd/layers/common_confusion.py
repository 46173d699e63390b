"""Confusions that annotators share, gated per item and annotator (CoNAL)."""

import math
import numbers

import keras
from keras import ops

from keras_crowd.initializers import IdentityLogits
from keras_crowd.utils.arguments import positive_integer
from keras_crowd.utils.column_softmax import column_softmax

# A cosine similarity times this scale is the gate's logit. CoNAL's scale of
# 1 keeps every gate in [0.27, 0.73], so at least a quarter of every label
# goes through the common confusion; at 5 a gate can reach [0.007, 0.993]
# (benchmarks/RESULTS.md, "What each idea gave").
DEFAULT_GATE_SCALE = 5.0


@keras.saving.register_keras_serializable(package="keras_crowd")
class CommonConfusion(keras.layers.Layer):
    """A confusion matrix shared by all annotators, and when each one uses it.

    The crowd layer's model says that an annotator's errors depend only on
    the annotator and the true class. On real crowds they also depend on the
    item: annotators of the same confusable item often give the *same*
    wrong label (LabelMe: 10.4% of the pairs of labels of an item, against
    4.5% if the errors were independent given the class). Following CoNAL
    (Chu, Ma & Wang, AAAI 2021), this layer adds a common confusion matrix
    `C` (column-stochastic, `(K, K)`) and a gate `w_m(x)` in `(0, 1)` for
    every item and annotator, so that annotator `m` labels item `x` with

        p(label | x) = w_m(x) C f(x) + (1 - w_m(x)) A_m f(x).

    The gate is `sigmoid(gate_scale * cos(h(x), u_m))`: `h` maps the model
    inputs (flattened) through two Dense layers (128 and `embedding_dim`
    units, no activation between them, as in CoNAL) and `u_m` is a learned
    `embedding_dim` vector per annotator. Only the classifier `f` is
    exported; this layer, like the confusion matrices, exists for training.

    `CrowdModel(common_confusion=True)` creates and trains it; use the layer
    directly only to build another model.

    Args:
        num_annotators: M, the number of annotators.
        embedding_dim: Size of the item and annotator embeddings.
        hidden_units: Units of the first Dense layer of `h`.
        gate_scale: Factor on the cosine similarity before the sigmoid:
            gates lie in `[sigmoid(-gate_scale), sigmoid(gate_scale)]`.
        **kwargs: Base `keras.layers.Layer` arguments.

    Input shape:
        A list `[features, probabilities]`: the model inputs `(batch, ...)`
        and the classifier's `(batch, K)` probabilities.

    Output shape:
        A tuple `(gates, common_label_probabilities)`: `(batch, M)` gates,
        and `C f(x)`, `(batch, K)`.

    Example:

    >>> layer = CommonConfusion(num_annotators=59)
    >>> gates, common = layer([x, f(x)])          # (B, 59), (B, 8)
    >>> layer.common_confusion_matrix.shape        # (8, 8)
    """

    def __init__(self, num_annotators, embedding_dim=20, hidden_units=128,
                 gate_scale=DEFAULT_GATE_SCALE, **kwargs):
        super().__init__(**kwargs)
        self.num_annotators = positive_integer("num_annotators", num_annotators)
        self.embedding_dim = positive_integer("embedding_dim", embedding_dim)
        self.hidden_units = positive_integer("hidden_units", hidden_units)
        # An infinite scale gives NaN gates (inf * 0) on items whose
        # embedding is 0, e.g. all-zero inputs at initialisation.
        if isinstance(gate_scale, bool) or not isinstance(gate_scale, numbers.Real) \
                or not 0 < gate_scale < math.inf:
            raise ValueError(
                f"`gate_scale` must be a finite positive number; got {gate_scale!r}.")
        self.gate_scale = float(gate_scale)
        self.num_classes = None
        # Float32 even under mixed precision: raw inputs (pixel values, counts)
        # can overflow float16 on their way through the gate.
        self.item_hidden = keras.layers.Dense(self.hidden_units, dtype="float32",
                                              name="item_hidden")
        self.item_embedding = keras.layers.Dense(self.embedding_dim, dtype="float32",
                                                 name="item_embedding")

    def build(self, input_shape):
        if len(input_shape) != 2 or not all(
            isinstance(shape, (list, tuple)) for shape in input_shape
        ):
            raise ValueError(
                "CommonConfusion is called on a list [features, probabilities]; got "
                f"inputs of shape {input_shape}."
            )
        features_shape, probabilities_shape = input_shape
        num_classes = probabilities_shape[-1]
        if len(probabilities_shape) != 2 or num_classes is None or int(num_classes) < 2:
            raise ValueError(
                "CommonConfusion needs probabilities of shape (batch, K) with a known "
                f"K >= 2; got shape {probabilities_shape}."
            )
        num_features = 1
        for size in features_shape[1:]:
            if size is None:
                raise ValueError(
                    "CommonConfusion needs inputs whose non-batch dimensions are known; "
                    f"got shape {features_shape}."
                )
            num_features *= int(size)
        self.num_classes = int(num_classes)
        # Float32 even under mixed precision, like the crowd layer's logits.
        self.common_confusion_logits = self.add_weight(
            name="common_confusion_logits", shape=(self.num_classes, self.num_classes),
            initializer=IdentityLogits(), dtype="float32", autocast=False,
        )
        self.annotator_embeddings = self.add_weight(
            name="annotator_embeddings", shape=(self.num_annotators, self.embedding_dim),
            initializer="glorot_uniform", dtype="float32", autocast=False,
        )
        self.item_hidden.build((None, num_features))
        self.item_embedding.build((None, self.hidden_units))

    @property
    def common_confusion_matrix(self):
        """The `(K, K)` column-stochastic common confusion matrix (a tensor)."""
        return column_softmax(self.common_confusion_logits)

    def item_embeddings(self, features):
        """`h(x)`, unit-normalised: `(batch, embedding_dim)` float32.

        Args:
            features: The model inputs: one numeric tensor (or a dict or
                list holding exactly one) whose non-batch dimensions are
                those the layer was built with.
        """
        features = _numeric_features(features)
        flat = ops.reshape(ops.cast(features, "float32"), (ops.shape(features)[0], -1))
        return _unit_rows(self.item_embedding(self.item_hidden(flat)))

    def pair_gates(self, item_embeddings, annotator_ids):
        """Gates of items with annotators: `sigmoid(scale * cos(h, u_m))`.

        Args:
            item_embeddings: `(..., embedding_dim)` from `item_embeddings`.
            annotator_ids: Integer annotator indices, broadcastable against
                `item_embeddings`' leading dimensions; negative ids
                (padding) get annotator 0's gate, which the caller masks.

        Returns:
            The gates, shaped like the broadcast leading dimensions.
        """
        annotators = ops.take(_unit_rows(self.annotator_embeddings),
                              ops.maximum(ops.cast(annotator_ids, "int32"), 0), axis=0)
        cosine = ops.sum(item_embeddings * annotators, axis=-1)
        return ops.sigmoid(self.gate_scale * cosine)

    def gates(self, features, annotator_ids=None):
        """The gates of a batch: `(batch, M)`, or `(batch, R)` for the
        `(batch, R)` annotator ids of padded pairs."""
        embeddings = self.item_embeddings(features)
        if annotator_ids is None:
            annotators = _unit_rows(self.annotator_embeddings)
            return ops.sigmoid(self.gate_scale * ops.matmul(embeddings, ops.transpose(annotators)))
        return self.pair_gates(embeddings[:, None, :], annotator_ids)

    def common_label_probabilities(self, probabilities):
        """`C f(x)`: `(batch, K)` label distribution of the common confusion."""
        return ops.matmul(ops.cast(probabilities, "float32"),
                          ops.transpose(self.common_confusion_matrix))

    def mix(self, label_probabilities, labels, features, probabilities, annotator_ids=None):
        """Each observed label's probability under the gated mixture.

        Args:
            label_probabilities: `(A_m f(x))[y]` of each label, shaped like
                `labels` (`keras_crowd.losses.observed_label_probabilities`).
            labels: `(batch, M)` dense labels or `(batch, R)` padded pairs,
                `-1` for missing.
            features: The batch's model inputs.
            probabilities: `(batch, K)` classifier probabilities.
            annotator_ids: `None` (dense) or the `(batch, R)` annotator ids.

        Returns:
            `w (C f)[y] + (1 - w) (A_m f)[y]`, shaped like `labels`.
        """
        gates = self.gates(features, annotator_ids)
        common = self.common_label_probabilities(probabilities)
        common = ops.take_along_axis(common, ops.maximum(ops.cast(labels, "int32"), 0), axis=1)
        return gates * common + (1.0 - gates) * label_probabilities

    def call(self, inputs):
        features, probabilities = inputs
        return self.gates(features), self.common_label_probabilities(probabilities)

    def compute_output_shape(self, input_shape):
        features_shape, probabilities_shape = input_shape
        return (features_shape[0], self.num_annotators), tuple(probabilities_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_annotators": self.num_annotators,
                "embedding_dim": self.embedding_dim,
                "hidden_units": self.hidden_units,
                "gate_scale": self.gate_scale,
            }
        )
        return config


def _numeric_features(features):
    """The one numeric input tensor the gate reads, or a clear error.

    Checked when the train step is traced: the gate flattens the inputs into
    a vector of a fixed size, so strings, several inputs and non-batch
    dimensions that vary between batches cannot be read.
    """
    if isinstance(features, dict) and len(features) == 1:
        features = next(iter(features.values()))
    elif isinstance(features, (list, tuple)) and len(features) == 1:
        features = features[0]
    if isinstance(features, (dict, list, tuple)):
        raise ValueError(
            "CommonConfusion's gate reads one input tensor; the model has "
            f"{len(features)} inputs. Train without common_confusion."
        )
    dtype = keras.backend.standardize_dtype(features.dtype)
    if dtype == "string" or not (dtype.startswith(("float", "int", "uint")) or dtype == "bool"):
        raise ValueError(
            "CommonConfusion's gate reads the model inputs as numbers; got inputs of "
            f"dtype {dtype}. Train without common_confusion, or feed numeric features."
        )
    if any(size is None for size in features.shape[1:]):
        raise ValueError(
            "CommonConfusion's gate needs inputs whose non-batch dimensions are fixed; got "
            f"inputs of shape {tuple(features.shape)} (e.g. sequences padded per batch). "
            "Pad them to one length, or train without common_confusion."
        )
    return features


def _unit_rows(vectors):
    """`vectors` divided by their norm along the last axis (0 stays 0)."""
    return vectors / (ops.norm(vectors, axis=-1, keepdims=True) + 1e-8)
