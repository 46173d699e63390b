"""Small MLP classifiers on fixed features, as in the GeoCrowdNet code."""

import keras

from keras_crowd.utils import distribution


def mlp_classifier(
    input_dim,
    num_classes,
    hidden_units=128,
    dropout=0.5,
    batch_norm=False,
    input_name="features",
    seed=None,
):
    """A one-hidden-layer MLP that outputs class probabilities.

    Args:
        input_dim: Number of input features.
        num_classes: K.
        hidden_units: Width of the hidden ReLU layer.
        dropout: Dropout rate after the hidden layer (0 to disable).
        batch_norm: Batch-normalise the inputs and the hidden activations,
            as the authors' Music classifier does. Built under a strategy
            with several replicas, the layers normalise by the statistics of
            the global batch (`synchronized=True`), as one device does.
        input_name: Name of the input, kept by the exported SavedModel.
        seed: Seed of the weight initializers and dropout.

    Returns:
        An uncompiled `keras.Sequential` mapping `(B, input_dim)` to
        `(B, num_classes)` probabilities.

    Example:

    >>> f = mlp_classifier(512, 8)          # LabelMe's FC128-ReLU-Dropout-FC8
    >>> model = CrowdModel(f, num_annotators=59)
    """
    layers = [keras.Input((int(input_dim),), name=input_name)]
    # Per-replica statistics would train other weights than one device, and
    # leave each replica its own moving averages.
    synchronized = distribution.num_replicas() > 1
    if batch_norm:
        layers.append(keras.layers.BatchNormalization(synchronized=synchronized))
    layers.append(
        keras.layers.Dense(
            hidden_units, activation="relu",
            kernel_initializer=keras.initializers.GlorotUniform(seed),
        )
    )
    if dropout:
        layers.append(keras.layers.Dropout(dropout, seed=seed))
    if batch_norm:
        layers.append(keras.layers.BatchNormalization(synchronized=synchronized))
    layers.append(
        keras.layers.Dense(
            num_classes, activation="softmax",
            kernel_initializer=keras.initializers.GlorotUniform(
                None if seed is None else seed + 1
            ),
        )
    )
    return keras.Sequential(layers, name="classifier")


def labelme_classifier(input_dim=512, num_classes=8, seed=None):
    """LabelMe's classifier: FC128 -> ReLU -> Dropout 0.5 -> FC8 (softmax)."""
    return mlp_classifier(input_dim, num_classes, seed=seed)


def music_classifier(input_dim=124, num_classes=10, seed=None):
    """Music's classifier: BN -> FC128 -> ReLU -> Dropout 0.5 -> BN -> FC10."""
    return mlp_classifier(input_dim, num_classes, batch_norm=True, seed=seed)
