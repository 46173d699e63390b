"""A training process killed with SIGKILL resumes from its backup exactly.

A real subprocess trains with `keras.callbacks.BackupAndRestore` (through
`keras_crowd.distribute.worker.train(..., backup_dir=...)`) and SIGKILLs
itself in the middle of an epoch, after the previous epoch's backup was
written, on the first run only. The restarted process must restore the
weights and the optimizer state (LazyAdam, updated sparsely through padded
pairs), retrain only the missing epochs, and end with the weights of an
uninterrupted run. The child imports only the worker module, so this also
checks that a LazyAdam model loads there.
"""

import json
import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_crowd import CrowdModel
from keras_crowd import regularizers
from keras_crowd.callbacks import AtomicBackupAndRestore
from keras_crowd.data import to_padded_pairs
from keras_crowd.distribute import worker
from keras_crowd.optimizers import LazyAdam

N, D, K, M = 192, 6, 4, 12
BATCH, EPOCHS = 32, 4
KILL_EPOCH, KILL_BATCH = 2, 2  # epochs 0 and 1 are backed up, epoch 2 half done
CHILD_TIMEOUT = 120

CHILD = """
import json, os, signal, sys
import keras
from keras_crowd.distribute import worker

model, data, backup, output, epochs, batch, kill_epoch, kill_batch = sys.argv[1:9]
kill_epoch, kill_batch = int(kill_epoch), int(kill_batch)


class KillAt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == kill_epoch and batch == kill_batch:
            os.kill(os.getpid(), signal.SIGKILL)


callbacks = [KillAt()] if kill_epoch >= 0 else []
_, history = worker.train(model, data, int(epochs), int(batch), output_path=output,
                          backup_dir=backup, callbacks=callbacks)
print(json.dumps({"epochs_run": len(history.history["loss"])}))
"""


def _crowd(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, D)).astype("float32")
    truth = (x[:, 0] > 0).astype(int) + 2 * (x[:, 1] > 0)
    labels = np.where(rng.random((N, M)) < 0.15, truth[:, None], -1)
    noisy = rng.random((N, M)) < 0.3
    labels = np.where((labels >= 0) & noisy, rng.integers(0, K, (N, M)), labels)
    return x, labels


def _run_child(tmp_path, backup, output, kill_epoch):
    args = [str(tmp_path / "init.keras"), str(tmp_path / "crowd.npz"), str(backup),
            str(output), str(EPOCHS), str(BATCH), str(kill_epoch), str(KILL_BATCH)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"}
    env.pop("TF_CONFIG", None)
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        out, err = process.communicate(timeout=CHILD_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, out, err


def test_sigkilled_training_resumes_to_the_uninterrupted_weights(tmp_path):
    x, labels = _crowd()
    ids, pair_labels = to_padded_pairs(labels)
    np.savez(tmp_path / "crowd.npz", x=x, annotator_ids=ids, labels=pair_labels)
    keras.utils.set_random_seed(3)
    backbone = keras.Sequential([
        keras.Input((D,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(K, activation="softmax"),
    ])
    model = CrowdModel(backbone, M, regularizer=regularizers.GeoCrowdNetF(0.01))
    model.compile(optimizer=LazyAdam(0.02))
    model.optimizer.build(model.trainable_variables)
    model.save(tmp_path / "init.keras")
    initial = model.get_weights()

    # The uninterrupted run, same code path, in this process.
    uninterrupted, history = worker.train(
        tmp_path / "init.keras", tmp_path / "crowd.npz", EPOCHS, BATCH
    )
    assert len(history.history["loss"]) == EPOCHS
    expected = uninterrupted.get_weights()
    assert max(np.abs(a - b).max() for a, b in zip(expected, initial)) > 1e-2

    backup, output = tmp_path / "backup", tmp_path / "final.weights.h5"
    code, _, err = _run_child(tmp_path, backup, output, kill_epoch=KILL_EPOCH)
    assert code == -signal.SIGKILL, f"the child was not killed:\n{err[-3000:]}"
    assert not output.exists()
    metadata = json.loads((backup / "training_metadata.json").read_text())
    assert metadata["epoch"] == KILL_EPOCH  # backups of epochs 0..KILL_EPOCH-1
    assert (backup / "latest.weights.h5").is_file()

    code, out, err = _run_child(tmp_path, backup, output, kill_epoch=-1)
    assert code == 0, err[-3000:]
    # Resumed, not restarted: only the missing epochs were trained.
    assert json.loads(out.strip().splitlines()[-1]) == {"epochs_run": EPOCHS - KILL_EPOCH}
    assert not backup.exists()  # BackupAndRestore deletes it after success
    resumed = keras.saving.load_model(tmp_path / "init.keras")
    resumed.load_weights(output)
    for want, got in zip(expected, resumed.get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


class _Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs."""


class _StopBefore(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise _Killed


@pytest.mark.parametrize("backup_class, resumes", [
    (keras.callbacks.BackupAndRestore, False),  # Keras writes in place
    (AtomicBackupAndRestore, True),
])
def test_a_kill_while_the_backup_is_written_leaves_a_backup_that_resumes(
        tmp_path, backup_class, resumes):
    """Killed halfway through writing the epoch-2 backup, the run resumes
    from the epoch-1 backup. Keras's own callback leaves a truncated weights
    file there, and the restart fails (also what a SIGKILL did to the worker
    program: "bad object header version number")."""
    x, labels = _crowd()
    keras.utils.set_random_seed(3)
    backbone = keras.Sequential([keras.Input((D,)), keras.layers.Dense(K, activation="softmax")])
    model = CrowdModel(backbone, M)
    model.compile(optimizer=keras.optimizers.Adam(0.02))
    backup = tmp_path / "backup"

    def fit(*callbacks):
        return model.fit(x, labels, batch_size=BATCH, epochs=4, verbose=0,
                         callbacks=[backup_class(str(backup)), *callbacks])

    with pytest.raises(_Killed):
        fit(_StopBefore(2))  # backups of epochs 0 and 1
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 2  # next
    save_weights = model.save_weights

    def killed_while_saving(filepath, overwrite=True):
        save_weights(filepath, overwrite=overwrite)
        with open(filepath, "r+b") as handle:  # the kill: half the file written
            handle.truncate(os.path.getsize(filepath) // 2)
        raise _Killed

    model.save_weights = killed_while_saving
    with pytest.raises(_Killed):
        fit()  # resumes at epoch 2, killed while backing it up
    del model.save_weights
    if resumes:
        assert sorted(p.name for p in backup.iterdir()) == [
            "latest.weights.h5", "training_metadata.json"]  # no temporary left
        assert len(fit().history["loss"]) == 2  # epochs 2 and 3
    else:
        with pytest.raises(OSError):
            fit()
