"""`CrowdModel`: train any probabilistic classifier from crowd labels."""

import functools
import inspect
import itertools

import keras
import ml_dtypes
import numpy as np
import tensorflow as tf
from keras import ops
from keras import tree

from keras_crowd import regularizers as crowd_regularizers
from keras_crowd.export.classifier_export import export_classifier
from keras_crowd.export.classifier_export import input_spec_config
from keras_crowd.export.classifier_export import input_spec_from_config
from keras_crowd.export.classifier_export import serving_input_signature
from keras_crowd.layers.common_confusion import CommonConfusion
from keras_crowd.layers.crowd_layer import CrowdLayer
from keras_crowd.losses.coupled_cross_entropy import label_cross_entropy
from keras_crowd.models import label_validation
from keras_crowd.optimizers.lazy_adam import LazyAdam
from keras_crowd.utils import distribution
from keras_crowd.utils import sparse_gradients
from keras_crowd.utils.optimizer_build import build_optimizer_before_fit

# Rows of a probability output may sum to 1 only up to float error.
_PROBABILITY_TOLERANCE = 1e-2
# ... and, for a low-precision output, up to this many of its machine
# epsilons: a bfloat16 softmax (epsilon 2^-7) over near-uniform rows was
# measured off by 0.022 (K = 30000), float16 by 0.002.
_PROBABILITY_TOLERANCE_EPSILONS = 8
# Rows of the features run through the backbone to check its outputs.
PROBABILITY_CHECK_ROWS = 256


_TRUE_LABELS_IN_FIT_MESSAGE = (
    "fit() needs crowd labels of shape (N, M); got a 1-D array. "
    "True labels are only accepted as validation data."
)
_CLASS_WEIGHT_MESSAGE = (
    "CrowdModel does not take class_weight: crowd labels have no single "
    "class per item to weight. Mark missing labels with -1 instead."
)
_SAMPLE_WEIGHT_MESSAGE = (
    "CrowdModel does not take sample weights with crowd labels: mark missing "
    "labels with -1 instead."
)


def is_several_inputs(value):
    """Whether `value` is a list or tuple of arrays or tensors.

    Keras reads such a sequence as several model inputs (one per element),
    not as the rows of one array; a nested list of numbers is one array.
    """
    return isinstance(value, (list, tuple)) and any(
        not isinstance(leaf, (list, tuple)) and np.ndim(leaf) >= 1 for leaf in value
    )


def _is_array_like(value):
    """Whether `value` is in-memory data whose values can be checked up front.

    Numpy arrays, tensors, lists of numbers and anything numpy can convert
    (`__array__`: pandas DataFrames and Series, ...), or a dict of them;
    not a list of arrays (several inputs), a `tf.data.Dataset`, a generator
    or a `keras.utils.PyDataset`.
    """
    if isinstance(value, dict):
        return bool(value) and all(_is_array_like(leaf) for leaf in value.values())
    if is_several_inputs(value):
        return False
    return isinstance(value, (np.ndarray, tf.Tensor, list)) or hasattr(value, "__array__")


def _as_checkable(value):
    """`value` (array-like, or a dict of them) as numpy for the checks."""
    if isinstance(value, dict):
        return {key: _as_checkable(leaf) for key, leaf in value.items()}
    return value if isinstance(value, np.ndarray) else np.asarray(value)


def _gradients_for_optimizer(gradients, optimizer):
    """`gradients` as `optimizer` applies them as it would the dense layout's.

    Padded pairs give the confusion logits a sparse gradient with one entry
    per gathered label; Keras optimizers square (`Adam`, `RMSprop`) and clip
    (`clipvalue`, `clipnorm`) each entry before adding them up. The entries
    are summed per annotator first. Under several replicas the all-reduce
    concatenates the replicas' entries again, so the gradient is then made
    dense, except for `LazyAdam`, which sums the rows it receives itself.
    """
    gradients = sparse_gradients.deduplicate_all(gradients)
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
    if distribution.num_replicas() > 1 and not isinstance(inner, LazyAdam):
        gradients = sparse_gradients.densify_all(gradients)
    return gradients


def _refuse_label_tuple(labels):
    """Fail clearly on labels given as a tuple, such as the `(annotator_ids,
    labels)` pair returned by `keras_crowd.data.to_padded_pairs`."""
    if isinstance(labels, tuple):
        raise ValueError(
            f"Crowd labels must be an (N, M) array or the padded-pair dict "
            f"{{'{label_validation.ANNOTATOR_IDS_KEY}': (N, R), "
            f"'{label_validation.LABELS_KEY}': (N, R)}}; got a tuple of "
            f"{len(labels)} items. For padded pairs use "
            "keras_crowd.data.to_padded_pairs(..., as_dict=True), or pass "
            f"{{'{label_validation.ANNOTATOR_IDS_KEY}': ids, "
            f"'{label_validation.LABELS_KEY}': labels}}."
        )


