"""CrowdModel: training, label layouts, validation errors, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_crowd import CrowdModel
from keras_crowd import regularizers

N, D, K, M = 192, 6, 3, 7


def _crowd(seed=0, n=N, missing_rows=()):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, D)).astype("float32")
    truth = (x @ rng.normal(size=(D, K))).argmax(1)
    labels = np.full((n, M), -1, dtype="int64")
    for i in range(n):
        for m in rng.choice(M, size=3, replace=False):
            labels[i, m] = truth[i] if rng.random() < 0.75 else rng.integers(K)
    labels[list(missing_rows)] = -1
    return x, labels, truth


def _sequential(activation="softmax"):
    return keras.Sequential(
        [keras.Input((D,), name="features"), keras.layers.Dense(16, activation="relu"),
         keras.layers.Dense(K, activation=activation)]
    )


def _functional():
    inputs = keras.Input((D,), name="x")
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(K, activation="softmax")(hidden))


@keras.saving.register_keras_serializable(package="keras_crowd_tests")
class SubclassedNet(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(16, activation="relu")
        self.out = keras.layers.Dense(K, activation="softmax")

    def call(self, inputs):
        return self.out(self.hidden(inputs))


BACKBONES = {"sequential": _sequential, "functional": _functional, "subclassed": SubclassedNet}


@pytest.mark.parametrize("kind", sorted(BACKBONES))
def test_fit_predict_evaluate_any_backbone(kind):
    keras.utils.set_random_seed(0)
    x, labels, truth = _crowd()
    model = CrowdModel(BACKBONES[kind](), num_annotators=M,
                       regularizer=regularizers.GeoCrowdNetW(1e-2))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(x, labels, batch_size=32, epochs=6, verbose=0,
                        validation_data=(x, truth))
    logs = history.history
    assert {"loss", "crowd_loss", "regularization", "val_accuracy"} <= set(logs)
    assert logs["crowd_loss"][-1] < logs["crowd_loss"][0]
    assert logs["val_accuracy"][-1] > 0.6
    probabilities = model.predict(x, verbose=0)
    assert probabilities.shape == (N, K)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
    assert model.confusion_matrices.shape == (M, K, K)
    np.testing.assert_allclose(model.confusion_matrices.sum(axis=1), 1.0, atol=1e-5)
    crowd_logs = model.evaluate(x, labels, verbose=0, return_dict=True)
    assert crowd_logs["crowd_loss"] == pytest.approx(logs["crowd_loss"][-1], rel=0.2)
    true_logs = model.evaluate(x, truth, verbose=0, return_dict=True)
    assert true_logs["accuracy"] == pytest.approx(logs["val_accuracy"][-1], abs=1e-6)


def test_tf_data_pipeline_and_padded_pairs_match_dense():
    """Dense labels, tf.data and padded (annotator, label) pairs train alike."""
    x, labels, _ = _crowd(seed=1)
    rows = [np.flatnonzero(row >= 0) for row in labels]
    width = max(len(r) for r in rows)
    annotator_ids = np.zeros((N, width), "int64")
    pair_labels = np.full((N, width), -1, "int64")
    for i, r in enumerate(rows):
        annotator_ids[i, : len(r)] = r
        pair_labels[i, : len(r)] = labels[i, r]

    def train(y):
        keras.utils.set_random_seed(3)
        model = CrowdModel(_sequential(), M, regularizer=regularizers.GeoCrowdNetF(1e-2))
        # Plain SGD: Adam divides by sqrt(v) and would amplify float
        # rounding differences in near-zero gradients to full steps.
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        if isinstance(y, tf.data.Dataset):
            model.fit(y, epochs=2, verbose=0)
        else:
            model.fit(x, y, batch_size=48, epochs=2, shuffle=False, verbose=0)
        return model.get_weights()

    dense = train(labels)
    dataset = tf.data.Dataset.from_tensor_slices((x, labels)).batch(48)
    pairs = train({"annotator_ids": annotator_ids, "labels": pair_labels})
    for a, b, c in zip(dense, train(dataset), pairs):
        np.testing.assert_allclose(b, a, atol=1e-6)
        np.testing.assert_allclose(c, a, atol=1e-5)


def test_batches_with_no_labels_contribute_nothing():
    x, labels, _ = _crowd(seed=2, missing_rows=range(0, 64))
    keras.utils.set_random_seed(4)
    model = CrowdModel(_sequential(), M)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    before = model.get_weights()
    logs = model.fit(x[:64], labels[:64], batch_size=32, epochs=1, verbose=0).history
    assert logs["loss"] == [0.0]
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    history = model.fit(x, labels, batch_size=32, epochs=1, shuffle=False, verbose=0).history
    assert np.isfinite(history["loss"][0])


def test_no_nan_with_tiny_batches_and_huge_lambda():
    x, labels, _ = _crowd(seed=5)
    for regularizer in [regularizers.GeoCrowdNetF(1e3), regularizers.GeoCrowdNetW(1e3)]:
        model = CrowdModel(_sequential(), M, regularizer=regularizer)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        history = model.fit(x, labels, batch_size=2, epochs=1, verbose=0).history
        assert np.all(np.isfinite(history["loss"]))
        assert all(np.all(np.isfinite(w)) for w in model.get_weights())


def _assert_backbone_refused(model, x, labels, array_message, dataset_message):
    """`fit` on arrays and on a `tf.data` dataset raises, weights untouched."""
    before = model.get_weights()
    with pytest.raises(ValueError, match=array_message):
        model.fit(x, labels, batch_size=32, epochs=1, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices((x, labels)).batch(32)
    with pytest.raises(ValueError, match=dataset_message):
        model.fit(dataset, epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_logits_backbone_is_detected_or_accepted():
    x, labels, _ = _crowd()
    model = CrowdModel(_sequential(activation=None), M)
    model.compile()
    _assert_backbone_refused(model, x, labels, "from_logits=True", "not probabilities")
    model = CrowdModel(_sequential(activation=None), M, from_logits=True)
    model.compile()
    model.fit(x, labels, batch_size=32, epochs=1, verbose=0)
    np.testing.assert_allclose(model.predict(x[:4], verbose=0).sum(1), 1.0, atol=1e-5)


def test_softmax_backbone_with_from_logits_is_refused():
    # A second softmax over probabilities squashed them towards uniform and
    # trained on that, silently.
    x, labels, _ = _crowd()
    model = CrowdModel(_sequential(), M, from_logits=True)
    model.compile()
    _assert_backbone_refused(model, x, labels, "already probabilities",
                             "already probabilities")
    unchecked = CrowdModel(_sequential(), M, from_logits=True, check_probabilities=False)
    unchecked.compile()
    unchecked.fit(x, labels, batch_size=32, epochs=1, verbose=0)


def test_backbone_with_wrong_output_rank_is_refused():
    backbone = keras.Sequential([keras.Input((4, D)), keras.layers.Dense(K, activation="softmax")])
    with pytest.raises(ValueError, match=r"\(batch, K\)"):
        CrowdModel(backbone, M)
    with pytest.raises(ValueError, match="keras.Model"):
        CrowdModel(keras.layers.Dense(K), M)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda x, y: (x, y[:, :-1]), "num_annotators=7"),
        (lambda x, y: (x, np.where(y == 1, K, y)), "only 3 classes"),
        (lambda x, y: (x, np.where(y == 1, -2, y)), "found -2"),
        (lambda x, y: (x, y.astype("float32") + 0.5), "must be integers"),
        (lambda x, y: (x[:-1], y), "rows"),
        (lambda x, y: (np.where(x > 1.5, np.nan, x), y), "NaN or inf"),
        (lambda x, y: (x, y[:, 0]), "1-D"),
        (lambda x, y: (x, y.astype(str)), "integer array"),
    ],
)
def test_bad_inputs_fail_before_training(mutate, message):
    _assert_refused_before_training(mutate, message, "fit", epochs=1)


def _assert_refused_before_training(mutate, message, method, **kwargs):
    """`model.<method>` on mutated inputs raises `message`; no weight moved."""
    x, labels, _ = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile()
    before = model.get_weights()
    bad_x, bad_y = mutate(x, labels)
    with pytest.raises(ValueError, match=message):
        getattr(model, method)(bad_x, bad_y, verbose=0, **kwargs)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_out_of_range_labels_in_tf_data_fail_loudly():
    x, labels, _ = _crowd()
    labels[5, 2] = K + 3
    model = CrowdModel(_sequential(), M)
    model.compile()
    dataset = tf.data.Dataset.from_tensor_slices((x, labels)).batch(32)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Crowd labels must be -1 \(missing\) or in \[0, K\)"):
        model.fit(dataset, epochs=1, verbose=0)


def test_compile_refuses_loss_and_metrics():
    model = CrowdModel(_sequential(), M)
    with pytest.raises(ValueError, match="own loss"):
        model.compile(loss="mse")
    with pytest.raises(ValueError, match="metrics"):
        model.compile(metrics=["accuracy"])


def test_compile_refuses_weighted_metrics_and_loss_weights():
    # Keras would accept both, then fail in fit with "Cannot get result()
    # since the metric has not yet been built" (weighted_metrics) or ignore
    # them silently (loss_weights).
    model = CrowdModel(_sequential(), M)
    with pytest.raises(ValueError, match="weighted_metrics"):
        model.compile(weighted_metrics=["accuracy"])
    with pytest.raises(ValueError, match="loss_weights"):
        model.compile(loss_weights=[2.0])


@pytest.mark.parametrize("kind", ["sequential", "subclassed"])
def test_keras_file_round_trip_resumes_training(tmp_path, kind):
    x, labels, truth = _crowd(seed=6)

    def fresh():
        keras.utils.set_random_seed(11)
        model = CrowdModel(BACKBONES[kind](), M, regularizer=regularizers.GeoCrowdNetF(1e-2),
                           confusion_initializer="diagonally_dominant")
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        return model

    straight = fresh()
    straight.fit(x, labels, batch_size=32, epochs=4, shuffle=False, verbose=0)

    first = fresh()
    first.fit(x, labels, batch_size=32, epochs=2, shuffle=False, verbose=0)
    path = tmp_path / "crowd.keras"
    first.save(path)
    resumed = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(resumed, CrowdModel)
    assert isinstance(resumed.regularizer, regularizers.GeoCrowdNetF)
    np.testing.assert_allclose(resumed.confusion_matrices, first.confusion_matrices, atol=1e-7)
    np.testing.assert_allclose(resumed.predict(x, verbose=0), first.predict(x, verbose=0), atol=1e-6)
    assert int(resumed.optimizer.iterations) == int(first.optimizer.iterations)
    resumed.fit(x, labels, batch_size=32, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-5)


def test_unseen_annotators_at_evaluation_are_refused():
    """Evaluation labels must use the training annotators' columns or ids."""
    import pandas as pd

    from keras_crowd import data

    x, labels, _ = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile()
    model.fit(x, labels, batch_size=64, epochs=1, verbose=0)
    pairs = {"annotator_ids": np.full((N, 1), M + 2), "labels": np.zeros((N, 1), "int64")}
    with pytest.raises(ValueError, match=r"Annotator ids must lie in \[0, 6\]"):
        model.evaluate(x, pairs, verbose=0)
    training_ids = [f"w{m}" for m in range(M)]
    frame = pd.DataFrame({"task": ["t0", "t1"], "worker": ["w1", "stranger"], "label": [0, 1]})
    with pytest.raises(data.UnknownIdError, match="stranger"):
        data.from_long(frame, annotator_ids=training_ids)


