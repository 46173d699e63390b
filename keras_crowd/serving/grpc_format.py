"""TF Serving's gRPC `PredictionService.Predict`: protos <-> signature tensors.

A client sends a `tensorflow_serving.apis.predict_pb2.PredictRequest`
(`model_spec` plus one `TensorProto` per named input) and receives a
`PredictResponse` (`model_spec` plus one `TensorProto` per output). These
helpers build and read those messages with `tf.make_tensor_proto` and
`tf.make_ndarray`, and check inputs against the signature the way the
server does (exact input names and dtypes, compatible shapes).

They need the `tensorflow-serving-api` package, imported lazily:
`pip install tensorflow-serving-api --no-deps` (its dependency pin would
otherwise pull the full `tensorflow` wheel next to `tensorflow-cpu`).
"""

import operator

import numpy as np
import tensorflow as tf

from keras_crowd.serving import signature as signature_lib

DEFAULT_SIGNATURE = "serving_default"


def predict_pb2():
    """The `tensorflow_serving.apis.predict_pb2` module, or a clear error."""
    try:
        from tensorflow_serving.apis import predict_pb2 as module
    except ImportError as error:
        raise ImportError(
            "The gRPC helpers need the tensorflow-serving-api package: "
            "pip install tensorflow-serving-api --no-deps (without --no-deps "
            "it would install the full tensorflow wheel next to "
            f"tensorflow-cpu). Import failed with: {error}"
        ) from error
    return module


def _version_number(version):
    """`version` as the positive integer TF Serving names a version by.

    A float is refused rather than truncated (2.7 would ask for version 2),
    and 0 or a negative number, which no version folder has, too.
    """
    try:
        number = operator.index(version)
    except TypeError:
        number = None
    if number is None or isinstance(version, bool) or number < 1:
        raise ValueError(
            f"A model version is a positive integer (its folder name); got {version!r}."
        )
    return number


def make_predict_request(inputs, model_name, signature_name=DEFAULT_SIGNATURE,
                         version=None):
    """Build the `PredictRequest` a client sends (client side).

    Args:
        inputs: `{input_name: array}`; each array is sent with its own dtype,
            so cast it to the signature's dtype (e.g. float32) first.
        model_name: The served model's name (`--model_name` or models.config).
        signature_name: The signature to call.
        version: Optional positive integer version; default: the server's
            choice (the latest available version).

    Returns:
        A `predict_pb2.PredictRequest`.

    Raises:
        ValueError: `version` is not a positive integer.

    Example:

    >>> request = make_predict_request(
    ...     {"features": x.astype("float32")}, "music", version=2)
    >>> response = stub.Predict(request, timeout=10.0)
    """
    request = predict_pb2().PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = _version_number(version)
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return request


def predict_request_to_inputs(request, signature):
    """Turn a `PredictRequest` into the signature's input tensors.

    Args:
        request: A `predict_pb2.PredictRequest` (or its serialized bytes).
        signature: The loaded signature (or a dict of `tf.TensorSpec`).

    Returns:
        A dict `{input_name: tf.Tensor}` to call the signature with.

    Raises:
        ValueError: Missing or unexpected input names, a dtype other than
            the signature's (the server does not cast), or an incompatible
            shape.

    Example:

    >>> inputs = predict_request_to_inputs(request, signature)
    >>> outputs = signature(**inputs)
    """
    if isinstance(request, bytes):
        request = predict_pb2().PredictRequest.FromString(request)
    specs = signature_lib.input_specs(signature)
    sent = set(request.inputs.keys())
    if sent != set(specs):
        raise ValueError(
            f"The request sends inputs {sorted(sent)}; the signature expects "
            f"exactly {sorted(specs)}."
        )
    tensors = {}
    for name, spec in specs.items():
        proto = request.inputs[name]
        dtype = tf.dtypes.as_dtype(proto.dtype)
        if dtype != spec.dtype:
            raise ValueError(
                f"Input {name!r} is sent as {dtype.name}; the signature "
                f"expects {spec.dtype.name} (cast it before "
                "tf.make_tensor_proto)."
            )
        array = tf.make_ndarray(proto)
        tensors[name] = signature_lib.to_input_tensor(name, array, spec)
    return tensors


def outputs_to_predict_response(outputs, model_name, version,
                                 signature_name=DEFAULT_SIGNATURE,
                                 output_filter=None):
    """Build the `PredictResponse` the server returns for `outputs`.

    Args:
        outputs: `{output_name: tensor or array}` from the signature.
        model_name: The served model's name.
        version: The integer version that answered.
        signature_name: The signature that was called.
        output_filter: Optional list of output names to return (the
            request's `output_filter`); default: all.

    Returns:
        A `predict_pb2.PredictResponse`.

    Example:

    >>> response = outputs_to_predict_response(signature(**inputs), "music", 2)
    >>> tf.make_ndarray(response.outputs["class_id"])
    """
    names = sorted(outputs) if not output_filter else list(output_filter)
    unknown = set(names) - set(outputs)
    if unknown:
        raise ValueError(
            f"output_filter names {sorted(unknown)}, which the signature does "
            f"not output (it has {sorted(outputs)})."
        )
    response = predict_pb2().PredictResponse()
    response.model_spec.name = model_name
    response.model_spec.version.value = _version_number(version)
    response.model_spec.signature_name = signature_name
    for name in names:
        response.outputs[name].CopyFrom(tf.make_tensor_proto(np.asarray(outputs[name])))
    return response


def predict_response_to_outputs(response):
    """Read a `PredictResponse` into numpy arrays (client side).

    Args:
        response: A `predict_pb2.PredictResponse` (or its serialized bytes).

    Returns:
        A dict `{output_name: np.ndarray}`.

    Example:

    >>> outputs = predict_response_to_outputs(stub.Predict(request, 10.0))
    >>> outputs["probabilities"].shape
    (8, 10)
    """
    if isinstance(response, bytes):
        response = predict_pb2().PredictResponse.FromString(response)
    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}