@keras.saving.register_keras_serializable(package="keras_crowd")
class CrowdModel(keras.Model):
    """A classifier `f` coupled with one confusion matrix per annotator.

    `CrowdModel` wraps any Keras model (Sequential, functional or
    subclassed) whose output is `(batch, K)` class probabilities, adds a
    `CrowdLayer` of M column-stochastic confusion matrices, and trains both
    with `compile` / `fit` on crowd labels. The loss is the coupled
    cross-entropy (CCEM) averaged over the **observed** labels only, plus an
    optional identifiability regularizer. Calling the model, `predict`, and
    `export_classifier` all use `f` alone.

    Labels for `fit` come in one of two layouts (`-1` marks missing):

    - dense: an `(N, M)` integer array, column `m` for annotator `m`;
    - padded pairs, for large crowds: a dict
      `{"annotator_ids": (N, R), "labels": (N, R)}` listing each item's
      (annotator, label) pairs (`keras_crowd.data.to_padded_pairs`).

    Validation data may hold crowd labels in either layout (logged as
    `val_crowd_loss`), or 1-D true class indices, in which case the
    classifier's `val_accuracy` is logged.

    The loss is exact under `tf.distribute` strategies: each replica divides
    its own sum of cross-entropies by the global count of observed labels,
    and batch-level regularizers see the global batch.

    Args:
        backbone: A Keras model mapping one input tensor to `(batch, K)`
            probabilities (or logits with `from_logits=True`). Backbones of
            several inputs (a list or dict of inputs) are refused with a
            `ValueError`.
        num_annotators: M, the number of annotators.
        regularizer: `None`, a `keras_crowd.regularizers` instance such as
            `GeoCrowdNetF(1e-3)`, `GeoCrowdNetW(1e-2)`, `TraceRegularizer(1e-2)`
            or `DirichletPrior(...)`, or a list of them (their sum is added).
        confusion_initializer: How the confusion matrices start; see
            `CrowdLayer`. `"identity"` (default), `"diagonally_dominant"`,
            an initializer, or an `(M, K, K)` array (e.g. Dawid-Skene).
        from_logits: Set when the backbone outputs logits; a softmax is then
            applied (and exported).
        check_probabilities: Before training, run the backbone on a few
            rows (or the first batch of a dataset) and fail with a clear
            message if its outputs are not probabilities (with
            `from_logits=True`: if they already are).
        regularization_warmup_steps: Ramp the regularizer's weight linearly
            from 0 to its full strength over this many optimizer steps (0:
            full strength from the first step). Letting the coupled
            cross-entropy shape `f` before the log-det term pulls on it
            keeps GeoCrowdNet-F from collapsing classes at large lambda
            (benchmarks/RESULTS.md).
        common_confusion: `False` (default), `True`, or a
            `keras_crowd.layers.CommonConfusion`: also learn a confusion
            matrix that all annotators share, used by each annotator on the
            items where a gate computed from the inputs says so (CoNAL).
            It models errors that several annotators make on the same item,
            which the per-annotator matrices cannot. The gate reads the
            flattened model inputs. Held-out selection
            (`HeldOutCrowdLikelihood`) scores the same mixture.
        **kwargs: Base `keras.Model` arguments, such as `name`.

    Example:

    >>> backbone = keras.Sequential([
    ...     keras.Input((124,)), keras.layers.Dense(128, activation="relu"),
    ...     keras.layers.Dense(10, activation="softmax")])
    >>> model = CrowdModel(backbone, num_annotators=44,
    ...                    regularizer=GeoCrowdNetW(1e-2))
    >>> model.compile(optimizer="adam")
    >>> model.fit(x_train, crowd_labels, batch_size=64, epochs=50,
    ...           validation_data=(x_valid, y_valid))
    >>> model.confusion_matrices.shape     # (44, 10, 10)
    >>> model.export_classifier("saved_models/music/1")
    """

    def __init__(
        self,
        backbone,
        num_annotators,
        regularizer=None,
        confusion_initializer="identity",
        from_logits=False,
        check_probabilities=True,
        regularization_warmup_steps=0,
        common_confusion=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        warmup_steps = regularization_warmup_steps
        if (
            isinstance(warmup_steps, bool)
            or not isinstance(warmup_steps, (int, np.integer))
            or warmup_steps < 0
        ):
            raise ValueError(
                "`regularization_warmup_steps` must be a non-negative integer; "
                f"got {regularization_warmup_steps!r}."
            )
        self.regularization_warmup_steps = int(warmup_steps)
        if not isinstance(backbone, keras.Model):
            raise ValueError(
                "`backbone` must be a keras.Model that outputs class "
                f"probabilities; got {type(backbone).__name__}."
            )
        self.backbone = backbone
        self.regularizer = crowd_regularizers.get(regularizer)
        self.from_logits = bool(from_logits)
        self.check_probabilities = bool(check_probabilities)
        # The layer checks that `num_annotators` is a positive integer.
        self.crowd_layer = CrowdLayer(
            num_annotators,
            confusion_initializer=confusion_initializer,
            name="crowd_layer",
        )
        self.num_annotators = self.crowd_layer.num_annotators
        self.common_confusion = _common_confusion_layer(common_confusion, self.num_annotators)
        self.crowd_loss_tracker = keras.metrics.Mean(name="crowd_loss")
        self.regularization_tracker = keras.metrics.Mean(name="regularization")
        # A mean of per-batch accuracies weighted by the batch's (global)
        # count: Keras's SparseCategoricalAccuracy would average the replicas'
        # own accuracies under a strategy (`_accuracy_counts`).
        self.accuracy_tracker = keras.metrics.Mean(name="accuracy")
        self._input_spec_for_export = None
        # Whether the test function was last traced for crowd labels (`True`)
        # or 1-D true labels (`False`); read by `test_on_batch`.
        self._test_traced_for_crowd_labels = None
        # Set by `build`, which sees only shapes: the first call then records
        # the dtype of its inputs (e.g. int32 token ids) in the export spec.
        self._input_dtype_pending = False
        if getattr(backbone, "built", False) and _has_symbolic_io(backbone):
            self._build_from_backbone_output(
                backbone.outputs[0].shape, backbone.inputs[0].shape
            )
            self._input_spec_for_export = serving_input_signature(backbone)
            self.built = True

    @property
    def _regularizer_list(self):
        if self.regularizer is None:
            return []
        if isinstance(self.regularizer, list):
            return self.regularizer
        return [self.regularizer]

    # ------------------------------------------------------------------ build
    def _build_from_backbone_output(self, output_shape, input_shape):
        if len(output_shape) != 2:
            raise ValueError(
                "The backbone must output class probabilities of shape "
                f"(batch, K); its output has shape {tuple(output_shape)}. "
                "Flatten or pool before the final softmax Dense layer."
            )
        if not self.crowd_layer.built:
            self.crowd_layer.build(tuple(output_shape))
        if self.common_confusion is not None and not self.common_confusion.built:
            self.common_confusion.build((tuple(input_shape), tuple(output_shape)))

    def build(self, input_shape):
        if isinstance(input_shape, dict) or (
            input_shape and isinstance(input_shape[0], (list, tuple))
        ):
            raise ValueError(
                "CrowdModel supports backbones with a single input tensor; "
                f"got input shapes {input_shape}."
            )
        symbolic_input = keras.KerasTensor((None,) + tuple(input_shape[1:]))
        output = self.backbone(symbolic_input)  # builds any kind of backbone
        self._build_from_backbone_output(output.shape, symbolic_input.shape)
        if self._input_spec_for_export is None:
            self._input_spec_for_export = tf.TensorSpec(
                symbolic_input.shape, symbolic_input.dtype, name="inputs"
            )
            self._input_dtype_pending = True
        self.built = True

    @property
    def num_classes(self):
        """K, the number of classes (known once the model is built)."""
        return self.crowd_layer.num_classes

    # ------------------------------------------------------------------- call
    def call(self, inputs, training=None):
        if self._input_dtype_pending and hasattr(inputs, "dtype"):
            # Built by a call (`model(x)`, `predict`): serve the dtype of `x`.
            self._input_dtype_pending = False
            spec = self._input_spec_for_export
            self._input_spec_for_export = tf.TensorSpec(
                spec.shape, _serving_dtype(inputs.dtype), name=spec.name
            )
        outputs = self.backbone(inputs, training=training)
        if self.from_logits:
            # In float32 even under mixed precision: a float16 softmax is
            # off by up to 1e-3 (rows that do not sum to 1).
            outputs = ops.softmax(ops.cast(outputs, "float32"), axis=-1)
        return outputs

    def _as_probabilities(self, probabilities):
        shape = probabilities.shape
        if len(shape) != 2 or (
            self.num_classes is not None and shape[-1] not in (None, self.num_classes)
        ):
            raise ValueError(
                "The backbone must output (batch, K) probabilities with "
                f"K={self.num_classes}; got a tensor of shape {tuple(shape)}."
            )
        return ops.cast(probabilities, "float32")

    def _feature_sample(self, x):
        """A few rows of the features `x`, or `None` if they cannot be had
        without training on them (a generator: see `_prepare_inputs`).

        The first rows of an array-like, of the first batch of a
        `tf.data.Dataset` or a `keras.utils.PyDataset`, or for a dataset
        from `epoch_dataset(..., num_classes=K)` of its features.
        """
        validated = label_validation.validated_dataset_info(x)
        if validated is not None:
            # Built from arrays (`epoch_dataset`): their first rows, without
            # the cost of an iterator over the dataset.
            return validated.feature_sample
        if isinstance(x, tf.data.Dataset):
            element = next(iter(x.take(1)), None)
            if element is None:
                return None
            return element[0] if isinstance(element, tuple) else element
        if isinstance(x, keras.utils.PyDataset):
            if x.num_batches == 0:
                return None
            return _batch_features(x[0], PROBABILITY_CHECK_ROWS)
        if _is_array_like(x):
            return _first_rows(x, PROBABILITY_CHECK_ROWS)
        return None

    def _build_from_sample(self, sample):
        """Build the model on a row of the feature sample (`_feature_sample`),
        so that K is known when its labels are checked (an unbuilt backbone,
        e.g. subclassed, has no K yet).

        Variables are created in this model's distribution strategy scope.
        The sample's dtype is recorded for `export_classifier` (`build` sees
        only shapes), so that e.g. integer token ids are served as integers.
        """
        if self.built or sample is None:
            return
        if self._input_spec_for_export is None:
            self._input_spec_for_export = _input_spec(sample)
        with self.distribute_strategy.scope():
            self(tree.map_structure(lambda leaf: leaf[:1], sample), training=False)

    def _check_backbone_outputs(self, sample):
        """Fail before training if the backbone's outputs are not probabilities
        (or, with `from_logits`, if they are).

        Runs the backbone once (without the softmax `from_logits` adds) on a
        small sample of the features (`_feature_sample`), so that no
        per-step cost is paid for the check.
        It runs in the model's distribution strategy scope.
        """
        if not self.check_probabilities or sample is None:
            return
        with self.distribute_strategy.scope():
            outputs = self.backbone(sample, training=False)
        row_error = probability_row_error(self._as_probabilities(outputs), outputs.dtype)
        are_probabilities = row_error is None
        if self.from_logits and are_probabilities:
            raise ValueError(
                "from_logits=True, but the backbone's outputs are already "
                "probabilities (non-negative rows summing to 1): a second softmax "
                "would flatten them. Pass from_logits=False, or end the backbone "
                "without its softmax."
            )
        if not self.from_logits and not are_probabilities:
            raise ValueError(
                "The backbone's outputs are not probabilities (rows must be "
                "non-negative and sum to 1; the largest row-sum error is "
                f"{row_error:.3g}). End it with a softmax, or pass from_logits=True."
            )

    # ----------------------------------------------------------------- labels
    def _split_labels(self, labels):
        """Return `(labels, annotator_ids)` for either label layout."""
        _refuse_label_tuple(labels)
        if label_validation.is_padded_pairs(labels):
            return (
                labels[label_validation.LABELS_KEY],
                labels[label_validation.ANNOTATOR_IDS_KEY],
            )
        label_validation.refuse_other_label_dicts(labels)
        if len(labels.shape) != 2 or labels.shape[-1] not in (None, self.num_annotators):
            raise ValueError(
                "Crowd labels must have shape (batch, M) with "
                f"M={self.num_annotators} annotators; got {tuple(labels.shape)}."
            )
        return labels, None

    def _labels_already_validated(self, dataset):
        """Whether `dataset` came from `epoch_dataset(..., num_classes=K)`
        with this model's M and K (its labels were validated as arrays)."""
        validated = label_validation.validated_dataset_info(dataset)
        return (
            validated is not None
            and validated.num_annotators == self.num_annotators
            and validated.num_classes == self.num_classes
        )

    def _with_label_checks(self, dataset, true_labels_allowed=False):
        """`dataset` whose labels are range-checked as they stream.

        The check runs in the input pipeline, in parallel with and ahead of
        training (deterministic order, prefetched), not in the train step,
        and fails at the first bad batch. Labels of a rank that is neither
        crowd labels nor (when `true_labels_allowed`, for validation) 1-D
        true labels are refused when the pipeline is built. A dataset whose
        labels were validated as arrays when it was built (`epoch_dataset(...,
        num_classes=K)`) is returned unchanged.
        """
        if self._labels_already_validated(dataset):
            return dataset

        def check(*element):
            if len(element) < 2:
                return element
            _refuse_label_tuple(element[1])
            if isinstance(element[1], dict) or element[1].shape.rank == 2:
                checks = self._range_checks(*self._split_labels(element[1]))
            elif element[1].shape.rank == 1 and true_labels_allowed:
                checks = self._range_checks(element[1], None, true_labels=True)
            elif element[1].shape.rank == 1:
                raise ValueError(_TRUE_LABELS_IN_FIT_MESSAGE)
            else:
                raise ValueError(
                    "Crowd labels must have shape (batch, M) with "
                    f"M={self.num_annotators} annotators"
                    + (" (or (batch,) true labels)" if true_labels_allowed else "")
                    + f"; the dataset yields labels of shape {element[1].shape}."
                )
            with tf.control_dependencies(checks):
                return tuple(tree.map_structure(tf.identity, element))

        return dataset.map(
            check, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        ).prefetch(tf.data.AUTOTUNE)

    def _range_checks(self, labels, annotator_ids, true_labels=False):
        """Assertions that a batch holds valid crowd labels (and annotator
        ids), or with `true_labels` valid 1-D true class indices.

        Float labels must first be whole numbers: a cast alone would turn
        -0.5 into class 0 and 1.5 into class 1.
        """
        label_requirement = (
            "True labels must be integers" if true_labels
            else "Crowd labels must be integers (-1 for missing)"
        )
        checks = [
            _integer_values_check(values, requirement)
            for values, requirement in (
                (labels, label_requirement),
                (annotator_ids, "Annotator ids must be integers (-1 for missing)"),
            )
            if values is not None and values.dtype.is_floating
        ]
        with tf.control_dependencies(checks):
            return checks + self._value_range_checks(labels, annotator_ids, true_labels)

    def _value_range_checks(self, labels, annotator_ids, true_labels=False):
        labels = ops.cast(labels, "int32")
        lowest = 0 if true_labels else -1
        in_range = ops.logical_and(ops.min(labels) >= lowest, ops.max(labels) < self.num_classes)
        requirement = (
            "True labels must be in" if true_labels
            else "Crowd labels must be -1 (missing) or in"
        )
        message = [
            f"{requirement} [0, K) with K={self.num_classes}; "
            "got labels from",
            ops.min(labels),
            "to",
            ops.max(labels),
        ]
        if annotator_ids is not None:
            observed_ids = tf.where(labels >= 0, ops.cast(annotator_ids, "int32"), 0)
            in_range = ops.logical_and(
                in_range,
                ops.logical_and(
                    ops.min(observed_ids) >= 0, ops.max(observed_ids) < self.num_annotators
                ),
            )
            message += [
                f"and annotator ids must be in [0, M) with M={self.num_annotators}; got ids from",
                ops.min(observed_ids),
                "to",
                ops.max(observed_ids),
            ]
        return [tf.debugging.Assert(in_range, message)]

    # ------------------------------------------------------------- objective
    def _crowd_objective(self, probabilities, y, x):
        """Per-replica pieces of the loss, for the batch `(x, y)` and the
        classifier's `probabilities` on `x`.

        Returns a dict with `replica_loss` (this replica's share of the
        global objective, for gradients) and the global `crowd_loss`,
        `regularization`, `loss` and `observed_count` (the batch's observed
        labels) values, identical on all replicas, for logging.
        """
        labels, annotator_ids = self._split_labels(y)
        # Computed once, for the regularizers and the loss alike.
        confusion_matrices = (
            self.crowd_layer.confusion_matrices
            if any(regularizer.uses_confusion_matrices for regularizer in self._regularizer_list)
            else None
        )
        label_probabilities = self.crowd_layer.label_probabilities(
            probabilities, labels, annotator_ids, confusion_matrices=confusion_matrices
        )
        if self.common_confusion is not None:
            label_probabilities = self.common_confusion.mix(
                label_probabilities, labels, x, probabilities, annotator_ids
            )
        cross_entropy, observed_mask = label_cross_entropy(label_probabilities, labels)
        # Read before the first cross-replica collective below: under
        # MirroredStrategy the replicas run in turn, switching at each
        # collective, and share the layers' lists of `add_loss` losses, so
        # afterwards every replica would read the last replica's activity
        # regularization (and train on it with the wrong tape).
        layer_losses = self._replica_layer_losses(probabilities)
        local_sum = ops.sum(cross_entropy)
        observed_count = distribution.global_sum(ops.sum(observed_mask))
        denominator = ops.maximum(observed_count, 1.0)
        crowd_loss = distribution.global_sum(local_sum) / denominator

        regularization = ops.zeros((), "float32")
        global_batch = None
        for regularizer in self._regularizer_list:
            batch = probabilities
            if regularizer.uses_batch_predictions:
                if global_batch is None:
                    global_batch = distribution.gather_global_batch(probabilities)
                batch = global_batch
            regularization += ops.cast(regularizer(batch, confusion_matrices), "float32")
        if self._regularizer_list:
            regularization = regularization * self.regularization_scale()
        replicas = float(distribution.num_replicas())
        replica_loss = local_sum / denominator + regularization / replicas + layer_losses
        return {
            "replica_loss": replica_loss,
            "crowd_loss": crowd_loss,
            "regularization": regularization,
            "loss": crowd_loss + regularization + distribution.global_sum(layer_losses),
            "observed_count": observed_count,
        }

    def _replica_layer_losses(self, probabilities):
        """This replica's share of the backbone's own losses (`add_loss`:
        activity and weight regularizers), for its batch `probabilities`.

        Keras divides an activity regularizer by the replica's own batch
        size, and a weight penalty is the same on every replica: weighted
        by the replica's share of the global batch, both sum over the
        replicas to their one-device value, however unevenly the batch is
        split (a division by the number of replicas did so only for
        shares of equal size). 1 on one device.
        """
        if not self.losses:
            return ops.zeros((), "float32")
        losses = ops.cast(ops.sum(ops.stack(self.losses)), "float32")
        items = ops.cast(ops.shape(probabilities)[0], "float32")
        return losses * ops.divide_no_nan(items, distribution.global_sum(items))

    def regularization_scale(self):
        """The factor in [0, 1] on the regularizer at the current step.

        `min(1, step / regularization_warmup_steps)`, where `step` counts the
        optimizer's updates so far; 1 without warm-up or before compiling.
        """
        if not self.regularization_warmup_steps or getattr(self, "optimizer", None) is None:
            return ops.ones((), "float32")
        step = ops.cast(self.optimizer.iterations, "float32")
        return ops.minimum(1.0, step / float(self.regularization_warmup_steps))

    def _log_objective(self, objective):
        """Update the loss trackers with one batch; returns the logs.

        Every batch counts by its number of observed labels, so that the
        logged `crowd_loss` is the mean over all the observed labels seen
        (the objective's definition), whatever the batch size, and
        `loss = crowd_loss + regularization` (plus the backbone's own
        losses: `add_loss`, kernel regularizers) holds for the logged means. A
        batch without labels adds nothing to them.
        """
        weight = objective["observed_count"]
        self.crowd_loss_tracker.update_state(objective["crowd_loss"], sample_weight=weight)
        self.regularization_tracker.update_state(objective["regularization"], sample_weight=weight)
        self._loss_tracker.update_state(objective["loss"], sample_weight=weight)
        return {
            "loss": self._loss_tracker.result(),
            "crowd_loss": self.crowd_loss_tracker.result(),
            "regularization": self.regularization_tracker.result(),
        }

    # ---------------------------------------------------------- train / test
    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError(_SAMPLE_WEIGHT_MESSAGE)
        if y is None:
            raise ValueError("CrowdModel.fit needs crowd labels as `y`.")
        with tf.GradientTape() as tape:
            probabilities = self._as_probabilities(self(x, training=True))
            objective = self._crowd_objective(probabilities, y, x)
            scaled_loss = self.optimizer.scale_loss(objective["replica_loss"])
        trainable_weights = self.trainable_weights
        gradients = _gradients_for_optimizer(
            tape.gradient(scaled_loss, trainable_weights), self.optimizer
        )
        self.optimizer.apply_gradients(zip(gradients, trainable_weights))
        return self._log_objective(objective)

    def test_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        probabilities = self._as_probabilities(self(x, training=False))
        if y is None:
            return {}
        self._test_traced_for_crowd_labels = _holds_crowd_labels(y)
        if not _holds_crowd_labels(y):
            correct, count = _accuracy_counts(y, probabilities, sample_weight)
            self.accuracy_tracker.update_state(
                correct / ops.maximum(count, 1e-12), sample_weight=count
            )
            return {"accuracy": self.accuracy_tracker.result()}
        _refuse_sample_weight(y, sample_weight)
        return self._log_objective(self._crowd_objective(probabilities, y, x))

    # --------------------------------------------------------- fit / compile
    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """Configure training. The loss is built in: do not pass `loss`.

        Args:
            optimizer: Any Keras optimizer (name or instance).
            loss: Must be `None`; CrowdModel minimises the coupled
                cross-entropy of the crowd labels plus its regularizer.
            metrics: Must be `None`; the crowd loss, the regularization and
                (on true-label validation data) the accuracy are logged.
            **kwargs: Other `keras.Model.compile` arguments, such as
                `steps_per_execution` or `jit_compile`; not
                `weighted_metrics` or `loss_weights`, which have no loss or
                metrics to apply to. Under a strategy with several replicas
                `fit` and `evaluate` refuse `steps_per_execution` > 1, with
                which Keras 3.15 fails
                (`keras_crowd.utils.distribution.check_steps_per_execution`).

        Raises:
            ValueError: `loss`, `metrics`, `weighted_metrics` or
                `loss_weights` given; or `jit_compile=True` on
                a machine without GPUs with GeoCrowdNet-F or -W, whose
                log-determinant XLA cannot compile on CPU.
        """
        if loss is not None:
            raise ValueError(
                "CrowdModel computes its own loss (coupled cross-entropy on "
                "observed crowd labels); call compile() without `loss`."
            )
        if metrics is not None or kwargs.get("weighted_metrics") is not None:
            raise ValueError(
                "CrowdModel logs crowd_loss, regularization and (with true "
                "validation labels) accuracy itself; call compile() without "
                "`metrics` or `weighted_metrics`."
            )
        if kwargs.get("loss_weights") is not None:
            raise ValueError(
                "CrowdModel has a single built-in loss to weight; call compile() "
                "without `loss_weights` (the regularizer has its own strength)."
            )
        self._check_xla_support(kwargs.get("jit_compile"))
        super().compile(optimizer=optimizer, **kwargs)

    def _check_xla_support(self, jit_compile):
        """Refuse `jit_compile=True` on CPU with a regularizer XLA cannot compile."""
        if jit_compile is not True or tf.config.list_logical_devices("GPU"):
            return
        unsupported = [type(regularizer).__name__ for regularizer in self._regularizer_list
                       if not regularizer.compiles_with_xla_on_cpu]
        if unsupported:
            raise ValueError(
                f"jit_compile=True cannot compile {', '.join(unsupported)} on CPU: XLA has "
                "no CPU kernel for the log-determinant (LogMatrixDeterminant). Compile "
                "with jit_compile=False (the default); on CPU it is also faster for "
                "backbones with Dropout (benchmarks/RESULTS.md)."
            )

    def compile_from_config(self, config):
        """Re-compile after `keras.saving.load_model` (restores the optimizer)."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def _validate_inputs(self, x, y, true_labels_allowed):
        """Check in-memory features and labels before training or evaluating.

        Anything array-like is checked (numpy arrays, tensors, lists, pandas
        DataFrames, ...), on a numpy view; what Keras receives is unchanged.
        """
        _validate_arrays(x, y, self.num_annotators, self.num_classes, true_labels_allowed)

    def _prepare_inputs(self, x, y, true_labels_allowed, sample_needed=False):
        """Build the model if needed and check `x` and `y`.

        A distributed dataset from
        `keras_crowd.distribute.distribute_crowd_dataset` cannot be mapped:
        the arrays it was built from are checked instead.

        Returns:
            `(x, feature_sample)`: `x` with the crowd labels of a
            `tf.data.Dataset` checked as they stream, and the few feature
            rows (`_feature_sample`, `None` if there are none to be had)
            that built the model, read at most once: also when
            `sample_needed` (for `_check_backbone_outputs`), else only if
            the model is not built yet.
        """
        first_batch = None
        if inspect.isgenerator(x):
            x, first_batch = _peek(x)
        features, labels = x, y
        source = label_validation.source_arrays(x)
        if source is not None:
            features, labels = source.features, source.labels
        sample = None
        if sample_needed or not self.built:
            sample = (
                _batch_features(first_batch, PROBABILITY_CHECK_ROWS)
                if inspect.isgenerator(x) else self._feature_sample(features)
            )
        # K (needed by the label checks) is known only once the model is built.
        self._build_from_sample(sample)
        self._validate_inputs(features, labels, true_labels_allowed)
        return self._with_batch_checks(x, true_labels_allowed), sample

    def _with_batch_checks(self, x, true_labels_allowed):
        """`x` whose labels are checked batch by batch as they are read, if
        it is a `tf.data.Dataset`, a `keras.utils.PyDataset` or a generator
        (in-memory arrays are checked whole by `_validate_inputs`)."""
        if isinstance(x, tf.data.Dataset):
            return self._with_label_checks(x, true_labels_allowed)
        check = functools.partial(
            _validate_batch, num_annotators=self.num_annotators,
            num_classes=self.num_classes, true_labels_allowed=true_labels_allowed,
        )
        if isinstance(x, keras.utils.PyDataset):
            return _LabelCheckedPyDataset(x, check)
        if inspect.isgenerator(x):
            return _label_checked_batches(x, check)
        return x

    def fit(self, x=None, y=None, validation_data=None, **kwargs):
        """`keras.Model.fit`, with crowd labels checked before training.

        In-memory inputs (numpy arrays, tensors, lists, pandas DataFrames)
        are validated up front: label values must be -1 or in `[0, K)`, the
        label matrix must have M columns, features and labels must have the
        same number of rows, and features must be finite. The crowd labels
        of a `tf.data.Dataset` are checked batch by batch as they stream
        (integers, -1 or in `[0, K)`), unless the dataset was built (and
        validated) by `keras_crowd.training.epoch_dataset(...,
        num_classes=K)`, and so are the batches of a
        `keras.utils.PyDataset` or a generator (as numpy arrays, as they
        are read); those of a dataset from
        `keras_crowd.distribute.distribute_crowd_dataset` are checked on the
        arrays it was built from. See `keras.Model.fit` for the arguments;
        `sample_weight` and `class_weight` are refused: the loss weighs every
        observed crowd label alike.
        """
        if kwargs.get("class_weight") is not None:
            raise ValueError(_CLASS_WEIGHT_MESSAGE)
        distribution.check_steps_per_execution(self.steps_per_execution,
                                               self.distribute_strategy)
        distribution.warn_about_per_replica_clipping(getattr(self, "optimizer", None),
                                                     self.distribute_strategy)
        x, feature_sample = self._prepare_inputs(
            x, y, true_labels_allowed=False, sample_needed=self.check_probabilities
        )
        if isinstance(validation_data, (tuple, list)) and len(validation_data) >= 2:
            self._validate_inputs(
                validation_data[0], validation_data[1], true_labels_allowed=True
            )
            if len(validation_data) > 2 and validation_data[2] is not None:
                _refuse_sample_weight(validation_data[1], validation_data[2])
        self._check_backbone_outputs(feature_sample)
        validation_data = self._with_batch_checks(validation_data, true_labels_allowed=True)
        self._build_optimizer()
        # The test function may have been traced for the other label layout
        # (true labels vs crowd labels); Keras relaxes shapes on retracing,
        # so start from a fresh trace rather than an unknown-rank one.
        self.test_function = None
        return super().fit(x, y, validation_data=validation_data, **kwargs)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Skip Keras's symbolic build when nothing is left to build.

        Under a `tf.distribute` strategy, Keras 3.15 first averages the
        replicas' shares of the first batch, to build the model on it; that
        fails when the shares differ in size (a global batch size not
        divisible by the number of replicas: "Inputs to operation AddN ...
        must have the same size and shape"). `fit` and `evaluate` build the
        model and its optimizer beforehand, and `CrowdModel` has no
        compiled loss or metrics, so that build would do nothing anyway.
        """
        optimizer = getattr(self, "optimizer", None)
        if (
            self.built
            and all(layer.built for layer in self._flatten_layers())
            and (optimizer is None or optimizer.built)
            and getattr(self, "_compile_metrics", None) is None
            and getattr(self, "_compile_loss", None) is None
        ):
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def _build_optimizer(self):
        """Create the optimizer's variables before `fit` traces the train step
        (`keras_crowd.utils.optimizer_build.build_optimizer_before_fit`)."""
        build_optimizer_before_fit(self)

    def evaluate(self, x=None, y=None, **kwargs):
        """`keras.Model.evaluate` on crowd labels or 1-D true labels.

        Inputs are checked as in `fit`. Sample weights are accepted only
        with 1-D true labels.
        """
        if kwargs.get("_use_cached_eval_dataset", False):
            # Called by fit's validation: `fit` checked (and wrapped) the
            # validation data, and Keras reads its cached iterator, not `x`.
            # Reading `x` again would take a batch from a generator.
            return super().evaluate(x, y, **kwargs)
        distribution.check_steps_per_execution(self.steps_per_execution,
                                               self.distribute_strategy)
        x, _ = self._prepare_inputs(x, y, true_labels_allowed=True)
        # Called by the user: see `fit`.
        self.test_function = None
        return super().evaluate(x, y, **kwargs)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """`keras.Model.train_on_batch`, with the batch checked as in `fit`.

        In-memory crowd labels must be -1 or in `[0, K)`, with M columns
        (or the padded-pair dict); `sample_weight` and `class_weight` are
        refused.
        """
        if class_weight is not None:
            raise ValueError(_CLASS_WEIGHT_MESSAGE)
        x, _ = self._prepare_inputs(x, y, true_labels_allowed=False)
        return super().train_on_batch(x, y, sample_weight=sample_weight,
                                      return_dict=return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """`keras.Model.test_on_batch` on crowd labels or 1-D true labels,
        checked as in `evaluate`."""
        x, _ = self._prepare_inputs(x, y, true_labels_allowed=True)
        if y is not None and self._test_traced_for_crowd_labels not in (
            None, _holds_crowd_labels(y)
        ):
            # Traced for the other label layout: see `fit`.
            self.test_function = None
        return super().test_on_batch(x, y, sample_weight=sample_weight,
                                     return_dict=return_dict)

    # ----------------------------------------------------------- inspection
    @property
    def confusion_matrices(self):
        """The learned `(M, K, K)` confusion matrices as a numpy array.

        `confusion_matrices[m, k, j]` estimates the probability that
        annotator `m` reports class `k` for an item of true class `j`;
        every column sums to 1.
        """
        if not self.crowd_layer.built:
            raise ValueError("The model is not built yet: call it or fit it first.")
        return keras.ops.convert_to_numpy(self.crowd_layer.confusion_matrices)

    @property
    def common_confusion_matrix(self):
        """The learned `(K, K)` common confusion matrix as a numpy array
        (`None` without `common_confusion`)."""
        if self.common_confusion is None:
            return None
        if not self.common_confusion.built:
            raise ValueError("The model is not built yet: call it or fit it first.")
        return keras.ops.convert_to_numpy(self.common_confusion.common_confusion_matrix)

    def export_classifier(self, path, input_signature=None, overwrite=False):
        """Write the classifier `f` alone as a TF Serving SavedModel.

        Args:
            path: `<base>/<version>` directory; the version must be a
                positive integer, as TF Serving expects.
            input_signature: Optional `tf.TensorSpec` of the input. By
                default the backbone's own input name, dtype and shape.
            overwrite: Replace an existing export at `path`.

        Returns:
            The path written.
        """
        spec = input_signature or self._input_spec_for_export
        if spec is None:
            raise ValueError(
                "Cannot infer the classifier's input signature: build the "
                "model first (fit or call it), or pass `input_signature`."
            )
        return export_classifier(
            self.backbone,
            path,
            input_signature=spec,
            from_logits=self.from_logits,
            overwrite=overwrite,
        )

    # -------------------------------------------------------- serialization
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "backbone": keras.saving.serialize_keras_object(self.backbone),
                "num_annotators": self.num_annotators,
                "regularizer": (
                    None
                    if self.regularizer is None
                    else [keras.saving.serialize_keras_object(r) for r in self.regularizer]
                    if isinstance(self.regularizer, list)
                    else keras.saving.serialize_keras_object(self.regularizer)
                ),
                "confusion_initializer": keras.saving.serialize_keras_object(
                    self.crowd_layer.confusion_initializer
                ),
                "from_logits": self.from_logits,
                "check_probabilities": self.check_probabilities,
                "regularization_warmup_steps": self.regularization_warmup_steps,
                "common_confusion": (
                    False if self.common_confusion is None
                    else keras.saving.serialize_keras_object(self.common_confusion)
                ),
            }
        )
        spec = self._input_spec_for_export
        if spec is not None:
            # `build` sees only shapes: the dtype `fit` saw (e.g. int32 token
            # ids of a subclassed backbone) would be lost on reload.
            config["export_input_spec"] = input_spec_config(spec)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(
            config["backbone"], custom_objects=custom_objects
        )
        if config.get("regularizer") is not None:
            config["regularizer"] = crowd_regularizers.get(config["regularizer"])
        if isinstance(config.get("common_confusion"), dict):
            config["common_confusion"] = keras.saving.deserialize_keras_object(
                config["common_confusion"], custom_objects=custom_objects
            )
        spec = config.pop("export_input_spec", None)
        model = cls(**config)
        if spec is not None:
            # The saved spec wins over the one read from the rebuilt backbone:
            # e.g. a Sequential built by `fit` was exported as "inputs" but
            # reloads with an automatic `InputLayer` name.
            model._input_spec_for_export = input_spec_from_config(spec)
        return model