def test_several_regularizers_add_up_and_round_trip(tmp_path):
    x, labels, _ = _crowd(seed=8)
    pair = [regularizers.GeoCrowdNetW(0.05), regularizers.DirichletPrior(0.01)]
    model = CrowdModel(_sequential(), M, regularizer=pair)
    model.compile()
    logs = model.evaluate(x, labels, verbose=0, return_dict=True)
    confusion = model.crowd_layer.confusion_matrices
    expected = sum(float(r(None, confusion)) for r in pair)
    assert logs["regularization"] == pytest.approx(expected, rel=1e-5)
    model.save(tmp_path / "pair.keras")
    loaded = keras.saving.load_model(tmp_path / "pair.keras", safe_mode=True)
    assert [type(r) for r in loaded.regularizer] == [regularizers.GeoCrowdNetW, regularizers.DirichletPrior]


def test_regularization_warmup_ramps_the_penalty_with_optimizer_steps(tmp_path):
    x, labels, _ = _crowd(seed=9)
    keras.utils.set_random_seed(3)
    model = CrowdModel(_sequential(), M, regularizer=regularizers.GeoCrowdNetW(0.05),
                       regularization_warmup_steps=10)
    model.compile(optimizer="adam")
    full = float(model.regularizer(None, model.crowd_layer.confusion_matrices))
    assert full != 0.0
    for step, fraction in [(0, 0.0), (4, 0.4), (10, 1.0), (25, 1.0)]:
        model.optimizer.iterations.assign(step)
        logs = model.evaluate(x, labels, verbose=0, return_dict=True)
        assert logs["regularization"] == pytest.approx(fraction * full, rel=1e-5, abs=1e-7)
    model.save(tmp_path / "warm.keras")
    loaded = keras.saving.load_model(tmp_path / "warm.keras", safe_mode=True)
    assert loaded.regularization_warmup_steps == 10


