"""Softmax over the reported-label axis of confusion logits.

`ops.softmax(logits, axis=-2)` is correct but, on TensorFlow, a softmax over
any axis but the last transposes its input and output (and its gradient does
the same): on Music (M=44, K=10, batch 64) the CCEM loss and its gradient took
about twice as long with it as with the same softmax written out below.
"""

from keras import ops


def column_softmax(logits):
    """`softmax(logits, axis=-2)`: every column of each `(K, K)` matrix sums to 1.

    Args:
        logits: A `(..., K, K)` float tensor.

    Returns:
        The column-stochastic matrices, same shape and dtype. The column
        maximum is subtracted first, so large logits do not overflow.

    Example:

    >>> confusion_matrices = column_softmax(layer.confusion_logits)  # (M, K, K)
    """
    shifted = logits - ops.stop_gradient(ops.max(logits, axis=-2, keepdims=True))
    exponentials = ops.exp(shifted)
    return exponentials / ops.sum(exponentials, axis=-2, keepdims=True)
