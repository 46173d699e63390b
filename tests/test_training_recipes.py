"""train_crowd_classifier runs every method and selects without clean labels."""

import logging

import keras
import numpy as np
import pytest

from keras_crowd import backbones
from keras_crowd import datasets
from keras_crowd.aggregation import DawidSkene
from keras_crowd.data import EmptyTaskWarning
from keras_crowd.training import DEFAULT_WARMUP_EPOCHS
from keras_crowd.training import METHODS
from keras_crowd.training import STRENGTH_GRIDS
from keras_crowd.training import recipes
from keras_crowd.training import train_crowd_classifier
from keras_crowd.utils.retracing_warnings import RETRACING_MESSAGE
from unbuilt_classifier import UnbuiltClassifier


@pytest.fixture(scope="module")
def labelme():
    return datasets.labelme()


@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_and_beats_chance(labelme, method):
    result = train_crowd_classifier(
        labelme.x_train, labelme.crowd_labels, labelme.num_classes,
        lambda: backbones.labelme_classifier(seed=0), method=method,
        epochs=3, batch_size=100, learning_rate=3e-3, true_labels=labelme.y_train,
        confusion_initializer="dawid_skene" if method == "ccem" else "identity",
    )
    accuracy = (result.classifier.predict(labelme.x_test, verbose=0).argmax(1) == labelme.y_test).mean()
    assert accuracy > 0.5, f"{method}: {accuracy}"
    assert result.epochs_run == 3 and 1 <= result.selected_epoch <= 3
    total = int((labelme.crowd_labels >= 0).sum())
    if method == "oracle":
        assert result.num_heldout_labels == 0 and np.isnan(result.heldout_nll)
    else:
        assert result.num_train_labels + result.num_heldout_labels == total
        assert 0.05 * total < result.num_heldout_labels < 0.15 * total
        assert np.isfinite(result.heldout_nll)
    if result.model is not None or method == "dl-ds":
        np.testing.assert_allclose(result.confusion_matrices.sum(axis=1), 1.0, atol=1e-5)
    if result.model is not None:
        # 1000 items, 10% of the labels held out but every item kept: 10 steps
        # per epoch.
        assert result.model.regularization_warmup_steps == DEFAULT_WARMUP_EPOCHS * 10


def test_unknown_method_or_selection(labelme):
    with pytest.raises(ValueError, match="Unknown method"):
        train_crowd_classifier(labelme.x_train, labelme.crowd_labels, 8, None, method="nope")
    with pytest.raises(ValueError, match="Unknown selection"):
        train_crowd_classifier(labelme.x_train, labelme.crowd_labels, 8, None, selection="clean")
    with pytest.raises(ValueError, match="warmup_epochs"):
        train_crowd_classifier(labelme.x_train, labelme.crowd_labels, 8, None, warmup_epochs=-1)


@pytest.mark.parametrize("name, bad", [
    ("warmup_epochs", 2.5),  # was truncated to 2 warm-up epochs
    ("warmup_epochs", "20"),  # was a bare TypeError from the comparison
    ("warmup_epochs", None),
    ("ensemble_size", 0),
    ("ensemble_size", 2.5),
    ("ensemble_size", True),
])
def test_counts_must_be_whole_numbers(labelme, name, bad):
    with pytest.raises(ValueError, match=f"`{name}` must be a"):
        train_crowd_classifier(labelme.x_train, labelme.crowd_labels, 8, None, **{name: bad})


def test_item_holdout_trains_on_the_other_items(labelme):
    result = train_crowd_classifier(
        labelme.x_train, labelme.crowd_labels, labelme.num_classes,
        lambda: backbones.labelme_classifier(seed=0), method="ccem",
        epochs=2, batch_size=100, holdout="items",
    )
    total = int((labelme.crowd_labels >= 0).sum())
    assert result.num_train_labels + result.num_heldout_labels == total
    assert 0.04 * total < result.num_heldout_labels < 0.2 * total
    with pytest.raises(ValueError, match="Unknown holdout"):
        train_crowd_classifier(labelme.x_train, labelme.crowd_labels, 8, None, holdout="rows")


