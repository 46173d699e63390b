"""``keras-crowd train``: crowd labels in, a denoised, exported classifier out.

With no arguments it trains `keras_crowd.training.DEFAULT_METHOD` on the
bundled LabelMe crowd with the authors' LabelMe classifier and label-free
model selection (lambda and epoch from held-out crowd labels), compares it with the
majority-vote baseline, draws what each annotator does and exports the
classifier for TF Serving.
"""

import dataclasses
import datetime
import inspect
import json
import pathlib
import time
import warnings

import click
import keras
import numpy as np
import pandas as pd

from keras_crowd.callbacks import ConfusionMatrixImages
from keras_crowd.callbacks import RunSummary
from keras_crowd.data import EmptyTaskWarning
from keras_crowd.cli import common
from keras_crowd.cli import inputs
from keras_crowd.cli import saved_models
from keras_crowd.cli import strategies
from keras_crowd.cli.annotator_report import summarize_annotators
from keras_crowd.cli.annotator_report import write_annotator_report
from keras_crowd.metrics import aggregation_accuracy
from keras_crowd.training import DEFAULT_ENSEMBLE_SIZE
from keras_crowd.training import DEFAULT_METHOD
from keras_crowd.training import DEFAULT_STRENGTHS
from keras_crowd.training import METHODS
from keras_crowd.training import STRENGTH_GRIDS
from keras_crowd.training import train_crowd_classifier
from keras_crowd.training.recipes import CROWD_METHODS
from keras_crowd.training.recipes import SELECTIONS
from keras_crowd.utils.atomic_files import atomic_path

# Everything but "oracle", which needs the true training labels.
TRAIN_METHODS = tuple(m for m in METHODS if m != "oracle")
BASELINE_METHOD = "dl-mv"
BASELINE_DESCRIPTION = (
    "dl-mv: the same backbone and settings, trained on the majority-vote labels "
    "(ties to the smallest class)"
)
INITIALIZERS = ("identity", "diagonally_dominant", "dawid_skene")
DEFAULT_DATASET = "labelme"
MODEL_FILE = "model.keras"
MEMBER_MODEL_FILE = "member_{index}.keras"
METADATA_FILE = "crowd_metadata.json"
REPORT_FILE = "report.json"
# The recipe's own defaults, so the CLI follows the library when they change.
RECIPE_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(train_crowd_classifier).parameters.items()
    if parameter.default is not inspect.Parameter.empty
}


def backbone_factory(data):
    """The classifier to train: the authors' one for a bundled dataset, else an MLP.

    Args:
        data: The `inputs.CrowdData`.

    Returns:
        A callable `backbone_fn(seed)` building a fresh classifier with
        initial weights drawn from `seed`.
    """
    from keras_crowd import backbones

    builders = {"labelme": backbones.labelme_classifier, "music": backbones.music_classifier}
    builder = builders.get(data.name) if data.source == "bundled" else None
    builder = builder or backbones.mlp_classifier
    input_dim, num_classes = data.x.shape[1], data.num_classes
    return lambda seed: builder(input_dim, num_classes, seed=seed)


def regularizer_strength(method, strength, selection):
    """The lambda to train with, and where it comes from.

    ``--lambda`` wins; else ``auto`` (chosen from held-out crowd labels by
    `keras_crowd.selection.choose_strength`) under ``--selection heldout``;
    else the method's default (`keras_crowd.training.DEFAULT_STRENGTHS`).

    Returns:
        `(strength, source)`, both None for methods without a regularizer.
    """
    if method not in STRENGTH_GRIDS:
        if strength is not None:
            raise click.UsageError(f"--lambda is for {', '.join(STRENGTH_GRIDS)}; "
                                   f"{method} has no regularizer.")
        return None, None
    if strength == "auto" and selection != "heldout":
        raise click.UsageError("--lambda auto scores each lambda on held-out crowd labels; "
                               "it needs --selection heldout.")
    if strength is not None:
        return strength, "--lambda"
    if selection == "heldout":
        return "auto", "label-free (keras_crowd.selection.choose_strength)"
    return DEFAULT_STRENGTHS[method], "keras_crowd.training.DEFAULT_STRENGTHS"