def test_first_warmup_step_trains_as_if_unregularized():
    """At step 0 the ramp is at 0, so the update equals plain CCEM's."""
    x, labels, _ = _crowd(seed=10)

    def step(regularizer, warmup):
        keras.utils.set_random_seed(5)
        model = CrowdModel(_sequential(), M, regularizer=regularizer,
                           regularization_warmup_steps=warmup)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        model.fit(x[:64], labels[:64], batch_size=64, epochs=1, shuffle=False, verbose=0)
        return model.get_weights()

    plain = step(None, 0)
    warm = step(regularizers.GeoCrowdNetW(1.0), 100)
    cold = step(regularizers.GeoCrowdNetW(1.0), 0)
    for a, b in zip(plain, warm):
        np.testing.assert_allclose(b, a, atol=1e-7)
    assert not all(np.allclose(a, b, atol=1e-4) for a, b in zip(plain, cold))


@pytest.mark.parametrize("bad", [-1, 2.5, "10", True])
def test_bad_warmup_steps_are_refused(bad):
    with pytest.raises(ValueError, match="regularization_warmup_steps"):
        CrowdModel(_sequential(), M, regularization_warmup_steps=bad)


def test_train_step_is_traced_once_per_fit():
    """The optimizer is built before tracing, so TensorFlow need not trace the
    train step again after a first trace that created its variables."""
    x, labels, _ = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), steps_per_execution=3)
    traces = []
    train_step = model.train_step

    def counting_train_step(data):
        traces.append(1)
        return train_step(data)

    model.train_step = counting_train_step
    model.fit(x, labels, batch_size=32, epochs=2, verbose=0)
    assert len(traces) == 1
    assert model.optimizer.built


