import itertools
import re

import numpy as np
import pandas as pd
import pytest

from keras_crowd import aggregation
from keras_crowd import datasets
from keras_crowd import metrics
from keras_crowd import simulators
from keras_crowd.data import CrowdDataError
from keras_crowd.data import LabelOutOfRangeError


def _brute_force(cost):
    n = cost.shape[0]
    return min(cost[np.arange(n), list(p)].sum() for p in itertools.permutations(range(n)))


def test_hungarian_is_exact():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 5, 7):
        for trial in range(10):
            cost = rng.random((n, n)) if trial % 2 else rng.integers(0, 3, (n, n)).astype(float)
            assignment = metrics.hungarian(cost)
            assert sorted(assignment.tolist()) == list(range(n))
            assert cost[np.arange(n), assignment].sum() == pytest.approx(_brute_force(cost))
            fallback_or_scipy = metrics.linear_sum_assignment(cost)
            assert cost[np.arange(n), fallback_or_scipy].sum() == pytest.approx(
                _brute_force(cost))


def test_confusion_error_matches_a_global_permutation():
    rng = np.random.default_rng(1)
    for num_classes, method in ((4, "exhaustive"), (10, "assignment")):
        true = simulators.diagonally_dominant_confusions(5, num_classes, expertise=0.7,
                                                         seed=rng)
        noisy = true + rng.uniform(0, 0.01, size=true.shape)
        noisy /= noisy.sum(axis=1, keepdims=True)
        permutation = rng.permutation(num_classes)
        shuffled = noisy[:, :, permutation]
        error, found = metrics.confusion_matrix_error(shuffled, true, return_permutation=True,
                                                      method=method)
        assert np.array_equal(permutation[found], np.arange(num_classes))
        assert error == pytest.approx(metrics.confusion_matrix_error(noisy, true,
                                                                     match_permutation=False))
        assert error < 0.1
        assert metrics.confusion_matrix_error(shuffled, true, match_permutation=False) > 0.5


def test_exhaustive_and_assignment_agree_on_small_problems():
    rng = np.random.default_rng(2)
    for _ in range(5):
        true = rng.dirichlet(np.ones(4), size=(3, 4)).transpose(0, 2, 1)
        estimated = rng.dirichlet(np.ones(4), size=(3, 4)).transpose(0, 2, 1)
        exhaustive = metrics.confusion_matrix_error(estimated, true, method="exhaustive")
        assignment = metrics.confusion_matrix_error(estimated, true, method="assignment")
        assert exhaustive <= assignment + 1e-12
        assert exhaustive <= metrics.confusion_matrix_error(estimated, true,
                                                            match_permutation=False) + 1e-12


def test_confusion_error_definition():
    true = np.array([[[0.8, 0.3], [0.2, 0.7]], [[1.0, 0.0], [0.0, 1.0]]])
    estimated = np.array([[[0.7, 0.3], [0.3, 0.7]], [[1.0, 0.0], [0.0, 1.0]]])
    per = metrics.per_annotator_confusion_error(estimated, true)
    assert per[0] == pytest.approx(np.sqrt(0.02) / np.sqrt(0.64 + 0.09 + 0.04 + 0.49))
    assert per[1] == 0.0
    with pytest.raises(ValueError, match="Shapes differ"):
        metrics.confusion_matrix_error(true[:1], true)


def test_empirical_confusion_uses_uniform_columns_without_evidence():
    crowd = np.array([[0, -1], [1, 1], [1, -1], [2, -1]])
    truth = np.array([0, 1, 1, 0])
    matrices = metrics.empirical_confusion_matrices(crowd, truth, num_classes=3)
    assert matrices[0][:, 0].tolist() == [0.5, 0.0, 0.5]
    assert matrices[0][:, 2].tolist() == pytest.approx([1 / 3] * 3)  # class 2 never true
    assert matrices[1][:, 0].tolist() == pytest.approx([1 / 3] * 3)  # never saw class 0
    counts = metrics.empirical_confusion_matrices(crowd, truth, num_classes=3, counts=True)
    assert counts.sum() == 5 and counts[1, 1, 1] == 1


