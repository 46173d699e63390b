"""A subclassed classifier shared by tests: it has no weights and no
symbolic input until its first call."""

import keras


class UnbuiltClassifier(keras.Model):
    """`Dense(num_classes, softmax)`, built by its first call.

    Args:
        num_classes: K.
        seed: Seed of the kernel's initializer (`None`: Keras's global one).
    """

    def __init__(self, num_classes=3, seed=None):
        super().__init__()
        self.dense = keras.layers.Dense(
            num_classes, activation="softmax",
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed))

    def call(self, x):
        return self.dense(x)
