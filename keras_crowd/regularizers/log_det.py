"""A log-determinant that never lets NaN or inf reach a weight."""

from keras import ops

# The GeoCrowdNet reference code drops the term for a batch where
# -log det exceeds 100 (a near-singular Gram matrix), with K = 8 or 10
# classes. -log det is a sum of K log-eigenvalues, so a fixed 100 would drop
# every batch of well-conditioned matrices with many classes (K = 50, three
# annotators: `W^T W` at the identity initialization has -log det 279, and
# GeoCrowdNet-W never acted). The default bound is 100 up to K = 10, then
# 10 per class. That still falls behind -log det at the identity
# initialization for K in the hundreds, which grows like
# 2 K log(K / 1.72) - K log M (K = 300, M = 1: 3082 > 3000), and from
# K ~ 545 the eigenvalue-ratio guard below drops that matrix too (its ratio
# is (1.72 / K)^2): see GeoCrowdNetW's docstring.
DEFAULT_MAX_PENALTY = 100.0
DEFAULT_MAX_PENALTY_PER_CLASS = 10.0
DEFAULT_RIDGE = 1e-6
# A Gram matrix whose smallest eigenvalue is below this fraction of its
# largest is treated as rank-deficient and its term dropped: the gradient of
# log det scales with 1 / (smallest eigenvalue), so such a batch would give
# a gradient over 1e5 times larger along one direction than along the
# direction of the largest eigenvalue. This
# is stricter than the reference code, which drops only -log det > 100: it
# also drops the term for a batch in which one class is nearly absent (e.g.
# no prediction above 1e-3 for it), where the term would push that class
# back. At the shipped learning rate (1e-3) removing this guard changed no
# run on LabelMe; at 1e-2 it rescued one collapse of two
# (benchmarks/RESULTS.md, "What each idea gave").
DEFAULT_MIN_EIGENVALUE_RATIO = 1e-5


def default_max_penalty(num_classes):
    """The default bound on `-log det` of a `(K, K)` Gram matrix:
    `max(100, 10 * K)` (a float for a Python int K, else a tensor)."""
    if isinstance(num_classes, int):
        return max(DEFAULT_MAX_PENALTY, DEFAULT_MAX_PENALTY_PER_CLASS * num_classes)
    return ops.maximum(
        DEFAULT_MAX_PENALTY, DEFAULT_MAX_PENALTY_PER_CLASS * ops.cast(num_classes, "float32")
    )


def guarded_log_det(
    gram,
    ridge=DEFAULT_RIDGE,
    max_penalty=None,
    min_eigenvalue_ratio=DEFAULT_MIN_EIGENVALUE_RATIO,
):
    """`log det(gram + ridge * I)`, or 0 where that is unusable.

    The value is dropped (returned as 0, with zero gradient) when the
    matrix is numerically rank-deficient (smallest eigenvalue of `gram`,
    without the ridge, below `min_eigenvalue_ratio` times the largest: a
    ridge does not hide a batch smaller than K), when the determinant is not
    positive or not finite, or when `-log det` exceeds `max_penalty` (the
    reference code's guard). This covers a rank-deficient Gram matrix, such as
    `F F^T` for a batch smaller than K or a batch whose predictions all
    collapsed onto one class. The unusable matrix is swapped for the
    identity *before* the log-determinant that carries gradients, so no
    NaN can leak through the gradient of the discarded branch.

    Args:
        gram: A `(K, K)` symmetric positive semi-definite matrix.
        ridge: Added to the diagonal before the determinant.
        max_penalty: Largest accepted value of `-log det`; `None` (default):
            `max(100, 10 * K)`, the reference code's 100 for up to 10
            classes, growing with K as `-log det` does.
        min_eigenvalue_ratio: Smallest accepted ratio of the smallest to the
            largest eigenvalue of `gram`.

    Returns:
        A tuple `(log_det, is_valid)` of float32 scalars.

    Example:

    >>> log_det, ok = guarded_log_det(ops.matmul(ops.transpose(f), f))
    """
    gram = ops.cast(gram, "float32")
    # Static K when known: the default bound is then a constant of the graph.
    num_classes = gram.shape[-1] if gram.shape[-1] is not None else ops.shape(gram)[-1]
    if max_penalty is None:
        max_penalty = default_max_penalty(num_classes)
    eye = ops.eye(num_classes, dtype="float32")
    ridge_eye = ridge * eye
    probe_gram = ops.stop_gradient(gram)
    finite = ops.all(ops.isfinite(probe_gram))
    probe_gram = ops.where(finite, probe_gram, eye)
    # The rank check reads the matrix without the ridge, which would lift
    # the zero eigenvalues of a batch smaller than K.
    eigenvalues, _ = ops.eigh(probe_gram)
    well_conditioned = eigenvalues[0] >= min_eigenvalue_ratio * eigenvalues[-1]
    sign, probe = ops.slogdet(probe_gram + ridge_eye)
    is_valid = ops.logical_and(finite, well_conditioned)
    is_valid = ops.logical_and(is_valid, sign > 0)
    is_valid = ops.logical_and(is_valid, -probe <= max_penalty)
    safe_gram = ops.where(is_valid, gram + ridge_eye, eye)
    _, log_det = ops.slogdet(safe_gram)
    log_det = ops.where(is_valid, log_det, ops.zeros_like(log_det))
    return log_det, ops.cast(is_valid, "float32")