def test_auto_strength_tries_the_grid_and_keeps_the_largest_tolerated(labelme):
    result = train_crowd_classifier(
        labelme.x_train, labelme.crowd_labels, labelme.num_classes,
        lambda: backbones.labelme_classifier(seed=0), method="geocrowdnet-w",
        strength="auto", epochs=2, batch_size=100, seed=1,
    )
    grid = STRENGTH_GRIDS["geocrowdnet-w"]
    assert [c.strength for c in result.strength_candidates] == list(grid)
    tolerated = [c.strength for c in result.strength_candidates if c.within_tolerance]
    assert result.strength == max(tolerated)
    chosen = result.strength_candidates[grid.index(result.strength)]
    assert chosen.heldout_nll == pytest.approx(result.heldout_nll)
    expected = None if result.strength == 0 else result.strength
    assert (result.model.regularizer and result.model.regularizer.strength) == expected


def test_auto_strength_needs_a_regularized_method_and_held_out_labels(labelme):
    args = (labelme.x_train, labelme.crowd_labels, 8, None)
    with pytest.raises(ValueError, match="ccem has none"):
        train_crowd_classifier(*args, method="ccem", strength="auto")
    with pytest.raises(ValueError, match="needs selection='heldout'"):
        train_crowd_classifier(*args, strength="auto", selection="last")
    with pytest.raises(ValueError, match="'auto'"):
        train_crowd_classifier(*args, strength="large")


@pytest.mark.parametrize("strength", [True, float("nan"), -0.1, float("inf")])
def test_a_strength_that_is_not_a_finite_non_negative_number_is_refused(labelme, strength):
    """True used to train with lambda 1.0, NaN with a NaN regularizer."""
    with pytest.raises(ValueError, match="finite number >= 0"):
        train_crowd_classifier(labelme.x_train, labelme.crowd_labels, 8, None,
                               strength=strength)


def test_ensemble_averages_members_that_differ_in_seed_and_held_out_fold(labelme):
    x, labels = labelme.x_train, labelme.crowd_labels
    result = train_crowd_classifier(
        x, labels, labelme.num_classes,
        lambda seed: backbones.labelme_classifier(seed=seed), method="geocrowdnet-w",
        strength="auto", epochs=2, batch_size=100, seed=2, ensemble_size=3,
    )
    assert len(result.members) == 3 and result.model is None
    first = result.members[0]
    # The first member chose lambda on its held-out fold; the others reuse it.
    assert [c.strength for c in first.strength_candidates] == list(
        STRENGTH_GRIDS["geocrowdnet-w"])
    assert result.strength == first.strength
    assert all(m.strength == first.strength and not m.strength_candidates
               for m in result.members[1:])
    assert result.strength_candidates == first.strength_candidates
    # Different initial weights, so different classifiers ...
    test = labelme.x_test[:50]
    predictions = [m.classifier.predict(test, verbose=0) for m in result.members]
    assert not np.allclose(predictions[0], predictions[1], atol=1e-3)
    # ... whose probabilities the ensemble averages.
    np.testing.assert_allclose(result.classifier.predict(test, verbose=0),
                               np.mean(predictions, axis=0), atol=1e-6)
    np.testing.assert_allclose(result.confusion_matrices,
                               np.mean([m.confusion_matrices for m in result.members], axis=0))
    assert result.seconds == pytest.approx(sum(m.seconds for m in result.members))
    assert result.heldout_nll == pytest.approx(np.mean([m.heldout_nll for m in result.members]))
    # Each member hid its own fold of the same split: disjoint held-out labels.
    from keras_crowd.selection import split_observed_labels

    hidden = [split_observed_labels(labels, 0.1, seed=2, fold=f)[1] >= 0 for f in range(3)]
    assert [m.num_heldout_labels for m in result.members] == [int(h.sum()) for h in hidden]
    assert not np.any(hidden[0] & hidden[1]) and not np.any(hidden[1] & hidden[2])


def test_ensemble_needs_members_that_start_differently(labelme):
    args = (labelme.x_train[:200], labelme.crowd_labels[:200], labelme.num_classes)
    with pytest.raises(ValueError, match="same initial weights"):
        train_crowd_classifier(*args, lambda: backbones.labelme_classifier(seed=0),
                               method="ccem", epochs=1, batch_size=100, ensemble_size=2)
    # A zero-argument backbone without fixed seeds draws from the run's seed.
    result = train_crowd_classifier(*args, lambda: backbones.labelme_classifier(),
                                    method="dl-mv", epochs=1, batch_size=100, ensemble_size=2)
    assert len(result.members) == 2
    for size in (0, 1.5, True):
        with pytest.raises(ValueError, match="ensemble_size"):
            train_crowd_classifier(*args, lambda seed: None, ensemble_size=size)