def test_prebuilt_optimizer_trains_like_keras_lazy_build():
    """Building the optimizer before `fit` leaves the training unchanged."""
    x, labels, _ = _crowd(seed=6)

    def train(prebuild):
        keras.utils.set_random_seed(5)
        model = CrowdModel(_sequential(), M, regularizer=regularizers.GeoCrowdNetF(1e-2),
                           regularization_warmup_steps=4)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        if not prebuild:
            model._build_optimizer = lambda: None  # Keras builds it while tracing
        model.fit(x, labels, batch_size=32, epochs=2, shuffle=False, verbose=0)
        return model.get_weights() + [v.numpy() for v in model.optimizer.variables]

    for a, b in zip(train(True), train(False)):
        np.testing.assert_array_equal(a, b)


def test_validated_epoch_dataset_skips_streaming_checks_but_trains_the_same():
    from keras_crowd.training import epoch_dataset

    x, labels, _ = _crowd(seed=7)

    def train(num_classes):
        keras.utils.set_random_seed(8)
        model = CrowdModel(_sequential(), M)
        dataset, steps = epoch_dataset(x, labels, 48, seed=0, num_classes=num_classes)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), steps_per_execution=steps)
        assert (model._with_label_checks(dataset) is dataset) == (num_classes == K)
        model.fit(dataset, steps_per_epoch=steps, epochs=2, verbose=0)
        return model.get_weights()

    for a, b in zip(train(K), train(None)):
        np.testing.assert_array_equal(a, b)


def test_dataset_validated_for_another_model_is_still_checked():
    """A mark for K=K+3 does not vouch for a model of K classes, and a dataset
    derived from a validated one is checked again."""
    from keras_crowd.training import epoch_dataset

    x, labels, _ = _crowd()
    labels[5, 2] = K + 1
    model = CrowdModel(_sequential(), M)
    model.compile()
    dataset, steps = epoch_dataset(x, labels, 32, seed=0, num_classes=K + 3)
    message = r"Crowd labels must be -1 \(missing\) or in \[0, K\)"
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    good = np.where(labels >= K, -1, labels)
    dataset, steps = epoch_dataset(x, good, 32, seed=0, num_classes=K)
    corrupted = dataset.map(lambda features, y: (features, y + K))
    assert model._with_label_checks(corrupted) is not corrupted
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        model.fit(corrupted, steps_per_epoch=steps, epochs=1, verbose=0)


def test_logits_backbone_is_detected_on_a_validated_epoch_dataset():
    from keras_crowd.training import epoch_dataset

    x, labels, _ = _crowd()
    model = CrowdModel(_sequential(activation=None), M)
    model.compile()
    dataset, steps = epoch_dataset(x, labels, 32, seed=0, num_classes=K)
    with pytest.raises(ValueError, match="not probabilities"):
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)


def _dataframe(values):
    pandas = pytest.importorskip("pandas")
    return pandas.DataFrame(values)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda x, y: (x, _dataframe(np.where(y == 1, K, y))), "only 3 classes"),
        (lambda x, y: (x, _dataframe(np.where(y == 1, -5, y))), "found -5"),
        (lambda x, y: (x, np.where(y == 1, K, y).tolist()), "only 3 classes"),
        (lambda x, y: (np.where(x > 1.5, np.nan, x).tolist(), y), "NaN or inf"),
        (lambda x, y: (_dataframe(np.where(x > 1.5, np.nan, x)), _dataframe(y)), "NaN or inf"),
        (lambda x, y: (x, {"annotator_ids": _dataframe(np.tile(np.arange(M), (len(y), 1))),
                           "labels": _dataframe(np.where(y == 1, K, y))}), "only 3 classes"),
    ],
    ids=["dataframe_class_K", "dataframe_below_missing", "list_class_K", "list_nan_features",
         "dataframe_nan_features", "padded_pairs_of_dataframes"],
)
@pytest.mark.parametrize("method", ["fit", "evaluate"])
def test_bad_array_like_inputs_are_checked_like_numpy(mutate, message, method):
    """pandas DataFrames and lists are validated too, not passed unchecked."""
    _assert_refused_before_training(mutate, message, method)


