"""Drawing crowd labels from confusion matrices."""

import numpy as np

from keras_crowd.data.validation import MISSING_LABEL
from keras_crowd.data.validation import check_class_indices
from keras_crowd.simulators.confusion_matrices import CONFUSION_GENERATORS
from keras_crowd.simulators.confusion_matrices import check_confusion_matrices
from keras_crowd.simulators.observation import observation_mask
from keras_crowd.simulators.simulated_crowd import SimulatedCrowd
from keras_crowd.utils.arguments import positive_integer


def _sample_categorical_numpy(probabilities, rng):
    """One draw per row of `probabilities` (S, K), by inverse CDF."""
    cumulative = np.cumsum(probabilities, axis=1)
    uniform = rng.random(len(probabilities)) * cumulative[:, -1]
    draws = (cumulative <= uniform[:, None]).sum(axis=1)
    return np.minimum(draws, probabilities.shape[1] - 1)


def _sample_categorical_tfp(probabilities, rng):
    """One draw per row, with TensorFlow Probability (imported lazily)."""
    try:
        import tensorflow_probability as tfp
    except ImportError as error:
        raise ImportError(
            'backend="tfp" needs tensorflow-probability (pip install '
            '"keras_crowd[probability]"); the default backend="numpy" does not.') from error
    # A pair of ints makes TFP sample statelessly: same seed, same draws.
    seed = tuple(int(s) for s in rng.integers(0, 2**31 - 1, size=2))
    distribution = tfp.distributions.Categorical(probs=probabilities)
    return np.asarray(distribution.sample(seed=seed)).astype(np.int64)


_BACKENDS = {"numpy": _sample_categorical_numpy, "tfp": _sample_categorical_tfp}


def checked_true_labels(true_labels, num_classes=None):
    """True classes for a simulator, and K, or a clear error.

    Args:
        true_labels: (N,) class indices (integers, or floats holding whole
            numbers: 1.9 is an error, never class 1).
        num_classes: K; default max(true_labels) + 1.

    Returns:
        `(true_labels, num_classes)`: an int64 array and an int >= 2.

    Example:

    >>> checked_true_labels([0, 2.0, 1])[1]
    3
    """
    true_labels = check_class_indices(true_labels, num_classes, name="True label")
    if num_classes is None:
        num_classes = int(true_labels.max(initial=0)) + 1
        if num_classes < 2:
            raise ValueError(
                f"num_classes must be >= 2; inferred {num_classes} from true_labels (all "
                "class 0). Pass num_classes=.")
    elif num_classes < 2:
        raise ValueError(f"num_classes must be >= 2; got {num_classes}.")
    return true_labels, int(num_classes)


def sample_crowd_labels(true_labels, confusion_matrices, labels_per_item=None,
                        missing_rate=None, seed=None, backend="numpy", kind="custom"):
    """Simulates annotators with given confusion matrices.

    Annotator m labels item n (pattern from `observation_mask`) with a label
    drawn from the column ``A_m[:, true_labels[n]]``.

    Args:
        true_labels: (N,) int true classes.
        confusion_matrices: (M, K, K) column-stochastic.
        labels_per_item: R labels per item (exactly), or
        missing_rate: probability that a pair is missing (see
            `observation_mask`). Neither: every annotator labels every item.
        seed: int, None or `numpy.random.Generator`; the same seed gives the
            same labels.
        backend: ``"numpy"`` (default) or ``"tfp"`` (TensorFlow Probability's
            Categorical, optional; reproducible too, with another stream).
        kind: name stored in the result.

    Returns:
        `SimulatedCrowd` with the labels and `confusion_matrices`.

    Example:

    >>> import numpy as np
    >>> A = np.stack([np.eye(3)] * 2)
    >>> sample_crowd_labels([0, 2, 1], A, seed=0).crowd_labels.tolist()
    [[0, 0], [2, 2], [1, 1]]
    """
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be 'numpy' or 'tfp'; got {backend!r}.")
    rng = np.random.default_rng(seed)
    matrices = check_confusion_matrices(confusion_matrices)
    num_annotators, num_classes = matrices.shape[0], matrices.shape[-1]
    true_labels = check_class_indices(true_labels, num_classes, name="True label")
    mask = observation_mask(len(true_labels), num_annotators, labels_per_item, missing_rate,
                            seed=rng)
    item_index, annotator_index = np.nonzero(mask)
    columns = matrices[annotator_index, :, true_labels[item_index]]
    crowd_labels = np.full(mask.shape, MISSING_LABEL, dtype=np.int32)
    crowd_labels[item_index, annotator_index] = _BACKENDS[backend](columns, rng)
    return SimulatedCrowd(crowd_labels=crowd_labels, confusion_matrices=matrices,
                          true_labels=true_labels.astype(np.int32), kind=kind)


def simulate_annotators(true_labels, kind, num_annotators, num_classes=None,
                        labels_per_item=None, missing_rate=None, seed=None, backend="numpy",
                        **kind_options):
    """Simulates a crowd of one of the paper's annotator types.

    Args:
        true_labels: (N,) int true classes.
        kind: ``"separable_uniform"``, ``"diagonally_dominant"``,
            ``"hammer_spammer"``, ``"class_experts"`` or ``"symmetric_flip"``
            (see the generators in `keras_crowd.simulators.confusion_matrices`).
        num_annotators: M.
        num_classes: K; default max(true_labels) + 1.
        labels_per_item, missing_rate: the observation pattern (one or none).
        seed: int, None or `numpy.random.Generator`: one generator drives the
            confusion matrices, the pattern and the labels, so a seed
            reproduces everything.
        backend: ``"numpy"`` or ``"tfp"`` for the label draws.
        **kind_options: options of the generator (e.g. ``expertise=0.6``,
            ``num_hammers=2``, ``flip_rate=0.2``).

    Returns:
        `SimulatedCrowd`.

    Example:

    >>> crowd = simulate_annotators([0, 1] * 50, "hammer_spammer", num_annotators=5,
    ...                             labels_per_item=3, seed=1, num_hammers=2)
    >>> crowd.crowd_labels.shape, int((crowd.crowd_labels >= 0).sum(axis=1).max())
    ((100, 5), 3)
    """
    if kind not in CONFUSION_GENERATORS:
        raise ValueError(f"Unknown annotator kind {kind!r}; use one of "
                         f"{sorted(CONFUSION_GENERATORS)}.")
    num_annotators = positive_integer("num_annotators", num_annotators)
    rng = np.random.default_rng(seed)
    true_labels, num_classes = checked_true_labels(true_labels, num_classes)
    matrices = CONFUSION_GENERATORS[kind](num_annotators, num_classes, seed=rng,
                                          **kind_options)
    return sample_crowd_labels(true_labels, matrices, labels_per_item, missing_rate, seed=rng,
                               backend=backend, kind=kind)