def test_ensemble_of_unbuilt_subclassed_backbones_trains(labelme):
    # Two unbuilt backbones both have no weights, which used to count as
    # "the same initial weights" and refuse the ensemble.
    args = (labelme.x_train[:200], labelme.crowd_labels[:200], labelme.num_classes)
    result = train_crowd_classifier(
        *args, lambda seed: UnbuiltClassifier(labelme.num_classes, seed),
        method="ccem", epochs=1, batch_size=100, ensemble_size=2, seed=0)
    first, second = (m.classifier.get_weights() for m in result.members)
    assert not np.allclose(first[0], second[0])


def _small_crowd(num_items=90, num_classes=3, num_annotators=4, seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, num_classes, num_items)
    x = (np.eye(num_classes)[truth] * 3 + rng.normal(size=(num_items, num_classes)))
    noisy = rng.integers(0, num_classes, (num_items, num_annotators))
    crowd = np.where(rng.random((num_items, num_annotators)) < 0.8, truth[:, None], noisy)
    return x.astype("float32"), crowd, truth


def _small_classifier(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(3, activation="softmax")])


@pytest.mark.parametrize("method", ["ccem", "dl-mv", "dl-ds", "oracle"])
def test_validation_data_with_true_labels_logs_val_accuracy(method):
    x, crowd, truth = _small_crowd()
    result = train_crowd_classifier(
        x, crowd, 3, _small_classifier, method=method, epochs=2, batch_size=30,
        selection="last", true_labels=truth, validation_data=(x, truth),
    )
    accuracy = (result.classifier.predict(x, verbose=0).argmax(1) == truth).mean()
    assert result.history["val_accuracy"][-1] == pytest.approx(accuracy, abs=1e-6)


@pytest.mark.parametrize("method", ["dl-mv", "dl-ds", "oracle"])
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_plain_classifiers_take_one_hot_validation_labels(method, dtype):
    x, crowd, truth = _small_crowd()
    one_hot = np.eye(3, dtype=dtype)[truth]
    result = train_crowd_classifier(
        x, crowd, 3, _small_classifier, method=method, epochs=2, batch_size=30,
        selection="last", true_labels=truth, validation_data=(x, one_hot),
    )
    accuracy = (result.classifier.predict(x, verbose=0).argmax(1) == truth).mean()
    assert result.history["val_accuracy"][-1] == pytest.approx(accuracy, abs=1e-6)


@pytest.mark.parametrize(
    "labels, message",
    [(np.full(90, 3), "contain the class 3"),
     (np.full(90, -1), ">= 0"),
     (np.full(90, 0.5), "integers"),
     (np.zeros((90, 3, 1), "int64"), "1-D"),
     (np.zeros((90, 4), "float32"), "one column per class"),
     (np.full((90, 3), np.nan), "NaN"),
     (np.eye(3)[np.arange(90) % 3] - 0.5, "non-negative"),
     (np.eye(3)[np.arange(80) % 3], "rows"),
     (np.zeros(80, "int64"), "rows")],
)
def test_bad_validation_labels_are_refused_for_plain_classifiers(labels, message):
    x, crowd, _ = _small_crowd()
    with pytest.raises(ValueError, match=f"validation_data: .*({message})"):
        train_crowd_classifier(x, crowd, 3, _small_classifier, method="dl-mv", epochs=1,
                               batch_size=30, selection="last", validation_data=(x, labels))


def test_unlabeled_items_keep_the_aggregated_posterior_not_class_0():
    crowd = np.array([[2, 2, -1], [1, -1, 1], [-1, -1, -1], [2, 1, 2]])
    with pytest.warns(EmptyTaskWarning, match="uniform majority-vote posterior"):
        targets, _ = recipes._targets("dl-mv", crowd, 3, None)
    np.testing.assert_array_equal(targets[[0, 1, 3]], np.eye(3)[[2, 1, 2]])
    np.testing.assert_allclose(targets[2], np.full(3, 1 / 3))
    with pytest.warns(EmptyTaskWarning):
        targets, _ = recipes._targets("dl-ds", crowd, 3, None)
        prior = DawidSkene(num_classes=3).fit(crowd).priors_
    # Its posterior with no evidence is the prior (of the last E-step, one
    # M-step older than `priors_`).
    np.testing.assert_allclose(targets[2], prior, atol=1e-3)


