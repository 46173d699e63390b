import numpy as np
import pytest

from keras_crowd import simulators
from keras_crowd.metrics import per_annotator_confusion_error

KINDS = sorted(simulators.CONFUSION_GENERATORS)
# With N = 20000 items, K = 5 classes and every annotator labelling every item
# (about 4000 items per true class), the empirical confusion of every
# simulated annotator is within 0.06 of its nominal confusion matrix in
# Frobenius-relative error (measured worst case with these seeds: 0.037,
# separable_uniform; 0.016-0.029 for the other kinds).
N_LARGE, K, BOUND = 20000, 5, 0.06


@pytest.fixture(scope="module")
def true_labels():
    return np.random.default_rng(123).integers(0, K, size=N_LARGE)


@pytest.mark.parametrize("kind", KINDS)
def test_labels_follow_the_nominal_confusion(kind, true_labels):
    crowd = simulators.simulate_annotators(true_labels, kind, num_annotators=6, seed=0)
    assert isinstance(crowd, simulators.SimulatedCrowd) and crowd.kind == kind
    simulators.check_confusion_matrices(crowd.confusion_matrices)
    assert crowd.confusion_matrices.shape == (6, K, K)
    assert (crowd.crowd_labels >= 0).all()
    errors = per_annotator_confusion_error(crowd.empirical_confusion_matrices(),
                                           crowd.confusion_matrices)
    assert errors.max() < BOUND


@pytest.mark.parametrize("kind", KINDS)
def test_seeded_and_reproducible(kind):
    labels = np.arange(200) % 4
    options = dict(num_annotators=5, labels_per_item=2)
    first = simulators.simulate_annotators(labels, kind, seed=42, **options)
    second = simulators.simulate_annotators(labels, kind, seed=np.random.default_rng(42),
                                            **options)
    other = simulators.simulate_annotators(labels, kind, seed=43, **options)
    assert np.array_equal(first.crowd_labels, second.crowd_labels)
    assert np.array_equal(first.confusion_matrices, second.confusion_matrices)
    assert not np.array_equal(first.crowd_labels, other.crowd_labels)


def test_annotator_type_structure():
    sep = simulators.separable_uniform_confusions(4, K, expert_accuracy=0.97, seed=0)
    assert np.allclose(np.diagonal(sep[0]), 0.97)
    assert np.abs(sep[1:] - 1.0 / K).max() < 0.25  # near uniform

    dom = simulators.diagonally_dominant_confusions(20, K, expertise=0.45, spread=0.2, seed=0)
    diagonal = np.diagonal(dom, axis1=1, axis2=2)
    off = dom - np.einsum("mk,kj->mkj", diagonal, np.eye(K))
    assert (diagonal > off.max(axis=1)).all()
    assert diagonal.min() >= 0.25 and diagonal.max() <= 0.65
    with pytest.raises(ValueError, match="expertise"):
        simulators.diagonally_dominant_confusions(2, K, expertise=0.2, spread=0.1)

    hs = simulators.hammer_spammer_confusions(6, K, num_hammers=2, hammer_accuracy=0.9, seed=0)
    assert np.allclose(np.diagonal(hs[:2], axis1=1, axis2=2), 0.9)
    assert np.allclose(hs[2:], hs[2:, :, :1])  # spammers: identical columns (rank one)

    experts = simulators.class_expert_confusions(K + 2, K, expert_accuracy=0.9, leak=0.02,
                                                 seed=0)
    for m, matrix in enumerate(experts):
        c = m % K
        assert matrix[c, c] == pytest.approx(0.9)
        assert np.delete(matrix[c], c).max() <= 0.02
    with pytest.raises(ValueError, match="num_annotators >= num_classes"):
        simulators.class_expert_confusions(K - 1, K)

    flip = simulators.symmetric_flip_confusions(2, K, flip_rate=[0.0, 0.4])
    assert np.allclose(flip[0], np.eye(K))
    assert np.allclose(flip[1][~np.eye(K, dtype=bool)], 0.1) and np.allclose(flip[1][0, 0], 0.6)


def test_observation_patterns():
    labels = np.arange(3000) % 3
    fixed = simulators.simulate_annotators(labels, "symmetric_flip", num_annotators=10,
                                           labels_per_item=3, seed=0)
    assert ((fixed.crowd_labels >= 0).sum(axis=1) == 3).all()
    sparse = simulators.simulate_annotators(labels, "symmetric_flip", num_annotators=10,
                                            missing_rate=0.8, seed=0)
    observed = sparse.crowd_labels >= 0
    # ensure_labeled gives one label to the ~0.8**10 of items left empty.
    expected_missing = 0.8 - 0.8**10 / 10
    assert abs((1 - observed.mean()) - expected_missing) < 0.005
    assert observed.any(axis=1).all()  # no empty task
    with pytest.raises(ValueError, match="not both"):
        simulators.observation_mask(5, 5, labels_per_item=2, missing_rate=0.5)
    with pytest.raises(ValueError, match="labels_per_item"):
        simulators.observation_mask(5, 5, labels_per_item=6)
    with pytest.raises(ValueError, match="Unknown annotator kind"):
        simulators.simulate_annotators(labels, "oracle", num_annotators=2)


def test_sample_crowd_labels_validates_inputs():
    with pytest.raises(ValueError, match="column-stochastic"):
        simulators.sample_crowd_labels([0, 1], np.ones((1, 2, 2)))
    with pytest.raises(ValueError, match=r"True label 2 \(row 1\) is outside"):
        simulators.sample_crowd_labels([0, 2], np.stack([np.eye(2)]))


