"""CrowdLayer, its initializers and the gather-formulation loss."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_crowd import CrowdLayer
from keras_crowd import CrowdModel
from keras_crowd import initializers
from keras_crowd.losses import coupled_cross_entropy
from keras_crowd.losses import observed_label_cross_entropy
from keras_crowd.utils.column_softmax import column_softmax

K, M = 4, 5


def _built_layer(initializer="identity", num_annotators=M, num_classes=K):
    layer = CrowdLayer(num_annotators, confusion_initializer=initializer)
    layer.build((None, num_classes))
    return layer


def test_identity_init_matches_reference_diagonal():
    confusion = keras.ops.convert_to_numpy(_built_layer().confusion_matrices)
    assert confusion.shape == (M, K, K)
    np.testing.assert_allclose(confusion.sum(axis=1), 1.0, atol=1e-6)
    expected = np.e / (np.e + K - 1)
    np.testing.assert_allclose(np.diagonal(confusion, axis1=1, axis2=2), expected, rtol=1e-6)


@pytest.mark.parametrize("diagonal", [0.3, 0.9, 0.98])
def test_diagonally_dominant_sets_exact_diagonal(diagonal):
    layer = _built_layer(initializers.DiagonallyDominant(diagonal))
    confusion = keras.ops.convert_to_numpy(layer.confusion_matrices)
    np.testing.assert_allclose(np.diagonal(confusion, axis1=1, axis2=2), diagonal, rtol=1e-5)
    off = confusion[0][~np.eye(K, dtype=bool)]
    np.testing.assert_allclose(off, (1 - diagonal) / (K - 1), rtol=1e-5)


def test_given_matrices_are_reproduced_up_to_smoothing():
    rng = np.random.default_rng(0)
    given = rng.dirichlet(np.ones(K), size=(M, K)).transpose(0, 2, 1)
    layer = _built_layer(initializers.ConfusionMatricesInitializer(given, smoothing=0.01))
    confusion = keras.ops.convert_to_numpy(layer.confusion_matrices)
    np.testing.assert_allclose(confusion, 0.99 * given + 0.01 / K, atol=1e-6)


def test_initializers_return_floatx_without_a_dtype():
    given = np.stack([np.eye(3)] * 2)
    for initializer in (initializers.ConfusionMatricesInitializer(given),
                        initializers.IdentityLogits(), initializers.DiagonallyDominant(0.9)):
        assert keras.backend.standardize_dtype(initializer((2, 3, 3)).dtype) == "float32"


def test_array_is_accepted_directly_and_shape_is_checked():
    given = np.broadcast_to(np.eye(K) * 0.7 + 0.3 / K, (M, K, K))
    layer = _built_layer(given)
    assert isinstance(layer.confusion_initializer, initializers.ConfusionMatricesInitializer)
    with pytest.raises(ValueError, match="shape"):
        _built_layer(given, num_annotators=M + 1)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.ones((M, K, K)), "column-stochastic"),
        (-np.eye(K)[None].repeat(M, 0), "non-negative"),
        (np.ones((K, K)) / K, r"\(M, K, K\)"),
    ],
)
def test_bad_matrices_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        initializers.ConfusionMatricesInitializer(bad)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        initializers.DiagonallyDominant(1.0)
    with pytest.raises(ValueError, match="Unknown confusion initializer"):
        CrowdLayer(3, confusion_initializer="nope")
    with pytest.raises(ValueError, match="positive integer"):
        CrowdLayer(0)
    with pytest.raises(ValueError, match="K >= 2"):
        CrowdLayer(3).build((None, 1))


def test_inputs_that_are_not_batch_by_k_are_refused():
    # A (batch, 5, K) input used to give a symbolic (None, M, K) output and,
    # called on a tensor, an einsum "Expected input 1 to have rank 2" error.
    with pytest.raises(ValueError, match=r"\(batch, K\).*\(None, 5, 4\)"):
        CrowdLayer(M)(keras.Input((5, K)))
    with pytest.raises(ValueError, match=r"\(batch, K\)"):
        CrowdLayer(M)(np.full((2, 5, K), 1.0 / K, "float32"))


@pytest.mark.parametrize("bad", [2.5, True, 0, -3])
def test_fractional_or_boolean_num_annotators_is_refused(bad):
    # int() used to train 2 annotators for 2.5 and 1 for True, in the layer
    # and in CrowdModel.
    with pytest.raises(ValueError, match="positive integer"):
        CrowdLayer(bad)
    backbone = keras.Sequential([keras.Input((3,)), keras.layers.Dense(K, activation="softmax")])
    with pytest.raises(ValueError, match="positive integer"):
        CrowdModel(backbone, bad)
    assert CrowdLayer(np.int64(3)).num_annotators == 3 == CrowdLayer(3.0).num_annotators


def test_num_annotators_read_from_an_npz_file_or_a_tensor_is_accepted(tmp_path):
    # np.load gives a 0-d array: it was refused as "not a positive integer"
    # (`got array(5)`), and so was a scalar tensor.
    np.savez(tmp_path / "meta.npz", num_annotators=M)
    read = np.load(tmp_path / "meta.npz")["num_annotators"]
    assert CrowdLayer(read).num_annotators == M == CrowdLayer(tf.constant(M)).num_annotators
    with pytest.raises(ValueError, match="positive integer"):
        CrowdLayer(np.array(2.5))


@pytest.mark.parametrize("dense_path", ["product", "gather"])
def test_labels_that_do_not_fit_are_refused(dense_path, monkeypatch):
    if dense_path == "gather":
        monkeypatch.setattr(coupled_cross_entropy, "DENSE_PRODUCT_MAX_SIZE", 0)
    layer = _built_layer()
    probabilities = np.full((6, K), 1.0 / K, "float32")
    # One column broadcast against M annotators counted each label M times
    # (a loss M times too large) instead of failing.
    with pytest.raises(ValueError, match="one column per annotator"):
        layer.cross_entropy(probabilities, np.zeros((6, 1), "int32"))
    with pytest.raises(ValueError, match="rows"):
        layer.cross_entropy(probabilities, np.zeros((3, M), "int32"))
    with pytest.raises(ValueError, match="same shape"):
        layer.cross_entropy(probabilities, np.zeros((6, 1), "int32"), np.zeros((6, 2), "int32"))
    with pytest.raises(ValueError, match="batch, M"):
        layer.cross_entropy(probabilities, np.zeros((6,), "int32"))


def test_call_returns_per_annotator_distributions():
    rng = np.random.default_rng(1)
    layer = _built_layer(initializers.DiagonallyDominant(0.8))
    probabilities = rng.dirichlet(np.ones(K), size=7).astype("float32")
    outputs = keras.ops.convert_to_numpy(layer(probabilities))
    assert outputs.shape == (7, M, K)
    confusion = keras.ops.convert_to_numpy(layer.confusion_matrices)
    np.testing.assert_allclose(outputs[3, 2], confusion[2] @ probabilities[3], rtol=1e-5)
    np.testing.assert_allclose(outputs.sum(-1), 1.0, atol=1e-5)
    symbolic = layer(keras.Input((K,)))
    assert tuple(symbolic.shape) == (None, M, K)


def _reference_cross_entropy(probabilities, confusion, labels):
    """Naive O(B M K^2) computation of every A_m f, for comparison."""
    full = np.einsum("mkj,bj->bmk", confusion, probabilities)
    out = np.zeros(labels.shape)
    for b, m in zip(*np.nonzero(labels >= 0)):
        out[b, m] = -np.log(full[b, m, labels[b, m]])
    return out


@pytest.mark.parametrize("dense_path", ["product", "gather"])
def test_gather_loss_matches_naive_dense_and_pairs(dense_path, monkeypatch):
    if dense_path == "gather":  # force the large-crowd path on this small crowd
        monkeypatch.setattr(coupled_cross_entropy, "DENSE_PRODUCT_MAX_SIZE", 0)
    rng = np.random.default_rng(2)
    layer = _built_layer(initializers.DiagonallyDominant(0.6))
    layer.confusion_logits.assign(rng.normal(size=(M, K, K)).astype("float32"))
    probabilities = rng.dirichlet(np.ones(K), size=9).astype("float32")
    labels = rng.integers(-1, K, size=(9, M))
    labels[0] = -1  # an item with no label at all
    confusion = keras.ops.convert_to_numpy(layer.confusion_matrices)
    expected = _reference_cross_entropy(probabilities, confusion, labels)

    dense, mask = layer.cross_entropy(probabilities, labels)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(dense), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(mask), labels >= 0)

    # The same labels as padded (annotator, label) pairs, R = M, shuffled.
    order = np.argsort(rng.random((9, M)), axis=1)
    annotator_ids = order
    pair_labels = np.take_along_axis(labels, order, axis=1)
    pairs, pair_mask = observed_label_cross_entropy(
        probabilities, layer.confusion_logits, pair_labels, annotator_ids
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(pairs).sum(), expected.sum(), rtol=1e-5
    )
    assert keras.ops.convert_to_numpy(pair_mask).sum() == (labels >= 0).sum()


def test_loss_is_finite_for_confident_wrong_predictions():
    layer = _built_layer(initializers.DiagonallyDominant(0.999999))
    probabilities = np.eye(K, dtype="float32")[[0, 1]]
    labels = np.full((2, M), 3)
    ce, _ = layer.cross_entropy(probabilities, labels)
    ce = keras.ops.convert_to_numpy(ce)
    assert np.all(np.isfinite(ce)) and ce.max() <= -np.log(1e-7) + 1e-3


def test_layer_config_round_trip():
    given = np.broadcast_to(np.eye(K) * 0.6 + 0.4 / K, (M, K, K))
    for initializer in ["identity", initializers.DiagonallyDominant(0.7), given]:
        layer = CrowdLayer(M, confusion_initializer=initializer, name="crowd")
        clone = CrowdLayer.from_config(layer.get_config())
        layer.build((None, K))
        clone.build((None, K))
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(clone.confusion_matrices),
            keras.ops.convert_to_numpy(layer.confusion_matrices),
            rtol=1e-6,
        )
        assert clone.name == "crowd"


def test_layer_saves_inside_a_keras_file(tmp_path):
    inputs = keras.Input((K,))
    outputs = CrowdLayer(M, confusion_initializer="diagonally_dominant")(inputs)
    model = keras.Model(inputs, outputs)
    model.layers[-1].confusion_logits.assign(
        np.random.default_rng(3).normal(size=(M, K, K)).astype("float32")
    )
    path = tmp_path / "layer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = np.random.default_rng(4).dirichlet(np.ones(K), size=3).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_dense_product_and_gather_paths_have_equal_gradients(monkeypatch):
    """The product path's flat gather, traced with an unknown batch size,
    gives the gather path's loss and gradients."""
    import tensorflow as tf

    rng = np.random.default_rng(4)
    logits = tf.Variable(rng.normal(size=(M, K, K)).astype("float32"))
    probabilities = tf.Variable(rng.dirichlet(np.ones(K), size=11).astype("float32"))
    labels = rng.integers(-1, K, size=(11, M)).astype("int32")

    def loss_and_gradients():
        @tf.function(input_signature=[tf.TensorSpec((None, M), tf.int32)])
        def run(y):
            with tf.GradientTape() as tape:
                ce, mask = observed_label_cross_entropy(probabilities, logits, y)
                loss = tf.reduce_sum(ce) / tf.reduce_sum(mask)
            return [loss] + tape.gradient(loss, [probabilities, logits])
        return [t.numpy() for t in run(labels)]

    product = loss_and_gradients()
    monkeypatch.setattr(coupled_cross_entropy, "DENSE_PRODUCT_MAX_SIZE", 0)
    for a, b in zip(product, loss_and_gradients()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("path", ["product", "gather", "pairs"])
def test_given_confusion_matrices_give_the_same_loss_and_gradients(path, monkeypatch):
    """Reusing matrices computed once in the step (as CrowdModel does for
    GeoCrowdNet-W) changes neither the loss nor its gradients."""
    import tensorflow as tf

    if path == "gather":
        monkeypatch.setattr(coupled_cross_entropy, "DENSE_PRODUCT_MAX_SIZE", 0)
    rng = np.random.default_rng(5)
    logits = tf.Variable(rng.normal(size=(M, K, K)).astype("float32"))
    probabilities = tf.Variable(rng.dirichlet(np.ones(K), size=7).astype("float32"))
    labels = rng.integers(-1, K, size=(7, M)).astype("int32")
    annotator_ids = None
    if path == "pairs":
        annotator_ids = np.argsort(rng.random((7, M)), axis=1).astype("int32")
        labels = np.take_along_axis(labels, annotator_ids, axis=1)

    def loss_and_gradients(share):
        with tf.GradientTape() as tape:
            matrices = column_softmax(logits) if share else None
            ce, mask = observed_label_cross_entropy(
                probabilities, logits, labels, annotator_ids, confusion_matrices=matrices)
            loss = tf.reduce_sum(ce) / tf.reduce_sum(mask)
        gradients = tape.gradient(loss, [probabilities, logits])
        return [loss.numpy()] + [tf.convert_to_tensor(g).numpy() for g in gradients]

    for shared, own in zip(loss_and_gradients(True), loss_and_gradients(False)):
        np.testing.assert_allclose(shared, own, rtol=1e-5, atol=1e-7)


def test_call_keeps_float32_confusions_under_mixed_precision():
    # Small off-diagonal entries must not be lost to a float16 softmax.
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = CrowdLayer(1)
        layer.build((None, 3))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    logits = np.full((1, 3, 3), -13.0)
    logits[0, [0, 1, 2], [0, 1, 2]] = 0.0
    logits[0, 1, 0] = -11.0
    layer.confusion_logits.assign(logits)
    probabilities = np.array([[0.0, 0.0, 1.0]], "float32")
    output = keras.ops.convert_to_numpy(layer(probabilities))[0, 0]
    exact = keras.ops.convert_to_numpy(layer.confusion_matrices)[0] @ probabilities[0]
    np.testing.assert_allclose(output, exact, rtol=1e-5)


def test_confusion_matrices_initializer_tolerates_round_off_below_zero():
    """-1e-12 (an EM step's round-off) counts as 0, as in
    `simulators.check_confusion_matrices`; a real negative entry does not."""
    matrices = np.tile(np.eye(3), (2, 1, 1))
    matrices[0, 1, 0], matrices[0, 0, 0] = -1e-12, 1 + 1e-12
    initializer = initializers.ConfusionMatricesInitializer(matrices)
    assert initializer.confusion_matrices.min() == 0.0
    assert np.all(np.isfinite(initializer((2, 3, 3))))
    matrices[0, 1, 0], matrices[0, 0, 0] = -1e-3, 1 + 1e-3
    with pytest.raises(ValueError, match="smallest entry is -0.001"):
        initializers.ConfusionMatricesInitializer(matrices)
