"""Train a classifier from crowd labels with any method, in one call.

The methods:

- `ccem`: CrowdModel, coupled cross-entropy only (the crowd layer).
- `geocrowdnet-f`, `geocrowdnet-w`: CrowdModel with the GeoCrowdNet
  log-det regularizer on the predictions (F) or the confusions (W).
- `trace`: CrowdModel with the trace regularizer of Tanno et al.
- `dl-mv`, `dl-ds`: two-stage baselines: aggregate the labels (majority
  vote, ties to the smallest class; Dawid-Skene posteriors as soft targets),
  then train the classifier on them.
- `oracle`: the classifier trained on the true labels (benchmarks only).

Model selection is label-free by default: a slice of the observed crowd
labels is hidden from training, and the epoch whose model predicts it best
is kept (`keras_crowd.selection`).
"""

import dataclasses
import inspect
import time
import weakref

import keras
import numpy as np

from keras_crowd import initializers
from keras_crowd import regularizers
from keras_crowd.aggregation import DawidSkene
from keras_crowd.aggregation import one_hot_labels
from keras_crowd.layers import CommonConfusion
from keras_crowd.models import ClassifierEnsemble
from keras_crowd.models import CrowdModel
from keras_crowd.models import label_validation
from keras_crowd.models.crowd_model import PROBABILITY_CHECK_ROWS
from keras_crowd.models.crowd_model import is_several_inputs
from keras_crowd.models.crowd_model import probability_row_error
from keras_crowd.selection import HeldOutCrowdLikelihood
from keras_crowd.selection import choose_strength
from keras_crowd.selection import split_heldout_items
from keras_crowd.selection import split_observed_labels
from keras_crowd.training.input_pipeline import epoch_dataset
from keras_crowd.utils import distribution
from keras_crowd.utils.arguments import non_negative_integer
from keras_crowd.utils.arguments import positive_integer
from keras_crowd.utils.optimizer_build import build_optimizer_before_fit
from keras_crowd.utils.retracing_warnings import retracing_expected

CROWD_METHODS = ("ccem", "geocrowdnet-f", "geocrowdnet-w", "trace")
AGGREGATION_METHODS = ("dl-mv", "dl-ds")
METHODS = CROWD_METHODS + AGGREGATION_METHODS + ("oracle",)
# The best lambda depends on the data: on LabelMe F gained most at 0.3, on
# Music every F lambda above 0.01 cost accuracy, and on Fashion-MNIST with
# one good annotator among near-uniform ones F at 0.01 fell to 62.9% against
# 81.5% for CCEM (benchmarks/RESULTS.md). So `strength="auto"` (the default
# of `keras-crowd train`) chooses it from held-out crowd labels, and a fixed
# `strength=None` falls back to the authors' MNIST value for F, 1e-3.
DEFAULT_METHOD = "geocrowdnet-f"
DEFAULT_STRENGTHS = {
    "ccem": 0.0,
    "geocrowdnet-f": 1e-3,
    "geocrowdnet-w": 1e-2,
    "trace": 1e-2,
}
# The lambdas that strength="auto" tries, 0 (plain CCEM) included.
STRENGTH_GRIDS = {
    "geocrowdnet-f": (0.0, 0.01, 0.03, 0.1, 0.3, 1.0),
    "geocrowdnet-w": (0.0, 0.001, 0.01, 0.1),
    "trace": (0.0, 0.001, 0.01, 0.1),
}
# Measured on LabelMe (seeds 0-2): without warm-up, F collapsed classes at
# lambda 0.3 (72.0% test accuracy on seed 1); with lambda ramped up over
# the first 20 epochs it held 89-91% for lambda from 0.2 to 1.0.
DEFAULT_WARMUP_EPOCHS = 20
# `keras-crowd train` and the accuracy benchmark average 5 classifiers: on
# LabelMe and Music an ensemble of 5 was 0.5-3 points more accurate than one
# model (benchmarks/RESULTS.md). The library function defaults to 1.
DEFAULT_ENSEMBLE_SIZE = 5
# Ensemble member e trains from seed + e * MEMBER_SEED_STRIDE, so that the
# members of one seed never share initial weights with another seed's.
MEMBER_SEED_STRIDE = 1000
SELECTIONS = ("heldout", "last")
HOLDOUTS = ("labels", "items")


