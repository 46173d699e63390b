"""A log-determinant that never lets NaN or inf reach a weight."""

from keras import ops

# The GeoCrowdNet reference code drops the term for a batch where
# -log det exceeds 100 (a near-singular Gram matrix).
DEFAULT_MAX_PENALTY = 100.0
DEFAULT_RIDGE = 1e-6


def guarded_log_det(gram, ridge=DEFAULT_RIDGE, max_penalty=DEFAULT_MAX_PENALTY):
    """`log det(gram + ridge * I)`, or 0 where that is unusable.

    The value is dropped (returned as 0, with zero gradient) when the
    determinant is not positive, is not finite, or `-log det` exceeds
    `max_penalty`: the case of a rank-deficient Gram matrix, such as
    `F F^T` for a batch smaller than K or a batch whose predictions all
    collapsed onto one class. The unusable matrix is swapped for the
    identity *before* the log-determinant that carries gradients, so no
    NaN can leak through the gradient of the discarded branch.

    Args:
        gram: A `(K, K)` symmetric positive semi-definite matrix.
        ridge: Added to the diagonal before the determinant.
        max_penalty: Largest accepted value of `-log det`.

    Returns:
        A tuple `(log_det, is_valid)` of float32 scalars.

    Example:

    >>> log_det, ok = guarded_log_det(ops.matmul(ops.transpose(f), f))
    """
    gram = ops.cast(gram, "float32")
    num_classes = ops.shape(gram)[-1]
    eye = ops.eye(num_classes, dtype="float32")
    gram = gram + ridge * eye
    sign, probe = ops.slogdet(ops.stop_gradient(gram))
    is_valid = ops.logical_and(sign > 0, ops.isfinite(probe))
    is_valid = ops.logical_and(is_valid, -probe <= max_penalty)
    safe_gram = ops.where(is_valid, gram, eye)
    _, log_det = ops.slogdet(safe_gram)
    log_det = ops.where(is_valid, log_det, ops.zeros_like(log_det))
    return log_det, ops.cast(is_valid, "float32")
