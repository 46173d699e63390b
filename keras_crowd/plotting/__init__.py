"""Pictures of what each annotator does, drawn with matplotlib (Agg; PNG, PDF, SVG...).

- `plot_confusion_grid`: the M annotators' confusion matrices side by side.
- `plot_confusion_matrix`: one annotator's matrix, large, with its values.
- `plot_annotator_reliability`: estimated accuracy per annotator against
  the number of labels each gave.

matplotlib is imported only when a function is called; figures are drawn
off-screen, so they work on servers without a display.

Example:

>>> from keras_crowd import plotting
>>> figure = plotting.plot_confusion_grid(model.confusion_matrices)
>>> plotting.save_figure(figure, "confusions.png")
"""

from keras_crowd.plotting.confusion_heatmaps import plot_confusion_grid
from keras_crowd.plotting.confusion_heatmaps import plot_confusion_matrix
from keras_crowd.plotting.figures import new_figure
from keras_crowd.plotting.figures import save_figure
from keras_crowd.plotting.reliability_chart import plot_annotator_reliability
