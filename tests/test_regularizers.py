"""The regularizers: values, gradients, guards and serialization."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_crowd import regularizers

K = 5


def _value_and_gradient(regularizer, probabilities=None, confusion_matrices=None):
    probabilities = tf.constant(
        probabilities if probabilities is not None else np.full((8, K), 1.0 / K, "float32")
    )
    confusion_matrices = tf.constant(
        confusion_matrices if confusion_matrices is not None
        else np.broadcast_to(np.eye(K, dtype="float32"), (3, K, K))
    )
    with tf.GradientTape() as tape:
        tape.watch([probabilities, confusion_matrices])
        value = regularizer(probabilities, confusion_matrices)
    gradients = tape.gradient(value, [probabilities, confusion_matrices])
    gradients = [np.zeros(1) if g is None else g.numpy() for g in gradients]
    return float(value), gradients


def test_geocrowdnet_f_value_matches_numpy():
    rng = np.random.default_rng(0)
    f = rng.dirichlet(np.ones(K), size=32).astype("float32")
    value, (grad_f, _) = _value_and_gradient(regularizers.GeoCrowdNetF(0.1), f)
    expected = -0.1 * np.linalg.slogdet(f.T.astype("float64") @ f + 1e-6 * np.eye(K))[1]
    assert value == pytest.approx(expected, rel=1e-4)
    assert np.abs(grad_f).max() > 0


def test_geocrowdnet_w_value_matches_numpy():
    rng = np.random.default_rng(1)
    a = rng.dirichlet(np.ones(K), size=(4, K)).transpose(0, 2, 1).astype("float32")
    value, (_, grad_a) = _value_and_gradient(regularizers.GeoCrowdNetW(0.5), confusion_matrices=a)
    w = a.reshape(-1, K).astype("float64")  # stacked (M K) x K
    expected = -0.5 * np.linalg.slogdet(w.T @ w + 1e-6 * np.eye(K))[1]
    assert value == pytest.approx(expected, rel=1e-4)
    assert np.abs(grad_a).max() > 0


def test_trace_value():
    rng = np.random.default_rng(2)
    a = rng.dirichlet(np.ones(K), size=(3, K)).transpose(0, 2, 1).astype("float32")
    value, _ = _value_and_gradient(regularizers.TraceRegularizer(2.0), confusion_matrices=a)
    assert value == pytest.approx(2.0 * np.trace(a, axis1=1, axis2=2).sum(), rel=1e-5)


DEGENERATE_BATCHES = {
    "batch_smaller_than_k": np.random.default_rng(3).dirichlet(np.ones(K), size=K - 2),
    "collapsed_one_class": np.tile(np.eye(K)[2], (16, 1)),
    "one_hot_two_classes": np.eye(K)[np.arange(16) % 2],
    "single_item": np.full((1, K), 1.0 / K),
}


@pytest.mark.parametrize("name", sorted(DEGENERATE_BATCHES))
@pytest.mark.parametrize("strength", [1e-3, 1.0, 1e6])
def test_f_guard_drops_singular_batches_without_nan(name, strength):
    f = DEGENERATE_BATCHES[name].astype("float32")
    value, (grad_f, _) = _value_and_gradient(regularizers.GeoCrowdNetF(strength), f)
    assert value == 0.0
    assert np.all(np.isfinite(grad_f)) and np.all(grad_f == 0)


def test_w_guard_on_rank_deficient_confusions():
    collapsed = np.zeros((3, K, K), "float32")
    collapsed[:, 0, :] = 1.0  # every annotator always says class 0
    value, (_, grad_a) = _value_and_gradient(regularizers.GeoCrowdNetW(1e6), confusion_matrices=collapsed)
    assert value == 0.0 and np.all(np.isfinite(grad_a))


@pytest.mark.parametrize("ridge", [1e-6, 1e-4, 1e-2])
def test_ridge_does_not_hide_a_batch_smaller_than_k(ridge):
    # With a ridge of 1e-4 or more, F F^T + ridge I of a batch of 3 items
    # passed the rank check: it was kept (e.g. 48.9 at K=8, ridge 1e-4).
    f = DEGENERATE_BATCHES["batch_smaller_than_k"].astype("float32")
    value, (grad_f, _) = _value_and_gradient(regularizers.GeoCrowdNetF(1.0, ridge=ridge), f)
    assert value == 0.0 and np.all(grad_f == 0)
    full = np.random.default_rng(4).dirichlet(np.ones(K), size=32).astype("float32")
    value, _ = _value_and_gradient(regularizers.GeoCrowdNetF(1.0, ridge=ridge), full)
    expected = -np.linalg.slogdet(full.T.astype("float64") @ full + ridge * np.eye(K))[1]
    assert value == pytest.approx(expected, rel=1e-4)


def test_log_det_bound_grows_with_the_number_of_classes():
    """With K=50, a well-conditioned W^T W or F F^T has -log det far above
    the reference code's 100 (set for K <= 10): they used to be dropped at
    every step, so the regularizer silently did nothing."""
    classes = 50
    logits = np.broadcast_to(np.eye(classes), (3, classes, classes))
    identity_init = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    w = identity_init.reshape(-1, classes)
    penalty = -np.linalg.slogdet(w.T @ w + 1e-6 * np.eye(classes))[1]
    assert 100 < penalty < 10 * classes
    value, (_, grad_a) = _value_and_gradient(
        regularizers.GeoCrowdNetW(1.0), np.ones((1, classes), "float32"),
        identity_init.astype("float32"))
    assert value == pytest.approx(penalty, rel=1e-4)
    assert np.all(np.isfinite(grad_a)) and np.abs(grad_a).max() > 0

    logits = np.random.default_rng(6).normal(size=(128, classes))
    f = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    penalty = -np.linalg.slogdet(f.T @ f + 1e-6 * np.eye(classes))[1]
    assert 100 < penalty < 10 * classes
    value, _ = _value_and_gradient(regularizers.GeoCrowdNetF(1.0), f.astype("float32"))
    assert value == pytest.approx(penalty, rel=1e-3)
    # Up to K = 10 the bound is the reference code's 100; set explicitly, it holds.
    assert float(regularizers.guarded_log_det(np.eye(10) * np.exp(-10.1))[1]) == 0.0
    assert float(regularizers.guarded_log_det(np.eye(10) * np.exp(-9.9))[1]) == 1.0
    value, _ = _value_and_gradient(
        regularizers.GeoCrowdNetF(1.0, max_penalty=100.0), f.astype("float32"))
    assert value == 0.0


def test_guarded_log_det_reports_validity():
    good, ok = regularizers.guarded_log_det(np.eye(3) * 2.0)
    assert float(ok) == 1.0 and float(good) == pytest.approx(3 * np.log(2.0), rel=1e-5)
    bad, ok = regularizers.guarded_log_det(np.full((3, 3), np.nan))
    assert float(ok) == 0.0 and float(bad) == 0.0


@pytest.mark.parametrize(
    "regularizer",
    [regularizers.GeoCrowdNetF(1e-2, ridge=1e-5, max_penalty=50.0),
     regularizers.GeoCrowdNetW(3e-2), regularizers.TraceRegularizer(0.5)],
)
def test_serialization_round_trip(regularizer):
    config = keras.saving.serialize_keras_object(regularizer)
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(regularizer)
    assert clone.get_config() == regularizer.get_config()


def test_bad_strength_is_refused():
    for bad in [-1.0, float("nan"), float("inf")]:
        with pytest.raises(ValueError, match="strength"):
            regularizers.GeoCrowdNetF(bad)
    with pytest.raises(ValueError, match="crowd regularizer"):
        regularizers.get("geocrowdnet")


@pytest.mark.parametrize("kind", [regularizers.GeoCrowdNetF, regularizers.GeoCrowdNetW])
def test_bad_log_det_arguments_are_refused(kind):
    # Each of these used to be accepted and made the guard drop the term at
    # every step (value 0: plain CCEM), or changed it (a negative ridge).
    for bad in [float("nan"), float("inf"), -1.0]:
        with pytest.raises(ValueError, match="ridge"):
            kind(0.1, ridge=bad)
    with pytest.raises(ValueError, match="max_penalty"):
        kind(0.1, max_penalty=float("nan"))
    assert kind(0.1, ridge=0.0, max_penalty=float("inf")).ridge == 0.0
    # Not numbers at all: the error names the argument (it was float()'s
    # "could not convert string to float", or a TypeError for None).
    for name, bad in [("ridge", "abc"), ("ridge", None), ("max_penalty", "high")]:
        with pytest.raises(ValueError, match=f"`{name}` must be a number"):
            kind(0.1, **{name: bad})


def test_dirichlet_prior_refuses_bad_pseudo_counts():
    # An infinite pseudo-count gave a NaN penalty; a string or None gave a
    # bare TypeError from the comparison, naming neither argument.
    for name in ["diagonal", "off_diagonal"]:
        for bad in [float("inf"), float("nan"), -1.0, "2", None, True]:
            with pytest.raises(ValueError, match=f"pseudo-count `{name}` must be a finite"):
                regularizers.DirichletPrior(1.0, **{name: bad})


def test_dirichlet_prior_is_the_negative_log_prior():
    rng = np.random.default_rng(5)
    a = rng.dirichlet(np.ones(K), size=(3, K)).transpose(0, 2, 1).astype("float32")
    prior = regularizers.DirichletPrior(0.25, diagonal=3.0, off_diagonal=0.5)
    value, (_, grad_a) = _value_and_gradient(prior, confusion_matrices=a)
    alpha = np.full((K, K), 0.5) + np.eye(K) * 2.5
    assert value == pytest.approx(-0.25 * np.sum(alpha * np.log(a)), rel=1e-5)
    assert np.all(np.isfinite(grad_a))
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(prior))
    assert clone.get_config() == prior.get_config()
    with pytest.raises(ValueError, match="pseudo-count `diagonal`"):
        regularizers.DirichletPrior(1.0, diagonal=-1.0)


def test_lists_of_regularizers_resolve():
    pair = [regularizers.GeoCrowdNetF(0.1), regularizers.DirichletPrior(0.01)]
    configs = [keras.saving.serialize_keras_object(r) for r in pair]
    resolved = regularizers.get(configs)
    assert [type(r) for r in resolved] == [regularizers.GeoCrowdNetF, regularizers.DirichletPrior]


@pytest.mark.parametrize("config", [
    regularizers.GeoCrowdNetF(0.1).get_config(),  # no class name
    keras.saving.serialize_keras_object(keras.regularizers.L2(0.1)),
])
def test_configs_of_other_objects_are_refused(config):
    # They used to be returned as they were (a dict, a Keras L2), and
    # CrowdModel.fit then failed with "'L2' object has no attribute
    # 'uses_confusion_matrices'".
    with pytest.raises(ValueError, match="crowd regularizer"):
        regularizers.get(config)
