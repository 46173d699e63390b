"""Label-free model selection: the held-out split, the score, the callback."""

import keras
import numpy as np
import pytest

from keras_crowd import CrowdModel
from keras_crowd.selection import HeldOutCrowdLikelihood
from keras_crowd.selection import choose_strength
from keras_crowd.selection import heldout_crowd_nll
from keras_crowd.selection import heldout_label_nlls
from keras_crowd.selection import split_observed_labels


def _labels(seed=0, n=300, m=12, k=4):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, size=(n, m))
    labels[rng.random((n, m)) < 0.75] = -1
    return labels


def test_split_partitions_observed_labels_and_keeps_everyone():
    labels = _labels()
    train, heldout = split_observed_labels(labels, 0.3, seed=1)
    observed = labels >= 0
    assert not np.any((train >= 0) & (heldout >= 0))
    np.testing.assert_array_equal(np.where(train >= 0, train, heldout), labels)
    assert 0.15 < (heldout >= 0).sum() / observed.sum() < 0.35
    has_label = observed.any(axis=1)
    assert np.all((train >= 0).any(axis=1)[has_label])
    assert np.all((train >= 0).any(axis=0)[observed.any(axis=0)])
    again, _ = split_observed_labels(labels, 0.3, seed=1)
    np.testing.assert_array_equal(again, train)


def test_split_refuses_bad_arguments():
    with pytest.raises(ValueError, match=r"\(N, M\)"):
        split_observed_labels(np.zeros(5, int))
    with pytest.raises(ValueError, match="holdout_fraction"):
        split_observed_labels(_labels(), 1.0)
    for fold in (-1, 1.5, True):
        with pytest.raises(ValueError, match="fold"):
            split_observed_labels(_labels(), 0.1, fold=fold)


def test_folds_of_one_seed_hide_disjoint_labels_and_keep_everyone():
    labels = _labels(seed=3)
    observed = labels >= 0
    hidden = []
    for fold in range(5):
        train, heldout = split_observed_labels(labels, 0.2, seed=9, fold=fold)
        np.testing.assert_array_equal(np.where(train >= 0, train, heldout), labels)
        assert np.all((train >= 0).any(axis=1)[observed.any(axis=1)])
        assert np.all((train >= 0).any(axis=0)[observed.any(axis=0)])
        hidden.append(heldout >= 0)
    for i in range(5):
        assert 0.1 * observed.sum() < hidden[i].sum() <= 0.2 * observed.sum() + 1
        for j in range(i):
            assert not np.any(hidden[i] & hidden[j]), (i, j)
    # Together the five folds of 20% hide most labels (all but those given back).
    assert np.any(hidden, axis=0).sum() > 0.8 * observed.sum()
    # Past the last disjoint fold, the slices wrap around.
    _, wrapped = split_observed_labels(labels, 0.2, seed=9, fold=5)
    assert np.any((wrapped >= 0) & hidden[0])


def test_item_folds_are_disjoint():
    from keras_crowd.selection import split_heldout_items

    labels = _labels(seed=6)
    folds = [split_heldout_items(labels, 0.25, seed=1, fold=f) for f in range(4)]
    for i in range(4):
        assert 0.2 * len(labels) < folds[i].sum() < 0.3 * len(labels)
        for j in range(i):
            assert not np.any(folds[i] & folds[j])


def test_heldout_nll_matches_direct_computation():
    rng = np.random.default_rng(2)
    k, m = 3, 4
    probabilities = rng.dirichlet(np.ones(k), size=5)
    confusion = rng.dirichlet(np.ones(k), size=(m, k)).transpose(0, 2, 1)
    heldout = np.full((5, m), -1)
    heldout[0, 1], heldout[3, 2] = 2, 0
    expected = -np.mean([
        np.log(confusion[1, 2] @ probabilities[0]),
        np.log(confusion[2, 0] @ probabilities[3]),
    ])
    assert heldout_crowd_nll(probabilities, confusion, heldout) == pytest.approx(expected)
    per_label = heldout_label_nlls(probabilities, confusion, heldout)
    np.testing.assert_allclose(per_label, [-np.log(confusion[1, 2] @ probabilities[0]),
                                           -np.log(confusion[2, 0] @ probabilities[3])])
    assert np.isnan(heldout_crowd_nll(probabilities, confusion, np.full((5, m), -1)))


