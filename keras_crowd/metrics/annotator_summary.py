"""A per-annotator report, with the user's annotator ids."""

import numpy as np
import pandas as pd

from keras_crowd.data.convert import encode_crowd_labels


def _agreement(crowd_labels, reference):
    """Per annotator: fraction of their labels equal to `reference` (NaN if none)."""
    observed = crowd_labels >= 0
    agree = (crowd_labels == np.asarray(reference)[:, None]) & observed
    given = observed.sum(axis=0)
    return np.divide(agree.sum(axis=0), given, out=np.full(len(given), np.nan),
                     where=given > 0)


def annotator_summary(data, aggregator=None, *, confusion_matrices=None, class_prior=None,
                      consensus=None, annotator_ids=None, true_labels=None):
    """One row per annotator: labels given, estimated accuracy, agreement.

    Columns (index ``annotator``, the user's annotator ids):
    - ``labels_given``: number of labels the annotator gave;
    - ``estimated_accuracy``: ``sum_k prior[k] * A_m[k, k]``, the probability
      of a correct label under the estimated confusion matrix and class prior
      (NaN without confusion matrices, e.g. for majority vote);
    - ``agreement_with_consensus``: fraction of the annotator's labels equal
      to the consensus (aggregated) label of the item (NaN if no labels);
    - ``true_accuracy``: only when `true_labels` is given: fraction of the
      annotator's labels that are correct.

    Args:
        data: crowd labels in any format (`keras_crowd.data.encode_crowd_labels`).
        aggregator: optional `Aggregator`; fitted on `data` if it has not been
            fitted yet. Supplies `confusion_matrices_`, `priors_` and
            `labels_` unless given explicitly.
        confusion_matrices: (M, K, K) column-stochastic estimates.
        class_prior: (K,); default: the aggregator's `priors_`, else the class
            frequencies of the consensus, else uniform.
        consensus: (N,) consensus class indices.
        annotator_ids: ids for the rows; default: those of the data.
        true_labels: optional (N,) true classes.

    Returns:
        `pandas.DataFrame`; print it or save it with ``.to_csv(path)``.

    Example:

    >>> from keras_crowd.aggregation import DawidSkene
    >>> crowd = [[0, 0, 1], [1, 1, 1], [0, 0, 0], [1, 1, 0]]
    >>> annotator_summary(crowd, DawidSkene()).labels_given.tolist()
    [4, 4, 4]
    """
    crowd = encode_crowd_labels(data, empty_tasks="ignore")
    crowd_labels = np.asarray(crowd.crowd_labels)
    if aggregator is not None:
        if not hasattr(aggregator, "probas_"):
            aggregator.fit(crowd)
        if confusion_matrices is None:
            confusion_matrices = getattr(aggregator, "confusion_matrices_", None)
        if class_prior is None:
            class_prior = getattr(aggregator, "priors_", None)
        if consensus is None:
            consensus = aggregator.labels_
    num_classes = crowd.num_classes
    if confusion_matrices is not None:
        confusion_matrices = np.asarray(confusion_matrices, dtype=np.float64)
        num_classes = confusion_matrices.shape[-1]
    if class_prior is None:
        class_prior = (np.bincount(consensus, minlength=num_classes) / len(consensus)
                       if consensus is not None and len(consensus)
                       else np.full(num_classes, 1.0 / num_classes))
    num_annotators = crowd_labels.shape[1]
    estimated_accuracy = (
        np.einsum("mkk,k->m", confusion_matrices, np.asarray(class_prior, dtype=np.float64))
        if confusion_matrices is not None else np.full(num_annotators, np.nan))
    columns = {
        "labels_given": (crowd_labels >= 0).sum(axis=0),
        "estimated_accuracy": estimated_accuracy,
        "agreement_with_consensus": (_agreement(crowd_labels, consensus) if consensus is not None
                                     else np.full(num_annotators, np.nan)),
    }
    if true_labels is not None:
        columns["true_accuracy"] = _agreement(crowd_labels, true_labels)
    ids = list(crowd.annotator_ids) if annotator_ids is None else list(annotator_ids)
    if len(ids) != num_annotators:
        raise ValueError(f"{len(ids)} annotator ids for {num_annotators} annotators.")
    return pd.DataFrame(columns, index=pd.Index(ids, name="annotator"))
