"""Speed benchmark: CrowdModel epochs versus the bare backbone, side by side.

On LabelMe (batch 100) and Music (batch 64), with the anchors' classifiers,
this times, alternating in one process (the machines are noisy, so only
ratios measured side by side are reported):

- an epoch of CrowdModel (CCEM, GeoCrowdNet-F, GeoCrowdNet-W) against an
  epoch of the same backbone fit on majority-vote labels (goal: <= 1.2);
- the F and W terms against CCEM (goal: <= 1.1);
- a whole 100-epoch CCEM run under training options that cut per-step
  overhead: `steps_per_execution`, `jit_compile`, a cached `tf.data`
  pipeline. (The authors' PyTorch code, 1 thread: LabelMe CCEM ~9.7 s,
  Music ~2-3 s for 100 epochs.)

Usage:
    python benchmarks/speed.py            # full
    python benchmarks/speed.py --quick    # smoke test
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_crowd import CrowdModel  # noqa: E402
from keras_crowd import backbones  # noqa: E402
from keras_crowd import datasets  # noqa: E402
from keras_crowd import regularizers  # noqa: E402
from keras_crowd.aggregation import MajorityVote  # noqa: E402

PROBLEMS = {
    "labelme": (datasets.labelme, backbones.labelme_classifier, 100),
    "music": (datasets.music, backbones.music_classifier, 64),
}
VARIANTS = {
    "ccem": None,
    "geocrowdnet-f": lambda: regularizers.GeoCrowdNetF(0.01),
    "geocrowdnet-w": lambda: regularizers.GeoCrowdNetW(0.01),
}


def _build(kind, backbone_fn, num_annotators, compile_options):
    keras.utils.set_random_seed(0)
    if kind == "mv":
        model = backbone_fn(seed=0)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", **compile_options)
        return model
    model = CrowdModel(backbone_fn(seed=0), num_annotators,
                       regularizer=VARIANTS[kind]() if VARIANTS[kind] else None)
    model.compile(optimizer="adam", **compile_options)
    return model


def _epoch_seconds(model, x, y, batch_size, epochs):
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    return (time.perf_counter() - start) / epochs


def epoch_ratios(name, repeats, epochs):
    load, backbone_fn, batch_size = PROBLEMS[name]
    data = load()
    mv = MajorityVote(num_classes=data.num_classes).fit(data.crowd_labels).labels_
    models = {kind: _build(kind, backbone_fn, data.num_annotators, {})
              for kind in ["mv", *VARIANTS]}
    targets = {kind: (mv if kind == "mv" else data.crowd_labels) for kind in models}
    for kind, model in models.items():
        _epoch_seconds(model, data.x_train, targets[kind], batch_size, 1)  # trace
    times = {kind: [] for kind in models}
    for _ in range(repeats):
        for kind, model in models.items():
            times[kind].append(_epoch_seconds(model, data.x_train, targets[kind], batch_size, epochs))
    median = {kind: statistics.median(values) for kind, values in times.items()}
    print(f"\n{name}: median seconds per epoch over {repeats} alternating repeats of {epochs} epochs")
    for kind in VARIANTS:
        print(f"  {kind:14s} {1e3 * median[kind]:7.1f} ms/epoch   vs MV backbone "
              f"{median[kind] / median['mv']:5.2f}x   vs CCEM {median[kind] / median['ccem']:5.2f}x")
    print(f"  {'mv backbone':14s} {1e3 * median['mv']:7.1f} ms/epoch")


def whole_run_options(name, epochs):
    load, backbone_fn, batch_size = PROBLEMS[name]
    data = load()
    options = {
        "default fit": ({}, False),
        "steps_per_execution=10": ({"steps_per_execution": 10}, False),
        "steps_per_execution=50": ({"steps_per_execution": 50}, False),
        "jit_compile=True": ({"jit_compile": True}, False),
        "cached tf.data + spe=10": ({"steps_per_execution": 10}, True),
    }
    print(f"\n{name}: {epochs}-epoch CCEM run, batch {batch_size} (includes tracing)")
    for label, (compile_options, use_dataset) in options.items():
        model = _build("ccem", backbone_fn, data.num_annotators, compile_options)
        start = time.perf_counter()
        if use_dataset:
            dataset = tf.data.Dataset.from_tensor_slices((data.x_train, data.crowd_labels))
            dataset = dataset.cache().shuffle(len(data.x_train), seed=0).batch(batch_size)
            model.fit(dataset.prefetch(2), epochs=epochs, verbose=0)
        else:
            model.fit(data.x_train, data.crowd_labels, batch_size=batch_size, epochs=epochs, verbose=0)
        print(f"  {label:26s} {time.perf_counter() - start:6.1f} s", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    repeats, epochs, run_epochs = (1, 1, 2) if args.quick else (5, 5, 100)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} cores")
    for name in PROBLEMS:
        epoch_ratios(name, repeats, epochs)
        whole_run_options(name, run_epochs)


if __name__ == "__main__":
    main()
