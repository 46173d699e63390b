"""The TF Serving contract of `export_classifier`.

No tensorflow_model_server can be installed here, so this checks what the
server relies on: the `<model>/<version>/` layout, that every op is a core
TensorFlow op (no Python callbacks, no custom ops), and that gRPC and REST
requests built the way clients build them map onto the exported
signature and give `model.predict`'s values back. One test talks to a real
`tensorflow_model_server` when one is on PATH, and is skipped otherwise.
"""

import base64
import importlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_crowd import CrowdModel
from keras_crowd.distribute.multiworker import free_ports
from keras_crowd.serving import grpc_format
from keras_crowd.serving import rest_format
from keras_crowd.serving import saved_model_ops

D, K, M, N = 5, 4, 6, 8
INPUT = "song_features"
MODEL_NAME = "music"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Versions 1 and 2 of one classifier, and model.predict at each export."""
    base = tmp_path_factory.mktemp("models") / MODEL_NAME
    rng = np.random.default_rng(0)
    x_train = rng.normal(size=(64, D)).astype("float32")
    labels = rng.integers(-1, K, size=(64, M))
    keras.utils.set_random_seed(0)
    backbone = keras.Sequential([
        keras.Input((D,), name=INPUT),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(K, activation="softmax"),
    ])
    model = CrowdModel(backbone, M)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    x = rng.normal(size=(N, D)).astype("float32")
    expected = {}
    for version in (1, 2):
        model.fit(x_train, labels, batch_size=16, epochs=1, verbose=0)
        model.export_classifier(base / str(version))
        expected[version] = model.predict(x, verbose=0)
    return {"base": base, "x": x, "expected": expected}


def _signature(exported, version=2):
    loaded = tf.saved_model.load(str(exported["base"] / str(version)))
    return loaded.signatures["serving_default"]


# ---------------------------------------------------------------- layout / ops
def test_versions_sit_side_by_side_in_the_servable_layout(exported):
    base = exported["base"]
    assert sorted(os.listdir(base)) == ["1", "2"]  # no staging leftovers
    for version in ("1", "2"):
        directory = base / version
        assert (directory / "saved_model.pb").is_file()
        variables = sorted(os.listdir(directory / "variables"))
        assert variables == ["variables.data-00000-of-00001", "variables.index"]
    # Two distinct servables: each version answers with its own weights.
    v1, v2 = exported["expected"][1], exported["expected"][2]
    assert np.abs(v1 - v2).max() > 1e-3
    for version in (1, 2):
        served = _signature(exported, version)(**{INPUT: tf.constant(exported["x"])})
        np.testing.assert_allclose(
            served["probabilities"].numpy(), exported["expected"][version], atol=1e-6
        )


def test_every_exported_op_is_a_core_tensorflow_op(exported):
    for version in ("1", "2"):
        ops = saved_model_ops.saved_model_op_names(exported["base"] / version)
        # The walk reaches the function bodies, where the model's math lives.
        assert {"MatMul", "Relu", "Softmax", "ArgMax", "ReadVariableOp"} <= set(ops)
        assert saved_model_ops.unservable_ops(exported["base"] / version) == []
        registered = saved_model_ops.core_op_names()
        assert all(op in registered for op in ops)


def test_python_callback_ops_are_reported(tmp_path):
    """The check fails for a graph a C++-only server cannot run."""

    class WithPythonCallback(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec((None,), tf.float32)])
        def serve(self, x):
            return {"y": tf.py_function(lambda v: v * 2.0, [x], tf.float32)}

    module = WithPythonCallback()
    tf.saved_model.save(module, str(tmp_path / "1"), signatures=module.serve)
    assert "EagerPyFunc" in saved_model_ops.unservable_ops(tmp_path / "1")


# ------------------------------------------------------------------------ gRPC
def test_grpc_predict_request_round_trip_matches_model_predict(exported):
    signature = _signature(exported, 2)
    x = exported["x"]
    # Client side: what a gRPC client puts on the wire.
    request = grpc_format.make_predict_request({INPUT: x}, MODEL_NAME, version=2)
    wire = request.SerializeToString()
    # Server side: parse, run the signature, fill the response.
    inputs = grpc_format.predict_request_to_inputs(wire, signature)
    assert list(inputs) == [INPUT] and inputs[INPUT].dtype == tf.float32
    outputs = signature(**inputs)
    response = grpc_format.outputs_to_predict_response(outputs, MODEL_NAME, 2)
    # Client side again.
    parsed = grpc_format.predict_response_to_outputs(response.SerializeToString())
    assert response.model_spec.name == MODEL_NAME
    assert response.model_spec.version.value == 2
    assert response.model_spec.signature_name == "serving_default"
    assert sorted(parsed) == ["class_id", "probabilities"]
    assert parsed["probabilities"].dtype == np.float32 and parsed["probabilities"].shape == (N, K)
    assert parsed["class_id"].dtype == np.int64 and parsed["class_id"].shape == (N,)
    np.testing.assert_allclose(parsed["probabilities"], exported["expected"][2], atol=1e-6)
    np.testing.assert_array_equal(parsed["class_id"], exported["expected"][2].argmax(1))
    # output_filter returns only what was asked for.
    only = grpc_format.outputs_to_predict_response(outputs, MODEL_NAME, 2, output_filter=["class_id"])
    assert list(only.outputs) == ["class_id"]


@pytest.mark.parametrize(
    "inputs, message",
    [
        ({INPUT: np.zeros((2, D), "float64")}, "float64.*expects float32"),
        ({"features": np.zeros((2, D), "float32")}, "expects exactly"),
        ({INPUT: np.zeros((2, D + 1), "float32")}, "shape"),
    ],
)
def test_grpc_request_errors_are_clear(exported, inputs, message):
    request = grpc_format.make_predict_request(inputs, MODEL_NAME)
    with pytest.raises(ValueError, match=message):
        grpc_format.predict_request_to_inputs(request, _signature(exported))


@pytest.mark.parametrize("version", [0, -1, 2.7, True])
def test_grpc_request_refuses_a_version_that_is_not_a_positive_integer(version):
    # 2.7 used to ask for version 2, 0 and -1 for versions no folder has.
    with pytest.raises(ValueError, match="positive integer"):
        grpc_format.make_predict_request({INPUT: np.zeros((1, D), "float32")}, MODEL_NAME,
                                         version=version)


def test_grpc_request_takes_a_numpy_integer_version():
    request = grpc_format.make_predict_request({INPUT: np.zeros((1, D), "float32")},
                                               MODEL_NAME, version=np.int64(3))
    assert request.model_spec.version.value == 3


def test_grpc_helpers_import_tensorflow_serving_lazily(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_serving", None)
    monkeypatch.setitem(sys.modules, "tensorflow_serving.apis", None)
    module = importlib.reload(grpc_format)  # importing needs no TF Serving
    with pytest.raises(ImportError, match="pip install tensorflow-serving-api --no-deps"):
        module.make_predict_request({INPUT: np.zeros((1, D), "float32")}, MODEL_NAME)


# ------------------------------------------------------------------------ REST
def _rest_bodies(x):
    rows = x.tolist()
    return {
        "row": {"instances": rows},
        "row_named": {"signature_name": "serving_default",
                      "instances": [{INPUT: row} for row in rows]},
        "columnar": {"inputs": rows},
        "columnar_named": {"inputs": {INPUT: rows}},
    }


@pytest.mark.parametrize("layout", ["row", "row_named", "columnar", "columnar_named"])
def test_rest_json_maps_onto_the_signature(exported, layout):
    signature = _signature(exported, 2)
    body = json.dumps(_rest_bodies(exported["x"])[layout])  # as sent over HTTP
    inputs = rest_format.rest_request_to_inputs(body, signature)
    assert list(inputs) == [INPUT]
    np.testing.assert_array_equal(inputs[INPUT].numpy(), exported["x"])
    row_format = layout.startswith("row")
    response = rest_format.outputs_to_rest_response(signature(**inputs), row_format=row_format)
    response = json.loads(json.dumps(response))  # must be valid JSON
    if row_format:
        assert len(response["predictions"]) == N
        assert sorted(response["predictions"][0]) == ["class_id", "probabilities"]
        assert isinstance(response["predictions"][0]["class_id"], int)
    else:
        assert sorted(response["outputs"]) == ["class_id", "probabilities"]
    parsed = rest_format.rest_response_to_outputs(response)
    np.testing.assert_allclose(parsed["probabilities"], exported["expected"][2], atol=1e-6)
    np.testing.assert_array_equal(parsed["class_id"], exported["expected"][2].argmax(1))


def test_rest_multi_input_signature_and_b64_strings():
    specs = {
        "text": tf.TensorSpec((None,), tf.string, name="text"),
        "score": tf.TensorSpec((None, 2), tf.float32, name="score"),
    }
    encoded = base64.b64encode(b"\x00binary").decode()
    rows = {"instances": [{"text": {"b64": encoded}, "score": [1, 2]},
                          {"text": "plain", "score": [3, 4]}]}
    inputs = rest_format.rest_request_to_inputs(rows, specs)
    assert inputs["text"].numpy().tolist() == [b"\x00binary", b"plain"]
    assert inputs["score"].dtype == tf.float32
    np.testing.assert_array_equal(inputs["score"].numpy(), [[1, 2], [3, 4]])
    columns = {"inputs": {"text": ["a", "b"], "score": [[1, 2], [3, 4]]}}
    assert rest_format.rest_request_to_inputs(columns, specs)["text"].shape == (2,)
    with pytest.raises(ValueError, match="each instance must be an object"):
        rest_format.rest_request_to_inputs({"instances": [[1, 2]]}, specs)
    with pytest.raises(ValueError, match="must be an object"):
        rest_format.rest_request_to_inputs({"inputs": [[1, 2]]}, specs)
    single = {"outputs": [1, 2]}
    assert rest_format.outputs_to_rest_response({"y": np.array([1, 2])}, row_format=False) == single
    assert rest_format.outputs_to_rest_response({"y": np.array([1, 2])}) == {"predictions": [1, 2]}


def test_rest_b64_instances_of_a_single_string_input_are_values():
    specs = {"text": tf.TensorSpec((None,), tf.string, name="text")}
    encoded = base64.b64encode(b"\xffhi").decode()
    rows = {"instances": [{"b64": encoded}, "plain", {"b64": encoded}]}
    inputs = rest_format.rest_request_to_inputs(rows, specs)
    assert inputs["text"].numpy().tolist() == [b"\xffhi", b"plain", b"\xffhi"]
    named = {"instances": [{"text": {"b64": encoded}}]}
    assert rest_format.rest_request_to_inputs(named, specs)["text"].numpy().tolist() == [b"\xffhi"]


def test_rest_binary_outputs_are_base64_only_under_a_bytes_name():
    outputs = {"image_bytes": np.array([b"\xff\x00", b"ok"], dtype=object),
               "caption": np.array([b"caf\xc3\xa9", b"ok"], dtype=object)}
    response = rest_format.outputs_to_rest_response(outputs)
    assert response["predictions"][0] == {
        "caption": "café", "image_bytes": {"b64": base64.b64encode(b"\xff\x00").decode()}}
    assert json.loads(json.dumps(response)) == response
    with pytest.raises(ValueError, match="'raw' holds bytes that are not UTF-8.*_bytes"):
        rest_format.outputs_to_rest_response({"raw": np.array([b"\xff\x00"], dtype=object)})


@pytest.mark.parametrize(
    "body, message",
    [
        ({"instances": [[0.0] * D], "inputs": [[0.0] * D]}, "exactly one of"),
        ({"signature_name": "serving_default"}, "exactly one of"),
        ({"instances": []}, "non-empty list"),
        ({"instances": [{"features": [0.0] * D}]}, "expects exactly"),
        ({"instances": [[0.0] * D, [0.0] * (D - 1)]}, "rectangular"),
        ({"instances": [[0.0] * (D + 1)]}, "shape"),
        ({"instances": [["a"] * D]}, "expects float32 numbers"),
        ("not json", "not valid JSON"),
    ],
)
def test_rest_request_errors_are_clear(exported, body, message):
    with pytest.raises(ValueError, match=message):
        rest_format.rest_request_to_inputs(body, _signature(exported))


@pytest.mark.parametrize("dtype, values", [
    (tf.int32, [[1, 2, 2**33]]),   # would wrap around to 0, a real token id
    (tf.uint8, [[-1, 2, 3]]),      # would wrap around to 255
    (tf.int32, [[1.0, 2.0, 3e10]]),
])
def test_rest_integers_outside_the_input_dtype_are_refused(dtype, values):
    specs = {"tokens": tf.TensorSpec((None, 3), dtype, name="tokens")}
    with pytest.raises(ValueError, match=f"'tokens' expects {dtype.name} values in"):
        rest_format.rest_request_to_inputs({"instances": values}, specs)
    inputs = rest_format.rest_request_to_inputs({"instances": [[0, 1, 255]]}, specs)
    assert inputs["tokens"].numpy().tolist() == [[0, 1, 255]]


def test_row_response_needs_one_batch_size():
    with pytest.raises(ValueError, match="same batch size"):
        rest_format.outputs_to_rest_response({"a": np.zeros((2, 3)), "b": np.zeros((3,))})


# ------------------------------------------------------------- real server
MODELS_CONFIG = """model_config_list {{
  config {{
    name: "{name}"
    base_path: "{base}"
    model_platform: "tensorflow"
    model_version_policy {{ specific {{ versions: 1 versions: 2 }} }}
  }}
}}
"""


def _get_json(url, body=None, timeout=5.0):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


def test_real_tensorflow_model_server(exported, tmp_path):
    server = shutil.which("tensorflow_model_server")
    if server is None:
        pytest.skip(
            "tensorflow_model_server is not on PATH (it is not pip-installable "
            "here); see docs/serving.md to run it with docker."
        )
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    config = tmp_path / "models.config"
    config.write_text(MODELS_CONFIG.format(name=MODEL_NAME, base=exported["base"].resolve()))
    grpc_port, rest_port = free_ports(2)
    log = open(tmp_path / "server.log", "w+")
    process = subprocess.Popen(
        [server, f"--port={grpc_port}", f"--rest_api_port={rest_port}",
         f"--model_config_file={config}", "--file_system_poll_wait_seconds=0"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    channel = None
    try:
        rest = f"http://127.0.0.1:{rest_port}/v1/models/{MODEL_NAME}"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"tensorflow_model_server exited:\n{log.read()[-3000:]}")
            try:
                status = _get_json(rest)["model_version_status"]
                states = {int(s["version"]): s["state"] for s in status}
                if states == {1: "AVAILABLE", 2: "AVAILABLE"}:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("tensorflow_model_server did not load versions 1 and 2 in 60 s")
            time.sleep(0.5)
        x = exported["x"]
        for version in (1, 2):
            body = {"instances": x.tolist()} if version == 1 else {"inputs": {INPUT: x.tolist()}}
            answer = _get_json(f"{rest}/versions/{version}:predict", body)
            parsed = rest_format.rest_response_to_outputs(answer)
            np.testing.assert_allclose(parsed["probabilities"], exported["expected"][version], atol=1e-5)
        channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = grpc_format.make_predict_request({INPUT: x}, MODEL_NAME, version=1)
        parsed = grpc_format.predict_response_to_outputs(stub.Predict(request, timeout=10.0))
        np.testing.assert_allclose(parsed["probabilities"], exported["expected"][1], atol=1e-5)
        np.testing.assert_array_equal(parsed["class_id"], exported["expected"][1].argmax(1))
    finally:
        if channel is not None:
            channel.close()
        process.kill()
        process.wait(timeout=30)
        log.close()
