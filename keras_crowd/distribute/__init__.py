"""Distributed and resumable training of `CrowdModel`.

- `make_strategy(name)`: `"default"`, `"mirrored"` or `"multiworker"`.
- `distribute_crowd_dataset`: feeds any strategy so that every global batch
  equals the single-process batch (exact results across workers).
- `multiworker`: `TF_CONFIG` helpers and `MultiWorkerMirroredStrategy`.
- `python -m keras_crowd.distribute.worker`: one training process of a
  cluster (or alone), with per-epoch backups for fault tolerance.
"""

from keras_crowd.distribute.datasets import distribute_crowd_dataset
from keras_crowd.distribute.multiworker import free_ports
from keras_crowd.distribute.multiworker import is_chief
from keras_crowd.distribute.multiworker import make_tf_config
from keras_crowd.distribute.multiworker import multiworker_strategy
from keras_crowd.distribute.multiworker import parse_tf_config
from keras_crowd.distribute.strategies import STRATEGY_NAMES
from keras_crowd.distribute.strategies import make_strategy
