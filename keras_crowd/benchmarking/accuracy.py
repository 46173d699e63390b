"""Accuracy benchmark: every method, several seeds, real and simulated crowds.

For each dataset, method and seed it trains the anchors' classifier with
`keras_crowd.training.train_crowd_classifier` (90% of the observed crowd
labels for training, 10% hidden for label-free selection) and records, from
the same run:

- test accuracy **without clean labels** (lambda and the epoch from the
  held-out crowd-label likelihood), of the ensemble of `--ensemble-size`
  classifiers (the headline, and the default of `keras-crowd train`) and of
  its first member alone;
- test accuracy at the epoch chosen on **clean validation labels** (LabelMe's
  validation split; a 10% split of the training items elsewhere), as the
  GeoCrowdNet authors select;
- test accuracy at the last epoch;
- the confusion-estimation error (mean relative Frobenius error after
  permutation matching, GeoCrowdNet's metric): against the true confusions for
  simulated annotators, against the empirical confusions from ground truth on
  real data (labelled "empirical");
- wall time.

It writes a Markdown table to `--output` (`RESULTS.md` for `keras-crowd
benchmark`, `benchmarks/RESULTS.md` for the script), with the command, the
versions and the machine; an existing file is only added to (`--append`) or
replaced (`--overwrite`) when asked.

Usage (the same options three ways):
    keras-crowd benchmark --datasets labelme --methods geocrowdnet-f ccem --seeds 2
    python benchmarks/accuracy.py --output all.md      # everything, 5 seeds (long)
    python benchmarks/accuracy.py --quick --output quick.md   # 1 seed, 2 epochs: smoke test
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
from keras_crowd.training import CROWD_METHODS  # noqa: E402
from keras_crowd.training import DEFAULT_ENSEMBLE_SIZE  # noqa: E402
from keras_crowd.training import METHODS  # noqa: E402
from keras_crowd.training import STRENGTH_GRIDS  # noqa: E402
from keras_crowd.training import train_crowd_classifier  # noqa: E402

# Per-dataset settings. Real data follows the anchors (Adam, weight decay
# 1e-4, 100 epochs). Every regularized method runs with strength="auto":
# label-free, lambda is chosen from STRENGTH_GRIDS by held-out crowd labels;
# with clean selection, by clean validation accuracy over the same grid.
SETTINGS = {
    "labelme": dict(batch_size=100, learning_rate=1e-3),
    "music": dict(batch_size=64, learning_rate=1e-3),
    "fmnist-no-experts": dict(batch_size=128, learning_rate=1e-3, epochs=30),
    "fmnist-class-experts": dict(batch_size=128, learning_rate=1e-3, epochs=30),
    "fmnist-machine-annotators": dict(batch_size=128, learning_rate=1e-3, epochs=30),
}
# Items per simulated Fashion-MNIST crowd: the no-specialist regimes have
# "much data", the class experts less (GeoCrowdNet's two regimes).
FASHION_MNIST_ITEMS = {
    "fmnist-no-experts": 10000,
    "fmnist-class-experts": 3000,
    "fmnist-machine-annotators": 10000,
}


class Problem:
    """Arrays of one benchmark problem.

    `x`, `crowd_labels`, `y_train` are all the crowd-labelled training items:
    label-free runs train on them (a user without clean labels has nothing
    to set aside). `clean_train` is `(x, crowd_labels, y)` of the items that
    clean-selection runs train on: all of them when the dataset has its own
    validation split (LabelMe), else the 90% left after carving
    `x_valid, y_valid` out of the training items, as the authors do.
    """

    def __init__(self, name, x, crowd_labels, y_train, x_test, y_test, num_classes,
                 x_valid, y_valid, true_confusions, backbone_fn, clean_train=None):
        self.__dict__.update(locals())
        del self.__dict__["self"]
        if clean_train is None:
            self.clean_train = (x, crowd_labels, y_train)


def _with_clean_split(x, crowd_labels, y, seed):
    """Problem arguments with 10% of the items set aside (true labels) for clean selection."""
    rng = np.random.default_rng(seed)
    valid = rng.random(len(x)) < 0.1
    return dict(x=x, crowd_labels=crowd_labels, y_train=y, x_valid=x[valid], y_valid=y[valid],
                clean_train=(x[~valid], crowd_labels[~valid], y[~valid]))


def _fashion_mnist_problem(name, seed, quick):
    (x_all, y_all), (x_test, y_test) = datasets.fashion_mnist()
    rng = np.random.default_rng(seed)
    size = 2000 if quick else FASHION_MNIST_ITEMS[name]
    pick = rng.choice(len(x_all), size=size, replace=False)
    x = x_all[pick].reshape(size, -1).astype("float32") / 255.0
    y = y_all[pick].astype("int64")
    x_test = x_test.reshape(len(x_test), -1).astype("float32") / 255.0
    if name == "fmnist-no-experts":
        crowd = simulators.simulate_annotators(
            y, "separable_uniform", num_annotators=10, labels_per_item=3, seed=seed)
    elif name == "fmnist-machine-annotators":
        # The paper's regime without specialists, as examples/paper_regimes.py
        # builds it: 5 softmax regressions trained on 20-100 images each,
        # 60% of their labels missing.
        crowd = simulators.simulate_machine_annotators(
            x, y, num_annotators=5, train_size=[20, 40, 60, 80, 100], num_classes=10,
            missing_rate=0.6, seed=seed)
    else:
        crowd = simulators.simulate_annotators(
            y, "class_experts", num_annotators=10, labels_per_item=3, seed=seed)
    return Problem(name, x_test=x_test, y_test=y_test.astype("int64"), num_classes=10,
                   true_confusions=crowd.confusion_matrices,
                   backbone_fn=lambda seed: backbones.mlp_classifier(784, 10, hidden_units=128,
                                                                     seed=seed),
                   **_with_clean_split(x, crowd.crowd_labels, y, seed))


def load_problem(name, seed, quick=False):
    if name == "labelme":
        data = datasets.labelme()
        return Problem(name, data.x_train, data.crowd_labels, data.y_train, data.x_test,
                       data.y_test, data.num_classes, data.x_valid, data.y_valid, None,
                       lambda seed: backbones.labelme_classifier(seed=seed))
    if name == "music":
        data = datasets.music()
        return Problem(name, x_test=data.x_test, y_test=data.y_test,
                       num_classes=data.num_classes, true_confusions=None,
                       backbone_fn=lambda seed: backbones.music_classifier(seed=seed),
                       **_with_clean_split(data.x_train, data.crowd_labels, data.y_train, seed))
    if name.startswith("fmnist"):
        return _fashion_mnist_problem(name, seed, quick)
    raise ValueError(f"Unknown dataset {name!r}")


class EpochAccuracies(keras.callbacks.Callback):
    """Test and clean-validation accuracy at the end of every epoch.

    One list per `fit` (`strength="auto"` fits once per candidate lambda).
    """

    def __init__(self, problem):
        super().__init__()
        self.problem, self.test, self.valid = problem, [], []
        self._predict = None

    def on_train_begin(self, logs=None):
        self.test.append([])
        self.valid.append([])
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
        self.test[-1].append(self._accuracy(self.problem.x_test, self.problem.y_test))
        self.valid[-1].append(self._accuracy(self.problem.x_valid, self.problem.y_valid))


def _test_accuracy(classifier, problem):
    probabilities = classifier.predict(problem.x_test, batch_size=4096, verbose=0)
    return float((probabilities.argmax(1) == problem.y_test).mean())


def run_one(problem, method, seed, epochs, holdout="labels", ensemble_size=1,
            common_confusion=False):
    """Label-free and clean-selected runs of one method on one problem."""
    settings = SETTINGS[problem.name]
    strength = "auto" if method in STRENGTH_GRIDS else None

    def train(x, crowd_labels, true_labels, tracker, **overrides):
        options = dict(
            method=method, strength=strength, epochs=epochs,
            batch_size=settings["batch_size"], learning_rate=settings["learning_rate"],
            seed=seed, true_labels=true_labels, callbacks=[tracker], holdout=holdout,
            common_confusion=common_confusion,
        )
        options.update(overrides)
        return train_crowd_classifier(x, crowd_labels, problem.num_classes,
                                      problem.backbone_fn, **options)

    # Label-free: every crowd-labelled item; lambda and epoch from held-out
    # crowd labels; with ensemble_size > 1, the members' average.
    label_free = EpochAccuracies(problem)
    result = train(problem.x, problem.crowd_labels, problem.y_train, label_free,
                   ensemble_size=ensemble_size)
    first = result.members[0] if result.members else result
    chosen = 0
    if first.strength_candidates:
        chosen = [c.strength for c in first.strength_candidates].index(first.strength)
    # Clean selection, as the authors select: one model per candidate lambda,
    # trained on all the labels of the items outside the clean validation
    # split; the (lambda, epoch) with the best clean validation accuracy is kept.
    clean = EpochAccuracies(problem)
    candidates = STRENGTH_GRIDS[method] if strength == "auto" else (strength,)
    for candidate in candidates:
        train(*problem.clean_train, clean, strength=candidate, selection="last")
    fit, epoch = max(((f, e) for f, run in enumerate(clean.valid) for e in range(len(run))),
                     key=lambda pair: clean.valid[pair[0]][pair[1]])
    error = float("nan")
    if result.confusion_matrices is not None:
        truth = problem.true_confusions
        if truth is None:
            truth = metrics.empirical_confusion_matrices(
                problem.crowd_labels, problem.y_train, problem.num_classes)
        error = metrics.confusion_matrix_error(result.confusion_matrices, truth)
    return {
        "label_free": _test_accuracy(result.classifier, problem),
        "single": label_free.test[chosen][_kept_epoch_index(first.selected_epoch)],
        "clean": clean.test[fit][epoch],
        "last": label_free.test[chosen][-1],
        "strength": result.strength,
        "error": error,
        "seconds": result.seconds,
        "selected_epoch": first.selected_epoch,
    }


def _kept_epoch_index(selected_epoch):
    """Index, in a run's per-epoch list, of the epoch whose model was kept.

    A run whose held-out score was never finite (it diverged) has no
    selected epoch; it keeps its last epoch's weights (`HeldOutCrowdLikelihood`
    warns), so its last epoch is the one to report.
    """
    return -1 if selected_epoch is None else selected_epoch - 1


def _mean_std(values, scale=100.0):
    values = [v * scale for v in values if not np.isnan(v)]
    if not values:
        return "—"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {spread:.2f}"


def _strengths(runs):
    values = [r.get("strength") for r in runs]
    if all(value is None for value in values):
        return "—"
    return ", ".join("—" if value is None else f"{value:g}" for value in values)


def _seed_range(args):
    first = getattr(args, "first_seed", 0)
    return f"seed {first}" if args.seeds == 1 else f"seeds {first}-{first + args.seeds - 1}"


def write_results(rows, args, path, total_seconds, previous=""):
    lines = [previous.rstrip("\n") + "\n\n" if previous else "# Accuracy benchmark\n",
        f"Command: `{' '.join(args.command)}`  ",
        f"Date: {datetime.date.today()}; total wall time {total_seconds / 60:.1f} min.  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}; "
        f"Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        f"NumPy {np.__version__}.",
        "",
        f"{_seed_range(args).capitalize()}, up to {args.epochs or '100 (real data) / 30 (Fashion-MNIST)'} epochs, "
        "Adam (lr 1e-3, weight decay 1e-4), the anchors' classifiers. Test accuracy (%), mean ± std "
        "over seeds.",
        "",
        "- **Label-free, 1 model**: "
        + ("trained on every crowd-labelled item with 10% of the labels held out"
           if args.holdout == "labels" else
           "trained on 90% of the crowd-labelled items, the other 10% held out with all "
           "their labels")
        + "; the epoch is the one that best predicts the held-out crowd labels, and for F, W "
        "and Trace lambda is chosen from `STRENGTH_GRIDS` (0 included) by "
        "the one-standard-error rule on that likelihood (`strength=\"auto\"`). *lambda per "
        "seed* lists the choices.",
        f"- **Label-free, ensemble of {args.ensemble_size}**"
        + (" (the default of `keras-crowd train`)"
           if args.ensemble_size == DEFAULT_ENSEMBLE_SIZE else "")
        + f": that model and {args.ensemble_size - 1} more trained with the same lambda "
        "from other seeds, each hiding its own 10% fold; their probabilities averaged "
        f"(`ensemble_size={args.ensemble_size}`).",
        "- **Clean**: as the authors select. Trained on all the labels of the items outside the "
        "clean validation split (LabelMe's own validation set; elsewhere 10% of the training "
        "items, which label-free runs do train on), once per lambda of the same grid; the "
        "(lambda, epoch) with the best clean validation accuracy is kept.",
        "- **Last epoch**: the label-free model's chosen lambda at its last epoch.",
        "- Confusion error (of the ensemble's mean confusion matrices): mean relative Frobenius "
        "error after permutation matching, against the true confusions (simulated; for "
        "machine annotators, their empirical confusions on all the items) or the "
        "*empirical* confusions from ground truth (real data); with + common, of the "
        "annotators' own matrices only.",
        "- Seconds: the label-free ensemble, all candidate lambdas included.",
        *(["- **+ common**: the crowd methods also learn a confusion matrix that the "
           "annotators share, gated per item and annotator (`common_confusion=True`, "
           "`keras_crowd.layers.CommonConfusion`); label-free selection scores the same "
           "mixture."] if args.common_confusion else []),
        "",
        f"| dataset | method | lambda per seed | label-free, ensemble of {args.ensemble_size} | "
        "label-free, 1 model | clean | last epoch | confusion error | seconds / run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (dataset, method), runs in rows.items():
        error_kind = "empirical " if dataset in ("labelme", "music") else ""
        error = _mean_std([r["error"] for r in runs], scale=1.0)
        lines.append(
            f"| {dataset} | {method}{' + common' if _common(args, method) else ''} | "
            f"{_strengths(runs)} | "
            f"{_mean_std([r['label_free'] for r in runs])} | "
            f"{_mean_std([r['single'] for r in runs])} | "
            f"{_mean_std([r['clean'] for r in runs])} | {_mean_std([r['last'] for r in runs])} | "
            f"{(error_kind + error) if error != '—' else '—'} | "
            f"{statistics.mean(r['seconds'] for r in runs):.1f} |"
        )
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(temporary, path)


def _common(args, method):
    return args.common_confusion and method in CROWD_METHODS


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
               "  python benchmarks/accuracy.py --seeds 3 --append  # adds to benchmarks/RESULTS.md",
    )
    parser.add_argument("--datasets", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds run from this one up (e.g. fresh seeds to check a choice "
                             "made on seeds 0-4)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs for every dataset (default: 100 on real data, 30 on Fashion-MNIST)")
    parser.add_argument("--output", default=default_output)
    parser.add_argument("--quick", action="store_true", help="1 seed, 2 epochs, small data")
    parser.add_argument("--holdout", choices=["labels", "items"], default="labels",
                        help="what label-free selection hides: random labels or whole items")
    parser.add_argument("--ensemble-size", type=int, default=5,
                        help="label-free classifiers averaged per run (1: a single model)")
    parser.add_argument("--common-confusion", action="store_true",
                        help="crowd methods also learn a shared, gated confusion matrix "
                             "(common_confusion=True)")
    parser.add_argument("--append", action="store_true",
                        help="add this run's table at the end of the existing --output file")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --output file (without it, or --append, an "
                             "existing file is never replaced)")
    args = parser.parse_args(argv)
    # The arguments that ran (not sys.argv, which differs when main is called
    # with argv: `keras-crowd benchmark` through click, or from Python).
    args.command = [prog or os.path.basename(sys.argv[0]),
                    *(sys.argv[1:] if argv is None else argv)]
    if args.ensemble_size < 1:
        parser.error(f"--ensemble-size must be >= 1; got {args.ensemble_size}")
    if args.seeds < 1 or args.first_seed < 0:
        parser.error(f"--seeds must be >= 1 and --first-seed >= 0; got {args.seeds} and "
                     f"{args.first_seed}")
    if args.append and args.overwrite:
        parser.error("--append and --overwrite exclude each other")
    if os.path.exists(args.output) and not (args.append or args.overwrite):
        # E.g. `python benchmarks/accuracy.py --quick` would replace the whole
        # record in benchmarks/RESULTS.md with one smoke-test table.
        parser.error(f"{args.output} exists: pass --output FILE for a new file, --append to "
                     "add this run's table to it, or --overwrite to replace it")
    if args.quick:
        args.seeds, args.epochs, args.ensemble_size = 1, 2, min(args.ensemble_size, 2)
    rows = {}
    start = time.perf_counter()
    previous = ""
    if args.append and os.path.exists(args.output):
        with open(args.output, encoding="utf-8") as handle:
            previous = handle.read()
    for dataset in args.datasets:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            problem = load_problem(dataset, seed, quick=args.quick)
            for method in args.methods:
                epochs = args.epochs or SETTINGS[dataset].get("epochs", 100)
                run = run_one(problem, method, seed, epochs, args.holdout, args.ensemble_size,
                              _common(args, method))
                rows.setdefault((dataset, method), []).append(run)
                rows_done = sum(len(v) for v in rows.values())
                print(f"[{rows_done}] {dataset:22s} {method:14s} seed {seed}: label-free {run['label_free']:.4f} "
                      f"(1 model {run['single']:.4f}) clean {run['clean']:.4f} last {run['last']:.4f} "
                      f"({run['seconds']:.1f} s, epoch {run['selected_epoch']})", flush=True)
                # Rewritten after every run, so a long benchmark cut short keeps its rows.
                write_results(rows, args, args.output, time.perf_counter() - start, previous)
    print(f"wrote {args.output}")

