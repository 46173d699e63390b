"""Generators of column-stochastic confusion matrices for the paper's annotator types.

Every generator returns an (M, K, K) float64 array ``A`` with
``A[m, k, k'] = Pr(annotator m says k | true class k')``: non-negative,
every column sums to 1. Every generator takes ``seed``: an int, None, or a
`numpy.random.Generator` (used as is, so one generator can drive a whole
simulation).
"""

import numpy as np

from keras_crowd.utils.arguments import confusion_matrix_stack
from keras_crowd.utils.arguments import positive_integer


def check_confusion_matrices(confusion_matrices, atol=1e-6):
    """Checks an (M, K, K) array is column-stochastic; returns it as float64.

    Raises:
        ValueError: wrong shape, a negative entry or a column not summing to 1.
    """
    matrices = confusion_matrix_stack(confusion_matrices, "Confusion matrices")
    if np.any(matrices < -atol) or not np.all(np.isfinite(matrices)):
        raise ValueError("Confusion matrices must be finite and non-negative.")
    sums = matrices.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=atol):
        m, k = np.argwhere(~np.isclose(sums, 1.0, atol=atol))[0]
        raise ValueError(
            f"Confusion matrices must be column-stochastic (A[m, :, k'] sums to 1); "
            f"annotator {m}, column {k} sums to {sums[m, k]:.6f}.")
    return matrices


def _spread_columns(diagonal, rng, concentration):
    """K x K column-stochastic matrix with `diagonal` and Dirichlet off-diagonals."""
    num_classes = len(diagonal)
    matrix = np.zeros((num_classes, num_classes))
    for k in range(num_classes):
        others = [j for j in range(num_classes) if j != k]
        matrix[others, k] = (1.0 - diagonal[k]) * rng.dirichlet(
            np.full(num_classes - 1, concentration))
        matrix[k, k] = diagonal[k]
    return matrix


def _near_uniform(num_classes, rng, concentration):
    """Columns drawn from Dirichlet(concentration * 1): near uniform when large."""
    return rng.dirichlet(np.full(num_classes, concentration), size=num_classes).T


def _check_probability(name, value, low=0.0, high=1.0):
    value = np.asarray(value, dtype=np.float64)
    if np.any(value < low) or np.any(value > high):
        raise ValueError(f"{name} must be in [{low}, {high}]; got {value}.")
    return value


def separable_uniform_confusions(num_annotators, num_classes, expert_accuracy=0.95,
                                 uniform_concentration=20.0, seed=None):
    """One near-perfect annotator, all others near uniform.

    The paper's "separable" case: annotator 0 is near-perfect (diagonal
    `expert_accuracy`, the rest of each column spread by Dirichlet(1)); every
    other annotator's columns are drawn from Dirichlet(`uniform_concentration`),
    close to the uniform 1/K (nearly uninformative).

    Example:

    >>> A = separable_uniform_confusions(3, 4, seed=0)
    >>> A.shape, float(A[0].diagonal().min())
    ((3, 4, 4), 0.95)
    """
    rng = np.random.default_rng(seed)
    # Annotator 0 is always made: without this check 0 annotators gave 1.
    num_annotators = positive_integer("num_annotators", num_annotators)
    _check_probability("expert_accuracy", expert_accuracy)
    matrices = [_spread_columns(np.full(num_classes, expert_accuracy), rng, 1.0)]
    matrices += [_near_uniform(num_classes, rng, uniform_concentration)
                 for _ in range(num_annotators - 1)]
    return np.stack(matrices)


def diagonally_dominant_confusions(num_annotators, num_classes, expertise=0.7, spread=0.1,
                                   off_diagonal_concentration=1.0, seed=None):
    """Every annotator is better than chance on every class, at a given expertise.

    Each diagonal entry ``A[m, k, k]`` is drawn uniformly from
    ``[expertise - spread, expertise + spread]``; the rest of the column is
    split among the other classes by Dirichlet(`off_diagonal_concentration`).
    A column whose largest off-diagonal entry would reach the diagonal is
    split evenly instead, so every column is strictly diagonally dominant.

    Args:
        num_annotators: M.
        num_classes: K.
        expertise: mean probability of a correct label.
        spread: half-width of the range of diagonal entries.
        off_diagonal_concentration: Dirichlet concentration of the errors.
        seed: int, None or `numpy.random.Generator`.

    Raises:
        ValueError: ``expertise - spread <= 1/K`` (no dominance possible) or
            ``expertise + spread > 1``.
    """
    rng = np.random.default_rng(seed)
    if not spread >= 0:
        raise ValueError(f"spread must be >= 0; got {spread}.")
    low, high = expertise - spread, expertise + spread
    if low <= 1.0 / num_classes or high > 1.0:
        raise ValueError(
            f"Need 1/K < expertise - spread and expertise + spread <= 1; got expertise="
            f"{expertise}, spread={spread}, K={num_classes}.")
    matrices = []
    for _ in range(num_annotators):
        diagonal = rng.uniform(low, high, size=num_classes)
        matrix = _spread_columns(diagonal, rng, off_diagonal_concentration)
        off = matrix - np.diag(np.diag(matrix))
        for k in np.flatnonzero(off.max(axis=0) >= diagonal):
            matrix[:, k] = (1.0 - diagonal[k]) / (num_classes - 1)
            matrix[k, k] = diagonal[k]
        matrices.append(matrix)
    return np.stack(matrices)


