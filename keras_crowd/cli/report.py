"""``keras-crowd report``: what each annotator does, from a trained CrowdModel."""

import pathlib

import click
import numpy as np

from keras_crowd.cli import common
from keras_crowd.cli import inputs
from keras_crowd.cli import models
from keras_crowd.cli.annotator_report import summarize_annotators
from keras_crowd.cli.annotator_report import write_annotator_report

SHOWN_ANNOTATORS = 10


def _learned_confusions(model, path, metadata):
    """The model's confusion matrices; for an ensemble run, its members' mean."""
    if hasattr(model, "confusion_matrices"):
        return np.asarray(model.confusion_matrices)
    members = metadata.get("ensemble_members") or []
    if not members:
        kind = ("an ensemble of classifiers whose run files (report.json and member_*.keras "
                "beside it) are not there" if type(model).__name__ == "ClassifierEnsemble"
                else "a plain classifier (a dl-mv/dl-ds run)")
        raise ValueError(
            f"{path} is {kind}, with no learned confusion matrices; report needs a CrowdModel "
            "or a run folder of keras-crowd train."
        )
    return np.mean([_learned_confusions(models.load_keras_model(path.parent / name),
                                        path.parent / name, {}) for name in members], axis=0)


def _check_model_annotators(crowd, model_annotator_ids, path):
    """Refuses crowd labels whose annotators are not those the model was trained on.

    The model's m-th matrix belongs to its m-th annotator: labels of other
    annotators, or in another order, would put names and counts on the wrong
    matrices.
    """
    if crowd is None or model_annotator_ids is None:
        return
    given = [str(annotator) for annotator in crowd.annotator_ids]
    trained = [str(annotator) for annotator in model_annotator_ids]
    if given == trained:
        return
    trained_set, given_set = set(trained), set(given)
    unknown = [annotator for annotator in given if annotator not in trained_set]
    missing = [annotator for annotator in trained if annotator not in given_set]
    details = "; ".join(
        f"{what}: {', '.join(annotators[:3])}" + (", ..." if len(annotators) > 3 else "")
        for what, annotators in (("not in the model", unknown),
                                 ("in the model but not in the labels", missing))
        if annotators) or "the same annotators in another order"
    raise ValueError(
        f"The crowd labels' annotators are not those {path} was trained on ({details}): "
        "give the crowd labels the model was trained on."
    )


@click.command(
    "report",
    short_help="Pictures and tables of what each annotator does.",
    epilog=common.examples_epilog(
        "keras-crowd report runs/labelme/model.keras",
        "keras-crowd report runs/labelme --dataset labelme     # adds labels given, accuracy",
        "keras-crowd report run/model.keras --labels crowd.csv --output-dir pictures",
    ),
)
@click.argument("model", metavar="MODEL")
@click.option("--labels", default=None, metavar="FILE",
              help="The crowd labels the model was trained on (adds labels given and "
                   "agreement with the majority vote).")
@common.dataset_option(help_text="The bundled dataset the model was trained on (its labels, "
                                 "and the annotators' true accuracy).")
@common.class_names_option(
    help_text="Comma-separated class names, in the model's index order [default: those the "
              "model's run saved].")
@click.option("--output-dir", default=None, metavar="DIR",
              help="Where to write the pictures and text [default: <model folder>/report].")
@click.option("--individual", type=click.IntRange(min=0), default=3, show_default=True,
              help="How many of the most prolific annotators get a picture of their own.")
@common.cli_errors
def report_command(model, labels, dataset, class_names, output_dir, individual):
    """Draw the confusion matrices and annotator reliability of a CrowdModel.

    MODEL is a .keras CrowdModel saved by `keras-crowd train` (or its run
    folder; for an ensemble run, the mean of its members' matrices). Writes
    confusion_matrices.png, confusion_<annotator>.png, annotator_reliability.png,
    confusion_matrices.txt and annotator_summary.{txt,csv}. An annotator's
    estimated accuracy weighs its matrix's diagonal by the class prior `train`
    saved (the classifier's mean prediction), as `train`'s own report does;
    for a model without one, by the majority vote's class frequencies.
    """
    if labels is not None and dataset is not None:
        raise click.UsageError("Give --labels or --dataset, not both.")
    path = models.keras_model_path(model)
    metadata = models.run_metadata(path)
    matrices = _learned_confusions(models.load_keras_model(path), path, metadata)
    # --class-names in another order than the run's would name each row and
    # column of the matrices after another class.
    names = models.model_class_names(path, class_names)
    crowd, truth = None, None
    if dataset is not None:
        data = inputs.load_bundled(dataset)
        crowd, truth = data.crowd, data.y_train
    elif labels is not None:
        crowd = inputs.read_crowd_labels(labels, class_names=names,
                                         num_classes=matrices.shape[-1])
    _check_model_annotators(crowd, metadata.get("annotator_ids"), path)
    if crowd is not None:
        names = tuple(crowd.class_names)
    if names is not None and len(names) != matrices.shape[-1]:
        raise ValueError(f"{len(names)} class names for a model with {matrices.shape[-1]} "
                         "classes.")
    # The prior `train` weighed the estimated accuracies by, when it saved one.
    summary = summarize_annotators(matrices, crowd=crowd, true_labels=truth,
                                   class_prior=metadata.get("class_prior"),
                                   annotator_ids=metadata.get("annotator_ids"))
    output_dir = pathlib.Path(output_dir or path.parent / "report")
    files = write_annotator_report(output_dir, matrices, summary, class_names=names,
                                   individual=individual, title=metadata.get("dataset"))
    shown = summary.sort_values("estimated_accuracy").head(SHOWN_ANNOTATORS)
    click.echo(f"Least reliable annotators (of {len(summary)}):")
    click.echo(shown.to_string(float_format=lambda v: f"{v:.3f}"))
    click.echo()
    written = [files["confusion_grid"], *files["confusion_individual"], files["reliability"],
               files["confusion_text"], files["summary_text"], files["summary_csv"]]
    click.echo("written:\n" + "\n".join(f"  {path}" for path in written))
