"""Serve the denoised classifier with TF Serving: export, docker, REST and gRPC clients.

What it shows, end to end:

1. Train on the bundled Music crowd and export the classifier `f` alone
   (no confusion matrices) as a SavedModel, ``<base>/<model>/<version>``:
   `model.export_classifier("saved_models/music/1")`, or
   ``keras-crowd export runs/music/model.keras``. Its signature
   ``serving_default`` takes ``features`` (float32, (-1, 124)) and returns
   ``probabilities`` (float32, (-1, 10)) and ``class_id`` (int64, (-1,)).

2. Serve it with TF Serving's docker image (REST on 8501, gRPC on 8500)::

       docker run --rm -p 8500:8500 -p 8501:8501 \\
         --mount type=bind,source=$PWD/saved_models,target=/models \\
         -t tensorflow/serving --model_config_file=/models/models.config

   with ``saved_models/models.config`` (one ``config`` block per model;
   TF Serving serves the highest version under ``base_path`` and picks up
   new versions as they appear)::

       model_config_list {
         config {
           name: "music"
           base_path: "/models/music"
           model_platform: "tensorflow"
         }
       }

   For a single model, ``--mount ...source=$PWD/saved_models/music,
   target=/models/music -e MODEL_NAME=music`` needs no config file.

3. Query it:
   - REST: ``POST http://localhost:8501/v1/models/music:predict`` with the
     body ``{"instances": [[f_1, ..., f_124], ...]}``; the answer is
     ``{"predictions": [{"probabilities": [...], "class_id": 3}, ...]}``.
   - gRPC: a ``tensorflow_serving.apis.predict_pb2.PredictRequest`` with
     ``model_spec.name = "music"``, ``model_spec.signature_name =
     "serving_default"`` and ``inputs["features"]`` a TensorProto, sent
     with ``PredictionServiceStub(grpc.insecure_channel("localhost:8500"))
     .Predict(request, timeout)``.

No server runs here, so by default (and with ``--quick``) the script
builds both requests exactly as above and answers them locally the way TF
Serving does: decode the request, run the exported ``serving_default``
signature of the loaded SavedModel, encode the response (the conversions
are `keras_crowd.serving`'s: `rest_request_to_inputs`,
`outputs_to_rest_response`, and `keras_crowd.serving.grpc_format`'s
`make_predict_request`, `predict_request_to_inputs`,
`outputs_to_predict_response`). It then checks
both answers equal the Keras model's own predictions. With
``--rest-url http://HOST:8501`` and/or ``--grpc-target HOST:8500`` it sends
them to a real server instead (gRPC needs the ``tensorflow-serving-api``
package, with ``--no-deps`` beside ``tensorflow-cpu``).

Time on 2 CPU cores (measured): 6 s by default (20 epochs), 6 s with
``--quick`` (1 epoch).

Usage:
    python examples/serving.py [--quick] [--epochs E] [--export-dir DIR] [--rest-url URL]
                               [--grpc-target HOST:PORT]
"""

import argparse
import json
import os
import pathlib
import tempfile
import time
import urllib.request

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_crowd import backbones  # noqa: E402
from keras_crowd import datasets  # noqa: E402
from keras_crowd import serving  # noqa: E402
from keras_crowd.cli.saved_models import next_free_version  # noqa: E402
from keras_crowd.serving import grpc_format  # noqa: E402
from keras_crowd.training import train_crowd_classifier  # noqa: E402
from keras_crowd.utils.arguments import positive_integer_option  # noqa: E402

MODEL_NAME = "music"
SIGNATURE = "serving_default"
NUM_INSTANCES = 4


# ------------------------------------------------------------------ clients
def rest_request_body(features):
    """The REST predict body, row format: ``{"instances": [[...], ...]}``."""
    return json.dumps({"instances": np.asarray(features).tolist()})


def send_rest(url, body, model_name=MODEL_NAME):
    """POSTs the body to a running TF Serving; returns the decoded JSON answer."""
    request = urllib.request.Request(
        f"{url.rstrip('/')}/v1/models/{model_name}:predict", data=body.encode("utf-8"),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def send_grpc(target, request):
    """Sends the `PredictRequest` to a running TF Serving; returns the response."""
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        return prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
            request, timeout=10.0)


