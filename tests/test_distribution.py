"""CrowdModel under MirroredStrategy equals single-device training.

Two logical CPUs (tests/conftest.py) stand in for two GPUs. About 90% of
the labels are missing, and the observed ones are spread unevenly: the
first half of each global batch (replica 0) holds most of them. A loss
normalised per replica, or a batch regularizer computed on each replica's
half alone, would make the two runs differ.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_crowd import CrowdModel
from keras_crowd import regularizers
from uneven_crowd import BATCH, D, K, M, N, uneven_crowd


def _make_model(regularizer, warmup_steps=0, common_confusion=False):
    keras.utils.set_random_seed(7)
    backbone = keras.Sequential(
        [
            keras.Input((D,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(K, activation="softmax"),
        ]
    )
    model = CrowdModel(
        backbone, num_annotators=M, regularizer=regularizer,
        confusion_initializer="diagonally_dominant", regularization_warmup_steps=warmup_steps,
        common_confusion=common_confusion,
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    return model


@pytest.fixture(scope="module")
def strategies(mirrored_strategy):
    """A one-device strategy and the session's MirroredStrategy (conftest)."""
    devices = [d.name for d in tf.config.list_logical_devices("CPU")][:2]
    return tf.distribute.OneDeviceStrategy(devices[0]), mirrored_strategy


