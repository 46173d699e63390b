"""Crowd-label formats, id <-> index maps and validation.

Conventions: K classes, M annotators, N items. Dense crowd labels are an
(N, M) int array with -1 for a missing label (float arrays with NaN or -1 are
converted). Readers return `EncodedCrowdLabels`: the dense array plus the
`task_ids`, `annotator_ids` and `class_names` vocabularies that map the
user's ids to indices and back.

Formats: dense int/-1 and float/NaN (`dense`), long ``task, worker, label``
DataFrame or CSV with crowd-kit's column names (`long_format`), peerannot
JSON ``{task: {worker: label}}`` (`json_format`), padded per-item
(annotator, label) pairs for huge crowds (`padded_pairs`).

Policies (see `validation`):
- duplicates (a worker labels a task twice): ``duplicates="error"``
  (default) raises `DuplicateLabelError`; ``"first"``/``"last"`` keep one;
- empty tasks: ``empty_tasks="warn"`` (default) keeps them, aligned with the
  features, with an `EmptyTaskWarning`; ``"ignore"``, ``"error"``, and
  ``"drop"`` (long/JSON only) are available;
- a label outside [0, K) raises `LabelOutOfRangeError`, an unknown class
  name `UnknownClassError`, an id outside given ids `UnknownIdError`; all
  are `CrowdDataError`, a `ValueError`;
- default orders are sorted (integer-like strings numerically), never the
  row order of the input, so aggregation does not depend on row order.

Example:

>>> import pandas as pd
>>> from keras_crowd import data
>>> frame = pd.DataFrame({"task": ["a", "a", "b"], "worker": ["w1", "w2", "w2"],
...                       "label": ["cat", "dog", "cat"]})
>>> crowd = data.from_long(frame)
>>> crowd.crowd_labels.tolist()
[[0, 1], [-1, 0]]
>>> data.to_long(crowd).equals(frame)
True
"""

from keras_crowd.data.convert import encode_crowd_labels
from keras_crowd.data.dense import from_nan_float
from keras_crowd.data.dense import infer_num_classes
from keras_crowd.data.dense import labels_per_annotator
from keras_crowd.data.dense import labels_per_item
from keras_crowd.data.dense import observed_mask
from keras_crowd.data.dense import observed_triples
from keras_crowd.data.dense import to_nan_float
from keras_crowd.data.dense import vote_counts
from keras_crowd.data.encoded import EncodedCrowdLabels
from keras_crowd.data.encoded import encode_class_labels
from keras_crowd.data.encoded import encode_triples
from keras_crowd.data.errors import CrowdDataError
from keras_crowd.data.errors import DuplicateLabelError
from keras_crowd.data.errors import EmptyTaskError
from keras_crowd.data.errors import ClassZeroWithoutLabelsWarning
from keras_crowd.data.errors import EmptyTaskWarning
from keras_crowd.data.errors import LabelOutOfRangeError
from keras_crowd.data.errors import UnknownClassError
from keras_crowd.data.errors import UnknownIdError
from keras_crowd.data.json_format import from_json
from keras_crowd.data.json_format import read_json
from keras_crowd.data.json_format import to_json
from keras_crowd.data.json_format import write_json
from keras_crowd.data.long_format import from_long
from keras_crowd.data.long_format import read_csv
from keras_crowd.data.long_format import to_long
from keras_crowd.data.long_format import write_csv
from keras_crowd.data.padded_pairs import from_padded_pairs
from keras_crowd.data.padded_pairs import to_padded_pairs
from keras_crowd.data.validation import MISSING_LABEL
from keras_crowd.data.validation import check_crowd_labels
from keras_crowd.data.vocabulary import Vocabulary
