import numpy as np
import pandas as pd
import pytest

from keras_crowd import data
from keras_crowd.data import CrowdDataError
from keras_crowd.data import DuplicateLabelError
from keras_crowd.data import EmptyTaskError
from keras_crowd.data import EmptyTaskWarning
from keras_crowd.data import LabelOutOfRangeError
from keras_crowd.data import UnknownClassError
from keras_crowd.data import UnknownIdError

FRAME = pd.DataFrame({
    "task": ["song2", "song1", "song1", "song3", "song2"],
    "worker": ["A9", "A1", "A9", "A1", "A1"],
    "label": ["rock", "jazz", "jazz", "pop", "rock"],
})


def test_string_ids_and_class_names_map_to_indices_and_back():
    crowd = data.from_long(FRAME)
    assert list(crowd.task_ids) == ["song1", "song2", "song3"]
    assert list(crowd.annotator_ids) == ["A1", "A9"]
    assert list(crowd.class_names) == ["jazz", "pop", "rock"]
    assert crowd.crowd_labels.tolist() == [[0, 0], [2, 2], [1, -1]]
    long = data.to_long(crowd)
    assert list(long.columns) == ["task", "worker", "label"]
    key = ["task", "worker"]
    expected = FRAME.sort_values(key).reset_index(drop=True)
    assert long.sort_values(key).reset_index(drop=True).astype(str).equals(expected.astype(str))


def test_row_order_does_not_matter():
    first = data.from_long(FRAME)
    shuffled = data.from_long(FRAME.sample(frac=1.0, random_state=3))
    assert np.array_equal(first.crowd_labels, shuffled.crowd_labels)
    assert first.task_ids == shuffled.task_ids and first.annotator_ids == shuffled.annotator_ids


def test_given_orders_and_integer_labels_with_names():
    frame = FRAME.assign(label=[2, 0, 0, 1, 2])
    crowd = data.from_long(frame, class_names=["jazz", "pop", "rock"],
                           task_ids=["song3", "song2", "song1"], annotator_ids=["A9", "A1"])
    assert crowd.crowd_labels.tolist() == [[-1, 1], [2, 2], [0, 0]]
    assert crowd.decode_labels(crowd.crowd_labels[1]).tolist() == ["rock", "rock"]
    # Integer labels without names: indices; num_classes may exceed the largest label.
    plain = data.from_long(frame, num_classes=5)
    assert plain.num_classes == 5 and list(plain.class_names) == [0, 1, 2, 3, 4]


def test_integer_class_names_are_matched_by_value():
    frame = pd.DataFrame({"task": [0, 1], "worker": [0, 0], "label": [10, 30]})
    crowd = data.from_long(frame, class_names=[10, 20, 30])
    assert crowd.crowd_labels[:, 0].tolist() == [0, 2]


def test_integer_labels_match_string_class_names_by_value(tmp_path):
    # The CLI's --class-names are strings: label 1 must be class "1", not position 1.
    labels = [1, 4, 2, 5, 3]
    frame = pd.DataFrame({"task": range(5), "worker": ["w"] * 5, "label": labels})
    names = ["1", "2", "3", "4", "5"]
    crowd = data.from_long(frame, class_names=names)
    assert crowd.decode_labels(crowd.crowd_labels[:, 0]).tolist() == [str(v) for v in labels]
    frame.to_csv(tmp_path / "ratings.csv", index=False)
    from_file = data.read_csv(tmp_path / "ratings.csv", class_names=names)
    assert np.array_equal(from_file.crowd_labels, crowd.crowd_labels)


def test_integer_labels_are_positions_only_for_non_integer_class_names():
    frame = pd.DataFrame({"task": [0, 1, 2], "worker": ["w"] * 3, "label": [1, 0, 1]})
    crowd = data.from_long(frame, class_names=["cat", "dog"])
    assert crowd.decode_labels(crowd.crowd_labels[:, 0]).tolist() == ["dog", "cat", "dog"]
    # Names that are numbers: 0 is no name, and is not silently taken as a position.
    with pytest.raises(UnknownClassError,
                       match=r"Unknown class 0: 1 label\(s\) match no class name"):
        data.from_long(frame, class_names=["1", "2"])
    with pytest.raises(UnknownClassError,
                       match=r"Unknown class 7, 0: 2 label\(s\) match no class name.*positions"):
        data.from_long(frame.assign(label=[7, 0, 1]), class_names=["1", "2", "3"])


