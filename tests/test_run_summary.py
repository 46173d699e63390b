"""RunSummary: one line per fit, with the best monitored score."""

import keras
import numpy as np
import pytest

from keras_crowd import CrowdModel
from keras_crowd import regularizers
from keras_crowd.backbones import mlp_classifier
from keras_crowd.callbacks import RunSummary
from keras_crowd.callbacks.run_summary import describe_model
from keras_crowd.selection import HeldOutCrowdLikelihood
from keras_crowd.selection import split_observed_labels

K, M, N = 3, 4, 96


def noisy_crowd(seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, K, N)
    x = np.eye(K)[truth] + 0.5 * rng.normal(size=(N, K))
    noisy = np.where(rng.random((N, M)) < 0.7, truth[:, None], rng.integers(0, K, (N, M)))
    return x.astype("float32"), noisy.astype("int32")


def crowd_model(strength):
    keras.utils.set_random_seed(0)
    regularizer = regularizers.GeoCrowdNetF(strength) if strength else None
    model = CrowdModel(mlp_classifier(K, K, hidden_units=8, seed=0), M, regularizer=regularizer)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    return model


def test_one_line_per_fit_with_the_selectors_best_epoch_and_score():
    x, labels = noisy_crowd()
    train, heldout = split_observed_labels(labels, 0.2, seed=0)
    lines = []
    summary = RunSummary(print_fn=lines.append)
    selectors = []
    for strength in (0.0, 0.1):
        selector = HeldOutCrowdLikelihood(x, heldout)
        selectors.append(selector)
        crowd_model(strength).fit(x, train, epochs=6, batch_size=32, verbose=0,
                                  callbacks=[selector, summary])
    assert len(lines) == 2 and summary.fits_ended == 2
    assert lines[0].startswith("fit 1: CrowdModel, no regularizer, 6 epochs, ")
    assert lines[1].startswith("fit 2: CrowdModel, GeoCrowdNetF(strength=0.1), 6 epochs, ")
    for line, selector in zip(lines, selectors):
        assert (f"best heldout_crowd_nll {selector.best_score:.4f} "
                f"at epoch {selector.best_epoch}," in line), line
        assert line.endswith(" s")


def test_without_the_monitored_key_it_reports_the_last_loss():
    x, labels = noisy_crowd(1)
    lines = []
    history = crowd_model(0.0).fit(x, labels, epochs=3, batch_size=32, verbose=0,
                                   callbacks=[RunSummary(print_fn=lines.append)])
    assert lines == [lines[0]] and f"last loss {history.history['loss'][-1]:.4f}" in lines[0]
    assert "3 epochs" in lines[0]


def test_describes_plain_models_by_class_name():
    assert describe_model(mlp_classifier(K, K, hidden_units=4)) == "Sequential"
    assert describe_model(None) == "no model"


def test_config_round_trip():
    callback = RunSummary("val_loss", mode="max")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(callback))
    assert isinstance(restored, RunSummary) and restored.monitor == "val_loss"
    assert restored.mode == "max"


@pytest.mark.parametrize("monitor, mode, best", [
    ("val_accuracy", "auto", "best val_accuracy 0.8000 at epoch 2"),   # an accuracy: highest
    ("val_auc", "auto", "best val_auc 0.8000 at epoch 2"),
    ("val_loss", "auto", "best val_loss 0.5000 at epoch 1"),           # a loss: lowest
    ("val_accuracy", "min", "best val_accuracy 0.5000 at epoch 1"),
    ("val_loss", "max", "best val_loss 0.8000 at epoch 2"),
])
def test_best_is_the_highest_accuracy_and_the_lowest_loss(monitor, mode, best):
    lines = []
    summary = RunSummary(monitor, mode=mode, print_fn=lines.append)
    summary.set_model(None)
    summary.on_train_begin()
    for epoch, value in enumerate([0.5, 0.8, 0.6]):
        summary.on_epoch_end(epoch, {monitor: value})
    summary.on_train_end()
    assert best in lines[0], lines


def test_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="mode must be one of"):
        RunSummary(mode="lowest")


def test_describe_after_the_fit_reports_the_fits_duration(monkeypatch):
    """`describe()` is the line of the fit that ended last: its time is that
    fit's, not the time since it started (which grew after the fit)."""
    from keras_crowd.callbacks import run_summary

    clock = iter([100.0, 103.0])
    monkeypatch.setattr(run_summary.time, "perf_counter", lambda: next(clock))
    summary = RunSummary(print_fn=lambda line: None)  # __init__ reads 100.0
    summary.on_train_end()                              # the fit ends at 103.0
    monkeypatch.setattr(run_summary.time, "perf_counter", lambda: 500.0)
    assert summary.describe().endswith(", 3.0 s")
