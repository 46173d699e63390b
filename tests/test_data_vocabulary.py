import numpy as np
import pytest

from keras_crowd.data import CrowdDataError
from keras_crowd.data import UnknownClassError
from keras_crowd.data import UnknownIdError
from keras_crowd.data import Vocabulary
from keras_crowd.data.vocabulary import ordered_unique


def test_encode_decode_round_trip():
    vocab = Vocabulary(("jazz", "blues", "rock"), kind="class")
    indices = vocab.encode(["rock", "jazz", "rock"])
    assert indices.tolist() == [2, 0, 2]
    assert vocab.decode(indices).tolist() == ["rock", "jazz", "rock"]
    assert vocab.decode([-1, 1], missing="?").tolist() == ["?", "blues"]
    assert list(vocab) == ["jazz", "blues", "rock"] and len(vocab) == 3 and vocab[1] == "blues"
    assert vocab.index_of("rock") == 2


def test_unknown_class_and_unknown_id():
    with pytest.raises(UnknownClassError, match=r"Unknown class 'funk'"):
        Vocabulary(("jazz",), kind="class").encode(["jazz", "funk"])
    with pytest.raises(UnknownIdError, match=r"Unknown annotator 'w9'"):
        Vocabulary(("w1",), kind="annotator").encode(["w9"])


def test_numpy_scalars_are_python_scalars():
    vocab = Vocabulary.from_values(np.array([3, 1, 3]))
    assert vocab.tokens == (1, 3) and type(vocab.tokens[0]) is int
    assert vocab.encode(np.array([3, 1])).tolist() == [1, 0]


def test_ordering_is_deterministic_and_numeric_for_integer_strings():
    assert ordered_unique(["b", "a", "c", "a"]) == ("a", "b", "c")
    assert ordered_unique(["10", "2", "0", "1"]) == ("0", "1", "2", "10")
    assert ordered_unique([2, "x", 1]) == (2, "x", 1)  # not comparable: first appearance


def test_invalid_vocabularies():
    with pytest.raises(CrowdDataError, match="distinct"):
        Vocabulary(("a", "a"))
    with pytest.raises(CrowdDataError, match="missing"):
        Vocabulary.from_values(["a", None], kind="task")


def _labels_matched_per_label(labels, class_names):
    """The class-name rule of `encode_class_labels`, applied label by label."""
    texts = [str(name) for name in class_names]
    return [class_names.index(label) if label in class_names
            else texts.index(str(label)) if str(label) in texts else -1
            for label in labels]


@pytest.mark.parametrize("labels, class_names", [
    (np.array([2, 0, 1, 1, 0, 2, 2]), ("0", "1", "2")),
    (np.array([3, "3", 1, "x", 3.0, "1", 1], dtype=object), (1, "3", "3.0", "x")),
    (np.array(["b", "a", "b", "a"]), ("a", "b")),
], ids=["int_labels_text_names", "mixed_object_labels", "text_labels"])
def test_class_names_are_matched_on_distinct_labels_with_the_same_result(
        labels, class_names, monkeypatch):
    from keras_crowd.data import encode_class_labels

    looked_up = []
    find = Vocabulary.find
    monkeypatch.setattr(Vocabulary, "find",
                        lambda self, values: looked_up.append(len(values)) or find(self, values))
    indices, vocabulary = encode_class_labels(labels, class_names)
    assert list(vocabulary) == list(class_names)
    assert indices.tolist() == _labels_matched_per_label(list(labels), list(class_names))
    # Integer labels: each distinct label is looked up once, not each label.
    if np.issubdtype(labels.dtype, np.integer):
        assert max(looked_up) == len(set(labels.tolist()))
