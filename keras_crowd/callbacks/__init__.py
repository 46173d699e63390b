"""Keras callbacks for crowd models.

- `ConfusionMatrixImages`: logs the learned confusion matrices as TensorBoard
  images while a `CrowdModel` trains.
- `AtomicBackupAndRestore`: Keras's `BackupAndRestore` with backups that
  a kill while they are written cannot corrupt.
- `RunSummary`: one line per `fit` (model, epochs, best held-out score, time)
  instead of one per epoch.
"""

from keras_crowd.callbacks.atomic_backup import AtomicBackupAndRestore
from keras_crowd.callbacks.confusion_images import ConfusionMatrixImages
from keras_crowd.callbacks.confusion_images import confusion_matrix_images
from keras_crowd.callbacks.run_summary import RunSummary