def _validate_arrays(x, y, num_annotators, num_classes, true_labels_allowed):
    """Check array-like features `x` and labels `y` against the model's M
    and K (`CrowdModel._validate_inputs`); anything else is left to Keras."""
    _refuse_label_tuple(y)
    if not _is_array_like(y):
        return
    # Several inputs (a list of arrays) get their rows counted by Keras.
    x = _as_checkable(x) if _is_array_like(x) else None
    y = _as_checkable(y)
    if _holds_crowd_labels(y):
        num_items = label_validation.validate_crowd_labels(y, num_annotators, num_classes)
    elif true_labels_allowed:
        num_items = label_validation.validate_true_labels(y, num_classes)
    else:
        raise ValueError(_TRUE_LABELS_IN_FIT_MESSAGE)
    if x is not None:
        label_validation.validate_features(x, num_items)


def _validate_batch(batch, num_annotators, num_classes, true_labels_allowed):
    """`_validate_arrays` on one `(x, y)` or `(x, y, sample_weight)` batch
    of a `PyDataset` or a generator."""
    x, y, _ = keras.utils.unpack_x_y_sample_weight(batch)
    if y is not None:
        _validate_arrays(x, y, num_annotators, num_classes, true_labels_allowed)


def _peek(batches):
    """`(batches, first)`: a generator that still yields every batch of the
    generator `batches`, and its first batch (`None` if there is none)."""
    first = next(batches, None)
    if first is None:
        return batches, None
    return (batch for batch in itertools.chain([first], batches)), first


