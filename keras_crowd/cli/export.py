"""``keras-crowd export``: a saved model's classifier, as a TF Serving SavedModel."""

import pathlib
import shlex

import click

from keras_crowd.cli import common
from keras_crowd.cli import models
from keras_crowd.cli import saved_models


def default_model_name(model_path):
    """The name `train` exported the run under (its --name, by default the dataset's),
    else the run folder's (for model.keras), else the file stem."""
    path = models.keras_model_path(model_path)
    metadata = models.run_metadata(path)
    if metadata.get("model_name"):
        return str(metadata["model_name"])
    if metadata.get("dataset"):  # runs saved before the name was kept
        return str(metadata["dataset"])
    return path.parent.name if path.name == models.RUN_MODEL_FILE else path.stem


@click.command(
    "export",
    short_help="Export a saved model's classifier for TF Serving.",
    epilog=common.examples_epilog(
        "keras-crowd export runs/labelme/model.keras            # -> saved_models/labelme/<next>",
        "keras-crowd export runs/labelme --name scenes --version 3 --export-dir /srv/models",
        "keras-crowd export runs/labelme --version 1 --overwrite",
    ),
)
@click.argument("model", metavar="MODEL")
@click.option("--export-dir", default="saved_models", show_default=True, metavar="DIR",
              help="Base folder of TF Serving exports.")
@click.option("--name", default=None,
              help="Model name (TF Serving's model_name) [default: the run's: train's "
                   "--name, else its dataset].")
@click.option("--version", type=click.IntRange(min=1), default=None,
              help="Version folder [default: the next free integer].")
@common.overwrite_option()
@common.cli_errors
def export_command(model, export_dir, name, version, overwrite):
    """Export the classifier of MODEL for TF Serving.

    MODEL is a .keras model saved by `keras-crowd train` (or its run
    folder). A CrowdModel exports its classifier f alone, without the
    confusion matrices, to <export-dir>/<name>/<version>; an existing version
    is kept unless --overwrite.
    """
    name = name or default_model_name(model)
    path = saved_models.version_path(export_dir, name, version, overwrite)
    loaded = models.load_keras_model(model)
    written = saved_models.export_model(loaded, path, overwrite=overwrite)
    click.echo(f"Exported the classifier of {model} to {written}")
    mount = f"type=bind,source={pathlib.Path(written).parent.resolve()},target=/models/{name}"
    # Quoted for the shell: a folder or name with a space is one argument.
    click.echo("Serve it: " + shlex.join(["docker", "run", "-p", "8501:8501", "--mount", mount,
                                          "-e", f"MODEL_NAME={name}", "-t",
                                          "tensorflow/serving"]))