@dataclasses.dataclass
class TrainingResult:
    """What `train_crowd_classifier` returns.

    Attributes:
        method: The method name.
        classifier: The trained classifier `f` (a `keras.Model`).
        model: The `CrowdModel` for crowd methods, else `None`.
        confusion_matrices: `(M, K, K)` learned (crowd methods) or
            Dawid-Skene (dl-ds) confusion matrices, else `None`.
        epochs_run: Epochs trained.
        selected_epoch: The epoch whose weights were kept.
        heldout_nll: Its held-out crowd-label NLL (`nan` without selection).
        num_train_labels: Crowd labels used for training.
        num_heldout_labels: Crowd labels hidden for selection.
        seconds: Wall time of the fit, aggregation included (all
            candidate fits with `strength="auto"`).
        history: The Keras history dict.
        strength: The regularizer weight used (`None` without one).
        strength_candidates: With `strength="auto"`, the
            `keras_crowd.selection.StrengthCandidate` table of every lambda
            tried; else an empty tuple.
        members: With `ensemble_size > 1`, one `TrainingResult` per member
            (the first one chose lambda); `classifier` is then their
            `ClassifierEnsemble`, `model` is `None`, `confusion_matrices`
            is the members' mean, `heldout_nll` their mean score and
            `seconds` their total. Else an empty tuple.
    """

    method: str
    classifier: keras.Model
    model: object
    confusion_matrices: object
    epochs_run: int
    selected_epoch: int
    heldout_nll: float
    num_train_labels: int
    num_heldout_labels: int
    seconds: float
    history: dict
    strength: object = None
    strength_candidates: tuple = ()
    members: tuple = ()


def _regularizer(method, strength):
    if not strength:
        return None
    if method == "geocrowdnet-f":
        return regularizers.GeoCrowdNetF(strength)
    if method == "geocrowdnet-w":
        return regularizers.GeoCrowdNetW(strength)
    if method == "trace":
        return regularizers.TraceRegularizer(strength)
    return None


def _targets(method, train_labels, num_classes, true_labels):
    """Aggregated training targets and a noise model for selection."""
    if method == "oracle":
        if true_labels is None:
            raise ValueError("method='oracle' needs the true labels.")
        try:
            return _one_hot_true_labels(true_labels, num_classes), None
        except ValueError as error:
            raise ValueError(f"true_labels: {error}") from error
    if method == "dl-mv":
        # An item whose labels are all held out keeps the uniform posterior
        # the empty-task warning promises, not the arbitrary class 0.
        return one_hot_labels(train_labels, "majority_vote", num_classes=num_classes), None
    dawid_skene = DawidSkene(num_classes=num_classes).fit(train_labels)
    return dawid_skene.probas_.astype("float32"), dawid_skene.confusion_matrices_


def _validate_target_matrix(targets, num_classes):
    """Validate `(N, K)` target rows (one-hot or soft labels); returns N.

    Args:
        targets: `(N, K)` array of non-negative, finite class weights.
        num_classes: K.

    Returns:
        N, the number of rows.

    Raises:
        ValueError: If `targets` is not numeric, has other than K columns,
            or holds NaN, inf or negative values.
    """
    targets = np.asarray(targets)
    if targets.dtype.kind == "b":  # pd.get_dummies gives bool columns
        targets = targets.astype("float32")
    if targets.dtype.kind not in "iuf":
        raise ValueError(f"True labels must be numeric; got dtype {targets.dtype}.")
    if targets.shape[1] != num_classes:
        raise ValueError(
            f"One-hot true labels must have one column per class ({num_classes}); "
            f"got shape {targets.shape}."
        )
    if not np.all(np.isfinite(targets)):
        raise ValueError("One-hot true labels contain NaN or inf.")
    if targets.size and targets.min() < 0:
        raise ValueError(
            f"One-hot true labels must be non-negative; found {targets.min()}."
        )
    return targets.shape[0]