class StrengthParameter(click.ParamType):
    """A non-negative float, or ``auto``."""

    name = "LAMBDA|auto"

    def convert(self, value, param, ctx):
        if isinstance(value, float) or value == "auto":
            return value
        try:
            number = float(value)
        except ValueError:
            self.fail(f"{value!r} is neither a number nor 'auto'.", param, ctx)
        if not number >= 0 or number == float("inf"):
            self.fail(f"{value!r} must be a finite number >= 0.", param, ctx)
        return number


def check_labels_can_be_held_out(crowd_labels, holdout_fraction, seed):
    """Fails early, with advice, when ``--selection heldout`` would hold out nothing."""
    from keras_crowd.selection import split_observed_labels

    _, heldout = split_observed_labels(crowd_labels, holdout_fraction, seed=seed)
    if not np.any(heldout >= 0):
        raise click.UsageError(
            "No crowd label can be held out for --selection heldout: every item and "
            "annotator keeps at least one label, which here leaves none to hide. Use "
            "--selection last, or a larger --holdout-fraction."
        )


def tensorboard_run_name(run_index, method, strength, num_strengths):
    """The TensorBoard subdirectory of one training run of `train_crowd_classifier`.

    The recipe trains ensemble member 0 once per candidate lambda
    (`num_strengths` runs; 1 unless ``--lambda auto``), then each further
    member once; the names follow that order and number the runs like
    `RunSummary`'s ``fit N`` lines.

    Args:
        run_index: 0-based index of the run among those of the method.
        method: The training method.
        strength: The run's lambda, or None for a method without one.
        num_strengths: How many lambdas member 0 tries.

    Returns:
        A name like ``fit03_geocrowdnet-f_lambda0.03_member0``.

    Example:

    >>> [tensorboard_run_name(i, "trace", 0.01, 1) for i in (0, 1)]
    ['fit01_trace_lambda0.01_member0', 'fit02_trace_lambda0.01_member1']
    """
    member = 0 if run_index < num_strengths else run_index - num_strengths + 1
    lambda_part = "" if strength is None else f"_lambda{strength:g}"
    return f"fit{run_index + 1:02d}_{method}{lambda_part}_member{member}"


