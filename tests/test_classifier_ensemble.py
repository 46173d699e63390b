"""ClassifierEnsemble: averaged probabilities, .keras round trip, one SavedModel."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_crowd import ClassifierEnsemble
from keras_crowd import CrowdModel
from keras_crowd import backbones
from test_export import FRESH_PROCESS
from test_export import saved_variable_shapes
from test_export import variable_shapes


def _members(count=3, input_dim=6, num_classes=4):
    return [backbones.mlp_classifier(input_dim, num_classes, hidden_units=8, seed=seed)
            for seed in range(count)]


def _features(rows=7, input_dim=6):
    return np.random.default_rng(1).normal(size=(rows, input_dim)).astype("float32")


def test_predicts_the_mean_of_its_members_probabilities():
    members = _members()
    ensemble = ClassifierEnsemble(members)
    x = _features()
    expected = np.mean([m.predict(x, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), expected, atol=1e-6)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0).sum(axis=1), 1.0, atol=1e-5)
    assert ensemble.ensemble_size == 3
    # The members differ, so the mean is not any one of them.
    assert not np.allclose(members[0].predict(x, verbose=0), expected, atol=1e-3)


class _TwoInputClassifier(keras.Model):
    """A subclassed classifier of named inputs, unbuilt until called."""

    def __init__(self, seed):
        super().__init__()
        self.dense = keras.layers.Dense(4, activation="softmax",
                                        kernel_initializer=keras.initializers.GlorotUniform(seed))

    def call(self, inputs):
        return self.dense(keras.ops.concatenate([inputs["a"], inputs["b"]], axis=-1))


def test_builds_unbuilt_members_of_named_inputs():
    """build() with a dict of shapes used to fail: `unhashable type: 'slice'`."""
    members = [_TwoInputClassifier(seed) for seed in range(2)]
    ensemble = ClassifierEnsemble(members)
    ensemble.build({"a": (None, 3), "b": (None, 2)})
    assert ensemble.built and all(member.built for member in members)
    rng = np.random.default_rng(0)
    x = {"a": rng.normal(size=(5, 3)).astype("float32"),
         "b": rng.normal(size=(5, 2)).astype("float32")}
    expected = np.mean([keras.ops.convert_to_numpy(member(x)) for member in members], axis=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ensemble(x)), expected, atol=1e-6)


def test_keras_file_round_trip_in_safe_mode(tmp_path):
    ensemble = ClassifierEnsemble(_members(), name="ensemble_of_3")
    x = _features()
    path = tmp_path / "ensemble.keras"
    ensemble.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, ClassifierEnsemble) and loaded.ensemble_size == 3
    np.testing.assert_allclose(loaded.predict(x, verbose=0), ensemble.predict(x, verbose=0),
                               atol=1e-6)


def test_exports_one_saved_model_served_without_keras_crowd(tmp_path):
    ensemble = ClassifierEnsemble(_members())
    x = _features()
    path = ensemble.export_classifier(tmp_path / "ensemble" / "1")
    np.save(tmp_path / "x.npy", x)
    run = subprocess.run([sys.executable, "-c", FRESH_PROCESS, path, "features",
                          str(tmp_path / "x.npy")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    served = json.loads(run.stdout.strip().splitlines()[-1])
    assert served["keras_crowd_imported"] is False
    assert served["inputs"] == {"features": ["float32", [None, 6]]}
    np.testing.assert_allclose(served["probabilities"], ensemble.predict(x, verbose=0),
                               atol=1e-6)
    with pytest.raises(FileExistsError):
        ensemble.export_classifier(tmp_path / "ensemble" / "1")


def test_exports_only_the_classifiers_of_crowd_model_members(tmp_path):
    x = _features(rows=32)
    labels = np.random.default_rng(2).integers(-1, 4, size=(32, 3))
    members = []
    for from_logits in (True, False):
        keras.utils.set_random_seed(int(from_logits))
        backbone = keras.Sequential([
            keras.Input((6,), name="features"), keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(4, activation=None if from_logits else "softmax")])
        member = CrowdModel(backbone, num_annotators=3, from_logits=from_logits)
        member.compile()
        member.fit(x, labels, epochs=1, verbose=0)
        members.append(member)
    ensemble = ClassifierEnsemble(members)
    path = ensemble.export_classifier(tmp_path / "ensemble" / "1")
    assert saved_variable_shapes(path) == variable_shapes(*(m.backbone for m in members))
    np.save(tmp_path / "x.npy", x)
    run = subprocess.run([sys.executable, "-c", FRESH_PROCESS, path, "features",
                          str(tmp_path / "x.npy")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    served = json.loads(run.stdout.strip().splitlines()[-1])
    assert served["inputs"] == {"features": ["float32", [None, 6]]}
    np.testing.assert_allclose(served["probabilities"], ensemble.predict(x, verbose=0),
                               atol=1e-6)


@pytest.mark.parametrize("members, message", [
    ([], "at least one member"),
    (["not a model"], "keras.Model"),
])
def test_refuses_bad_members(members, message):
    with pytest.raises(ValueError, match=message):
        ClassifierEnsemble(members)


def test_members_with_different_classes_are_refused():
    ensemble = ClassifierEnsemble(_members(1) + _members(1, num_classes=5))
    with pytest.raises(ValueError, match="same K"):
        ensemble.predict(_features(), verbose=0)
