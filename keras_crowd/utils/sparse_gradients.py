"""Sparse (`tf.IndexedSlices`) gradients with one entry per row."""

import tensorflow as tf


def deduplicate(gradient):
    """`gradient` with the values of repeated row indices summed.

    The gradient of a gather (the confusion logits of padded pairs) lists a
    row once per time it was gathered. Keras optimizers apply element-wise
    functions to those entries before a scatter adds them up: `Adam` and
    `RMSprop` square each entry (the second moment of `g1 + g2` became
    `g1^2 + g2^2`), `clipvalue` and `clipnorm` clip each entry (a row's
    gradient could exceed the clip). With one entry per row they see
    the gradient the dense computation gives.

    Args:
        gradient: A `tf.IndexedSlices`.

    Returns:
        A `tf.IndexedSlices` of the same dense value, with unique indices.
    """
    unique_indices, positions = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(
        gradient.values, positions, tf.shape(unique_indices)[0]
    )
    return tf.IndexedSlices(values, unique_indices, gradient.dense_shape)


def deduplicate_all(gradients):
    """`gradients` with every `tf.IndexedSlices` among them deduplicated."""
    return [
        deduplicate(gradient) if isinstance(gradient, tf.IndexedSlices) else gradient
        for gradient in gradients
    ]


def densify_all(gradients):
    """`gradients` with every `tf.IndexedSlices` among them made dense."""
    return [
        tf.convert_to_tensor(gradient) if isinstance(gradient, tf.IndexedSlices) else gradient
        for gradient in gradients
    ]