def _train(strategy, regularizer, x, labels, initial_weights, warmup_steps=0,
           common_confusion=False):
    with strategy.scope():
        model = _make_model(regularizer, warmup_steps, common_confusion)
    model.set_weights(initial_weights)
    model.fit(x, labels, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    return model.get_weights()


REGULARIZERS = {
    "none": lambda: None,
    "geocrowdnet_f": lambda: regularizers.GeoCrowdNetF(0.05),
    "geocrowdnet_w": lambda: regularizers.GeoCrowdNetW(0.05),
    "trace": lambda: regularizers.TraceRegularizer(0.05),
    "geocrowdnet_f_warmup": lambda: regularizers.GeoCrowdNetF(0.05),
    "geocrowdnet_f_common_confusion": lambda: regularizers.GeoCrowdNetF(0.05),
}
WARMUP_STEPS = {"geocrowdnet_f_warmup": 5}
COMMON_CONFUSION = {"geocrowdnet_f_common_confusion"}


@pytest.mark.parametrize("name", sorted(REGULARIZERS))
def test_mirrored_two_replicas_match_one_device(name, strategies):
    x, labels = uneven_crowd()
    observed = labels >= 0
    first = observed[np.arange(N) % BATCH < BATCH // 2].sum()
    second = observed[np.arange(N) % BATCH >= BATCH // 2].sum()
    assert observed.mean() < 0.12 and first > 4 * second

    common = name in COMMON_CONFUSION
    initial = _make_model(REGULARIZERS[name](), common_confusion=common).get_weights()
    one_device, mirrored_strategy = strategies
    warmup = WARMUP_STEPS.get(name, 0)
    single = _train(one_device, REGULARIZERS[name](), x, labels, initial, warmup, common)
    mirrored = _train(mirrored_strategy, REGULARIZERS[name](), x, labels, initial, warmup, common)
    moved = max(np.abs(a - b).max() for a, b in zip(single, initial))
    assert moved > 1e-2, "training must actually change the weights"
    for w_single, w_mirrored in zip(single, mirrored):
        np.testing.assert_allclose(w_mirrored, w_single, atol=1e-5, rtol=0)


def test_per_replica_mean_would_be_caught(monkeypatch, strategies):
    """Mutation check: normalising by each replica's own count is detected."""
    from keras_crowd.utils import distribution

    x, labels = uneven_crowd()
    initial = _make_model(None).get_weights()
    one_device, mirrored_strategy = strategies
    single = _train(one_device, None, x, labels, initial)
    monkeypatch.setattr(distribution, "global_sum", lambda value: value)
    per_replica = _train(mirrored_strategy, None, x, labels, initial)
    gap = max(np.abs(a - b).max() for a, b in zip(single, per_replica))
    assert gap > 1e-3


def test_per_replica_log_det_would_be_caught(monkeypatch, strategies):
    """Mutation check: GeoCrowdNet-F on each replica's half alone is detected."""
    from keras_crowd.utils import distribution

    x, labels = uneven_crowd()
    initial = _make_model(regularizers.GeoCrowdNetF(0.05)).get_weights()
    one_device, mirrored_strategy = strategies
    single = _train(one_device, regularizers.GeoCrowdNetF(0.05), x, labels, initial)
    monkeypatch.setattr(distribution, "gather_global_batch", lambda value: value)
    local = _train(mirrored_strategy, regularizers.GeoCrowdNetF(0.05), x, labels, initial)
    gap = max(np.abs(a - b).max() for a, b in zip(single, local))
    assert gap > 1e-4


@pytest.mark.parametrize("batch_size, num_items", [(BATCH, N), (63, N), (3, 31)])
def test_activity_regularizer_matches_one_device(batch_size, num_items, strategies):
    """A backbone's `add_loss` losses (an activity regularizer, computed on
    each replica's own items, and a weight penalty) count for every replica.

    The replicas of a MirroredStrategy step run in turn and share the
    layers' loss lists; reading them after the loss's cross-replica sums
    gave every replica the last replica's activity loss (the first half's
    gradient was lost: 0.05 off in the weights after 2 epochs).

    Keras divides an activity loss by the replica's own batch size: divided
    by the number of replicas, it was exact only for halves of equal size
    (global batches of 63, and of 3 split 2 + 1, left the weights 5e-4 and
    8e-2 away from one device's).
    """

    def model():
        keras.utils.set_random_seed(7)
        backbone = keras.Sequential([
            keras.Input((D,)),
            keras.layers.Dense(8, activation="tanh",
                               activity_regularizer=keras.regularizers.L2(0.01),
                               kernel_regularizer=keras.regularizers.L2(0.01)),
            keras.layers.Dense(K, activation="softmax"),
        ])
        crowd_model = CrowdModel(backbone, num_annotators=M,
                                 confusion_initializer="diagonally_dominant")
        crowd_model.compile(optimizer=keras.optimizers.Adam(0.05))
        return crowd_model

    x, labels = uneven_crowd()
    x, labels = x[:num_items], labels[:num_items]
    initial = model().get_weights()
    trained, losses = [], []
    for strategy in strategies:
        with strategy.scope():
            crowd_model = model()
        crowd_model.set_weights(initial)
        history = crowd_model.fit(x, labels, batch_size=batch_size, epochs=2, shuffle=False,
                                  verbose=0)
        trained.append(crowd_model.get_weights())
        losses.append(history.history["loss"] + crowd_model.evaluate(
            x, labels, batch_size=batch_size, verbose=0))
    single, mirrored = trained
    assert max(np.abs(a - b).max() for a, b in zip(single, initial)) > 1e-2
    for w_single, w_mirrored in zip(single, mirrored):
        np.testing.assert_allclose(w_mirrored, w_single, atol=1e-5, rtol=0)
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)


def test_global_batch_not_divisible_by_replicas(strategies):
    """A global batch of 63 on 2 replicas (32 and 31 items) trains and
    evaluates as on one device.

    Keras 3.15 averages the replicas' first batches to build the model and
    failed on shares of different sizes ("Inputs to operation AddN ...
    must have the same size and shape"), although CrowdModel is built
    before that and the loss is exact for such batches.
    """
    x, labels = uneven_crowd()
    regularizer = lambda: regularizers.GeoCrowdNetF(0.05)  # noqa: E731
    initial = _make_model(regularizer()).get_weights()
    trained, evaluated = [], []
    for strategy in strategies:
        with strategy.scope():
            model = _make_model(regularizer())
        model.set_weights(initial)
        model.fit(x, labels, batch_size=63, epochs=2, shuffle=False, verbose=0)
        trained.append(model.get_weights())
        evaluated.append(model.evaluate(x, labels, batch_size=63, verbose=0))
    single, mirrored = trained
    assert max(np.abs(a - b).max() for a, b in zip(single, initial)) > 1e-2
    for w_single, w_mirrored in zip(single, mirrored):
        np.testing.assert_allclose(w_mirrored, w_single, atol=1e-5, rtol=0)
    np.testing.assert_allclose(evaluated[1], evaluated[0], rtol=1e-5)


class _SubclassedBackbone(keras.Model):
    """A backbone with no weights until it is first called."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(8, activation="tanh")
        self.out = keras.layers.Dense(K, activation="softmax")

    def call(self, inputs):
        return self.out(self.hidden(inputs))


@pytest.mark.parametrize("check_probabilities", [True, False])
def test_unbuilt_backbone_is_built_in_the_strategy_scope(check_probabilities, strategies):
    """fit builds the model (for its checks) under the model's own strategy."""
    _, mirrored_strategy = strategies
    x, labels = uneven_crowd()
    with mirrored_strategy.scope():
        model = CrowdModel(_SubclassedBackbone(), M, regularizer=regularizers.GeoCrowdNetW(0.05),
                           check_probabilities=check_probabilities)
        model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit(x, labels, batch_size=BATCH, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(isinstance(v.value, tf.distribute.DistributedValues) for v in model.weights)


def test_accuracy_on_true_labels_matches_one_device(strategies):
    """`evaluate` (and `val_accuracy`) with 1-D true labels pools the
    replicas' counts: Keras averaged the replicas' own accuracies, which
    differ from the pooled one when a batch splits unevenly (101 items)."""
    x, _ = uneven_crowd()
    x = x[:101]
    truth = np.random.default_rng(3).integers(0, K, size=101)
    weights = np.random.default_rng(4).random(101).astype("float32")
    initial = _make_model(None).get_weights()
    results = []
    for strategy in strategies:
        with strategy.scope():
            model = _make_model(None)
        model.set_weights(initial)
        results.append([model.evaluate(x, truth, batch_size=BATCH, verbose=0,
                                       return_dict=True)["accuracy"],
                        model.evaluate(x, truth, sample_weight=weights, batch_size=BATCH,
                                       verbose=0, return_dict=True)["accuracy"]])
    predicted = np.argmax(model.backbone(x, training=False), axis=1)
    expected = [np.mean(predicted == truth),
                np.sum(weights * (predicted == truth)) / np.sum(weights)]
    np.testing.assert_allclose(results[0], expected, rtol=1e-6)
    np.testing.assert_allclose(results[1], expected, rtol=1e-6)


def test_batch_normalized_backbone_matches_one_device(strategies):
    """The Music backbone's BatchNormalization, built under a strategy,
    normalises by the statistics of the global batch, as one device does:
    per-replica statistics trained other weights and moving averages that
    differed between replicas (and the export keeps replica 0's)."""
    from keras_crowd.backbones import mlp_classifier

    def model():
        keras.utils.set_random_seed(5)
        crowd_model = CrowdModel(mlp_classifier(D, K, hidden_units=8, dropout=0,
                                                batch_norm=True, seed=5),
                                 num_annotators=M, confusion_initializer="diagonally_dominant")
        crowd_model.compile(optimizer=keras.optimizers.Adam(0.05))
        return crowd_model

    x, labels = uneven_crowd()
    x = x * np.linspace(0.5, 3.0, D, dtype="float32") + 1.0  # statistics worth learning
    trained = []
    for strategy in strategies:
        with strategy.scope():
            crowd_model = model()
        crowd_model.fit(x, labels, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
        trained.append(crowd_model)
    single, mirrored = trained
    for w_single, w_mirrored in zip(single.get_weights(), mirrored.get_weights()):
        np.testing.assert_allclose(w_mirrored, w_single, atol=1e-5, rtol=1e-5)
    moving = [v for v in mirrored.backbone.weights if "moving" in v.path]
    assert moving
    for variable in moving:  # every replica holds the same statistics
        values = [value.numpy() for value in variable.value.values]  # a MirroredVariable
        assert len(values) == 2
        np.testing.assert_allclose(values[1], values[0], atol=1e-6)


def test_several_steps_per_execution_under_replicas_is_refused_clearly(strategies):
    """Keras 3.15 fails on the first step with "You must feed a value for
    placeholder tensor" when a multi-replica fit (or a CrowdModel evaluate,
    whose step sums over replicas) runs several steps per call; that is
    refused with a message naming `steps_per_execution`, and `predict`,
    which works, is left alone."""
    from keras_crowd.training import train_crowd_classifier

    _, mirrored_strategy = strategies
    x, labels = uneven_crowd()
    with mirrored_strategy.scope():
        model = _make_model(None)
        model.compile(optimizer=keras.optimizers.Adam(0.05), steps_per_execution=2)
    for run in (lambda: model.fit(x, labels, batch_size=BATCH, epochs=1, verbose=0),
                lambda: model.evaluate(x, labels, batch_size=BATCH, verbose=0)):
        with pytest.raises(ValueError, match="steps_per_execution=2 .* 2 replicas"):
            run()
    assert model.predict(x, batch_size=BATCH, verbose=0).shape == (N, K)

    def backbone(seed):
        keras.utils.set_random_seed(seed)
        return keras.Sequential([keras.Input((D,)), keras.layers.Dense(K, activation="softmax")])

    for method in ("ccem", "dl-mv"):  # a CrowdModel, and a plain Keras classifier
        with pytest.raises(ValueError, match="steps_per_execution=2 .* 2 replicas"):
            train_crowd_classifier(x, labels, K, backbone, method=method, epochs=1,
                                   batch_size=BATCH, strategy=mirrored_strategy,
                                   steps_per_execution=2, selection="last")


def test_gradient_clipping_under_replicas_warns_that_it_is_not_exact(strategies):
    """Keras clips each replica's gradient before the all-reduce: with
    clipping, two replicas do not train as one device, and fit says so."""
    import warnings

    x, labels = uneven_crowd()
    weights = {}
    for name, strategy in zip(("one device", "mirrored"), strategies):
        for clip in ({}, {"clipnorm": 0.005}):
            with strategy.scope():
                model = _make_model(None)
                model.compile(optimizer=keras.optimizers.Adam(0.05, **clip))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.fit(x, labels, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
            warned = [w for w in caught if "clips gradients" in str(w.message)]
            assert len(warned) == (1 if clip and name == "mirrored" else 0), name
            if warned:
                assert "clipnorm=0.005" in str(warned[0].message)
            weights[name, bool(clip)] = np.concatenate(
                [w.ravel() for w in model.get_weights()])
    np.testing.assert_allclose(weights["mirrored", False], weights["one device", False],
                               atol=1e-5)
    assert np.abs(weights["mirrored", True] - weights["one device", True]).max() > 1e-3


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "lazy_adam"])
def test_padded_pairs_train_like_dense_labels_on_one_and_two_replicas(optimizer, strategies):
    """The sparse gradient of padded pairs lists an annotator once per label;
    Keras's Adam and RMSprop square each entry before adding them up (so
    padded pairs trained differently from dense labels, by 5e-2), and the
    replicas' all-reduce concatenates their entries again."""
    from keras_crowd.data import to_padded_pairs
    from keras_crowd.optimizers import LazyAdam

    x, labels = uneven_crowd()
    pairs = to_padded_pairs(labels, as_dict=True)
    optimizers = {"adam": lambda: keras.optimizers.Adam(0.05),
                  "rmsprop": lambda: keras.optimizers.RMSprop(0.05),
                  "lazy_adam": lambda: LazyAdam(0.05)}
    initial = _make_model(None).get_weights()

    def train(strategy, y):
        with strategy.scope():
            model = _make_model(None)
            model.compile(optimizer=optimizers[optimizer]())
        model.set_weights(initial)
        model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
        return model.get_weights()

    one_device, mirrored_strategy = strategies
    dense = train(one_device, labels)
    assert max(np.abs(a - b).max() for a, b in zip(dense, initial)) > 1e-2
    for strategy in (one_device, mirrored_strategy):
        for w_pairs, w_dense in zip(train(strategy, pairs), dense):
            np.testing.assert_allclose(w_pairs, w_dense, atol=1e-5, rtol=0)
