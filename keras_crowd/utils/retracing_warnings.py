"""Silence TensorFlow's "frequent retracing" warning where retracing is intended.

TensorFlow warns when the same Python function is traced 5 times within 10
calls ("N out of the last M calls to <function ...> triggered tf.function
retracing"). It keys the count on the function's code object, so a loop that
builds and fits a *new* model each time, as the recipes do (one fit per
candidate lambda and per ensemble member), trips it on Keras's own train
function and on `HeldOutCrowdLikelihood`'s prediction function, although
each of those functions is traced exactly once. The warning then tells the
user to change code that has nothing to change.
"""

import contextlib
import logging

# The start of the message, in tensorflow/python/eager/polymorphic_function/
# polymorphic_function.py (TensorFlow 2.21).
RETRACING_MESSAGE = "triggered tf.function retracing"


class _DropRetracingWarning(logging.Filter):
    def filter(self, record):
        return RETRACING_MESSAGE not in record.getMessage()


@contextlib.contextmanager
def retracing_expected():
    """Within the block, drop TensorFlow's frequent-retracing warning.

    Only that message of the `tensorflow` logger is dropped, and only until
    the block ends; every other warning still shows.

    Example:

    >>> with retracing_expected():
    ...     for strength in grid:
    ...         fit_a_new_model(strength)
    """
    logger = logging.getLogger("tensorflow")
    retracing_filter = _DropRetracingWarning()
    logger.addFilter(retracing_filter)
    try:
        yield
    finally:
        logger.removeFilter(retracing_filter)