def test_seed_none_draws_one_seed_and_other_seeds_are_refused(labelme):
    x, crowd = labelme.x_train[:200], labelme.crowd_labels[:200]

    def train(seed):
        return train_crowd_classifier(
            x, crowd, labelme.num_classes,
            lambda seed: backbones.labelme_classifier(seed=seed), method="ccem",
            epochs=1, batch_size=100, seed=seed, ensemble_size=2)

    first, second = train(None), train(None)
    differ = [not np.array_equal(a, b) for a, b in
              zip(first.members[0].classifier.get_weights(), second.members[0].classifier.get_weights())]
    assert any(differ)
    for seed in (-1, 1.5, "3", True):
        with pytest.raises(ValueError, match="seed must be a non-negative integer or None"):
            train(seed)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def tensorflow_warnings(monkeypatch):
    """Messages of the `tensorflow` logger, with TensorFlow's frequent-retracing
    detector fresh and unlimited (by default it warns twice per function per
    process, so earlier tests could have used up its warnings)."""
    from tensorflow.python.eager.polymorphic_function import polymorphic_function

    monkeypatch.setattr(polymorphic_function, "_frequent_tracing_detector_manager",
                        polymorphic_function._FrequentTracingDetectorManager())
    monkeypatch.setattr(polymorphic_function,
                        "FREQUENT_TRACING_WARNING_MAX_WARNING_PER_DETECTOR", 1000)
    records = _Records()
    logger = logging.getLogger("tensorflow")
    logger.addHandler(records)
    yield records.messages
    logger.removeHandler(records)


def _retracing(messages):
    return [m for m in messages if RETRACING_MESSAGE in m]


def test_recipes_do_not_print_the_false_retracing_alarm(tensorflow_warnings):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype("float32")
    labels = rng.integers(-1, 3, size=(60, 5))

    def backbone(seed):
        return backbones.mlp_classifier(4, 3, hidden_units=4, seed=seed)

    # A loop of new models, as the recipe runs, makes TensorFlow warn...
    for seed in range(7):
        model = backbone(seed)
        model.compile(loss="categorical_crossentropy")
        model.fit(x, np.eye(3)[rng.integers(0, 3, 60)], epochs=1, verbose=0)
    assert _retracing(tensorflow_warnings)
    tensorflow_warnings.clear()
    # ... but not within the recipe, which runs 7 fits here.
    train_crowd_classifier(x, labels, 3, backbone, method="geocrowdnet-f", strength="auto",
                           epochs=1, batch_size=20, seed=0, ensemble_size=2)
    assert not _retracing(tensorflow_warnings)
    # The filter is gone once the recipe returns.
    logging.getLogger("tensorflow").warning("5 calls %s", RETRACING_MESSAGE)
    assert _retracing(tensorflow_warnings)


@pytest.mark.parametrize(
    "labels, message",
    # -1 was one-hot encoded as the last class, 0.5 truncated to class 0.
    [(np.full(90, -1), ">= 0"),
     (np.full(90, 0.5), "integers"),
     (np.full(90, 3), "contain the class 3"),
     (np.zeros((90, 3, 1), "int64"), "1-D")],
)
def test_oracle_true_labels_are_checked(labels, message):
    x, crowd, _ = _small_crowd()
    with pytest.raises(ValueError, match=f"true_labels: .*({message})"):
        train_crowd_classifier(x, crowd, 3, _small_classifier, method="oracle", epochs=1,
                               batch_size=30, true_labels=labels)