def _batch_features(batch, rows):
    """The first `rows` rows of the features of a `PyDataset` or generator
    batch, or `None`."""
    if batch is None:
        return None
    features = keras.utils.unpack_x_y_sample_weight(batch)[0]
    return _first_rows(features, rows) if _is_array_like(features) else None


def _label_checked_batches(batches, check):
    """The generator `batches`, each batch passed to `check` first."""
    for batch in batches:
        check(batch)
        yield batch


class _LabelCheckedPyDataset(keras.utils.PyDataset):
    """A `keras.utils.PyDataset` whose batches are passed to `check` as they
    are read (in its workers), with the wrapped dataset's workers, queue
    size and epoch hooks."""

    def __init__(self, py_dataset, check):
        super().__init__(
            workers=py_dataset.workers,
            use_multiprocessing=py_dataset.use_multiprocessing,
            max_queue_size=py_dataset.max_queue_size,
        )
        self.py_dataset = py_dataset
        self.check = check

    @property
    def num_batches(self):
        return self.py_dataset.num_batches

    def __getitem__(self, index):
        batch = self.py_dataset[index]
        self.check(batch)
        return batch

    def on_epoch_begin(self):
        self.py_dataset.on_epoch_begin()

    def on_epoch_end(self):
        self.py_dataset.on_epoch_end()


