"""The Music genre crowdsourced dataset (bundled, offline)."""

from keras_crowd.datasets.bundled import load_bundled_arrays
from keras_crowd.datasets.preprocessing import standardize_features
from keras_crowd.datasets.dataset import CrowdDataset


def music(standardize=True, dtype="float32"):
    """Music genre classification from Amazon Mechanical Turk labels.

    Rodrigues, Pereira & Ribeiro (2013), GTZAN-derived: 700 training songs
    labelled by 44 workers (2945 labels, 1-7 per song), 300 test songs, 124
    Marsyas features, 10 genres indexed as blues, classical, country, disco,
    hiphop, jazz, metal, pop, reggae, rock. Provenance:
    ``keras_crowd/datasets/data/PROVENANCE.md``.

    Args:
        standardize: the raw Marsyas features span very different scales
            (up to ~100), so by default (True) every feature is standardised
            with the mean and std of the 700 TRAINING songs only (the test
            split uses the same statistics). False returns the raw features.
        dtype: dtype of the returned features.

    Returns:
        `CrowdDataset` with `crowd_labels` (700, 44) int32 (-1 = not labelled),
        `annotator_ids` the worker id strings (column order, sorted) and
        `task_ids` the song ids (row order of the gold file).

    Example:

    >>> ds = music()
    >>> ds.crowd_labels.shape, ds.x_test.shape, ds.class_names[:2]
    ((700, 44), (300, 124), ('blues', 'classical'))
    """
    arrays = load_bundled_arrays("music")
    x_train, x_test = arrays["x_train"], arrays["x_test"]
    if standardize:
        x_train, x_test = standardize_features(x_train, x_test, dtype=dtype)
    else:
        x_train, x_test = x_train.astype(dtype), x_test.astype(dtype)
    return CrowdDataset.from_bundled_arrays(
        arrays, "music", x_train, x_test,
        task_ids=tuple(arrays["train_ids"].tolist()),
    )
