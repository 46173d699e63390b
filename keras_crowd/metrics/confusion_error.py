"""Confusion-matrix estimation error (the paper's metric), up to a class permutation."""

import itertools
import math

import numpy as np

from keras_crowd.metrics.assignment import linear_sum_assignment
from keras_crowd.utils.arguments import confusion_matrix_stack

# Up to this K, the permutation is found by exhaustive search (8! = 40320).
MAX_CLASSES_FOR_EXHAUSTIVE_SEARCH = 8


def _column_distances(estimated, true):
    """``D[m, k', j] = ||est_m[:, j] - true_m[:, k']||^2 / ||true_m||_F^2``."""
    difference = estimated[:, :, None, :] - true[:, :, :, None]
    norms = np.maximum(np.sum(true ** 2, axis=(1, 2)), np.finfo(np.float64).tiny)
    return np.sum(difference ** 2, axis=1) / norms[:, None, None]


def _errors_for(distances, permutations):
    """Mean over m of the relative errors, for each permutation (P, K)."""
    num_classes = distances.shape[1]
    gathered = distances[:, np.arange(num_classes)[None, :], permutations]  # (M, P, K)
    return np.sqrt(gathered.sum(axis=2)).mean(axis=0)


def best_column_permutation(estimated, true, method="auto"):
    """The class permutation, shared by all annotators, that best aligns estimates.

    A crowd model is identifiable only up to relabelling the true classes:
    ``A_m Pi`` with ``Pi^T f`` fits the data as well. The permutation acts on
    the true-class index, i.e. on the COLUMNS of every A_m (rows are the
    annotators' own labels and cannot be permuted). Returned `permutation`
    satisfies ``estimated[:, :, permutation] ~ true``.

    Methods:
    - ``"exhaustive"``: tries every permutation and minimises exactly the
      reported error (mean over m of the Frobenius-relative error); the
      default for K <= 8.
    - ``"assignment"``: minimises the mean SQUARED relative error (separable
      over columns, so a linear assignment solved exactly by the Hungarian
      algorithm), then improves the exact objective by pairwise swaps until
      none helps; the default for K > 8.

    Args:
        estimated: (M, K, K) estimated confusion matrices.
        true: (M, K, K) reference confusion matrices.
        method: ``"auto"``, ``"exhaustive"`` or ``"assignment"``.

    Returns:
        (K,) int64 permutation.

    Example:

    >>> A = np.array([[[0.9, 0.2], [0.1, 0.8]]])
    >>> best_column_permutation(A[:, :, ::-1], A).tolist()
    [1, 0]
    """
    estimated = confusion_matrix_stack(estimated, "estimated")
    true = confusion_matrix_stack(true, "true")
    if estimated.shape != true.shape:
        raise ValueError(f"Shapes differ: estimated {estimated.shape}, true {true.shape}.")
    num_classes = true.shape[-1]
    distances = _column_distances(estimated, true)
    if method == "auto":
        method = ("exhaustive" if num_classes <= MAX_CLASSES_FOR_EXHAUSTIVE_SEARCH
                  else "assignment")
    if method == "exhaustive":
        best, best_error = None, np.inf
        permutations = itertools.permutations(range(num_classes))
        chunk_size = max(1, 2_000_000 // max(1, distances.shape[0] * num_classes))
        for _ in range(math.ceil(math.factorial(num_classes) / chunk_size)):
            chunk = np.array(list(itertools.islice(permutations, chunk_size)), dtype=np.int64)
            errors = _errors_for(distances, chunk)
            index = int(np.argmin(errors))
            if errors[index] < best_error:
                best, best_error = chunk[index], errors[index]
        return best
    if method != "assignment":
        raise ValueError(f"method must be 'auto', 'exhaustive' or 'assignment'; got {method!r}.")
    permutation = linear_sum_assignment(distances.sum(axis=0))
    error = _errors_for(distances, permutation[None])[0]
    improved = True
    while improved:
        improved = False
        for a, b in itertools.combinations(range(num_classes), 2):
            candidate = permutation.copy()
            candidate[[a, b]] = candidate[[b, a]]
            candidate_error = _errors_for(distances, candidate[None])[0]
            if candidate_error < error - 1e-15:
                permutation, error, improved = candidate, candidate_error, True
    return permutation


def per_annotator_confusion_error(estimated, true, permutation=None):
    """``||A_hat_m[:, perm] - A_m||_F / ||A_m||_F`` for each annotator, (M,)."""
    estimated = confusion_matrix_stack(estimated, "estimated")
    true = confusion_matrix_stack(true, "true")
    if permutation is not None:
        estimated = estimated[:, :, np.asarray(permutation)]
    numerator = np.sqrt(np.sum((estimated - true) ** 2, axis=(1, 2)))
    return numerator / np.sqrt(np.sum(true ** 2, axis=(1, 2)))


def confusion_matrix_error(estimated, true, match_permutation=True, return_permutation=False,
                           method="auto"):
    """The paper's confusion estimation error.

    ``mean over m of ||A_hat_m - A_m||_F / ||A_m||_F``, after applying the
    single column permutation (shared by all annotators) that minimises it
    (see `best_column_permutation`). For real annotators, pass as `true` the
    empirical confusion matrices from ground truth
    (`empirical_confusion_matrices`) and say so when reporting.

    Args:
        estimated: (M, K, K) estimates (column-stochastic).
        true: (M, K, K) reference.
        match_permutation: False compares the matrices as they are.
        return_permutation: also return the permutation used.
        method: see `best_column_permutation`.

    Returns:
        The error (float), or ``(error, permutation)``.

    Example:

    >>> A = np.array([[[0.9, 0.2], [0.1, 0.8]]])
    >>> confusion_matrix_error(A[:, :, ::-1], A)
    0.0
    """
    estimated = confusion_matrix_stack(estimated, "estimated")
    true = confusion_matrix_stack(true, "true")
    num_classes = true.shape[-1]
    permutation = (best_column_permutation(estimated, true, method) if match_permutation
                   else np.arange(num_classes))
    error = float(per_annotator_confusion_error(estimated, true, permutation).mean())
    return (error, permutation) if return_permutation else error