def test_empirical_confusion_refuses_labels_outside_the_classes():
    # A label >= K used to be counted in another annotator's (or label's) cell.
    with pytest.raises(LabelOutOfRangeError, match=r"Label 2 at item 0, annotator 0"):
        metrics.empirical_confusion_matrices(np.array([[2, 0], [0, 0], [1, 1]]), [0, 0, 1],
                                             num_classes=2, counts=True)
    with pytest.raises(LabelOutOfRangeError, match=r"True label 2 \(row 2\)"):
        metrics.empirical_confusion_matrices([[0], [1], [1]], [0, 0, 2], num_classes=2)
    # A true label cannot be missing: -1 used to be read as class K - 1.
    with pytest.raises(LabelOutOfRangeError,
                       match=r"True label -1 \(row 1\) is outside the known classes \[0, 2\)"):
        metrics.empirical_confusion_matrices([[0], [1]], [0, -1], num_classes=2)
    with pytest.raises(LabelOutOfRangeError, match=r"True label -1 \(row 1\) is negative"):
        metrics.empirical_confusion_matrices([[0], [1]], [0, -1])
    with pytest.raises(CrowdDataError, match="whole numbers"):
        metrics.empirical_confusion_matrices([[0], [1]], [0.0, np.nan])
    with pytest.raises(CrowdDataError, match="class indices"):
        metrics.empirical_confusion_matrices([[0], [1]], ["cat", "dog"])


def test_empirical_confusion_reads_nan_as_missing():
    crowd = np.array([[0.0, np.nan], [1.0, 1.0], [1.0, np.nan]])
    counts = metrics.empirical_confusion_matrices(crowd, [0, 1, 0], counts=True)
    assert counts.tolist() == [[[1, 0], [1, 1]], [[0, 0], [0, 1]]]


def test_accuracies():
    assert metrics.aggregation_accuracy([0, 1, 1], [0, 1, 0]) == pytest.approx(2 / 3)
    assert metrics.aggregation_accuracy(np.array([[0.5, 0.5], [0.1, 0.9]]), [0, 0]) == 0.5
    predicted = pd.Series(["a", "b"], index=["t2", "t1"])
    truth = pd.Series(["b", "b"], index=["t1", "t2"])
    assert metrics.aggregation_accuracy(predicted, truth) == 0.5
    with pytest.raises(ValueError, match="shape"):
        metrics.aggregation_accuracy([0, 1], [0])
    assert metrics.raw_label_accuracy([[0, 1], [1, -1]], [0, 1]) == pytest.approx(2 / 3)


def test_aggregation_accuracy_matches_pandas_outputs_by_task():
    frame = pd.DataFrame({"task": ["t2", "t2", "t1", "t1", "t3", "t3"],
                          "worker": ["a", "b", "a", "b", "a", "b"],
                          "label": ["dog", "dog", "cat", "cat", "bird", "cat"]})
    truth = pd.Series({"t2": "dog", "t1": "cat", "t3": "bird"})
    majority = aggregation.MajorityVote()
    assert metrics.aggregation_accuracy(majority.fit_predict(frame), truth) == 1.0
    # The posteriors' most probable class; the t3 tie goes to the first class, "bird".
    assert metrics.aggregation_accuracy(majority.fit_predict_proba(frame), truth) == 1.0
    for predicted in (majority.fit_predict(frame), majority.fit_predict_proba(frame)):
        with pytest.raises(ValueError, match="matched by task rather than by position"):
            metrics.aggregation_accuracy(predicted, ["dog", "cat", "bird"])
    with pytest.raises(ValueError, match="`true_labels` is indexed by task id"):
        metrics.aggregation_accuracy(["cat", "dog", "bird"], truth)
    # Tasks 0..N-1 (dense data): positions are the task ids.
    dense = aggregation.MajorityVote().fit(np.array([[0, 0], [1, 1], [1, 0]]))
    assert metrics.aggregation_accuracy(dense.named_probas(), [0, 1, 1]) == pytest.approx(2 / 3)
    assert metrics.aggregation_accuracy(dense.labels_, pd.Series([0, 1, 0])) == 1.0