class ConfusionImagesPerRun(keras.callbacks.Callback):
    """`ConfusionMatrixImages` in a subdirectory of `log_dir` for each `fit`.

    `train_crowd_classifier` passes the same callbacks to every model it
    trains (each lambda of ``--lambda auto``, each ensemble member); one
    event folder per run keeps their epochs apart, and TensorBoard lists
    them as separate runs.

    Args:
        log_dir: The parent folder (TensorBoard's ``--logdir``).
        run_name: `run_name(run_index, model)` -> the run's subdirectory.
    """

    def __init__(self, log_dir, run_name):
        super().__init__()
        self.log_dir = pathlib.Path(log_dir)
        self.run_name = run_name
        self.run_dirs = []
        self._images = None

    def on_train_begin(self, logs=None):
        run_dir = self.log_dir / self.run_name(len(self.run_dirs), self.model)
        self.run_dirs.append(run_dir)
        self._images = ConfusionMatrixImages(str(run_dir))
        self._images.set_model(self.model)
        self._images.set_params(self.params)
        self._images.on_train_begin(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._images.on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        self._images.on_train_end(logs)


def _confusion_images_per_run(log_dir, method, strength):
    """The ``--tensorboard-dir`` callback for `method` trained with `strength`."""
    num_strengths = len(STRENGTH_GRIDS[method]) if strength == "auto" else 1

    def run_name(run_index, model):
        regularizer = getattr(model, "regularizer", None)
        run_strength = (getattr(regularizer, "strength", 0.0)
                        if method in STRENGTH_GRIDS else None)
        return tensorboard_run_name(run_index, method, run_strength, num_strengths)

    return ConfusionImagesPerRun(log_dir, run_name)


def _fit_callbacks(verbose):
    """Keras verbosity and progress callbacks: by default one line per fit."""
    if verbose is not None:
        return verbose, []
    return 0, [RunSummary(print_fn=click.echo)]


def _test_accuracy(classifier, data):
    if data.x_test is None:
        return None
    probabilities = classifier.predict(data.x_test, batch_size=1024, verbose=0)
    return aggregation_accuracy(probabilities, data.y_test)


def _majority_vote_label_accuracy(data):
    if data.y_train is None:
        return None
    from keras_crowd.aggregation import MajorityVote

    labels = MajorityVote(num_classes=data.num_classes).fit(data.crowd_labels).labels_
    return aggregation_accuracy(labels, data.y_train)


def _listed_paths(artifacts):
    """Every path string in a report's ``artifacts`` (nested dicts and lists)."""
    if isinstance(artifacts, dict):
        return [path for value in artifacts.values() for path in _listed_paths(value)]
    if isinstance(artifacts, (list, tuple)):
        return [path for value in artifacts for path in _listed_paths(value)]
    return [artifacts] if isinstance(artifacts, str) else []


def previous_run_files(output_dir):
    """The files a previous run wrote in `output_dir`, from its report.json.

    Args:
        output_dir: The run folder.

    Returns:
        The set of resolved paths inside `output_dir` that its report.json
        lists as artifacts (the export, elsewhere, is never included); empty
        if there is no readable report.
    """
    report_path = pathlib.Path(output_dir) / REPORT_FILE
    try:
        artifacts = json.loads(report_path.read_text(encoding="utf-8")).get("artifacts", {})
    except (OSError, ValueError, AttributeError):
        return set()
    folder = pathlib.Path(output_dir).resolve()
    paths = {pathlib.Path(path).resolve() for path in _listed_paths(artifacts)}
    return {path for path in paths if path.parent == folder}


def remove_stale_files(previous_files, artifacts):
    """Delete the previous run's files that this run did not write again.

    Returns:
        The number of files removed.
    """
    current = {pathlib.Path(path).resolve() for path in _listed_paths(artifacts)}
    stale = [path for path in previous_files - current if path.is_file()]
    for path in stale:
        path.unlink()
    return len(stale)


def _class_prior(result, data):
    """The classifier's mean predicted class distribution over the items: the
    prior of the annotators' estimated accuracy (None without matrices)."""
    if result.confusion_matrices is None:
        return None
    return result.classifier.predict(data.x, batch_size=1024, verbose=0).mean(axis=0)


def _save_run_files(output_dir, result, data, settings, class_prior, model_name):
    """Saves the model, its metadata, the matrices and the history."""
    model = result.model if result.model is not None else result.classifier
    model_path = output_dir / MODEL_FILE
    with atomic_path(model_path) as temporary:
        model.save(temporary)
    files = {"model": str(model_path)}
    # An ensemble's model.keras is the averaged classifier; each member's
    # CrowdModel is kept beside it (for its confusion matrices, or to resume).
    member_files = []
    for index, member in enumerate(result.members):
        if member.model is None:
            continue
        member_path = output_dir / MEMBER_MODEL_FILE.format(index=index)
        with atomic_path(member_path) as temporary:
            member.model.save(temporary)
        member_files.append(member_path.name)
    if member_files:
        files["members"] = [str(output_dir / name) for name in member_files]
    common.write_json({
        "dataset": data.name,
        # `export` exports under this name again by default.
        "model_name": model_name,
        "method": settings["method"],
        "class_names": list(data.crowd.class_names),
        "annotator_ids": list(data.crowd.annotator_ids),
        "model_kind": _model_kind(result),
        "ensemble_members": member_files,
        # `report` weighs the estimated accuracies by it too, so that both
        # commands give one model's annotators the same numbers.
        "class_prior": None if class_prior is None else [float(p) for p in class_prior],
    }, output_dir / METADATA_FILE)
    files["metadata"] = str(output_dir / METADATA_FILE)
    if result.confusion_matrices is not None:
        with atomic_path(output_dir / "confusion_matrices.npy") as temporary:
            np.save(temporary, np.asarray(result.confusion_matrices))
        files["confusion_matrices"] = str(output_dir / "confusion_matrices.npy")
    with atomic_path(output_dir / "history.csv") as temporary:
        pd.DataFrame(result.history).rename_axis("epoch").rename(lambda i: i + 1).to_csv(
            temporary)
    files["history"] = str(output_dir / "history.csv")
    return files


def _model_kind(result):
    if result.members:
        return f"ClassifierEnsemble of {len(result.members)}"
    return "CrowdModel" if result.model is not None else "classifier"


def _annotator_pictures(output_dir, result, data, method, class_prior):
    """The annotator report files, from the learned (or Dawid-Skene) matrices."""
    if result.confusion_matrices is None:
        return {}
    summary = summarize_annotators(result.confusion_matrices, crowd=data.crowd,
                                   class_prior=class_prior, true_labels=data.y_train)
    source = "learned" if method in CROWD_METHODS else "Dawid-Skene"
    if len(result.members) > 1:
        source += f", mean of {len(result.members)} members"
    files = write_annotator_report(output_dir, result.confusion_matrices, summary,
                                   class_names=data.crowd.class_names,
                                   title=f"{data.name}, {method} ({source})")
    return files


def _train(data, method, settings, backbone_fn, strategy, callbacks, verbose):
    # Items without a label were reported once, with what happens to them, when
    # the labels were read (inputs.load_crowd_data); the aggregators' Python
    # warning about them would repeat it for every fit.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyTaskWarning)
        return train_crowd_classifier(
            data.x, data.crowd_labels, data.num_classes, backbone_fn, method=method,
            strength=settings["strength"] if method == settings["method"] else None,
            epochs=settings["epochs"], batch_size=settings["batch_size"],
            learning_rate=settings["learning_rate"], weight_decay=settings["weight_decay"],
            confusion_initializer=settings["init"], warmup_epochs=settings["warmup_epochs"],
            selection=settings["selection"],
            holdout_fraction=settings["holdout_fraction"], patience=settings["patience"],
            seed=settings["seed"], strategy=strategy, callbacks=callbacks, verbose=verbose,
            ensemble_size=settings["ensemble_size"],
            common_confusion=settings["common_confusion"],
        )


def _summary_rows(report):
    result, labels, timings = report["result"], report["labels"], report["timings_seconds"]
    settings = report["settings"]
    rows = [("dataset", f"{report['dataset']['name']}: {report['dataset']['num_items']} "
                        f"items, {report['dataset']['num_annotators']} annotators, "
                        f"{report['dataset']['num_classes']} classes")]
    strength = result.get("strength")
    if strength is None:
        rows.append(("method", report["method"]))
    elif settings["strength"] == "auto":
        tried = ", ".join(f"{c['strength']:g}" for c in result["strength_candidates"])
        rows.append(("method", f"{report['method']} (lambda={strength:g}, chosen from {tried} "
                               "by held-out crowd labels)"))
    else:
        rows.append(("method", f"{report['method']} (lambda={strength:g})"))
    if settings.get("common_confusion"):
        rows.append(("common confusion", "learned beside the annotators' own, gated per item "
                                         "and annotator (--common-confusion)"))
    if settings["ensemble_size"] > 1:
        rows.append(("ensemble", f"mean of {settings['ensemble_size']} classifiers (seeds "
                                 f"and held-out folds differ)"))
    if result["test_accuracy"] is not None:
        rows.append(("test accuracy", f"{result['test_accuracy']:.4f} "
                                      f"({report['dataset']['num_test_items']} test items)"))
    else:
        rows.append(("test accuracy", "- (no test labels given)"))
    baseline = report.get("baseline")
    if baseline and baseline.get("test_accuracy") is not None:
        rows.append(("majority-vote baseline",
                     f"{baseline['test_accuracy']:.4f} (dl-mv, same backbone and settings)"))
    if report.get("majority_vote_label_accuracy") is not None:
        rows.append(("majority-vote labels", f"{report['majority_vote_label_accuracy']:.4f} "
                                             "correct on the training items"))
    rows.append(("labels", f"{labels['total']} total: {labels['training']} for training, "
                           f"{labels['heldout']} held out for selection"))
    epochs = result.get("member_selected_epochs") or [result["selected_epoch"]]
    rows.append(("selected epoch", f"{', '.join(map(str, epochs))} of {result['epochs_run']} "
                                   f"(selection: {settings['selection']})"))
    rows.append(("time", f"{timings['total']:.1f} s (training {timings['train']:.1f} s"
                         + (f", baseline {timings['baseline']:.1f} s"
                            if timings.get("baseline") else "") + ")"))
    artifacts = report["artifacts"]
    rows.append(("exported classifier", artifacts["export"]))
    rows.append(("CrowdModel" if report["model_kind"] == "CrowdModel" else "model",
                 artifacts["model"]))
    if artifacts.get("members"):
        rows.append(("member CrowdModels", f"{len(artifacts['members'])} beside it "
                                           f"({pathlib.Path(artifacts['members'][0]).name}, ...)"))
    rows.append(("report", artifacts["report"]))
    if artifacts.get("confusion_grid"):
        rows.append(("pictures", f"{artifacts['confusion_grid']}, {artifacts['reliability']}"))
    return rows


@click.command(
    "train",
    short_help="Train, evaluate and export a classifier from crowd labels.",
    epilog=common.examples_epilog(
        "keras-crowd train                      # LabelMe, default method",
        "keras-crowd train --ensemble-size 1 --lambda 0.1   # one model, one run",
        "keras-crowd train --dataset music --method geocrowdnet-f --lambda 1e-3",
        "keras-crowd train --features x.npy --labels answers.csv \\",
        "    --test-features x_test.npy --test-labels y_test.npy --name mymodel",
        "keras-crowd train --epochs 2 --output-dir /tmp/run --export-dir /tmp/models",
        "keras-crowd train --strategy mirrored --tensorboard-dir logs/labelme",
    ),
)
@common.dataset_option(help_text=f"Bundled dataset to train on (default: {DEFAULT_DATASET} "
                                 "when no --features/--labels are given).")
@click.option("--features", default=None, metavar="FILE",
              help="Training features: .npy, .npz (FILE.npz:KEY) or .csv, one row per item.")
@click.option("--labels", default=None, metavar="FILE",
              help="Crowd labels: dense .npy/.npz/.csv (-1 = missing), long .csv "
                   "(task,worker,label) or peerannot .json.")
@click.option("--test-features", default=None, metavar="FILE",
              help="Optional test features, to report test accuracy.")
@click.option("--test-labels", default=None, metavar="FILE",
              help="Optional true test labels (.npy, or one per line).")
@click.option("--task-ids", default=None, metavar="FILE",
              help="Task id of each feature row, one per line (long/JSON labels whose task "
                   "ids are not row numbers; integer ids are 0-based rows, so ids 1..N "
                   "need it).")
@common.class_names_option(common.LABEL_CLASS_NAMES_HELP)
@common.num_classes_option()
@common.duplicates_option()
@click.option("--method", type=click.Choice(TRAIN_METHODS), default=DEFAULT_METHOD,
              show_default=True, help="Training method.")
@click.option("--lambda", "strength", type=StrengthParameter(), default=None,
              help="Regularizer weight, or 'auto': train once per lambda of "
                   "keras_crowd.training.STRENGTH_GRIDS and keep the largest one whose "
                   "held-out crowd-label likelihood is within one standard error of the best "
                   "[default: auto with --selection heldout, else "
                   "keras_crowd.training.DEFAULT_STRENGTHS for the method].")
@click.option("--ensemble-size", type=click.IntRange(min=1), default=DEFAULT_ENSEMBLE_SIZE,
              show_default=True,
              help="Train this many classifiers (other seeds, other held-out folds) and export "
                   "their average; 1 trains a single model.")
@click.option("--common-confusion/--no-common-confusion", default=False, show_default=True,
              help="Crowd methods: also learn a confusion matrix that the annotators share, "
                   "used where a gate computed from each item's features says so (CoNAL). It "
                   "models the errors annotators make together on confusable items.")
@click.option("--epochs", type=click.IntRange(min=1), default=RECIPE_DEFAULTS["epochs"],
              show_default=True, help="Maximum number of epochs.")
@click.option("--batch-size", type=click.IntRange(min=1),
              default=RECIPE_DEFAULTS["batch_size"], show_default=True)
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True),
              default=RECIPE_DEFAULTS["learning_rate"], show_default=True)
