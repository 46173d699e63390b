"""A chart of how reliable each annotator is, against how much each labelled."""

import numpy as np

from keras_crowd.plotting.figures import new_figure

# Annotators beyond this many are not named on the chart.
MAX_NAMED_ANNOTATORS = 30


def _column(values, name, num_annotators):
    if values is None:
        return None
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size != num_annotators:
        raise ValueError(f"{name} has {values.size} entries for {num_annotators} annotators.")
    return values


def plot_annotator_reliability(estimated_accuracy, labels_given=None, annotator_ids=None,
                               true_accuracy=None, chance_level=None, title=None):
    """Estimated accuracy per annotator, against the number of labels given.

    With `labels_given`, a scatter plot (log-scaled x axis, linear between 0
    and 1 when some annotator gave no label): prolific but
    unreliable annotators stand out at the bottom right. Without it, a bar
    chart of the annotators sorted by estimated accuracy. `true_accuracy`
    (when the truth is known, e.g. on simulated crowds) is drawn alongside.

    Args:
        estimated_accuracy: `(M,)` estimated probability of a correct label,
            e.g. the ``estimated_accuracy`` column of
            `keras_crowd.metrics.annotator_summary`.
        labels_given: Optional `(M,)` number of labels of each annotator.
        annotator_ids: Optional M ids; the least reliable are named.
        true_accuracy: Optional `(M,)` measured accuracy against the truth.
        chance_level: Optional accuracy of random guessing (1/K), drawn as a
            dashed line.
        title: Optional title.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    >>> summary = keras_crowd.metrics.annotator_summary(
    ...     labels, confusion_matrices=model.confusion_matrices)
    >>> figure = plot_annotator_reliability(summary.estimated_accuracy,
    ...                                     summary.labels_given, summary.index)
    """
    estimated = np.asarray(estimated_accuracy, dtype=np.float64).reshape(-1)
    num_annotators = estimated.size
    if num_annotators == 0:
        raise ValueError("There is no annotator to draw.")
    given = _column(labels_given, "labels_given", num_annotators)
    truth = _column(true_accuracy, "true_accuracy", num_annotators)
    ids = [str(i) for i in (range(num_annotators) if annotator_ids is None else annotator_ids)]
    if len(ids) != num_annotators:
        raise ValueError(f"{len(ids)} annotator ids for {num_annotators} annotators.")

    figure = new_figure(7.0, 4.5)
    axes = figure.add_subplot()
    if given is not None:
        axes.scatter(given, estimated, s=30, color="tab:blue", label="estimated accuracy",
                     zorder=3)
        if truth is not None:
            axes.scatter(given, truth, s=30, marker="x", color="tab:orange",
                         label="true accuracy", zorder=3)
            for x, low, high in zip(given, estimated, truth):
                axes.plot([x, x], [low, high], color="0.7", linewidth=0.8, zorder=2)
        if np.all(given > 0):
            axes.set_xscale("log")
        elif np.any(given > 0):  # annotators without labels at 0, the others on a log scale
            axes.set_xscale("symlog", linthresh=1.0)
        axes.set_xlabel("labels given")
        if num_annotators <= MAX_NAMED_ANNOTATORS:
            for x, y, name in zip(given, estimated, ids):
                axes.annotate(name[:10], (x, y), fontsize=6, xytext=(3, 3),
                              textcoords="offset points")
    else:
        order = np.argsort(estimated)
        positions = np.arange(num_annotators)
        axes.bar(positions, estimated[order], color="tab:blue", label="estimated accuracy")
        if truth is not None:
            axes.scatter(positions, truth[order], marker="x", color="tab:orange",
                         label="true accuracy", zorder=3)
        axes.set_xlabel("annotator (sorted by estimated accuracy)")
        if num_annotators <= MAX_NAMED_ANNOTATORS:
            axes.set_xticks(positions)
            axes.set_xticklabels([ids[i][:10] for i in order], rotation=90, fontsize=6)
        else:
            axes.set_xticks([])
    if chance_level is not None:
        axes.axhline(chance_level, linestyle="--", color="0.5", label="chance")
    axes.set_ylim(0.0, 1.05)
    axes.set_ylabel("Pr(correct label)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="best")
    axes.set_title(title or "Annotator reliability")
    return figure