def test_callback_restores_best_epoch_weights():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 5)).astype("float32")
    labels = _labels(seed=4)  # pure noise: held-out score gets worse as it overfits
    train, heldout = split_observed_labels(labels, 0.3, seed=0)
    keras.utils.set_random_seed(0)
    backbone = keras.Sequential([keras.Input((5,)), keras.layers.Dense(64, activation="relu"),
                                 keras.layers.Dense(4, activation="softmax")])
    model = CrowdModel(backbone, labels.shape[1])
    model.compile(optimizer=keras.optimizers.Adam(3e-2))
    selector = HeldOutCrowdLikelihood(x, heldout)
    history = model.fit(x, train, batch_size=32, epochs=12, verbose=0, callbacks=[selector])
    assert history.history["heldout_crowd_nll"] == selector.scores
    assert selector.best_epoch == int(np.argmin(selector.scores)) + 1
    assert selector.best_epoch < 12, "noise labels should overfit, so a late epoch is worse"
    restored = heldout_crowd_nll(model.predict(x, verbose=0), model.confusion_matrices, heldout)
    assert restored == pytest.approx(selector.best_score, rel=1e-4)
    assert np.mean(selector.best_label_nlls) == pytest.approx(selector.best_score)
    assert selector.best_label_nlls.shape == (int((heldout >= 0).sum()),)


def _plain_classifier_and_one_heldout_label(num_outputs):
    """10 items of 2 features, one held-out label (annotator 0 of 3), and a
    compiled plain classifier of `num_outputs` classes."""
    x = np.zeros((10, 2), "float32")
    heldout = np.full((10, 3), -1)
    heldout[0, 0] = 1
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(num_outputs, activation="softmax")])
    model.compile(loss="categorical_crossentropy")
    return x, heldout, model


def test_callback_needs_noise_model_for_plain_classifier():
    x, heldout, model = _plain_classifier_and_one_heldout_label(2)
    selector = HeldOutCrowdLikelihood(x, heldout)
    with pytest.raises(ValueError, match="confusion_matrices"):
        model.fit(x, np.eye(2)[np.zeros(10, int)], epochs=1, verbose=0, callbacks=[selector])
    with pytest.raises(ValueError, match="no observed label"):
        HeldOutCrowdLikelihood(x, np.full((10, 3), -1))


def test_item_holdout_hides_whole_labelled_items():
    from keras_crowd.selection import split_heldout_items

    labels = _labels(seed=5)
    labels[:10] = -1  # unlabelled items are never hidden
    hidden = split_heldout_items(labels, 0.3, seed=2)
    assert hidden.dtype == bool and hidden.shape == (len(labels),)
    assert not hidden[:10].any()
    assert 0.15 < hidden.mean() < 0.45
    np.testing.assert_array_equal(hidden, split_heldout_items(labels, 0.3, seed=2))
    with pytest.raises(ValueError, match="holdout_fraction"):
        split_heldout_items(labels, -0.1)


def test_choose_strength_takes_the_largest_lambda_within_one_standard_error():
    rng = np.random.default_rng(7)
    base = rng.exponential(1.0, size=400)
    noise = rng.normal(0.0, 0.2, size=400)
    noise -= noise.mean()  # paired differences of mean exactly `shift`, s.e. 0.01
    se = noise.std(ddof=1) / np.sqrt(400)
    nlls = [base + shift + noise for shift in (0.0, 0.5 * se, 0.9 * se, 3 * se)]
    nlls[0] = base
    chosen, table = choose_strength([0.0, 0.1, 0.3, 1.0], nlls)
    assert chosen == 0.3
    assert [c.within_tolerance for c in table] == [True, True, True, False]
    assert table[2].excess_nll == pytest.approx(0.9 * se)
    assert table[2].standard_error == pytest.approx(se)
    # A stricter tolerance keeps a smaller lambda; a looser one the largest.
    assert choose_strength([0.0, 0.1, 0.3, 1.0], nlls, num_standard_errors=0.7)[0] == 0.1
    assert choose_strength([0.0, 0.1, 0.3, 1.0], nlls, num_standard_errors=5)[0] == 1.0
    # The best candidate need not be lambda = 0, and order does not matter.
    chosen, _ = choose_strength([1.0, 0.3, 0.0], [base + 1.0, base - 0.2, base])
    assert chosen == 0.3


def test_choose_strength_never_picks_a_diverged_run():
    good = np.linspace(0.5, 1.5, 50)
    diverged = good.copy()
    diverged[3] = np.nan
    chosen, table = choose_strength([0.0, 1.0], [good, diverged])
    assert chosen == 0.0 and not table[1].within_tolerance
    with pytest.raises(ValueError, match="NaN or infinite"):
        choose_strength([0.0], [diverged])