def _one_hot_true_labels(true_labels, num_classes):
    """`(N, K)` float32 targets from true labels, checked.

    Args:
        true_labels: `(N,)` (or, as Keras's sparse labels, `(N, 1)`) integer
            class indices in `[0, K)`, or `(N, K)` non-negative, finite
            one-hot (or soft) rows.
        num_classes: K.

    Raises:
        ValueError: If the labels are neither.
    """
    if np.ndim(true_labels) == 2 and np.shape(true_labels)[1] == 1:
        true_labels = np.asarray(true_labels)[:, 0]  # K >= 2: not one-hot rows
    if np.ndim(true_labels) == 2:
        _validate_target_matrix(true_labels, num_classes)
        return np.asarray(true_labels, dtype="float32")
    label_validation.validate_true_labels(true_labels, num_classes)
    return keras.utils.to_categorical(np.asarray(true_labels), num_classes).astype("float32")


def _one_hot_validation_data(validation_data, num_classes):
    """`(x, true_labels)` with `(N, K)` labels, for the plain classifiers.

    The DL-MV, DL-DS and oracle classifiers train with categorical
    cross-entropy, which needs `(N, K)` targets. `validation_data` takes
    either the same 1-D true labels as the crowd methods, which are one-hot
    encoded here, or `(N, K)` one-hot (or soft) labels, which are checked
    and passed through. Other forms (such as a `tf.data.Dataset`) are
    passed through unchanged.

    Args:
        validation_data: `None`, or `(x, true_labels)` with `(N,)` integer
            labels in `[0, K)` or `(N, K)` non-negative finite rows (an
            optional third element, sample weights, is kept).
        num_classes: K.

    Returns:
        The validation data with `(N, K)` float32 labels: 1-D labels one-hot
        encoded, `(N, K)` ones as given.

    Raises:
        ValueError: If the labels are neither valid 1-D class indices nor
            valid `(N, K)` rows, or `x` has another number of rows.
    """
    if not isinstance(validation_data, (tuple, list)):
        return validation_data
    if len(validation_data) not in (2, 3):
        raise ValueError(
            "validation_data must be (x, true_labels) or (x, true_labels, sample_weight); "
            f"got a sequence of {len(validation_data)} elements."
        )
    features, true_labels, *sample_weight = validation_data
    try:
        one_hot = _one_hot_true_labels(true_labels, num_classes)
        label_validation.validate_features(features, len(one_hot))
    except ValueError as error:
        raise ValueError(f"validation_data: {error}") from error
    return (features, one_hot, *sample_weight)


