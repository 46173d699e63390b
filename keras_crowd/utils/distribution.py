"""Helpers that make hand-written losses exact under `tf.distribute`.

Keras sums the gradients of all replicas. A loss that is an average over
the *global* batch must therefore be written, on each replica, as that
replica's share of the global average:

- a sum over the replica's own items divided by a **global** count
  (`global_sum`), and
- a term that every replica computes identically (a penalty on the
  confusion matrices, or one computed on `all_gather`-ed predictions)
  divided by the number of replicas (`num_replicas`).

Outside any strategy these helpers are the identity, so the same code runs
on one device.
"""

import warnings

import tensorflow as tf


def num_replicas():
    """Number of replicas the current strategy trains in sync (1 if none)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def _replica_context():
    """The replica context when running inside a multi-replica step."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync <= 1:
        return None
    return context


def global_sum(value):
    """Sum of `value` over all replicas (a no-op on a single replica).

    Args:
        value: A tensor computed on each replica.

    Returns:
        The element-wise sum over replicas, identical on every replica.
    """
    context = _replica_context()
    if context is None:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def gather_global_batch(value):
    """Concatenate `value` over the replicas along axis 0.

    The gather is differentiable: the gradient of a term computed on the
    gathered tensor flows back to each replica's own rows. A term computed
    this way is identical on every replica, so divide it by
    `num_replicas()` before adding it to the per-replica loss.

    Args:
        value: A tensor of shape `(batch, ...)` on each replica.

    Returns:
        The tensor of shape `(global_batch, ...)`.
    """
    context = _replica_context()
    if context is None:
        return value
    return context.all_gather(value, axis=0)


def check_steps_per_execution(steps_per_execution, strategy):
    """Refuse several steps per compiled call under several replicas.

    There Keras 3.15 on TensorFlow 2.21 fails at the first call of
    `fit` (and of `CrowdModel.evaluate`, whose step sums over replicas)
    with "You must feed a value for placeholder tensor"
    (keras-team/keras#19246); measured with MirroredStrategy on two CPUs
    and with MultiWorkerMirroredStrategy on two workers.

    Args:
        steps_per_execution: The model's (or the recipe's) batches per call.
        strategy: The `tf.distribute.Strategy` it trains under, or `None`.

    Raises:
        ValueError: `steps_per_execution > 1` under several replicas.
    """
    replicas = _strategy_replicas(strategy)
    if steps_per_execution > 1 and replicas > 1:
        raise ValueError(
            f"steps_per_execution={steps_per_execution} cannot be used under a "
            f"tf.distribute strategy with {replicas} replicas: Keras 3.15 fails there "
            "(\"You must feed a value for placeholder tensor\", keras-team/keras#19246). "
            "Compile with steps_per_execution=1 (the default)."
        )


CLIPPING_ARGUMENTS = ("clipnorm", "clipvalue", "global_clipnorm")


def warn_about_per_replica_clipping(optimizer, strategy):
    """Warn that gradient clipping is not exact under several replicas.

    Keras 3.15 clips each replica's gradient before the all-reduce sums
    them, so a clipped step differs from one device's (measured: weights
    apart by 0.12-0.25 after two epochs with `clipnorm=0.005`,
    `clipvalue=0.002` or `global_clipnorm=0.005`, against 2e-7 without
    clipping). The loss and its gradients are exact; the clipping is not.

    Args:
        optimizer: The model's optimizer (a `LossScaleOptimizer`'s inner
            optimizer is read too), or `None`.
        strategy: The `tf.distribute.Strategy` it trains under, or `None`.
    """
    replicas = _strategy_replicas(strategy)
    if optimizer is None or replicas < 2:
        return
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    clipping = {name: getattr(inner, name, None) for name in CLIPPING_ARGUMENTS}
    clipping = {name: value for name, value in clipping.items() if value is not None}
    if clipping:
        settings = ", ".join(f"{name}={value}" for name, value in clipping.items())
        warnings.warn(
            f"The optimizer clips gradients ({settings}) under a strategy with "
            f"{replicas} replicas: Keras clips each replica's gradient before summing "
            "them, so training is not exactly that of one device (the loss and its "
            "gradients are). Train without clipping for exact results.",
            UserWarning,
            stacklevel=3,
        )


def _strategy_replicas(strategy):
    """The replicas of `strategy`; 1 for `None`."""
    return 1 if strategy is None else strategy.num_replicas_in_sync
