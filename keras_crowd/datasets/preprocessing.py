"""Feature preprocessing shared by the dataset loaders and the simulators."""

import numpy as np


def standardize_features(x_train, *others, dtype="float32"):
    """Standardises features with the TRAINING split's mean and std only.

    Features with zero training variance are centred but not scaled.

    Args:
        x_train: (N, D) training features.
        *others: further splits (valid, test), scaled with the train statistics.
        dtype: output dtype.

    Returns:
        A tuple of the standardised arrays, `x_train` first.

    Example:

    >>> standardize_features(np.array([[1.0], [3.0]]), np.array([[5.0]]))[1].tolist()
    [[3.0]]
    """
    x_train = np.asarray(x_train, dtype=np.float64)
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return tuple(((np.asarray(x, dtype=np.float64) - mean) / std).astype(dtype)
                 for x in (x_train,) + others)
