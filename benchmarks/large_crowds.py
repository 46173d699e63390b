"""Step time of CrowdModel with 100,000 annotators versus 100, on padded pairs.

The crowd: 1,000,000 items, each labelled by 2-4 distinct annotators (about
3 on average, padded to R = 4 pairs), out of M annotators. Items, annotator
ids and labels are generated batch by batch inside `tf.data` from stateless
random seeds, so nothing of size N x M (or even N) is ever materialised.
The backbone is a tiny MLP, so any per-step cost that grows with M shows.

For each optimizer (Keras `Adam`, and `keras_crowd.optimizers.LazyAdam`),
models with M = 100 and M = 100,000 are timed on the same stream in
alternating repeats, and the median ratio t(M=100,000) / t(M=100) is
reported (goal: <= 1.2). A step's time is its epoch's, from
`on_epoch_begin` to `on_epoch_end`, over its steps: what each `fit` call
does once (CrowdModel's input checks, Keras's data adapter) is left out.
Also reported: the bytes of the confusion logits and of their optimizer
slots, and the process's peak RSS.

Run:  python benchmarks/large_crowds.py            # ~2-4 minutes on 2 cores
      python benchmarks/large_crowds.py --quick    # seconds, smoke test
"""

import argparse
import json
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

D, HIDDEN, K, R = 32, 32, 10, 4
NUM_ITEMS = 1_000_000
LABEL_ACCURACY = 0.7

OPTIMIZERS = {
    "adam": lambda: keras.optimizers.Adam(1e-3),
    "lazy_adam": lambda: LazyAdam(1e-3),
}