def test_integer_labels_of_a_data_frame_are_categories(tmp_path):
    frame = pd.DataFrame({"task": [0, 1, 2], "worker": ["w"] * 3, "label": [7, 3, -1]})
    crowd = data.from_long(frame)
    assert list(crowd.class_names) == [-1, 3, 7]
    assert crowd.decode_labels(crowd.crowd_labels[:, 0]).tolist() == [7, 3, -1]
    # With num_classes (or class_names) integer labels are class indices, as in files.
    frame = frame.assign(label=[4, 3, 1])
    assert list(data.from_long(frame, num_classes=5).class_names) == [0, 1, 2, 3, 4]
    frame.to_csv(tmp_path / "labels.csv", index=False)
    from_file = data.read_csv(tmp_path / "labels.csv")
    assert list(from_file.class_names) == [0, 1, 2, 3, 4]
    assert from_file.crowd_labels[:, 0].tolist() == [4, 3, 1]


def test_integer_labels_without_class_0_warn_of_classes_numbered_from_1(tmp_path):
    import warnings

    from keras_crowd.data import ClassZeroWithoutLabelsWarning

    path = tmp_path / "labels.csv"
    path.write_text("task,worker,label\n0,w1,1\n0,w2,2\n1,w1,3\n")
    with pytest.warns(ClassZeroWithoutLabelsWarning, match="run from 1 to 3"):
        crowd = data.read_csv(path)
    assert list(crowd.class_names) == [0, 1, 2, 3]  # the documented reading is kept
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClassZeroWithoutLabelsWarning)
        data.read_csv(path, num_classes=4)  # K given: class 0 is the user's own
        data.read_csv(path, class_names=["1", "2", "3"])
        path.write_text("task,worker,label\n0,w1,0\n0,w2,2\n")
        data.read_csv(path)


@pytest.mark.parametrize("token", ["NA", "N/A", "null", "NaN", "None", "#N/A"])
def test_csv_na_token_among_numeric_labels_is_a_missing_label(tmp_path, token):
    # R writes NA for a missing value: among numbers it is no class named "NA".
    path = tmp_path / "na.csv"
    path.write_text(f"task,worker,label\n0,a,1\n0,b,{token}\n1,a,0\n1,NA,1\n")
    with pytest.raises(CrowdDataError, match=r"1 label\(s\) are missing.* row\(s\) 1\b"):
        data.read_csv(path)


def test_csv_na_token_among_text_labels_is_a_class_name(tmp_path):
    path = tmp_path / "na.csv"
    path.write_text("task,worker,label\n0,a,1\n0,NA,NA\n1,a,cat\n1,NA,1\n")
    crowd = data.read_csv(path)
    assert list(crowd.annotator_ids) == ["NA", "a"]
    assert list(crowd.class_names) == ["1", "NA", "cat"]
    assert crowd.decode_labels(crowd.crowd_labels).tolist() == [["NA", "1"], ["1", "cat"]]


def test_csv_reads_na_and_null_as_ids_and_class_names(tmp_path):
    # Only an empty cell is missing: "NA", "N/A" and "null" are ordinary names.
    path = tmp_path / "na.csv"
    path.write_text("task,worker,label\n0,NA,cat\n0,w2,N/A\n1,null,NA\n1,w2,dog\n")
    crowd = data.read_csv(path)
    assert list(crowd.annotator_ids) == ["NA", "null", "w2"]
    assert list(crowd.class_names) == ["N/A", "NA", "cat", "dog"]
    assert crowd.decode_labels(crowd.crowd_labels).tolist() == [
        ["cat", None, "N/A"], [None, "NA", "dog"]]
    path.write_text("task,worker,label\n0,w1,cat\n0,w2,\n")
    with pytest.raises(CrowdDataError, match=r"1 label\(s\) are missing"):
        data.read_csv(path)
    path.write_text("task,worker,label\n0,,cat\n")
    with pytest.raises(CrowdDataError, match="An annotator id is missing"):
        data.read_csv(path)


def test_csv_round_trip(tmp_path):
    crowd = data.from_long(FRAME.assign(task=["007", "001", "001", "010", "007"]))
    path = data.write_csv(crowd, tmp_path / "labels.csv")
    back = data.read_csv(path)
    assert list(back.task_ids) == ["001", "007", "010"]  # ids read as strings, zeros kept
    assert np.array_equal(back.crowd_labels, crowd.crowd_labels)
    assert back.class_names == crowd.class_names
    indices_csv = data.write_csv(crowd, tmp_path / "indices.csv", use_class_names=False)
    again = data.from_long(indices_csv, class_names=list(crowd.class_names))
    assert np.array_equal(again.crowd_labels, crowd.crowd_labels)


def test_dense_array_round_trip_through_long():
    dense = np.array([[0, -1, 2], [-1, -1, 1], [1, 1, 1]])
    long = data.to_long(dense)
    assert len(long) == 6
    back = data.from_long(long, task_ids=[0, 1, 2], annotator_ids=[0, 1, 2], num_classes=3)
    assert np.array_equal(back.crowd_labels, dense)


