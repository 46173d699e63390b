"""The LabelMe scenes crowdsourced dataset (bundled, offline)."""

import numpy as np

from keras_crowd.datasets.bundled import load_bundled_arrays
from keras_crowd.datasets.preprocessing import standardize_features
from keras_crowd.datasets.dataset import CrowdDataset


def labelme(standardize=False, dtype="float32"):
    """LabelMe scene classification from crowd labels (Rodrigues & Pereira 2018).

    1000 training images labelled by 59 annotators (2547 labels, 1-3 per
    image), 500 validation and 1188 test images with true labels, 8 classes
    (highway, insidecity, tallbuilding, street, forest, coast, mountain,
    opencountry). Features are 512 ImageNet VGG16 convolutional features,
    global-average-pooled. Provenance:
    ``keras_crowd/datasets/data/PROVENANCE.md``.

    Args:
        standardize: False (default) returns the VGG features unchanged, as
            the papers use them; True standardises every split with the
            training split's mean and std.
        dtype: dtype of the returned features.

    Returns:
        `CrowdDataset` with `crowd_labels` (1000, 59) int32 (-1 = not
        labelled), annotator ids 0..58 (the source has no worker ids) and a
        validation split (`x_valid`, `y_valid`).

    Example:

    >>> ds = labelme()
    >>> ds.x_train.shape, ds.x_valid.shape, ds.x_test.shape
    ((1000, 512), (500, 512), (1188, 512))
    """
    arrays = load_bundled_arrays("labelme")
    splits = (arrays["x_train"], arrays["x_valid"], arrays["x_test"])
    if standardize:
        splits = standardize_features(*splits, dtype=dtype)
    x_train, x_valid, x_test = (x.astype(dtype, copy=False) for x in splits)
    return CrowdDataset.from_bundled_arrays(
        arrays, "labelme", x_train, x_test,
        x_valid=x_valid,
        y_valid=arrays["y_valid"].astype(np.int32),
    )
