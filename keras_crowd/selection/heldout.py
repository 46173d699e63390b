"""Choose the stopping epoch by the likelihood of held-out crowd labels.

Real users have no clean validation labels. What they do have is more crowd
labels than they need: hide a random slice of the *observed* labels from
training, and score each epoch by how well the model predicts them,
`-mean log (A_m f(x_n))[y_nm]` over the hidden `(n, m, y_nm)`. The model that
predicts unseen annotators' answers best is the one whose classifier and
confusion matrices generalise, and, unlike training loss, this score turns
up when the network starts to memorise label noise.
"""

import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_crowd.data import validation
from keras_crowd.data.dense import observed_triples
from keras_crowd.utils.arguments import positive_integer

MISSING = -1


def _checked_split_arguments(crowd_labels, holdout_fraction, fold):
    """The labels as an (N, M) int32 array, -1 missing, after checking the arguments.

    A float array may mark missing labels with NaN (as everywhere in
    keras_crowd): NaN is never a label to hide or to keep.
    """
    crowd_labels = np.asarray(crowd_labels)
    if crowd_labels.ndim != 2:
        raise ValueError(f"crowd_labels must be (N, M); got shape {crowd_labels.shape}.")
    if not 0.0 <= holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in [0, 1); got {holdout_fraction}.")
    if isinstance(fold, bool) or not isinstance(fold, (int, np.integer)) or fold < 0:
        raise ValueError(f"fold must be a non-negative integer; got {fold!r}.")
    return validation.check_crowd_labels(crowd_labels, empty_tasks="ignore")


def _fold_mask(num_candidates, holdout_fraction, seed, fold):
    """Which of `num_candidates` things fold `fold` hides.

    The candidates are shuffled once with `seed` and cut into consecutive
    slices of `floor(holdout_fraction * num_candidates)`; fold `f` is slice
    `f` (wrapping around the end), so folds `0 .. floor(1 / holdout_fraction)
    - 1` of one seed are disjoint.
    """
    hide = np.zeros(num_candidates, dtype=bool)
    size = int(holdout_fraction * num_candidates + 1e-9)
    if size == 0:
        return hide
    order = np.random.default_rng(seed).permutation(num_candidates)
    hide[order[(fold * size + np.arange(size)) % num_candidates]] = True
    return hide


def split_observed_labels(crowd_labels, holdout_fraction=0.1, seed=None, fold=0):
    """Hide a random fraction of the observed labels for selection.

    The observed labels are shuffled with `seed` and cut into slices of
    `holdout_fraction` of them; `fold` picks the slice to hide. Folds
    `0, 1, ..., floor(1 / holdout_fraction) - 1` of one seed hide disjoint
    labels (cross-validation: `train_crowd_classifier(ensemble_size=...)`
    gives each member its own fold). Every item and every annotator keeps
    at least one training label (a hidden label is given back when it was
    the last one), so no item is left without a target and every
    annotator's confusion matrix is still learned.

    Args:
        crowd_labels: `(N, M)` int labels, -1 for missing (or float, NaN or
            -1 for missing).
        holdout_fraction: Fraction of observed labels to hide, in [0, 1).
        seed: Seed of the shuffle.
        fold: Which slice to hide (a non-negative integer).

    Returns:
        `(train_labels, heldout_labels)`, both `(N, M)` int32, -1 where
        absent; every observed label is in exactly one of them.

    Example:

    >>> train, heldout = split_observed_labels(crowd_labels, 0.1, seed=0)
    >>> _, other = split_observed_labels(crowd_labels, 0.1, seed=0, fold=1)
    >>> bool(((heldout >= 0) & (other >= 0)).any())   # disjoint folds
    False
    """
    crowd_labels = _checked_split_arguments(crowd_labels, holdout_fraction, fold)
    rows, cols = np.nonzero(crowd_labels != MISSING)
    hide = _fold_mask(rows.size, holdout_fraction, seed, fold)
    for owner, count in ((rows, crowd_labels.shape[0]), (cols, crowd_labels.shape[1])):
        _give_back_last_labels(hide, owner, count)
    train = crowd_labels.copy()
    heldout = np.full_like(crowd_labels, MISSING)
    heldout[rows[hide], cols[hide]] = crowd_labels[rows[hide], cols[hide]]
    train[rows[hide], cols[hide]] = MISSING
    return train, heldout