def test_crowd_kit_performer_column_is_accepted():
    crowd = data.from_long(FRAME.rename(columns={"worker": "performer"}))
    assert list(crowd.annotator_ids) == ["A1", "A9"]


def test_missing_columns():
    with pytest.raises(CrowdDataError, match="missing \\['label'\\]"):
        data.from_long(FRAME.drop(columns="label"))


def test_unknown_class_name():
    with pytest.raises(UnknownClassError, match=r"Unknown class 'pop'.*'jazz', 'rock'"):
        data.from_long(FRAME, class_names=["jazz", "rock"])


def test_label_outside_known_classes(tmp_path):
    frame = FRAME.assign(label=[0, 1, 1, 7, 0])
    with pytest.raises(LabelOutOfRangeError, match=r"Label 7 \(row 3\) .*\[0, 3\)"):
        data.from_long(frame, num_classes=3)
    with pytest.raises(LabelOutOfRangeError, match=r"Label 7"):
        data.from_long(frame, class_names=["a", "b", "c"])
    # Integer labels of a CSV file are class indices (a DataFrame's are categories).
    frame.assign(label=[0, -1, 1, 1, 0]).to_csv(tmp_path / "negative.csv", index=False)
    with pytest.raises(LabelOutOfRangeError, match=r"Label -1"):
        data.read_csv(tmp_path / "negative.csv")


def test_infinite_label_is_an_error_not_a_class(tmp_path):
    # inf == round(inf): it once passed for an integer and became class -2**63.
    for labels in ([0, 1, np.inf, 1, 0], np.array([0, 1, -np.inf, 1, 0], dtype=object)):
        with pytest.raises(LabelOutOfRangeError, match=r"Label -?inf \(row 2\) is infinite"):
            data.from_long(FRAME.assign(label=labels))
    FRAME.assign(label=["0", "1", "inf", "1", "0"]).to_csv(tmp_path / "inf.csv", index=False)
    with pytest.raises(LabelOutOfRangeError, match=r"Label inf \(row 2\) is infinite"):
        data.read_csv(tmp_path / "inf.csv")
    # The text "inf" among class names is a name.
    crowd = data.from_long(FRAME.assign(label=["a", "b", "inf", "b", "a"]))
    assert list(crowd.class_names) == ["a", "b", "inf"]


def test_missing_label_in_a_row():
    with pytest.raises(CrowdDataError, match=r"missing \(NaN/None\), e.g. at row\(s\) 2"):
        data.from_long(FRAME.assign(label=["rock", "jazz", None, "pop", "rock"]))


def test_duplicate_policy():
    duplicated = pd.concat([FRAME, pd.DataFrame(
        {"task": ["song1"], "worker": ["A1"], "label": ["pop"]})], ignore_index=True)
    with pytest.raises(DuplicateLabelError,
                       match=r"Annotator 'A1' labelled task 'song1' 2 times \(rows 1, 5\)"):
        data.from_long(duplicated)
    first = data.from_long(duplicated, duplicates="first")
    last = data.from_long(duplicated, duplicates="last")
    pop = list(first.class_names).index("pop")
    assert first.crowd_labels[0, 0] == 0 and last.crowd_labels[0, 0] == pop
    with pytest.raises(ValueError, match="duplicates"):
        data.from_long(duplicated, duplicates="mean")


def test_empty_task_policies():
    task_ids = ["song1", "song2", "song3", "song4"]
    with pytest.warns(EmptyTaskWarning, match="'song4'"):
        kept = data.from_long(FRAME, task_ids=task_ids)
    assert kept.num_items == 4 and (kept.crowd_labels[3] == -1).all()
    dropped = data.from_long(FRAME, task_ids=task_ids, empty_tasks="drop")
    assert list(dropped.task_ids) == task_ids[:3]
    assert np.array_equal(dropped.crowd_labels, kept.crowd_labels[:3])
    with pytest.raises(EmptyTaskError, match="song4"):
        data.from_long(FRAME, task_ids=task_ids, empty_tasks="error")


def test_unknown_task_or_worker():
    with pytest.raises(UnknownIdError, match="Unknown task 'song3'"):
        data.from_long(FRAME, task_ids=["song1", "song2"])
    with pytest.raises(UnknownIdError, match="Unknown annotator 'A9'"):
        data.from_long(FRAME, annotator_ids=["A1"])


