"""Confusion-matrix heatmaps: one annotator large, or the whole crowd in a grid.

Matrices follow keras_crowd's convention: ``A[k, j]`` is the probability that
the annotator reports class ``k`` when the true class is ``j``, so rows are
the annotator's labels, columns the true classes, and every column sums to 1.
A perfect annotator is the identity (a dark diagonal).
"""

import math

import numpy as np

from keras_crowd.plotting.figures import new_figure
from keras_crowd.utils.arguments import confusion_matrix_stack
from keras_crowd.utils.arguments import positive_integer

COLOR_MAP = "Blues"
# Above this many classes, per-cell values are not written in the cells.
MAX_CLASSES_ANNOTATED = 12
# Grid panels show class tick labels only when this few panels are drawn.
MAX_PANELS_WITH_TICKS = 6


def _class_labels(class_names, num_classes):
    if class_names is None:
        return [str(k) for k in range(num_classes)]
    names = [str(name) for name in class_names]
    if len(names) != num_classes:
        raise ValueError(f"{len(names)} class names for {num_classes} classes.")
    return names


def _short(text, width=14):
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _draw_matrix(axes, matrix, class_labels, annotate, show_ticks):
    image = axes.imshow(matrix, cmap=COLOR_MAP, vmin=0.0, vmax=1.0, interpolation="nearest")
    num_classes = matrix.shape[0]
    if show_ticks:
        positions = np.arange(num_classes)
        axes.set_xticks(positions)
        # Shortened as the titles are: full long names left the matrix a few pixels.
        short_labels = [_short(label) for label in class_labels]
        axes.set_xticklabels(short_labels, rotation=90, fontsize=8)
        axes.set_yticks(positions)
        axes.set_yticklabels(short_labels, fontsize=8)
    else:
        axes.set_xticks([])
        axes.set_yticks([])
    if annotate and num_classes <= MAX_CLASSES_ANNOTATED:
        for (row, column), value in np.ndenumerate(matrix):
            axes.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=7,
                      color="white" if value > 0.6 else "black")
    return image


def plot_confusion_matrix(matrix, class_names=None, title=None, annotate=True):
    """One confusion matrix as an annotated heatmap.

    Args:
        matrix: `(K, K)` column-stochastic matrix (rows: reported label,
            columns: true class).
        class_names: Optional K class names for the axes.
        title: Optional title, e.g. the annotator's id.
        annotate: Write each cell's probability in it (for K <= 12).

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    >>> figure = plot_confusion_matrix(model.confusion_matrices[3],
    ...                                class_names=data.class_names, title="annotator 3")
    >>> save_figure(figure, "annotator_3.png")
    """
    matrix = confusion_matrix_stack(matrix, "matrix")
    if matrix.shape[0] != 1:
        raise ValueError(
            f"plot_confusion_matrix draws one (K, K) matrix; got {matrix.shape[0]}. "
            "Use plot_confusion_grid for several."
        )
    matrix = matrix[0]
    labels = _class_labels(class_names, matrix.shape[0])
    side = 2.0 + 0.45 * matrix.shape[0]
    figure = new_figure(side + 1.0, side)
    axes = figure.add_subplot()
    image = _draw_matrix(axes, matrix, labels, annotate, show_ticks=True)
    axes.set_xlabel("true class")
    axes.set_ylabel("annotator's label")
    if title:
        axes.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axes, label="Pr(label | true class)")
    return figure


def plot_confusion_grid(confusion_matrices, annotator_ids=None, class_names=None,
                        annotator_indices=None, max_annotators=None, title=None):
    """Several annotators' confusion matrices in a grid, one panel each.

    Args:
        confusion_matrices: `(M, K, K)` column-stochastic matrices.
        annotator_ids: Optional M ids, used as panel titles (default 0..M-1).
        class_names: Optional K class names (shown as ticks when few panels
            are drawn).
        annotator_indices: Optional indices of the annotators to draw, in
            order (e.g. sorted by labels given). Default: all, in order.
        max_annotators: Draw at most this many panels (the first ones): a
            positive integer, or None for all.
        title: Optional figure title.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    >>> figure = plot_confusion_grid(model.confusion_matrices,
    ...                              annotator_ids=data.annotator_ids, max_annotators=64)
    >>> save_figure(figure, "confusions.png")
    """
    matrices = confusion_matrix_stack(confusion_matrices)
    num_annotators, num_classes = matrices.shape[0], matrices.shape[-1]
    ids = list(range(num_annotators)) if annotator_ids is None else list(annotator_ids)
    if len(ids) != num_annotators:
        raise ValueError(f"{len(ids)} annotator ids for {num_annotators} annotators.")
    indices = (np.arange(num_annotators) if annotator_indices is None
               else np.asarray(annotator_indices, dtype=np.int64).reshape(-1))
    if indices.size and (indices.min() < 0 or indices.max() >= num_annotators):
        raise ValueError(f"annotator_indices must be in [0, {num_annotators}).")
    if max_annotators is not None:
        indices = indices[: positive_integer("max_annotators", max_annotators)]
    if indices.size == 0:
        raise ValueError("There is no annotator to draw.")
    labels = _class_labels(class_names, num_classes)
    columns = math.ceil(math.sqrt(indices.size))
    rows = math.ceil(indices.size / columns)
    show_ticks = indices.size <= MAX_PANELS_WITH_TICKS
    panel = 2.6 if show_ticks else 1.5
    figure = new_figure(panel * columns + 1.0, panel * rows + (0.6 if title else 0.2))
    image = None
    for position, index in enumerate(indices):
        axes = figure.add_subplot(rows, columns, position + 1)
        image = _draw_matrix(axes, matrices[index], labels, annotate=False,
                             show_ticks=show_ticks)
        axes.set_title(_short(ids[index]), fontsize=8)
    figure.colorbar(image, ax=figure.axes, shrink=0.6, label="Pr(label | true class)")
    if title:
        figure.suptitle(title)
    return figure