@pytest.mark.parametrize("container", [list, tuple])
def test_list_of_input_arrays_gets_the_single_input_error(container):
    """A list of arrays is several inputs (as in Keras), not one array."""
    x, labels, _ = _crowd()
    first, second = keras.Input((2,)), keras.Input((1,))
    probabilities = keras.layers.Dense(K, activation="softmax")(
        keras.layers.Concatenate()([first, second]))
    model = CrowdModel(keras.Model([first, second], probabilities), M)
    model.compile()
    inputs = container([x[:, :2], x[:, 2:3]])
    with pytest.raises(ValueError, match="supports backbones with a single input tensor"):
        model.fit(inputs, labels, epochs=1, verbose=0)


def test_good_dataframe_labels_train_like_numpy():
    x, labels, _ = _crowd()
    weights = []
    for y in (labels, _dataframe(labels)):
        keras.utils.set_random_seed(1)
        model = CrowdModel(_sequential(), M)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("check_probabilities", [True, False])
def test_labels_are_checked_against_k_of_an_unbuilt_backbone(check_probabilities):
    """A subclassed backbone has no K until built: fit builds it first."""
    x, labels, _ = _crowd()
    model = CrowdModel(SubclassedNet(), M, check_probabilities=check_probabilities)
    model.compile()
    with pytest.raises(ValueError, match="only 3 classes"):
        model.fit(x, np.where(labels == 1, K, labels), epochs=1, verbose=0)


