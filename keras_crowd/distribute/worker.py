"""One training process: `python -m keras_crowd.distribute.worker ...`.

Run the same command in every worker of a cluster, each with its own
`TF_CONFIG` (see `keras_crowd.distribute.multiworker`); without `TF_CONFIG`
it trains in this process alone. It loads a compiled `CrowdModel` saved as
`.keras` (architecture, initial weights and optimizer settings), crowd
labels from an `.npz` file, trains with exact global batches
(`distribute_crowd_dataset`), optionally backs up after every epoch so a
killed run resumes where it stopped (`AtomicBackupAndRestore`, Keras's
`BackupAndRestore` with crash-safe writes),
and the chief writes the final weights.

The `.npz` holds `x` and either `labels` `(N, M)` (-1 missing) or
`annotator_ids` and `labels` `(N, R)` (padded pairs).

Usage:

    python -m keras_crowd.distribute.worker --model init.keras \\
        --data crowd.npz --epochs 10 --batch-size 256 \\
        --output final.weights.h5 --backup-dir /shared/backup
"""

import argparse
import json
import os
import sys

import keras
import numpy as np
import tensorflow as tf

from keras_crowd import optimizers as _optimizers  # noqa: F401  registers LazyAdam
from keras_crowd.callbacks.atomic_backup import AtomicBackupAndRestore
from keras_crowd.distribute import datasets
from keras_crowd.distribute import multiworker
from keras_crowd.distribute import strategies
from keras_crowd.models import label_validation
from keras_crowd.utils.atomic_files import atomic_path

# `model.save_weights` accepts only files with this suffix.
WEIGHTS_SUFFIX = ".weights.h5"


def load_crowd_npz(path):
    """Features and crowd labels from an `.npz` file.

    Args:
        path: File with `x` and `labels` (dense `(N, M)`), or `x`,
            `annotator_ids` and `labels` (padded pairs `(N, R)`).

    Returns:
        `(x, labels)`, labels an array or the padded-pair dict.

    Example:

    >>> np.savez("crowd.npz", x=x, labels=crowd_labels)
    >>> x, labels = load_crowd_npz("crowd.npz")
    """
    with np.load(path, allow_pickle=False) as data:
        names = set(data.files)
        if not {"x", "labels"} <= names:
            raise ValueError(
                f"{path} must hold arrays 'x' and 'labels' (and optionally "
                f"'annotator_ids'); it holds {sorted(names)}."
            )
        x = data["x"]
        if "annotator_ids" in names:
            return x, {"annotator_ids": data["annotator_ids"], "labels": data["labels"]}
        return x, data["labels"]


def check_crowd_data(model, x, labels, path):
    """Check features and crowd labels loaded from `path` against `model`.

    Args:
        model: The `CrowdModel` to train (its M, and its K once built).
        x: The features.
        labels: Dense `(N, M)` labels or the padded-pair dict.
        path: The file they came from, named in the error.

    Raises:
        ValueError: naming `path` and the first problem found.
    """
    try:
        num_items = label_validation.validate_crowd_labels(
            labels, model.num_annotators, model.num_classes
        )
        label_validation.validate_features(x, num_items)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error


def worker_backup_dir(backup_dir, config=None):
    """The backup directory of this process.

    `BackupAndRestore` is not cluster-aware, so under `TF_CONFIG` each
    worker gets its own subdirectory `worker-<index>` (all hold the same
    state, since replicas stay in sync).

    Args:
        backup_dir: The directory given by the user.
        config: Parsed `TF_CONFIG`; by default read from the environment
            (`None` when it is unset).

    Returns:
        The directory to pass to `keras.callbacks.BackupAndRestore`.

    Example:

    >>> worker_backup_dir("/shared/backup")   # worker 1 of a cluster
    '/shared/backup/worker-1'
    """
    if config is None and os.environ.get(multiworker.TF_CONFIG):
        config = multiworker.parse_tf_config()
    if config is None:
        return backup_dir
    task = config["task"]
    return os.path.join(backup_dir, f"{task['type']}-{task['index']}")


