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
