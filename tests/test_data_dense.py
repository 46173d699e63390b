import numpy as np
import pytest

from keras_crowd import data
from keras_crowd.data import CrowdDataError
from keras_crowd.data import EmptyTaskError
from keras_crowd.data import EmptyTaskWarning
from keras_crowd.data import LabelOutOfRangeError

CROWD = np.array([[0, -1, 2], [1, 1, -1], [-1, 2, 2]])


def test_int_nan_float_round_trip():
    as_float = data.to_nan_float(CROWD)
    assert as_float.dtype == np.float32 and np.isnan(as_float[0, 1])
    back = data.from_nan_float(as_float, num_classes=3)
    assert back.dtype == np.int32 and np.array_equal(back, CROWD)


def test_check_accepts_both_spellings():
    assert np.array_equal(data.check_crowd_labels(data.to_nan_float(CROWD, "float64")), CROWD)
    assert np.array_equal(data.check_crowd_labels(CROWD.astype(np.int8), 3), CROWD)


def test_helpers():
    assert data.observed_mask(CROWD).sum() == 6
    assert data.labels_per_item(CROWD).tolist() == [2, 2, 2]
    assert data.labels_per_annotator(CROWD).tolist() == [2, 2, 2]
    assert data.infer_num_classes(CROWD) == 3
    assert data.vote_counts(CROWD, 3).tolist() == [[1, 0, 1], [0, 2, 0], [0, 0, 2]]
    items, annotators, labels = data.observed_triples(CROWD)
    assert items.tolist() == [0, 0, 1, 1, 2, 2] and labels.tolist() == [0, 2, 1, 1, 2, 2]


def test_label_outside_known_classes():
    with pytest.raises(LabelOutOfRangeError, match=r"Label 3 at item 2, annotator 0 .*\[0, 3\)"):
        data.check_crowd_labels([[0, 1], [1, 2], [3, -1]], num_classes=3)
    with pytest.raises(LabelOutOfRangeError, match="only -1"):
        data.check_crowd_labels([[0, -2]])
    with pytest.raises(LabelOutOfRangeError, match="NaN or -1; found a negative label -2"):
        data.from_nan_float([[0.0, -2.0]])


def test_float_labels_may_mark_missing_with_minus_one_or_nan():
    # A float copy of the canonical int labels keeps -1 for missing (e.g. a
    # DataFrame column with NaN elsewhere): every entry point reads it alike.
    from keras_crowd.aggregation import DawidSkene, MajorityVote

    expected = [[0, -1, 1], [1, 1, -1]]
    for floats in ([[0.0, -1.0, 1.0], [1.0, 1.0, np.nan]], [[0.0, np.nan, 1.0], [1.0, 1.0, -1.0]]):
        np.testing.assert_array_equal(data.check_crowd_labels(floats), expected)
        np.testing.assert_array_equal(data.from_nan_float(floats), expected)
        assert MajorityVote().fit(floats).labels_.tolist() == [0, 1]
        np.testing.assert_allclose(DawidSkene(n_iter=5).fit(floats).probas_,
                                   DawidSkene(n_iter=5).fit(np.array(expected)).probas_)
    with pytest.raises(CrowdDataError, match="whole numbers"):
        data.check_crowd_labels([[0.0, -0.5]])


def test_vote_counts_refuse_labels_outside_the_classes():
    from keras_crowd.aggregation.majority_vote import majority_vote_probas

    # An out-of-range vote must not be counted for the next item.
    for count in (data.vote_counts, majority_vote_probas):
        with pytest.raises(LabelOutOfRangeError, match=r"Label 2 at item 0.*\[0, 2\)"):
            count([[2], [-1]], num_classes=2)
        with pytest.raises(LabelOutOfRangeError, match="Label -2"):
            count([[0], [-2]], num_classes=2)
        with pytest.raises(CrowdDataError, match="whole numbers"):
            count([[0.5], [1.0]], num_classes=2)
    assert data.vote_counts([[1.0, np.nan], [0.0, 1.0]], num_classes=2).tolist() == [
        [0, 1], [1, 1]]


