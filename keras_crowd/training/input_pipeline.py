"""The input pipeline of the training recipes: whole epochs, few Python calls.

Keras `fit` on numpy arrays builds a fresh `tf.data` iterator every epoch
and calls the compiled train function once per batch. On the small crowd
datasets (LabelMe: 10 batches an epoch; Music: 11) those fixed costs are
most of the run time: a 100-epoch Music run spent 8 s in `fit`, against
2-3 s for the GeoCrowdNet authors' PyTorch loop. `epoch_dataset` keeps the
same epochs (every item once per epoch, reshuffled each epoch, the last
batch partial) in one endless pipeline, so that `fit` keeps a single
iterator and can run a whole epoch per call
(`steps_per_execution=steps_per_epoch`).
"""

import numpy as np
import tensorflow as tf

from keras_crowd.models import label_validation
from keras_crowd.utils.arguments import positive_integer

# Rows of the features kept for `CrowdModel`'s check of the backbone outputs.
_FEATURE_SAMPLE_ROWS = 256


def epoch_dataset(x, targets, batch_size, seed=None, num_classes=None):
    """An endless dataset of shuffled epochs, and the steps in one epoch.

    Epoch `e` visits the items in the order of a permutation drawn from the
    stateless seed `(seed, e)`, so every iterator over the dataset sees the
    same batches, however many iterators were made before it (a peek at the
    first batch does not shift the order, and a `MirroredStrategy` run sees
    the batches of a one-device run).

    Args:
        x: `(N, ...)` features (a numpy array).
        targets: `(N, ...)` targets: crowd labels or class probabilities,
            or the padded-pair dict `{"annotator_ids": (N, R), "labels":
            (N, R)}` (`keras_crowd.data.to_padded_pairs(..., as_dict=True)`).
        batch_size: Items per batch.
        seed: Seed of the epochs' orders (an integer; `None` draws one).
        num_classes: Set it when `targets` are `(N, M)` crowd labels for a
            `CrowdModel` of K = `num_classes` classes: the labels (-1 or in
            `[0, K)`, integers) and the features (finite, one row per item)
            are then validated here, once, on the arrays, with a
            `ValueError` naming the first problem. `CrowdModel.fit` on
            this dataset, with a model of M annotators and K classes, then
            skips its batch-by-batch label checks and checks its backbone
            on the first rows of `x` instead of iterating the dataset. A
            dataset made from it (by `map`, `take`, ...) is checked again
            as it streams. Padded pairs are validated here too (ids >= 0,
            labels -1 or in `[0, K)`), and their ids against the model's M
            as they stream. `None` (default): nothing is validated here.

    Returns:
        `(dataset, steps_per_epoch)`: pass both to `model.fit(dataset,
        steps_per_epoch=steps_per_epoch, ...)`. Each run of
        `steps_per_epoch = ceil(N / batch_size)` batches is one epoch: a
        permutation of the N items, the last batch holding the remainder.

    Example:

    >>> dataset, steps = epoch_dataset(x, crowd_labels, batch_size=64, seed=0,
    ...                                num_classes=10)
    >>> model.fit(dataset, steps_per_epoch=steps, epochs=100)
    """
    x = np.asarray(x)
    pairs = label_validation.is_padded_pairs(targets)
    targets = tf.nest.map_structure(np.asarray, targets)
    for leaf in tf.nest.flatten(targets):
        if len(x) != len(leaf):
            raise ValueError(
                f"Features and targets have different numbers of rows: {len(x)} and "
                f"{len(leaf)}."
            )
    num_items = len(x)
    if num_items == 0:
        raise ValueError("Cannot train on an empty dataset (0 rows).")
    batch_size = positive_integer("batch_size", batch_size)
    if seed is None:
        seed = int(np.random.default_rng().integers(2**31 - 1))
    if num_classes is not None and pairs:
        label_validation.validate_features(
            x, label_validation.validate_crowd_labels(targets, None, num_classes)
        )
    elif num_classes is not None:
        if targets.ndim != 2:
            raise ValueError(
                "With num_classes, targets must be (N, M) crowd labels, -1 for missing; "
                f"got shape {targets.shape}."
            )
        label_validation.validate_features(
            x, label_validation.validate_crowd_labels(targets, targets.shape[1], num_classes)
        )
    steps_per_epoch = -(-num_items // batch_size)
    features, labels = tf.constant(x), tf.nest.map_structure(tf.constant, targets)

    def epoch_batches(epoch):
        noise = tf.random.stateless_uniform(
            [num_items], seed=tf.stack([tf.constant(int(seed), tf.int64), epoch])
        )
        return tf.data.Dataset.from_tensor_slices(tf.argsort(noise)).batch(batch_size)

    dataset = (
        tf.data.Dataset.counter()
        .flat_map(epoch_batches)
        .map(lambda index: (tf.gather(features, index),
                            tf.nest.map_structure(lambda leaf: tf.gather(leaf, index), labels)),
             num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    if num_classes is not None and not pairs:  # the ids' range needs the model's M
        label_validation.mark_validated(
            dataset, targets.shape[1], num_classes, x[:_FEATURE_SAMPLE_ROWS].copy()
        )
    return dataset, steps_per_epoch
