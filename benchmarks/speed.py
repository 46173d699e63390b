"""Speed benchmark: CrowdModel epochs versus the bare backbone, side by side.

On LabelMe (batch 100) and Music (batch 64), with the anchors' classifiers,
this times, alternating in one process (the machines are noisy, so only
ratios measured side by side are reported):

- an epoch of CrowdModel (CCEM, GeoCrowdNet-F, GeoCrowdNet-W) against an
  epoch of the same backbone fit on majority-vote labels (goal: <= 1.2), and
  the F and W terms against CCEM (goal: <= 1.1), each with two input
  pipelines: Keras's own over numpy arrays (one compiled call per batch,
  a new iterator per epoch) and `keras_crowd.training.epoch_dataset` with
  one compiled call per epoch and the crowd labels validated as arrays
  (`num_classes=K`; what `train_crowd_classifier` uses);
- a whole 100-epoch CCEM run under training options that cut per-step
  overhead: `steps_per_execution`, `jit_compile`, a plain `tf.data` pipeline
  with and without `cache()`, the whole-epoch pipeline,
  and the recipe itself with and without the per-epoch held-out selection
  callback. (The authors' PyTorch code, 1 thread: LabelMe CCEM ~9.7 s,
  Music ~2-3 s for 100 epochs; `--threads 1` runs TensorFlow on one thread
  too.)

Then the same epoch ratios with a convolutional backbone (two conv layers,
as a user would train on images) on 3000 Fashion-MNIST images with a
simulated crowd (10 annotators, 3 labels per item), batch 128: the crowd
layer's cost per step is about fixed (~110 graph ops), so its share shrinks
as the backbone grows. Skipped, with a message, without the
`dataset-fashion-mnist` files.

Usage:
    python benchmarks/speed.py                 # full
    python benchmarks/speed.py --threads 1     # one intra- and inter-op thread
    python benchmarks/speed.py --quick         # smoke test
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_crowd import CrowdModel  # noqa: E402
from keras_crowd import backbones  # noqa: E402
from keras_crowd import datasets  # noqa: E402
from keras_crowd import regularizers  # noqa: E402
from keras_crowd import simulators  # noqa: E402
from keras_crowd.aggregation import MajorityVote  # noqa: E402
from keras_crowd.benchmarking.timing import EpochTimes  # noqa: E402
from keras_crowd.training import epoch_dataset  # noqa: E402
from keras_crowd.training import train_crowd_classifier  # noqa: E402
from keras_crowd.utils.arguments import positive_integer_option  # noqa: E402
from keras_crowd.utils.retracing_warnings import retracing_expected  # noqa: E402

PROBLEMS = {
    "labelme": (datasets.labelme, backbones.labelme_classifier, 100),
    "music": (datasets.music, backbones.music_classifier, 64),
}
CNN_ITEMS, CNN_QUICK_ITEMS, CNN_BATCH_SIZE = 3000, 512, 128


def fashion_mnist_cnn(seed=None):
    """The convolutional backbone of the CNN section: conv32-pool-conv64-pool-
    FC128-dropout-FC10 on 28x28x1 images."""
    initializer = keras.initializers.GlorotUniform(seed=seed)
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu", kernel_initializer=initializer),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu", kernel_initializer=initializer),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu", kernel_initializer=initializer),
        keras.layers.Dropout(0.5, seed=seed),
        keras.layers.Dense(10, activation="softmax", kernel_initializer=initializer),
    ])


def fashion_mnist_crowd(num_items):
    """`num_items` Fashion-MNIST images and a simulated crowd, as the
    attributes the timers read (`x_train`, `crowd_labels`, ...)."""
    (x, y), _ = datasets.fashion_mnist()
    x = (x[:num_items, :, :, None] / 255.0).astype("float32")
    crowd = simulators.simulate_annotators(
        y[:num_items].astype("int64"), "separable_uniform", num_annotators=10,
        num_classes=10, labels_per_item=3, seed=0)
    return argparse.Namespace(x_train=x, crowd_labels=crowd.crowd_labels, num_classes=10,
                              num_annotators=10)


VARIANTS = {
    "ccem": None,
    "geocrowdnet-f": lambda: regularizers.GeoCrowdNetF(0.01),
    "geocrowdnet-w": lambda: regularizers.GeoCrowdNetW(0.01),
}
PIPELINES = ("numpy fit", "epoch_dataset")


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


class _Trainer:
    """One model and one input pipeline; `epochs(n)` times n epochs of `fit`."""

    def __init__(self, kind, pipeline, problem, data, targets):
        _, backbone_fn, batch_size = problem
        self.x, self.y, self.batch_size = data.x_train, targets, batch_size
        self.dataset, self.steps = None, None
        options = {}
        if pipeline == "epoch_dataset":
            # Crowd labels validated as arrays, as train_crowd_classifier does.
            num_classes = None if kind == "mv" else data.num_classes
            self.dataset, self.steps = epoch_dataset(self.x, self.y, batch_size, seed=0,
                                                     num_classes=num_classes)
            options = {"steps_per_execution": self.steps}
        self.model = _build(kind, backbone_fn, data.num_annotators, options)
        self.timer = EpochTimes()
        self.epochs(1)  # trace

    def epochs(self, count):
        """`(median seconds per epoch, seconds of the fit call outside its epochs)`."""
        start = time.perf_counter()
        if self.dataset is None:
            self.model.fit(self.x, self.y, batch_size=self.batch_size, epochs=count, verbose=0,
                           callbacks=[self.timer])
        else:
            self.model.fit(self.dataset, steps_per_epoch=self.steps, epochs=count, verbose=0,
                           shuffle=False, callbacks=[self.timer])
        total = time.perf_counter() - start
        return statistics.median(self.timer.seconds), total - sum(self.timer.seconds)


def epoch_ratios(name, repeats, epochs, problem=None):
    problem = problem or PROBLEMS[name]
    data = problem[0]()
    mv = MajorityVote(num_classes=data.num_classes).fit(data.crowd_labels).labels_
    for pipeline in PIPELINES:
        trainers = {kind: _Trainer(kind, pipeline, problem, data,
                                   mv if kind == "mv" else data.crowd_labels)
                    for kind in ["mv", *VARIANTS]}
        times = {kind: [] for kind in trainers}
        overheads = {kind: [] for kind in trainers}
        for _ in range(repeats):
            for kind, trainer in trainers.items():
                epoch_seconds, fit_overhead = trainer.epochs(epochs)
                times[kind].append(epoch_seconds)
                overheads[kind].append(fit_overhead)
        print(f"\n{name}, {pipeline}: {repeats} rounds of {epochs} epochs per model, "
              f"alternating. Epoch: on_epoch_begin to on_epoch_end; ratios: median [and "
              f"interquartile range] over rounds of the ratio within a round; fit overhead: "
              f"the rest of each fit call (data adapter, checks, callbacks), median")
        for kind in ["mv", *VARIANTS]:
            label = "mv backbone" if kind == "mv" else kind
            ratios = ("" if kind == "mv" else
                      f"   vs MV backbone {_ratio(times[kind], times['mv'])}   "
                      f"vs CCEM {_ratio(times[kind], times['ccem'])}")
            print(f"  {label:14s} {1e3 * statistics.median(times[kind]):7.1f} ms/epoch{ratios}"
                  f"   fit overhead {1e3 * statistics.median(overheads[kind]):6.1f} ms",
                  flush=True)


def _ratio(numerators, denominators):
    """Median and interquartile range of paired ratios, as `1.23x [1.10-1.31]`."""
    ratios = np.asarray(numerators) / np.asarray(denominators)
    low, median, high = np.percentile(ratios, [25, 50, 75])
    return f"{median:5.2f}x [{low:.2f}-{high:.2f}]"


def _recipe_run(data, backbone_fn, batch_size, epochs, selection):
    result = train_crowd_classifier(
        data.x_train, data.crowd_labels, data.num_classes,
        lambda seed: backbone_fn(seed=seed), method="ccem", epochs=epochs,
        batch_size=batch_size, selection=selection, seed=0)
    return result.seconds


def whole_run_options(name, epochs, repeats):
    load, backbone_fn, batch_size = PROBLEMS[name]
    data = load()
    print(f"\n{name}: {epochs}-epoch CCEM run, batch {batch_size} (tracing included); "
          f"median [min-max] of {repeats} alternating runs")

    def keras_fit(compile_options, pipeline="numpy fit"):
        model = _build("ccem", backbone_fn, data.num_annotators, compile_options)
        start = time.perf_counter()
        if pipeline == "numpy fit":
            model.fit(data.x_train, data.crowd_labels, batch_size=batch_size, epochs=epochs,
                      verbose=0)
        else:
            dataset, steps = epoch_dataset(data.x_train, data.crowd_labels, batch_size, seed=0,
                                           num_classes=data.num_classes)
            model.fit(dataset, steps_per_epoch=steps, epochs=epochs, verbose=0, shuffle=False)
        return time.perf_counter() - start

    def tf_data_fit(cache):
        # A plain tf.data pipeline, as a user would write one: Keras makes a
        # new iterator every epoch and range-checks the labels as they stream.
        model = _build("ccem", backbone_fn, data.num_annotators, {})
        start = time.perf_counter()
        dataset = tf.data.Dataset.from_tensor_slices((data.x_train, data.crowd_labels))
        if cache:
            dataset = dataset.cache()
        dataset = dataset.shuffle(len(data.x_train), seed=0).batch(batch_size).prefetch(
            tf.data.AUTOTUNE)
        model.fit(dataset, epochs=epochs, verbose=0)
        return time.perf_counter() - start

    steps = -(-len(data.x_train) // batch_size)
    runs = {
        "numpy fit (Keras default)": lambda: keras_fit({}),
        "tf.data: shuffle, batch, prefetch": lambda: tf_data_fit(cache=False),
        "tf.data: cache, shuffle, batch, prefetch": lambda: tf_data_fit(cache=True),
        "numpy fit, steps_per_execution=10": lambda: keras_fit({"steps_per_execution": 10}),
        "numpy fit, jit_compile=True": lambda: keras_fit({"jit_compile": True}),
        "epoch_dataset, one call per epoch": lambda: keras_fit(
            {"steps_per_execution": steps}, "epoch_dataset"),
        "recipe, last epoch": lambda: _recipe_run(data, backbone_fn, batch_size, epochs, "last"),
        "recipe, held-out selection": lambda: _recipe_run(
            data, backbone_fn, batch_size, epochs, "heldout"),
    }
    seconds = {label: [] for label in runs}
    for _ in range(repeats):
        for label, run in runs.items():
            seconds[label].append(run())
    for label, values in seconds.items():
        print(f"  {label:42s} {statistics.median(values):6.1f} s  "
              f"[{min(values):.1f}-{max(values):.1f}]", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=positive_integer_option, default=None,
                        help="intra- and inter-op threads (default: TensorFlow's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    repeats, epochs, run_epochs, run_repeats = (1, 1, 2, 1) if args.quick else (9, 5, 100, 3)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} cores, "
          f"threads: {args.threads or 'default'}")
    # It builds and fits one new model after another, on purpose.
    with retracing_expected():
        for name in PROBLEMS:
            epoch_ratios(name, repeats, epochs)
            whole_run_options(name, run_epochs, run_repeats)
        num_items = CNN_QUICK_ITEMS if args.quick else CNN_ITEMS
        try:
            cnn_data = fashion_mnist_crowd(num_items)
        except FileNotFoundError as error:
            print(f"\nfashion-mnist CNN: skipped ({error})")
        else:
            # Conv epochs take ~1 s on one thread: fewer, shorter rounds.
            cnn_repeats, cnn_epochs = (1, 1) if args.quick else (5, 2)
            epoch_ratios(f"fashion-mnist CNN, {num_items} items", cnn_repeats, cnn_epochs,
                         problem=(lambda: cnn_data, fashion_mnist_cnn, CNN_BATCH_SIZE))


if __name__ == "__main__":
    main()
