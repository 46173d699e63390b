"""One entry point that accepts crowd labels in any supported format."""

import os
import pathlib

import numpy as np
import pandas as pd

from keras_crowd.data import json_format
from keras_crowd.data import long_format
from keras_crowd.data import validation
from keras_crowd.data.encoded import EncodedCrowdLabels


def encode_crowd_labels(data, *, num_classes=None, class_names=None, **kwargs):
    """Reads crowd labels in any supported format into `EncodedCrowdLabels`.

    Dispatch on the type of `data`:
    - `EncodedCrowdLabels`: returned unchanged (after checking `num_classes`);
    - `pandas.DataFrame`: long format ``task, worker, label`` (`from_long`);
    - `dict`: peerannot JSON ``{task: {worker: label}}`` (`from_json`);
    - a path ending in ``.csv`` or ``.json``: read with the matching reader;
    - anything array-like: dense (N, M), int with -1 or float with NaN for
      missing (`EncodedCrowdLabels.from_dense`).

    Args:
        data: the crowd labels.
        num_classes: optional K.
        class_names: optional K class names.
        **kwargs: passed to the reader (`task_ids`, `annotator_ids`,
            `duplicates`, `empty_tasks`, ...). `duplicates` is accepted for a
            dense array too, which cannot hold duplicates.

    Returns:
        `EncodedCrowdLabels`.

    Example:

    >>> encode_crowd_labels([[0, -1], [1, 0]]).num_annotators
    2
    """
    if isinstance(data, EncodedCrowdLabels):
        if num_classes is not None and num_classes != data.num_classes:
            raise ValueError(
                f"num_classes={num_classes} but the data has {data.num_classes} classes.")
        if class_names is not None and tuple(class_names) != tuple(data.class_names):
            raise ValueError(
                f"class_names {tuple(class_names)} differ from the data's "
                f"{tuple(data.class_names)}.")
        return data
    if isinstance(data, pd.DataFrame):
        return long_format.from_long(data, num_classes=num_classes, class_names=class_names,
                                     **kwargs)
    if isinstance(data, dict):
        return json_format.from_json(data, num_classes=num_classes, class_names=class_names,
                                     **kwargs)
    if isinstance(data, (str, os.PathLike)):
        suffix = pathlib.Path(data).suffix.lower()
        readers = {".csv": long_format.read_csv, ".json": json_format.read_json}
        if suffix not in readers:
            raise ValueError(
                f"Cannot tell the format of {str(data)!r}: expected a .csv (long format) "
                "or .json (peerannot) file.")
        return readers[suffix](data, num_classes=num_classes, class_names=class_names,
                               **kwargs)
    # A dense array cannot hold duplicates: the policy is checked, and has nothing to do.
    validation.check_policy("duplicates", kwargs.pop("duplicates", "error"),
                            validation.DUPLICATE_POLICIES)
    return EncodedCrowdLabels.from_dense(np.asarray(data), num_classes=num_classes,
                                         class_names=class_names, **kwargs)