@pytest.mark.parametrize(
    "strengths, nlls, message",
    [
        ([], [], "at least one"),
        ([0.1, 0.1], [np.ones(3), np.ones(3)], "distinct"),
        ([-1.0], [np.ones(3)], "distinct and >= 0"),
        ([np.nan, 0.1], [np.ones(3), np.ones(3)], "distinct and >= 0"),
        ([0.1, np.inf], [np.ones(3), np.ones(3)], "distinct and >= 0"),
        ([0.0, 0.1], [np.ones(3)], "per-label NLL arrays for 2"),
        ([0.0, 0.1], [np.ones(3), np.ones(4)], "same held-out labels"),
        ([0.0], [np.ones(1)], "same held-out labels"),
    ],
)
def test_choose_strength_refuses_bad_input(strengths, nlls, message):
    with pytest.raises(ValueError, match=message):
        choose_strength(strengths, nlls)


class _EagerScores(keras.callbacks.Callback):
    """The held-out NLL of each epoch, computed eagerly after the selector's."""

    def __init__(self, x, heldout):
        super().__init__()
        self.x, self.heldout, self.scores = x, heldout, []

    def on_epoch_end(self, epoch, logs=None):
        probabilities = keras.ops.convert_to_numpy(self.model(self.x, training=False))
        self.scores.append(
            heldout_crowd_nll(probabilities, self.model.confusion_matrices, self.heldout))


@pytest.mark.parametrize("batch_size", [1024, 70])
def test_callback_scores_equal_the_eager_computation(batch_size):
    """The selector's one compiled call per epoch (predictions and confusion
    matrices together) scores exactly as `heldout_crowd_nll` does."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 5)).astype("float32")
    train, heldout = split_observed_labels(_labels(seed=6), 0.3, seed=1)
    keras.utils.set_random_seed(2)
    backbone = keras.Sequential([keras.Input((5,)), keras.layers.Dense(16, activation="relu"),
                                 keras.layers.Dense(4, activation="softmax")])
    model = CrowdModel(backbone, train.shape[1])
    model.compile(optimizer=keras.optimizers.Adam(3e-2))
    selector = HeldOutCrowdLikelihood(x, heldout, restore_best_weights=False,
                                      batch_size=batch_size)
    eager = _EagerScores(x, heldout)
    model.fit(x, train, batch_size=32, epochs=4, verbose=0, callbacks=[selector, eager])
    np.testing.assert_allclose(selector.scores, eager.scores, rtol=1e-6)


def test_diverged_run_stops_by_patience_and_is_flagged_as_diverged():
    """NaN scores never improve: patience counts from the start, a warning
    names the cause, and best_label_nlls holds the non-finite values, which
    choose_strength treats as a diverged candidate."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 5)).astype("float32")
    train, heldout = split_observed_labels(_labels(n=64, seed=6), 0.3, seed=0)
    backbone = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="softmax")])
    model = CrowdModel(backbone, train.shape[1], check_probabilities=False)
    model.compile(optimizer="adam")
    model.set_weights([w * np.nan if w.ndim == 2 else w for w in model.get_weights()])
    selector = HeldOutCrowdLikelihood(x, heldout, patience=2)
    with pytest.warns(RuntimeWarning, match="no epoch had a finite held-out"):
        model.fit(x, train, batch_size=32, epochs=5, verbose=0, callbacks=[selector])
    assert len(selector.scores) == 2 and np.isnan(selector.scores).all()
    assert selector.best_epoch is None
    assert selector.best_label_nlls.shape == (int((heldout >= 0).sum()),)
    assert not np.isfinite(selector.best_label_nlls).any()
    good = np.full(selector.best_label_nlls.shape, 1.0) + np.linspace(0, 0.1, len(selector.best_label_nlls))
    chosen, table = choose_strength([0.0, 1.0], [good, selector.best_label_nlls])
    assert chosen == 0.0 and not table[1].within_tolerance


def test_choose_strength_names_an_unscored_candidate():
    with pytest.raises(ValueError, match=r"No held-out per-label NLLs for lambda \[1.0\]"):
        choose_strength([0.0, 1.0], [np.array([1.0, 2.0]), None])


