import numpy as np
import pandas as pd
import pytest

from keras_crowd import aggregation
from keras_crowd import data
from keras_crowd import datasets
from keras_crowd import simulators
from keras_crowd.data import EmptyTaskWarning
from keras_crowd.metrics import aggregation_accuracy

# crowd-kit 1.4.2 DawidSkene(n_iter=100) on the training items, measured here.
CROWD_KIT_DS = {"music": 0.769, "labelme": 0.792}


@pytest.fixture(scope="module", params=["music", "labelme"])
def dataset(request):
    return getattr(datasets, request.param)()


def test_majority_vote_exact_accuracy(dataset):
    labels = aggregation.MajorityVote().fit_predict(dataset.crowd_labels)
    expected = {"music": 498 / 700, "labelme": 769 / 1000}[dataset.name]  # 0.711 and 0.769
    assert aggregation_accuracy(labels, dataset.y_train) == pytest.approx(expected, abs=1e-12)


def test_dawid_skene_matches_or_beats_crowd_kit(dataset):
    ds = aggregation.DawidSkene(n_iter=100).fit(dataset.crowd_labels)
    accuracy = aggregation_accuracy(ds.labels_, dataset.y_train)
    assert accuracy >= CROWD_KIT_DS[dataset.name] - 0.01
    matrices = ds.confusion_matrices_
    assert matrices.shape == (dataset.num_annotators, dataset.num_classes, dataset.num_classes)
    assert np.allclose(matrices.sum(axis=1), 1.0) and (matrices >= 0).all()
    assert np.allclose(ds.probas_.sum(axis=1), 1.0) and np.isclose(ds.priors_.sum(), 1.0)
    assert np.all(np.diff(ds.log_likelihood_history_) >= -1e-9)


def test_row_order_of_long_data_does_not_matter(dataset):
    long = dataset.to_long()
    shuffled = long.sample(frac=1.0, random_state=7)
    for method in (aggregation.MajorityVote, aggregation.DawidSkene):
        first = method().fit_predict(long)
        second = method().fit_predict(shuffled)
        assert first.equals(second)
    # Long and dense inputs agree (task ids are sorted for long input), given the
    # same class order (which decides ties).
    mv = aggregation.MajorityVote(class_names=dataset.class_names).fit_predict(shuffled)
    dense = aggregation.MajorityVote().fit_predict(dataset.crowd_labels)
    names = np.asarray(dataset.class_names, dtype=object)[dense]
    task_ids = dataset.task_ids or tuple(range(dataset.num_items))
    assert pd.Series(names, index=list(task_ids)).reindex(mv.index).tolist() == mv.tolist()
    truth = pd.Series(np.asarray(dataset.class_names, dtype=object)[dataset.y_train],
                      index=list(task_ids))
    expected = {"music": 498 / 700, "labelme": 769 / 1000}[dataset.name]
    assert aggregation_accuracy(mv, truth) == pytest.approx(expected, abs=1e-12)


def test_majority_vote_ties_go_to_the_smallest_index():
    crowd = np.array([[2, 1, -1, -1], [1, 2, 2, 1], [0, 3, 3, 0], [3, -1, -1, -1]])
    mv = aggregation.MajorityVote(num_classes=4)
    assert mv.fit_predict(crowd).tolist() == [1, 1, 0, 3]
    assert mv.fit_predict(crowd[:, ::-1]).tolist() == [1, 1, 0, 3]  # column order too
    assert mv.probas_[0].tolist() == [0.0, 0.5, 0.5, 0.0]


def test_crowd_kit_shaped_outputs():
    frame = pd.DataFrame({"task": ["t1", "t1", "t2", "t2", "t2"],
                          "worker": ["a", "b", "a", "b", "c"],
                          "label": ["cat", "dog", "dog", "dog", "cat"]})
    mv = aggregation.MajorityVote()
    labels = mv.fit_predict(frame)
    assert isinstance(labels, pd.Series) and labels.to_dict() == {"t1": "cat", "t2": "dog"}
    probas = aggregation.DawidSkene().fit_predict_proba(frame)
    assert list(probas.columns) == ["cat", "dog"] and list(probas.index) == ["t1", "t2"]
    assert isinstance(mv.fit_predict(np.array([[0, 1]])), np.ndarray)
    assert mv.fit_predict_proba(np.array([[0, 1]])).shape == (1, 2)


