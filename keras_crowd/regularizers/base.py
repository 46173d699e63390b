"""Base class of the regularizers a `CrowdModel` adds to its loss."""

import keras
import numpy as np


def checked_strength(strength, name="Regularizer strength"):
    """`strength` as a float, refusing anything but a finite number >= 0.

    Args:
        strength: The weight lambda.
        name: What the error message calls it.

    Returns:
        `float(strength)`.

    Raises:
        ValueError: for NaN, inf, a negative value, a bool (`True` is not
            lambda 1) or a non-number.
    """
    if isinstance(strength, bool) or not isinstance(strength, (int, float, np.number)) \
            or not 0 <= strength < np.inf:
        raise ValueError(f"{name} must be a finite number >= 0; got {strength!r}.")
    return float(strength)


class CrowdRegularizer:
    """A penalty on the classifier's batch predictions or on the confusions.

    Subclasses implement `call(probabilities, confusion_matrices)` and
    return a scalar float32 penalty, already multiplied by `strength`.
    A regularizer that reads `probabilities` must set
    `uses_batch_predictions = True`: under `tf.distribute`, `CrowdModel`
    then hands it the predictions of the *global* batch, so that N replicas
    train exactly like one device. One that never reads
    `confusion_matrices` may set `uses_confusion_matrices = False`: it is
    then called with `None` for them, and a model whose regularizers all do
    so skips computing the matrices in its train step. One whose ops XLA
    cannot compile on CPU sets `compiles_with_xla_on_cpu = False`, so that
    `CrowdModel.compile(jit_compile=True)` on a machine without GPUs fails
    with a clear message instead of at the first step.

    Args:
        strength: The weight lambda, a non-negative float.
    """

    uses_batch_predictions = False
    uses_confusion_matrices = True
    compiles_with_xla_on_cpu = True

    def __init__(self, strength):
        self.strength = checked_strength(strength)

    def __call__(self, probabilities, confusion_matrices):
        return self.call(probabilities, confusion_matrices)

    def call(self, probabilities, confusion_matrices):
        raise NotImplementedError

    def get_config(self):
        return {"strength": self.strength}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


def get(identifier):
    """Resolve regularizers from `None`, an instance, a config, or a list.

    Args:
        identifier: `None`, a `CrowdRegularizer`, its serialized config, or
            a list of those.

    Returns:
        A `CrowdRegularizer`, a list of them, or `None`.

    Raises:
        ValueError: for anything else, including a config of another kind
            of object (a Keras weight regularizer) or a bare `get_config()`
            dict without its class name.
    """
    if isinstance(identifier, (list, tuple)):
        return [get(item) for item in identifier]
    if identifier is None or isinstance(identifier, CrowdRegularizer):
        return identifier
    if isinstance(identifier, dict):
        regularizer = keras.saving.deserialize_keras_object(identifier)
        if isinstance(regularizer, CrowdRegularizer):
            return regularizer
    raise ValueError(
        f"Cannot interpret {identifier!r} as a crowd regularizer: pass an "
        "instance such as keras_crowd.regularizers.GeoCrowdNetF(1e-3)."
    )