@common.seed_option(RECIPE_DEFAULTS["seed"])
@click.option("--init", type=click.Choice(INITIALIZERS),
              default=RECIPE_DEFAULTS["confusion_initializer"], show_default=True,
              help="Initial confusion matrices (crowd methods).")
@click.option("--warmup-epochs", type=click.IntRange(min=0),
              default=RECIPE_DEFAULTS["warmup_epochs"], show_default=True,
              help="Ramp the regularizer weight up from 0 over this many epochs.")
@click.option("--selection", type=click.Choice(SELECTIONS),
              default=RECIPE_DEFAULTS["selection"], show_default=True,
              help="heldout: keep the epoch that best predicts held-out crowd labels "
                   "(label-free); last: keep the last epoch.")
@click.option("--holdout-fraction", type=click.FloatRange(0, 1, max_open=True),
              default=RECIPE_DEFAULTS["holdout_fraction"], show_default=True,
              help="Fraction of the crowd labels held out for --selection heldout.")
@click.option("--patience", type=click.IntRange(min=1), default=None,
              help="Stop after this many epochs without a better held-out score.")
@click.option("--strategy", type=click.Choice(strategies.STRATEGY_NAMES), default="default",
              show_default=True, help="tf.distribute strategy.")
@click.option("--baseline/--no-baseline", default=True, show_default=True,
              help="Also train the majority-vote baseline (dl-mv) for comparison.")
