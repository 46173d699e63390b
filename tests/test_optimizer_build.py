"""build_optimizer_before_fit: one trace of the train step, identical training."""

import keras
import numpy as np

from keras_crowd.utils.optimizer_build import build_optimizer_before_fit
from unbuilt_classifier import UnbuiltClassifier


def _classifier():
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(3, activation="softmax")])


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    return x, keras.utils.to_categorical(rng.integers(0, 3, 96), 3)


def _train(prebuild, traces):
    keras.utils.set_random_seed(3)
    model = _classifier()
    model.compile(optimizer=keras.optimizers.Adam(1e-2, weight_decay=1e-4),
                  loss="categorical_crossentropy", steps_per_execution=3)
    if prebuild:
        assert build_optimizer_before_fit(model) is True
    train_step = model.train_step

    def counting_train_step(data):
        traces.append(1)
        return train_step(data)

    model.train_step = counting_train_step
    x, y = _data()
    model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    return model.get_weights() + [v.numpy() for v in model.optimizer.variables]


def test_prebuilt_optimizer_traces_once_and_trains_identically():
    prebuilt_traces, lazy_traces = [], []
    prebuilt = _train(True, prebuilt_traces)
    lazy = _train(False, lazy_traces)
    assert len(prebuilt_traces) == 1
    assert len(lazy_traces) == 2  # Keras's lazy build: a second trace
    assert len(prebuilt) == len(lazy)
    for a, b in zip(prebuilt, lazy):
        np.testing.assert_array_equal(a, b)


def test_nothing_is_built_when_it_cannot_be():
    uncompiled = _classifier()
    assert build_optimizer_before_fit(uncompiled) is False

    model = UnbuiltClassifier()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    assert build_optimizer_before_fit(model) is False
    assert not model.optimizer.built

    built = _classifier()
    built.compile(optimizer="adam", loss="categorical_crossentropy")
    assert build_optimizer_before_fit(built) is True
    assert build_optimizer_before_fit(built) is False  # already built