def split_heldout_items(crowd_labels, holdout_fraction=0.1, seed=None, fold=0):
    """Choose whole items (with all their labels) to hide for selection.

    Unlike `split_observed_labels`, the network never sees the hidden items
    at all, so their crowd labels measure how the classifier generalises
    to new items rather than how well it memorised the ones it trained on.
    Folds of one seed hide disjoint items, as in `split_observed_labels`.

    Args:
        crowd_labels: `(N, M)` int labels, -1 for missing (or float, NaN or
            -1 for missing).
        holdout_fraction: Fraction of the labelled items to hide, in [0, 1).
        seed: Seed of the shuffle.
        fold: Which slice of the labelled items to hide.

    Returns:
        A boolean `(N,)` mask of the hidden items; only items with at least
        one label are hidden.

    Example:

    >>> hidden = split_heldout_items(crowd_labels, 0.1, seed=0)
    >>> model.fit(x[~hidden], crowd_labels[~hidden],
    ...           callbacks=[HeldOutCrowdLikelihood(x[hidden], crowd_labels[hidden])])
    """
    crowd_labels = _checked_split_arguments(crowd_labels, holdout_fraction, fold)
    labelled = np.flatnonzero(np.any(crowd_labels != MISSING, axis=1))
    hidden = np.zeros(crowd_labels.shape[0], dtype=bool)
    hidden[labelled[_fold_mask(labelled.size, holdout_fraction, seed, fold)]] = True
    return hidden


def _give_back_last_labels(hide, owner, num_owners):
    """Un-hide one label of every owner (item or annotator) left with none."""
    kept = np.bincount(owner[~hide], minlength=num_owners)
    stranded = np.isin(owner, np.flatnonzero(kept == 0)) & hide
    # The first hidden label of each stranded owner goes back to training.
    _, first = np.unique(owner[stranded], return_index=True)
    hide[np.flatnonzero(stranded)[first]] = False


def heldout_label_nlls(probabilities, confusion_matrices, heldout_labels):
    """Negative log-likelihood of each held-out crowd label.

    Args:
        probabilities: `(N, K)` classifier probabilities.
        confusion_matrices: `(M, K, K)` column-stochastic matrices.
        heldout_labels: `(N, M)` int labels, -1 for missing.

    Returns:
        A float64 `(S,)` array, `-log sum_j A_m[y, j] f_j(x_n)` for each
        observed held-out label `(n, m, y)` in row-major order of
        `(n, m)` (empty if there are none). Likelihoods are clipped to
        `[1e-7, 1]`.

    Example:

    >>> nlls = heldout_label_nlls(f.predict(x), model.confusion_matrices, heldout)

    Raises:
        ValueError: If the three do not fit together: `probabilities` of
            other rows than `heldout_labels` (e.g. of every item, where the
            held-out labels are those of `split_heldout_items`' items),
            matrices of another number of annotators or classes, or labels
            out of range.
    """
    heldout_labels = validation.check_crowd_labels(heldout_labels, empty_tasks="ignore")
    probabilities = np.asarray(probabilities)
    confusion_matrices = np.asarray(confusion_matrices)
    _check_noise_model(confusion_matrices.shape, heldout_labels)
    _check_probabilities(probabilities.shape, heldout_labels, confusion_matrices.shape[1])
    return _observed_nlls(probabilities, confusion_matrices, observed_triples(heldout_labels))


def _check_noise_model(shape, heldout_labels, name="confusion_matrices"):
    """Refuse `(M, K, K)` matrices of other annotators than the columns of
    `heldout_labels`, or of fewer classes than its labels need."""
    num_annotators = heldout_labels.shape[1]
    if len(shape) != 3 or shape[0] != num_annotators or shape[1] != shape[2]:
        raise ValueError(
            f"heldout_labels has columns for {num_annotators} annotators, so {name} must be "
            f"(M, K, K) with M = {num_annotators}; got shape {tuple(shape)}.")
    if heldout_labels.max(initial=MISSING) >= shape[1]:
        raise ValueError(
            f"heldout_labels holds label {heldout_labels.max()}, outside the {shape[1]} "
            f"classes of {name}.")


