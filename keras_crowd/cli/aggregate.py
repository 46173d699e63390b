"""``keras-crowd aggregate``: one label per item by majority vote or Dawid-Skene."""

import pathlib

import click
import pandas as pd

from keras_crowd.cli import common
from keras_crowd.cli import inputs
from keras_crowd.metrics import aggregation_accuracy
from keras_crowd.utils.atomic_files import atomic_path

METHODS = ("majority-vote", "dawid-skene")
PROBABILITY_PREFIX = "proba_"


def _aggregator(method, num_classes, iterations):
    from keras_crowd.aggregation import DawidSkene
    from keras_crowd.aggregation import MajorityVote

    if method == "majority-vote":
        return MajorityVote(num_classes=num_classes)
    return DawidSkene(n_iter=iterations, num_classes=num_classes)


def aggregated_frame(aggregator, with_probabilities):
    """``task, label[, proba_<class>...]`` with the user's task ids and class names."""
    frame = aggregator.named_labels().rename("label").reset_index()
    if with_probabilities:
        probabilities = aggregator.named_probas()
        probabilities.columns = [f"{PROBABILITY_PREFIX}{c}" for c in probabilities.columns]
        frame = pd.concat([frame, probabilities.reset_index(drop=True)], axis=1)
    return frame


@click.command(
    "aggregate",
    short_help="Aggregate crowd labels by majority vote or Dawid-Skene.",
    epilog=common.examples_epilog(
        "keras-crowd aggregate crowd.csv                          # majority vote",
        "keras-crowd aggregate crowd.json --method dawid-skene --probabilities \\",
        "    --output ds.csv",
        "keras-crowd aggregate crowd.npy --true-labels y.npy      # also prints accuracy",
    ),
)
@click.argument("labels", metavar="LABELS_FILE")
@click.option("--method", type=click.Choice(METHODS), default="majority-vote",
              show_default=True, help="Aggregation method (ties go to the smallest class).")
@click.option("--output", default=None, metavar="FILE",
              help="CSV to write (task,label) [default: <labels>_<method>.csv beside the "
                   "labels].")
@click.option("--probabilities", is_flag=True,
              help="Add one proba_<class> column per class (the posterior).")
@click.option("--iterations", type=click.IntRange(min=1), default=100, show_default=True,
              help="Dawid-Skene EM iterations (at most).")
@click.option("--true-labels", default=None, metavar="FILE",
              help="True labels of the items (row order), to print the accuracy.")
@common.class_names_option()
@common.num_classes_option()
@common.duplicates_option()
@common.cli_errors
def aggregate_command(labels, method, output, probabilities, iterations, true_labels,
                      class_names, num_classes, duplicates):
    """Aggregate the crowd labels of LABELS_FILE into one label per item.

    LABELS_FILE is dense .npy/.npz/.csv (-1 = missing), long .csv
    (task,worker,label) or peerannot .json. The output CSV has the columns
    task,label with your task ids and class names.
    """
    truth = None
    if true_labels is not None:
        truth = inputs.read_true_labels(true_labels, class_names)
    crowd = inputs.read_crowd_labels(labels, num_items=None if truth is None else len(truth),
                                     class_names=class_names, num_classes=num_classes,
                                     duplicates=duplicates)
    aggregator = _aggregator(method, num_classes, iterations).fit(crowd)
    labels_path = pathlib.Path(inputs.split_npz_key(labels)[0])
    output = pathlib.Path(output or labels_path.with_name(f"{labels_path.stem}_{method}.csv"))
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as temporary:
        aggregated_frame(aggregator, probabilities).to_csv(temporary, index=False)
    rows = [("method", method), ("items", crowd.num_items),
            ("annotators / classes", f"{crowd.num_annotators} / {crowd.num_classes}"),
            ("labels", crowd.num_labels)]
    if truth is not None:
        rows.append(("accuracy", aggregation_accuracy(aggregator.labels_, truth)))
    rows.append(("written", str(output)))
    common.echo_table(rows, title="Aggregated labels")
