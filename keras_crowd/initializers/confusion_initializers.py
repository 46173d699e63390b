"""Initializers for confusion-matrix logits.

A `CrowdLayer` stores one `(K, K)` matrix of logits `P_m` per annotator and
turns it into a column-stochastic confusion matrix with a softmax over the
*reported-label* axis (axis -2): `A_m[:, j] = softmax(P_m[:, j])`. These
initializers choose `P` so that the matrices start where the user wants:

- `IdentityLogits`: `P = I`, as the GeoCrowdNet reference code does. The
  diagonal of `A` starts at `e / (e + K - 1)` (0.23 for K = 10).
- `DiagonallyDominant(diagonal=0.9)`: the diagonal of `A` starts at
  exactly `diagonal`, the rest of each column shared uniformly.
- `ConfusionMatricesInitializer(matrices)`: `A` starts at given matrices,
  for example a Dawid-Skene estimate.
"""

import math

import keras
import numpy as np

from keras_crowd.utils.arguments import confusion_matrix_stack

# Entries down to -NEGATIVE_TOLERANCE count as 0 (round-off).
NEGATIVE_TOLERANCE = 1e-6


def _confusion_shape(shape):
    """Validate an initializer shape `(..., K, K)` and return K."""
    shape = tuple(shape)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(
            "Confusion logits must have shape (..., K, K) with square "
            f"matrices; got shape {shape}."
        )
    return int(shape[-1])


@keras.saving.register_keras_serializable(package="keras_crowd")
class IdentityLogits(keras.initializers.Initializer):
    """Logits equal to the identity matrix, for every annotator.

    Example:

    >>> layer = CrowdLayer(num_annotators=3, confusion_initializer="identity")
    """

    def __call__(self, shape, dtype=None):
        num_classes = _confusion_shape(shape)
        eye = keras.ops.eye(num_classes, dtype=dtype)
        return keras.ops.broadcast_to(eye, shape)

    def get_config(self):
        return {}


@keras.saving.register_keras_serializable(package="keras_crowd")
class DiagonallyDominant(keras.initializers.Initializer):
    """Logits whose softmax has diagonal `diagonal` in every column.

    The off-diagonal entries of each column share `1 - diagonal` equally.
    `diagonal=0.98` for K = 10 is close to the `6I - 5` initialisation used
    in several crowd-layer papers.

    Args:
        diagonal: Probability that an annotator reports the true class,
            strictly between 0 and 1.

    Example:

    >>> init = DiagonallyDominant(diagonal=0.9)
    >>> layer = CrowdLayer(num_annotators=5, confusion_initializer=init)
    """

    def __init__(self, diagonal=0.9):
        diagonal = float(diagonal)
        if not 0.0 < diagonal < 1.0:
            raise ValueError(
                f"`diagonal` must be strictly between 0 and 1; got {diagonal}."
            )
        self.diagonal = diagonal

    def __call__(self, shape, dtype=None):
        num_classes = _confusion_shape(shape)
        if num_classes == 1:
            return keras.ops.zeros(shape, dtype=dtype)
        # softmax diagonal = e^c / (e^c + K - 1) = diagonal.
        logit = math.log(self.diagonal * (num_classes - 1) / (1.0 - self.diagonal))
        eye = keras.ops.eye(num_classes, dtype=dtype) * logit
        return keras.ops.broadcast_to(eye, shape)

    def get_config(self):
        return {"diagonal": self.diagonal}


@keras.saving.register_keras_serializable(package="keras_crowd")
class ConfusionMatricesInitializer(keras.initializers.Initializer):
    """Logits that reproduce given column-stochastic confusion matrices.

    The matrices are first mixed with the uniform matrix,
    `(1 - smoothing) * A + smoothing / K`, so that no entry is zero and the
    logits stay finite; the softmax of the logits returns that mixture.

    Args:
        confusion_matrices: Array of shape `(M, K, K)`, non-negative, every
            column summing to 1 (`A[m, k, j] = Pr(m says k | true j)`), for
            example `DawidSkene().fit(...).confusion_matrices_`.
        smoothing: Weight of the uniform matrix, in `[0, 1)`.

    Example:

    >>> ds = DawidSkene().fit(crowd_labels)
    >>> init = ConfusionMatricesInitializer(ds.confusion_matrices_)
    >>> model = CrowdModel(backbone, num_annotators=M, confusion_initializer=init)
    """

    def __init__(self, confusion_matrices, smoothing=1e-2):
        matrices = confusion_matrix_stack(confusion_matrices, "`confusion_matrices`",
                                          allow_single=False)
        # Round-off below zero (-1e-12 from an EM step) is tolerated and
        # clipped, as `simulators.check_confusion_matrices` tolerates it.
        if not np.all(np.isfinite(matrices)) or np.any(matrices < -NEGATIVE_TOLERANCE):
            raise ValueError(
                "`confusion_matrices` must be finite and non-negative; the smallest "
                f"entry is {np.nanmin(matrices):.3g}."
            )
        matrices = np.maximum(matrices, 0.0)
        column_sums = matrices.sum(axis=1)
        if not np.allclose(column_sums, 1.0, atol=1e-4):
            worst = float(np.max(np.abs(column_sums - 1.0)))
            raise ValueError(
                "`confusion_matrices` must be column-stochastic (every column "
                f"sums to 1, axis 1); the worst column is off by {worst:.3g}."
            )
        smoothing = float(smoothing)
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"`smoothing` must be in [0, 1); got {smoothing}.")
        self.confusion_matrices = matrices
        self.smoothing = smoothing

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if shape != self.confusion_matrices.shape:
            raise ValueError(
                f"The layer needs confusion matrices of shape {shape}, but "
                f"the initializer holds shape {self.confusion_matrices.shape}."
            )
        num_classes = shape[-1]
        mixed = (1.0 - self.smoothing) * self.confusion_matrices
        mixed = mixed + self.smoothing / num_classes
        logits = np.log(np.maximum(mixed, np.finfo("float32").tiny))
        return keras.ops.convert_to_tensor(logits, dtype=dtype or keras.config.floatx())

    def get_config(self):
        return {
            "confusion_matrices": self.confusion_matrices.tolist(),
            "smoothing": self.smoothing,
        }


_ALIASES = {
    "identity": IdentityLogits,
    "identity_logits": IdentityLogits,
    "diagonal": DiagonallyDominant,
    "diagonally_dominant": DiagonallyDominant,
}


def get(identifier):
    """Resolve an initializer from a name, config, array or instance.

    Args:
        identifier: One of `"identity"`, `"diagonally_dominant"` (alias
            `"diagonal"`), a Keras initializer instance or config dict, or
            an `(M, K, K)` array of confusion matrices.

    Returns:
        A `keras.initializers.Initializer`.
    """
    if identifier is None:
        return IdentityLogits()
    if isinstance(identifier, keras.initializers.Initializer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _ALIASES:
            return _ALIASES[key]()
        raise ValueError(
            f"Unknown confusion initializer {identifier!r}. Use one of "
            f"{sorted(_ALIASES)}, an Initializer, or an (M, K, K) array."
        )
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    if isinstance(identifier, (np.ndarray, list, tuple)):
        return ConfusionMatricesInitializer(identifier)
    raise ValueError(
        f"Cannot interpret {identifier!r} as a confusion initializer."
    )
