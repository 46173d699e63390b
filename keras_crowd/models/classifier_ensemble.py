"""`ClassifierEnsemble`: several trained classifiers that predict as one."""

import keras
from keras import ops

from keras_crowd.export.classifier_export import export_classifier
from keras_crowd.export.classifier_export import input_spec_config
from keras_crowd.export.classifier_export import input_spec_from_config
from keras_crowd.export.classifier_export import serving_input_signature
from keras_crowd.models.crowd_model import CrowdModel


@keras.saving.register_keras_serializable(package="keras_crowd")
class ClassifierEnsemble(keras.Model):
    """The mean of the class probabilities of several classifiers.

    Classifiers trained from the same crowd labels with different initial
    weights and different held-out slices (`train_crowd_classifier(...,
    ensemble_size=E)`) make different mistakes; averaging their
    probabilities cancels part of them. On the bundled crowds an ensemble
    of 5 was 0.5-3 points more accurate than its first member
    (benchmarks/RESULTS.md).

    The ensemble is itself a Keras classifier: `predict` returns `(B, K)`
    probabilities, `export_classifier` writes one SavedModel that TF Serving
    loads as it is, and `.keras` files round-trip.

    Args:
        members: A non-empty list of Keras models with the same input and
            `(B, K)` probability outputs, or `CrowdModel`s (whose classifier
            `f` alone is exported).
        input_signature: Optional `tf.TensorSpec` the ensemble is served
            with (kept by `.keras` files); by default the first member's.
            `train_crowd_classifier` passes the one its first `CrowdModel`
            recorded from the data (e.g. int32 token ids, which a backbone
            without `keras.Input` does not declare).
        **kwargs: Base `keras.Model` arguments, such as `name`.

    Example:

    >>> ensemble = ClassifierEnsemble([f1, f2, f3])
    >>> ensemble.predict(x_test)            # mean of the three members' outputs
    >>> ensemble.export_classifier("saved_models/labelme/1")
    """

    def __init__(self, members, input_signature=None, **kwargs):
        super().__init__(**kwargs)
        self.input_signature = input_signature
        members = list(members)
        if not members:
            raise ValueError("ClassifierEnsemble needs at least one member classifier.")
        for member in members:
            if not isinstance(member, keras.Model):
                raise ValueError(
                    "Every ensemble member must be a keras.Model; got "
                    f"{type(member).__name__}."
                )
        self.members = members
        if all(member.built for member in members):
            self.built = True

    @property
    def ensemble_size(self):
        """The number of member classifiers."""
        return len(self.members)

    def build(self, input_shape):
        # A symbolic call builds any kind of member, also a subclassed one
        # (whose `build` would only mark it built).
        # One shape, or a dict / list of them for several named inputs.
        symbolic_input = keras.tree.map_shape_structure(
            lambda shape: keras.KerasTensor((None,) + tuple(shape[1:])), input_shape)
        for member in self.members:
            if not member.built:
                member(symbolic_input)
        self.built = True

    def call(self, inputs, training=None):
        outputs = [ops.cast(member(inputs, training=training), "float32")
                   for member in self.members]
        if len({tuple(output.shape[1:]) for output in outputs}) != 1:
            raise ValueError(
                "Ensemble members must all output (batch, K) probabilities with the "
                f"same K; got shapes {[tuple(output.shape) for output in outputs]}."
            )
        return ops.mean(ops.stack(outputs, axis=0), axis=0)

    def export_classifier(self, path, input_signature=None, overwrite=False):
        """Write the ensemble as one TF Serving SavedModel (see `CrowdModel`).

        Only the members' classifiers are written: a `CrowdModel` member
        contributes its backbone `f` (with a softmax if it outputs logits),
        not its confusion matrices.

        Args:
            path: `<base>/<version>` directory.
            input_signature: Optional `tf.TensorSpec` of the input; by default
                the ensemble's own, else the first member's (name, dtype,
                shape).
            overwrite: Replace an existing export at `path`.

        Returns:
            The path written.

        Raises:
            ValueError: No `input_signature` was given and the first member's
                cannot be inferred.
        """
        spec = (input_signature or self.input_signature
                or serving_input_signature(self.members[0]))
        if spec is None:
            raise ValueError(
                "Cannot infer the ensemble's input signature from its first member; "
                "pass `input_signature`."
            )
        return export_classifier(
            _served_classifier(self), path, input_signature=spec, overwrite=overwrite
        )

    def get_config(self):
        config = super().get_config()
        config["members"] = [keras.saving.serialize_keras_object(m) for m in self.members]
        if self.input_signature is not None:
            config["input_signature"] = input_spec_config(self.input_signature)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["members"] = [
            keras.saving.deserialize_keras_object(member, custom_objects=custom_objects)
            for member in config["members"]
        ]
        if config.get("input_signature") is not None:
            config["input_signature"] = input_spec_from_config(config["input_signature"])
        return cls(**config)


def _served_classifier(model):
    """The classifier that serves `model`'s probabilities in an export.

    A `CrowdModel` is served by its backbone `f` alone (followed by a
    softmax if it outputs logits), an ensemble by its members' served
    classifiers, any other model by itself.
    """
    if isinstance(model, ClassifierEnsemble):
        return ClassifierEnsemble([_served_classifier(member) for member in model.members])
    if isinstance(model, CrowdModel):
        return _WithSoftmax(model.backbone) if model.from_logits else model.backbone
    return model


class _WithSoftmax(keras.Model):
    """A classifier that outputs logits, followed by a softmax (for export).

    It has no state of its own: it is built, and its classifier builds on
    its first call.
    """

    def __init__(self, classifier, **kwargs):
        super().__init__(**kwargs)
        self.classifier = classifier
        self.built = True

    def call(self, inputs, training=None):
        logits = ops.cast(self.classifier(inputs, training=training), "float32")
        return ops.softmax(logits, axis=-1)
