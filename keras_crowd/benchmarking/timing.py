"""Epoch and step times of `fit`, without the work each `fit` call does once.

A `fit` call also builds its data adapter and iterator wrapper, runs the
callbacks' `on_train_begin`, and for a `CrowdModel` checks its inputs (a
sample of features through the backbone, the label checks mapped over a
`tf.data` pipeline): hundreds of milliseconds that do not recur per step.
The benchmarks time from `on_epoch_begin` to `on_epoch_end` instead.
"""

import time

import keras


class EpochTimes(keras.callbacks.Callback):
    """Wall time of each epoch, from `on_epoch_begin` to `on_epoch_end`.

    `seconds` holds one entry per epoch of the last `fit` call.

    Example:

    >>> timer = EpochTimes()
    >>> model.fit(x, y, epochs=5, callbacks=[timer])
    >>> timer.seconds   # five floats
    """

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def seconds_per_step(model, dataset, steps):
    """Seconds per step of one epoch of `steps` batches of `dataset`.

    The epoch is timed by `EpochTimes`, so what the `fit` call does before
    its first epoch or after its last is left out.

    Args:
        model: A compiled Keras model.
        dataset: A `tf.data.Dataset` of at least `steps` batches.
        steps: Batches in the epoch.

    Returns:
        The epoch's wall time divided by `steps`.

    Example:

    >>> seconds_per_step(model, dataset.repeat(), steps=100)
    0.0045
    """
    timer = EpochTimes()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0,
              callbacks=[timer])
    return timer.seconds[0] / steps
