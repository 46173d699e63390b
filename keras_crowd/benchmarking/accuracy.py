"""Accuracy benchmark: every method, several seeds, real and simulated crowds.

For each dataset, method and seed it trains the anchors' classifier with
`keras_crowd.training.train_crowd_classifier` (90% of the observed crowd
labels for training, 10% hidden for label-free selection) and records, from
the same run:

- test accuracy at the epoch chosen **without clean labels** (the held-out
  crowd-label likelihood; the headline);
- test accuracy at the epoch chosen on **clean validation labels** (LabelMe's
  validation split; a 10% split of the training items elsewhere), as the
  GeoCrowdNet authors select;
- test accuracy at the last epoch;
- the confusion-estimation error (METHOD.md): against the true confusions for
  simulated annotators, against the empirical confusions from ground truth on
  real data (labelled "empirical");
- wall time.

It writes a Markdown table to `benchmarks/RESULTS.md` (or `--output`), with
the command, the versions and the machine.

Usage (the same options three ways):
    keras-crowd benchmark --datasets labelme --methods geocrowdnet-f ccem --seeds 2
    python benchmarks/accuracy.py                      # everything, 5 seeds (long)
    python benchmarks/accuracy.py --quick              # 1 seed, 2 epochs: smoke test
"""

import argparse
import datetime
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_crowd import backbones  # noqa: E402
from keras_crowd import datasets  # noqa: E402
from keras_crowd import metrics  # noqa: E402
from keras_crowd import simulators  # noqa: E402
from keras_crowd.training import METHODS  # noqa: E402
from keras_crowd.training import train_crowd_classifier  # noqa: E402

# Per-dataset settings. Real data follows the anchors (Adam, weight decay
# 1e-4, 100 epochs); lambda values are the library's per-dataset choices.
SETTINGS = {
    "labelme": dict(batch_size=100, learning_rate=1e-3,
                    strengths={"geocrowdnet-f": 0.1, "geocrowdnet-w": 0.01, "trace": 0.01}),
    "music": dict(batch_size=64, learning_rate=1e-3,
                  strengths={"geocrowdnet-f": 0.01, "geocrowdnet-w": 0.01, "trace": 0.01}),
    "fmnist-no-experts": dict(batch_size=128, learning_rate=1e-3, epochs=30,
                              strengths={"geocrowdnet-f": 0.01, "geocrowdnet-w": 0.01, "trace": 0.01}),
    "fmnist-class-experts": dict(batch_size=128, learning_rate=1e-3, epochs=30,
                                 strengths={"geocrowdnet-f": 0.01, "geocrowdnet-w": 0.01, "trace": 0.01}),
}


class Problem:
    """Arrays of one benchmark problem."""

    def __init__(self, name, x, crowd_labels, y_train, x_test, y_test, num_classes,
                 x_valid, y_valid, true_confusions, backbone_fn):
        self.__dict__.update(locals())
        del self.__dict__["self"]


def _clean_split(x, crowd_labels, y, seed):
    """10% of the training items, with their true labels, for clean selection."""
    rng = np.random.default_rng(seed)
    valid = rng.random(len(x)) < 0.1
    return x[~valid], crowd_labels[~valid], y[~valid], x[valid], y[valid]


def _fashion_mnist_problem(name, seed, quick):
    (x_all, y_all), (x_test, y_test) = datasets.fashion_mnist()
    rng = np.random.default_rng(seed)
    size = 2000 if quick else (10000 if name == "fmnist-no-experts" else 3000)
    pick = rng.choice(len(x_all), size=size, replace=False)
    x = x_all[pick].reshape(size, -1).astype("float32") / 255.0
    y = y_all[pick].astype("int64")
    x_test = x_test.reshape(len(x_test), -1).astype("float32") / 255.0
    if name == "fmnist-no-experts":
        crowd = simulators.simulate_annotators(
            y, "separable_uniform", num_annotators=10, labels_per_item=3, seed=seed)
    else:
        crowd = simulators.simulate_annotators(
            y, "class_experts", num_annotators=10, labels_per_item=3, seed=seed)
    x, labels, y, x_valid, y_valid = _clean_split(x, crowd.crowd_labels, y, seed)
    return Problem(name, x, labels, y, x_test, y_test.astype("int64"), 10, x_valid, y_valid,
                   crowd.confusion_matrices,
                   lambda s: backbones.mlp_classifier(784, 10, hidden_units=128, seed=s))