def hammer_spammer_confusions(num_annotators, num_classes, num_hammers=None,
                              hammer_fraction=0.3, hammer_accuracy=0.95,
                              spammer_concentration=1.0, seed=None):
    """Hammers (near-perfect) and spammers (labels independent of the item).

    Annotators ``0 .. num_hammers - 1`` are hammers: diagonal
    `hammer_accuracy`, errors spread by Dirichlet(1). The others are
    spammers: every column is the same distribution p ~
    Dirichlet(`spammer_concentration`), so ``A_m = p 1^T`` (rank one) and
    their labels carry no information about the true class.

    Args:
        num_annotators: M.
        num_classes: K.
        num_hammers: number of hammers; default ``round(hammer_fraction * M)``,
            at least 1.
        hammer_fraction: used when `num_hammers` is None.
        hammer_accuracy: hammers' probability of a correct label.
        spammer_concentration: Dirichlet concentration of a spammer's answer
            distribution (large = uniform spammer).
        seed: int, None or `numpy.random.Generator`.
    """
    rng = np.random.default_rng(seed)
    if num_hammers is None:
        _check_probability("hammer_fraction", hammer_fraction)
        num_hammers = max(1, int(round(hammer_fraction * num_annotators)))
    if not 0 <= num_hammers <= num_annotators:
        raise ValueError(f"num_hammers must be in [0, {num_annotators}]; got {num_hammers}.")
    _check_probability("hammer_accuracy", hammer_accuracy)
    matrices = [_spread_columns(np.full(num_classes, hammer_accuracy), rng, 1.0)
                for _ in range(num_hammers)]
    for _ in range(num_annotators - num_hammers):
        answer = rng.dirichlet(np.full(num_classes, spammer_concentration))
        matrices.append(np.repeat(answer[:, None], num_classes, axis=1))
    return np.stack(matrices)


def class_expert_confusions(num_annotators, num_classes, expert_accuracy=0.95, leak=0.01,
                            seed=None):
    """One expert per class: annotator m is the expert of class ``m % K``.

    The expert of class c recognises c (``A[c, c] = expert_accuracy``) and
    almost never says c for another class (``A[c, k'] <= leak`` for
    ``k' != c``), so its label "c" pins the true class: the row ``A[c, :]``
    is close to a scaled unit vector, the class-specialist (near-separable W)
    condition of GeoCrowdNet(W). Its other columns are random: it is no
    expert there. Needs ``M >= K`` for every class to have an expert.

    Args:
        num_annotators: M (>= K).
        num_classes: K.
        expert_accuracy: ``A[c, c]`` of each expert on its class.
        leak: largest probability of saying c when the truth is not c.
        seed: int, None or `numpy.random.Generator`.
    """
    rng = np.random.default_rng(seed)
    if num_annotators < num_classes:
        raise ValueError(
            f"class experts need num_annotators >= num_classes; got {num_annotators} < "
            f"{num_classes}.")
    _check_probability("expert_accuracy", expert_accuracy)
    _check_probability("leak", leak)
    matrices = []
    for m in range(num_annotators):
        c = m % num_classes
        matrix = _near_uniform(num_classes, rng, 1.0)
        to_c = rng.uniform(0.0, leak, size=num_classes)
        others = np.arange(num_classes) != c
        rest = matrix[others] / matrix[others].sum(axis=0, keepdims=True)
        matrix[others] = rest * (1.0 - to_c)
        matrix[c] = to_c
        matrix[:, c] = 0.0
        matrix[others, c] = (1.0 - expert_accuracy) * rng.dirichlet(np.ones(num_classes - 1))
        matrix[c, c] = expert_accuracy
        matrices.append(matrix)
    return np.stack(matrices)


def symmetric_flip_confusions(num_annotators, num_classes, flip_rate=0.3, seed=None):
    """Symmetric label noise: the true class is kept with probability 1 - rate,
    otherwise replaced by one of the K - 1 other classes uniformly.

    ``A_m = (1 - r_m) I + r_m / (K - 1) (1 1^T - I)``.

    Args:
        num_annotators: M.
        num_classes: K (>= 2).
        flip_rate: r, a scalar for all annotators, or an (M,) array.
        seed: unused (the matrices are deterministic); kept for a uniform API.
    """
    del seed
    rates = _check_probability("flip_rate", flip_rate)
    if np.ndim(rates) > 0 and np.shape(rates) != (num_annotators,):
        raise ValueError(f"flip_rate must be one rate or one per annotator ({num_annotators}); "
                         f"got an array of shape {np.shape(rates)}.")
    rates = np.broadcast_to(rates, (num_annotators,))
    off = (np.ones((num_classes, num_classes)) - np.eye(num_classes)) / (num_classes - 1)
    return ((1.0 - rates)[:, None, None] * np.eye(num_classes)
            + rates[:, None, None] * off[None])


CONFUSION_GENERATORS = {
    "separable_uniform": separable_uniform_confusions,
    "diagonally_dominant": diagonally_dominant_confusions,
    "hammer_spammer": hammer_spammer_confusions,
    "class_experts": class_expert_confusions,
    "symmetric_flip": symmetric_flip_confusions,
}
