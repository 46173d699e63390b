"""Property-based checks: the loss and the regularizers never produce NaN.

Hypothesis pushes random confusion logits, degenerate batches (one-hot,
collapsed, smaller than K, all labels missing), extreme lambda and reduced
precision through the coupled cross-entropy and the regularizers. Losses
and gradients must stay finite and the confusion matrices column-stochastic.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from keras_crowd import CrowdModel
from keras_crowd import regularizers
from keras_crowd.losses import observed_label_cross_entropy

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

K, M = 4, 3
finite = st.floats(-60, 60, allow_nan=False, width=32)


@st.composite
def probability_batches(draw):
    batch = draw(st.integers(1, 9))
    kind = draw(st.sampled_from(["random", "one_hot", "collapsed", "uniform"]))
    if kind == "random":
        logits = draw(hnp.arrays("float32", (batch, K), elements=finite))
        return keras.ops.convert_to_numpy(keras.ops.softmax(logits)).astype("float32")
    if kind == "one_hot":
        classes = draw(hnp.arrays("int64", (batch,), elements=st.integers(0, K - 1)))
        return np.eye(K, dtype="float32")[classes]
    if kind == "collapsed":
        return np.tile(np.eye(K, dtype="float32")[draw(st.integers(0, K - 1))], (batch, 1))
    return np.full((batch, K), 1.0 / K, "float32")


def _finite_gradients(function, *tensors):
    tensors = [tf.constant(t) for t in tensors]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        value = function(*tensors)
    gradients = tape.gradient(value, tensors)
    return value, [np.zeros(1) if g is None else g.numpy() for g in gradients]


@SETTINGS
@given(
    probabilities=probability_batches(),
    logits=hnp.arrays("float32", (M, K, K), elements=finite),
    data=st.data(),
)
def test_cross_entropy_and_gradients_are_finite(probabilities, logits, data):
    labels = data.draw(hnp.arrays("int64", (len(probabilities), M), elements=st.integers(-1, K - 1)))

    def loss(f, p):
        ce, mask = observed_label_cross_entropy(f, p, labels)
        return keras.ops.sum(ce) / keras.ops.maximum(keras.ops.sum(mask), 1.0)

    value, gradients = _finite_gradients(loss, probabilities, logits)
    assert np.isfinite(float(value))
    if not np.any(labels >= 0):
        assert float(value) == 0.0
    assert all(np.all(np.isfinite(g)) for g in gradients)
    confusion = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-2))
    np.testing.assert_allclose(confusion.sum(axis=1), 1.0, atol=1e-5)


@SETTINGS
@given(
    probabilities=probability_batches(),
    logits=hnp.arrays("float32", (M, K, K), elements=finite),
    strength=st.sampled_from([0.0, 1e-4, 1.0, 1e3, 1e8]),
    kind=st.sampled_from(["f", "w", "trace"]),
)
def test_regularizers_are_finite_for_any_batch_and_strength(probabilities, logits, strength, kind):
    regularizer = {"f": regularizers.GeoCrowdNetF, "w": regularizers.GeoCrowdNetW,
                   "trace": regularizers.TraceRegularizer}[kind](strength)

    def penalty(f, p):
        return regularizer(f, keras.ops.softmax(p, axis=-2))

    value, gradients = _finite_gradients(penalty, probabilities, logits)
    assert np.isfinite(float(value))
    assert all(np.all(np.isfinite(g)) for g in gradients)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("kind", ["f", "w"])
def test_mixed_precision_training_stays_finite_and_stochastic(policy, kind):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(96, 5)).astype("float32")
        labels = rng.integers(-1, K, size=(96, M))
        backbone = keras.Sequential([
            keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(K), keras.layers.Activation("softmax", dtype="float32"),
        ])
        regularizer = regularizers.GeoCrowdNetF(1e2) if kind == "f" else regularizers.GeoCrowdNetW(1e2)
        model = CrowdModel(backbone, M, regularizer=regularizer)
        assert model.crowd_layer.confusion_logits.dtype == "float32"
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        history = model.fit(x, labels, batch_size=3, epochs=2, verbose=0).history
    finally:
        keras.config.set_dtype_policy(previous)
    assert np.all(np.isfinite(history["loss"]))
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    np.testing.assert_allclose(model.confusion_matrices.sum(axis=1), 1.0, atol=1e-5)
