"""TF Serving's REST predict format: JSON bodies <-> signature tensors.

TF Serving's `POST /v1/models/<name>[/versions/<v>]:predict` accepts two
request layouts:

- **row** ("instances"): a list with one entry per example. With a single
  named input an entry is that input's value (`[0.1, 0.3, ...]`); with
  several inputs, or to name the input explicitly, an entry is an object
  `{"<input_name>": value, ...}`. All inputs then share the batch size.
- **columnar** ("inputs"): the whole batch at once, either the tensor
  itself (single input) or an object `{"<input_name>": tensor, ...}`.

and answers `{"predictions": [...]}` (row: one entry per example, an
object of named outputs when there are several) or `{"outputs": ...}`
(columnar). String inputs may be sent as `{"b64": "<base64>"}`.

These functions implement that mapping so clients, examples and tests can
produce and check exactly what the server will see.
"""

import base64
import json

import numpy as np

from keras_crowd.serving import signature as signature_lib


def _is_b64(value):
    """Whether `value` is TF Serving's `{"b64": "<base64>"}` form of a string."""
    return isinstance(value, dict) and set(value) == {"b64"}


def _decode_b64(value):
    if _is_b64(value):
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_decode_b64(item) for item in value]
    return value


def _parse(payload):
    if isinstance(payload, (bytes, str)):
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError as error:
            raise ValueError(f"The request body is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise ValueError(
            'A predict request must be a JSON object with "instances" or '
            f'"inputs"; got {type(payload).__name__}.'
        )
    has_rows, has_columns = "instances" in payload, "inputs" in payload
    if has_rows == has_columns:
        raise ValueError(
            'A predict request must have exactly one of "instances" (row '
            'format) or "inputs" (columnar format); got keys '
            f"{sorted(payload)}."
        )
    return payload


def _rows_to_columns(instances, names):
    if not isinstance(instances, list) or not instances:
        raise ValueError('"instances" must be a non-empty list, one entry per example.')
    # A {"b64": ...} entry is a string value, not an object of named inputs.
    named = [isinstance(row, dict) and not _is_b64(row) for row in instances]
    if any(named) and not all(named):
        raise ValueError(
            '"instances" mixes named objects and plain values; use one form '
            "for every example."
        )
    if not all(named):
        if len(names) != 1:
            raise ValueError(
                f"The signature has {len(names)} inputs {sorted(names)}: each "
                'instance must be an object {"<input_name>": value, ...}.'
            )
        return {names[0]: instances}
    columns = {name: [] for name in names}
    for index, row in enumerate(instances):
        if set(row) != set(names):
            raise ValueError(
                f"Instance {index} has inputs {sorted(row)}; the signature "
                f"expects exactly {sorted(names)}."
            )
        for name in names:
            columns[name].append(row[name])
    return columns


def _columnar(inputs, names):
    if isinstance(inputs, dict) and not _is_b64(inputs):
        if set(inputs) != set(names):
            raise ValueError(
                f'"inputs" names {sorted(inputs)}; the signature expects '
                f"exactly {sorted(names)}."
            )
        return dict(inputs)
    if len(names) != 1:
        raise ValueError(
            f"The signature has {len(names)} inputs {sorted(names)}: "
            '"inputs" must be an object {"<input_name>": tensor, ...}.'
        )
    return {names[0]: inputs}


def rest_request_to_inputs(payload, signature):
    """Turn a REST predict body into the signature's input tensors.

    Args:
        payload: The request body: a dict, or JSON `str`/`bytes`.
        signature: The loaded signature (or a dict of `tf.TensorSpec`).

    Returns:
        A dict `{input_name: tf.Tensor}` to call the signature with
        (`signature(**inputs)`).

    Raises:
        ValueError: The body is not valid TF Serving JSON, names the wrong
            inputs, or a value does not fit the input's dtype or shape.

    Example:

    >>> inputs = rest_request_to_inputs(
    ...     {"instances": [{"features": [0.1] * 124}]}, signature)
    >>> outputs = signature(**inputs)
    """
    payload = _parse(payload)
    specs = signature_lib.input_specs(signature)
    names = sorted(specs)
    if "instances" in payload:
        columns = _rows_to_columns(payload["instances"], names)
    else:
        columns = _columnar(payload["inputs"], names)
    return {
        name: signature_lib.to_input_tensor(name, _decode_b64(value), specs[name])
        for name, value in columns.items()
    }


