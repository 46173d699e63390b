"""export_classifier: a SavedModel of f alone, loadable without keras_crowd."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_crowd import ClassifierEnsemble
from keras_crowd import CrowdModel
from keras_crowd import regularizers
from unbuilt_classifier import UnbuiltClassifier

D, K, M = 5, 4, 6


def _trained_model(backbone=None, **kwargs):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, D)).astype("float32")
    labels = rng.integers(-1, K, size=(64, M))
    keras.utils.set_random_seed(0)
    backbone = backbone or keras.Sequential(
        [keras.Input((D,), name="song_features"), keras.layers.Dense(8, activation="relu"),
         keras.layers.Dense(K, activation="softmax")]
    )
    model = CrowdModel(backbone, M, regularizer=regularizers.GeoCrowdNetW(1e-2), **kwargs)
    model.compile()
    model.fit(x, labels, batch_size=16, epochs=1, verbose=0)
    return model, x


FRESH_PROCESS = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    path, input_name = sys.argv[1], sys.argv[2]
    x = np.load(sys.argv[3])
    loaded = tf.saved_model.load(path)
    signature = loaded.signatures["serving_default"]
    outputs = signature(**{input_name: tf.constant(x)})
    print(json.dumps({
        "keras_crowd_imported": any(m.startswith("keras_crowd") for m in sys.modules),
        "inputs": {k: [v.dtype.name, v.shape.as_list()]
                   for k, v in signature.structured_input_signature[1].items()},
        "outputs": sorted(outputs),
        "probabilities": outputs["probabilities"].numpy().tolist(),
        "class_id": outputs["class_id"].numpy().tolist(),
    }))
    """
)


def saved_variable_shapes(path):
    """The sorted shapes of the variables a SavedModel holds."""
    checkpoint = os.path.join(path, "variables", "variables")
    return sorted(shape for name, shape in tf.train.list_variables(checkpoint)
                  if name.startswith("variables/"))


def variable_shapes(*models):
    return sorted(list(v.shape) for model in models for v in model.variables)


def test_export_loads_in_fresh_process_without_keras_crowd(tmp_path):
    model, x = _trained_model()
    path = model.export_classifier(tmp_path / "music" / "1")
    assert sorted(os.listdir(path)) == ["assets", "fingerprint.pb", "saved_model.pb", "variables"]
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(path), "song_features", str(tmp_path / "x.npy")],
        capture_output=True, text=True, timeout=120, check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["keras_crowd_imported"] is False
    assert served["inputs"] == {"song_features": ["float32", [None, D]]}
    assert served["outputs"] == ["class_id", "probabilities"]
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(np.array(served["probabilities"]), expected, atol=1e-6)
    np.testing.assert_array_equal(served["class_id"], expected.argmax(1))


def test_saved_model_cli_shows_only_the_classifier(tmp_path):
    cli = shutil.which("saved_model_cli")
    if cli is None:
        pytest.fail("saved_model_cli is installed with tensorflow and must be on PATH")
    model, _ = _trained_model()
    path = model.export_classifier(tmp_path / "m" / "3")
    shown = subprocess.run(
        [cli, "show", "--dir", str(path), "--all"], capture_output=True, text=True,
        timeout=120, check=True,
    ).stdout
    assert "signature_def['serving_default']" in shown
    assert "inputs['song_features']" in shown
    assert "outputs['probabilities']" in shown and "outputs['class_id']" in shown
    assert "tensorflow/serving/predict" in shown
    # f alone: the backbone's variables and no others (no (M, K, K) confusions).
    assert saved_variable_shapes(path) == variable_shapes(model.backbone)


def test_subclassed_backbone_and_logits_export(tmp_path):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(K)

        def call(self, inputs):
            return self.dense(inputs)

    model, x = _trained_model(backbone=Net(), from_logits=True)
    path = model.export_classifier(tmp_path / "sub" / "1")
    signature = tf.saved_model.load(path).signatures["serving_default"]
    outputs = signature(inputs=tf.constant(x))
    np.testing.assert_allclose(outputs["probabilities"].numpy(), model.predict(x, verbose=0), atol=1e-6)