def _check_probabilities(shape, heldout_labels, num_classes):
    """Refuse probabilities other than one `(K,)` row per row of `heldout_labels`."""
    expected = (heldout_labels.shape[0], num_classes)
    if tuple(shape) != expected:
        raise ValueError(
            f"The probabilities must be {expected}: one row per row of heldout_labels (the "
            f"same items) and one column per class of the confusion matrices; got shape "
            f"{tuple(shape)}.")


def _observed_nlls(probabilities, confusion_matrices, triples, common=None):
    """Per-label NLLs of `triples`; with `common = (C, gates)` (a
    `CommonConfusion` model), of the gated mixture `w (C f)[y] + (1 - w) (A_m f)[y]`."""
    rows, cols, labels = triples
    probabilities = np.asarray(probabilities)[rows]
    label_rows = np.asarray(confusion_matrices)[cols, labels, :]  # (S, K)
    likelihood = np.sum(label_rows * probabilities, axis=1)
    if common is not None:
        common_confusion_matrix, gates = common
        common_likelihood = np.sum(np.asarray(common_confusion_matrix)[labels, :] * probabilities,
                                   axis=1)
        likelihood = gates * common_likelihood + (1.0 - gates) * likelihood
    return -np.log(np.clip(likelihood.astype("float64"), 1e-7, 1.0))


def heldout_crowd_nll(probabilities, confusion_matrices, heldout_labels):
    """Mean negative log-likelihood of held-out crowd labels.

    Takes the arguments of `heldout_label_nlls` and returns the mean of its
    values as a float (`nan` if there are no held-out labels).

    Example:

    >>> heldout_crowd_nll(f.predict(x), model.confusion_matrices, heldout)
    """
    nlls = heldout_label_nlls(probabilities, confusion_matrices, heldout_labels)
    return float(np.mean(nlls)) if nlls.size else float("nan")