def train(
    model_path,
    data_path,
    epochs,
    global_batch_size,
    output_path=None,
    strategy=None,
    backup_dir=None,
    callbacks=(),
    verbose=0,
):
    """Train a saved, compiled `CrowdModel` on an `.npz` crowd, resumably.

    Args:
        model_path: `.keras` file of a compiled `CrowdModel` (save it right
            after `compile`, so every worker starts from the same weights).
        data_path: `.npz` file (see `load_crowd_npz`), same on every worker.
        epochs: Total epochs (a resumed run only trains the missing ones).
        global_batch_size: Items per step over all replicas.
        output_path: `.weights.h5` file the chief writes at the end (its
            name is checked before training).
        strategy: A `tf.distribute.Strategy`; default: the current one.
        backup_dir: If set, back up the model and optimizer after every
            epoch and resume from the backup when it exists.
        callbacks: More Keras callbacks.
        verbose: Keras `fit` verbosity.

    Returns:
        `(model, history)`.

    Raises:
        ValueError: `output_path` does not end in `.weights.h5`, the model
            is not compiled, or the data do not fit the model (naming
            `data_path`).

    Example:

    >>> strategy = make_strategy("multiworker")
    >>> train("init.keras", "crowd.npz", epochs=5, global_batch_size=64,
    ...       output_path="final.weights.h5", strategy=strategy)
    """
    if output_path and not str(output_path).endswith(WEIGHTS_SUFFIX):
        # Checked first: Keras refuses any other name only when the chief
        # saves, after training, once `BackupAndRestore` has deleted its
        # backup, and the run would be lost.
        raise ValueError(
            f"The output weights file must end in {WEIGHTS_SUFFIX!r} (Keras weights); "
            f"got {str(output_path)!r}."
        )
    strategy = strategy or tf.distribute.get_strategy()
    x, labels = load_crowd_npz(data_path)
    with strategy.scope():
        model = keras.saving.load_model(model_path)
    if getattr(model, "optimizer", None) is None:
        raise ValueError(
            f"{model_path} holds an uncompiled model: compile it (with the "
            "optimizer to train with) before saving it."
        )
    check_crowd_data(model, x, labels, data_path)
    dataset, steps = datasets.distribute_crowd_dataset(
        strategy, x, labels, global_batch_size
    )
    callbacks = list(callbacks)
    if backup_dir:
        callbacks.insert(
            0, AtomicBackupAndRestore(worker_backup_dir(backup_dir))
        )
    history = model.fit(
        dataset,
        steps_per_epoch=steps,
        epochs=epochs,
        shuffle=False,
        callbacks=callbacks,
        verbose=verbose,
    )
    if output_path and multiworker.is_chief():
        # Atomically: BackupAndRestore has deleted its backup by now, so a
        # crash mid-write must not also destroy an earlier output.
        with atomic_path(output_path) as temporary:
            model.save_weights(temporary)
    return model, history


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m keras_crowd.distribute.worker",
        description="Train a saved CrowdModel in this process (one worker of "
        "a TF_CONFIG cluster, or alone).",
    )
    parser.add_argument("--model", required=True, help="compiled CrowdModel, .keras")
    parser.add_argument("--data", required=True, help=".npz with x and labels")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True, help="global batch size")
    parser.add_argument("--output", help="final weights (.weights.h5), written by the chief")
    parser.add_argument("--backup-dir", help="back up every epoch; resume from it")
    parser.add_argument(
        "--strategy", choices=strategies.STRATEGY_NAMES, default=None,
        help="default: multiworker when TF_CONFIG is set, else default",
    )
    args = parser.parse_args(argv)
    name = args.strategy or (
        "multiworker" if os.environ.get(multiworker.TF_CONFIG) else "default"
    )
    strategy = strategies.make_strategy(name)  # first: before any TF op
    _, history = train(
        args.model, args.data, args.epochs, args.batch_size,
        output_path=args.output, strategy=strategy, backup_dir=args.backup_dir,
    )
    summary = {
        "strategy": name,
        "num_replicas": int(strategy.num_replicas_in_sync),
        "chief": multiworker.is_chief(),
        "epochs_run": len(history.history.get("loss", [])),
        "loss": [float(value) for value in history.history.get("loss", [])],
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
