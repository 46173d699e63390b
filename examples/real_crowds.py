"""Real crowds, Music and LabelMe: every method, with label-free model selection.

What it shows: `keras_crowd.training.train_crowd_classifier` trains each
method on the bundled real crowds (Music: 44 Mechanical Turk workers, 700
songs; LabelMe: 59 annotators, 1000 images) with the authors' classifiers
(`music_classifier`, `labelme_classifier`). No clean label is used to
choose the epoch or lambda: 10% of the crowd labels are held out, the epoch
that predicts them best is kept, and for the regularized methods lambda is
chosen the same way (`strength="auto"`). As `keras-crowd train` does, each method
averages an ensemble of 5 classifiers (`ensemble_size=5`: other seeds, other held-out
folds, the first member's lambda). The table reports test accuracy (the true test
labels are used only there) and the selected epochs.

Methods: ccem (crowd layer), geocrowdnet-f, geocrowdnet-w, trace (crowd
layer + regularizer, lambda chosen label-free as `keras-crowd train` does),
dl-mv and dl-ds (the same classifier trained
on majority-vote / Dawid-Skene labels).

Time on 2 CPU cores (measured): 230 s by default (100 epochs; per
dataset, 17 trainings -- 6 lambda values for F, 4 for W and Trace, one run for
each other method -- then 4 more ensemble members per method), 13 s with ``--quick``
(1 epoch, 3 methods, single models).

Usage:
    python examples/real_crowds.py [--quick] [--epochs E] [--seeds S]
                                   [--ensemble-size N]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

from keras_crowd import backbones  # noqa: E402
from keras_crowd import datasets  # noqa: E402
from keras_crowd.metrics import aggregation_accuracy  # noqa: E402
from keras_crowd.training import DEFAULT_ENSEMBLE_SIZE  # noqa: E402
from keras_crowd.training import STRENGTH_GRIDS  # noqa: E402
from keras_crowd.training import train_crowd_classifier  # noqa: E402
from keras_crowd.utils.arguments import positive_integer_option  # noqa: E402

ALL_METHODS = ("ccem", "geocrowdnet-f", "geocrowdnet-w", "trace", "dl-mv", "dl-ds")
QUICK_METHODS = ("ccem", "geocrowdnet-w", "dl-mv")
DATASETS = {
    "music": (datasets.music, backbones.music_classifier),
    "labelme": (datasets.labelme, backbones.labelme_classifier),
}


def evaluate_method(data, classifier_fn, method, epochs, seed, ensemble_size):
    """Test accuracy and selected epochs of one method on one dataset."""
    result = train_crowd_classifier(
        data.x_train, data.crowd_labels, data.num_classes,
        lambda seed: classifier_fn(data.x_train.shape[1], data.num_classes, seed=seed),
        method=method, strength="auto" if method in STRENGTH_GRIDS else None,
        epochs=epochs, seed=seed, ensemble_size=ensemble_size)
    probabilities = result.classifier.predict(data.x_test, verbose=0)
    selected = [m.selected_epoch for m in result.members] or [result.selected_epoch]
    return aggregation_accuracy(probabilities, data.y_test), selected


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run (a smoke test)")
    parser.add_argument("--epochs", type=positive_integer_option, default=None)
    parser.add_argument("--seeds", type=positive_integer_option, default=1,
                        help="seeds to average over")
    parser.add_argument("--ensemble-size", type=positive_integer_option, default=None,
                        help=f"classifiers averaged per method (default "
                             f"{DEFAULT_ENSEMBLE_SIZE}; 1 with --quick)")
    args = parser.parse_args(argv)
    epochs = args.epochs or (1 if args.quick else 100)
    ensemble_size = args.ensemble_size or (1 if args.quick else DEFAULT_ENSEMBLE_SIZE)
    methods = QUICK_METHODS if args.quick else ALL_METHODS
    started = time.perf_counter()

    table = {}
    for name, (load, classifier_fn) in DATASETS.items():
        data = load()
        print(f"{name}: {data}")
        for method in methods:
            runs = [evaluate_method(data, classifier_fn, method, epochs, seed, ensemble_size)
                    for seed in range(args.seeds)]
            accuracies, selected = zip(*runs)
            table[name, method] = (np.mean(accuracies), np.std(accuracies), selected)
            print(f"  {method:14s} test accuracy {np.mean(accuracies):.4f}  "
                  f"selected epoch(s) {list(selected)}", flush=True)

    print()
    print(f"Test accuracy, label-free selection, {epochs} epochs, {args.seeds} seed(s), "
          f"ensembles of {ensemble_size}")
    print(f"{'method':14s}" + "".join(f"{name:>18s}" for name in DATASETS))
    for method in methods:
        cells = []
        for name in DATASETS:
            mean, spread, _ = table[name, method]
            cells.append(f"{mean:.4f}" + (f" ± {spread:.4f}" if args.seeds > 1 else ""))
        print(f"{method:14s}" + "".join(f"{cell:>18s}" for cell in cells))
    print(f"total time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
