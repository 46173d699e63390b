"""Versioned export folders (``<export-dir>/<name>/<version>``) and the export itself.

TF Serving serves the highest numeric version under a model's folder, so the
CLI picks the next free integer by default and never replaces an existing
version unless asked (``--overwrite``).
"""

import os
import pathlib

import keras

from keras_crowd.cli.models import existing_versions
from keras_crowd.export import export_classifier
from keras_crowd.export import serving_input_signature


def next_free_version(model_folder):
    """1 + the highest existing version under `model_folder` (1 if none)."""
    versions = existing_versions(model_folder)
    return versions[-1] + 1 if versions else 1


def version_path(export_dir, name, version=None, overwrite=False):
    """Chooses and checks ``<export_dir>/<name>/<version>`` before any work is done.

    Args:
        export_dir: Base folder of all exported models.
        name: The model's name (TF Serving's ``--model_name``).
        version: A positive integer, or None for the next free one.
        overwrite: Allow replacing an existing version.

    Returns:
        The export path, a `pathlib.Path`.

    Raises:
        FileExistsError: the version exists and `overwrite` is False.
        ValueError: the version is not a positive integer or the name is empty.

    Example:

    >>> version_path("saved_models", "labelme")      # saved_models/labelme/3 if 1, 2 exist
    """
    if not name or os.sep in name or name in (".", ".."):
        raise ValueError(f"The model name {name!r} must be a plain folder name.")
    model_folder = pathlib.Path(export_dir) / name
    if version is None:
        version = next_free_version(model_folder)
    if int(version) < 1:
        raise ValueError(f"--version must be a positive integer; got {version}.")
    path = model_folder / str(int(version))
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{path} already exists; choose another --version or pass --overwrite."
        )
    return path


def export_model(model, path, overwrite=False):
    """Exports a `CrowdModel`'s classifier, or a plain classifier, for TF Serving.

    Args:
        model: A `keras_crowd.CrowdModel` (its classifier `f` is exported) or
            a Keras classifier with one input.
        path: The ``<base>/<version>`` folder.
        overwrite: Replace an existing version.

    Returns:
        The path written, as a string.
    """
    if hasattr(model, "export_classifier"):
        return model.export_classifier(os.fspath(path), overwrite=overwrite)
    if not isinstance(model, keras.Model):
        raise ValueError(f"Cannot export a {type(model).__name__}; expected a Keras model.")
    signature = serving_input_signature(model)
    if signature is None:
        raise ValueError(
            "Cannot infer the classifier's input signature: it must be a built Keras model "
            "with one input."
        )
    return export_classifier(model, os.fspath(path), signature, overwrite=overwrite)
