"""Pick a `tf.distribute` strategy by name (used by `keras-crowd train --strategy`)."""

import tensorflow as tf

from keras_crowd.distribute import multiworker

STRATEGY_NAMES = ("default", "mirrored", "multiworker")


def make_strategy(name, devices=None):
    """The `tf.distribute.Strategy` called `name`.

    - `"default"`: the default strategy (one device, no distribution);
      `strategy.scope()` and `num_replicas_in_sync == 1` work as usual.
    - `"mirrored"`: `MirroredStrategy` over all local GPUs (or the CPU), or
      over `devices`.
    - `"multiworker"`: `MultiWorkerMirroredStrategy` over the cluster in the
      `TF_CONFIG` environment variable (see
      `keras_crowd.distribute.multiworker`). Call this first thing in the
      program, in every worker. Feed data with
      `keras_crowd.distribute.distribute_crowd_dataset` so that the global
      batch equals the single-process batch.

    `CrowdModel`'s loss is exact under all three: the same data and global
    batch size give the same weights as one device.

    Args:
        name: One of `"default"`, `"mirrored"`, `"multiworker"`.
        devices: Optional device list for `"mirrored"`.

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        ValueError: Unknown name, `devices` given for another strategy, or
            `"multiworker"` without a valid `TF_CONFIG`.
        RuntimeError: `"multiworker"` requested after TensorFlow started.

    Example:

    >>> strategy = make_strategy("mirrored")
    >>> with strategy.scope():
    ...     model = CrowdModel(backbone, num_annotators=44)
    ...     model.compile(optimizer="adam")
    """
    if name not in STRATEGY_NAMES:
        raise ValueError(
            f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGY_NAMES)}."
        )
    if devices is not None and name != "mirrored":
        raise ValueError(f"`devices` only applies to 'mirrored', not {name!r}.")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    return multiworker.multiworker_strategy()