def test_choose_strength_with_an_infinite_tolerance_takes_the_largest_finite_lambda():
    rng = np.random.default_rng(0)
    base = rng.random(50)
    nlls = [base, base + 0.5 + 0.01 * rng.random(50), base + 2.0 + 0.01 * rng.random(50)]
    chosen, table = choose_strength([0.0, 0.1, 1.0], nlls, num_standard_errors=np.inf)
    assert chosen == 1.0 and all(c.within_tolerance for c in table)
    # The best candidate is always tolerated, even with no spread at all.
    for tolerance in (0.0, 1.0, np.inf):
        chosen, table = choose_strength([0.0, 0.1], [base, base.copy()], tolerance)
        assert chosen == 0.1 and all(c.within_tolerance for c in table)
        assert choose_strength([0.3], [base], tolerance)[0] == 0.3


def test_splits_read_nan_coded_labels_as_missing():
    """A float array with NaN for missing (accepted everywhere in keras_crowd) is
    split like its -1 form: NaN is never held out or counted as a label."""
    from keras_crowd.data import CrowdDataError
    from keras_crowd.selection import split_heldout_items

    labels = _labels(seed=8)
    labels[:10] = -1
    nan_coded = np.where(labels >= 0, labels, np.nan)
    for fold in (0, 1):
        expected = split_observed_labels(labels, 0.2, seed=3, fold=fold)
        for got, want in zip(split_observed_labels(nan_coded, 0.2, seed=3, fold=fold), expected):
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(split_heldout_items(nan_coded, 0.3, seed=3, fold=fold),
                                      split_heldout_items(labels, 0.3, seed=3, fold=fold))
    with pytest.raises(CrowdDataError):
        split_observed_labels(labels + 0.5, 0.2, seed=3)


def test_callback_refuses_features_and_labels_of_other_items():
    """x must hold the items of heldout_labels: the full x with the labels of
    held-out items only (split_heldout_items) would score the wrong items."""
    x = np.zeros((10, 2), "float32")
    heldout = np.full((10, 3), -1)
    heldout[0, 0] = 1
    with pytest.raises(ValueError, match="10 rows of heldout_labels"):
        HeldOutCrowdLikelihood(np.zeros((12, 2), "float32"), heldout)
    confusion = np.tile(np.eye(2), (3, 1, 1))
    with pytest.raises(ValueError, match="3 annotators"):
        HeldOutCrowdLikelihood(x, heldout, confusion_matrices=confusion[:2])
    heldout[1, 2] = 2
    with pytest.raises(ValueError, match="2 classes"):
        HeldOutCrowdLikelihood(x, heldout, confusion_matrices=confusion)
    with pytest.raises(ValueError, match="no observed label"):
        HeldOutCrowdLikelihood(x, np.full((10, 3), np.nan))


def _small_crowd_model(num_annotators, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    backbone = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="softmax")])
    model = CrowdModel(backbone, num_annotators, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(3e-2))
    return model


def test_patience_counts_from_the_first_epoch_of_the_fit():
    """From initial_epoch=5 (a continued or resumed fit), a run that diverges
    stops after `patience` of its own epochs, not after its first one."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 5)).astype("float32")
    train, heldout = split_observed_labels(_labels(n=64, seed=6), 0.3, seed=0)
    model = _small_crowd_model(train.shape[1], check_probabilities=False)
    model.set_weights([w * np.nan if w.ndim == 2 else w for w in model.get_weights()])
    selector = HeldOutCrowdLikelihood(x, heldout, patience=2, restore_best_weights=False)
    with pytest.warns(RuntimeWarning, match="no epoch had a finite held-out"):
        history = model.fit(x, train, batch_size=32, epochs=10, initial_epoch=5, verbose=0,
                            callbacks=[selector])
    assert history.epoch == [5, 6]


def test_a_fit_from_a_later_epoch_warns_that_earlier_epochs_cannot_be_restored():
    """A fit resumed by BackupAndRestore (or given initial_epoch) restores the best
    of its own epochs only; the user is told so instead of silently getting
    another epoch than an uninterrupted run would keep."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 5)).astype("float32")
    train, heldout = split_observed_labels(_labels(n=64, seed=6), 0.3, seed=0)
    model = _small_crowd_model(train.shape[1])
    with pytest.warns(UserWarning, match="starts at epoch 4.*cannot be restored"):
        model.fit(x, train, epochs=4, initial_epoch=3, verbose=0,
                  callbacks=[HeldOutCrowdLikelihood(x, heldout)])