@pytest.mark.parametrize("true_labels, options, message", [
    # Fractional classes were truncated (1.9 became class 1) without a word.
    ([0.9, 1.9, 2.9, 0.2], {}, "whole numbers"),
    (np.zeros((3, 2), int), {}, "must be 1-D"),
    ([0, 0, 0, 0], {}, "inferred 1 from true_labels"),
    ([0, 1, 0, 1], {"labels_per_item": 2.0}, "labels_per_item must be an integer"),
])
def test_simulators_refuse_bad_true_labels_and_options(true_labels, options, message):
    with pytest.raises(ValueError, match=message):
        simulators.simulate_annotators(true_labels, "symmetric_flip", num_annotators=3,
                                       seed=0, **options)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_annotators", [0, 2.5])
def test_simulators_refuse_a_number_of_annotators_that_is_not_positive(kind, num_annotators):
    with pytest.raises(ValueError, match="`num_annotators` must be a positive integer"):
        simulators.simulate_annotators([0, 1, 2, 1], kind, num_annotators=num_annotators,
                                       seed=0)


def test_separable_uniform_gives_the_number_of_annotators_asked():
    # Annotator 0 (the expert) is always made: 0 annotators used to give 1.
    assert simulators.separable_uniform_confusions(1, 3, seed=0).shape == (1, 3, 3)
    with pytest.raises(ValueError, match="`num_annotators` must be a positive integer"):
        simulators.separable_uniform_confusions(0, 3, seed=0)


def test_machine_annotators_check_labels_and_feature_rows():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=60)
    x = rng.normal(size=(60, 4))
    with pytest.raises(ValueError, match="whole numbers"):
        simulators.simulate_machine_annotators(x, y + 0.5, num_annotators=2, train_size=10)
    with pytest.raises(ValueError, match="outside the known classes"):
        simulators.simulate_machine_annotators(x, y, num_annotators=2, num_classes=2,
                                               train_size=10)
    with pytest.raises(ValueError, match="one row per true label"):
        simulators.simulate_machine_annotators(x[:50], y, num_annotators=2, train_size=10)


def test_tfp_backend_is_optional_and_reproducible():
    pytest.importorskip("tensorflow_probability")
    labels = np.arange(6000) % 3
    first = simulators.simulate_annotators(labels, "symmetric_flip", num_annotators=3, seed=5,
                                           backend="tfp", flip_rate=0.3)
    second = simulators.simulate_annotators(labels, "symmetric_flip", num_annotators=3, seed=5,
                                            backend="tfp", flip_rate=0.3)
    assert np.array_equal(first.crowd_labels, second.crowd_labels)
    errors = per_annotator_confusion_error(first.empirical_confusion_matrices(),
                                           first.confusion_matrices)
    assert errors.max() < 0.1


def _blobs(num_items, num_classes, dim, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=num_items)
    centres = rng.normal(scale=1.5, size=(num_classes, dim))
    return centres[labels] + rng.normal(size=(num_items, dim)), labels


def test_machine_annotators():
    features, labels = _blobs(4000, 4, 10, seed=0)
    crowd = simulators.simulate_machine_annotators(
        features, labels, num_annotators=6, train_size=[8, 8, 30, 30, 200, 200],
        labels_per_item=6, seed=0)
    assert crowd.kind == "machine"
    simulators.check_confusion_matrices(crowd.confusion_matrices)
    # All labels observed here, so the returned confusions ARE the empirical ones.
    assert np.allclose(crowd.confusion_matrices, crowd.empirical_confusion_matrices())
    accuracy = (crowd.crowd_labels == labels[:, None]).mean(axis=0)
    assert accuracy[4:].mean() > accuracy[:2].mean()  # more data, better annotator
    assert accuracy.min() > 0.4

    sparse = simulators.simulate_machine_annotators(features, labels, num_annotators=6,
                                                    train_size=30, labels_per_item=3, seed=1)
    again = simulators.simulate_machine_annotators(features, labels, num_annotators=6,
                                                   train_size=30, labels_per_item=3, seed=1)
    assert np.array_equal(sparse.crowd_labels, again.crowd_labels)
    assert ((sparse.crowd_labels >= 0).sum(axis=1) == 3).all()
    # Labels observed on ~2000 items per annotator: within 0.15 of the confusion
    # measured on all 4000 predictions.
    errors = per_annotator_confusion_error(sparse.empirical_confusion_matrices(),
                                           sparse.confusion_matrices)
    assert errors.max() < 0.15


def test_softmax_regression_learns_separable_data():
    features, labels = _blobs(500, 3, 5, seed=2)
    weights, bias = simulators.fit_softmax_regression(features, labels, 3)
    predictions = simulators.predict_softmax_regression(features, weights, bias)
    assert (predictions == labels).mean() > 0.9


def test_generator_options_are_checked():
    with pytest.raises(ValueError, match="spread must be >= 0"):
        simulators.diagonally_dominant_confusions(3, 3, expertise=0.9, spread=-0.2)
    with pytest.raises(ValueError, match=r"one per annotator \(3\); got an array of shape \(2,\)"):
        simulators.symmetric_flip_confusions(3, 3, flip_rate=[0.1, 0.2])
    rates = simulators.symmetric_flip_confusions(3, 3, flip_rate=[0.1, 0.2, 0.3])
    np.testing.assert_allclose(rates[:, 0, 0], [0.9, 0.8, 0.7])


@pytest.mark.parametrize("fraction", [2.0, -1.0])
def test_hammer_fraction_outside_zero_one_is_refused(fraction):
    """2.0 was reported as a wrong num_hammers (an argument not given);
    -1.0 silently gave one hammer."""
    with pytest.raises(ValueError, match="hammer_fraction must be in"):
        simulators.hammer_spammer_confusions(5, 3, hammer_fraction=fraction, seed=0)
