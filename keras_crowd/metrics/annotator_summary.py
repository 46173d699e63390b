"""A per-annotator report, with the user's annotator ids."""

import numpy as np
import pandas as pd

from keras_crowd.data import validation
from keras_crowd.data.convert import encode_crowd_labels
from keras_crowd.data.encoded import encode_class_labels
from keras_crowd.metrics.aggregation_accuracy import true_labels_by_task
from keras_crowd.utils.arguments import confusion_matrix_stack


def _agreement(crowd_labels, reference):
    """Per annotator: fraction of their labels equal to `reference` (NaN if none)."""
    observed = crowd_labels >= 0
    agree = (crowd_labels == np.asarray(reference)[:, None]) & observed
    given = observed.sum(axis=0)
    return np.divide(agree.sum(axis=0), given, out=np.full(len(given), np.nan),
                     where=given > 0)


def _same_encoding(crowd, other):
    """True if two `EncodedCrowdLabels` hold the same labels with the same ids."""
    return (crowd.task_ids == other.task_ids and crowd.annotator_ids == other.annotator_ids
            and crowd.class_names == other.class_names
            and np.array_equal(crowd.crowd_labels, other.crowd_labels))


def _encode_for(data, aggregator):
    """`data` encoded as `aggregator` reads it; fits the aggregator if it is not fitted."""
    if aggregator is None:
        return encode_crowd_labels(data, empty_tasks="ignore")
    crowd = aggregator.encode(data, empty_tasks="ignore")
    if not hasattr(aggregator, "encoding_"):
        aggregator.fit(crowd)
    elif not _same_encoding(crowd, aggregator.encoding_):
        raise ValueError(
            f"The aggregator was fitted on other crowd labels ({aggregator.encoding_!r}) than "
            f"`data` ({crowd!r}): pass the data it was fitted on, or an unfitted aggregator.")
    return crowd


def _true_class_indices(true_labels, crowd):
    """The true labels as class indices of `crowd`, one per row.

    A `pandas.Series` is matched to the rows by task id and to the classes by
    name; anything else must be an (N,) array of class indices.
    """
    if isinstance(true_labels, pd.Series):
        aligned = true_labels_by_task(true_labels, crowd.task_ids)
        return encode_class_labels(aligned, class_names=crowd.class_names)[0]
    return _item_class_indices(true_labels, crowd.num_items, crowd.num_classes, "true label")


def _item_class_indices(labels, num_items, num_classes, name):
    """`labels` as (N,) class indices in [0, K), one per item; else a clear error."""
    indices = validation.check_class_indices(labels, num_classes, name=name.capitalize())
    if len(indices) != num_items:
        raise ValueError(f"{len(indices)} {name}s for {num_items} items.")
    return indices


def _checked_confusion_matrices(confusion_matrices, crowd):
    """(M, K, K) float64 matrices, one per annotator of `crowd`, for at least its classes.

    K may exceed the classes seen in the labels (a class no one reported).
    """
    matrices = confusion_matrix_stack(confusion_matrices, allow_single=False)
    if matrices.shape[0] != crowd.num_annotators:
        raise ValueError(f"{matrices.shape[0]} confusion matrices for "
                         f"{crowd.num_annotators} annotators.")
    if matrices.shape[-1] < crowd.num_classes:
        raise ValueError(f"The confusion matrices have {matrices.shape[-1]} classes but the "
                         f"labels have {crowd.num_classes}.")
    return matrices


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
            fitted yet (else it must have been fitted on `data`). Supplies
            `confusion_matrices_`, `priors_` and `labels_` unless given
            explicitly; `data` is read with its `num_classes` and
            `class_names`, so the classes are in its order.
        confusion_matrices: (M, K, K) column-stochastic estimates.
        class_prior: (K,); default: the aggregator's `priors_`, else the class
            frequencies of the consensus, else uniform.
        consensus: (N,) consensus class indices.
        annotator_ids: ids for the rows; default: those of the data.
        true_labels: optional (N,) true class indices, or a `pandas.Series`
            of class names indexed by task id (as `aggregation_accuracy`
            accepts).

    Returns:
        `pandas.DataFrame`; print it or save it with ``.to_csv(path)``.

    Raises:
        ValueError: `aggregator` was fitted on other data, a task has no
            true label, or `confusion_matrices`, `consensus` or `class_prior`
            do not fit the data (one matrix per annotator, for at least its
            classes; one consensus label per item; one prior per class).
        UnknownClassError: a true label is not a class name.
        LabelOutOfRangeError: a true class index is outside [0, K).

    Example:

    >>> from keras_crowd.aggregation import DawidSkene
    >>> crowd = [[0, 0, 1], [1, 1, 1], [0, 0, 0], [1, 1, 0]]
    >>> annotator_summary(crowd, DawidSkene()).labels_given.tolist()
    [4, 4, 4]
    """
    crowd = _encode_for(data, aggregator)
    crowd_labels = np.asarray(crowd.crowd_labels)
    if aggregator is not None:
        if confusion_matrices is None:
            confusion_matrices = getattr(aggregator, "confusion_matrices_", None)
        if class_prior is None:
            class_prior = getattr(aggregator, "priors_", None)
        if consensus is None:
            consensus = aggregator.labels_
    num_classes = crowd.num_classes
    if confusion_matrices is not None:
        confusion_matrices = _checked_confusion_matrices(confusion_matrices, crowd)
        num_classes = confusion_matrices.shape[-1]
    if consensus is not None:
        consensus = _item_class_indices(consensus, crowd.num_items, num_classes,
                                        "consensus label")
    if class_prior is None:
        class_prior = (np.bincount(consensus, minlength=num_classes) / len(consensus)
                       if consensus is not None and len(consensus)
                       else np.full(num_classes, 1.0 / num_classes))
    class_prior = np.asarray(class_prior, dtype=np.float64)
    if class_prior.shape != (num_classes,):
        raise ValueError(f"class_prior must have shape ({num_classes},); got "
                         f"{class_prior.shape}.")
    num_annotators = crowd_labels.shape[1]
    estimated_accuracy = (
        np.einsum("mkk,k->m", confusion_matrices, class_prior)
        if confusion_matrices is not None else np.full(num_annotators, np.nan))
    columns = {
        "labels_given": (crowd_labels >= 0).sum(axis=0),
        "estimated_accuracy": estimated_accuracy,
        "agreement_with_consensus": (_agreement(crowd_labels, consensus) if consensus is not None
                                     else np.full(num_annotators, np.nan)),
    }
    if true_labels is not None:
        columns["true_accuracy"] = _agreement(crowd_labels,
                                              _true_class_indices(true_labels, crowd))
    ids = list(crowd.annotator_ids) if annotator_ids is None else list(annotator_ids)
    if len(ids) != num_annotators:
        raise ValueError(f"{len(ids)} annotator ids for {num_annotators} annotators.")
    return pd.DataFrame(columns, index=pd.Index(ids, name="annotator"))
