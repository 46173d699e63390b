"""Fuzzing the crowd-label readers: a correct result or the documented error.

Hypothesis generates CSV bytes (bad encodings, missing columns, duplicates,
huge ids), JSON documents and long-format frames. Every reader must either
return labels consistent with its input or raise `CrowdDataError` (a
`ValueError`) with a message; no other exception may escape.
"""

import json

import numpy as np
import pandas as pd
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from keras_crowd import data
from keras_crowd.data import CrowdDataError

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

ids = st.one_of(
    st.integers(-(2**70), 2**70),
    st.text(min_size=0, max_size=6),
    st.sampled_from(["w1", "w2", "t1", "1", "01", "nan", ""]),
)
class_values = st.one_of(st.integers(-3, 12), st.sampled_from(["cat", "dog", "bird", "", "nan"]))


def _check_result(crowd):
    labels = np.asarray(crowd.crowd_labels)
    assert labels.ndim == 2
    assert labels.min(initial=-1) >= -1
    assert labels.max(initial=-1) < crowd.num_classes
    assert labels.shape == (len(crowd.task_ids), len(crowd.annotator_ids))


@SETTINGS
@given(rows=st.lists(st.tuples(ids, ids, class_values), max_size=25),
       columns=st.sampled_from([("task", "worker", "label"), ("task", "worker"),
                                ("item", "worker", "label"), ("task", "performer", "label")]))
def test_long_frames(rows, columns):
    frame = pd.DataFrame([row[: len(columns)] for row in rows], columns=list(columns))
    try:
        crowd = data.from_long(frame)
    except CrowdDataError as error:
        assert str(error)
        return
    _check_result(crowd)
    assert int(np.sum(np.asarray(crowd.crowd_labels) >= 0)) <= len(frame)


@SETTINGS
@given(payload=st.binary(max_size=300), header=st.sampled_from([b"task,worker,label\n", b"", b"a,b\n"]))
def test_csv_bytes(tmp_path_factory, payload, header):
    path = tmp_path_factory.mktemp("csv") / "labels.csv"
    path.write_bytes(header + payload)
    try:
        crowd = data.read_csv(path)
    except CrowdDataError as error:
        assert str(error)
        return
    _check_result(crowd)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 2**64), st.floats(allow_nan=True),
              st.text(max_size=5)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=4), children, max_size=4)),
    max_leaves=12,
)


@SETTINGS
@given(document=st.one_of(
    json_values,
    st.dictionaries(ids.map(str), st.dictionaries(ids.map(str), class_values, max_size=4), max_size=6),
))
def test_json_documents(tmp_path_factory, document):
    path = tmp_path_factory.mktemp("json") / "labels.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    for reader in (lambda: data.from_json(document), lambda: data.read_json(path)):
        try:
            crowd = reader()
        except CrowdDataError as error:
            assert str(error)
            continue
        _check_result(crowd)


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_json_bad_bytes(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("jsonb") / "labels.json"
    path.write_bytes(raw)
    try:
        crowd = data.read_json(path)
    except CrowdDataError as error:
        assert str(error)
        return
    _check_result(crowd)