def test_oracle_takes_one_hot_true_labels():
    x, crowd, truth = _small_crowd()
    results = [train_crowd_classifier(x, crowd, 3, _small_classifier, method="oracle",
                                      epochs=2, batch_size=30, true_labels=labels)
               for labels in (truth, np.eye(3, dtype="int64")[truth])]
    for a, b in zip(*(r.classifier.get_weights() for r in results)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_oracle_takes_a_column_of_true_labels():
    # An (N, 1) column of class indices (Keras's sparse-label layout) trained
    # before the true labels were checked; the check then read it as one-hot
    # rows of one class and refused it.
    x, crowd, truth = _small_crowd()
    results = [train_crowd_classifier(x, crowd, 3, _small_classifier, method="oracle",
                                      epochs=2, batch_size=30, true_labels=labels)
               for labels in (truth, truth[:, None])]
    for a, b in zip(*(r.classifier.get_weights() for r in results)):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("batch_size", [0, 2.5, 30.5, None])
def test_batch_size_must_be_a_positive_integer(batch_size):
    """A float used to fail in CrowdModel ("regularization_warmup_steps ...
    got 60.0"), 0 with a ZeroDivisionError, None with a TypeError."""
    x, crowd, _ = _small_crowd()
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
        train_crowd_classifier(x, crowd, 3, _small_classifier, method="ccem", epochs=1,
                               batch_size=batch_size)


@pytest.mark.parametrize("epochs", [0, 2.5, None])
def test_epochs_must_be_a_positive_integer(epochs):
    """epochs=0 used to return a result with selected_epoch None and a
    held-out NLL of inf, without a word."""
    x, crowd, _ = _small_crowd()
    with pytest.raises(ValueError, match="`epochs` must be a positive integer"):
        train_crowd_classifier(x, crowd, 3, _small_classifier, method="ccem", epochs=epochs,
                               batch_size=30)


def test_an_unknown_initializer_name_lists_the_recipes_own():
    """A typo of the recipe's 'dawid_skene' used to list only the layer's names."""
    x, crowd, _ = _small_crowd()
    with pytest.raises(ValueError, match="'dawid-skene'.*also takes 'dawid_skene'"):
        train_crowd_classifier(x, crowd, 3, _small_classifier, method="ccem", epochs=1,
                               batch_size=30, confusion_initializer="dawid-skene")


class _CountFits(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.fits = 0

    def on_train_begin(self, logs=None):
        self.fits += 1


def test_callbacks_may_be_none_or_one_callback_as_in_fit():
    x, crowd, _ = _small_crowd()
    result = train_crowd_classifier(x, crowd, 3, _small_classifier, method="ccem", epochs=1,
                                    batch_size=30, callbacks=None)
    assert result.epochs_run == 1
    counter = _CountFits()
    train_crowd_classifier(x, crowd, 3, _small_classifier, method="ccem", epochs=1,
                           batch_size=30, callbacks=counter, ensemble_size=2)
    assert counter.fits == 2


@pytest.mark.parametrize("options", [dict(ensemble_size=2, method="ccem"),
                                     dict(strength="auto", method="geocrowdnet-w")])
def test_a_backbone_fn_that_returns_one_model_again_is_refused(options):
    """Every fit after the first went on training the same model, and the
    ensemble held it twice: the check on initial weights compared trained
    weights."""
    x, crowd, _ = _small_crowd()
    model = _small_classifier(0)
    with pytest.raises(ValueError, match="returned a model it had returned before"):
        train_crowd_classifier(x, crowd, 3, lambda: model, epochs=1, batch_size=30, **options)


@pytest.mark.parametrize("method", ["ccem", "dl-mv"])
@pytest.mark.parametrize("num_classes", [2, 4])
def test_num_classes_must_match_the_classifier(method, num_classes):
    """A crowd method used to train the backbone's K=3 classes silently,
    whatever num_classes said."""
    x, crowd, _ = _small_crowd()
    with pytest.raises(ValueError, match=f"classifier of 3 classes.*num_classes={num_classes}"):
        train_crowd_classifier(x, crowd, num_classes, _small_classifier, method=method,
                               epochs=1, batch_size=30)


def test_patience_needs_held_out_selection():
    """With selection='last' it was silently ignored."""
    x, crowd, _ = _small_crowd()
    with pytest.raises(ValueError, match="patience .* needs selection='heldout'"):
        train_crowd_classifier(x, crowd, 3, _small_classifier, method="ccem", epochs=1,
                               batch_size=30, selection="last", patience=1)


@pytest.mark.parametrize(
    "x, crowd, message",
    [(np.zeros((90, 3), "float32"), np.zeros(90, "int64"), r"crowd_labels must be an \(N, M\)"),
     (np.zeros((80, 3), "float32"), np.zeros((90, 4), "int64"), "x has 80 rows but crowd_labels"),
     ({"features": np.zeros((90, 3), "float32")}, np.zeros((90, 4), "int64"),
      "several named inputs"),
     # Two inputs of other widths used to give numpy's "inhomogeneous shape" error.
     ([np.zeros((90, 3), "float32"), np.zeros((90, 2), "float32")], np.zeros((90, 4), "int64"),
      "several inputs")],
)
def test_features_and_labels_of_other_shapes_are_refused(x, crowd, message):
    with pytest.raises(ValueError, match=message):
        train_crowd_classifier(x, crowd, 3, _small_classifier, method="ccem", epochs=1,
                               batch_size=30)


@pytest.mark.parametrize("holdout", ["labels", "items"])
def test_a_holdout_that_hides_nothing_says_what_to_do(holdout):
    x, crowd, _ = _small_crowd(num_items=2)
    with pytest.raises(ValueError, match="hides no crowd label.*selection='last'"):
        train_crowd_classifier(x, crowd, 3, _small_classifier, method="ccem", epochs=1,
                               batch_size=30, holdout=holdout)


@pytest.mark.parametrize("holdout", ["labels", "items"])
def test_features_as_a_list_of_rows_train_like_the_array(holdout):
    """A list failed inside the held-out scorer, or at `x[~hidden]`."""
    x, crowd, _ = _small_crowd()
    results = [train_crowd_classifier(features, crowd, 3, _small_classifier, method="ccem",
                                      epochs=1, batch_size=30, holdout=holdout)
               for features in (x, x.tolist())]
    assert results[1].heldout_nll == pytest.approx(results[0].heldout_nll)


@pytest.mark.parametrize("options, fits", [(dict(ensemble_size=2, method="ccem"), 2),
                                           (dict(strength="auto", method="trace"), 4)])
def test_a_backup_shared_by_several_fits_is_refused(tmp_path, options, fits):
    """After a crash in the second member, a rerun's first member loaded that
    member's backup and trained only its remaining epochs (measured: 2 of 5,
    from the other member's weights), silently."""
    from keras_crowd.callbacks import AtomicBackupAndRestore

    x, crowd, _ = _small_crowd()
    counter = _CountFits()
    with pytest.raises(ValueError, match=f"runs {fits} fits"):
        train_crowd_classifier(x, crowd, 3, _small_classifier, epochs=1, batch_size=30,
                               callbacks=[counter, AtomicBackupAndRestore(tmp_path)], **options)
    assert counter.fits == 0


def test_a_backup_of_a_single_fit_resumes_it(tmp_path):
    from keras_crowd.callbacks import AtomicBackupAndRestore

    x, crowd, _ = _small_crowd()
    result = train_crowd_classifier(x, crowd, 3, _small_classifier, method="ccem", epochs=2,
                                    batch_size=30, callbacks=[AtomicBackupAndRestore(tmp_path)])
    assert result.epochs_run == 2


def _logits_classifier(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])


@pytest.mark.parametrize("method", METHODS)
def test_a_classifier_that_outputs_logits_is_refused_by_every_method(method):
    """DL-MV, DL-DS and oracle used to train logits with a cross-entropy on
    probabilities, and return a classifier whose rows did not sum to 1; the
    crowd methods told the user to pass a `from_logits` the recipe lacks."""
    x, crowd, truth = _small_crowd()
    with pytest.raises(ValueError, match="backbone_fn must build a classifier that outputs "
                                         "class probabilities"):
        train_crowd_classifier(x, crowd, 3, _logits_classifier, method=method, epochs=1,
                               batch_size=30, selection="last",
                               true_labels=truth if method == "oracle" else None)


def test_an_ensemble_exports_the_input_its_members_trained_on(tmp_path):
    # A backbone without keras.Input declares no dtype: the bare members of
    # the ensemble exported a float32 signature, which int32 ids then failed.
    import tensorflow as tf

    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 50, size=(120, 6)).astype("int32")
    truth = tokens[:, 0] % 3
    crowd = np.where(rng.random((120, 4)) < 0.7, truth[:, None], rng.integers(0, 3, (120, 4)))

    def backbone(seed):
        keras.utils.set_random_seed(seed)
        return keras.Sequential([keras.layers.Embedding(50, 4), keras.layers.Flatten(),
                                 keras.layers.Dense(3, activation="softmax")])

    result = train_crowd_classifier(tokens, crowd, 3, backbone, method="ccem", epochs=1,
                                    batch_size=40, ensemble_size=2, seed=0)
    ensemble = result.classifier
    assert ensemble.input_signature.dtype == tf.int32
    path = ensemble.export_classifier(tmp_path / "m" / "1")
    signature = tf.saved_model.load(path).signatures["serving_default"]
    (name, spec), = signature.structured_input_signature[1].items()
    assert spec.dtype == tf.int32
    served = signature(**{name: tf.constant(tokens[:5])})["probabilities"].numpy()
    np.testing.assert_allclose(served, ensemble.predict(tokens[:5], verbose=0), atol=1e-6)
    ensemble.save(tmp_path / "ensemble.keras")
    reloaded = keras.saving.load_model(tmp_path / "ensemble.keras")
    assert reloaded.input_signature.dtype == tf.int32
    assert reloaded.input_signature.shape.as_list() == [None, 6]
