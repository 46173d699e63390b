"""The GeoCrowdNet identifiability regularizers (Ibrahim, Nguyen & Fu, 2023)."""

import keras
from keras import ops

from keras_crowd.regularizers.base import CrowdRegularizer
from keras_crowd.regularizers.log_det import DEFAULT_RIDGE
from keras_crowd.regularizers.log_det import guarded_log_det


def _as_float(name, value):
    """`float(value)`, or a `ValueError` naming the argument (`"abc"`, `None`)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a number; got {value!r}.") from None


class _LogDetRegularizer(CrowdRegularizer):
    """Shared arguments of the two log-det criteria."""

    # `ops.slogdet` (LogMatrixDeterminant) has no XLA kernel on CPU. A
    # Cholesky log-det would compile, but its float32 gradient on the
    # ill-conditioned Gram matrices of early training is less accurate
    # (measured: 2 replicas vs one device drifted 8x further, 2.2e-5).
    compiles_with_xla_on_cpu = False

    def __init__(self, strength, ridge=DEFAULT_RIDGE, max_penalty=None):
        super().__init__(strength)
        ridge = _as_float("ridge", ridge)
        max_penalty = None if max_penalty is None else _as_float("max_penalty", max_penalty)
        # A NaN or infinite ridge, or a NaN `max_penalty`, would make the
        # guard drop the term at every step: training would silently be
        # plain CCEM. A negative ridge is not a ridge.
        if not 0.0 <= ridge < float("inf"):
            raise ValueError(f"`ridge` must be a finite number >= 0; got {ridge}.")
        if max_penalty is not None and max_penalty != max_penalty:
            raise ValueError(f"`max_penalty` must be a number, not NaN; got {max_penalty}.")
        self.ridge = ridge
        self.max_penalty = max_penalty

    def _penalty(self, gram):
        log_det, _ = guarded_log_det(gram, self.ridge, self.max_penalty)
        return -self.strength * log_det

    def get_config(self):
        config = super().get_config()
        config.update({"ridge": self.ridge, "max_penalty": self.max_penalty})
        return config


@keras.saving.register_keras_serializable(package="keras_crowd")
class GeoCrowdNetF(_LogDetRegularizer):
    """GeoCrowdNet (F): `-lambda * log det(F F^T)` on the batch predictions.

    `F` is the `K x B` matrix of the batch's class probabilities. The term
    rewards predictions that span the simplex, which makes the classifier
    identifiable when no annotator is a class expert but data is plentiful.
    It needs a batch of at least K items (per step, on the global batch
    under `tf.distribute`); smaller or collapsed batches are skipped
    (see `guarded_log_det`).

    Args:
        strength: lambda. The paper uses 1e-3 on MNIST and 1e-2 on CIFAR-10;
            large values (0.1 on Music) let the term overpower the data.
        ridge: Added to the diagonal of `F F^T` before the determinant;
            finite, >= 0.
        max_penalty: Batches with `-log det` above this are skipped (not
            NaN; `inf` never skips on this ground). `None` (default):
            `max(100, 10 * K)` (see `guarded_log_det`).

    Example:

    >>> model = CrowdModel(backbone, num_annotators=44,
    ...                    regularizer=GeoCrowdNetF(1e-3))
    """

    uses_batch_predictions = True
    uses_confusion_matrices = False

    def call(self, probabilities, confusion_matrices):
        probabilities = ops.cast(probabilities, "float32")
        gram = ops.matmul(ops.transpose(probabilities), probabilities)  # F F^T
        return self._penalty(gram)


@keras.saving.register_keras_serializable(package="keras_crowd")
class GeoCrowdNetW(_LogDetRegularizer):
    """GeoCrowdNet (W): `-lambda * log det(W^T W)` on the stacked confusions.

    `W = [A_1; ...; A_M]` is `(M K) x K`, so `W^T W = sum_m A_m^T A_m`. The
    term favours confusion matrices that are far from rank-deficient, which
    makes the model identifiable when some annotators are class experts,
    even with less data.

    With hundreds of classes, the guard of `guarded_log_det` drops the term
    at the identity initialization (K = 300 with one annotator, K = 500
    with three, and any K above ~545 whatever M; the logged
    `regularization` is then 0) until the data have made the matrices
    more diagonal. For such K, start from `DiagonallyDominant` confusions
    (at 0.9 on the diagonal, K = 600: `-log det` 126 and an eigenvalue
    ratio of 0.81); below K ~ 545, `max_penalty=float("inf")` also does.

    Args:
        strength: lambda.
        ridge: Added to the diagonal of `W^T W` before the determinant;
            finite, >= 0.
        max_penalty: Values of `-log det` above this are skipped (not NaN;
            `inf` never skips on this ground). `None` (default):
            `max(100, 10 * K)` (see `guarded_log_det`).

    Example:

    >>> model = CrowdModel(backbone, num_annotators=59,
    ...                    regularizer=GeoCrowdNetW(1e-2))
    """

    def call(self, probabilities, confusion_matrices):
        confusion_matrices = ops.cast(confusion_matrices, "float32")
        gram = ops.einsum("mkj,mkl->jl", confusion_matrices, confusion_matrices)
        return self._penalty(gram)