@pytest.mark.parametrize("bad", [1.5, -0.5, np.nan])
def test_non_integer_float_labels_in_tf_data_fail_loudly(bad):
    x, labels, _ = _crowd()
    labels = labels.astype("float32")
    labels[5, 2] = bad
    model = CrowdModel(_sequential(), M)
    model.compile()
    before = model.get_weights()
    dataset = tf.data.Dataset.from_tensor_slices((x, labels)).batch(32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Crowd labels must be integers"):
        model.fit(dataset, epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_whole_float_labels_in_tf_data_still_train():
    x, labels, _ = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile()
    dataset = tf.data.Dataset.from_tensor_slices((x, labels.astype("float32"))).batch(32)
    history = model.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_sample_weights_are_refused_with_crowd_labels_in_evaluation():
    x, labels, truth = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile()
    before = model.get_weights()
    weights = np.zeros(N)
    weights[0] = 1.0
    with pytest.raises(ValueError, match="sample weights"):
        model.evaluate(x, labels, sample_weight=weights, verbose=0)
    with pytest.raises(ValueError, match="sample weights"):
        model.fit(x, labels, epochs=1, verbose=0, validation_data=(x, labels, weights))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    dataset = tf.data.Dataset.from_tensor_slices((x, labels, weights)).batch(32)
    with pytest.raises(ValueError, match="sample weights"):
        model.evaluate(dataset, verbose=0)
    # With 1-D true labels the weights still weight the accuracy.
    weighted = model.evaluate(x, truth, sample_weight=weights, verbose=0, return_dict=True)
    correct = float(np.argmax(model.predict(x[:1], verbose=0), axis=1)[0] == truth[0])
    assert weighted["accuracy"] == pytest.approx(correct)


def test_padded_pairs_tuple_gets_a_clear_error():
    from keras_crowd.data import to_padded_pairs

    x, labels, _ = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile()
    pairs = to_padded_pairs(labels)
    with pytest.raises(ValueError, match=r"as_dict=True"):
        model.fit(x, pairs, epochs=1, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices((x, pairs)).batch(32)
    with pytest.raises(ValueError, match=r"as_dict=True"):
        model.fit(dataset, epochs=1, verbose=0)


@pytest.mark.parametrize("regularizer", [regularizers.GeoCrowdNetF(0.01),
                                         regularizers.GeoCrowdNetW(0.01)],
                         ids=["F", "W"])
def test_jit_compile_with_a_log_det_regularizer_is_refused_on_cpu(regularizer):
    model = CrowdModel(_sequential(), M, regularizer=regularizer)
    with pytest.raises(ValueError, match="LogMatrixDeterminant"):
        model.compile(jit_compile=True)
    model.compile(jit_compile=False)  # the default path still compiles
    x, labels, _ = _crowd()
    history = model.fit(x, labels, batch_size=32, epochs=1, verbose=0)
    assert np.isfinite(history.history["regularization"][0])


def test_jit_compile_trains_ccem_and_trace_like_the_default():
    x, labels, _ = _crowd()
    losses = {}
    for jit_compile in (False, True):
        keras.utils.set_random_seed(0)
        model = CrowdModel(_sequential(), M, regularizer=regularizers.TraceRegularizer(0.01))
        model.compile(jit_compile=jit_compile)
        losses[jit_compile] = model.fit(x, labels, batch_size=32, epochs=1,
                                        verbose=0).history["loss"][0]
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-4)


def test_labels_are_checked_when_x_is_a_one_element_list():
    x, labels, _ = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile()
    with pytest.raises(ValueError, match="only 3 classes"):
        model.fit([x], np.where(labels == 1, 7, labels), epochs=1, verbose=0)


@pytest.mark.parametrize("check_probabilities", [True, False])
def test_fit_reads_the_first_batch_of_a_dataset_once_before_training(check_probabilities):
    """An unbuilt model fed a tf.data dataset builds on, and checks the
    backbone's outputs on, one read of its first batch (a dataset can be an
    expensive pipeline, or a generator that yields other data each pass)."""
    x, labels, _ = _crowd()
    passes = []

    def batches():
        passes.append(True)
        for start in range(0, N, 64):
            yield x[start:start + 64], labels[start:start + 64]

    dataset = tf.data.Dataset.from_generator(
        batches, output_signature=(tf.TensorSpec((None, D), tf.float32),
                                   tf.TensorSpec((None, M), tf.int64)))
    model = CrowdModel(SubclassedNet(), M, check_probabilities=check_probabilities)
    model.compile()
    model.fit(dataset, epochs=2, verbose=0)
    # One pass for the sample, one per epoch.
    assert len(passes) == 1 + 2
    assert model.built


def test_logged_crowd_loss_is_the_mean_over_observed_labels_at_any_batch_size():
    """evaluate's crowd_loss is the objective's mean over all observed labels,
    not a mean of per-batch means (batches with fewer or no labels would count
    as much as full ones)."""
    x, labels, _ = _crowd(seed=3, n=48, missing_rows=range(0, 24, 2))
    labels[:8] = -1  # the first batch of 8 has no label at all
    model = CrowdModel(_sequential(), M)
    model.compile()
    model.fit(x, labels, batch_size=16, epochs=1, verbose=0)
    probabilities = model.predict(x, verbose=0).astype("float64")
    label_probabilities = np.einsum("mkj,nj->nmk", model.confusion_matrices, probabilities)
    rows, annotators = np.nonzero(labels >= 0)
    expected = -np.mean(np.log(label_probabilities[rows, annotators, labels[rows, annotators]]))
    for batch_size in (48, 16, 8, 5):
        logs = model.evaluate(x, labels, batch_size=batch_size, verbose=0, return_dict=True)
        np.testing.assert_allclose(logs["crowd_loss"], expected, rtol=1e-5)
        np.testing.assert_allclose(logs["loss"], logs["crowd_loss"] + logs["regularization"],
                                   rtol=1e-6)


def test_logits_backbone_gets_a_float32_softmax_under_mixed_precision():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(0)
        backbone = keras.Sequential([keras.Input((D,)), keras.layers.Dense(10)])
        model = CrowdModel(backbone, M, from_logits=True)
        x = np.random.default_rng(0).normal(size=(64, D)).astype("float32") * 5
        probabilities = keras.ops.convert_to_numpy(model(x))
        logits = keras.ops.convert_to_numpy(backbone(x)).astype("float64")
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert probabilities.dtype == np.float32
    reference = np.exp(logits - logits.max(1, keepdims=True))
    reference /= reference.sum(1, keepdims=True)
    np.testing.assert_allclose(probabilities, reference, atol=1e-6)


@pytest.mark.parametrize("bad", [K, -1, 1.5])
def test_bad_true_labels_in_a_tf_data_validation_set_fail_loudly(bad):
    # As in numpy validation data: a true label K, -1 or 1.5 was counted as a
    # wrong prediction, lowering val_accuracy silently.
    x, labels, truth = _crowd()
    truth = truth.astype("float32")
    truth[5] = bad
    model = CrowdModel(_sequential(), M)
    model.compile()
    validation = tf.data.Dataset.from_tensor_slices((x, truth)).batch(32)
    message = "True labels must be integers" if bad == 1.5 else r"True labels must be in \[0, K\)"
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        model.evaluate(validation, verbose=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        model.fit(x, labels, epochs=1, verbose=0, validation_data=validation)


def test_labels_of_another_rank_in_tf_data_are_refused_before_training():
    # After a first fit, Keras retraces the train step with relaxed shapes:
    # labels of another rank used to fail inside it with "Cannot take the
    # length of shape with unknown rank".
    x, labels, truth = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile()
    model.fit(x, labels, epochs=1, verbose=0)
    before = model.get_weights()
    true_labels = tf.data.Dataset.from_tensor_slices((x, truth)).batch(32)
    with pytest.raises(ValueError, match="True labels are only accepted as validation data"):
        model.fit(true_labels, epochs=1, verbose=0)
    column_labels = tf.data.Dataset.from_tensor_slices((x, labels[..., None])).batch(32)
    with pytest.raises(ValueError, match=r"shape \(batch, M\).*\(None, 7, 1\)"):
        model.fit(column_labels, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"shape \(batch, M\).*\(None, 7, 1\)"):
        model.evaluate(column_labels, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


class _Batches(keras.utils.PyDataset):
    """Batches of 32 rows of `(x, labels)`."""

    def __init__(self, x, labels, **kwargs):
        super().__init__(**kwargs)
        self.x, self.labels = x, labels

    def __len__(self):
        return len(self.x) // 32

    def __getitem__(self, index):
        rows = slice(32 * index, 32 * (index + 1))
        return self.x[rows], self.labels[rows]


def _generator(x, labels):
    for start in range(0, len(x), 32):
        yield x[start:start + 32], labels[start:start + 32]


@pytest.mark.parametrize("source", [_Batches, _generator])
def test_labels_of_a_py_dataset_or_generator_are_checked(source):
    # They went unchecked: a label K read another annotator's probability
    # (dense product path) and a label -5 was taken as missing, silently.
    x, labels, truth = _crowd()
    model = CrowdModel(SubclassedNet(), M)  # K is known only once built
    model.compile()
    for bad, message in ((K, "only 3 classes"), (-5, "found -5")):
        corrupted = labels.copy()
        corrupted[0, 2] = bad
        with pytest.raises(ValueError, match=message):
            model.fit(source(x, corrupted), epochs=1, verbose=0)
        with pytest.raises(ValueError, match=message):
            model.evaluate(source(x, corrupted), verbose=0)
    bad_truth = np.where(np.arange(N) == 0, K, truth)
    with pytest.raises(ValueError, match="only 3 classes"):
        model.evaluate(source(x, bad_truth), verbose=0)
    # In a later batch: training stops there, as for a tf.data pipeline.
    corrupted = labels.copy()
    corrupted[100, 2] = K
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match="only 3 classes"):
        model.fit(source(x, corrupted), epochs=1, verbose=0)


class _TestBatchCounter(keras.callbacks.Callback):
    def on_test_begin(self, logs=None):
        self.batches = 0

    def on_test_batch_end(self, batch, logs=None):
        self.batches += 1


def test_a_validation_generator_is_evaluated_whole():
    # fit's validation calls evaluate, which took the first batch out of the
    # generator (to build the model): that batch was never evaluated, and
    # val_accuracy was another set's.
    x, labels, truth = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile()
    counter = _TestBatchCounter()
    history = model.fit(x, labels, batch_size=32, epochs=1, verbose=0,
                        validation_data=_generator(x, truth), callbacks=[counter])
    assert counter.batches == len(x) // 32
    expected = model.evaluate(x, truth, batch_size=32, verbose=0, return_dict=True)
    assert history.history["val_accuracy"][0] == pytest.approx(expected["accuracy"])


def test_a_py_dataset_or_generator_trains_like_arrays():
    x, labels, _ = _crowd()
    histories = []
    for source in (_Batches, _generator, None):
        keras.utils.set_random_seed(0)
        model = CrowdModel(_sequential(), M)
        model.compile()
        data = (x, labels) if source is None else (source(x, labels), None)
        histories.append(model.fit(*data, batch_size=32, epochs=1, shuffle=False,
                                   verbose=0).history["loss"])
    np.testing.assert_allclose(histories[0], histories[2], rtol=1e-6)
    np.testing.assert_allclose(histories[1], histories[2], rtol=1e-6)


def test_true_labels_out_of_range_are_not_told_that_minus_one_is_missing():
    # The message offered "-1 for missing", which true labels refuse.
    x, labels, truth = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile()
    with pytest.raises(ValueError, match=r"valid labels are 0\.\.2\)") as error:
        model.evaluate(x, np.where(truth == 1, K, truth), verbose=0)
    assert "-1" not in str(error.value)


def test_class_weight_is_refused_by_name():
    # Keras turned it into sample weights (reading the (N, M) labels as
    # one-hot rows), refused with a message about sample weights only.
    x, labels, _ = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile()
    with pytest.raises(ValueError, match="class_weight"):
        model.fit(x, labels, epochs=1, verbose=0, class_weight={0: 1.0, 1: 2.0, 2: 1.0})


def test_bfloat16_softmax_backbone_is_accepted_and_logits_still_refused():
    # A genuine bfloat16 softmax over 1000 near-uniform classes has rows
    # summing to 1 only within 0.019 here: it was refused as "not
    # probabilities ... End it with a softmax".
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(0)
        x, labels, _ = _crowd()
        small = keras.initializers.RandomNormal(stddev=0.01, seed=0)
        softmax = keras.Sequential([keras.Input((D,)), keras.layers.Dense(
            1000, activation="softmax", kernel_initializer=small)])
        rows = keras.ops.convert_to_numpy(keras.ops.cast(softmax(x), "float32")).sum(1)
        assert np.abs(rows - 1.0).max() > 1e-2
        model = CrowdModel(softmax, M)
        model.compile()
        history = model.fit(x, labels, batch_size=64, epochs=1, verbose=0)
        logits = CrowdModel(keras.Sequential([keras.Input((D,)), keras.layers.Dense(1000)]), M)
        logits.compile()
        with pytest.raises(ValueError, match="from_logits=True"):
            logits.fit(x, labels, batch_size=64, epochs=1, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda x, y: (x, np.where(y == 1, K, y)), "only 3 classes"),
        (lambda x, y: (x, np.where(y == 1, -5, y)), "found -5"),
        (lambda x, y: (x, y.astype("float32") + 0.5), "must be integers"),
        (lambda x, y: (x, y[:, :-1]), "num_annotators=7"),
        (lambda x, y: (np.where(x > 1.5, np.nan, x), y), "NaN or inf"),
    ],
    ids=["class_K", "below_missing", "fractional", "too_few_columns", "nan_features"],
)
@pytest.mark.parametrize("method", ["train_on_batch", "test_on_batch"])
def test_bad_batches_are_refused_by_train_and_test_on_batch(mutate, message, method):
    # They trained (or scored) silently: class K read another annotator's
    # confusion row, -5 counted as missing, 2.5 as class 2; after a first
    # batch, too few columns failed inside the graph (BroadcastGradientArgs).
    x, labels, _ = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile()
    getattr(model, method)(x[:64], labels[:64])
    before = model.get_weights()
    with pytest.raises(ValueError, match=message):
        getattr(model, method)(*mutate(x, labels))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="class_weight"):
        model.train_on_batch(x, labels, class_weight={0: 1.0, 1: 1.0, 2: 1.0})


