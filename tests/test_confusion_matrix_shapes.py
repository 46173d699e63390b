"""Every function that takes confusion matrices checks their shape the same way
(`keras_crowd.utils.arguments.confusion_matrix_stack`)."""
import re

import numpy as np
import pytest

from keras_crowd import metrics
from keras_crowd import plotting
from keras_crowd.callbacks.confusion_images import confusion_matrix_images
from keras_crowd.initializers import ConfusionMatricesInitializer
from keras_crowd.simulators import check_confusion_matrices
from keras_crowd.utils.arguments import confusion_matrix_stack

SINGLE_ALLOWED = {
    "confusion_matrix_error": lambda m: metrics.confusion_matrix_error(m, m),
    "plot_confusion_grid": plotting.plot_confusion_grid,
    "check_confusion_matrices": check_confusion_matrices,
}
STACK_ONLY = {
    "ConfusionMatricesInitializer": ConfusionMatricesInitializer,
    "confusion_matrix_images": confusion_matrix_images,
}


def test_a_single_matrix_is_one_annotator():
    stack = confusion_matrix_stack([[1, 0], [0, 1]])
    assert stack.shape == (1, 2, 2) and stack.dtype == np.float64
    with pytest.raises(ValueError, match=r"m must be \(M, K, K\); got shape \(2, 2\)"):
        confusion_matrix_stack(np.eye(2), "m", allow_single=False)


@pytest.mark.parametrize("name", sorted(SINGLE_ALLOWED) + sorted(STACK_ONLY))
@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 3, 1), (2, 2, 3)])
def test_other_shapes_are_refused_with_the_shape(name, shape):
    function = {**SINGLE_ALLOWED, **STACK_ONLY}[name]
    with pytest.raises(ValueError, match=r"must be \(M, K, K\).*got shape "
                       + re.escape(str(shape))):
        function(np.full(shape, 0.5))


@pytest.mark.parametrize("name", sorted(SINGLE_ALLOWED))
def test_a_single_matrix_is_accepted_where_documented(name):
    SINGLE_ALLOWED[name](np.eye(3))


@pytest.mark.parametrize("name", sorted(STACK_ONLY))
def test_a_single_matrix_is_refused_where_a_stack_is_needed(name):
    with pytest.raises(ValueError, match=r"must be \(M, K, K\); got shape \(3, 3\)"):
        STACK_ONLY[name](np.eye(3))