def test_export_refuses_unversioned_or_existing_paths(tmp_path):
    model, _ = _trained_model()
    with pytest.raises(ValueError, match="version directory numbered from 1"):
        model.export_classifier(tmp_path / "music")
    # TF Serving would read a "0" folder, but versions here count from 1:
    # the message says so (it called 0 not numeric).
    with pytest.raises(ValueError, match="version directory numbered from 1"):
        model.export_classifier(tmp_path / "music" / "0")
    model.export_classifier(tmp_path / "music" / "1")
    with pytest.raises(FileExistsError, match="overwrite"):
        model.export_classifier(tmp_path / "music" / "1")
    model.export_classifier(tmp_path / "music" / "1", overwrite=True)
    model.export_classifier(tmp_path / "music" / "2")
    assert sorted(os.listdir(tmp_path / "music")) == ["1", "2"]


def assert_serves_like(path, model, x):
    """The SavedModel at `path` answers `model.predict(x)` for the features `x`."""
    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    (name, spec), = signature.structured_input_signature[1].items()
    served = signature(**{name: tf.constant(x, spec.dtype)})["probabilities"].numpy()
    np.testing.assert_allclose(served, model.predict(x, verbose=0), atol=1e-6)


def _signature_inputs(path):
    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    return {name: (spec.dtype.name, spec.shape.as_list())
            for name, spec in signature.structured_input_signature[1].items()}


def test_a_fixed_batch_size_is_not_exported(tmp_path):
    backbone = keras.Sequential([keras.Input((D,), batch_size=16, name="song_features"),
                                 keras.layers.Dense(K, activation="softmax")])
    model, x = _trained_model(backbone=backbone)
    path = model.export_classifier(tmp_path / "music" / "1")
    assert _signature_inputs(path) == {"song_features": ("float32", [None, D])}
    assert_serves_like(path, model, x[:3])


def test_an_unnamed_input_keeps_its_name_across_a_keras_reload(tmp_path):
    from keras_crowd.cli import saved_models

    keras.Input((D,))  # the automatic tensor and layer numbers then differ
    inputs = keras.Input((D,))
    backbone = keras.Model(inputs, keras.layers.Dense(K, activation="softmax")(inputs))
    model, x = _trained_model(backbone=backbone)
    in_memory = _signature_inputs(model.export_classifier(tmp_path / "music" / "1"))
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    after_reload = _signature_inputs(saved_models.export_model(reloaded, tmp_path / "music" / "2"))
    plain = _signature_inputs(
        saved_models.export_model(reloaded.backbone, tmp_path / "music" / "3"))
    assert in_memory == after_reload == plain
    (name, spec), = in_memory.items()
    assert not name.startswith("keras_tensor") and spec == ("float32", [None, D])


def test_overwrite_keeps_the_old_version_if_the_new_one_fails(tmp_path, monkeypatch):
    from keras_crowd.export import classifier_export

    model, x = _trained_model()
    path = str(tmp_path / "music" / "1")
    model.export_classifier(path)
    old_weights = [w.copy() for w in model.backbone.get_weights()]
    model.backbone.set_weights([w + 1.0 for w in old_weights])
    rename = os.replace

    def failing_rename(source, target):
        if target == path and os.path.basename(source) == "model":  # the new version
            raise OSError("disk gone")
        rename(source, target)

    monkeypatch.setattr(classifier_export.os, "replace", failing_rename)
    with pytest.raises(OSError, match="disk gone"):
        model.export_classifier(path, overwrite=True)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path / "music")) == ["1"]
    model.backbone.set_weights(old_weights)
    assert_serves_like(path, model, x)


