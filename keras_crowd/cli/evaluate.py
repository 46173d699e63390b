"""``keras-crowd evaluate``: accuracy of a trained classifier on labelled data."""

import click
import numpy as np

from keras_crowd.cli import common
from keras_crowd.cli import inputs
from keras_crowd.cli import models
from keras_crowd.data.vocabulary import ordered_unique
from keras_crowd.metrics import aggregation_accuracy


def per_class_accuracy(predicted, true_labels, class_names):
    """Recall of each class (NaN for a class with no item), by class name."""
    result = {}
    for index, name in enumerate(class_names):
        members = true_labels == index
        result[str(name)] = float(np.mean(predicted[members] == index)) if members.any() \
            else float("nan")
    return result


@click.command(
    "evaluate",
    short_help="Accuracy of a saved or exported classifier.",
    epilog=common.examples_epilog(
        "keras-crowd evaluate saved_models/labelme/1 --dataset labelme",
        "keras-crowd evaluate runs/labelme/model.keras --dataset labelme --json eval.json",
        "keras-crowd evaluate saved_models/mymodel/2 --features x_test.npy \\",
        "    --true-labels y_test.npy",
    ),
)
@click.argument("model", metavar="MODEL")
@common.dataset_option(help_text="Evaluate on this bundled dataset's test split.")
@click.option("--features", default=None, metavar="FILE",
              help="Features to evaluate on (.npy/.npz/.csv).")
@click.option("--true-labels", default=None, metavar="FILE",
              help="Their true labels (.npy, or one per line).")
@common.class_names_option(
    help_text="Comma-separated class names, in the model's index order, for true labels "
              "written as names [default: those a .keras model's run saved].")
@click.option("--batch-size", type=click.IntRange(min=1), default=1024, show_default=True)
@click.option("--json", "json_path", default=None, metavar="FILE",
              help="Also write the results as JSON.")
@common.cli_errors
def evaluate_command(model, dataset, features, true_labels, class_names, batch_size,
                     json_path):
    """Evaluate MODEL on labelled data and print its accuracy.

    MODEL is an exported SavedModel folder (<base>/<version>), a .keras
    model saved by `keras-crowd train`, or its run folder.

    True labels may be class names: a .keras model or run folder knows its
    classes (crowd_metadata.json); an exported SavedModel does not, so give
    it --class-names in the model's order (report.json's
    dataset.class_names: without --class-names, train sorts the names).
    """
    dataset = common.check_source(dataset, (features, true_labels),
                                  ("--features", "--true-labels"))
    # First: an error about MODEL (missing, a TF Serving base folder) is the
    # one to fix, not one about the true labels read for it.
    classifier = models.load_classifier(model)
    if dataset is not None:
        if class_names is not None:
            raise click.UsageError(
                "--class-names names the classes of --true-labels; a bundled --dataset "
                "names its own classes. Leave --class-names out.")
        data = inputs.load_bundled(dataset)
        x, truth, names = data.x_test, data.y_test, tuple(data.crowd.class_names)
    else:
        if features is None or true_labels is None:
            raise click.UsageError("Give --features and --true-labels together.")
        x = inputs.read_features(features)
        saved = models.saved_class_names(model) if class_names is None else None
        class_names = models.model_class_names(model, class_names)
        labels = inputs.read_true_label_values(true_labels)
        if saved is not None and saved == ordered_unique(saved):
            # Names that `train` sorted: indices in the user's own order would
            # be read as other classes (the run's order is the one to follow).
            inputs.warn_about_indices_of_sorted_names(
                labels, saved, remedy="write the true labels as names")
        truth = inputs.encode_true_labels(labels, class_names)
        if len(x) != len(truth):
            raise ValueError(f"{len(x)} feature rows but {len(truth)} true labels."
                             + inputs.count_hint(len(truth), len(x), (features, true_labels)))
        names = None
    probabilities = classifier.predict(x, batch_size=batch_size)
    num_classes = probabilities.shape[1]
    if names is None and class_names is not None and len(class_names) != num_classes:
        raise click.UsageError(
            f"--class-names gives {len(class_names)} classes but {model} has {num_classes}; "
            "give every class, in the model's order.")
    if truth.max() >= num_classes:
        raise ValueError(
            f"A true label is {int(truth.max())} but the model has {num_classes} classes.")
    names = names or class_names or tuple(range(num_classes))
    predicted = np.argmax(probabilities, axis=1)
    results = {
        "model": str(model),
        "data": dataset or {"features": str(features), "true_labels": str(true_labels)},
        "num_items": int(len(truth)),
        "accuracy": aggregation_accuracy(predicted, truth),
        "per_class_accuracy": per_class_accuracy(predicted, truth, names),
    }
    common.echo_table(
        [("accuracy", results["accuracy"]), ("items", results["num_items"])]
        + [(f"  class {name}", value) for name, value in results["per_class_accuracy"].items()],
        title=f"Evaluation of {model}",
    )
    if json_path is not None:
        common.write_json(results, json_path)
        click.echo(f"written: {json_path}")
