"""Test configuration: quiet, deterministic TensorFlow with 2 logical CPUs.

The logical devices must be created before TensorFlow initialises its
runtime, so this runs at import time, before any test module imports
keras_crowd or builds a model.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import tensorflow as tf  # noqa: E402

NUM_LOGICAL_CPUS = 2

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * NUM_LOGICAL_CPUS
)


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def mirrored_strategy():
    """The one MirroredStrategy over the 2 logical CPUs, for every test.

    Two MirroredStrategy objects in one process reuse collective instance
    keys and abort each other's collectives, so all tests share this one.
    """
    devices = [d.name for d in tf.config.list_logical_devices("CPU")][:NUM_LOGICAL_CPUS]
    assert len(devices) == NUM_LOGICAL_CPUS, "the logical CPUs were not created"
    return tf.distribute.MirroredStrategy(devices)
