import io
import json

import numpy as np
import pandas as pd
import pytest

from keras_crowd import data
from keras_crowd.data import DuplicateLabelError
from keras_crowd.data import EmptyTaskWarning
from keras_crowd.data import LabelOutOfRangeError
from keras_crowd.data import UnknownClassError

PEERANNOT = {"0": {"5": 1, "2": 0}, "1": {"2": 2}, "10": {"5": 2}, "2": {"2": 1, "5": 1}}


def test_dict_to_dense_rows_follow_numeric_task_keys():
    crowd = data.from_json(PEERANNOT)
    assert list(crowd.task_ids) == ["0", "1", "2", "10"]
    assert list(crowd.annotator_ids) == ["2", "5"]
    assert crowd.crowd_labels.tolist() == [[0, 1], [2, -1], [1, 1], [-1, 2]]


def test_file_round_trip(tmp_path):
    crowd = data.from_json(PEERANNOT)
    path = data.write_json(crowd, tmp_path / "answers.json")
    assert json.loads(path.read_text()) == PEERANNOT
    back = data.read_json(path)
    assert np.array_equal(back.crowd_labels, crowd.crowd_labels)
    assert back.task_ids == crowd.task_ids and back.annotator_ids == crowd.annotator_ids


def test_dense_round_trip_with_names_and_empty_task():
    dense = np.array([[0, -1], [-1, -1], [1, 1]])
    as_json = data.to_json(dense, use_class_names=True, class_names=["neg", "pos"],
                           annotator_ids=["ann", "bob"])
    assert as_json == {"0": {"ann": "neg"}, "1": {}, "2": {"ann": "pos", "bob": "pos"}}
    with pytest.warns(EmptyTaskWarning, match="'1'"):
        back = data.from_json(as_json, class_names=["neg", "pos"], annotator_ids=["ann", "bob"])
    assert np.array_equal(back.crowd_labels, dense)


def test_duplicate_worker_in_a_task_object_is_detected_in_files():
    text = '{"0": {"w1": 1, "w1": 0}, "1": {"w1": 1}}'
    with pytest.raises(DuplicateLabelError, match="Annotator 'w1' labelled task '0' 2 times"):
        data.from_json(io.StringIO(text))
    assert data.from_json(io.StringIO(text), duplicates="last").crowd_labels[0, 0] == 0
    assert data.from_json(io.StringIO(text), duplicates="first").crowd_labels[0, 0] == 1


def test_bad_labels():
    with pytest.raises(LabelOutOfRangeError, match="Label 3"):
        data.from_json({"0": {"w": 3}}, num_classes=3)
    with pytest.raises(UnknownClassError, match="Unknown class 'dog'"):
        data.from_json({"0": {"w": "dog"}}, class_names=["cat"])
    with pytest.raises(data.CrowdDataError, match="object"):
        data.from_json({"0": [1, 2]})


def test_unreadable_paths_and_non_scalar_labels_are_crowd_data_errors(tmp_path):
    """Found by the reader fuzzing: these escaped as OSError / TypeError."""
    from keras_crowd.data import CrowdDataError
    from keras_crowd.data import from_json

    for path in ("", "\x00", str(tmp_path / "missing.json")):
        with pytest.raises(CrowdDataError, match="Cannot read the JSON file"):
            from_json(path)
    with pytest.raises(CrowdDataError, match="got a list"):
        from_json({"t1": {"w1": [1, 2]}})


def test_json_numbers_are_class_indices_even_for_integer_class_names(tmp_path):
    """to_json writes class indices (peerannot); reading them back with class
    names such as star ratings must not match index 1 to the name "1"."""
    names = ["1", "2", "3", "4", "5"]  # nobody chose "1"
    crowd = data.from_long(pd.DataFrame({"task": ["a", "a", "b", "b"],
                                         "worker": ["w1", "w2", "w1", "w2"],
                                         "label": ["2", "3", "5", "4"]}), class_names=names)
    path = data.write_json(crowd, tmp_path / "ratings.json")
    back = data.read_json(path, class_names=names)
    assert back.decode_labels(back.crowd_labels).tolist() == [["2", "3"], ["5", "4"]]
    # Strings stay names; an index outside the names is an error.
    named = data.from_json({"a": {"w": "3", "v": 0}}, class_names=names)
    decoded = named.decode_labels(named.crowd_labels)[0]
    assert dict(zip(named.annotator_ids, decoded)) == {"w": "3", "v": "1"}
    with pytest.raises(LabelOutOfRangeError, match="Label 5 .*5 class names"):
        data.from_json({"a": {"w": 5}}, class_names=names)


def test_to_json_refuses_ids_that_would_share_a_key():
    crowd = data.EncodedCrowdLabels.from_dense([[0, -1], [1, 1]], task_ids=[1, "1"],
                                               annotator_ids=["a", "b"])
    with pytest.raises(data.CrowdDataError, match=r"task ids 1 and '1' .* JSON key '1'"):
        data.to_json(crowd)
    crowd = data.EncodedCrowdLabels.from_dense([[0, 1]], annotator_ids=[2, "2"])
    with pytest.raises(data.CrowdDataError, match="worker ids"):
        data.to_json(crowd)


@pytest.mark.parametrize("writer", ["json", "csv"])
def test_writers_leave_the_old_file_whole_when_writing_fails(tmp_path, monkeypatch, writer):
    crowd = data.EncodedCrowdLabels.from_dense([[0, 1], [1, -1]])
    path = tmp_path / f"crowd.{writer}"
    write = data.write_json if writer == "json" else data.write_csv
    write(crowd, path)
    before = path.read_bytes()

    def dump_half(obj, file, **kwargs):
        file.write('{"0": ')
        raise OSError("disk full")

    def to_csv_half(frame, target, **kwargs):
        with open(target, "w") as file:
            file.write("task,wor")
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", dump_half)
    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv_half)
    with pytest.raises(OSError, match="disk full"):
        write(data.EncodedCrowdLabels.from_dense([[1, 1], [0, 0]]), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
