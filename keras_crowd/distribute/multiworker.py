"""Multi-worker training: the cluster description (`TF_CONFIG`) and strategy.

`tf.distribute.MultiWorkerMirroredStrategy` reads the cluster from the
`TF_CONFIG` environment variable, a JSON document such as

    {"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]},
     "task": {"type": "worker", "index": 0}}

which must be set, with the same cluster and a different task index, in
every worker process before it creates the strategy. Worker 0 is the chief
(it writes the final weights). This module validates that document with
clear errors, builds it for local test clusters, and creates the strategy.
"""

import json
import os
import socket

import tensorflow as tf

TF_CONFIG = "TF_CONFIG"


def parse_tf_config(environ=None):
    """Read and validate `TF_CONFIG` from the environment.

    Args:
        environ: A mapping to read from; defaults to `os.environ`.

    Returns:
        The parsed dict, with `cluster` (a dict of task type to a list of
        `host:port` addresses) and `task` (`type` and `index`).

    Raises:
        ValueError: `TF_CONFIG` is unset, not JSON, or inconsistent (no
            `worker` list, task type not in the cluster, index out of range,
            an address without a port).

    Example:

    >>> os.environ["TF_CONFIG"] = make_tf_config(["127.0.0.1:2222"], 0)
    >>> parse_tf_config()["task"]
    {'type': 'worker', 'index': 0}
    """
    environ = os.environ if environ is None else environ
    raw = environ.get(TF_CONFIG)
    if not raw:
        raise ValueError(
            "Multi-worker training needs the TF_CONFIG environment variable, "
            'e.g. {"cluster": {"worker": ["host1:port", "host2:port"]}, '
            '"task": {"type": "worker", "index": 0}}, set in every worker '
            "with its own index. See docs/distributed.md."
        )
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}): {raw!r}") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        raise ValueError(f'TF_CONFIG needs a "cluster" object; got {raw!r}.')
    cluster, task = config["cluster"], config.get("task")
    workers = cluster.get("worker")
    if not isinstance(workers, list) or not workers:
        raise ValueError(
            'TF_CONFIG["cluster"] needs a non-empty "worker" list of '
            f'"host:port" addresses; got {cluster!r}.'
        )
    for task_type, addresses in cluster.items():
        for address in addresses:
            host, _, port = str(address).rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(
                    f"TF_CONFIG {task_type} address {address!r} must be 'host:port'."
                )
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ValueError(
            'TF_CONFIG needs "task": {"type": "worker", "index": i}; '
            f"got {task!r}."
        )
    if task["type"] not in cluster:
        raise ValueError(
            f"TF_CONFIG task type {task['type']!r} is not in the cluster "
            f"({sorted(cluster)})."
        )
    index = task["index"]
    if not isinstance(index, int) or not 0 <= index < len(cluster[task["type"]]):
        raise ValueError(
            f"TF_CONFIG task index {index!r} is out of range for "
            f"{len(cluster[task['type']])} {task['type']} task(s)."
        )
    return config


def make_tf_config(worker_addresses, task_index):
    """The `TF_CONFIG` JSON string for worker `task_index` of a cluster.

    Args:
        worker_addresses: List of `"host:port"`, one per worker, in the same
            order on every worker.
        task_index: This worker's position in that list (0 is the chief).

    Returns:
        A JSON string to put in `os.environ["TF_CONFIG"]`.

    Example:

    >>> ports = free_ports(2)
    >>> workers = [f"127.0.0.1:{port}" for port in ports]
    >>> env = {**os.environ, "TF_CONFIG": make_tf_config(workers, 1)}
    """
    config = {
        "cluster": {"worker": [str(address) for address in worker_addresses]},
        "task": {"type": "worker", "index": int(task_index)},
    }
    parse_tf_config({TF_CONFIG: json.dumps(config)})  # validate
    return json.dumps(config)


