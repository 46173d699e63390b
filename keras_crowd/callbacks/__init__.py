"""Keras callbacks for crowd models.

- `ConfusionMatrixImages`: logs the learned confusion matrices as TensorBoard
  images while a `CrowdModel` trains.
"""

from keras_crowd.callbacks.confusion_images import ConfusionMatrixImages
from keras_crowd.callbacks.confusion_images import confusion_matrix_images