def train_crowd_classifier(
    x,
    crowd_labels,
    num_classes,
    backbone_fn,
    method=DEFAULT_METHOD,
    strength=None,
    epochs=100,
    batch_size=64,
    learning_rate=1e-3,
    weight_decay=1e-4,
    confusion_initializer="identity",
    warmup_epochs=DEFAULT_WARMUP_EPOCHS,
    selection="heldout",
    holdout_fraction=0.1,
    holdout="labels",
    patience=None,
    seed=0,
    true_labels=None,
    strategy=None,
    callbacks=(),
    verbose=0,
    validation_data=None,
    steps_per_execution=None,
    num_standard_errors=1.0,
    ensemble_size=1,
    common_confusion=False,
):
    """Train a classifier from crowd labels with one of `METHODS`.

    Args:
        x: `(N, ...)` training features.
        crowd_labels: `(N, M)` int crowd labels, -1 for missing.
        num_classes: K.
        backbone_fn: Callable returning a fresh, uncompiled classifier
            (`(B, K)` probabilities; one that outputs logits is refused
            with a `ValueError`). If it takes a `seed` keyword it is
            called with each run's seed, e.g.
            `lambda seed: keras_crowd.backbones.labelme_classifier(seed=seed)`;
            otherwise with no argument (after `keras.utils.set_random_seed`).
        method: One of `METHODS`.
        strength: Regularizer weight lambda (default `DEFAULT_STRENGTHS`),
            or `"auto"`: train once per lambda of `STRENGTH_GRIDS[method]`
            (0, plain CCEM, included) and keep the largest lambda whose
            held-out crowd NLL is within `num_standard_errors` standard
            errors of the best (`keras_crowd.selection.choose_strength`).
        epochs: Maximum number of epochs.
        batch_size: Batch size.
        learning_rate: Adam's learning rate.
        weight_decay: Adam's (decoupled) weight decay.
        confusion_initializer: Crowd methods: `"identity"`,
            `"diagonally_dominant"`, `"dawid_skene"` (estimated on the
            training labels), or an `(M, K, K)` array.
        warmup_epochs: Crowd methods with a regularizer: ramp lambda
            linearly from 0 over this many epochs
            (`CrowdModel(regularization_warmup_steps=...)`); 0 disables it.
        selection: `"heldout"` (hide `holdout_fraction` of the observed
            labels and keep the epoch that predicts them best) or `"last"`.
        holdout_fraction: Fraction of observed labels (or items) hidden for
            selection.
        holdout: `"labels"` hides random observed labels (every item still
            trains); `"items"` hides whole items, which the network then
            never sees (`keras_crowd.selection.split_heldout_items`).
        patience: Stop after this many epochs without a better held-out
            score (`None`: run all epochs). It needs `selection="heldout"`;
            `method="oracle"`, which holds no label out, runs all epochs.
        seed: Seed of the split, the initial weights and the batches
            (an integer); `None` draws one, which the result does not
            record, so the run cannot be repeated.
        true_labels: Only for `method="oracle"`: `(N,)` (or `(N, 1)`)
            integer labels in `[0, K)` or `(N, K)` one-hot (or soft) labels.
        strategy: Optional `tf.distribute.Strategy` to build and train under.
        callbacks: Extra Keras callbacks (a list, one callback or `None`),
            given to every fit. A `keras.callbacks.BackupAndRestore` needs
            a single fit (a fixed `strength` and `ensemble_size=1`): the
            fits would share its backup.
        verbose: Keras `fit` verbosity.
        validation_data: Optional `(x, true_labels)`, with `(N,)` integer
            labels in `[0, K)` (DL-MV, DL-DS and oracle also take `(N, K)`
            one-hot labels), to log `val_accuracy` for every method
            (for reporting only; it never influences selection).
        steps_per_execution: Batches per call of the compiled train
            function (`compile`); it must divide the number of batches in an
            epoch. `None` (default): one whole epoch per call, the fastest
            on small data (`keras_crowd.training.input_pipeline`); 1 under
            a strategy with several replicas, where Keras 3.15 fails with
            larger values (a `ValueError` refuses them there).
        num_standard_errors: Tolerance of `strength="auto"`.
        ensemble_size: Train this many classifiers and average their
            probabilities (`keras_crowd.models.ClassifierEnsemble`). Member
            `e` trains from seed `seed + 1000 * e` and hides fold `e` of the
            held-out split (`split_observed_labels(..., fold=e)`), so that
            together the members train on every label; with
            `strength="auto"` the first member chooses lambda and the
            others train with it. Costs `ensemble_size - 1` more fits.
        common_confusion: Crowd methods: also learn a confusion matrix that
            the annotators share, gated per item and annotator
            (`CrowdModel(common_confusion=True)`, CoNAL); `True`, or a
            `keras_crowd.layers.CommonConfusion` whose settings every fit
            copies into a fresh layer. Ignored by the other methods.

    Returns:
        A `TrainingResult`.

    Example:

    >>> data = keras_crowd.datasets.labelme()
    >>> result = train_crowd_classifier(
    ...     data.x_train, data.crowd_labels, data.num_classes,
    ...     lambda seed: keras_crowd.backbones.labelme_classifier(seed=seed),
    ...     strength="auto", ensemble_size=5)
    >>> result.classifier.predict(data.x_test)
    """
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    if selection not in SELECTIONS:
        raise ValueError(f"Unknown selection {selection!r}; choose one of {SELECTIONS}.")
    if holdout not in HOLDOUTS:
        raise ValueError(f"Unknown holdout {holdout!r}; choose one of {HOLDOUTS}.")
    # Fractional warm-up epochs used to be truncated silently (2.5 -> 2).
    warmup_epochs = non_negative_integer("warmup_epochs", warmup_epochs)
    ensemble_size = positive_integer("ensemble_size", ensemble_size)
    if seed is None:
        # One draw for every member and candidate fit, which offset it.
        seed = int(np.random.default_rng().integers(2**31 - 1 - MEMBER_SEED_STRIDE * 100))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None; got {seed!r}.")
    batch_size = positive_integer("batch_size", batch_size)
    epochs = positive_integer("epochs", epochs)
    _check_confusion_initializer(confusion_initializer)
    if patience is not None and selection != "heldout":
        raise ValueError("patience stops on the held-out crowd-label score; it needs "
                         f"selection='heldout' (got selection={selection!r}).")
    x, crowd_labels = _checked_crowd_arrays(x, crowd_labels)
    # As `keras.Model.fit`: None, one callback, or a list of them.
    callbacks = keras.tree.flatten(callbacks) if callbacks else []
    if method not in CROWD_METHODS:
        validation_data = _one_hot_validation_data(validation_data, num_classes)
    strength = _checked_strength(method, strength, selection == "heldout" and method != "oracle")
    _check_backups(callbacks, _num_fits(method, strength, ensemble_size))
    build_classifier = _classifier_builder(backbone_fn)
    fit_options = dict(
        num_annotators=crowd_labels.shape[1], num_classes=num_classes, epochs=epochs,
        batch_size=batch_size, learning_rate=learning_rate, weight_decay=weight_decay,
        confusion_initializer=confusion_initializer, warmup_epochs=warmup_epochs,
        patience=patience, true_labels=true_labels, strategy=strategy, callbacks=callbacks,
        verbose=verbose, validation_data=validation_data,
        steps_per_execution=steps_per_execution, common_confusion=common_confusion,
    )
    members = []
    first_weights = []
    # Every classifier built so far (weakly: the runs not kept may be freed).
    built_classifiers = []
    # Every fit builds a new model: TensorFlow's warning that the same train
    # function is retraced over and over is a false alarm here.
    with retracing_expected():
        for member in range(int(ensemble_size)):
            member_seed = seed + MEMBER_SEED_STRIDE * member

            def member_classifier(member=member, member_seed=member_seed):
                classifier = build_classifier(member_seed)
                if any(built() is classifier for built in built_classifiers):
                    raise ValueError(
                        "backbone_fn returned a model it had returned before, so this fit would "
                        "go on training it (every lambda of strength='auto' and every ensemble "
                        "member trains its own classifier). Build the model inside backbone_fn."
                    )
                built_classifiers.append(weakref.ref(classifier))
                weights = classifier.get_weights()
                if member == 0 and not first_weights:
                    first_weights.extend(weights)
                elif member > 0 and _same_weights(weights, first_weights):
                    raise ValueError(
                        "backbone_fn built the same initial weights for two ensemble members, so "
                        "the ensemble would be one model repeated. Let it take the seed: "
                        "backbone_fn=lambda seed: labelme_classifier(seed=seed)."
                    )
                return classifier

            members.append(_train_member(
                method, strength if member == 0 else members[0].strength, x, crowd_labels,
                member_classifier, selection=selection, holdout=holdout,
                holdout_fraction=holdout_fraction, split_seed=seed, fold=member,
                member_seed=member_seed, num_standard_errors=num_standard_errors, **fit_options,
            ))
    if ensemble_size == 1:
        return members[0]
    return _ensemble_result(members)


