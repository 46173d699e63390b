"""Export a classifier as a SavedModel that TF Serving loads as it is."""

import keyword
import os
import re
import shutil
import tempfile

import keras
import tensorflow as tf

SERVING_SIGNATURE = "serving_default"


def is_version_name(name):
    """Whether TF Serving reads the folder `name` as a version number.

    ASCII digits only: `str.isdigit()` also accepts "²" and "١", which TF
    Serving does not read as a version.
    """
    return name.isascii() and name.isdigit()


def _check_version_directory(path):
    version = os.path.basename(os.path.normpath(path))
    if not is_version_name(version) or int(version) < 1:
        raise ValueError(
            f"Export path {path!r} must end in a version directory numbered from 1, "
            "as TF Serving expects: <base>/<version>, e.g. "
            "'saved_models/music/1'."
        )
    if version != str(int(version)):
        # TF Serving reads "01" as version 1, beside a "1" folder.
        raise ValueError(
            f"Export path {path!r}: write the version without leading zeros "
            f"({int(version)}, not {version!r}); TF Serving reads both as version "
            f"{int(version)}."
        )


def _move_into_place(staged, path, aside):
    """Rename the directory `staged` to `path`, replacing any directory there.

    The old `path` is first renamed to `aside` (the caller deletes it), and
    renamed back if `staged` cannot be moved in: `path` always holds a
    complete version, the old or the new one.
    """
    if not os.path.exists(path):
        os.replace(staged, path)
        return
    os.replace(path, aside)
    try:
        os.replace(staged, path)
    except BaseException:
        os.replace(aside, path)
        raise


def _signature_input_name(name):
    """`name` as TF Serving's signature input key: a valid tf.function
    parameter name, sanitized as TensorFlow does for ASCII names
    (`"song features"` -> `"song_features"`, `"3d"` -> `"arg_3d"`), and a
    Python keyword followed by `_` (`"class"` -> `"class_"`).

    Without this, TensorFlow renames some names itself (`"feat-1"`) and
    fails on others (a space, non-ASCII letters, a keyword) with an obscure
    error (`'class' is not a valid parameter name`).
    """
    if not name:
        return name
    name = re.sub(r"[^A-Za-z0-9]", "_", name)
    name = name if name[0].isalpha() else "arg_" + name
    return name + "_" if keyword.iskeyword(name) else name


def _build_from_signature(classifier, input_signature):
    """Build an unbuilt classifier (e.g. a subclassed model that was never
    called) by calling it on a symbolic input of `input_signature`."""
    if not classifier.built:
        classifier(keras.KerasTensor(input_signature.shape, input_signature.dtype))


def input_spec_config(spec):
    """A `tf.TensorSpec` as a JSON-able dict (for a model's `get_config`)."""
    return {"shape": list(spec.shape), "dtype": spec.dtype.name, "name": spec.name}


def input_spec_from_config(config):
    """The `tf.TensorSpec` of `input_spec_config`."""
    return tf.TensorSpec(config["shape"], tf.as_dtype(config["dtype"]), name=config["name"])


def serving_input_signature(model):
    """The input `tf.TensorSpec` a model is served with by default.

    The one a model records for itself (`CrowdModel._input_spec_for_export`,
    which also knows a subclassed backbone's), else that of the model's
    single symbolic input: its dtype, its shape with a variable batch
    dimension, and the name of its `InputLayer`. That name is kept by a
    `.keras` file, unlike the automatic name of an unnamed `keras.Input`
    tensor (`keras_tensor_2` before saving, `input_layer_2` after loading),
    so a model exports the same signature before and after a reload; a
    named `keras.Input(..., name="features")` keeps its name.

    Args:
        model: A Keras model.

    Returns:
        A `tf.TensorSpec` of shape `(None, ...)`, or `None` if the model has
        no single symbolic input (e.g. an unbuilt subclassed model).

    Example:

    >>> inputs = keras.Input((124,), batch_size=32, name="features")
    >>> serving_input_signature(keras.Model(inputs, keras.layers.Dense(3)(inputs)))
    TensorSpec(shape=(None, 124), dtype=tf.float32, name='features')
    """
    recorded = getattr(model, "_input_spec_for_export", None)
    if recorded is not None:
        return recorded
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    if not inputs or len(inputs) != 1:
        return None
    tensor = inputs[0]
    return tf.TensorSpec(
        (None,) + tuple(tensor.shape[1:]), tensor.dtype, name=_input_layer_name(tensor)
    )


def _input_layer_name(tensor):
    """The name of the `InputLayer` that made the symbolic `tensor` (Keras has
    no public accessor for it), else the tensor's own name."""
    history = getattr(tensor, "_keras_history", None)
    operation = getattr(history, "operation", None)
    return getattr(operation, "name", None) or tensor.name


def export_classifier(
    classifier, path, input_signature=None, from_logits=False, overwrite=False
):
    """Write `classifier` as a SavedModel with a `serving_default` signature.

    The signature takes the classifier's input (same name, dtype and shape;
    a name that is not a valid identifier has its other characters replaced
    by `_`, e.g. `song-features` -> `song_features`, and a Python keyword
    gets a trailing `_`, `class` -> `class_`) and returns
    `probabilities` `(B, K)` float32 and `class_id` `(B,)` int64.
    The directory is written to a temporary sibling first and renamed into
    place, so TF Serving never sees a half-written version; an overwritten
    version is renamed aside first and kept if the new one cannot be moved
    in.

    Args:
        classifier: A Keras model mapping inputs to `(B, K)` probabilities
            (or logits, with `from_logits=True`).
        path: Target directory `<base>/<version>`, version a positive integer.
        input_signature: The `tf.TensorSpec` of the input. An unbuilt
            classifier is built for it. `None` (default): the classifier's
            own (`serving_input_signature`).
        from_logits: Apply a softmax to the classifier's outputs.
        overwrite: Replace `path` if it exists; otherwise refuse.

    Returns:
        The path written, as a string.

    Example:

    >>> export_classifier(backbone, "saved_models/music/1",
    ...                   tf.TensorSpec((None, 124), "float32", "features"))
    """
    path = os.fspath(path)
    _check_version_directory(path)
    if input_signature is None:
        input_signature = serving_input_signature(classifier)
        if input_signature is None:
            raise ValueError(
                "Cannot tell the classifier's input (it has no single symbolic input, "
                "e.g. an unbuilt subclassed model): pass input_signature, a "
                "tf.TensorSpec such as tf.TensorSpec((None, 124), 'float32', 'features')."
            )
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(
            f"{path} already exists; choose a new version number or pass "
            "overwrite=True."
        )

    def serve(inputs):
        # float32 before the softmax: under mixed precision a float16
        # softmax is off by up to 1e-3.
        probabilities = tf.cast(classifier(inputs, training=False), tf.float32)
        if from_logits:
            probabilities = tf.nn.softmax(probabilities, axis=-1)
        return {
            "probabilities": probabilities,
            "class_id": tf.argmax(probabilities, axis=-1),
        }

    _build_from_signature(classifier, input_signature)
    if isinstance(input_signature, tf.TensorSpec):
        input_signature = tf.TensorSpec(
            input_signature.shape,
            input_signature.dtype,
            name=_signature_input_name(input_signature.name),
        )
    archive = keras.export.ExportArchive()
    archive.track(classifier)
    archive.add_endpoint(SERVING_SIGNATURE, serve, input_signature=[input_signature])

    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        staged_model = os.path.join(staging, "model")
        archive.write_out(staged_model, verbose=False)
        _move_into_place(staged_model, path, aside=os.path.join(staging, "replaced"))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path
