"""Lazy Adam: Adam whose sparse-gradient updates touch only the gathered rows.

`CrowdModel` trained on padded (annotator, label) pairs gathers the
confusion logits of the annotators in the batch, so the gradient of the
`(M, K, K)` logits is a `tf.IndexedSlices` holding at most `B * R` rows.
Keras' `Adam` densifies such a gradient and updates the whole tensor and
both of its slots every step: `O(M * K^2)` work per step, which dominates
the step time for crowds of 10^5 annotators. `LazyAdam` instead updates the
first and second moments and the variable only on the rows present in the
gradient (the "lazy Adam" of TF Addons), which costs `O(B * R * K^2)`.

Rows that receive no gradient keep their moments and values unchanged:
their moments are not decayed. A row present in the gradient with all-zero
values counts as receiving none: that is what an annotator with no observed
label in the batch gets (a padding slot, id -1, gathers row 0; an annotator
listed with label -1 gathers its own row). This differs from dense Adam,
which keeps moving a row with stale momentum after its gradient stops. With
dense gradients `LazyAdam` is exactly `keras.optimizers.Adam`.
"""

import keras
import tensorflow as tf

from keras_crowd.utils.sparse_gradients import deduplicate
from keras_crowd.utils.sparse_gradients import deduplicate_all