def test_test_on_batch_takes_true_and_crowd_labels_in_turn():
    # After a batch of true labels, a batch of crowd labels failed with
    # "Cannot take the length of shape with unknown rank".
    x, labels, truth = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile()
    accuracy = model.test_on_batch(x, truth, return_dict=True)["accuracy"]
    crowd_loss = model.test_on_batch(x, labels, return_dict=True)["crowd_loss"]
    model.evaluate(x, truth, verbose=0)
    assert model.test_on_batch(x, labels, return_dict=True)["crowd_loss"] == crowd_loss
    assert model.test_on_batch(x, truth, return_dict=True)["accuracy"] == accuracy
    np.testing.assert_allclose(accuracy, (model.predict(x, verbose=0).argmax(1) == truth).mean())
    np.testing.assert_allclose(
        crowd_loss, model.evaluate(x, labels, batch_size=N, verbose=0, return_dict=True)["crowd_loss"],
        rtol=1e-6)


def test_a_label_dict_with_other_keys_names_the_padded_pair_keys():
    # It failed before training with "Crowd labels must be an integer
    # array; got dtype object".
    from keras_crowd.data import to_padded_pairs

    x, labels, _ = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile()
    pairs = to_padded_pairs(labels, as_dict=True)
    for bad in (dict(pairs, weights=pairs["labels"]), {"ids": pairs["annotator_ids"],
                                                       "labels": pairs["labels"]}):
        with pytest.raises(ValueError, match="exactly the keys 'annotator_ids' and 'labels'"):
            model.fit(x, bad, epochs=1, verbose=0)


def test_padded_pairs_with_an_annotator_twice_on_one_item_are_refused():
    # Both labels used to be trained on, silently, as two labels of one cell.
    from keras_crowd.data import to_padded_pairs

    x, labels, _ = _crowd()
    model = CrowdModel(_sequential(), M)
    model.compile()
    pairs = to_padded_pairs(labels, as_dict=True)
    ids, pair_labels = pairs["annotator_ids"].copy(), pairs["labels"].copy()
    row = int(np.flatnonzero((pair_labels >= 0).sum(axis=1) >= 2)[0])
    slots = np.flatnonzero(pair_labels[row] >= 0)[:2]
    ids[row, slots[1]] = ids[row, slots[0]]
    with pytest.raises(ValueError, match=f"Annotator {ids[row, slots[0]]} has 2 labels "
                                         f"for item {row}"):
        model.fit(x, {"annotator_ids": ids, "labels": pair_labels}, epochs=1, verbose=0)
    # The same pairs without the repeat train.
    model.fit(x, pairs, epochs=1, verbose=0)
