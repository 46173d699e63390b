"""``keras-crowd aggregate``: one label per item by majority vote or Dawid-Skene."""

import pathlib

import click
import numpy as np
import pandas as pd

from keras_crowd.cli import common
from keras_crowd.cli import inputs
from keras_crowd.data.dense import labels_per_item
from keras_crowd.data.validation import empty_tasks_message
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


EMPTY_TASK_LABELS = {
    "majority-vote": "a uniform posterior and the smallest class as label",
    "dawid-skene": "the estimated class prior as posterior and its most likely class as label",
}


def warn_about_empty_tasks(crowd, method):
    """Warns (stderr) when some tasks have no label: they get a label all the same.

    Args:
        crowd: The `EncodedCrowdLabels` to aggregate.
        method: The aggregation method, to say which label they get.
    """
    empty_rows = np.flatnonzero(labels_per_item(crowd.crowd_labels) == 0)
    if empty_rows.size:
        common.warn(f"{empty_tasks_message(empty_rows, crowd.task_ids)} They stay in the "
                    f"output with {EMPTY_TASK_LABELS[method]}, not a crowd answer.")


@click.command(
    "aggregate",
    short_help="Aggregate crowd labels by majority vote or Dawid-Skene.",
    epilog=common.examples_epilog(
        "keras-crowd aggregate crowd.csv                          # majority vote",
        "keras-crowd aggregate crowd.json --method dawid-skene --probabilities \\",
        "    --output ds.csv",
        "keras-crowd aggregate crowd.npy --true-labels y.npy      # also prints accuracy",
        "keras-crowd aggregate songs.csv --true-labels y.npy --task-ids songs.txt",
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
@click.option("--task-ids", default=None, metavar="FILE",
              help="Task id of each item, one per line: the row order of --true-labels "
                   "and of the output (long/JSON labels whose task ids are not row "
                   "numbers; integer ids are 0-based rows, so ids 1..N need it).")
@common.class_names_option(common.LABEL_CLASS_NAMES_HELP)
@common.num_classes_option()
@common.duplicates_option()
@common.cli_errors
def aggregate_command(labels, method, output, probabilities, iterations, true_labels,
                      task_ids, class_names, num_classes, duplicates):
    """Aggregate the crowd labels of LABELS_FILE into one label per item.

    LABELS_FILE is dense .npy/.npz/.csv (-1 = missing), long .csv
    (task,worker,label) or peerannot .json. The output CSV has the columns
    task,label with your task ids and class names. Tasks without any label
    keep a row (with a warning): the prior or uniform label.
    """
    truth = ids = None
    if task_ids is not None:
        ids = inputs.read_task_ids(task_ids)
    if true_labels is not None:
        # Encoded once the crowd labels are read: names are matched to their classes.
        truth = inputs.read_true_label_values(true_labels, row_ids=ids)
        if ids is not None and len(ids) != len(truth):
            raise ValueError(f"--task-ids lists {len(ids)} ids for {len(truth)} true labels."
                             + inputs.count_hint(len(ids), len(truth),
                                                 (task_ids, true_labels)))
    num_items = len(truth) if truth is not None else None if ids is None else len(ids)
    crowd = inputs.read_crowd_labels(labels, num_items=num_items, task_ids=ids,
                                     class_names=class_names, num_classes=num_classes,
                                     duplicates=duplicates,
                                     rows_role="task ids" if truth is None else "true labels")
    if truth is not None:
        if class_names is None:
            inputs.warn_about_indices_of_sorted_names(truth, crowd.class_names)
        # Class indices stay indices (checked against K below); names are the crowd's.
        names = class_names or (None if truth.indices is not None else crowd.class_names)
        truth = inputs.encode_true_labels(truth, names)
        inputs.check_labels_within_classes(truth, crowd.num_classes, "A true label")
    warn_about_empty_tasks(crowd, method)
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