def _checked_crowd_arrays(x, crowd_labels):
    """`(x, crowd_labels)` as arrays, after checking that they are one
    `(N, ...)` feature array and `(N, M)` labels of the same N items."""
    if isinstance(x, dict) or is_several_inputs(x):
        given = (f"several named inputs (got a dict with keys {sorted(x)})"
                 if isinstance(x, dict)
                 else f"several inputs (got a {type(x).__name__} of {len(x)} arrays)")
        raise ValueError(
            f"x must be one (N, ...) array of features; train_crowd_classifier does not take "
            f"{given}."
        )
    x, crowd_labels = np.asarray(x), np.asarray(crowd_labels)
    if crowd_labels.ndim != 2:
        raise ValueError(
            "crowd_labels must be an (N, M) array, one column per annotator and -1 for "
            f"missing; got shape {crowd_labels.shape}."
        )
    if len(x) != len(crowd_labels):
        raise ValueError(
            f"x has {len(x)} rows but crowd_labels has {len(crowd_labels)}: both must have "
            "one row per item."
        )
    return x, crowd_labels


def _num_fits(method, strength, ensemble_size):
    """The fits one call runs: one per lambda of the grid with `"auto"`,
    then one per other ensemble member."""
    candidates = len(STRENGTH_GRIDS[method]) if strength == "auto" else 1
    return candidates + int(ensemble_size) - 1


