"""Off-screen matplotlib figures: lazy import, creation and saving (PNG, PDF, SVG...).

Figures are built with `matplotlib.figure.Figure` on an Agg canvas rather
than through `pyplot`, so no global state or display backend is involved and
plotting works the same in scripts, servers and tests.
"""

import os
import pathlib

from keras_crowd.utils.atomic_files import atomic_path

INSTALL_HINT = "pip install matplotlib"


def _import_matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            f"keras_crowd.plotting needs matplotlib, which is not installed: `{INSTALL_HINT}`."
        ) from error
    return Figure, FigureCanvasAgg


def new_figure(width, height, dpi=100, layout="constrained"):
    """A blank off-screen figure of `width` x `height` inches.

    Args:
        width: Width in inches.
        height: Height in inches.
        dpi: Resolution used when the figure is saved.
        layout: matplotlib layout engine (``"constrained"`` keeps titles,
            labels and colorbars from overlapping), or None.

    Returns:
        A `matplotlib.figure.Figure` attached to an Agg canvas.

    Raises:
        ImportError: matplotlib is missing (the message says how to install it).

    Example:

    >>> figure = new_figure(4, 3)
    >>> axes = figure.add_subplot()
    """
    figure_class, canvas_class = _import_matplotlib()
    figure = figure_class(figsize=(width, height), dpi=dpi, layout=layout)
    canvas_class(figure)
    return figure


def _file_format(figure, path):
    """The format of `path`'s suffix (PNG without one); an unknown suffix raises."""
    suffix = pathlib.Path(path).suffix.lower().lstrip(".")
    if not suffix:
        return "png"
    supported = figure.canvas.get_supported_filetypes()
    if suffix not in supported:
        raise ValueError(
            f"Cannot save a figure as {path!r}: matplotlib writes no {suffix!r} files; use "
            f"one of the suffixes {', '.join('.' + name for name in sorted(supported))}."
        )
    return suffix


def save_figure(figure, path):
    """Write `figure` to `path`, creating the parent folder if needed.

    The format is that of the suffix (``.png``, ``.pdf``, ``.svg``, ...);
    a path without a suffix is written as PNG.

    Args:
        figure: A figure from `new_figure` or any keras_crowd plot.
        path: Target file.

    Returns:
        The path written, as a string.

    Raises:
        ValueError: matplotlib cannot write the suffix's format.

    Example:

    >>> save_figure(plot_confusion_grid(matrices), "runs/labelme/confusions.png")
    >>> save_figure(plot_confusion_grid(matrices), "paper/confusions.pdf")
    """
    path = os.fspath(path)
    file_format = _file_format(figure, path)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format=file_format, bbox_inches="tight")
    return path
