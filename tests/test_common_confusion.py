"""CommonConfusion: the shared, gated confusion matrix (CoNAL) in CrowdModel."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_crowd import CrowdModel
from keras_crowd import regularizers
from keras_crowd.data import to_padded_pairs
from keras_crowd.layers import CommonConfusion
from keras_crowd.selection import HeldOutCrowdLikelihood
from keras_crowd.selection import split_observed_labels
from test_crowd_model import D, K, M, _crowd


def _model(common_confusion=True, regularizer=None, seed=0):
    keras.utils.set_random_seed(seed)
    backbone = keras.Sequential([keras.Input((D,), name="features"),
                                 keras.layers.Dense(16, activation="relu"),
                                 keras.layers.Dense(K, activation="softmax")])
    model = CrowdModel(backbone, M, regularizer=regularizer, common_confusion=common_confusion)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model


def _mixture_nlls(model, x, labels):
    """Per-label NLLs of the gated mixture, computed with numpy."""
    f = keras.ops.convert_to_numpy(model(x))
    layer = model.common_confusion
    gates = keras.ops.convert_to_numpy(layer.gates(x))
    rows, cols = np.nonzero(labels >= 0)
    values = labels[rows, cols]
    individual = np.einsum("sk,sk->s", model.confusion_matrices[cols, values, :], f[rows])
    common = np.einsum("sk,sk->s", model.common_confusion_matrix[values, :], f[rows])
    g = gates[rows, cols]
    return -np.log(g * common + (1 - g) * individual)


def test_layer_gates_are_bounded_and_agree_across_layouts():
    layer = CommonConfusion(M, gate_scale=2.0)
    x = np.random.default_rng(0).normal(size=(5, D)).astype("float32")
    probabilities = np.full((5, K), 1.0 / K, "float32")
    gates, common = layer([x, probabilities])
    gates = keras.ops.convert_to_numpy(gates)
    assert gates.shape == (5, M) and tuple(common.shape) == (5, K)
    bound = 1 / (1 + np.exp(-2.0))
    assert np.all(gates <= bound + 1e-6) and np.all(gates >= 1 - bound - 1e-6)
    assert gates.std() > 1e-3, "gates must depend on the item and the annotator"
    ids = np.array([[3, 0], [6, 6], [1, 2], [0, 5], [4, -1]])
    paired = keras.ops.convert_to_numpy(layer.gates(x, ids))
    np.testing.assert_allclose(paired[:, 0], gates[np.arange(5), ids[:, 0]], atol=1e-6)
    np.testing.assert_allclose(paired[:4, 1], gates[np.arange(4), ids[:4, 1]], atol=1e-6)
    matrix = keras.ops.convert_to_numpy(layer.common_confusion_matrix)
    np.testing.assert_allclose(matrix.sum(axis=0), 1.0, atol=1e-6)
    assert np.all(np.argmax(matrix, axis=0) == np.arange(K)), "starts from identity logits"


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_annotators=0), "num_annotators"),
    (dict(num_annotators=3, embedding_dim=2.5), "embedding_dim"),
    (dict(num_annotators=3, gate_scale=0), "gate_scale"),
    # inf trained on NaN gates (inf * 0) for all-zero inputs; None was a
    # TypeError that did not name the argument.
    (dict(num_annotators=3, gate_scale=float("inf")), "gate_scale"),
    (dict(num_annotators=3, gate_scale=None), "gate_scale"),
])
def test_layer_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CommonConfusion(**kwargs)


@pytest.mark.parametrize("inputs, message", [
    # "TypeError: 'int' object is not subscriptable"
    (lambda x, p: x, r"list \[features, probabilities\]"),
    # accepted, with (batch, K, K) or (K,) common label probabilities
    (lambda x, p: [x, p[:, :, None] * p[:, None, :]], r"probabilities of shape \(batch, K\)"),
    (lambda x, p: [x, p[0]], r"probabilities of shape \(batch, K\)"),
])
def test_layer_inputs_of_another_structure_or_rank_are_refused(inputs, message):
    x = np.zeros((4, D), "float32")
    probabilities = np.full((4, K), 1.0 / K, "float32")
    with pytest.raises(ValueError, match=message):
        CommonConfusion(3)(inputs(x, probabilities))


def test_model_argument_is_checked():
    backbone = keras.Sequential([keras.Input((D,)), keras.layers.Dense(K, activation="softmax")])
    with pytest.raises(ValueError, match="common_confusion"):
        CrowdModel(backbone, M, common_confusion="yes")
    with pytest.raises(ValueError, match="has 4 annotators"):
        CrowdModel(backbone, M, common_confusion=CommonConfusion(4))
    assert CrowdModel(backbone, M).common_confusion_matrix is None


def test_loss_is_the_gated_mixture_in_both_label_layouts():
    x, labels, _ = _crowd()
    model = _model()
    # At the start f is near uniform, and C and every A_m are the same
    # identity-logit matrix: train a little, and move C.
    model.fit(x, labels, batch_size=32, epochs=5, verbose=0)
    model.common_confusion.common_confusion_logits.assign(
        3 * np.random.default_rng(1).normal(size=(K, K)).astype("float32"))
    expected = _mixture_nlls(model, x, labels).mean()
    dense = model.evaluate(x, labels, batch_size=32, verbose=0, return_dict=True)
    pairs = model.evaluate(x, to_padded_pairs(labels, as_dict=True), batch_size=32, verbose=0,
                           return_dict=True)
    assert dense["crowd_loss"] == pytest.approx(expected, rel=1e-5)
    assert pairs["crowd_loss"] == pytest.approx(expected, rel=1e-5)
    rows, cols = np.nonzero(labels >= 0)
    f = keras.ops.convert_to_numpy(model(x))
    individual = np.einsum("sk,sk->s", model.confusion_matrices[cols, labels[rows, cols], :],
                           f[rows])
    mixture = _mixture_nlls(model, x, labels)
    assert np.abs(-np.log(individual) - mixture).max() > 0.1, "the mixture must change the loss"


def test_training_moves_the_common_confusion_and_the_gates():
    x, labels, _ = _crowd()
    model = _model(regularizer=regularizers.GeoCrowdNetF(0.01))
    layer = model.common_confusion
    before = [keras.ops.convert_to_numpy(w).copy() for w in layer.weights]
    assert len(before) == 6  # common logits, annotator embeddings, two Dense layers
    history = model.fit(x, labels, batch_size=32, epochs=5, verbose=0)
    assert history.history["crowd_loss"][-1] < history.history["crowd_loss"][0]
    for old, new in zip(before, layer.weights):
        assert np.abs(keras.ops.convert_to_numpy(new) - old).max() > 1e-4


def test_heldout_likelihood_scores_the_mixture():
    x, labels, _ = _crowd()
    train, heldout = split_observed_labels(labels, 0.2, seed=0)
    model = _model()
    model.fit(x, train, batch_size=32, epochs=2, verbose=0)
    selector = HeldOutCrowdLikelihood(x, heldout)
    selector.set_model(model)
    selector.on_train_begin()
    logs = {}
    selector.on_epoch_end(0, logs)
    np.testing.assert_allclose(selector.best_label_nlls, _mixture_nlls(model, x, heldout),
                               rtol=1e-5)
    assert logs["heldout_crowd_nll"] == pytest.approx(selector.best_label_nlls.mean())


def test_keras_round_trip_keeps_the_common_confusion(tmp_path):
    x, labels, _ = _crowd()
    model = _model()
    model.fit(x, labels, batch_size=32, epochs=2, verbose=0)
    path = tmp_path / "common.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.common_confusion, CommonConfusion)
    assert loaded.common_confusion.gate_scale == model.common_confusion.gate_scale
    np.testing.assert_allclose(loaded.common_confusion_matrix, model.common_confusion_matrix)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.common_confusion.gates(x)),
                               keras.ops.convert_to_numpy(model.common_confusion.gates(x)),
                               atol=1e-6)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)
    # Training resumes with the optimizer state.
    loaded.fit(x, labels, batch_size=32, epochs=1, verbose=0)


def test_export_holds_the_classifier_alone(tmp_path):
    x, labels, _ = _crowd()
    model = _model()
    model.fit(x, labels, batch_size=32, epochs=1, verbose=0)
    path = model.export_classifier(str(tmp_path / "served" / "1"))
    checkpoint = os.path.join(path, "variables", "variables")
    saved = sorted(shape for name, shape in tf.train.list_variables(checkpoint)
                   if name.startswith("variables/"))
    assert saved == sorted(list(v.shape) for v in model.backbone.variables)
    served = tf.saved_model.load(path).signatures["serving_default"]
    np.testing.assert_allclose(served(features=tf.constant(x))["probabilities"].numpy(),
                               model.predict(x, verbose=0), atol=1e-6)


def test_recipe_trains_and_selects_with_the_common_confusion():
    from keras_crowd.training import train_crowd_classifier

    x, labels, _ = _crowd()
    result = train_crowd_classifier(
        x, labels, K, lambda seed: keras.Sequential(
            [keras.Input((D,)), keras.layers.Dense(K, activation="softmax")]),
        method="geocrowdnet-f", strength=0.01, epochs=3, batch_size=32, seed=0,
        common_confusion=True)
    assert result.model.common_confusion is not None
    assert np.isfinite(result.heldout_nll) and 1 <= result.selected_epoch <= 3


def test_gate_runs_in_float32_under_mixed_precision():
    # Inputs with large values (token ids here) overflowed float16 in the gate.
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 30000, size=(64, 50)).astype("int32")
    labels = rng.integers(-1, K, size=(64, M))
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        backbone = keras.Sequential([
            keras.Input((50,), dtype="int32"), keras.layers.Embedding(30000, 8),
            keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(K),
            keras.layers.Activation("softmax", dtype="float32")])
        model = CrowdModel(backbone, M, common_confusion=True)
        model.compile()
        history = model.fit(ids, labels, batch_size=32, epochs=1, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert np.isfinite(history.history["crowd_loss"]).all()
    assert model.common_confusion.item_hidden.compute_dtype == "float32"


def test_one_named_input_in_a_dict_is_read():
    x, labels, _ = _crowd()
    model = _model()
    as_array = model.evaluate(x, labels, batch_size=32, verbose=0, return_dict=True)
    as_dict = model.evaluate({"features": x}, labels, batch_size=32, verbose=0,
                             return_dict=True)
    assert as_dict["crowd_loss"] == pytest.approx(as_array["crowd_loss"], rel=1e-6)


def _string_backbone():
    vectorize = keras.layers.TextVectorization(max_tokens=20, output_mode="count")
    vectorize.adapt(["a b c", "b c d", "c d e"])
    return keras.Sequential([keras.Input((), dtype="string"), vectorize,
                             keras.layers.Dense(K, activation="softmax")])


@keras.saving.register_keras_serializable(package="keras_crowd_tests")
class _Sequences(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embed = keras.layers.Embedding(20, 4)
        self.out = keras.layers.Dense(K, activation="softmax")

    def call(self, tokens):
        return self.out(keras.ops.mean(self.embed(tokens), axis=1))


def test_inputs_the_gate_cannot_read_get_a_clear_error():
    labels = np.random.default_rng(0).integers(-1, K, size=(8, M))
    texts = np.array(["a b", "c d e", "b", "e a", "a", "d", "c c", "b e"])
    model = CrowdModel(_string_backbone(), M, common_confusion=True)
    model.compile()
    dataset = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(4)
    with pytest.raises(ValueError, match="as numbers; got inputs of dtype string"):
        model.fit(dataset, epochs=1, verbose=0)
    # Sequences padded per batch: the gate's input size would change.
    sequences = tf.data.Dataset.from_generator(
        lambda: ((np.arange(1, 2 + n % 5), row) for n, row in enumerate(labels)),
        output_signature=(tf.TensorSpec((None,), tf.int32), tf.TensorSpec((M,), tf.int64)),
    ).padded_batch(4)
    model = CrowdModel(_Sequences(), M, common_confusion=True)
    model.compile()
    with pytest.raises(ValueError, match="non-batch dimensions are fixed"):
        model.fit(sequences, epochs=1, verbose=0)


def test_recipe_copies_a_template_layer_for_every_fit():
    from keras_crowd.training import train_crowd_classifier

    x, labels, _ = _crowd()
    template = CommonConfusion(M, gate_scale=2.0)
    result = train_crowd_classifier(
        x, labels, K, lambda seed: keras.Sequential(
            [keras.Input((D,)), keras.layers.Dense(K, activation="softmax")]),
        method="ccem", epochs=2, batch_size=32, seed=0, ensemble_size=2,
        common_confusion=template)
    first, second = (member.model.common_confusion for member in result.members)
    assert first is not template and second is not template and first is not second
    assert first.gate_scale == second.gate_scale == 2.0
    assert not template.built
    assert np.abs(result.members[0].model.common_confusion_matrix
                  - result.members[1].model.common_confusion_matrix).max() > 1e-4
