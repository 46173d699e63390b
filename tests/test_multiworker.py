"""MultiWorkerMirroredStrategy: 2 worker processes equal one process.

Two real worker processes (`python -m keras_crowd.distribute.worker`) form
a cluster on 127.0.0.1 through `TF_CONFIG`, train a CrowdModel with
GeoCrowdNet-F (a batch-level term, so each step must see the exact global
batch) on labels that are ~90% missing and unevenly spread, and must end
with the weights of a plain one-process `fit`. The batch split itself is
checked exactly, without processes, through the dataset function each
worker runs.
"""

import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_crowd import CrowdModel
from keras_crowd import regularizers
from keras_crowd.data import to_padded_pairs
from keras_crowd.distribute import datasets
from keras_crowd.distribute import multiworker
from keras_crowd.distribute import strategies
from keras_crowd.distribute import worker
from uneven_crowd import BATCH, D, K, M, N, uneven_crowd

EPOCHS = 2
WORKER_TIMEOUT = 150  # seconds, both workers together


def _compiled_model(regularizer=None):
    keras.utils.set_random_seed(7)
    backbone = keras.Sequential([
        keras.Input((D,)),
        keras.layers.Dense(8, activation="tanh"),
        keras.layers.Dense(K, activation="softmax"),
    ])
    model = CrowdModel(backbone, M, regularizer=regularizer,
                       confusion_initializer="diagonally_dominant")
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    return model


@pytest.fixture(scope="module")
def mirrored(mirrored_strategy):
    """The session's only MirroredStrategy (several abort each other)."""
    return mirrored_strategy


# ------------------------------------------------------------ exact batches
@pytest.mark.parametrize("pipelines, replicas", [(2, 2), (1, 2), (2, 4)])
def test_replica_chunks_reassemble_the_single_process_batches(pipelines, replicas):
    x = np.arange(N * D, dtype="float32").reshape(N, D)
    ids, pair_labels = to_padded_pairs(uneven_crowd()[1])
    labels = {"annotator_ids": ids, "labels": pair_labels}
    steps = N // BATCH
    per_replica = BATCH // replicas
    local = replicas // pipelines
    streams = []
    for pipeline in range(pipelines):
        context = tf.distribute.InputContext(pipelines, pipeline, replicas)
        dataset = datasets.replica_chunks_dataset(x, labels, BATCH, context)
        # Two epochs' worth: the stream repeats at the epoch boundary.
        streams.append(list(dataset.take(2 * steps * local).as_numpy_iterator()))
    for step in range(2 * steps):
        chunks = [
            streams[pipeline][step * local + r]
            for pipeline in range(pipelines) for r in range(local)
        ]
        assert all(len(chunk[0]) == per_replica for chunk in chunks)
        start = (step % steps) * BATCH
        np.testing.assert_array_equal(np.concatenate([c[0] for c in chunks]), x[start:start + BATCH])
        for key in ("annotator_ids", "labels"):
            np.testing.assert_array_equal(
                np.concatenate([c[1][key] for c in chunks]), labels[key][start:start + BATCH]
            )


def test_replica_chunks_refuse_uneven_splits():
    x, labels = uneven_crowd()
    with pytest.raises(ValueError, match="divisible by the number of replicas"):
        datasets.replica_chunks_dataset(x, labels, 63, tf.distribute.InputContext(1, 0, 2))
    with pytest.raises(ValueError, match="fewer than one global batch"):
        datasets.replica_chunks_dataset(x[:10], labels[:10], 64, tf.distribute.InputContext())


@pytest.mark.parametrize("batch_size", [0, -64, 64.5, True])
def test_distributed_dataset_refuses_a_bad_global_batch_size(mirrored, batch_size):
    """0 was a ZeroDivisionError, -64 "Dimension -32 must be >= 0" and 64.5
    was silently trained as 64."""
    x, labels = uneven_crowd()
    with pytest.raises(ValueError, match="global batch size must be a positive integer"):
        datasets.distribute_crowd_dataset(mirrored, x, labels, batch_size)
    with pytest.raises(ValueError, match="global batch size must be a positive integer"):
        datasets.replica_chunks_dataset(x, labels, batch_size, tf.distribute.InputContext())