@keras.saving.register_keras_serializable(package="keras_crowd")
class LazyAdam(keras.optimizers.Adam):
    """Adam with lazy (row-wise) updates for `tf.IndexedSlices` gradients.

    For a sparse gradient with (deduplicated) rows `i` and values `g_i`,
    not all zero, at step `t` (`iterations + 1`):

        m[i] <- m[i] + (g_i - m[i]) * (1 - beta_1)
        v[i] <- v[i] + (g_i^2 - v[i]) * (1 - beta_2)
        w[i] <- w[i] - alpha_t * m[i] / (sqrt(v[i]) + epsilon)
        alpha_t = learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t)

    and every other row of `m`, `v` and `w` is left untouched, rows whose
    values are all zero included (an annotator with no observed label in
    the batch). Gradients that hit the same row several times are summed
    first, as in the dense gradient. With `amsgrad=True` the running
    maximum of `v` is kept on the same rows. `clipnorm` and `clipvalue`
    clip these summed rows. With `weight_decay`, the
    decoupled decay
    `w <- w - w * weight_decay * learning_rate` is applied, as in `Adam`,
    to the whole variable for a dense gradient and only to the gradient's
    rows for a sparse one.

    Dense gradients follow `keras.optimizers.Adam.update_step` exactly.
    Needs the TensorFlow backend (`tf.IndexedSlices` is TensorFlow's). Use
    `clipnorm` or `clipvalue` if you need clipping: `global_clipnorm`
    densifies sparse gradients, so every row would then move.

    Args:
        learning_rate: A float, a schedule, or a callable. Defaults to 0.001.
        beta_1: Exponential decay rate of the first moment. Defaults to 0.9.
        beta_2: Exponential decay rate of the second moment. Defaults to
            0.999.
        epsilon: Small constant for numerical stability. Defaults to 1e-7.
        amsgrad: Whether to use the AMSGrad variant. Defaults to False.
        **kwargs: Other `keras.optimizers.Optimizer` arguments, such as
            `weight_decay`, `clipnorm`, `name`.

    Example:

    >>> from keras_crowd.optimizers import LazyAdam
    >>> model = CrowdModel(backbone, num_annotators=100_000)
    >>> model.compile(optimizer=LazyAdam(1e-3))
    >>> model.fit(x, {"annotator_ids": ids, "labels": labels}, batch_size=256)
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        name="lazy_adam",
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            name=name,
            **kwargs,
        )
        if keras.backend.backend() != "tensorflow":
            raise ValueError(
                "LazyAdam needs the TensorFlow backend (it updates the rows "
                "of tf.IndexedSlices gradients); the current Keras backend "
                f"is {keras.backend.backend()!r}. Use keras.optimizers.Adam."
            )

    def _clip_gradients(self, grads):
        # Clip each row's summed gradient, as the dense gradient is clipped
        # (Keras clips the entries of a sparse gradient, repeated rows apart).
        return super()._clip_gradients(deduplicate_all(grads))

    def _apply_weight_decay(self, variables):
        # Decay is applied per variable inside `update_step`, where the
        # gradient tells whether to decay the whole variable (dense, as
        # Adam does here) or only the rows that were updated (sparse).
        return

    def _decay(self, variable, learning_rate, indices=None, present=None):
        if self.weight_decay is None or not self._use_weight_decay(variable):
            return
        lr = tf.cast(learning_rate, variable.dtype)
        wd = tf.cast(self.weight_decay, variable.dtype)
        if indices is None:
            self.assign_sub(variable, variable * wd * lr)
        else:
            rows = tf.gather(_tf_variable(variable), indices)
            self.assign_sub(variable, _rows(rows * wd * lr * present, indices, variable))

    def update_step(self, gradient, variable, learning_rate):
        """Update `variable` from `gradient` (dense: Adam; sparse: lazy)."""
        if not isinstance(gradient, tf.IndexedSlices):
            self._decay(variable, learning_rate)
            super().update_step(gradient, variable, learning_rate)
            return
        dtype = variable.dtype
        gradient = deduplicate(gradient)
        indices, values = gradient.indices, gradient.values
        values = tf.cast(values, dtype)
        # 1 for the rows that really have a gradient, 0 for all-zero rows,
        # which are then written back unchanged (a mask, not a filter, so
        # that shapes stay static under XLA).
        present = _nonzero_rows(values)
        self._decay(variable, learning_rate, indices, present)

        lr = tf.cast(learning_rate, dtype)
        local_step = tf.cast(self.iterations + 1, dtype)
        beta_1_power = tf.pow(tf.cast(self.beta_1, dtype), local_step)
        beta_2_power = tf.pow(tf.cast(self.beta_2, dtype), local_step)
        alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)

        index = self._get_variable_index(variable)
        m = self._momentums[index]
        v = self._velocities[index]
        m_rows = tf.gather(_tf_variable(m), indices)
        m_rows = m_rows + (values - m_rows) * (1 - self.beta_1) * present
        self.assign(m, _rows(m_rows, indices, m))
        v_rows = tf.gather(_tf_variable(v), indices)
        v_rows = v_rows + (tf.square(values) - v_rows) * (1 - self.beta_2) * present
        self.assign(v, _rows(v_rows, indices, v))
        if self.amsgrad:
            v_hat = self._velocity_hats[index]
            v_rows = tf.maximum(tf.gather(_tf_variable(v_hat), indices), v_rows)
            self.assign(v_hat, _rows(v_rows, indices, v_hat))
        step = (m_rows * alpha) / (tf.sqrt(v_rows) + self.epsilon) * present
        self.assign_sub(variable, _rows(step, indices, variable))
        _disable_copy_on_read(variable)


def _disable_copy_on_read(variable):
    """Let the next dense read of `variable` share its buffer again.

    A sparse op (the scatters above) switches a resource variable to
    copy-on-read: every later dense read (the model's forward pass reading
    the confusion logits) would copy all M * K * K values, an O(M) cost per
    step. Turning the mode off is safe: a later sparse op still copies the
    buffer first if a dense reader holds a reference to it
    (TensorFlow's checkpoint saving uses the same op).
    """
    if hasattr(tf.raw_ops, "DisableCopyOnRead") and not _in_xla_context():
        tf.raw_ops.DisableCopyOnRead(resource=_tf_variable(variable).handle)


def _in_xla_context():
    """Whether the op being built will be compiled by XLA (`jit_compile`).

    XLA has no kernel for `DisableCopyOnRead`, and manages buffers itself.
    """
    from tensorflow.python.ops import control_flow_util  # private, no public API

    graph = tf.compat.v1.get_default_graph()
    return bool(control_flow_util.GraphOrParentsInXlaContext(graph))


def _tf_variable(variable):
    return variable.value if isinstance(variable, keras.Variable) else variable


def _rows(values, indices, like):
    # The static shape, not `tf.shape(variable)`: reading the whole variable
    # would keep a reference to its buffer alive and make the scatter that
    # follows copy all M * K * K values (copy-on-write), an O(M) cost.
    dense_shape = tf.constant(tuple(like.shape), dtype=indices.dtype)
    return tf.IndexedSlices(values, indices, dense_shape)


def _nonzero_rows(values):
    """`(n, 1, ...)` mask: 1 where a row of `values` has a non-zero entry."""
    rank = values.shape.rank
    present = tf.reduce_any(tf.not_equal(values, 0), axis=list(range(1, rank)))
    return tf.reshape(tf.cast(present, values.dtype), [-1] + [1] * (rank - 1))
