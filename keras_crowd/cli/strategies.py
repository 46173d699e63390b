"""The ``--strategy`` option: which `tf.distribute` strategy to train under.

The work is `keras_crowd.distribute.make_strategy`'s; it is imported only
when ``train`` runs, and its errors become one-line CLI errors.
"""

STRATEGY_NAMES = ("default", "mirrored", "multiworker")


def make_strategy(name):
    """The strategy for ``--strategy NAME``.

    Args:
        name: ``"default"`` (one device), ``"mirrored"`` (all local GPUs, or
            the CPU) or ``"multiworker"`` (the cluster in ``TF_CONFIG``).

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        ValueError: unknown name, invalid ``TF_CONFIG``, or a multi-worker
            strategy requested after TensorFlow started.

    Example:

    >>> strategy = make_strategy("mirrored")
    >>> strategy.num_replicas_in_sync
    """
    if name not in STRATEGY_NAMES:
        raise ValueError(f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGY_NAMES)}.")
    from keras_crowd.distribute import make_strategy as library_make_strategy

    try:
        return library_make_strategy(name)
    except RuntimeError as error:  # e.g. multiworker after TensorFlow started
        raise ValueError(str(error)) from None


def num_replicas(strategy):
    """Replicas in sync (1 without a strategy)."""
    return 1 if strategy is None else int(strategy.num_replicas_in_sync)
