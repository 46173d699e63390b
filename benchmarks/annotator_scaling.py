"""Step time of CrowdModel versus the bare backbone as M grows.

For M in {10, 100, 1000, 10000} annotators with R = 3 labels per item, this
trains the same backbone (a) as a CrowdModel on padded (annotator, label)
pairs and (b) alone on one label per item with sparse categorical
cross-entropy, both with `LazyAdam` (Adam on dense gradients; row updates on
the sparse confusion gradient) unless `--optimizer adam`, alternating the
two in one process, and reports the median
step-time ratio and the memory of the confusion parameters (with Adam's two
slots) and the process's peak RSS. A step's time is its epoch's, from
`on_epoch_begin` to `on_epoch_end`, over its steps: what each `fit` call does
once (CrowdModel's input checks, Keras's data adapter) is left out.

Run: python benchmarks/annotator_scaling.py [--quick]
"""

import argparse
import os
import resource
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_crowd import CrowdModel  # noqa: E402
from keras_crowd.benchmarking.timing import seconds_per_step  # noqa: E402
from keras_crowd.optimizers import LazyAdam  # noqa: E402
from keras_crowd.utils.arguments import positive_integer_option  # noqa: E402

D, HIDDEN, K, R = 128, 256, 10, 3


def _backbone():
    return keras.Sequential(
        [keras.Input((D,)), keras.layers.Dense(HIDDEN, activation="relu"),
         keras.layers.Dense(HIDDEN, activation="relu"),
         keras.layers.Dense(K, activation="softmax")]
    )


def _datasets(num_annotators, num_items, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(num_items, D)).astype("float32")
    # R distinct annotators per item (one label per item and annotator):
    # first, first + M // R, ... (mod M).
    first = rng.integers(0, num_annotators, size=(num_items, 1))
    annotator_ids = ((first + np.arange(R) * max(num_annotators // R, 1)) % num_annotators
                     ).astype("int32")
    labels = rng.integers(0, K, size=(num_items, R)).astype("int32")
    crowd = tf.data.Dataset.from_tensor_slices(
        (x, {"annotator_ids": annotator_ids, "labels": labels})
    ).batch(batch_size, drop_remainder=True).cache().repeat()
    bare = tf.data.Dataset.from_tensor_slices((x, labels[:, 0])).batch(
        batch_size, drop_remainder=True).cache().repeat()
    return crowd, bare


def measure(num_annotators, steps, repeats, batch_size=128, lazy=True):
    crowd_data, bare_data = _datasets(num_annotators, 20 * batch_size, batch_size)
    keras.utils.set_random_seed(0)
    crowd = CrowdModel(_backbone(), num_annotators)
    # LazyAdam equals Adam on dense gradients (the whole backbone), and only
    # touches the gathered rows of the (M, K, K) confusion logits.
    crowd.compile(optimizer=LazyAdam() if lazy else "adam")
    bare = _backbone()
    bare.compile(optimizer=LazyAdam() if lazy else "adam", loss="sparse_categorical_crossentropy")
    for model, data in ((crowd, crowd_data), (bare, bare_data)):
        seconds_per_step(model, data, 5)  # trace and warm up
    ratios, crowd_times, bare_times = [], [], []
    for _ in range(repeats):
        t_crowd = seconds_per_step(crowd, crowd_data, steps)
        t_bare = seconds_per_step(bare, bare_data, steps)
        crowd_times.append(t_crowd)
        bare_times.append(t_bare)
        ratios.append(t_crowd / t_bare)
    confusion_mib = 3 * num_annotators * K * K * 4 / 2**20  # params + Adam m, v
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "M": num_annotators,
        "crowd_ms": 1e3 * statistics.median(crowd_times),
        "bare_ms": 1e3 * statistics.median(bare_times),
        "ratio": statistics.median(ratios),
        "confusion_mib": confusion_mib,
        "peak_rss_mib": peak_rss_mib,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny run for smoke tests: 5 steps, 1 repeat")
    parser.add_argument("--repeats", type=positive_integer_option, default=None,
                        help="alternating repeats (median; default 9, 1 with --quick)")
    parser.add_argument("--annotators", type=positive_integer_option, nargs="+",
                        default=[10, 100, 1000, 10000])
    parser.add_argument("--optimizer", choices=["lazy_adam", "adam"], default="lazy_adam",
                        help="Keras Adam densifies the sparse confusion gradient every step")
    args = parser.parse_args(argv)
    steps = 5 if args.quick else 100
    repeats = args.repeats or (1 if args.quick else 9)
    print(f"backbone MLP {D}-{HIDDEN}-{HIDDEN}-{K}, batch 128, R={R} labels/item, "
          f"{steps} steps x {repeats} alternating repeats, {args.optimizer}, TF {tf.__version__}")
    print(f"{'M':>7} {'crowd ms':>9} {'bare ms':>8} {'ratio':>6} {'A+Adam MiB':>11} {'peak RSS MiB':>13}")
    for num_annotators in args.annotators:
        row = measure(num_annotators, steps, repeats, lazy=args.optimizer == "lazy_adam")
        print(f"{row['M']:>7} {row['crowd_ms']:>9.2f} {row['bare_ms']:>8.2f} {row['ratio']:>6.2f} "
              f"{row['confusion_mib']:>11.2f} {row['peak_rss_mib']:>13.0f}", flush=True)


if __name__ == "__main__":
    main()