def _check_backups(callbacks, num_fits):
    """Refuse a `BackupAndRestore` shared by several fits: after a crash,
    the first fit would load the backup of the one that was interrupted
    (another lambda's or member's model) and resume at its epoch."""
    backups = [c for c in callbacks if isinstance(c, keras.callbacks.BackupAndRestore)]
    if backups and num_fits > 1:
        raise ValueError(
            f"callbacks holds {type(backups[0]).__name__}, but this call runs {num_fits} "
            "fits (strength='auto' trains one per lambda, ensemble_size one per member) "
            "that would share its one backup: after a restart the first fit would resume "
            "from the weights and epoch of the fit that was interrupted. Use it with a "
            "fixed strength and ensemble_size=1."
        )


def _check_confusion_initializer(confusion_initializer):
    """Refuse an unknown initializer name before any fit; `"dawid_skene"` is
    the recipe's own (estimated on each fit's training labels)."""
    if isinstance(confusion_initializer, str) and confusion_initializer != "dawid_skene":
        try:
            initializers.get(confusion_initializer)
        except ValueError as error:
            raise ValueError(f"{error} The recipe also takes 'dawid_skene'.") from error


def _check_num_classes(classifier, num_classes):
    """Refuse a classifier whose output, if known before training, has
    other than `num_classes` columns (a subclassed one has none yet)."""
    try:
        output_classes = classifier.outputs[0].shape[-1]
    except (AttributeError, IndexError, TypeError, ValueError):
        return
    if output_classes not in (None, num_classes):
        raise ValueError(
            f"backbone_fn built a classifier of {output_classes} classes (output shape "
            f"{tuple(classifier.outputs[0].shape)}), but num_classes={num_classes}."
        )


def _check_probability_outputs(classifier, x):
    """Refuse a classifier whose outputs on the first rows of `x` are not
    class probabilities (e.g. logits).

    The recipes train it as it is: DL-MV, DL-DS and oracle with Keras's
    cross-entropy on probabilities, which would read logits as probabilities
    and train a classifier whose outputs are neither.
    """
    row_error = probability_row_error(classifier(x[:PROBABILITY_CHECK_ROWS], training=False))
    if row_error is not None:
        raise ValueError(
            "backbone_fn must build a classifier that outputs class probabilities "
            "(rows non-negative and summing to 1; the largest row-sum error is "
            f"{row_error:.3g}): end it with a softmax. train_crowd_classifier does not "
            "take logits."
        )


def _checked_strength(method, strength, heldout):
    """The lambda to train with: a float, `None`, or `"auto"` (checked)."""
    if isinstance(strength, str):
        if strength != "auto":
            raise ValueError(f"strength must be a number, None or 'auto'; got {strength!r}.")
        if method not in STRENGTH_GRIDS:
            raise ValueError(
                f"strength='auto' chooses a regularizer weight; {method} has none. Use one of "
                f"{', '.join(STRENGTH_GRIDS)}."
            )
        if not heldout:
            raise ValueError("strength='auto' scores each lambda on held-out crowd labels; "
                             "it needs selection='heldout'.")
        return strength
    if method in STRENGTH_GRIDS:
        if strength is None:
            return DEFAULT_STRENGTHS[method]
        return regularizers.checked_strength(strength, "strength (other than None or 'auto')")
    return None


def _classifier_builder(backbone_fn):
    """`build(seed)` from a `backbone_fn` that takes a `seed` keyword or nothing."""
    try:
        takes_seed = "seed" in inspect.signature(backbone_fn).parameters
    except (TypeError, ValueError):
        takes_seed = False
    if takes_seed:
        return lambda seed: backbone_fn(seed=seed)
    return lambda seed: backbone_fn()