def _common_confusion_layer(common_confusion, num_annotators):
    """The `CommonConfusion` layer for `CrowdModel(common_confusion=...)`, or `None`."""
    if common_confusion is None or common_confusion is False:
        return None
    if common_confusion is True:
        return CommonConfusion(num_annotators, name="common_confusion")
    if not isinstance(common_confusion, CommonConfusion):
        raise ValueError(
            "`common_confusion` must be True, False or a keras_crowd.layers.CommonConfusion; "
            f"got {common_confusion!r}."
        )
    if common_confusion.num_annotators != num_annotators:
        raise ValueError(
            f"The CommonConfusion layer has {common_confusion.num_annotators} annotators; "
            f"the model has {num_annotators}."
        )
    return common_confusion


def _accuracy_counts(true_labels, probabilities, sample_weight):
    """`(correct, count)` of a batch, summed over all replicas.

    Both are identical on every replica, so the accuracy a strategy logs is
    the pooled one (correct over count of the whole global batch), as on
    one device, however unevenly the batch is split.
    """
    matches = ops.cast(
        keras.metrics.sparse_categorical_accuracy(true_labels, probabilities), "float32"
    )
    matches = ops.reshape(matches, (-1,))
    weights = (
        ops.ones_like(matches) if sample_weight is None
        else ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
    )
    return (distribution.global_sum(ops.sum(matches * weights)),
            distribution.global_sum(ops.sum(weights)))


