"""The recipes' input pipeline: whole shuffled epochs, identical to per-batch calls."""

import keras
import numpy as np
import pytest

from keras_crowd import backbones
from keras_crowd import datasets
from keras_crowd.training import epoch_dataset
from keras_crowd.training import train_crowd_classifier


def _index_batches(num_items, batch_size, seed, epochs):
    x = np.arange(num_items, dtype="float32")[:, None]
    dataset, steps = epoch_dataset(x, np.arange(num_items), batch_size, seed=seed)
    batches = [labels.numpy() for _, labels in dataset.take(steps * epochs)]
    return [batches[e * steps:(e + 1) * steps] for e in range(epochs)], steps


def test_every_epoch_is_a_fresh_permutation_with_a_partial_last_batch():
    epochs, steps = _index_batches(23, 5, seed=3, epochs=3)
    assert steps == 5
    orders = []
    for batches in epochs:
        assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
        order = np.concatenate(batches)
        np.testing.assert_array_equal(np.sort(order), np.arange(23))
        orders.append(order)
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])


def test_every_iterator_sees_the_same_epochs():
    first, _ = _index_batches(40, 8, seed=7, epochs=2)
    again, _ = _index_batches(40, 8, seed=7, epochs=2)
    other, _ = _index_batches(40, 8, seed=8, epochs=2)
    assert all(np.array_equal(a, b) for a, b in zip(sum(first, []), sum(again, [])))
    assert not np.array_equal(np.concatenate(first[0]), np.concatenate(other[0]))
    # A second iterator over the same dataset starts from epoch 0 again.
    dataset, steps = epoch_dataset(np.zeros((40, 1)), np.arange(40), 8, seed=7)
    next(iter(dataset))
    replay = [labels.numpy() for _, labels in dataset.take(steps)]
    assert all(np.array_equal(a, b) for a, b in zip(first[0], replay))


@pytest.mark.parametrize("x, targets, batch_size, message", [
    (np.zeros((4, 2)), np.zeros(3), 2, "different numbers of rows"),
    (np.zeros((0, 2)), np.zeros(0), 2, "empty"),
    (np.zeros((4, 2)), np.zeros(4), 0, "batch_size"),
    # int() made batches of 2 of 2.5, and epochs of another length than the
    # ceil(N / 2.5) steps a caller computes.
    (np.zeros((4, 2)), np.zeros(4), 2.5, "batch_size"),
    (np.zeros((4, 2)), np.zeros(4), None, "batch_size"),
])
def test_bad_pipeline_arguments(x, targets, batch_size, message):
    with pytest.raises(ValueError, match=message):
        epoch_dataset(x, targets, batch_size)


def _fit_weights(data, steps_per_execution):
    result = train_crowd_classifier(
        data.x_train[:300], data.crowd_labels[:300], data.num_classes,
        lambda seed: backbones.music_classifier(seed=seed), method="geocrowdnet-f",
        strength=0.01, epochs=3, batch_size=64, seed=4,
        steps_per_execution=steps_per_execution,
    )
    return result.model.get_weights(), result.history["heldout_crowd_nll"]


def test_one_call_per_epoch_trains_exactly_like_one_call_per_batch():
    """steps_per_execution=None (the default) runs the same batches and updates."""
    data = datasets.music()
    fast, fast_scores = _fit_weights(data, None)
    slow, slow_scores = _fit_weights(data, 1)
    np.testing.assert_allclose(fast_scores, slow_scores, rtol=1e-5)
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("value", [0, 3, 2.0, True])
def test_steps_per_execution_must_divide_the_epoch(value):
    data = datasets.music()
    with pytest.raises(ValueError, match="steps_per_execution"):
        train_crowd_classifier(data.x_train[:300], data.crowd_labels[:300], data.num_classes,
                               lambda seed: backbones.music_classifier(seed=seed),
                               method="ccem", epochs=1, batch_size=64,
                               steps_per_execution=value)
    keras.backend.clear_session()


@pytest.mark.parametrize("mutate, message", [
    (lambda x, y: y.__setitem__((3, 1), 4), "only 4 classes"),
    (lambda x, y: y.__setitem__((3, 1), -2), "found -2"),
    (lambda x, y: x.__setitem__((2, 0), np.nan), "NaN or inf"),
])
def test_num_classes_validates_crowd_labels_and_features_up_front(mutate, message):
    x = np.zeros((10, 3), "float32")
    labels = np.full((10, 5), -1)
    labels[:, 0] = np.arange(10) % 4
    epoch_dataset(x, labels, 4, seed=0, num_classes=4)  # valid
    mutate(x, labels)
    with pytest.raises(ValueError, match=message):
        epoch_dataset(x, labels, 4, seed=0, num_classes=4)


def test_num_classes_needs_crowd_label_matrices():
    with pytest.raises(ValueError, match=r"\(N, M\) crowd labels"):
        epoch_dataset(np.zeros((4, 2)), np.zeros(4, "int64"), 2, num_classes=3)


def test_validation_does_not_change_the_batches():
    x = np.arange(30, dtype="float32")[:, None]
    labels = (np.arange(60).reshape(30, 2) % 3)
    plain, steps = epoch_dataset(x, labels, 7, seed=2)
    checked, _ = epoch_dataset(x, labels, 7, seed=2, num_classes=3)
    for (xa, ya), (xb, yb) in zip(plain.take(2 * steps), checked.take(2 * steps)):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_padded_pairs_give_the_batches_and_training_of_dense_labels():
    """The padded-pair dict is crowd labels too (it was a bare TypeError,
    "len() of unsized object"); its batches are the same items'."""
    from keras_crowd import CrowdModel
    from keras_crowd.data import from_padded_pairs
    from keras_crowd.data import to_padded_pairs

    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4)).astype("float32")
    labels = rng.integers(0, 3, size=(30, 5))
    labels[rng.random(labels.shape) < 0.5] = -1
    pairs = to_padded_pairs(labels, as_dict=True)
    dense_data, steps = epoch_dataset(x, labels, 8, seed=3, num_classes=3)
    pair_data, pair_steps = epoch_dataset(x, pairs, 8, seed=3, num_classes=3)
    assert pair_steps == steps == 4
    for (xa, ya), (xb, yb) in zip(dense_data.take(2 * steps), pair_data.take(2 * steps)):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(
            from_padded_pairs(yb["annotator_ids"].numpy(), yb["labels"].numpy(), 5), ya)
    weights = []
    for data in (dense_data, pair_data):
        keras.utils.set_random_seed(0)
        model = CrowdModel(keras.Sequential([keras.Input((4,)),
                                             keras.layers.Dense(3, activation="softmax")]), 5)
        model.compile(optimizer=keras.optimizers.Adam(0.05))
        model.fit(data, steps_per_epoch=steps, epochs=2, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(b, a, atol=1e-6)
    bad = dict(pairs, labels=np.where(pairs["labels"] == 2, 3, pairs["labels"]))
    with pytest.raises(ValueError, match="only 3 classes"):
        epoch_dataset(x, bad, 8, num_classes=3)
    with pytest.raises(ValueError, match="different numbers of rows"):
        epoch_dataset(x[:-1], pairs, 8)