def crowd_dataset(num_items, num_annotators, batch_size, seed=0):
    """A `tf.data` stream of `(x, {"annotator_ids", "labels"})` batches.

    Batch `i` is a pure function of `(seed, i)`: features are class means
    plus noise, each item gets 2-4 distinct annotators (`R = 4` slots,
    padded with -1), and each label is the true class with probability
    0.7, else uniform.

    Args:
        num_items: N, the number of items in one pass (the last partial
            batch is dropped).
        num_annotators: M.
        batch_size: Items per batch.
        seed: Integer seed of the whole stream.

    Returns:
        A `tf.data.Dataset` of `num_items // batch_size` batches.

    Example:

    >>> data = crowd_dataset(1_000_000, 100_000, 256)
    >>> model.fit(data.repeat(), steps_per_epoch=1000)
    """
    means = tf.constant(
        np.random.default_rng(seed).normal(size=(K, D)), tf.float32
    )
    stride = max(num_annotators // R, 1)

    def make_batch(index):
        seeds = [tf.stack([tf.cast(seed, tf.int64), index * 8 + j]) for j in range(6)]
        truth = tf.random.stateless_uniform((batch_size,), seeds[0], 0, K, tf.int32)
        x = tf.gather(means, truth) + tf.random.stateless_normal((batch_size, D), seeds[1])
        first = tf.random.stateless_uniform(
            (batch_size, 1), seeds[2], 0, num_annotators, tf.int32
        )
        # Slots r = 0..R-1 get annotators first + r * (M // R) (mod M): distinct.
        ids = (first + tf.range(R, dtype=tf.int32)[None, :] * stride) % num_annotators
        count = tf.random.stateless_uniform((batch_size, 1), seeds[3], 2, R + 1, tf.int32)
        present = tf.range(R, dtype=tf.int32)[None, :] < count
        noise = tf.random.stateless_uniform((batch_size, R), seeds[4], 0, K, tf.int32)
        correct = tf.random.stateless_uniform((batch_size, R), seeds[5]) < LABEL_ACCURACY
        labels = tf.where(correct, truth[:, None], noise)
        return x, {
            "annotator_ids": tf.where(present, ids, -1),
            "labels": tf.where(present, labels, -1),
        }

    return (
        tf.data.Dataset.range(num_items // batch_size)
        .map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )


def _backbone():
    return keras.Sequential(
        [
            keras.Input((D,)),
            keras.layers.Dense(HIDDEN, activation="relu"),
            keras.layers.Dense(K, activation="softmax"),
        ]
    )


def confusion_bytes(model):
    """Bytes of the confusion logits and of the optimizer slots built on them."""
    logits = model.crowd_layer.confusion_logits
    slots = [
        v for v in model.optimizer.variables
        if tuple(v.shape) == tuple(logits.shape)
    ]
    per_tensor = int(np.prod(logits.shape)) * 4
    return per_tensor, per_tensor * len(slots)


def run(annotator_counts, optimizer_names, steps, repeats, batch_size, num_items):
    """Time every (optimizer, M) pair; return a list of result dicts."""
    results = []
    for optimizer_name in optimizer_names:
        models, streams = {}, {}
        for num_annotators in annotator_counts:
            keras.utils.set_random_seed(0)
            model = CrowdModel(_backbone(), num_annotators)
            model.compile(optimizer=OPTIMIZERS[optimizer_name]())
            stream = crowd_dataset(num_items, num_annotators, batch_size).repeat()
            seconds_per_step(model, stream, 3)  # trace, build, warm up
            models[num_annotators], streams[num_annotators] = model, stream
        times = {m: [] for m in annotator_counts}
        for _ in range(repeats):  # alternate, so machine load hits all alike
            for num_annotators in annotator_counts:
                times[num_annotators].append(
                    seconds_per_step(models[num_annotators], streams[num_annotators], steps)
                )
        base = min(annotator_counts)
        for num_annotators in annotator_counts:
            ratios = [t / b for t, b in zip(times[num_annotators], times[base])]
            logits_bytes, slot_bytes = confusion_bytes(models[num_annotators])
            results.append({
                "optimizer": optimizer_name,
                "M": num_annotators,
                "ms_per_step": 1e3 * statistics.median(times[num_annotators]),
                "ratio_vs_smallest_M": statistics.median(ratios),
                "confusion_logits_mib": logits_bytes / 2**20,
                "optimizer_slots_mib": slot_bytes / 2**20,
            })
        del models, streams
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny smoke run: M in {100, 1000}, 3 steps, 1 repeat")
    parser.add_argument("--annotators", type=positive_integer_option, nargs="+", default=None,
                        help="M values; the smallest is the baseline (default 100 100000)")
    parser.add_argument("--optimizers", nargs="+", default=sorted(OPTIMIZERS),
                        choices=sorted(OPTIMIZERS))
    parser.add_argument("--steps", type=positive_integer_option, default=None)
    parser.add_argument("--repeats", type=positive_integer_option, default=None)
    parser.add_argument("--batch-size", type=positive_integer_option, default=256)
    parser.add_argument("--json", action="store_true", help="print one JSON line per row")
    args = parser.parse_args(argv)
    annotators = args.annotators or ([100, 1000] if args.quick else [100, 100_000])
    steps = args.steps or (3 if args.quick else 200)
    repeats = args.repeats or (1 if args.quick else 5)

    print(f"N={NUM_ITEMS} items via tf.data, R={R} slots (2-4 labels/item), K={K}, "
          f"MLP {D}-{HIDDEN}-{K}, batch {args.batch_size}, {steps} steps x {repeats} "
          f"alternating repeats, TF {tf.__version__}, Keras {keras.__version__}", flush=True)
    results = run(annotators, args.optimizers, steps, repeats, args.batch_size, NUM_ITEMS)
    if args.json:
        for row in results:
            print(json.dumps(row))
    else:
        print(f"{'optimizer':>10} {'M':>8} {'ms/step':>8} {'ratio':>6} "
              f"{'logits MiB':>10} {'slots MiB':>9}")
        for row in results:
            print(f"{row['optimizer']:>10} {row['M']:>8} {row['ms_per_step']:>8.2f} "
                  f"{row['ratio_vs_smallest_M']:>6.2f} {row['confusion_logits_mib']:>10.1f} "
                  f"{row['optimizer_slots_mib']:>9.1f}")
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_rss_mib:.0f} MiB")
    return results


if __name__ == "__main__":
    main()