def _same_weights(weights, reference):
    """Whether two lists of initial weights are equal; never for an unbuilt
    backbone (a subclassed model has no weights before its first call)."""
    return bool(reference) and len(weights) == len(reference) and all(
        np.shape(a) == np.shape(b) and np.array_equal(a, b) for a, b in zip(weights, reference)
    )


def _train_member(method, strength, x, crowd_labels, build_classifier, *, selection, holdout,
                  holdout_fraction, split_seed, fold, member_seed, num_standard_errors,
                  **fit_options):
    """One classifier: its held-out fold, its lambda (one fit per candidate if
    `"auto"`) and its training run."""
    x_train = x_heldout = x
    train_labels, heldout_labels = crowd_labels, None
    if selection == "heldout" and method != "oracle":
        if holdout == "labels":
            train_labels, heldout_labels = split_observed_labels(
                crowd_labels, holdout_fraction, seed=split_seed, fold=fold
            )
        else:
            hidden = split_heldout_items(crowd_labels, holdout_fraction, seed=split_seed,
                                         fold=fold)
            train_labels, heldout_labels = crowd_labels[~hidden], crowd_labels[hidden]
            x_train, x_heldout = x[~hidden], x[hidden]
        if not np.any(heldout_labels >= 0):
            raise ValueError(
                f"holdout_fraction={holdout_fraction} hides no crowd label of these "
                f"{len(crowd_labels)} items (holdout={holdout!r}; every item and annotator keeps "
                "at least one training label). Use selection='last' or a larger "
                "holdout_fraction."
            )

    def fit(value):
        return _fit_and_select(method, value, x_train, train_labels, x_heldout, heldout_labels,
                               build_classifier, seed=member_seed, **fit_options)

    if strength != "auto":
        return fit(strength)[0]
    grid = STRENGTH_GRIDS[method]
    fits = [fit(value) for value in grid]
    chosen, candidates = choose_strength(
        grid, [label_nlls for _, label_nlls in fits], num_standard_errors
    )
    result = fits[grid.index(chosen)][0]
    return dataclasses.replace(
        result,
        seconds=sum(candidate_result.seconds for candidate_result, _ in fits),
        strength_candidates=tuple(candidates),
    )


def _ensemble_result(members):
    """One `TrainingResult` for the averaged members (the first one's lambda)."""
    first = members[0]
    matrices = [m.confusion_matrices for m in members if m.confusion_matrices is not None]
    return dataclasses.replace(
        first,
        classifier=ClassifierEnsemble(
            [m.classifier for m in members], name=f"ensemble_of_{len(members)}",
            # What the first CrowdModel recorded from the data (e.g. int32 ids
            # for a backbone without keras.Input), which the bare classifiers lose.
            input_signature=getattr(first.model, "_input_spec_for_export", None)),
        model=None,
        confusion_matrices=np.mean(matrices, axis=0) if matrices else None,
        heldout_nll=float(np.mean([m.heldout_nll for m in members])),
        seconds=sum(m.seconds for m in members),
        members=tuple(members),
    )