def test_integer_labels_of_a_data_frame_are_categories_like_crowd_kit():
    frame = pd.DataFrame({"task": ["t1", "t1", "t2", "t2", "t3"],
                          "worker": ["a", "b", "a", "b", "a"], "label": [1, 1, 5, 4, 4]})
    probas = aggregation.MajorityVote().fit_predict_proba(frame)
    assert list(probas.columns) == [1, 4, 5]  # no columns for the unused 0, 2, 3
    assert probas.loc["t2"].tolist() == [0.0, 0.5, 0.5]
    labels = aggregation.DawidSkene().fit_predict(frame)
    assert labels.name == "agg_label" and labels.to_dict() == {"t1": 1, "t2": 4, "t3": 4}
    signed = frame.assign(label=[-1, -1, 1, 1, -1])
    assert aggregation.MajorityVote().fit_predict(signed).to_dict() == {
        "t1": -1, "t2": 1, "t3": -1}
    # An explicit num_classes keeps integer labels as class indices.
    indexed = aggregation.MajorityVote(num_classes=6).fit_predict_proba(frame)
    assert list(indexed.columns) == list(range(6))
    # Labels 0..K-1, all used: the same as the dense array.
    dense = np.array([[0, 2, -1], [1, 1, 0], [2, -1, 2], [0, 0, 1]])
    long_probas = aggregation.DawidSkene().fit_predict_proba(data.to_long(dense))
    assert list(long_probas.columns) == [0, 1, 2]
    np.testing.assert_array_equal(long_probas.to_numpy(),
                                  aggregation.DawidSkene().fit_predict_proba(dense))


def test_missing_labels_and_empty_tasks():
    crowd = np.array([[0.0, np.nan, 0.0], [np.nan, np.nan, np.nan], [1.0, 1.0, np.nan]])
    with pytest.warns(EmptyTaskWarning):
        mv = aggregation.MajorityVote().fit(crowd)
    assert mv.labels_.tolist() == [0, 0, 1] and mv.probas_[1].tolist() == [0.5, 0.5]
    with pytest.warns(EmptyTaskWarning):
        ds = aggregation.DawidSkene().fit(crowd)
    assert np.allclose(ds.probas_[1], ds.priors_)


def test_dawid_skene_results_do_not_depend_on_items_without_labels():
    """An item with no label is absent from the likelihood. Its uniform start
    used to be averaged into the class prior, which then changed the labelled
    items' posteriors (18 of Music's 700 labels with 3000 empty items added)."""
    true_labels = np.random.default_rng(0).integers(0, 3, size=200)
    crowd = simulators.simulate_annotators(true_labels, "diagonally_dominant", num_annotators=6,
                                           labels_per_item=2, seed=1).crowd_labels
    padded = np.vstack([crowd, np.full((400, 6), -1, crowd.dtype)])
    alone = aggregation.DawidSkene(num_classes=4).fit(crowd)
    with pytest.warns(EmptyTaskWarning):
        with_empty = aggregation.DawidSkene(num_classes=4).fit(padded)
    np.testing.assert_allclose(with_empty.probas_[:200], alone.probas_, atol=1e-12)
    np.testing.assert_allclose(with_empty.priors_, alone.priors_, atol=1e-12)
    # The empty items' posterior is the prior (of the last E-step).
    np.testing.assert_allclose(with_empty.probas_[200:], with_empty.probas_[[200] * 400])
    np.testing.assert_allclose(with_empty.probas_[200], with_empty.priors_, atol=1e-3)
    # Class 3, never given, keeps no mass: an empty item's uniform start gave it some.
    assert with_empty.probas_[:, 3].max() < 1e-12


def test_dawid_skene_recovers_simulated_confusions():
    rng = np.random.default_rng(0)
    true_labels = rng.integers(0, 4, size=3000)
    crowd = simulators.simulate_annotators(true_labels, "hammer_spammer", num_annotators=10,
                                           labels_per_item=5, num_hammers=4, seed=1)
    ds = aggregation.DawidSkene().fit(crowd.crowd_labels)
    mv = aggregation.MajorityVote().fit(crowd.crowd_labels)
    from keras_crowd.metrics import confusion_matrix_error
    assert confusion_matrix_error(ds.confusion_matrices_, crowd.confusion_matrices) < 0.1
    assert aggregation_accuracy(ds.labels_, true_labels) > 0.85
    assert aggregation_accuracy(ds.labels_, true_labels) > aggregation_accuracy(
        mv.labels_, true_labels) + 0.1


