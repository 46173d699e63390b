"""LazyAdam: exactly Adam for dense gradients, row-wise for IndexedSlices."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_crowd import CrowdModel
from keras_crowd.optimizers import LazyAdam

LR, B1, B2, EPS = 0.01, 0.9, 0.999, 1e-7


def _run(optimizer, initial, gradients):
    variable = keras.Variable(initial)
    for gradient in gradients:
        optimizer.apply([gradient], [variable])
    return variable.numpy()


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("weight_decay", [None, 0.05])
def test_dense_gradients_follow_adam_exactly(amsgrad, weight_decay):
    rng = np.random.default_rng(0)
    initial = rng.normal(size=(6, 3, 3)).astype("float32")
    gradients = [tf.constant(rng.normal(size=(6, 3, 3)), tf.float32) for _ in range(5)]
    kwargs = dict(learning_rate=LR, amsgrad=amsgrad, weight_decay=weight_decay)
    lazy = _run(LazyAdam(**kwargs), initial, gradients)
    adam = _run(keras.optimizers.Adam(**kwargs), initial, gradients)
    np.testing.assert_array_equal(lazy, adam)
    assert np.abs(lazy - initial).max() > 1e-3


def _lazy_reference(initial, steps, amsgrad=False):
    """Row-wise lazy Adam in numpy; `steps` is a list of (indices, values)."""
    w = initial.astype("float64").copy()
    m, v, v_hat = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t, (indices, values) in enumerate(steps, start=1):
        summed = {}
        for index, value in zip(indices, values):  # duplicates are summed
            summed[index] = summed.get(index, 0) + value
        alpha = LR * np.sqrt(1 - B2**t) / (1 - B1**t)
        for i, g in summed.items():
            m[i] = B1 * m[i] + (1 - B1) * g
            v[i] = B2 * v[i] + (1 - B2) * g * g
            v_hat[i] = np.maximum(v_hat[i], v[i])
            w[i] -= alpha * m[i] / (np.sqrt(v_hat[i] if amsgrad else v[i]) + EPS)
    return w


@pytest.mark.parametrize("amsgrad", [False, True])
def test_sparse_rows_follow_lazy_adam_and_other_rows_stay(amsgrad):
    rng = np.random.default_rng(1)
    initial = rng.normal(size=(8, 2, 2)).astype("float32")
    steps = [([1, 3, 1], rng.normal(size=(3, 2, 2))),   # row 1 twice: summed
             ([3, 5], rng.normal(size=(2, 2, 2))),
             ([1], rng.normal(size=(1, 2, 2)))]          # row 3, 5 idle here
    optimizer = LazyAdam(learning_rate=LR, amsgrad=amsgrad)
    variable = keras.Variable(initial)
    after_step_2 = None
    for step, (indices, values) in enumerate(steps):
        gradient = tf.IndexedSlices(
            tf.constant(values, tf.float32), tf.constant(indices), tf.constant([8, 2, 2])
        )
        optimizer.apply([gradient], [variable])
        if step == 1:
            after_step_2 = variable.numpy().copy()
    result = variable.numpy()
    np.testing.assert_allclose(result, _lazy_reference(initial, steps, amsgrad), atol=1e-6)
    untouched = [0, 2, 4, 6, 7]
    np.testing.assert_array_equal(result[untouched], initial[untouched])
    # Lazy: rows 3 and 5 have momentum but no gradient at step 3, so they stay
    # (dense Adam would keep moving them).
    np.testing.assert_array_equal(result[[3, 5]], after_step_2[[3, 5]])
    m = optimizer._momentums[0].numpy()
    assert np.all(m[untouched] == 0) and np.all(m[[1, 3, 5]] != 0)


def test_sparse_update_covering_every_row_equals_adam():
    rng = np.random.default_rng(2)
    initial = rng.normal(size=(5, 3)).astype("float32")
    dense = [rng.normal(size=(5, 3)).astype("float32") for _ in range(4)]
    sparse = [tf.IndexedSlices(tf.constant(g[::-1]), tf.constant([4, 3, 2, 1, 0]), tf.constant([5, 3]))
              for g in dense]
    lazy = _run(LazyAdam(LR, weight_decay=0.1), initial, sparse)
    adam = _run(keras.optimizers.Adam(LR, weight_decay=0.1), initial, [tf.constant(g) for g in dense])
    np.testing.assert_allclose(lazy, adam, rtol=1e-6, atol=1e-7)


def _full_size_ops(optimizer, shape):
    """Ops of one sparse apply step that produce a tensor as big as the variable."""
    variable = keras.Variable(np.zeros(shape, "float32"))
    gradient = tf.IndexedSlices(tf.ones((3,) + shape[1:]), tf.constant([0, 7, 7]), tf.constant(shape))
    optimizer.build([variable])

    @tf.function
    def step():
        optimizer.apply([gradient], [variable])

    graph = step.get_concrete_function().graph
    full = [op.type for op in graph.get_operations()
            if any(out.shape == shape for out in op.outputs)]
    return full, [op.type for op in graph.get_operations()]


def test_sparse_step_never_materialises_the_whole_variable():
    shape = (1000, 4, 4)
    adam_full, _ = _full_size_ops(keras.optimizers.Adam(), shape)
    assert adam_full, "Adam densifies: the check must see full-size ops"
    lazy_full, lazy_ops = _full_size_ops(LazyAdam(), shape)
    assert lazy_full == []
    # The scatter put the variable in copy-on-read mode; LazyAdam turns it
    # off so the forward pass's dense read does not copy M*K*K values.
    assert "DisableCopyOnRead" in lazy_ops


def _distinct_annotator_ids(rng, num_annotators, num_items, per_item=2):
    """`(num_items, per_item)` ids, distinct within each item (one label per
    item and annotator, as `fit` requires)."""
    order = np.argsort(rng.random((num_items, num_annotators)), axis=1)
    return order[:, :per_item].astype("int32")


def _crowd_data(num_annotators, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 4)).astype("float32")
    ids = _distinct_annotator_ids(rng, num_annotators, 64)
    labels = rng.integers(0, 3, size=(64, 2)).astype("int32")
    return x, {"annotator_ids": ids, "labels": labels}


def _crowd_model(optimizer):
    keras.utils.set_random_seed(0)
    backbone = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model = CrowdModel(backbone, 20)
    model.compile(optimizer=optimizer)
    return model


def test_crowd_model_with_lazy_adam_leaves_idle_annotators_alone():
    x, labels = _crowd_data(20)
    # Annotators 10..19 label batch 0 only.
    labels["annotator_ids"][16:] = _distinct_annotator_ids(np.random.default_rng(1), 10, 48)
    model = _crowd_model(LazyAdam(0.05))
    before = model.crowd_layer.confusion_logits.numpy()
    model.fit(x[:16], {k: v[:16] for k, v in labels.items()}, batch_size=16, verbose=0)
    after_first = model.crowd_layer.confusion_logits.numpy()
    seen = np.unique(labels["annotator_ids"][:16])
    idle = np.setdiff1d(np.arange(20), seen)
    assert np.abs(after_first[seen] - before[seen]).max() > 1e-3
    np.testing.assert_array_equal(after_first[idle], before[idle])
    model.fit(x[16:], {k: v[16:] for k, v in labels.items()}, batch_size=48, verbose=0)
    late = np.setdiff1d(np.arange(10, 20), np.unique(labels["annotator_ids"][16:]))
    np.testing.assert_array_equal(model.crowd_layer.confusion_logits.numpy()[late], after_first[late])


def test_padding_slots_and_missing_labels_do_not_update_their_annotator():
    """A padding slot (id -1) gathers annotator 0's row and an annotator
    listed with label -1 gathers its own: both get all-zero gradient rows,
    which must leave the row, its moments and its decay alone."""
    x, labels = _crowd_data(20)
    ids, pair_labels = labels["annotator_ids"], labels["labels"]
    # Batch 1 (items 16..): annotator 0 is not among them, every item has a
    # padding slot, and annotator 7 appears with label -1 only.
    ids[16:] = np.where(ids[16:] == 0, 1, ids[16:])
    ids[16:, -1], pair_labels[16:, -1] = -1, -1
    ids[16:, 0] = np.where(np.arange(len(ids) - 16) % 2 == 0, 7, ids[16:, 0])
    pair_labels[16:][ids[16:] == 7] = -1
    assert 0 in ids[:16] and 7 in ids[:16]
    model = _crowd_model(LazyAdam(0.05, weight_decay=0.01))
    model.fit(x[:16], {k: v[:16] for k, v in labels.items()}, batch_size=16, verbose=0)
    after_first = model.crowd_layer.confusion_logits.numpy()
    moments = [v.numpy() for v in model.optimizer.variables if v.shape == after_first.shape]
    model.fit(x[16:], {k: v[16:] for k, v in labels.items()}, batch_size=48, verbose=0)
    after_second = model.crowd_layer.confusion_logits.numpy()
    for annotator in (0, 7):
        np.testing.assert_array_equal(after_second[annotator], after_first[annotator])
        for before, variable in zip(moments, [v for v in model.optimizer.variables
                                              if v.shape == after_first.shape]):
            np.testing.assert_array_equal(variable.numpy()[annotator], before[annotator])
    active = np.unique(ids[16:][pair_labels[16:] >= 0])
    assert np.abs(after_second[active] - after_first[active]).max() > 1e-3


def test_keras_file_round_trip_keeps_optimizer_and_resumes(tmp_path):
    x, labels = _crowd_data(20, seed=3)
    model = _crowd_model(LazyAdam(0.03, beta_2=0.99, amsgrad=True))
    model.fit(x, labels, batch_size=16, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "lazy.keras")
    loaded = keras.saving.load_model(tmp_path / "lazy.keras")
    assert isinstance(loaded.optimizer, LazyAdam)
    config = loaded.optimizer.get_config()
    assert (config["learning_rate"], config["beta_2"], config["amsgrad"]) == (
        pytest.approx(0.03), pytest.approx(0.99), True)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 4
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    model.fit(x, labels, batch_size=16, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, labels, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-7)
    assert keras.saving.get_registered_name(LazyAdam) == "keras_crowd>LazyAdam"


def test_lazy_adam_compiles_under_xla():
    """jit_compile=True works: the copy-on-read op is skipped inside XLA."""
    import keras
    import numpy as np

    from keras_crowd import CrowdModel
    from keras_crowd.optimizers import LazyAdam

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    pairs = {"annotator_ids": _distinct_annotator_ids(rng, 50, 64),
             "labels": rng.integers(0, 3, size=(64, 2))}
    backbone = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model = CrowdModel(backbone, 50)
    model.compile(optimizer=LazyAdam(0.05), jit_compile=True)
    before = model.crowd_layer.confusion_logits.numpy().copy()
    model.fit(x, pairs, batch_size=16, epochs=1, verbose=0)
    after = model.crowd_layer.confusion_logits.numpy()
    touched = np.unique(pairs["annotator_ids"])
    untouched = np.setdiff1d(np.arange(50), touched)
    assert np.abs(after[touched] - before[touched]).max() > 1e-3
    np.testing.assert_array_equal(after[untouched], before[untouched])


@pytest.mark.parametrize("clipping, rows_moved", [
    (dict(clipvalue=0.5), [True, False, False, False]),
    (dict(clipnorm=0.5), [True, False, False, False]),
    (dict(global_clipnorm=0.5), [True, True, True, True]),  # densified
])
def test_which_clipping_keeps_untouched_rows_untouched(clipping, rows_moved):
    """What the docstring says: clipnorm and clipvalue keep a sparse gradient
    sparse, global_clipnorm densifies it (Keras 3.15)."""
    variable = keras.Variable(np.ones((4, 3), "float32"))
    optimizer = LazyAdam(0.1, **clipping)
    optimizer.build([variable])
    optimizer.apply_gradients([(tf.ones((4, 3)), variable)])  # moments on every row
    before = variable.numpy().copy()
    gradient = tf.IndexedSlices(tf.ones((1, 3)), tf.constant([0]), tf.constant([4, 3]))
    optimizer.apply_gradients([(gradient, variable)])
    moved = np.abs(variable.numpy() - before).max(axis=1) > 0
    assert moved.tolist() == rows_moved


@pytest.mark.parametrize("clipping", [dict(clipvalue=0.5), dict(clipnorm=0.5)])
def test_clipping_applies_to_the_summed_rows_of_a_sparse_gradient(clipping):
    """Row 0 gathered twice, 0.4 each time: its gradient is 0.8 and is
    clipped as the dense 0.8 is (Keras clipped each 0.4, letting 0.8 pass)."""
    sparse = tf.IndexedSlices(tf.fill((2, 2), 0.4), tf.constant([0, 0]), tf.constant([3, 2]))
    initial = np.zeros((3, 2), "float32")
    lazy, reference = LazyAdam(LR, **clipping), LazyAdam(LR, **clipping)
    _run(lazy, initial, [sparse])
    _run(reference, initial, [tf.convert_to_tensor(sparse)])
    for slot, reference_slot in zip(lazy.variables, reference.variables):
        np.testing.assert_allclose(slot.numpy(), reference_slot.numpy(), rtol=1e-6)
    clipped = 0.5 if "clipvalue" in clipping else 0.5 / np.sqrt(2)  # per entry of row 0
    np.testing.assert_allclose(lazy._momentums[0].numpy()[0], [(1 - B1) * clipped] * 2, rtol=1e-5)