class HeldOutCrowdLikelihood(keras.callbacks.Callback):
    """Scores every epoch on held-out crowd labels; keeps the best weights.

    At the end of each epoch it logs `heldout_crowd_nll` (lower is better).
    With `restore_best_weights=True` the model ends training with the
    weights of its best epoch, and `patience` stops training early. Put it
    before any callback that reads `heldout_crowd_nll` (`EarlyStopping`,
    `ModelCheckpoint`, ...): callbacks run in list order.

    Args:
        x: Features of the items that carry the held-out labels, one row per
            row of `heldout_labels`.
        heldout_labels: `(N, M)` labels hidden from training (-1 elsewhere),
            from `split_observed_labels` (or the rows of the items hidden by
            `split_heldout_items`, with `x` of the same items).
        confusion_matrices: For a plain classifier (a "DL-MV" or "DL-DS"
            baseline) the fixed `(M, K, K)` noise model to score it with,
            e.g. a Dawid-Skene estimate. Leave `None` for a `CrowdModel`,
            whose own current confusion matrices are used (with its common
            confusion and gates, if it has them).
        patience: Stop after this many epochs without improvement (a
            positive integer; `None`: never stop early). Epochs with a NaN
            score are never an improvement, so a run that diverges from the
            start of `fit` (also one from `initial_epoch > 0`) stops after
            `patience` epochs.
        restore_best_weights: Restore the best epoch's weights at the end.
            The best epoch is one of this `fit`'s: a `fit` that starts at
            `initial_epoch > 0`, such as one resumed by `BackupAndRestore`
            after a crash, cannot restore the weights of an earlier epoch,
            even a better one (a warning says so).
        batch_size: Batch size of the prediction pass over `x` (a numpy
            array).

    Attributes:
        best_epoch: 1-based index of the best epoch (`None` if no epoch had
            a finite score: the model diverged; a warning says so).
        best_score: Its held-out negative log-likelihood (`inf` if none).
        best_label_nlls: The per-label values behind `best_score`
            (`heldout_label_nlls`), for comparing runs label by label; if no
            epoch had a finite score, the last epoch's (non-finite) values.
        scores: The score of every epoch.

    Example:

    >>> train, heldout = split_observed_labels(crowd_labels, 0.1, seed=0)
    >>> selector = HeldOutCrowdLikelihood(x, heldout)
    >>> model.fit(x, train, epochs=100, callbacks=[selector])
    >>> selector.best_epoch
    """

    def __init__(
        self,
        x,
        heldout_labels,
        confusion_matrices=None,
        patience=None,
        restore_best_weights=True,
        batch_size=1024,
    ):
        super().__init__()
        if isinstance(x, tf.data.Dataset):
            raise ValueError(
                "x must be the features of the held-out items (an array, one row per row of "
                "heldout_labels), not a tf.data.Dataset: the callback batches it itself.")
        # A list of rows is one array (as in `fit`), not several model inputs.
        self.x = np.asarray(x) if isinstance(x, list) else x
        self.heldout_labels = validation.check_crowd_labels(heldout_labels, empty_tasks="ignore")
        if not np.any(self.heldout_labels != MISSING):
            raise ValueError("heldout_labels holds no observed label to score.")
        num_items = self.heldout_labels.shape[0]
        if len(x) != num_items:
            raise ValueError(
                f"x has {len(x)} rows for the {num_items} rows of heldout_labels: both must "
                "describe the same items (with `split_heldout_items`, pass x[hidden] and "
                "crowd_labels[hidden]).")
        if confusion_matrices is not None:
            _check_noise_model(np.shape(confusion_matrices), self.heldout_labels)
        self.fixed_confusion_matrices = confusion_matrices
        self.patience = None if patience is None else positive_integer("patience", patience)
        self.restore_best_weights = restore_best_weights
        self.batch_size = positive_integer("batch_size", batch_size)
        self.best_epoch = None
        self.best_score = np.inf
        self.best_label_nlls = None
        self._last_label_nlls = None
        self.best_weights = None
        self.scores = []
        self._predict_function = None
        # The held-out (item, annotator, label) triples, found once.
        self._triples = observed_triples(self.heldout_labels)

    def _predict(self):
        """`(probabilities, confusion_matrices, common)` of the current model.

        A cached tf.function call is much cheaper per epoch than
        `model.predict`, which builds a new data pipeline every time. For a
        model with a crowd layer the same call also returns its confusion
        matrices (else `None`): one compiled call per epoch instead of a
        prediction plus an eager softmax of the confusion logits. For a
        model with a `CommonConfusion` layer, `common` is `(C, gates)`: its
        common confusion matrix and the gates of the held-out labels' items
        and annotators (else `None`).
        """
        model = self.model
        common_layer = None
        if self.fixed_confusion_matrices is None:
            common_layer = getattr(model, "common_confusion", None)
        if self._predict_function is None:
            crowd_layer = getattr(model, "crowd_layer", None)
            with_confusion = (
                self.fixed_confusion_matrices is None
                and crowd_layer is not None
                and getattr(crowd_layer, "built", False)
            )

            def predict(x):
                outputs = {"probabilities": model(x, training=False)}
                if with_confusion:
                    outputs["confusion_matrices"] = crowd_layer.confusion_matrices
                if common_layer is not None:
                    outputs["item_embeddings"] = common_layer.item_embeddings(x)
                    outputs["common_confusion_matrix"] = common_layer.common_confusion_matrix
                return outputs

            self._predict_function = tf.function(predict, reduce_retracing=True)
        batches = []
        for i in range(0, len(self.x), self.batch_size):
            outputs = self._predict_function(self.x[i : i + self.batch_size])
            batches.append({key: keras.ops.convert_to_numpy(value)
                            for key, value in outputs.items()})
        probabilities = np.concatenate([batch["probabilities"] for batch in batches], axis=0)
        confusion_matrices = batches[-1].get("confusion_matrices")
        common = None
        if common_layer is not None:
            rows, cols, _ = self._triples
            item_embeddings = np.concatenate([batch["item_embeddings"] for batch in batches])
            gates = keras.ops.convert_to_numpy(
                common_layer.pair_gates(item_embeddings[rows], cols)
            ).astype("float64")
            common = (batches[-1]["common_confusion_matrix"], gates)
        return probabilities, confusion_matrices, common

    def on_train_begin(self, logs=None):
        self.best_epoch, self.best_score, self.best_weights = None, np.inf, None
        self.best_label_nlls = None
        self._last_label_nlls = None
        self.scores = []
        self._predict_function = None
        crowd_layer = getattr(self.model, "crowd_layer", None)
        if (self.fixed_confusion_matrices is None and crowd_layer is not None
                and getattr(crowd_layer, "built", False)):
            # Before any epoch is spent: labels of other annotators or classes
            # than the model's would fail (or be misattributed) when scored.
            num_classes = crowd_layer.num_classes
            _check_noise_model((crowd_layer.num_annotators, num_classes, num_classes),
                               self.heldout_labels, name="the model's confusion matrices")

    def _confusion_matrices(self):
        if self.fixed_confusion_matrices is not None:
            return self.fixed_confusion_matrices
        confusion_matrices = getattr(self.model, "confusion_matrices", None)
        if confusion_matrices is None:
            raise ValueError(
                "HeldOutCrowdLikelihood on a plain classifier needs "
                "`confusion_matrices` (e.g. a Dawid-Skene estimate)."
            )
        return confusion_matrices

    def on_epoch_end(self, epoch, logs=None):
        probabilities, confusion_matrices, common = self._predict()
        if confusion_matrices is None:
            confusion_matrices = self._confusion_matrices()
        _check_probabilities(probabilities.shape, self.heldout_labels,
                             np.shape(confusion_matrices)[1])
        nlls = _observed_nlls(probabilities, confusion_matrices, self._triples, common)
        score = float(np.mean(nlls))
        if not self.scores and epoch > 0 and self.restore_best_weights:
            warnings.warn(
                f"HeldOutCrowdLikelihood: this fit starts at epoch {epoch + 1} "
                "(initial_epoch, or a run resumed by BackupAndRestore): the weights restored "
                "at its end are those of its best epoch; earlier epochs were not scored by "
                "this callback and their weights cannot be restored, even if better.",
                UserWarning,
                stacklevel=2,
            )
        self.scores.append(score)
        if logs is not None:
            logs["heldout_crowd_nll"] = score
        self._last_label_nlls = nlls
        # NaN (a diverged model) never counts as an improvement.
        if np.isfinite(score) and score < self.best_score:
            self.best_score, self.best_epoch = score, epoch + 1
            self.best_label_nlls = nlls
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
        elif self.patience is not None and _epochs_without_improvement(
            epoch, self.best_epoch, first_epoch=epoch + 1 - len(self.scores)
        ) >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_epoch is None and self.scores:
            # Keep the per-label values (non-finite) so that callers comparing
            # runs (`choose_strength`) see this run as diverged.
            self.best_label_nlls = self._last_label_nlls
            warnings.warn(
                "HeldOutCrowdLikelihood: no epoch had a finite held-out crowd "
                f"NLL (scores {self.scores}); the model diverged (NaN or inf "
                "predictions or confusion matrices). best_epoch is None, no "
                "weights were restored, and best_label_nlls holds the last "
                "epoch's non-finite values. Lower the learning rate or the "
                "regularizer's strength.",
                RuntimeWarning,
                stacklevel=2,
            )
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def _epochs_without_improvement(epoch, best_epoch, first_epoch):
    """Epochs since the best one (or since the start of `fit`, if none was finite).

    Args:
        epoch: 0-based index of the epoch that just ended.
        best_epoch: 1-based index of the best epoch so far, or `None`.
        first_epoch: 0-based index of the first epoch of this `fit`
            (its `initial_epoch`).
    """
    return epoch + 1 - (first_epoch if best_epoch is None else best_epoch)