def _fit_and_select(method, strength, x_train, train_labels, x_heldout, heldout_labels,
                    build_classifier, *, num_annotators, num_classes, epochs, batch_size,
                    learning_rate, weight_decay, confusion_initializer, warmup_epochs,
                    patience, seed, true_labels, strategy, callbacks, verbose,
                    validation_data, steps_per_execution, common_confusion):
    """One training run; returns `(TrainingResult, held-out per-label NLLs)`."""
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    scope = strategy.scope() if strategy is not None else _null_scope()
    noise_model = None
    steps_per_epoch = -(-len(x_train) // batch_size)
    steps_per_execution = _steps_per_execution(steps_per_execution, steps_per_epoch, strategy)
    with scope:
        classifier = build_classifier()
        _check_num_classes(classifier, num_classes)
        if method not in CROWD_METHODS or classifier.built:
            # An unbuilt backbone of a crowd method is left to CrowdModel's own
            # check, which first records the data's input dtype: a call here
            # would build a Sequential without keras.Input with a float32
            # input, and its export would follow that.
            _check_probability_outputs(classifier, x_train)
        optimizer = keras.optimizers.Adam(learning_rate, weight_decay=weight_decay or None)
        if method in CROWD_METHODS:
            init = confusion_initializer
            if isinstance(init, str) and init == "dawid_skene":
                init = DawidSkene(num_classes=num_classes).fit(train_labels).confusion_matrices_
            model = CrowdModel(
                classifier, num_annotators,
                regularizer=_regularizer(method, strength),
                confusion_initializer=init,
                regularization_warmup_steps=int(warmup_epochs) * steps_per_epoch,
                common_confusion=_fresh_common_confusion(common_confusion),
            )
            model.compile(optimizer=optimizer, steps_per_execution=steps_per_execution)
            # fit() checks arrays itself, but here it gets a tf.data pipeline:
            # epoch_dataset validates the arrays (num_classes=K) up front, so
            # that fit need not range-check every batch as it streams.
            targets, validated_classes = train_labels, model.num_classes
        else:
            targets, noise_model = _targets(method, train_labels, num_classes, true_labels)
            validated_classes = None
            model = classifier
            model.compile(
                optimizer=optimizer, loss="categorical_crossentropy",
                metrics=["accuracy"] if validation_data is not None else None,
                steps_per_execution=steps_per_execution,
            )
            # CrowdModel.fit does this itself: one trace of the train step, not two.
            build_optimizer_before_fit(model)
    all_callbacks = list(callbacks)
    selector = None
    if heldout_labels is not None:
        if method in AGGREGATION_METHODS and noise_model is None:
            noise_model = DawidSkene(num_classes=num_classes).fit(train_labels).confusion_matrices_
        selector = HeldOutCrowdLikelihood(
            x_heldout, heldout_labels, confusion_matrices=noise_model, patience=patience
        )
        all_callbacks.insert(0, selector)
    dataset, _ = epoch_dataset(x_train, targets, batch_size, seed=seed,
                               num_classes=validated_classes)
    history = model.fit(
        dataset, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
        callbacks=all_callbacks, validation_data=validation_data, shuffle=False,
    )
    seconds = time.perf_counter() - start
    epochs_run = len(history.history.get("loss", []))
    crowd_model = model if method in CROWD_METHODS else None
    result = TrainingResult(
        method=method,
        classifier=classifier,
        model=crowd_model,
        confusion_matrices=(
            crowd_model.confusion_matrices if crowd_model is not None
            else noise_model if method == "dl-ds" else None
        ),
        epochs_run=epochs_run,
        selected_epoch=selector.best_epoch if selector else epochs_run,
        heldout_nll=selector.best_score if selector else float("nan"),
        num_train_labels=int((train_labels >= 0).sum()),
        num_heldout_labels=0 if heldout_labels is None else int((heldout_labels >= 0).sum()),
        seconds=seconds,
        history=history.history,
        strength=strength,
    )
    return result, selector.best_label_nlls if selector else None


def _fresh_common_confusion(common_confusion):
    """`common_confusion` for one fit: a layer given as a template is copied
    (new weights), so that candidate lambdas and ensemble members do not
    share, and go on training, one layer."""
    if isinstance(common_confusion, CommonConfusion):
        return CommonConfusion.from_config(common_confusion.get_config())
    return common_confusion


def _steps_per_execution(steps_per_execution, steps_per_epoch, strategy):
    """Batches per compiled call: a divisor of the epoch, `None` for all of it.

    Under a strategy with several replicas `None` means 1: there, Keras 3.15
    on TensorFlow 2.21 fails with "You must feed a value for placeholder
    tensor" as soon as `steps_per_execution > 1`, even for a plain Keras
    classifier (seen with MirroredStrategy on two logical CPUs).
    """
    if steps_per_execution is None:
        if strategy is not None and strategy.num_replicas_in_sync > 1:
            return 1
        return steps_per_epoch
    if (
        isinstance(steps_per_execution, bool)
        or not isinstance(steps_per_execution, (int, np.integer))
        or steps_per_execution < 1
        or steps_per_epoch % steps_per_execution
    ):
        raise ValueError(
            "steps_per_execution must be None (one epoch per call) or a positive integer "
            f"dividing the {steps_per_epoch} batches of an epoch; got {steps_per_execution!r}."
        )
    distribution.check_steps_per_execution(int(steps_per_execution), strategy)
    return int(steps_per_execution)


class _null_scope:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