def load_problem(name, seed, quick=False):
    if name == "labelme":
        data = datasets.labelme()
        return Problem(name, data.x_train, data.crowd_labels, data.y_train, data.x_test,
                       data.y_test, data.num_classes, data.x_valid, data.y_valid, None,
                       lambda s: backbones.labelme_classifier(seed=s))
    if name == "music":
        data = datasets.music()
        x, labels, y, x_valid, y_valid = _clean_split(
            data.x_train, data.crowd_labels, data.y_train, seed)
        return Problem(name, x, labels, y, data.x_test, data.y_test, data.num_classes,
                       x_valid, y_valid, None, lambda s: backbones.music_classifier(seed=s))
    if name.startswith("fmnist"):
        return _fashion_mnist_problem(name, seed, quick)
    raise ValueError(f"Unknown dataset {name!r}")


class EpochAccuracies(keras.callbacks.Callback):
    """Test and clean-validation accuracy at the end of every epoch."""

    def __init__(self, problem):
        super().__init__()
        self.problem, self.test, self.valid = problem, [], []
        self._predict = None

    def _accuracy(self, x, y):
        if self._predict is None:  # one traced function: much cheaper than predict()
            model = self.model
            self._predict = tf.function(lambda batch: model(batch, training=False),
                                        reduce_retracing=True)
        predictions = np.concatenate([self._predict(x[i:i + 4096]).numpy()
                                      for i in range(0, len(x), 4096)])
        return float((predictions.argmax(1) == y).mean())

    def on_epoch_end(self, epoch, logs=None):
        self.test.append(self._accuracy(self.problem.x_test, self.problem.y_test))
        self.valid.append(self._accuracy(self.problem.x_valid, self.problem.y_valid))


def run_one(problem, method, seed, epochs, holdout="labels"):
    settings = SETTINGS[problem.name]
    tracker = EpochAccuracies(problem)
    result = train_crowd_classifier(
        problem.x, problem.crowd_labels, problem.num_classes,
        lambda: problem.backbone_fn(seed), method=method,
        strength=settings["strengths"].get(method), epochs=epochs,
        batch_size=settings["batch_size"], learning_rate=settings["learning_rate"],
        seed=seed, true_labels=problem.y_train, callbacks=[tracker], holdout=holdout,
    )
    clean_epoch = int(np.argmax(tracker.valid)) + 1
    error = float("nan")
    if result.confusion_matrices is not None:
        truth = problem.true_confusions
        if truth is None:
            truth = metrics.empirical_confusion_matrices(
                problem.crowd_labels, problem.y_train, problem.num_classes)
        error = metrics.confusion_matrix_error(result.confusion_matrices, truth)
    return {
        "label_free": tracker.test[result.selected_epoch - 1],
        "clean": tracker.test[clean_epoch - 1],
        "last": tracker.test[-1],
        "error": error,
        "seconds": result.seconds,
        "selected_epoch": result.selected_epoch,
    }


def _mean_std(values, scale=100.0):
    values = [v * scale for v in values if not np.isnan(v)]
    if not values:
        return "—"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {spread:.2f}"


