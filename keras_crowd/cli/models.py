"""Finding and loading the models the CLI works on.

- a run folder or a ``.keras`` file saved by ``keras-crowd train`` (a
  `CrowdModel`, or a plain classifier for the dl-* methods), with the
  ``crowd_metadata.json`` written beside it (class names, annotator ids);
- an exported TF Serving SavedModel folder (``<base>/<version>``).
"""

import json
import pathlib
import zipfile

import click
import numpy as np

from keras_crowd.cli import common
from keras_crowd.export import serving_input_signature
from keras_crowd.export.classifier_export import is_version_name
from keras_crowd.serving.signature import to_input_tensor

RUN_MODEL_FILE = "model.keras"
RUN_METADATA_FILE = "crowd_metadata.json"
SERVING_SIGNATURE = "serving_default"
_NOT_AN_ARCHIVE = (
    "{path!r} is not a valid .keras archive (a zip file); it may be truncated or "
    "corrupt: save the model again."
)


def existing_versions(model_folder):
    """The numeric version folders under `model_folder`, sorted."""
    folder = pathlib.Path(model_folder)
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and is_version_name(p.name))


def keras_model_path(path):
    """The ``.keras`` file for `path`: the file itself, or ``<run folder>/model.keras``."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"The model {str(path)!r} does not exist.")
    if path.is_dir() and (path / RUN_MODEL_FILE).is_file():
        return path / RUN_MODEL_FILE
    if path.suffix != ".keras":
        raise ValueError(
            f"{str(path)!r} is not a .keras model (nor a run folder holding {RUN_MODEL_FILE})."
        )
    return path


def load_keras_model(path):
    """Loads a ``.keras`` model saved by keras_crowd (CrowdModel or classifier)."""
    import keras

    import keras_crowd  # noqa: F401  (registers CrowdModel and its regularizers)

    path = keras_model_path(path)
    if not zipfile.is_zipfile(path):  # Keras would say "File not found"
        raise ValueError(_NOT_AN_ARCHIVE.format(path=str(path)))
    try:
        return keras.saving.load_model(path, compile=False)
    except zipfile.BadZipFile:
        raise ValueError(_NOT_AN_ARCHIVE.format(path=str(path))) from None
    except (TypeError, AttributeError, ValueError) as error:
        raise ValueError(f"Cannot load {str(path)!r} as a Keras model: {error}") from None


def run_metadata(model_path):
    """The ``crowd_metadata.json`` beside a saved model, or an empty dict."""
    metadata = pathlib.Path(model_path).parent / RUN_METADATA_FILE
    if not metadata.is_file():
        return {}
    return json.loads(metadata.read_text(encoding="utf-8"))


def saved_class_names(path):
    """The class names `keras-crowd train` saved beside a ``.keras`` model or run folder.

    Returns:
        A tuple of names, or None for an exported SavedModel (which holds no
        names) or a model without ``crowd_metadata.json``.
    """
    path = pathlib.Path(path)
    model_file = path / RUN_MODEL_FILE if path.is_dir() else path
    if model_file.suffix != ".keras" or not model_file.is_file():
        return None  # `load_classifier` says what `path` is not
    names = run_metadata(model_file).get("class_names")
    return tuple(names) if names else None


def model_class_names(model, class_names):
    """The class names of `model`'s outputs: those its run saved, else `class_names`.

    Args:
        model: A ``.keras`` model, a run folder or a SavedModel folder.
        class_names: The ``--class-names`` given, or None.

    Raises:
        click.UsageError: `class_names` are not the names, in the order, the
            model was trained with (its indices would be read as other classes).
    """
    saved = saved_class_names(model)
    if saved is None:
        return class_names
    if class_names is not None and tuple(map(str, class_names)) != tuple(map(str, saved)):
        raise click.UsageError(
            f"--class-names {common.format_class_names(class_names)} are not the classes of "
            f"{model}, in its order: {common.format_class_names(saved)} (its "
            f"{RUN_METADATA_FILE}); leave --class-names out to use them.")
    return saved


def is_saved_model(path):
    """True for a SavedModel folder (it holds ``saved_model.pb``)."""
    return (pathlib.Path(path) / "saved_model.pb").is_file()


def _saved_model_versions(folder):
    """The version folders under `folder` that hold a SavedModel, sorted:
    `folder` is then a TF Serving base folder."""
    return [version for version in existing_versions(folder)
            if is_saved_model(pathlib.Path(folder) / str(version))]


def check_input_shape(x, spec):
    """Refuses features `x` of a shape that the model's input `spec` does not take.

    Args:
        x: The features.
        spec: The model's input `tf.TensorSpec` (a `None` dimension takes
            any size), or None when it is not known.

    Raises:
        ValueError: `x`'s shape does not fit `spec`, e.g. another number of columns.
    """
    import tensorflow as tf

    if spec is not None and not tf.TensorShape(x.shape).is_compatible_with(spec.shape):
        expected = spec.shape[1:]
        raise ValueError(
            f"The model expects inputs of shape (N, {', '.join(map(str, expected))}); "
            f"got {x.shape}."
        )


class SavedModelClassifier:
    """An exported classifier's ``serving_default`` signature, as `predict`.

    Args:
        path: The SavedModel folder (``<base>/<version>``).

    Example:

    >>> probabilities = SavedModelClassifier("saved_models/labelme/1").predict(x)
    """

    def __init__(self, path):
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        if SERVING_SIGNATURE not in loaded.signatures:
            raise ValueError(f"{path} has no {SERVING_SIGNATURE!r} signature.")
        self._loaded = loaded  # keeps the signature's variables alive
        self.signature = loaded.signatures[SERVING_SIGNATURE]
        _, specs = self.signature.structured_input_signature
        if len(specs) != 1:
            raise ValueError(f"{path}'s signature takes {len(specs)} inputs; expected one.")
        (self.input_name, self.input_spec), = specs.items()

    def predict(self, x, batch_size=1024):
        """`(N, K)` probabilities for the features `x`.

        Args:
            x: The features, of a shape the signature's input accepts (a
                `None` dimension of the signature takes any size).
            batch_size: Rows per call of the signature.

        Returns:
            A numpy array of `(N, K)` probabilities.

        Raises:
            ValueError: `x`'s shape does not fit the signature's input.
        """
        check_input_shape(x, self.input_spec)
        # Checked as a request would be: fractional or out-of-range values
        # for an integer input are an error, not truncated or wrapped.
        outputs = [
            self.signature(**{self.input_name: to_input_tensor(
                self.input_name, x[i:i + batch_size], self.input_spec)})
            ["probabilities"].numpy()
            for i in range(0, len(x), batch_size)
        ]
        return np.concatenate(outputs, axis=0)


class KerasClassifier:
    """A ``.keras`` model's classifier (a CrowdModel predicts with `f` alone)."""

    def __init__(self, path):
        self.model = load_keras_model(path)
        # An ensemble is served with its first member's input (`export_classifier`).
        members = getattr(self.model, "members", None)
        self.input_spec = serving_input_signature(members[0] if members else self.model)

    def predict(self, x, batch_size=1024):
        """`(N, K)` probabilities for the features `x`.

        Raises:
            ValueError: `x`'s shape does not fit the model's input.
        """
        check_input_shape(x, self.input_spec)
        return np.asarray(self.model.predict(x, batch_size=batch_size, verbose=0))


def load_classifier(path):
    """A classifier with `predict(x)`, from a SavedModel folder or a ``.keras`` model.

    Args:
        path: A SavedModel folder (``<base>/<version>``), a ``.keras`` file or
            a run folder holding ``model.keras``.

    Returns:
        A `SavedModelClassifier` or a `KerasClassifier`.

    Raises:
        ValueError: `path` is a TF Serving base folder (``<base>``, holding
            version folders) rather than one version, or not a model.

    Example:

    >>> load_classifier("saved_models/music/2").predict(x)
    """
    if is_saved_model(path):
        return SavedModelClassifier(path)
    versions = _saved_model_versions(path)
    if versions:
        latest = pathlib.Path(path) / str(versions[-1])
        raise ValueError(
            f"{str(path)!r} is a TF Serving model folder holding the versions "
            f"{', '.join(map(str, versions))}; give one version folder, e.g. {str(latest)!r} "
            "(the latest)."
        )
    return KerasClassifier(path)
