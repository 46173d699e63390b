"""The input specs of a serving signature, and conversion of values onto them."""

import numpy as np
import tensorflow as tf


def input_specs(signature):
    """Map each input name of `signature` to its `tf.TensorSpec`.

    Args:
        signature: A loaded signature (`loaded.signatures["serving_default"]`,
            a `ConcreteFunction`), or a mapping of names to `tf.TensorSpec`.

    Returns:
        A dict `{input_name: tf.TensorSpec}`.

    Example:

    >>> signature = tf.saved_model.load("saved_models/music/1").signatures[
    ...     "serving_default"]
    >>> input_specs(signature)
    {'features': TensorSpec(shape=(None, 124), dtype=tf.float32, ...)}
    """
    if isinstance(signature, dict):
        specs = dict(signature)
    elif hasattr(signature, "structured_input_signature"):
        specs = dict(signature.structured_input_signature[1])
    else:
        raise TypeError(
            "`signature` must be a loaded SavedModel signature or a dict of "
            f"tf.TensorSpec; got {type(signature).__name__}."
        )
    for name, spec in specs.items():
        if not isinstance(spec, tf.TensorSpec):
            raise TypeError(f"Input {name!r} has no tf.TensorSpec: {spec!r}.")
    return specs


def to_input_tensor(name, value, spec):
    """Convert `value` to a tensor matching `spec`, or raise a clear error.

    Args:
        name: The input name (for error messages).
        value: Nested lists, a numpy array, or a tensor.
        spec: The `tf.TensorSpec` of that input.

    Returns:
        A `tf.Tensor` of `spec.dtype` whose shape is compatible with
        `spec.shape`.

    Example:

    >>> to_input_tensor("x", [[0.1, 0.2]], tf.TensorSpec((None, 2), "float32"))
    """
    try:
        if spec.dtype == tf.string:
            array = np.asarray(value, dtype=object)
        else:
            array = np.asarray(value)
    except ValueError as error:  # ragged nested lists
        raise ValueError(
            f"Input {name!r} is not a rectangular array (rows of different "
            f"lengths?): {error}"
        ) from None
    if array.dtype == object and spec.dtype != tf.string:
        raise ValueError(
            f"Input {name!r} is not a rectangular numeric array (rows of "
            "different lengths, or non-numbers)."
        )
    if spec.dtype.is_floating or spec.dtype.is_integer or spec.dtype.is_bool:
        if array.dtype.kind not in "biuf":
            raise ValueError(
                f"Input {name!r} expects {spec.dtype.name} numbers; got "
                f"values of type {array.dtype}."
            )
        if spec.dtype.is_integer and array.dtype.kind == "f":
            if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
                raise ValueError(
                    f"Input {name!r} expects integers ({spec.dtype.name}); got "
                    "non-integer numbers."
                )
        if spec.dtype.is_integer and array.size:
            # tf.constant would wrap around (2**32 -> 0 in int32) in silence.
            limits = np.iinfo(spec.dtype.as_numpy_dtype)
            if array.min() < limits.min or array.max() > limits.max:
                raise ValueError(
                    f"Input {name!r} expects {spec.dtype.name} values in "
                    f"[{limits.min}, {limits.max}]; got values from {array.min()} "
                    f"to {array.max()}."
                )
    if not spec.shape.is_compatible_with(array.shape):
        raise ValueError(
            f"Input {name!r} has shape {array.shape}; the signature expects "
            f"{tuple(spec.shape.as_list())} (None = any size)."
        )
    return tf.constant(array, dtype=spec.dtype)
