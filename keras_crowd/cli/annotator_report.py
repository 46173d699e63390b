"""The annotator report files shared by ``train`` and ``report``.

From confusion matrices (and, when available, the crowd labels) it writes:

- ``confusion_matrices.png``: a grid of the annotators' matrices, the most
  prolific first;
- ``confusion_<id>.png``: the most prolific few, large and annotated (ids
  that give the same file name get ``_2``, ``_3``...);
- ``annotator_reliability.png``: estimated accuracy vs labels given;
- ``confusion_matrices.txt`` and ``annotator_summary.{txt,csv}``: the same
  numbers as text.
"""

import pathlib
import re

import numpy as np
import pandas as pd

from keras_crowd import metrics
from keras_crowd import plotting
from keras_crowd.utils.atomic_files import atomic_path
from keras_crowd.utils.atomic_files import write_text_atomic

GRID_MAX_ANNOTATORS = 64


def _file_safe(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text))[:40] or "annotator"


def _unique_name(text, taken):
    """`_file_safe(text)`, with ``_2``, ``_3``... when it is in `taken` (case-insensitively,
    for macOS and Windows); the name returned is added to `taken` (lower case)."""
    base = name = _file_safe(text)
    number = 1
    while name.lower() in taken:
        number += 1
        name = f"{base}_{number}"
    taken.add(name.lower())
    return name


def summarize_annotators(confusion_matrices, crowd=None, class_prior=None, true_labels=None,
                         annotator_ids=None):
    """One row per annotator: labels given, estimated accuracy, agreement.

    Args:
        confusion_matrices: `(M, K, K)` estimated matrices.
        crowd: Optional `EncodedCrowdLabels` (gives labels given, agreement
            with the majority vote and the annotator ids).
        class_prior: Optional `(K,)` class prior for the estimated accuracy
            (default: majority-vote class frequencies, else uniform).
        true_labels: Optional true classes of the items, adds ``true_accuracy``.
        annotator_ids: Ids when `crowd` is not given.

    Returns:
        A `pandas.DataFrame` indexed by annotator id (see
        `keras_crowd.metrics.annotator_summary`).
    """
    matrices = np.asarray(confusion_matrices, dtype=np.float64)
    num_annotators, num_classes = matrices.shape[0], matrices.shape[-1]
    if crowd is not None:
        if crowd.num_annotators != num_annotators:
            raise ValueError(
                f"The labels have {crowd.num_annotators} annotators but the model has "
                f"{num_annotators}."
            )
        from keras_crowd.aggregation import MajorityVote

        consensus = MajorityVote(num_classes=crowd.num_classes).fit(crowd).labels_
        return metrics.annotator_summary(
            crowd, confusion_matrices=matrices, class_prior=class_prior, consensus=consensus,
            true_labels=true_labels)
    prior = (np.full(num_classes, 1.0 / num_classes) if class_prior is None
             else np.asarray(class_prior, dtype=np.float64))
    ids = list(range(num_annotators)) if annotator_ids is None else list(annotator_ids)
    return pd.DataFrame(
        {"estimated_accuracy": np.einsum("mkk,k->m", matrices, prior)},
        index=pd.Index(ids, name="annotator"),
    )


def _summary_value(column, value):
    """`column=value`, floats to 3 significant digits, counts in full."""
    if isinstance(value, (float, np.floating)):
        return f"{column}={value:.3g}"
    return f"{column}={value}"


def _matrices_text(matrices, annotator_ids, class_names, summary):
    names = [str(c) for c in class_names]
    blocks = ["Confusion matrices: entry [row k, column j] = Pr(annotator says k | true class j)."]
    for index, annotator in enumerate(annotator_ids):
        frame = pd.DataFrame(matrices[index], index=names, columns=names)
        # By column: a row (`iloc[index]`) would turn integer counts into floats.
        details = ", ".join(_summary_value(column, summary[column].iloc[index])
                            for column in summary.columns)
        blocks.append(f"\nannotator {annotator} ({details})\n"
                      f"{frame.to_string(float_format=lambda v: f'{v:.2f}')}")
    return "\n".join(blocks) + "\n"


def write_annotator_report(output_dir, confusion_matrices, summary, class_names=None,
                           individual=3, title=None):
    """Writes the pictures and text files of the annotators' behaviour.

    Args:
        output_dir: Folder to write into (created).
        confusion_matrices: `(M, K, K)` matrices, rows of `summary` in order.
        summary: The `summarize_annotators` table.
        class_names: Optional K class names.
        individual: How many of the most prolific annotators get a picture of
            their own.
        title: Optional prefix of the figure titles (e.g. the dataset).

    Returns:
        A dict of the files written, by kind.
    """
    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    matrices = np.asarray(confusion_matrices)
    num_classes = matrices.shape[-1]
    class_names = list(range(num_classes)) if class_names is None else list(class_names)
    ids = list(summary.index)
    given = summary["labels_given"].to_numpy() if "labels_given" in summary else None
    order = (np.argsort(-given, kind="stable") if given is not None
             else np.arange(len(ids)))
    prefix = f"{title}: " if title else ""
    files = {}

    grid = plotting.plot_confusion_grid(
        matrices, annotator_ids=ids, class_names=class_names, annotator_indices=order,
        max_annotators=GRID_MAX_ANNOTATORS,
        title=f"{prefix}confusion matrices of {min(len(ids), GRID_MAX_ANNOTATORS)} of "
              f"{len(ids)} annotators" + (" (most labels first)" if given is not None else ""),
    )
    files["confusion_grid"] = plotting.save_figure(grid, output_dir / "confusion_matrices.png")

    files["confusion_individual"] = []
    taken = {"matrices"}  # confusion_matrices.png is the grid
    for index in order[: max(0, int(individual))]:
        label = f"annotator {ids[index]}" + (
            f" ({int(given[index])} labels)" if given is not None else "")
        figure = plotting.plot_confusion_matrix(matrices[index], class_names=class_names,
                                                title=prefix + label)
        path = output_dir / f"confusion_{_unique_name(ids[index], taken)}.png"
        files["confusion_individual"].append(plotting.save_figure(figure, path))

    reliability = plotting.plot_annotator_reliability(
        summary["estimated_accuracy"].to_numpy(), labels_given=given, annotator_ids=ids,
        true_accuracy=summary["true_accuracy"].to_numpy() if "true_accuracy" in summary
        else None,
        chance_level=1.0 / num_classes, title=f"{prefix}annotator reliability",
    )
    files["reliability"] = plotting.save_figure(reliability,
                                                output_dir / "annotator_reliability.png")

    text_path = output_dir / "confusion_matrices.txt"
    write_text_atomic(text_path, _matrices_text(matrices, ids, class_names, summary))
    files["confusion_text"] = str(text_path)
    with atomic_path(output_dir / "annotator_summary.csv") as temporary:
        summary.to_csv(temporary)
    write_text_atomic(output_dir / "annotator_summary.txt",
                      summary.to_string(float_format=lambda v: f"{v:.3f}") + "\n")
    files["summary_csv"] = str(output_dir / "annotator_summary.csv")
    files["summary_text"] = str(output_dir / "annotator_summary.txt")
    return files