class SubclassedNet(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(K, activation="softmax")

    def call(self, inputs):
        return self.dense(inputs)


@pytest.mark.parametrize("make_model", [
    lambda: CrowdModel(SubclassedNet(), M),
    lambda: ClassifierEnsemble([SubclassedNet(), SubclassedNet()]),
], ids=["crowd_model", "ensemble"])
def test_an_unbuilt_model_is_built_from_the_given_signature(tmp_path, make_model):
    model = make_model()
    spec = tf.TensorSpec((None, D), tf.float32, name="features")
    path = model.export_classifier(tmp_path / "m" / "1", input_signature=spec)
    x = np.random.default_rng(0).normal(size=(4, D)).astype("float32")
    assert_serves_like(path, model, x)


@keras.saving.register_keras_serializable(package="keras_crowd_tests")
class TokenNet(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embedding = keras.layers.Embedding(50, 4)
        self.pool = keras.layers.GlobalAveragePooling1D()
        self.dense = keras.layers.Dense(K, activation="softmax")

    def call(self, tokens):
        return self.dense(self.pool(self.embedding(tokens)))


def test_a_subclassed_backbone_is_served_with_the_dtype_it_was_fitted_on(tmp_path):
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 50, size=(32, 7)).astype("int32")
    model = CrowdModel(TokenNet(), M)
    model.compile()
    model.fit(tokens, rng.integers(-1, K, size=(32, M)), epochs=1, verbose=0)
    path = model.export_classifier(tmp_path / "tokens" / "1")
    assert _signature_inputs(path) == {"inputs": ("int32", [None, 7])}
    assert_serves_like(path, model, tokens)
    # ... also after a .keras round trip (build sees shapes only).
    model.save(tmp_path / "tokens.keras")
    reloaded = keras.saving.load_model(tmp_path / "tokens.keras")
    path = reloaded.export_classifier(tmp_path / "reloaded" / "1")
    assert _signature_inputs(path) == {"inputs": ("int32", [None, 7])}
    assert_serves_like(path, reloaded, tokens)
    # Float features are served as floatx, as fit feeds them.
    floats = CrowdModel(SubclassedNet(), M)
    floats.compile()
    floats.fit(rng.normal(size=(32, D)), rng.integers(-1, K, size=(32, M)), epochs=1, verbose=0)
    assert _signature_inputs(floats.export_classifier(tmp_path / "floats" / "1")) == {
        "inputs": ("float32", [None, D])}


@pytest.mark.parametrize("wrap", ["crowd_model", "ensemble"])
def test_logits_are_served_through_a_float32_softmax_under_mixed_precision(tmp_path, wrap):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(0)
        backbone = keras.Sequential([keras.Input((D,), name="features"), keras.layers.Dense(K)])
        model = CrowdModel(backbone, M, from_logits=True)
        if wrap == "ensemble":
            model = ClassifierEnsemble([model])
        x = np.random.default_rng(0).normal(size=(32, D)).astype("float32") * 5
        logits = keras.ops.convert_to_numpy(backbone(x)).astype("float64")
        model.export_classifier(tmp_path / "m" / "1")
    finally:
        keras.mixed_precision.set_global_policy(previous)
    served = tf.saved_model.load(str(tmp_path / "m" / "1")).signatures["serving_default"]
    probabilities = served(features=tf.constant(x))["probabilities"].numpy()
    reference = np.exp(logits - logits.max(1, keepdims=True))
    reference /= reference.sum(1, keepdims=True)
    np.testing.assert_allclose(probabilities, reference, atol=1e-6)


@pytest.mark.parametrize("build", ["predict", "call"])
def test_a_model_built_by_a_call_is_served_with_the_dtype_it_was_called_on(tmp_path, build):
    tokens = np.random.default_rng(0).integers(0, 50, size=(8, 7)).astype("int32")
    model = CrowdModel(TokenNet(), M)
    if build == "predict":
        model.predict(tokens, verbose=0)
    else:
        model(tokens)
    path = model.export_classifier(tmp_path / "tokens" / "1")
    assert _signature_inputs(path) == {"inputs": ("int32", [None, 7])}
    assert_serves_like(path, model, tokens)


def test_a_sequential_built_by_fit_keeps_its_input_name_across_a_keras_reload(tmp_path):
    backbone = keras.Sequential([keras.layers.Dense(K, activation="softmax")])  # no Input
    model, x = _trained_model(backbone=backbone)
    in_memory = _signature_inputs(model.export_classifier(tmp_path / "music" / "1"))
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    path = reloaded.export_classifier(tmp_path / "music" / "2")
    assert _signature_inputs(path) == in_memory == {"inputs": ("float32", [None, D])}
    assert_serves_like(path, model, x)


@pytest.mark.parametrize("name, served_as", [
    ("song features", "song_features"), ("song-features", "song_features"), ("3d", "arg_3d"),
    ("class", "class_"), ("None", "None_"),
])
def test_an_input_name_that_is_not_an_identifier_is_served_sanitized(tmp_path, name, served_as):
    inputs = keras.Input((D,), name=name)
    backbone = keras.Model(inputs, keras.layers.Dense(K, activation="softmax")(inputs))
    model = CrowdModel(backbone, M)
    path = model.export_classifier(tmp_path / "m" / "1")
    assert _signature_inputs(path) == {served_as: ("float32", [None, D])}
    assert_serves_like(path, model, np.ones((2, D), "float32"))


@pytest.mark.parametrize("version", ["\u00b2", "\u0661"])  # superscript two, Arabic-Indic one
def test_a_version_must_be_ascii_digits(tmp_path, version):
    from keras_crowd.export import export_classifier

    with pytest.raises(ValueError, match="version directory numbered from 1"):
        export_classifier(None, tmp_path / "m" / version, None)
    assert not (tmp_path / "m").exists()


def test_a_version_with_leading_zeros_is_refused(tmp_path):
    from keras_crowd.export import export_classifier

    with pytest.raises(ValueError, match="without leading zeros"):
        export_classifier(None, tmp_path / "m" / "01", None)
    assert not (tmp_path / "m").exists()


def test_existing_versions_are_the_folders_tf_serving_reads_as_versions(tmp_path):
    from keras_crowd.cli.models import existing_versions

    for name in ("1", "07", "\u00b2", "\u0661", "draft"):
        (tmp_path / name).mkdir()
    assert existing_versions(tmp_path) == [1, 7]


def test_a_saved_model_with_an_integer_input_refuses_fractional_or_out_of_range_features(
        tmp_path):
    from keras_crowd.cli.models import SavedModelClassifier

    tokens = np.random.default_rng(0).integers(0, 50, size=(8, 7)).astype("int32")
    model = CrowdModel(TokenNet(), M)
    model(tokens)
    classifier = SavedModelClassifier(model.export_classifier(tmp_path / "tokens" / "1"))
    np.testing.assert_allclose(classifier.predict(tokens.astype("float64")),
                               model.backbone(tokens, training=False), atol=1e-6)
    with pytest.raises(ValueError, match="non-integer"):
        classifier.predict(tokens + 0.5)
    with pytest.raises(ValueError, match="expects int32 values in"):
        classifier.predict(np.full((2, 7), 2.0**40))


def test_export_classifier_reads_the_input_signature_from_the_classifier(tmp_path):
    # It failed with Keras's "Unsupported x=None" nine frames deep.
    from keras_crowd.export import export_classifier

    classifier = keras.Sequential([keras.Input((D,), name="features"),
                                   keras.layers.Dense(3, activation="softmax")])
    path = export_classifier(classifier, tmp_path / "m" / "1")
    assert_serves_like(path, classifier, np.ones((2, D), "float32"))

    with pytest.raises(ValueError, match="pass input_signature"):
        export_classifier(UnbuiltClassifier(), tmp_path / "m" / "2")
