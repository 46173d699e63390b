"""`BackupAndRestore` whose backup survives a kill while it is written."""

import json
import os
import shutil

import keras

from keras_crowd.utils.atomic_files import atomic_path


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` with crash-safe backups.

    Keras 3.15 writes the backup's weights file and its metadata file in
    place. A run killed while they are being written (SIGKILL, a lost
    machine) leaves a truncated file, and restarting the same command then
    fails (`OSError: ... bad object header version number`, or a
    `JSONDecodeError` for an empty metadata file) instead of resuming. This
    callback writes both files beside the old ones and moves them into place
    with `os.replace` (`keras_crowd.utils.atomic_files.atomic_path`), the
    weights first, so a backup is always a whole previous one. In the
    microseconds between the two moves, a kill leaves the new weights with
    the previous epoch number: the resumed run trains that epoch once more.

    Args: those of `keras.callbacks.BackupAndRestore` (`backup_dir`, a
        local or mounted directory; `save_freq`, `delete_checkpoint`,
        `double_checkpoint`). With atomic writes `double_checkpoint` is not
        needed; it still keeps a copy of the previous backup.

    Example:

    >>> model.fit(x, crowd_labels, epochs=100,
    ...           callbacks=[AtomicBackupAndRestore("/durable/backup/run-42")])
    """

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for current, previous in (
                (self._weights_path, self._prev_weights_path),
                (self._training_metadata_path, self._prev_training_metadata_path),
            ):
                if os.path.exists(current):
                    with atomic_path(previous) as temporary:
                        shutil.copyfile(current, temporary)
        metadata = json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen})
        # The inner block's file is moved into place first: the weights.
        with atomic_path(self._training_metadata_path) as metadata_file:
            with atomic_path(self._weights_path) as weights_file:
                self.model.save_weights(weights_file, overwrite=True)
                with open(metadata_file, "w", encoding="utf-8") as handle:
                    handle.write(metadata)