def test_encode_crowd_labels_dispatch(tmp_path):
    path = data.write_csv(data.from_long(FRAME), tmp_path / "x.csv")
    from_path = data.encode_crowd_labels(str(path))
    assert np.array_equal(from_path.crowd_labels, data.from_long(FRAME).crowd_labels)
    assert data.encode_crowd_labels(from_path) is from_path
    with pytest.raises(ValueError, match="Cannot tell the format"):
        data.encode_crowd_labels("labels.parquet")


def test_csv_na_tokens_stay_labels_when_no_label_is_a_number_or_a_class_is_named_so(tmp_path):
    path = tmp_path / "na.csv"
    path.write_text("task,worker,label\n0,a,None\n1,a,NA\n")
    crowd = data.read_csv(path, class_names=["None", "NA"])
    assert crowd.decode_labels(crowd.crowd_labels[:, 0]).tolist() == ["None", "NA"]
    path.write_text("task,worker,label\n0,a,NA\n1,a,NA\n")
    assert list(data.read_csv(path).class_names) == ["NA"]
    path.write_text("task,worker,label\n0,a,1\n1,a,NA\n")
    crowd = data.read_csv(path, class_names=["1", "NA"])
    assert crowd.decode_labels(crowd.crowd_labels[:, 0]).tolist() == ["1", "NA"]


def test_csv_labels_keep_their_text_when_it_names_the_classes(tmp_path):
    """pandas reads 007 and 7 as the same number and 01 as 1: class names
    written as text must come back as they were written."""
    for names, labels in ((["7", "007"], ["007", "7", "007"]),
                          (["01", "02", "10"], ["01", "10", "02"]),
                          (["1.0", "2.0", "3.0"], ["2.0", "3.0", "1.0"])):
        crowd = data.from_long(pd.DataFrame({"task": ["a", "a", "b"], "worker": ["w1", "w2", "w1"],
                                             "label": labels}), class_names=names)
        back = data.read_csv(data.write_csv(crowd, tmp_path / "n.csv"), class_names=names)
        np.testing.assert_array_equal(back.crowd_labels, crowd.crowd_labels)
        assert list(back.class_names) == names


def test_ids_and_labels_that_differ_only_by_spaces_or_type_are_an_error(tmp_path):
    # "t1, w1, cat" and "t2,w1,cat " used to give the classes ' cat', 'cat' and 'cat '.
    path = tmp_path / "spaces.csv"
    path.write_text("task,worker,label\nt1,w1, cat\nt2,w1,cat \nt3,w1,cat\n")
    with pytest.raises(CrowdDataError, match=r"class ids ' cat' and 'cat' differ only by spaces"):
        data.read_csv(path)
    frame = pd.DataFrame({"task": ["t1", "t2"], "worker": [" w1", "w1"], "label": ["a", "b"]})
    with pytest.raises(CrowdDataError, match=r"annotator ids ' w1' and 'w1'"):
        data.from_long(frame)
    with pytest.raises(CrowdDataError, match=r"task ids 't1' and 't1 '"):
        data.from_json({"t1 ": {"w1": 0}, "t1": {"w1": 1}})
    # The number 1 and the text "1" used to be two classes, [1, '1', 0].
    with pytest.raises(CrowdDataError, match=r"class ids 1 and '1' differ only by .* type"):
        data.from_json({"0": {"w1": 1}, "1": {"w1": "1"}, "2": {"w1": 0}})
    # Spaces that every id shares, or numbers written with spaces, merge nothing.
    crowd = data.from_long(frame.assign(worker=[" w1", " w2"], label=[" a", " b"]))
    assert list(crowd.class_names) == [" a", " b"]
    path.write_text("task,worker,label\nt1,w1, 1\nt2,w1,1 \n")
    assert data.read_csv(path).crowd_labels.ravel().tolist() == [1, 1]


def test_csv_task_ids_match_integer_task_ids_by_text(tmp_path):
    # A CSV's ids are text; the feature rows' ids are often an integer array. The
    # task '0' used to be "unknown" among the task ids [2, 0, 1].
    path = tmp_path / "crowd.csv"
    path.write_text("task,worker,label\n0,a,cat\n1,a,dog\n2,b,dog\n")
    crowd = data.read_csv(path, task_ids=np.array([2, 0, 1]))
    assert list(crowd.task_ids) == [2, 0, 1]
    assert crowd.crowd_labels.tolist() == [[-1, 1], [0, -1], [1, -1]]
    crowd = data.from_json({"0": {"a": "cat"}, "1": {"a": "dog"}}, task_ids=[1, 0])
    assert crowd.crowd_labels.tolist() == [[1], [0]]
    # Only the same text matches: '01' is not the id 1.
    path.write_text("task,worker,label\n01,a,cat\n")
    with pytest.raises(UnknownIdError, match="Unknown task '01'"):
        data.read_csv(path, task_ids=[0, 1])
