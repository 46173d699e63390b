"""column_softmax: softmax over axis -2, values and gradients."""

import numpy as np
import tensorflow as tf

from keras_crowd.utils.column_softmax import column_softmax


def numpy_column_softmax(logits):
    shifted = logits - logits.max(axis=-2, keepdims=True)
    return np.exp(shifted) / np.exp(shifted).sum(axis=-2, keepdims=True)


def test_matches_softmax_over_axis_minus_two_even_for_huge_logits():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 4, 4)) * 3
    logits[0, 2, 1] = 1000.0  # would overflow exp without the shift
    values = column_softmax(tf.constant(logits, tf.float32)).numpy()
    assert np.all(np.isfinite(values))
    np.testing.assert_allclose(values, numpy_column_softmax(logits), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(values.sum(axis=-2), 1.0, atol=1e-6)
    assert values[0, 2, 1] == 1.0


def test_gradient_equals_tf_softmax_gradient():
    rng = np.random.default_rng(1)
    logits = tf.Variable(rng.normal(size=(3, 5, 5)).astype("float32"))
    weights = tf.constant(rng.normal(size=(3, 5, 5)).astype("float32"))
    gradients = []
    for softmax in (column_softmax, lambda x: tf.nn.softmax(x, axis=-2)):
        with tf.GradientTape() as tape:
            objective = tf.reduce_sum(weights * tf.math.log(softmax(logits)))
        gradients.append(tape.gradient(objective, logits).numpy())
    np.testing.assert_allclose(gradients[0], gradients[1], rtol=1e-5, atol=1e-6)
