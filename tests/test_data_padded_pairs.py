import numpy as np
import pandas as pd
import pytest

from keras_crowd import data
from keras_crowd.data import CrowdDataError
from keras_crowd.data import DuplicateLabelError


def test_round_trip_random_sparse_crowd():
    rng = np.random.default_rng(0)
    dense = rng.integers(0, 4, size=(50, 30))
    dense[rng.random(dense.shape) < 0.9] = -1
    ids, labels = data.to_padded_pairs(dense)
    assert ids.dtype == np.int32 and labels.dtype == np.int32
    assert ids.shape[1] == data.labels_per_item(dense).max()
    assert np.array_equal((ids >= 0), (labels >= 0))
    assert np.array_equal(data.from_padded_pairs(ids, labels, num_annotators=30), dense)
    as_dict = data.to_padded_pairs(dense, as_dict=True)
    assert set(as_dict) == {"annotator_ids", "labels"}
    assert np.array_equal(as_dict["labels"], labels)


def test_layout_and_wider_padding():
    ids, labels = data.to_padded_pairs([[-1, 2, 0], [1, -1, -1], [-1, -1, -1]],
                                       max_labels_per_item=3)
    assert ids.tolist() == [[1, 2, -1], [0, -1, -1], [-1, -1, -1]]
    assert labels.tolist() == [[2, 0, -1], [1, -1, -1], [-1, -1, -1]]
    with pytest.raises(CrowdDataError, match="labels would be lost"):
        data.to_padded_pairs([[0, 1, 1]], max_labels_per_item=2)


def test_bad_pairs():
    with pytest.raises(CrowdDataError, match="shapes"):
        data.from_padded_pairs([[0, 1]], [[1]])
    with pytest.raises(CrowdDataError, match="negative annotator id"):
        data.from_padded_pairs([[-1]], [[1]])
    with pytest.raises(DuplicateLabelError, match="Annotator 2 labelled task 0 2 times"):
        data.from_padded_pairs([[2, 2]], [[0, 1]])
    assert data.from_padded_pairs([[2, 2]], [[0, 1]], duplicates="last").tolist() == [[-1, -1, 1]]
    with pytest.raises(data.UnknownIdError, match="out of range"):
        data.from_padded_pairs([[3]], [[1]], num_annotators=2)


def test_from_padded_pairs_refuses_labels_below_minus_one():
    # -2 is no padding marker: it is a corrupt label, not a label to drop.
    with pytest.raises(data.LabelOutOfRangeError, match=r"Label -2 \(item 1, slot 0\)"):
        data.from_padded_pairs([[0, 1], [1, 0]], [[1, 0], [-2, -1]], num_annotators=2)


def test_to_padded_pairs_takes_encoded_crowd_labels():
    crowd = data.from_long(pd.DataFrame({"task": ["a", "a", "b"], "worker": ["u", "v", "v"],
                                         "label": ["cat", "dog", "dog"]}))
    ids, labels = data.to_padded_pairs(crowd)
    expected = data.to_padded_pairs(crowd.crowd_labels)
    np.testing.assert_array_equal(ids, expected[0])
    np.testing.assert_array_equal(labels, expected[1])


def test_from_padded_pairs_refuses_a_label_that_does_not_fit_int32():
    # The int32 output used to wrap it silently: 2**32 + 1 became class 1.
    with pytest.raises(data.LabelOutOfRangeError, match="int32"):
        data.from_padded_pairs([[0, 1]], np.array([[1, 2**32 + 1]]), num_annotators=2)


@pytest.mark.parametrize("call, message", [
    (lambda: data.to_padded_pairs([[0, 1]], max_labels_per_item=2.7), "max_labels_per_item"),
    (lambda: data.to_padded_pairs([[-1, -1]], max_labels_per_item=0), "max_labels_per_item"),
    (lambda: data.from_padded_pairs([[0]], [[1]], num_annotators=2.5), "num_annotators"),
    (lambda: data.from_padded_pairs([[0]], [[1]], num_annotators=-1), "num_annotators"),
])
def test_padded_pair_sizes_must_be_whole_numbers(call, message):
    # 2.7 was truncated to 2; 0 on label-less rows claimed "item 0 has 1
    # labels"; 2.5 annotators was a bare TypeError.
    with pytest.raises(ValueError, match=f"`{message}` must be a"):
        call()