def test_vote_counts_read_minus_one_in_float_labels_as_missing():
    from keras_crowd.aggregation.majority_vote import majority_vote_probas

    # A float copy of the canonical labels keeps -1 for missing.
    labels = np.array([[0, 1, -1], [1, 1, -1], [-1, -1, -1]])
    for dtype in ("float32", "float64"):
        floats = labels.astype(dtype)
        assert data.vote_counts(floats, 2).tolist() == data.vote_counts(labels, 2).tolist()
        np.testing.assert_array_equal(majority_vote_probas(floats, 2),
                                      majority_vote_probas(labels, 2))
    assert data.vote_counts(np.array([[np.nan, -1.0, 1.0]]), 2).tolist() == [[0, 1]]
    for bad, message in ((-2.0, "-2"), (2.0, "Label 2"), (-0.5, "whole numbers"),
                         (np.inf, "whole numbers")):
        with pytest.raises(CrowdDataError, match=message):
            data.vote_counts(np.array([[0.0, -1.0], [bad, 1.0]]), 2)


def test_bad_arrays():
    with pytest.raises(CrowdDataError, match="2-D"):
        data.check_crowd_labels([0, 1, 2])
    with pytest.raises(CrowdDataError, match="whole numbers"):
        data.check_crowd_labels([[0.5, 1.0]])
    with pytest.raises(CrowdDataError, match="dtype"):
        data.check_crowd_labels(np.array([["a", "b"]]))


def test_empty_task_policies_for_dense():
    crowd = [[0, 1], [-1, -1]]
    with pytest.warns(EmptyTaskWarning, match=r"1 task\(s\) have no label at all: 1"):
        kept = data.check_crowd_labels(crowd)
    assert kept.shape == (2, 2)  # kept, aligned with the features
    with pytest.raises(EmptyTaskError, match="no label"):
        data.check_crowd_labels(crowd, empty_tasks="error")
    with pytest.raises(ValueError, match="misalign"):
        data.check_crowd_labels(crowd, empty_tasks="drop")
    with pytest.raises(ValueError, match="empty_tasks"):
        data.check_crowd_labels(crowd, empty_tasks="sometimes")


def test_encoded_from_dense_keeps_names():
    crowd = data.EncodedCrowdLabels.from_dense(
        CROWD, class_names=["a", "b", "c"], annotator_ids=["x", "y", "z"])
    assert crowd.num_items == 3 and crowd.num_annotators == 3 and crowd.num_labels == 6
    assert crowd.decode_labels([2, -1]).tolist() == ["c", None]
    assert list(crowd.task_ids) == [0, 1, 2]
    assert not crowd.crowd_labels.flags.writeable
    with pytest.raises(CrowdDataError, match="shape"):
        data.EncodedCrowdLabels(CROWD, [0, 1], [0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="class names"):
        data.EncodedCrowdLabels.from_dense(CROWD, num_classes=4, class_names=["a", "b", "c"])


def test_unsigned_labels_are_fully_observed_labels():
    from keras_crowd.aggregation import MajorityVote
    from keras_crowd.metrics import empirical_confusion_matrices

    labels = np.array([[0, 1, 1], [2, 2, 0]], dtype=np.uint8)
    assert data.check_crowd_labels(labels).tolist() == labels.tolist()
    assert data.infer_num_classes(labels) == 3
    assert MajorityVote().fit_predict(labels).tolist() == [1, 2]
    counts = empirical_confusion_matrices(labels, np.array([1, 2], dtype=np.uint16), counts=True)
    assert counts[0, :, 1].tolist() == [1, 0, 0] and counts[2, :, 2].tolist() == [1, 0, 0]
    with pytest.raises(LabelOutOfRangeError, match="too large"):
        data.check_crowd_labels(np.array([[0, 2**64 - 1]], dtype=np.uint64))
    with pytest.raises(LabelOutOfRangeError, match=r"\[0, 3\)"):
        data.check_crowd_labels(labels + np.uint8(1), num_classes=3)
