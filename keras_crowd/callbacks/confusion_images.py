"""Log a CrowdModel's confusion matrices as TensorBoard images during training.

The images are written with `tf.summary.write` in exactly the record format
of TensorBoard's `tf.summary.image` (the ``images`` plugin: a string tensor
``[width, height, png_1, ..., png_n]``). `tf.summary.image` itself lives in
the `tensorboard` package, which is only needed to *view* the logs
(``pip install tensorboard && tensorboard --logdir LOG_DIR``), not to write
them.
"""

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from keras_crowd.utils.arguments import confusion_matrix_stack
from keras_crowd.utils.arguments import positive_integer

# The TensorBoard images plugin's name; its (version 0) plugin data is empty.
IMAGES_PLUGIN_NAME = "images"
# Colour of probability 1 (dark blue); probability 0 is white.
_FULL_COLOR = np.array([8.0, 48.0, 107.0])


def confusion_matrix_images(confusion_matrices, cell_pixels=12):
    """Renders confusion matrices as RGB images, one square cell per entry.

    Args:
        confusion_matrices: `(M, K, K)` matrices with entries in [0, 1].
        cell_pixels: Side of one cell, in pixels.

    Returns:
        `(M, K * cell_pixels, K * cell_pixels, 3)` uint8 images, white for 0
        and dark blue for 1 (rows: reported label, columns: true class).

    Example:

    >>> images = confusion_matrix_images(model.confusion_matrices, cell_pixels=8)
    """
    matrices = np.clip(confusion_matrix_stack(confusion_matrices, allow_single=False), 0.0, 1.0)
    if int(cell_pixels) < 1:
        raise ValueError(f"cell_pixels must be >= 1; got {cell_pixels}.")
    cells = np.repeat(np.repeat(matrices, cell_pixels, axis=1), cell_pixels, axis=2)
    colors = 255.0 - cells[..., None] * (255.0 - _FULL_COLOR)
    return np.round(colors).astype(np.uint8)


def _image_summary_metadata(description):
    return summary_pb2.SummaryMetadata(
        summary_description=description,
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=IMAGES_PLUGIN_NAME),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
    )


def write_image_summary(tag, images, step, description=""):
    """Writes uint8 images `(n, H, W, C)` as one TensorBoard image summary.

    Uses the default summary writer (`with writer.as_default(): ...`).
    """
    encoded = [tf.io.encode_png(image) for image in images]
    height, width = images.shape[1], images.shape[2]
    tensor = tf.stack([tf.constant(str(width)), tf.constant(str(height))] + encoded)
    return tf.summary.write(
        tag, tensor, step=step, metadata=_image_summary_metadata(description)
    )


@keras.saving.register_keras_serializable(package="keras_crowd")
class ConfusionMatrixImages(keras.callbacks.Callback):
    """Logs the annotators' confusion matrices as images for TensorBoard.

    Every `every_n_epochs` epochs the callback writes one image summary,
    tagged ``confusion_matrices``, holding the current matrices of the first
    `max_annotators` annotators (TensorBoard's image tab shows one picture
    per annotator, with a slider over the epochs). Each matrix is a heatmap,
    white for 0 and dark blue for 1; rows are reported labels, columns true
    classes, so a reliable annotator shows a dark diagonal.

    The model must expose `confusion_matrices` (a `CrowdModel`).

    Args:
        log_dir: Folder of the event files (TensorBoard's ``--logdir``).
        every_n_epochs: Log after every n-th epoch, and after the last
            epoch of `fit` (the step is the number of epochs done), also
            when a callback placed before this one stops training early
            (`EarlyStopping`, or `HeldOutCrowdLikelihood`'s patience).
        max_annotators: Log at most this many annotators.
        cell_pixels: Side of one matrix cell in the images, in pixels.

    Example:

    >>> model = CrowdModel(backbone, num_annotators=59)
    >>> model.compile(optimizer="adam")
    >>> model.fit(x, crowd_labels, epochs=20,
    ...           callbacks=[ConfusionMatrixImages("logs/labelme", every_n_epochs=5)])
    >>> # then: pip install tensorboard && tensorboard --logdir logs
    """

    TAG = "confusion_matrices"

    def __init__(self, log_dir, every_n_epochs=1, max_annotators=16, cell_pixels=12):
        super().__init__()
        self.log_dir = str(log_dir)
        self.every_n_epochs = positive_integer("every_n_epochs", every_n_epochs)
        self.max_annotators = positive_integer("max_annotators", max_annotators)
        self.cell_pixels = positive_integer("cell_pixels", cell_pixels)
        self._writer = None

    def on_train_begin(self, logs=None):
        if not hasattr(self.model, "confusion_matrices"):
            raise ValueError(
                "ConfusionMatrixImages needs a model with confusion matrices (a "
                f"keras_crowd.CrowdModel); got {type(self.model).__name__}."
            )
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)

    def _log(self, epoch):
        matrices = self.model.confusion_matrices[: self.max_annotators]
        images = confusion_matrix_images(matrices, self.cell_pixels)
        with self._writer.as_default():
            write_image_summary(
                self.TAG, images, step=epoch,
                description="Pr(reported label | true class) per annotator; rows: reported "
                            "label, columns: true class.",
            )
        self._writer.flush()

    def on_epoch_end(self, epoch, logs=None):
        epochs_done = epoch + 1
        is_last = (epochs_done == (self.params or {}).get("epochs")
                   or bool(getattr(self.model, "stop_training", False)))
        if epochs_done % self.every_n_epochs == 0 or is_last:
            self._log(epochs_done)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()

    def get_config(self):
        return {
            "log_dir": self.log_dir,
            "every_n_epochs": self.every_n_epochs,
            "max_annotators": self.max_annotators,
            "cell_pixels": self.cell_pixels,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
