"""Choose the regularizer weight lambda from held-out crowd labels alone.

The held-out likelihood cannot pick lambda by itself: the regularizer trades
fit for identifiability, so the likelihood of held-out labels almost always
gets (slightly) worse as lambda grows, even where the classifier gets
better. GeoCrowdNet's criterion is "among the models that explain the
labels, take the one with the largest volume". Its finite-sample reading is
the one-standard-error rule (Breiman et al., 1984): among the candidate
lambdas, take the **largest** one whose held-out negative log-likelihood is
within `num_standard_errors` standard errors of the best candidate's, where
the standard error is that of the per-label difference (the candidates are
scored on the same held-out labels, so the comparison is paired).
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class StrengthCandidate:
    """One lambda's held-out score, as compared by `choose_strength`.

    Attributes:
        strength: lambda.
        heldout_nll: Mean held-out negative log-likelihood.
        excess_nll: `heldout_nll` minus the best candidate's.
        standard_error: Standard error of the per-label excess (0 for the
            best candidate itself).
        within_tolerance: Whether the excess is at most
            `num_standard_errors` standard errors.
    """

    strength: float
    heldout_nll: float
    excess_nll: float
    standard_error: float
    within_tolerance: bool


def choose_strength(strengths, label_nlls, num_standard_errors=1.0):
    """The largest lambda whose held-out fit is within the noise of the best.

    Args:
        strengths: Candidate lambdas (distinct, finite, non-negative).
        label_nlls: For each candidate, its per-label held-out negative
            log-likelihoods on the *same* held-out labels in the same order
            (`HeldOutCrowdLikelihood.best_label_nlls`).
        num_standard_errors: Tolerance, in standard errors of the paired
            per-label difference to the best candidate.

    Returns:
        `(strength, candidates)`: the chosen lambda and one
        `StrengthCandidate` per input, in input order.

    Example:

    >>> strength, table = choose_strength(
    ...     [0.0, 0.1, 1.0], [nlls_ccem, nlls_small, nlls_large])
    """
    strengths = [float(value) for value in strengths]
    if not strengths:
        raise ValueError("choose_strength needs at least one candidate lambda.")
    if len(set(strengths)) != len(strengths) or not all(
            0 <= value < np.inf for value in strengths):
        raise ValueError(
            f"Candidate lambdas must be distinct and >= 0 (finite numbers); got {strengths}.")
    if len(label_nlls) != len(strengths):
        raise ValueError(
            f"Got {len(label_nlls)} per-label NLL arrays for {len(strengths)} lambdas."
        )
    if not num_standard_errors >= 0:
        raise ValueError(f"num_standard_errors must be >= 0; got {num_standard_errors}.")
    missing = [strength for strength, values in zip(strengths, label_nlls) if values is None]
    if missing:
        raise ValueError(
            f"No held-out per-label NLLs for lambda {missing} (None): the run was "
            "not scored on held-out labels (HeldOutCrowdLikelihood.best_label_nlls "
            "is None before training ends)."
        )
    label_nlls = [np.asarray(values, dtype="float64") for values in label_nlls]
    sizes = {values.shape for values in label_nlls}
    if len(sizes) != 1 or label_nlls[0].ndim != 1 or label_nlls[0].size < 2:
        raise ValueError(
            "Every candidate must be scored on the same held-out labels (1-D arrays of "
            f"equal length >= 2); got shapes {sorted(sizes)}."
        )
    means = [float(np.mean(values)) if np.all(np.isfinite(values)) else np.inf
             for values in label_nlls]
    if not np.isfinite(min(means)):
        raise ValueError("Every candidate's held-out NLL is NaN or infinite.")
    best = int(np.argmin(means))
    candidates = []
    for index, (strength, values) in enumerate(zip(strengths, label_nlls)):
        excess = values - label_nlls[best]
        if not np.isfinite(means[index]):
            candidates.append(StrengthCandidate(strength, means[index], np.inf, np.nan, False))
            continue
        standard_error = (
            0.0 if index == best else float(np.std(excess, ddof=1) / np.sqrt(excess.size))
        )
        mean_excess = float(np.mean(excess))
        # Without spread (the best candidate itself, or identical scores) only
        # no excess is tolerated; this also keeps inf * 0 out of the test.
        tolerated = (mean_excess <= num_standard_errors * standard_error
                     if standard_error > 0 else mean_excess <= 0)
        candidates.append(
            StrengthCandidate(strength, means[index], mean_excess, standard_error, tolerated)
        )
    chosen = max(c.strength for c in candidates if c.within_tolerance)
    return chosen, candidates