def test_training_targets():
    crowd = [[0, 1, 1], [2, 2, -1], [0, 0, 1]]
    hard = aggregation.hard_labels(crowd, "mv")
    assert hard.dtype == np.int32 and hard.tolist() == [1, 2, 0]
    soft = aggregation.soft_labels(crowd, "ds", n_iter=20)
    assert soft.dtype == np.float32 and soft.shape == (3, 3)
    assert np.allclose(soft.sum(axis=1), 1.0, atol=1e-6)
    fitted = aggregation.MajorityVote(num_classes=4)
    assert aggregation.soft_labels(crowd, fitted).shape == (3, 4)
    with pytest.raises(ValueError, match="Unknown aggregation method"):
        aggregation.hard_labels(crowd, "glad")


def test_items_without_labels_get_no_arbitrary_class():
    crowd = [[0, 1, 1], [-1, -1, -1], [2, 2, -1]]
    for method in ("mv", "ds"):
        with pytest.warns(EmptyTaskWarning):
            hard = aggregation.hard_labels(crowd, method, num_classes=3)
        assert hard.tolist() == [1, -1, 2]
        with pytest.warns(EmptyTaskWarning):
            one_hot = aggregation.one_hot_labels(crowd, method, num_classes=3)
        assert one_hot.dtype == np.float32
        np.testing.assert_array_equal(one_hot[[0, 2]], np.eye(3)[[1, 2]])
        with pytest.warns(EmptyTaskWarning):
            posterior = aggregation.soft_labels(crowd, method, num_classes=3)
        np.testing.assert_allclose(one_hot[1], posterior[1], rtol=1e-6)
    np.testing.assert_allclose(one_hot[1].sum(), 1.0, rtol=1e-6)
    # Majority vote: an item with no vote is uniform.
    with pytest.warns(EmptyTaskWarning):
        np.testing.assert_allclose(aggregation.one_hot_labels(crowd, num_classes=3)[1], 1 / 3)


def test_dawid_skene_arguments():
    with pytest.raises(ValueError, match="smoothing"):
        aggregation.DawidSkene(smoothing=0)
    ds = aggregation.DawidSkene(n_iter=0).fit([[0, 1], [1, 1]])
    assert ds.n_iter_ == 0 and ds.probas_.tolist() == [[0.5, 0.5], [0.0, 1.0]]
    assert "n_iter=0" in repr(ds)


def test_aggregators_take_the_duplicates_policy():
    frame = pd.DataFrame({"task": [1, 1, 1, 2], "worker": ["a", "a", "b", "a"],
                          "label": ["no", "yes", "yes", "no"]})
    with pytest.raises(data.DuplicateLabelError, match=r'MajorityVote\(duplicates="first"\)'):
        aggregation.MajorityVote().fit(frame)
    first = aggregation.MajorityVote(duplicates="first").fit(frame)
    assert first.vote_counts_.tolist() == [[1, 1], [1, 0]]  # a: "no" kept, b: "yes"
    last = aggregation.MajorityVote(duplicates="last").fit_predict(frame)
    assert last.to_dict() == {1: "yes", 2: "no"}
    ds = aggregation.DawidSkene(duplicates="last", n_iter=5)
    assert ds.fit_predict(frame).to_dict() == {1: "yes", 2: "no"}
    assert "duplicates='last'" in repr(ds)
    assert aggregation.hard_labels(frame, duplicates="last").tolist() == [1, 0]
    # A dense array cannot hold duplicates: the policy is accepted and unused.
    assert aggregation.MajorityVote(duplicates="first").fit_predict([[0, 1, 1]]).tolist() == [1]
    with pytest.raises(ValueError, match="`duplicates` must be one of"):
        aggregation.MajorityVote(duplicates="mean")


