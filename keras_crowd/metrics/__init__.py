"""Metrics for crowdsourcing: confusion estimation error, aggregation accuracy,
empirical confusion matrices and a per-annotator summary.

Example:

>>> import numpy as np
>>> from keras_crowd import metrics
>>> crowd, truth = np.array([[0, 1], [1, 1], [0, -1]]), np.array([0, 1, 0])
>>> A = metrics.empirical_confusion_matrices(crowd, truth, num_classes=2)
>>> metrics.confusion_matrix_error(A, A)
0.0
"""

from keras_crowd.metrics.aggregation_accuracy import aggregation_accuracy
from keras_crowd.metrics.aggregation_accuracy import raw_label_accuracy
from keras_crowd.metrics.annotator_summary import annotator_summary
from keras_crowd.metrics.assignment import hungarian
from keras_crowd.metrics.assignment import linear_sum_assignment
from keras_crowd.metrics.confusion_error import best_column_permutation
from keras_crowd.metrics.confusion_error import confusion_matrix_error
from keras_crowd.metrics.confusion_error import per_annotator_confusion_error
from keras_crowd.metrics.empirical_confusion import empirical_confusion_matrices