@pytest.mark.parametrize("columns, label, message", [
    (13, 0, "columns for 13 annotators"),   # one annotator more than the model's 12
    (11, 0, "columns for 11 annotators"),   # one fewer: labels would be misattributed
    (12, 4, "label 4, outside the 4 classes of the model's"),
])
def test_callback_refuses_heldout_labels_the_model_cannot_score(columns, label, message):
    """Checked when training begins, not after the first epoch (an IndexError),
    and never silently scored against other annotators' matrices."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 5)).astype("float32")
    train, heldout = split_observed_labels(_labels(n=64, seed=6), 0.3, seed=0)
    heldout = np.pad(heldout, ((0, 0), (0, 1)), constant_values=-1)[:, :columns]
    heldout[0, columns - 1] = label
    model = _small_crowd_model(train.shape[1])
    epochs = []
    counter = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epochs.append(epoch))
    with pytest.raises(ValueError, match=message):
        model.fit(x, train, epochs=2, verbose=0,
                  callbacks=[HeldOutCrowdLikelihood(x, heldout), counter])
    assert epochs == []


def test_callback_refuses_a_classifier_of_other_classes_than_the_noise_model():
    x, heldout, model = _plain_classifier_and_one_heldout_label(4)
    selector = HeldOutCrowdLikelihood(x, heldout, confusion_matrices=np.tile(np.eye(2), (3, 1, 1)))
    with pytest.raises(ValueError, match=r"probabilities must be \(10, 2\).*got shape \(10, 4\)"):
        model.fit(x, np.eye(4)[np.zeros(10, int)], epochs=1, verbose=0, callbacks=[selector])


def test_heldout_nll_refuses_arguments_that_do_not_fit_together():
    """Probabilities of every item with the labels of the held-out items only
    (split_heldout_items) were scored against the wrong rows without a word."""
    rng = np.random.default_rng(2)
    probabilities = rng.dirichlet(np.ones(3), size=8)
    confusion = np.tile(np.eye(3), (4, 1, 1))
    heldout = np.full((5, 4), -1)
    heldout[0, 1], heldout[3, 2] = 2, 0
    with pytest.raises(ValueError, match=r"probabilities must be \(5, 3\).*\(8, 3\)"):
        heldout_crowd_nll(probabilities, confusion, heldout)
    with pytest.raises(ValueError, match="columns for 4 annotators"):
        heldout_label_nlls(probabilities[:5], confusion[:3], heldout)
    with pytest.raises(ValueError, match=r"probabilities must be \(5, 3\)"):
        heldout_crowd_nll(probabilities[:5, :2], confusion, heldout)
    heldout[4, 0] = -2
    with pytest.raises(ValueError, match="negative"):
        heldout_crowd_nll(probabilities[:5], confusion, heldout)
    # No held-out item at all (split_heldout_items hid none): no label, nan.
    assert np.isnan(heldout_crowd_nll(np.zeros((0, 3)), confusion, np.zeros((0, 4), int)))


@pytest.mark.parametrize("arguments, message", [
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=None), "batch_size"),
    (dict(patience="3"), "patience"),
    (dict(patience=1.5), "patience"),
    (dict(patience=0), "patience"),
])
def test_callback_refuses_bad_settings_before_training(arguments, message):
    """They used to fail (or, for a fractional patience, be rounded) only at
    the end of the first epoch or at the first one without improvement."""
    x = np.zeros((10, 2), "float32")
    heldout = np.full((10, 3), -1)
    heldout[0, 0] = 1
    with pytest.raises(ValueError, match=message):
        HeldOutCrowdLikelihood(x, heldout, **arguments)


def test_callback_takes_features_as_a_list_and_refuses_a_dataset():
    import tensorflow as tf

    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 5)).astype("float32")
    train, heldout = split_observed_labels(_labels(n=64, seed=6), 0.3, seed=0)
    model = _small_crowd_model(train.shape[1])
    from_list = HeldOutCrowdLikelihood(x.tolist(), heldout, restore_best_weights=False)
    from_array = HeldOutCrowdLikelihood(x, heldout, restore_best_weights=False)
    model.fit(x, train, epochs=2, verbose=0, callbacks=[from_list, from_array])
    np.testing.assert_allclose(from_list.scores, from_array.scores, rtol=1e-6)
    with pytest.raises(ValueError, match="not a tf.data.Dataset"):
        HeldOutCrowdLikelihood(tf.data.Dataset.from_tensor_slices(x).batch(8), heldout)