def _to_json_value(name, value):
    """An output as JSON values; strings as TF Serving writes them.

    An output whose name ends in ``_bytes`` holds binary data: each string
    becomes ``{"b64": "<base64>"}``. Other strings are written as UTF-8
    text, and one that is not valid UTF-8 is an error naming the output.
    """
    array = np.asarray(value)
    if array.dtype.kind not in "SO":
        return array.tolist()

    def to_json(item):
        if not isinstance(item, bytes):
            return item
        if name.endswith("_bytes"):
            return {"b64": base64.b64encode(item).decode("ascii")}
        try:
            return item.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(
                f"Output {name!r} holds bytes that are not UTF-8 text ({item[:8]!r}...). "
                "Name a binary output with the suffix '_bytes' so that it is sent "
                'base64-encoded ({"b64": ...}), as TF Serving does.'
            ) from None

    return np.vectorize(to_json, otypes=[object])(array).tolist()


def outputs_to_rest_response(outputs, row_format=True):
    """Build the REST predict response TF Serving sends for `outputs`.

    Args:
        outputs: The signature's outputs, `{name: tensor or array}`.
        row_format: `True` for a row ("instances") request: the response is
            `{"predictions": [...]}`, one entry per example. `False` for a
            columnar ("inputs") request: `{"outputs": ...}`.

    Returns:
        A JSON-serialisable dict.

    Raises:
        ValueError: In row format, outputs with different batch sizes.

    Example:

    >>> outputs_to_rest_response({"class_id": [2, 0],
    ...                           "probabilities": [[.1, .2, .7], [.8, .1, .1]]})
    {'predictions': [{'class_id': 2, 'probabilities': [0.1, 0.2, 0.7]},
                     {'class_id': 0, 'probabilities': [0.8, 0.1, 0.1]}]}
    """
    if not outputs:
        raise ValueError("There are no outputs to put in a response.")
    values = {name: _to_json_value(name, value) for name, value in sorted(outputs.items())}
    if not row_format:
        if len(values) == 1:
            return {"outputs": next(iter(values.values()))}
        return {"outputs": values}
    sizes = {name: len(value) if isinstance(value, list) else None
             for name, value in values.items()}
    if None in sizes.values() or len(set(sizes.values())) != 1:
        raise ValueError(
            "The row format needs every output to have the same batch size "
            f"(first dimension); got {sizes}."
        )
    if len(values) == 1:
        return {"predictions": next(iter(values.values()))}
    rows = next(iter(sizes.values()))
    return {
        "predictions": [
            {name: value[row] for name, value in values.items()} for row in range(rows)
        ]
    }


def rest_response_to_outputs(response, output_names=None):
    """Parse a REST predict response back into numpy arrays (client side).

    Args:
        response: The response body: a dict, or JSON `str`/`bytes`.
        output_names: For a single-output response, the name to give it
            (TF Serving omits it); default `"output"`.

    Returns:
        A dict `{output_name: np.ndarray}`.

    Example:

    >>> body = requests.post(url, json={"instances": x.tolist()}).json()
    >>> rest_response_to_outputs(body)["probabilities"].shape
    (8, 10)
    """
    if isinstance(response, (bytes, str)):
        response = json.loads(response)
    if "error" in response:
        raise ValueError(f"The server returned an error: {response['error']}")
    if "predictions" in response:
        rows = response["predictions"]
        if rows and isinstance(rows[0], dict):
            return {name: np.asarray([row[name] for row in rows]) for name in rows[0]}
        return {(output_names or ["output"])[0]: np.asarray(rows)}
    if "outputs" in response:
        outputs = response["outputs"]
        if isinstance(outputs, dict):
            return {name: np.asarray(value) for name, value in outputs.items()}
        return {(output_names or ["output"])[0]: np.asarray(outputs)}
    raise ValueError(
        'A predict response has "predictions" or "outputs"; got keys '
        f"{sorted(response)}."
    )