def test_distributed_dataset_training_equals_plain_fit(mirrored):
    """Same path as the workers, with 2 local replicas, padded pairs."""
    x, dense = uneven_crowd(seed=1)
    ids, pair_labels = to_padded_pairs(dense)
    labels = {"annotator_ids": ids, "labels": pair_labels}
    reference = _compiled_model(regularizers.GeoCrowdNetF(0.05))
    initial = reference.get_weights()
    reference.fit(x, labels, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    with mirrored.scope():
        model = _compiled_model(regularizers.GeoCrowdNetF(0.05))
    model.set_weights(initial)
    data, steps = datasets.distribute_crowd_dataset(mirrored, x, labels, BATCH)
    assert steps == N // BATCH
    model.fit(data, steps_per_epoch=steps, epochs=EPOCHS, shuffle=False, verbose=0)
    assert max(np.abs(a - b).max() for a, b in zip(reference.get_weights(), initial)) > 1e-2
    for expected, got in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def _bad_labels(kind):
    """Crowd labels with one invalid value, in the dense or padded layout."""
    x, labels = uneven_crowd()
    if kind == "class_K":
        labels[0, np.flatnonzero(labels[0] >= 0)[0]] = K
    elif kind == "below_missing":
        labels[0, 0] = -7
    elif kind == "unknown_annotator":
        ids, pair_labels = to_padded_pairs(labels)
        ids[0, 0] = M
        return x, {"annotator_ids": ids, "labels": pair_labels}
    return x, labels


BAD_LABEL_MESSAGES = {
    "class_K": f"only {K} classes",
    "below_missing": "found -7",
    "unknown_annotator": f"model of {M} annotators",
}


@pytest.mark.parametrize("kind", sorted(BAD_LABEL_MESSAGES))
def test_distributed_dataset_labels_are_checked_before_training(mirrored, kind):
    """A distributed dataset cannot be checked as it streams: its arrays are."""
    x, labels = _bad_labels(kind)
    with mirrored.scope():
        model = _compiled_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match=BAD_LABEL_MESSAGES[kind]):
        data, steps = datasets.distribute_crowd_dataset(mirrored, x, labels, BATCH)
        model.fit(data, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_distributed_dataset_refuses_nan_features(mirrored):
    x, labels = uneven_crowd()
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        datasets.distribute_crowd_dataset(mirrored, x, labels, BATCH)


@pytest.mark.parametrize("kind", sorted(BAD_LABEL_MESSAGES))
def test_worker_refuses_bad_labels_naming_the_file(tmp_path, kind):
    x, labels = _bad_labels(kind)
    if isinstance(labels, dict):
        np.savez(tmp_path / "crowd.npz", x=x, **labels)
    else:
        np.savez(tmp_path / "crowd.npz", x=x, labels=labels)
    _compiled_model().save(tmp_path / "init.keras")
    with pytest.raises(ValueError, match=rf"crowd\.npz: .*{BAD_LABEL_MESSAGES[kind]}"):
        worker.train(tmp_path / "init.keras", tmp_path / "crowd.npz", epochs=1,
                     global_batch_size=BATCH, output_path=tmp_path / "final.weights.h5")
    assert not (tmp_path / "final.weights.h5").exists()


def test_worker_refuses_an_output_name_keras_cannot_save_before_training(tmp_path):
    """`--output final.h5` used to train the whole run, delete the backup,
    then fail in `save_weights` (naming a temporary file): nothing kept."""
    x, labels = uneven_crowd()
    np.savez(tmp_path / "crowd.npz", x=x, labels=labels)
    _compiled_model().save(tmp_path / "init.keras")
    started = []
    callback = keras.callbacks.LambdaCallback(on_train_begin=lambda logs: started.append(1))
    with pytest.raises(ValueError, match=r"must end in '\.weights\.h5'.*final\.h5"):
        worker.train(tmp_path / "init.keras", tmp_path / "crowd.npz", epochs=1,
                     global_batch_size=BATCH, output_path=tmp_path / "final.h5",
                     backup_dir=tmp_path / "backup", callbacks=[callback])
    assert not started
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crowd.npz", "init.keras"]


# ---------------------------------------------------------- two processes
def _run_cluster(tmp_path, model_path, data_path, output, entry=None):
    """Start 2 workers on 127.0.0.1, wait (bounded), always clean up.

    `entry` replaces `-m keras_crowd.distribute.worker` (e.g. `-c code`).
    """
    entry = entry or ["-m", "keras_crowd.distribute.worker"]
    ports = multiworker.free_ports(2)
    addresses = [f"127.0.0.1:{port}" for port in ports]
    processes, logs = [], []
    try:
        for index in range(2):
            env = {
                **os.environ,
                "TF_CONFIG": multiworker.make_tf_config(addresses, index),
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "TF_ENABLE_ONEDNN_OPTS": "0",
            }
            stdout = open(tmp_path / f"worker{index}.out", "w+")
            stderr = open(tmp_path / f"worker{index}.err", "w+")
            logs.append((stdout, stderr))
            processes.append(subprocess.Popen(
                [sys.executable, *entry,
                 "--model", str(model_path), "--data", str(data_path),
                 "--epochs", str(EPOCHS), "--batch-size", str(BATCH),
                 "--output", str(output)],
                stdout=stdout, stderr=stderr, env=env,
            ))
        deadline = time.monotonic() + WORKER_TIMEOUT
        for process in processes:
            process.wait(timeout=max(deadline - time.monotonic(), 1))
        results = []
        for process, (stdout, stderr) in zip(processes, logs):
            stdout.seek(0), stderr.seek(0)
            out, err = stdout.read(), stderr.read()
            assert process.returncode == 0, f"worker failed:\n{err[-4000:]}"
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
        for stdout, stderr in logs:
            stdout.close(), stderr.close()


def _prepare(tmp_path, regularizer, padded_pairs=False):
    """Save the crowd and the initial model; return the 1-process result."""
    x, labels = uneven_crowd()
    observed = labels >= 0
    assert 0.85 < 1 - observed.mean() < 0.95  # ~90% missing
    first = observed[np.arange(N) % BATCH < BATCH // 2].sum()
    assert first > 4 * (observed.sum() - first)  # uneven between the two halves
    if padded_pairs:
        ids, pair_labels = to_padded_pairs(labels)
        labels = {"annotator_ids": ids, "labels": pair_labels}
        np.savez(tmp_path / "crowd.npz", x=x, annotator_ids=ids, labels=pair_labels)
    else:
        np.savez(tmp_path / "crowd.npz", x=x, labels=labels)
    model = _compiled_model(regularizer)
    model.optimizer.build(model.trainable_variables)  # saved with its slots
    model.save(tmp_path / "init.keras")
    initial = model.get_weights()
    model.fit(x, labels, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    expected = model.get_weights()
    assert max(np.abs(a - b).max() for a, b in zip(expected, initial)) > 1e-2
    return expected


def _check_cluster_matches(tmp_path, expected, results):
    assert [r["chief"] for r in results] == [True, False]
    assert all(r["num_replicas"] == 2 and r["epochs_run"] == EPOCHS for r in results)
    assert results[0]["loss"] == results[1]["loss"]  # one global loss
    trained = keras.saving.load_model(tmp_path / "init.keras")
    trained.load_weights(tmp_path / "final.weights.h5")
    for want, got in zip(expected, trained.get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_two_worker_processes_match_one_process(tmp_path):
    expected = _prepare(tmp_path, regularizers.GeoCrowdNetF(0.05))
    output = tmp_path / "final.weights.h5"
    results = _run_cluster(tmp_path, tmp_path / "init.keras", tmp_path / "crowd.npz", output)
    _check_cluster_matches(tmp_path, expected, results)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["none", "geocrowdnet_w", "trace"])
def test_two_workers_other_regularizers_padded_pairs(tmp_path, name):
    regularizer = {
        "none": None,
        "geocrowdnet_w": regularizers.GeoCrowdNetW(0.05),
        "trace": regularizers.TraceRegularizer(0.05),
    }[name]
    expected = _prepare(tmp_path, regularizer, padded_pairs=True)
    results = _run_cluster(
        tmp_path, tmp_path / "init.keras", tmp_path / "crowd.npz", tmp_path / "final.weights.h5"
    )
    _check_cluster_matches(tmp_path, expected, results)


RECIPE_WORKER = (
    "import json, sys\n"
    "from keras_crowd.distribute import make_strategy\n"
    "strategy = make_strategy('multiworker')\n"
    "import numpy as np\n"
    "from keras_crowd.backbones import mlp_classifier\n"
    "from keras_crowd.training import train_crowd_classifier\n"
    "data = np.load(sys.argv[sys.argv.index('--data') + 1])\n"
    "result = train_crowd_classifier(\n"
    "    data['x'], data['labels'], int(data['num_classes']),\n"
    "    lambda seed: mlp_classifier(data['x'].shape[1], int(data['num_classes']),\n"
    "                                hidden_units=8, dropout=0, seed=seed),\n"
    "    method='geocrowdnet-f', strength=0.05, epochs=3, batch_size=64,\n"
    "    learning_rate=0.05, seed=1, strategy=strategy)\n"
    "probabilities = result.classifier.predict(data['x'], verbose=0)\n"
    "print(json.dumps({'loss': result.history['loss'], 'heldout_nll': result.heldout_nll,\n"
    "                  'selected_epoch': result.selected_epoch,\n"
    "                  'probabilities': probabilities.tolist()}))\n"
)


@pytest.mark.slow
def test_training_recipe_on_two_workers_matches_one_process(tmp_path):
    """`train_crowd_classifier(..., strategy=...)` (what `keras-crowd train
    --strategy multiworker` runs): its shuffled `epoch_dataset` batches,
    held-out selection and a last partial batch (250 items, batches of 64)
    give the one-process run on 2 worker processes."""
    from keras_crowd.backbones import mlp_classifier
    from keras_crowd.training import train_crowd_classifier

    x, labels = uneven_crowd()
    x, labels = x[:250], labels[:250]
    np.savez(tmp_path / "crowd.npz", x=x, labels=labels, num_classes=K)
    expected = train_crowd_classifier(
        x, labels, K, lambda seed: mlp_classifier(D, K, hidden_units=8, dropout=0, seed=seed),
        method="geocrowdnet-f", strength=0.05, epochs=3, batch_size=64, learning_rate=0.05,
        seed=1,
    )
    results = _run_cluster(tmp_path, tmp_path / "init.keras", tmp_path / "crowd.npz",
                           tmp_path / "final.weights.h5", entry=["-c", RECIPE_WORKER])
    for result in results:
        np.testing.assert_allclose(result["loss"], expected.history["loss"], rtol=1e-5)
        np.testing.assert_allclose(result["heldout_nll"], expected.heldout_nll, rtol=1e-5)
        assert result["selected_epoch"] == expected.selected_epoch
        np.testing.assert_allclose(result["probabilities"],
                                   expected.classifier.predict(x, verbose=0), atol=1e-5)


PLAIN_MWMS_WORKER = (
    "import sys, tensorflow as tf\n"
    "from keras_crowd.distribute import multiworker, worker\n"
    "multiworker._MultiWorkerMirroredStrategy = tf.distribute.MultiWorkerMirroredStrategy\n"
    "sys.exit(worker.main(sys.argv[1:]))\n"
)


@pytest.mark.slow
def test_plain_multiworker_strategy_still_breaks_keras_fit(tmp_path):
    """Canary for keras-team/keras#20329 and tensorflow/tensorflow#72388.

    If this starts failing (plain MWMS works), the reduce workaround in
    `keras_crowd.distribute.multiworker` can be removed.
    """
    _prepare(tmp_path, None)
    with pytest.raises(AssertionError, match="PerReplica|Invalid reduction dimension"):
        _run_cluster(tmp_path, tmp_path / "init.keras", tmp_path / "crowd.npz",
                     tmp_path / "final.weights.h5", entry=["-c", PLAIN_MWMS_WORKER])


# ------------------------------------------------------- strategies / config
def test_make_strategy_names_and_errors(monkeypatch):
    assert strategies.make_strategy("default") is tf.distribute.get_strategy()
    with pytest.raises(ValueError, match="Unknown strategy 'tpu'.*default, mirrored, multiworker"):
        strategies.make_strategy("tpu")
    with pytest.raises(ValueError, match="only applies to 'mirrored'"):
        strategies.make_strategy("default", devices=["/cpu:0"])
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs the TF_CONFIG environment variable"):
        strategies.make_strategy("multiworker")


@pytest.mark.parametrize(
    "raw, message",
    [
        ("{not json", "not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', '"cluster"'),
        ('{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}', "non-empty"),
        ('{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}',
         "host:port"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}', "out of range"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "not in the cluster"),
        ('{"cluster": {"worker": ["a:1"]}}', '"task"'),
    ],
)
def test_tf_config_errors_are_clear(raw, message):
    with pytest.raises(ValueError, match=message):
        multiworker.parse_tf_config({"TF_CONFIG": raw})


def test_tf_config_helpers(tmp_path):
    ports = multiworker.free_ports(3)
    assert len(set(ports)) == 3
    addresses = [f"127.0.0.1:{port}" for port in ports[:2]]
    configs = [json.loads(multiworker.make_tf_config(addresses, i)) for i in range(2)]
    assert configs[1] == {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": 1}}
    assert [multiworker.is_chief(c) for c in configs] == [True, False]
    assert worker.worker_backup_dir(str(tmp_path), configs[1]) == str(tmp_path / "worker-1")
    with pytest.raises(ValueError, match="out of range"):
        multiworker.make_tf_config(addresses, 2)


def test_multiworker_strategy_refuses_an_environ_tensorflow_does_not_read(monkeypatch):
    """`environ` is only validated: with os.environ lacking TF_CONFIG, worker
    1 of 2 silently became a 1-replica strategy whose is_chief() was True."""
    config = multiworker.make_tf_config(["127.0.0.1:2222", "127.0.0.1:2223"], 1)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match=r"os.environ\['TF_CONFIG'\].*has None"):
        multiworker.multiworker_strategy(environ={"TF_CONFIG": config})
    other = multiworker.make_tf_config(["127.0.0.1:2222", "127.0.0.1:2223"], 0)
    monkeypatch.setenv("TF_CONFIG", other)
    with pytest.raises(ValueError, match="does not hold the TF_CONFIG given"):
        multiworker.multiworker_strategy(environ={"TF_CONFIG": config})


def test_worker_output_is_replaced_atomically(tmp_path, monkeypatch):
    """A crash while the chief writes its weights leaves the previous output
    whole (its backup is gone by then): the file is written beside it and
    renamed."""
    x, labels = uneven_crowd()
    np.savez(tmp_path / "crowd.npz", x=x, labels=labels)
    _compiled_model().save(tmp_path / "init.keras")
    output = tmp_path / "final.weights.h5"
    model, _ = worker.train(tmp_path / "init.keras", tmp_path / "crowd.npz", epochs=1,
                            global_batch_size=BATCH, output_path=output)
    good = output.read_bytes()
    written = []

    def crash_mid_write(self, filepath, *args, **kwargs):
        written.append(str(filepath))
        with open(filepath, "wb") as handle:
            handle.write(b"\x89HDF partial")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save_weights", crash_mid_write)
    with pytest.raises(OSError, match="disk full"):
        worker.train(tmp_path / "init.keras", tmp_path / "crowd.npz", epochs=1,
                     global_batch_size=BATCH, output_path=output)
    assert output.read_bytes() == good
    assert written and written[0] != str(output) and written[0].endswith(".weights.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crowd.npz", "final.weights.h5",
                                                          "init.keras"]