def free_ports(count, host="127.0.0.1"):
    """`count` distinct TCP ports that are free on `host` right now.

    The ports are released before returning, so another process could take
    one in between; that is acceptable for local test clusters.

    Args:
        count: How many ports.
        host: Interface to bind, `127.0.0.1` by default (never all
            interfaces).

    Returns:
        A list of `count` port numbers.

    Example:

    >>> free_ports(2)
    [41231, 39677]
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def is_chief(config=None):
    """Whether this process is the chief (worker 0, or a `chief` task).

    Args:
        config: A parsed `TF_CONFIG` dict; by default read from the
            environment. Without `TF_CONFIG`, the single process is chief.

    Returns:
        True for the chief.

    Example:

    >>> if is_chief():
    ...     model.save_weights("final.weights.h5")
    """
    if config is None:
        if not os.environ.get(TF_CONFIG):
            return True
        config = parse_tf_config()
    task = config["task"]
    return task["type"] == "chief" or (
        task["type"] == "worker" and task["index"] == 0 and "chief" not in config["cluster"]
    )


class _MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """`MultiWorkerMirroredStrategy` whose `reduce` works for Keras 3's `fit`.

    Keras 3 (3.15, with TF 2.21) calls `strategy.reduce` in two ways that
    `MultiWorkerMirroredStrategy` rejects although `MirroredStrategy`
    accepts them:

    - before training, on the whole first batch, a nested `(x, y)`
      structure; MWMS does not map over structures and fails with
      "Attempt to convert a value (PerReplica...)" (keras-team/keras#20329);
    - after every step, on the scalar logs with `axis=0`; a scalar has no
      axis 0: "Invalid reduction dimension 0 for input with 0 dimensions"
      (tensorflow/tensorflow#72388). For a per-replica scalar the intended
      result is the mean over replicas, i.e. `axis=None`.

    This subclass reduces leaf by leaf and uses `axis=None` for scalars;
    everything else is unchanged.
    """

    def reduce(self, reduce_op, value, axis):
        parent = super()

        def reduce_leaf(leaf):
            leaf_axis = None if _per_replica_rank(leaf) == 0 else axis
            return parent.reduce(reduce_op, leaf, leaf_axis)

        return tf.nest.map_structure(reduce_leaf, value)


def _per_replica_rank(value):
    if isinstance(value, tf.distribute.DistributedValues):
        value = value.values[0]
    shape = getattr(value, "shape", None)
    return None if shape is None else shape.rank


def multiworker_strategy(communication="auto", environ=None):
    """A `MultiWorkerMirroredStrategy` for the cluster in `TF_CONFIG`.

    Create it at the start of the program, before any other TensorFlow
    operation or model: TensorFlow configures collective ops when the
    runtime starts. The call blocks until every worker in the cluster has
    started.

    Args:
        communication: `"auto"`, `"ring"` (gRPC, CPU) or `"nccl"` (GPU).
        environ: Mapping holding `TF_CONFIG` (default `os.environ`); it is
            only validated here, TensorFlow reads `os.environ` itself, so
            it must hold the same cluster and task as `os.environ`.

    Returns:
        The strategy; `num_replicas_in_sync` counts the devices of all
        workers.

    Raises:
        ValueError: `TF_CONFIG` is missing or invalid, `environ` describes
            another cluster or task than `os.environ`, or the communication
            name is unknown.
        RuntimeError: TensorFlow was already initialised in this process.

    Example:

    >>> strategy = multiworker_strategy()      # in every worker
    >>> with strategy.scope():
    ...     model = CrowdModel(backbone, num_annotators=M)
    ...     model.compile(optimizer="adam")
    """
    config = parse_tf_config(environ)
    if environ is not None and environ is not os.environ:
        try:
            process_config = parse_tf_config()
        except ValueError:
            process_config = None
        if process_config != config:
            # TensorFlow would silently train alone (or in another cluster).
            raise ValueError(
                "TensorFlow reads the cluster from os.environ['TF_CONFIG'], "
                "which does not hold the TF_CONFIG given in `environ` "
                f"(os.environ has {os.environ.get(TF_CONFIG)!r}). Set "
                "os.environ['TF_CONFIG'] before creating the strategy."
            )
    implementations = {
        "auto": tf.distribute.experimental.CommunicationImplementation.AUTO,
        "ring": tf.distribute.experimental.CommunicationImplementation.RING,
        "nccl": tf.distribute.experimental.CommunicationImplementation.NCCL,
    }
    if communication not in implementations:
        raise ValueError(
            f"Unknown communication {communication!r}; choose one of "
            f"{sorted(implementations)}."
        )
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=implementations[communication]
    )
    try:
        return _MultiWorkerMirroredStrategy(communication_options=options)
    except RuntimeError as error:
        raise RuntimeError(
            "Could not create MultiWorkerMirroredStrategy: create it at the "
            "start of the program, before building models or running any "
            f"TensorFlow operation. TensorFlow said: {error}"
        ) from error