def _integer_values_check(values, requirement):
    """An assertion that the float tensor `values` holds only whole numbers,
    failing with `requirement` (e.g. "Crowd labels must be integers")."""
    whole = tf.logical_and(
        tf.math.is_finite(values), tf.equal(values, tf.math.round(values))
    )
    first_bad = tf.boolean_mask(tf.reshape(values, [-1]), ~tf.reshape(whole, [-1]))[:1]
    return tf.debugging.Assert(
        tf.reduce_all(whole),
        [f"{requirement} and finite; found the value",
         first_bad],
    )


def _holds_crowd_labels(labels):
    """Crowd labels (a dict, or 2-D) rather than 1-D true class indices."""
    if isinstance(labels, dict):
        return True
    return (len(labels.shape) if hasattr(labels, "shape") else np.ndim(labels)) != 1


def _refuse_sample_weight(labels, sample_weight):
    """Refuse sample weights given with crowd labels (`labels`): they would
    be ignored by the crowd loss. With 1-D true labels they weight the
    accuracy."""
    if sample_weight is not None and _holds_crowd_labels(labels):
        raise ValueError(_SAMPLE_WEIGHT_MESSAGE)


def _first_rows(value, rows):
    """The first `rows` rows of an array-like (or a dict of them), as numpy
    arrays or tensors that the model can be called on."""
    if isinstance(value, dict):
        return {key: _first_rows(leaf, rows) for key, leaf in value.items()}
    if isinstance(value, tf.Tensor):
        return value[:rows]
    return np.asarray(value)[:rows]