def test_dawid_skene_exact_ties_go_to_the_smallest_index():
    # Swapping classes 0 and 1 leaves this crowd unchanged, so the empty last
    # item's posterior is exactly [0.5, 0.5]; EM's round-off must not decide it.
    crowd = [[0, 1], [1, -1], [1, 0], [0, -1], [-1, -1]]
    with pytest.warns(EmptyTaskWarning):
        model = aggregation.DawidSkene(num_classes=2).fit(crowd)
    np.testing.assert_allclose(model.probas_[-1], [0.5, 0.5], atol=1e-12)
    assert model.labels_[-1] == 0
    # Real differences still decide.
    assert aggregation.DawidSkene(num_classes=2).fit([[1, 1], [0, 1]]).labels_.tolist()[0] == 1


def test_training_targets_of_long_data_are_indexed_by_task():
    """Targets of a DataFrame come back indexed by task id, as fit_predict's do:
    a bare array would be in sorted task order, not the input's."""
    frame = pd.DataFrame({"task": ["img_9", "img_9", "img_10", "img_10", "img_2", "img_2"],
                          "worker": ["a", "b"] * 3,
                          "label": ["cat", "cat", "dog", "dog", "bird", "bird"]})
    order = ["img_9", "img_10", "img_2"]
    hard = aggregation.hard_labels(frame)
    assert isinstance(hard, pd.Series)
    names = aggregation.MajorityVote().fit(frame).encoding_.class_names
    assert [names[i] for i in hard.loc[order]] == ["cat", "dog", "bird"]
    for targets in (aggregation.one_hot_labels(frame), aggregation.soft_labels(frame)):
        assert isinstance(targets, pd.DataFrame) and list(targets.columns) == list(names)
        assert targets.loc[order].idxmax(axis=1).tolist() == ["cat", "dog", "bird"]
    # Dense arrays keep their rows, and stay arrays.
    assert isinstance(aggregation.hard_labels(np.array([[0, 1, 1], [2, 2, -1]])), np.ndarray)


@pytest.mark.parametrize("options, message", [
    (dict(n_iter=2.7), "n_iter must be an integer"),
    (dict(n_iter=True), "n_iter must be an integer"),
    (dict(n_iter=-1), "n_iter must be an integer"),
    (dict(smoothing=float("inf")), "smoothing must be > 0 and finite"),
    (dict(smoothing=0.0), "smoothing must be > 0 and finite"),
    (dict(tol=float("nan")), "tol must be >= 0"),
    (dict(tol=-1e-3), "tol must be >= 0"),
])
def test_dawid_skene_refuses_bad_options(options, message):
    """n_iter=2.7 used to run 2 iterations, smoothing=inf gave NaN posteriors
    and tol=nan never stopped early, all without a word."""
    with pytest.raises(ValueError, match=message):
        aggregation.DawidSkene(**options)


def test_tuple_ids_and_class_names_stay_single_ids():
    """Tuple task ids or class names (``("img", 1)``) are ids: fit_predict used to
    fail in pandas with "Names should be list-like for a MultiIndex"."""
    frame = pd.DataFrame({"task": [("img", 1), ("img", 1), ("img", 2)],
                          "worker": ["a", "b", "a"],
                          "label": [("x", 0), ("y", 0), ("y", 0)]})
    labels = aggregation.MajorityVote().fit_predict(frame)
    assert labels.index.nlevels == 1 and labels.index.name == "task"
    assert labels.to_dict() == {("img", 1): ("x", 0), ("img", 2): ("y", 0)}
    probas = aggregation.DawidSkene().fit_predict_proba(frame)
    assert probas.columns.nlevels == 1 and list(probas.columns) == [("x", 0), ("y", 0)]
    assert list(probas.index) == [("img", 1), ("img", 2)]


@pytest.mark.filterwarnings("ignore::keras_crowd.data.EmptyTaskWarning")
@pytest.mark.parametrize("crowd", [
    pd.DataFrame({"task": [], "worker": [], "label": []}),
    np.full((3, 2), -1),
])
@pytest.mark.parametrize("method", [aggregation.MajorityVote, aggregation.DawidSkene])
def test_aggregators_refuse_data_without_any_label(crowd, method):
    """An empty DataFrame (e.g. over-filtered) used to "fit": majority vote
    invented a class 0, Dawid-Skene gave priors_ [nan] with numpy warnings."""
    with pytest.raises(data.CrowdDataError, match="no crowd label"):
        method().fit(crowd)