def write_results(rows, args, path, total_seconds, previous=""):
    lines = [previous.rstrip("\n") + "\n\n" if previous else "# Accuracy benchmark\n",
        f"Command: `{' '.join([os.path.basename(sys.argv[0])] + sys.argv[1:])}`  ",
        f"Date: {datetime.date.today()}; total wall time {total_seconds / 60:.1f} min.  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}; "
        f"Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        f"NumPy {np.__version__}.",
        "",
        f"Label-free selection hides 10% of the {args.holdout}. "
        f"{args.seeds} seeds, up to {args.epochs or '100 (real data) / 30 (Fashion-MNIST)'} epochs, "
        "Adam with weight decay 1e-4. Test accuracy (%) "
        "mean ± std over seeds. **Label-free**: epoch chosen by the likelihood of 10% held-out crowd "
        "labels (the default of `keras-crowd train`). **Clean**: epoch chosen on clean validation "
        "labels (LabelMe's validation split; 10% of the training items elsewhere), as the authors "
        "select. Confusion error: mean relative Frobenius error after permutation matching, against "
        "the true confusions (simulated) or the *empirical* confusions from ground truth (real data).",
        "",
        "| dataset | method | label-free | clean | last epoch | confusion error | seconds / run |",
        "|---|---|---|---|---|---|---|",
    ]
    for (dataset, method), runs in rows.items():
        error_kind = "empirical " if dataset in ("labelme", "music") else ""
        error = _mean_std([r["error"] for r in runs], scale=1.0)
        lines.append(
            f"| {dataset} | {method} | {_mean_std([r['label_free'] for r in runs])} | "
            f"{_mean_std([r['clean'] for r in runs])} | {_mean_std([r['last'] for r in runs])} | "
            f"{(error_kind + error) if error != '—' else '—'} | "
            f"{statistics.mean(r['seconds'] for r in runs):.1f} |"
        )
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(temporary, path)


def main(argv=None, default_output="RESULTS.md", prog=None):
    """Run the benchmark with command-line style arguments.

    Args:
        argv: The arguments (default `sys.argv[1:]`); `--help` lists them.
        default_output: Where the Markdown table goes without `--output`.
        prog: Program name shown in `--help`.
    """
    parser = argparse.ArgumentParser(
        prog=prog, description="keras_crowd accuracy benchmark",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Examples:\n"
               "  keras-crowd benchmark --quick                  # 1 seed, 2 epochs (smoke test)\n"
               "  keras-crowd benchmark --datasets labelme music --seeds 5\n"
               "  keras-crowd benchmark --methods geocrowdnet-f ccem dl-mv --holdout items\n"
               "  python benchmarks/accuracy.py --seeds 3         # writes benchmarks/RESULTS.md",
    )
    parser.add_argument("--datasets", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs for every dataset (default: 100 on real data, 30 on Fashion-MNIST)")
    parser.add_argument("--output", default=default_output)
    parser.add_argument("--quick", action="store_true", help="1 seed, 2 epochs, small data")
    parser.add_argument("--holdout", choices=["labels", "items"], default="labels",
                        help="what label-free selection hides: random labels or whole items")
    parser.add_argument("--append", action="store_true",
                        help="add this run's table to the existing --output file")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs = 1, 2
    rows = {}
    start = time.perf_counter()
    previous = ""
    if args.append and os.path.exists(args.output):
        with open(args.output, encoding="utf-8") as handle:
            previous = handle.read()
    for dataset in args.datasets:
        for seed in range(args.seeds):
            problem = load_problem(dataset, seed, quick=args.quick)
            for method in args.methods:
                epochs = args.epochs or SETTINGS[dataset].get("epochs", 100)
                run = run_one(problem, method, seed, epochs, args.holdout)
                rows.setdefault((dataset, method), []).append(run)
                rows_done = sum(len(v) for v in rows.values())
                print(f"[{rows_done}] {dataset:22s} {method:14s} seed {seed}: label-free {run['label_free']:.4f} "
                      f"clean {run['clean']:.4f} last {run['last']:.4f} "
                      f"({run['seconds']:.1f} s, epoch {run['selected_epoch']})", flush=True)
                # Rewritten after every run, so a long benchmark cut short keeps its rows.
                write_results(rows, args, args.output, time.perf_counter() - start, previous)
    print(f"wrote {args.output}")

