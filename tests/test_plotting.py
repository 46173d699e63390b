"""keras_crowd.plotting: confusion heatmaps and the annotator reliability chart."""

import re
import sys

import matplotlib.image
import numpy as np
import pytest

from keras_crowd import plotting

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def column_stochastic(num_annotators, num_classes, seed=0):
    rng = np.random.default_rng(seed)
    matrices = rng.random((num_annotators, num_classes, num_classes)) + 3 * np.eye(num_classes)
    return matrices / matrices.sum(axis=1, keepdims=True)


def assert_png(path, min_height=100, min_width=100):
    with open(path, "rb") as file:
        assert file.read(8) == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    assert image.shape[0] >= min_height and image.shape[1] >= min_width
    # Not a blank canvas: the heatmap / markers put several colours on it.
    assert len(np.unique(image.reshape(-1, image.shape[2])[:, :3], axis=0)) > 10
    return image


def test_confusion_grid_draws_one_panel_per_annotator(tmp_path):
    matrices = column_stochastic(7, 4)
    figure = plotting.plot_confusion_grid(matrices, annotator_ids=list("abcdefg"),
                                          class_names=["w", "x", "y", "z"], title="crowd")
    heatmap_axes = [axes for axes in figure.axes if axes.images]
    assert [axes.get_title() for axes in heatmap_axes] == list("abcdefg")
    np.testing.assert_allclose(heatmap_axes[2].images[0].get_array(), matrices[2])
    assert_png(plotting.save_figure(figure, tmp_path / "sub" / "grid.png"))


def test_confusion_grid_order_and_limit():
    matrices = column_stochastic(10, 3)
    figure = plotting.plot_confusion_grid(matrices, annotator_indices=[9, 0, 5, 2],
                                          max_annotators=3)
    heatmap_axes = [axes for axes in figure.axes if axes.images]
    assert [axes.get_title() for axes in heatmap_axes] == ["9", "0", "5"]
    np.testing.assert_allclose(heatmap_axes[0].images[0].get_array(), matrices[9])


def test_single_confusion_matrix_is_annotated(tmp_path):
    matrix = column_stochastic(1, 3)[0]
    figure = plotting.plot_confusion_matrix(matrix, class_names=["a", "b", "c"], title="ann 1")
    axes = figure.axes[0]
    assert axes.get_title() == "ann 1"
    assert [t.get_text() for t in axes.get_xticklabels()] == ["a", "b", "c"]
    assert f"{matrix[0, 0]:.2f}" in [text.get_text() for text in axes.texts]
    assert len(axes.texts) == 9
    assert_png(plotting.save_figure(figure, tmp_path / "one.png"))


def test_long_class_names_are_shortened_on_the_axes():
    names = [f"a very long class name number {i} indeed" for i in range(4)]
    for figure in (plotting.plot_confusion_matrix(column_stochastic(1, 4)[0], class_names=names),
                   plotting.plot_confusion_grid(column_stochastic(2, 4), class_names=names)):
        axes = [a for a in figure.axes if a.images][0]
        ticks = [t.get_text() for t in axes.get_xticklabels() + axes.get_yticklabels()]
        assert ticks and all(len(tick) <= 14 for tick in ticks)
        assert ticks[0].startswith("a very long") and ticks[0].endswith("…")


@pytest.mark.parametrize("labels_given", [None, [5, 50, 500]])
def test_reliability_chart(tmp_path, labels_given):
    figure = plotting.plot_annotator_reliability(
        [0.9, 0.5, 0.2], labels_given=labels_given, annotator_ids=["good", "meh", "bad"],
        true_accuracy=[0.85, 0.55, 0.1], chance_level=0.25)
    axes = figure.axes[0]
    assert axes.get_ylabel() == "Pr(correct label)"
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    assert sorted(legend) == ["chance", "estimated accuracy", "true accuracy"]
    if labels_given is not None:
        assert axes.get_xscale() == "log"
        np.testing.assert_allclose(axes.collections[0].get_offsets(),
                                   [[5, 0.9], [50, 0.5], [500, 0.2]])
    else:  # bars sorted by estimated accuracy, least reliable first
        assert [t.get_text() for t in axes.get_xticklabels()] == ["bad", "meh", "good"]
    assert_png(plotting.save_figure(figure, tmp_path / "reliability.png"))


def test_reliability_chart_keeps_a_log_axis_with_annotators_without_labels(tmp_path):
    figure = plotting.plot_annotator_reliability([0.5, 0.9, 0.2], labels_given=[0, 5, 500])
    axes = figure.axes[0]
    assert axes.get_xscale() == "symlog"
    np.testing.assert_allclose(axes.collections[0].get_offsets(),
                               [[0, 0.5], [5, 0.9], [500, 0.2]])
    assert_png(plotting.save_figure(figure, tmp_path / "reliability.png"))


@pytest.mark.parametrize("call, message", [
    (lambda: plotting.plot_confusion_grid(np.ones((2, 3, 4))), "(M, K, K)"),
    (lambda: plotting.plot_confusion_grid(column_stochastic(2, 3), annotator_ids=["a"]),
     "1 annotator ids for 2"),
    (lambda: plotting.plot_confusion_grid(column_stochastic(2, 3), class_names=["a"]),
     "1 class names for 3"),
    (lambda: plotting.plot_confusion_grid(column_stochastic(2, 3), annotator_indices=[5]),
     "annotator_indices"),
    (lambda: plotting.plot_confusion_matrix(column_stochastic(2, 3)), "plot_confusion_grid"),
    (lambda: plotting.plot_confusion_grid(column_stochastic(5, 3), max_annotators=-1),
     "`max_annotators` must be a positive integer; got -1"),
    (lambda: plotting.plot_confusion_grid(column_stochastic(5, 3), max_annotators=2.5),
     "`max_annotators` must be a positive integer; got 2.5"),
    (lambda: plotting.plot_annotator_reliability([0.5, 0.6], labels_given=[1]),
     "labels_given has 1 entries for 2"),
])
def test_bad_inputs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


@pytest.mark.parametrize("name, signature", [
    ("figure.pdf", b"%PDF"), ("figure.svg", b"<?xml"), ("figure.PNG", PNG_SIGNATURE),
    ("figure", PNG_SIGNATURE),
])
def test_save_figure_writes_the_format_of_the_suffix(tmp_path, name, signature):
    figure = plotting.plot_confusion_matrix(column_stochastic(1, 3)[0])
    with open(plotting.save_figure(figure, tmp_path / name), "rb") as file:
        assert file.read(len(signature)) == signature


def test_save_figure_refuses_an_unknown_suffix(tmp_path):
    figure = plotting.plot_confusion_matrix(column_stochastic(1, 3)[0])
    with pytest.raises(ValueError, match=r"no 'xlsx' files.*\.pdf"):
        plotting.save_figure(figure, tmp_path / "figure.xlsx")
    assert not list(tmp_path.iterdir())


def test_missing_matplotlib_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plotting.new_figure(2, 2)