@click.option("--output-dir", default=None, metavar="DIR",
              help="Run folder for report.json, the .keras model and the pictures "
                   "[default: runs/<dataset>].")
@click.option("--export-dir", default="saved_models", show_default=True, metavar="DIR",
              help="Base folder of TF Serving exports.")
@click.option("--name", default=None, help="Model name of the export [default: the dataset].")
@click.option("--version", type=click.IntRange(min=1), default=None,
              help="Export version [default: the next free integer].")
@common.overwrite_option()
@click.option("--tensorboard-dir", default=None, metavar="DIR",
              help="Log the confusion matrices as TensorBoard images here (crowd methods), "
                   "one subdirectory per training run, named after the run, method, lambda "
                   "and ensemble member, e.g. DIR/fit01_geocrowdnet-f_lambda0_member0 "
                   "(--lambda auto trains member 0 once per lambda).")
@click.option("--plots/--no-plots", default=True, show_default=True,
              help="Draw the confusion matrices and the annotator reliability chart.")
@click.option("--verbose", type=click.IntRange(0, 2), default=None,
              help="Keras progress output: 0 silent, 1 progress bar, 2 one line per epoch "
                   "[default: one line per trained model, with its best held-out score].")
@common.cli_errors
def train_command(dataset, features, labels, test_features, test_labels, task_ids,
                  class_names, num_classes, duplicates, method, strength, ensemble_size,
                  common_confusion, epochs, batch_size,
                  learning_rate, seed, init, warmup_epochs, selection, holdout_fraction, patience,
                  strategy, baseline, output_dir, export_dir, name, version, overwrite,
                  tensorboard_dir, plots, verbose):
    """Train a classifier from crowd labels, evaluate it and export it.

    Trains on a bundled dataset (LabelMe by default) or on your files, picks
    the epoch by held-out crowd labels (no clean labels needed), compares
    with the majority-vote baseline, writes report.json, the .keras model
    and pictures of each annotator to --output-dir, and exports the
    classifier to <export-dir>/<name>/<version> for TF Serving.
    """
    started = time.perf_counter()
    dataset = common.check_source(dataset, (features, labels, test_features, test_labels),
                                  ("--features", "--labels"), default=DEFAULT_DATASET)
    if dataset is not None and (task_ids or class_names or num_classes):
        raise click.UsageError("--task-ids, --class-names and --num-classes are for user files.")
    if patience is not None and selection != "heldout":
        raise click.UsageError("--patience stops on the held-out score; it needs "
                               "--selection heldout.")
    if tensorboard_dir is not None and method not in CROWD_METHODS:
        raise click.UsageError(
            f"--tensorboard-dir logs learned confusion matrices; {method} learns none. Use one "
            f"of {', '.join(CROWD_METHODS)}.")

    # First: a multi-worker strategy must exist before TensorFlow starts.
    distribution = strategies.make_strategy(strategy)
    timings = {}
    tic = time.perf_counter()
    data = inputs.load_crowd_data(dataset, features, labels, test_features, test_labels,
                                  task_ids, class_names, num_classes, duplicates)
    timings["load"] = time.perf_counter() - tic
    name = name or data.name
    export_path = saved_models.version_path(export_dir, name, version, overwrite)
    output_dir = pathlib.Path(output_dir or pathlib.Path("runs") / data.name)
    output_dir.mkdir(parents=True, exist_ok=True)
    previous_files = previous_run_files(output_dir)
    if previous_files:
        common.warn(f"{output_dir} holds a previous run (its {REPORT_FILE}): this run replaces "
                    "it, and the files of the old run that this one does not write again are "
                    "removed at the end. Pass another --output-dir to keep it.")

    if selection == "heldout":
        check_labels_can_be_held_out(data.crowd_labels, holdout_fraction, seed)
    strength, strength_source = regularizer_strength(method, strength, selection)
    settings = {
        "method": method,
        "strength": strength,
        "strength_source": strength_source,
        "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
        "weight_decay": RECIPE_DEFAULTS["weight_decay"], "init": init,
        "warmup_epochs": warmup_epochs, "selection": selection,
        "holdout_fraction": holdout_fraction if selection == "heldout" else None,
        "patience": patience, "seed": seed, "strategy": strategy,
        "num_replicas": strategies.num_replicas(distribution),
        "ensemble_size": ensemble_size,
        "common_confusion": bool(common_confusion and method in CROWD_METHODS),
    }
    verbose, progress = _fit_callbacks(verbose)
    backbone_fn = backbone_factory(data)
    crowd = data.crowd
    click.echo(f"Training {method} on {data.name}: {crowd.num_items} items, "
               f"{crowd.num_annotators} annotators, {crowd.num_classes} classes, "
               f"{crowd.num_labels} crowd labels"
               + (f"; holding out {holdout_fraction:.0%} of them for label-free selection."
                  if selection == "heldout" else "."))
    callbacks = list(progress)
    if tensorboard_dir is not None:
        callbacks.append(_confusion_images_per_run(tensorboard_dir, method, strength))
    tic = time.perf_counter()
    result = _train(data, method, settings, backbone_fn, distribution, callbacks, verbose)
    timings["train"] = time.perf_counter() - tic
    test_accuracy = _test_accuracy(result.classifier, data)

    baseline_report = None
    if baseline:
        if method == BASELINE_METHOD:
            baseline_result, timings["baseline"] = result, 0.0
        else:
            click.echo("Training the majority-vote baseline (dl-mv, same backbone and "
                       "settings).")
            tic = time.perf_counter()
            baseline_result = _train(data, BASELINE_METHOD, settings, backbone_fn,
                                     distribution, progress, verbose)
            timings["baseline"] = time.perf_counter() - tic
        baseline_report = {
            "method": BASELINE_METHOD,
            "description": BASELINE_DESCRIPTION,
            "test_accuracy": _test_accuracy(baseline_result.classifier, data),
            "selected_epoch": baseline_result.selected_epoch,
            "epochs_run": baseline_result.epochs_run,
        }

    tic = time.perf_counter()
    class_prior = _class_prior(result, data)
    artifacts = _save_run_files(output_dir, result, data, settings, class_prior, name)
    artifacts["export"] = saved_models.export_model(
        result.model if result.model is not None else result.classifier, export_path,
        overwrite=overwrite)
    timings["save_and_export"] = time.perf_counter() - tic
    tic = time.perf_counter()
    if plots:
        artifacts.update(_annotator_pictures(output_dir, result, data, method, class_prior))
        timings["plots"] = time.perf_counter() - tic
    artifacts["report"] = str(output_dir / REPORT_FILE)
    timings["total"] = time.perf_counter() - started

    report = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "dataset": {
            "name": data.name, "source": data.source, "files": data.paths or None,
            "num_items": crowd.num_items, "num_annotators": crowd.num_annotators,
            "num_classes": crowd.num_classes, "class_names": list(crowd.class_names),
            "num_test_items": None if data.y_test is None else int(len(data.y_test)),
        },
        "method": method,
        "model_kind": _model_kind(result),
        "confusion_matrices": (None if result.confusion_matrices is None else
                               "learned" if method in CROWD_METHODS else "Dawid-Skene"),
        "settings": settings,
        "labels": {"total": crowd.num_labels, "training": result.num_train_labels,
                   "heldout": result.num_heldout_labels},
        "result": {
            "test_accuracy": test_accuracy,
            "selected_epoch": result.selected_epoch,
            "epochs_run": result.epochs_run,
            "heldout_crowd_nll": result.heldout_nll,
            "strength": result.strength,
            "strength_candidates": [dataclasses.asdict(c) for c in result.strength_candidates],
            "member_selected_epochs": [m.selected_epoch for m in result.members],
        },
        "baseline": baseline_report,
        "majority_vote_label_accuracy": _majority_vote_label_accuracy(data),
        "timings_seconds": timings,
        "artifacts": artifacts,
    }
    common.write_json(report, output_dir / REPORT_FILE)
    remove_stale_files(previous_files, artifacts)
    click.echo()
    common.echo_table(_summary_rows(common.json_ready(report)), title="Summary")