def _row_sum_tolerance(dtype):
    """How far from 1 the rows of probabilities of `dtype` may sum.

    `_PROBABILITY_TOLERANCE`, or more for a dtype as coarse as bfloat16
    (mixed precision), whose genuine softmax rows sum to 1 only within a few
    of its epsilons.

    Example:

    >>> _row_sum_tolerance("bfloat16")
    0.0625
    """
    dtype = keras.backend.standardize_dtype(dtype)
    if "float" not in dtype:
        return _PROBABILITY_TOLERANCE
    epsilon = float(ml_dtypes.finfo(dtype).eps)
    return max(_PROBABILITY_TOLERANCE, _PROBABILITY_TOLERANCE_EPSILONS * epsilon)


def probability_row_error(outputs, dtype=None):
    """`None` if the `(B, K)` `outputs` are class probabilities, else how
    far their rows are from it.

    Probabilities are non-negative and their rows sum to 1 within
    `_row_sum_tolerance(dtype)` (`dtype`: the one the classifier computed
    them in, by default that of `outputs`).

    Returns:
        `None`, or the largest distance of a row sum from 1 (a float).

    Example:

    >>> probability_row_error(np.array([[0.2, 0.8]], "float32")) is None
    True
    >>> probability_row_error(np.array([[2.0, -1.5]], "float32"))
    0.5
    """
    tolerance = _row_sum_tolerance(outputs.dtype if dtype is None else dtype)
    outputs = keras.ops.convert_to_numpy(ops.cast(outputs, "float32"))
    row_error = float(np.max(np.abs(outputs.sum(axis=-1) - 1.0), initial=0.0))
    if row_error <= tolerance and float(np.min(outputs, initial=0.0)) >= 0:
        return None
    return row_error