def test_annotator_summary_with_user_ids(tmp_path):
    music = datasets.music()
    summary = metrics.annotator_summary(music.encoded_crowd_labels(),
                                        aggregation.DawidSkene(), true_labels=music.y_train)
    assert list(summary.index) == list(music.annotator_ids)
    assert summary.index.name == "annotator"
    assert list(summary.columns) == ["labels_given", "estimated_accuracy",
                                     "agreement_with_consensus", "true_accuracy"]
    assert summary.labels_given.sum() == 2945
    assert summary.estimated_accuracy.between(0, 1).all()
    assert summary.agreement_with_consensus.between(0, 1).all()
    # Estimated accuracy tracks the true one for annotators with enough labels
    # (21 annotators with >= 20 labels: correlation 0.97 measured).
    busy = summary[summary.labels_given >= 20]
    assert np.corrcoef(busy.estimated_accuracy, busy.true_accuracy)[0, 1] > 0.9
    path = tmp_path / "annotators.csv"
    summary.to_csv(path)
    assert pd.read_csv(path, index_col="annotator").shape == summary.shape
    assert "A12YUYYSIZ8GT2" in str(summary)


def test_annotator_summary_with_majority_vote_has_no_confusions():
    crowd = np.array([[0, 0, 1], [1, 1, -1], [0, 1, 1]])
    summary = metrics.annotator_summary(crowd, aggregation.MajorityVote(),
                                        annotator_ids=["x", "y", "z"])
    assert summary.estimated_accuracy.isna().all()
    assert summary.agreement_with_consensus.tolist() == pytest.approx([2 / 3, 1.0, 0.5])
    with pytest.raises(ValueError, match="annotator ids"):
        metrics.annotator_summary(crowd, annotator_ids=["x"])


def test_annotator_summary_reads_the_data_as_the_aggregator_does():
    frame = pd.DataFrame({"task": ["t1", "t1", "t1", "t2", "t2", "t3", "t3", "t3"],
                          "worker": ["a", "b", "c", "a", "b", "a", "b", "c"],
                          "label": ["yes", "yes", "no", "no", "no", "yes", "no", "no"]})
    expected = [2 / 3, 1.0, 0.5]  # consensus: t1 yes, t2 no, t3 no
    fitted = aggregation.MajorityVote(class_names=["yes", "no"]).fit(frame)
    for aggregator in (fitted, aggregation.MajorityVote(class_names=["yes", "no"])):
        summary = metrics.annotator_summary(frame, aggregator)
        assert summary.agreement_with_consensus.tolist() == pytest.approx(expected)
    with pytest.raises(ValueError, match="fitted on other crowd labels"):
        metrics.annotator_summary(frame.iloc[:5], fitted)
    # num_classes above the labels used: the aggregator's K is kept.
    crowd = np.array([[0, 0, 1], [1, 1, -1], [0, 1, 1]])
    summary = metrics.annotator_summary(crowd, aggregation.DawidSkene(num_classes=4))
    assert summary.estimated_accuracy.between(0, 1).all()
    assert summary.agreement_with_consensus.tolist() == pytest.approx([2 / 3, 1.0, 0.5])


def test_annotator_summary_aligns_true_labels_given_by_task():
    frame = pd.DataFrame({"task": ["t2", "t2", "t1", "t1"], "worker": ["a", "b", "a", "b"],
                          "label": ["dog", "cat", "cat", "cat"]})
    truth = pd.Series({"t1": "cat", "t2": "dog", "t9": "cat"})
    summary = metrics.annotator_summary(frame, aggregation.DawidSkene(), true_labels=truth)
    assert summary.true_accuracy.tolist() == [1.0, 0.5]
    as_indices = metrics.annotator_summary(frame, true_labels=[0, 1])  # t1 cat, t2 dog
    assert as_indices.true_accuracy.tolist() == [1.0, 0.5]
    with pytest.raises(ValueError, match=r"1 task\(s\) have no true label, e.g. 't2'"):
        metrics.annotator_summary(frame, true_labels=truth.drop("t2"))
    with pytest.raises(ValueError, match="Unknown class 'cow'"):
        metrics.annotator_summary(frame, true_labels=truth.replace("dog", "cow"))