# ------------------------- no server: answer the requests as TF Serving does
def answer_rest_locally(body, signature):
    """Decode the body, run the signature, encode the REST answer."""
    outputs = signature(**serving.rest_request_to_inputs(body, signature))
    return serving.outputs_to_rest_response(outputs, row_format=True)


def answer_grpc_locally(request, signature, version):
    """Decode the `PredictRequest`, run the signature, build the `PredictResponse`."""
    outputs = signature(**grpc_format.predict_request_to_inputs(request, signature))
    return grpc_format.outputs_to_predict_response(
        outputs, request.model_spec.name, version, request.model_spec.signature_name)


# --------------------------------------------------------------------- main
def train_and_export(export_dir, epochs):
    data = datasets.music()
    result = train_crowd_classifier(
        data.x_train, data.crowd_labels, data.num_classes,
        lambda: backbones.music_classifier(seed=0), method="geocrowdnet-w", epochs=epochs)
    # The next version folder, as `keras-crowd export` numbers them.
    path = export_dir / MODEL_NAME / str(next_free_version(export_dir / MODEL_NAME))
    result.model.export_classifier(str(path))
    return result.classifier, data.x_test[:NUM_INSTANCES], path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run (a smoke test)")
    parser.add_argument("--epochs", type=positive_integer_option, default=None)
    parser.add_argument("--export-dir", default=None,
                        help="base folder of the export (default: a temporary folder)")
    parser.add_argument("--rest-url", default=None, help="e.g. http://localhost:8501")
    parser.add_argument("--grpc-target", default=None, help="e.g. localhost:8500")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    epochs = args.epochs or (1 if args.quick else 20)

    with tempfile.TemporaryDirectory() as temporary:
        export_dir = pathlib.Path(args.export_dir or temporary)
        classifier, features, path = train_and_export(export_dir, epochs)
        print(f"exported the classifier to {path}")
        expected = classifier.predict(features, verbose=0)

        signature = tf.saved_model.load(str(path)).signatures[SIGNATURE]
        (input_name, input_spec), = signature.structured_input_signature[1].items()
        body = rest_request_body(features)
        request = grpc_format.make_predict_request(
            {input_name: features.astype(input_spec.dtype.as_numpy_dtype)}, MODEL_NAME)
        shape = [dim.size for dim in request.inputs[input_name].tensor_shape.dim]
        print(f"REST body: {body[:70]}...  ({len(body)} bytes)")
        print(f"gRPC request: model_spec.name={request.model_spec.name!r}, "
              f"signature_name={request.model_spec.signature_name!r}, "
              f"inputs[{input_name!r}] of shape {shape}")

        rest_answer = (send_rest(args.rest_url, body) if args.rest_url
                       else answer_rest_locally(body, signature))
        grpc_answer = (send_grpc(args.grpc_target, request) if args.grpc_target
                       else answer_grpc_locally(request, signature, int(path.name)))

        rest_outputs = serving.rest_response_to_outputs(rest_answer)
        grpc_outputs = grpc_format.predict_response_to_outputs(grpc_answer)
        where = "server" if args.rest_url or args.grpc_target else "local signature, no server"
        print(f"\nanswers ({where}):")
        print(f"{'item':>4s} {'REST class':>10s} {'gRPC class':>10s} {'Keras class':>11s}")
        for i in range(len(features)):
            print(f"{i:4d} {int(rest_outputs['class_id'][i]):10d} "
                  f"{int(grpc_outputs['class_id'][i]):10d} {int(np.argmax(expected[i])):11d}")
        rest_gap = np.max(np.abs(rest_outputs["probabilities"] - expected))
        grpc_gap = np.max(np.abs(grpc_outputs["probabilities"] - expected))
        print(f"largest probability difference vs Keras: REST {rest_gap:.2e}, "
              f"gRPC {grpc_gap:.2e}")
        if max(rest_gap, grpc_gap) > 1e-5:
            raise SystemExit("The served answers differ from the Keras model's.")
    print(f"total time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