def _has_symbolic_io(model):
    try:
        return bool(model.inputs) and bool(model.outputs) and len(model.inputs) == 1
    except (AttributeError, ValueError):
        return False


def _input_spec(sample):
    """The serving `tf.TensorSpec` of features like the batch `sample`.

    Its shape with a variable batch dimension, and its dtype, floats as
    `keras.config.floatx()` (as `fit` feeds them to the model).

    Args:
        sample: A few rows of the features (`CrowdModel._feature_sample`).

    Returns:
        A `tf.TensorSpec` named `"inputs"`, or `None` if `sample` is not one
        dense array or tensor (several inputs, a ragged tensor, ...).

    Example:

    >>> _input_spec(np.zeros((4, 7), "int32"))
    TensorSpec(shape=(None, 7), dtype=tf.int32, name='inputs')
    """
    if not isinstance(sample, (np.ndarray, tf.Tensor)):
        return None
    return tf.TensorSpec(
        (None,) + tuple(sample.shape[1:]), _serving_dtype(sample.dtype), name="inputs"
    )


def _serving_dtype(dtype):
    """The `tf.DType` features of `dtype` are served as: floats as
    `keras.config.floatx()` (as the model is fed them), others unchanged."""
    dtype = tf.as_dtype(keras.backend.standardize_dtype(dtype))
    return tf.as_dtype(keras.config.floatx()) if dtype.is_floating else dtype