def test_annotator_summary_numbers_by_hand():
    crowd = np.array([[0, 0, 1, -1], [1, 1, 1, -1], [0, 1, 0, -1], [2, 2, 0, -1],
                      [2, -1, 2, -1]])
    truth = np.array([0, 1, 0, 2, 1])
    matrices = metrics.empirical_confusion_matrices(crowd, truth, num_classes=3)
    summary = metrics.annotator_summary(crowd, confusion_matrices=matrices,
                                        consensus=[0, 1, 0, 2, 2], true_labels=truth)
    assert summary.labels_given.tolist() == [5, 4, 5, 0]
    # prior = consensus frequencies (0.4, 0.2, 0.4) on the diagonals (1, .5, 1),
    # (.5, 1, 1), (.5, .5, 0); annotator 3 labelled nothing: uniform columns.
    assert summary.estimated_accuracy.tolist() == pytest.approx([0.9, 0.8, 0.3, 1 / 3])
    assert summary.agreement_with_consensus.tolist()[:3] == pytest.approx([1.0, 0.75, 0.6])
    assert summary.true_accuracy.tolist()[:3] == pytest.approx([0.8, 0.75, 0.4])
    assert summary.iloc[3][["agreement_with_consensus", "true_accuracy"]].isna().all()


@pytest.mark.parametrize("arguments, error, message", [
    (dict(confusion_matrices=np.stack([np.eye(3)] * 4)), ValueError,
     "4 confusion matrices for 3 annotators"),
    (dict(confusion_matrices=np.stack([np.eye(2)] * 3)), ValueError,
     "The confusion matrices have 2 classes but the labels have 3"),
    (dict(confusion_matrices=np.eye(3)), ValueError, "must be (M, K, K); got shape (3, 3)"),
    (dict(confusion_matrices=np.stack([np.eye(3)] * 3), consensus=[0, 1, 0]), ValueError,
     "3 consensus labels for 4 items"),
    (dict(confusion_matrices=np.stack([np.eye(3)] * 3), consensus=[0, 1, 0, 5]),
     LabelOutOfRangeError, "Consensus label 5 (row 3)"),
    (dict(confusion_matrices=np.stack([np.eye(3)] * 3), class_prior=[0.5, 0.5]), ValueError,
     "class_prior must have shape (3,); got (2,)"),
])
def test_annotator_summary_refuses_inputs_that_do_not_fit_the_data(arguments, error, message):
    crowd = np.array([[0, 0, 1], [1, 1, 2], [0, 2, 0], [2, 2, 0]])
    with pytest.raises(error, match=re.escape(message)):
        metrics.annotator_summary(crowd, **arguments)
    # More classes than the labels show (a class no one reported) is fine.
    summary = metrics.annotator_summary(crowd, confusion_matrices=np.stack([np.eye(4)] * 3))
    assert summary.estimated_accuracy.tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_accuracy_of_posteriors_breaks_ties_as_labels_():
    """A tie that EM's round-off split (0.5 - 1e-16 against 0.5 + 1e-16) goes to
    the smallest class, as in `labels_`: the posteriors and the labels of one
    fit score the same."""
    crowd = [[0, 1], [1, -1], [1, 0], [0, -1], [-1, -1]]
    with pytest.warns(Warning):
        model = aggregation.DawidSkene(num_classes=2).fit(crowd)
    truth = [0, 1, 1, 0, 0]
    expected = metrics.aggregation_accuracy(model.labels_, truth)
    assert metrics.aggregation_accuracy(model.probas_, truth) == expected
    frame = pd.DataFrame(model.probas_, columns=["a", "b"])
    names = pd.Series(np.array(["a", "b"])[truth], index=frame.index)
    assert metrics.aggregation_accuracy(frame, names) == expected
