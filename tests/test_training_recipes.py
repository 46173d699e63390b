"""train_crowd_classifier runs every method and selects without clean labels."""

import numpy as np
import pytest

from keras_crowd import backbones
from keras_crowd import datasets
from keras_crowd.training import DEFAULT_WARMUP_EPOCHS
from keras_crowd.training import METHODS
from keras_crowd.training import STRENGTH_GRIDS
from keras_crowd.training import train_crowd_classifier


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
