"""Feed crowd data to any strategy so each global batch is the 1-device batch.

With `MultiWorkerMirroredStrategy` every worker builds its own input
pipeline. Passing numpy arrays or an unsharded dataset to `fit` lets
tf.distribute decide how to split them (auto-sharding), which need not
reproduce the single-process batches. `distribute_crowd_dataset` makes
the split explicit: global batch `i` is items `[i*B, (i+1)*B)`, exactly as
`fit(x, y, batch_size=B, shuffle=False)` on one device, and replica `r`
(in the strategy's global replica order) gets the `r`-th contiguous chunk
of `B / num_replicas` items of it.
"""

import numpy as np
import tensorflow as tf

from keras_crowd.models import label_validation


def _global_batch_size(value):
    """`value` as an int, refusing anything but a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"The global batch size must be a positive integer; got {value!r}.")
    return int(value)


def replica_chunks_dataset(x, labels, global_batch_size, input_context):
    """The per-replica batches one input pipeline feeds, as a `tf.data.Dataset`.

    Args:
        x: `(N, ...)` features.
        labels: `(N, M)` dense crowd labels, or the padded-pair dict
            `{"annotator_ids": (N, R), "labels": (N, R)}`.
        global_batch_size: B, the batch size of one step over all replicas.
        input_context: The `tf.distribute.InputContext` of this pipeline.

    Returns:
        An endless (repeated) dataset of `(x, labels)` batches of
        `B / num_replicas` items: for each global batch, the chunks of this
        pipeline's replicas, in order. Only full global batches are kept, so
        every pass is `N // B` steps, one epoch.

    Example:

    >>> context = tf.distribute.InputContext(2, 1, 2)  # worker 1 of 2
    >>> chunks = list(replica_chunks_dataset(x, y, 64, context))
    """
    global_batch_size = _global_batch_size(global_batch_size)
    replicas = input_context.num_replicas_in_sync
    pipelines = input_context.num_input_pipelines
    if global_batch_size % replicas:
        raise ValueError(
            f"The global batch size {global_batch_size} must be divisible by "
            f"the number of replicas ({replicas})."
        )
    if replicas % pipelines:
        raise ValueError(
            f"{replicas} replicas cannot be split evenly over {pipelines} "
            "input pipelines (workers)."
        )
    per_replica = global_batch_size // replicas
    local_replicas = replicas // pipelines
    pipeline = input_context.input_pipeline_id
    num_items = len(x)
    steps = num_items // global_batch_size
    if steps == 0:
        raise ValueError(
            f"{num_items} items are fewer than one global batch of "
            f"{global_batch_size}."
        )
    used = steps * global_batch_size
    if isinstance(labels, dict):
        labels = {key: np.asarray(value)[:used] for key, value in labels.items()}
    else:
        labels = np.asarray(labels)[:used]
    dataset = tf.data.Dataset.from_tensor_slices((np.asarray(x)[:used], labels))
    dataset = dataset.batch(per_replica, drop_remainder=True).enumerate()
    # Chunk c is replica (c % replicas)'s share of global batch c // replicas;
    # replicas [pipeline * local, (pipeline + 1) * local) belong to this pipeline.
    dataset = dataset.filter(
        lambda chunk, _: (chunk % replicas) // local_replicas == pipeline
    )
    # Repeated: Keras keeps one iterator across epochs when given
    # `steps_per_epoch`, and every epoch is exactly `steps` global batches.
    return dataset.map(lambda _, batch: batch).repeat().prefetch(tf.data.AUTOTUNE)


def distribute_crowd_dataset(strategy, x, labels, global_batch_size):
    """A distributed dataset whose global batches equal the 1-device batches.

    Args:
        strategy: Any `tf.distribute.Strategy` (default, Mirrored,
            MultiWorkerMirrored).
        x: `(N, ...)` features, the same array on every worker.
        labels: `(N, M)` dense crowd labels (-1 missing) or the padded-pair
            dict, the same on every worker.
        global_batch_size: B, the batch of one step summed over replicas.

    Raises:
        ValueError: if the global batch size is not a positive integer, the
            labels are not integers that are -1 or >= 0, the features are
            not finite, or their numbers of rows differ.
            `CrowdModel.fit` then checks the labels against the model's M
            and K before training.

    Returns:
        `(dataset, steps_per_epoch)`: a `tf.distribute.DistributedDataset`
        for `model.fit(dataset, steps_per_epoch=steps_per_epoch, ...)`,
        where `steps_per_epoch = N // B` (a last partial batch is dropped).
        Call `fit` with `shuffle=False`; shuffle `x` and `labels` yourself
        (with the same seed on every worker) if needed.

    Example:

    >>> strategy = make_strategy("multiworker")
    >>> with strategy.scope():
    ...     model = CrowdModel(backbone, num_annotators=M)
    ...     model.compile(optimizer="adam")
    >>> data, steps = distribute_crowd_dataset(strategy, x, labels, 256)
    >>> model.fit(data, steps_per_epoch=steps, epochs=10, shuffle=False)
    """
    # What can be checked without the model (integer labels >= -1, finite
    # features, as many rows as labels) fails here; `CrowdModel.fit` checks
    # the recorded arrays against its M and K, since it cannot map the
    # distributed dataset to check its batches as they stream.
    label_validation.validate_features(
        x, label_validation.validate_crowd_labels(labels, None, None)
    )
    global_batch_size = _global_batch_size(global_batch_size)
    steps = len(x) // global_batch_size
    dataset = strategy.distribute_datasets_from_function(
        lambda context: replica_chunks_dataset(x, labels, global_batch_size, context)
    )
    return label_validation.mark_source_arrays(dataset, x, labels), steps
