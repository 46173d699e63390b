"""``keras-crowd simulate``: synthetic annotators with known confusion matrices."""

import inspect
import pathlib

import click
import numpy as np

from keras_crowd import data as crowd_data
from keras_crowd import simulators
from keras_crowd.cli import common
from keras_crowd.cli import inputs
from keras_crowd.metrics import aggregation_accuracy
from keras_crowd.metrics import raw_label_accuracy
from keras_crowd.simulators import CONFUSION_GENERATORS
from keras_crowd.utils.atomic_files import atomic_path

MACHINE_KIND = "machine"
KINDS = tuple(sorted(CONFUSION_GENERATORS)) + (MACHINE_KIND,)
SOURCES = ("labelme", "music", "fashion-mnist")
LABEL_FORMATS = {".csv": "long CSV (task,worker,label)", ".json": "peerannot JSON",
                 ".npy": "dense matrix (-1 = missing)"}


def _guess_value(text):
    """``"2"`` -> 2, ``"0.6"`` -> 0.6, anything else stays text."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def _parse_kind_options(pairs):
    """``("expertise=0.6", "num_hammers=2")`` -> ``{"expertise": "0.6", "num_hammers": "2"}``."""
    options = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        if not separator or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE.", param_hint="'--option'")
        options[key.strip()] = text
    return options


# Arguments that the command itself passes to the simulators: not -o options.
_COMMAND_ARGUMENTS = frozenset({"features", "true_labels", "kind", "num_annotators",
                                "num_classes", "labels_per_item", "missing_rate", "seed"})
# Types of the options whose default (None) does not tell it.
_OPTION_TYPES = {"num_hammers": int}
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _option_types(kind):
    """``{-o KEY: type}`` of `kind`: from its simulator functions' defaults."""
    functions = ([simulators.simulate_machine_annotators] if kind == MACHINE_KIND
                 else [simulators.simulate_annotators, CONFUSION_GENERATORS[kind]])
    types = {}
    for function in functions:
        for name, parameter in inspect.signature(function).parameters.items():
            if (parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
                    and name not in _COMMAND_ARGUMENTS):
                types[name] = _OPTION_TYPES.get(name, type(parameter.default))
    return types


def kind_option_names(kind):
    """The ``-o KEY`` options that annotators of `kind` take, sorted.

    Args:
        kind: One of `KINDS`.

    Returns:
        A tuple of option names: the keyword arguments of the kind's
        simulator (and, except for ``machine``, of its confusion generator),
        without those the command sets itself (seed, pattern, sizes).
    """
    return tuple(sorted(_option_types(kind)))


def _typed_value(name, text, expected):
    """The ``-o name=text`` value as the simulator expects it (a usage error if it cannot)."""
    value = _guess_value(text)
    if expected is str:
        return text
    if expected is bool and text.strip().lower() in _BOOLEANS:
        return _BOOLEANS[text.strip().lower()]
    if expected is int and isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    if expected is float and isinstance(value, (int, float)):
        return float(value)
    if expected not in (bool, int, float):
        return value
    wanted = {bool: "true or false", int: "an integer", float: "a number"}[expected]
    raise click.UsageError(f"-o {name} must be {wanted}; got {value!r}.")


def _check_kind_options(kind, options):
    """`options` (KEY: text), typed for `kind`; a usage error for a KEY or value it rejects."""
    types = _option_types(kind)
    known = tuple(sorted(types))
    unknown = [key for key in options if key not in known]
    if unknown:
        raise click.BadParameter(
            f"--kind {kind} takes no option {', '.join(map(repr, unknown))}; its options: "
            f"{', '.join(known)}.", param_hint="'--option'")
    return {key: _typed_value(key, text, types[key]) for key, text in options.items()}


def _simulate(kind, features, truth, num_annotators, num_classes, options, **pattern):
    """Runs the simulator of `kind` (options already checked)."""
    if kind == MACHINE_KIND:
        return simulators.simulate_machine_annotators(
            features, truth, num_annotators, num_classes=num_classes, **pattern, **options)
    return simulators.simulate_annotators(
        truth, kind, num_annotators, num_classes=num_classes, **pattern, **options)


def _check_npy_outputs(**paths):
    """Every given ``--name FILE`` must end in .npy (np.save would append it)."""
    for name, path in paths.items():
        if path is not None and pathlib.Path(path).suffix.lower() != ".npy":
            option = "--" + name.replace("_", "-")
            raise click.BadParameter(f"{str(path)!r} must end in .npy.",
                                     param_hint=f"'{option}'")


def _check_distinct_files(inputs, outputs):
    """No output may be another output or an input: it would be overwritten.

    Args:
        inputs, outputs: ``{option: path or None}``; outputs in writing order.
    """
    seen = [(option, pathlib.Path(path).resolve()) for option, path in inputs.items()
            if path is not None]
    for option, path in outputs.items():
        if path is None:
            continue
        path = pathlib.Path(path).resolve()
        for other, earlier in seen:
            if path == earlier:
                raise click.UsageError(f"{other} and {option} are the same file: {str(path)!r}.")
        seen.append((option, path))


def _source_arrays(dataset, true_labels_path, features_path, num_items, fashion_mnist_path,
                   class_names):
    """(features or None, true labels, class names, source name)."""
    if dataset == "fashion-mnist":
        from keras_crowd.datasets import FASHION_MNIST_CLASS_NAMES
        from keras_crowd.datasets import fashion_mnist

        (images, labels), _ = fashion_mnist(fashion_mnist_path)
        images, labels = images[:num_items], labels[:num_items]
        features = images.reshape(len(images), -1).astype(np.float32) / 255.0
        return features, labels.astype(np.int64), FASHION_MNIST_CLASS_NAMES, dataset
    if dataset is not None:
        bundled = inputs.load_bundled(dataset)
        return (bundled.x[:num_items], bundled.y_train[:num_items],
                tuple(bundled.crowd.class_names), dataset)
    truth = inputs.read_true_labels(true_labels_path, class_names)
    features = None
    if features_path is not None:
        # Compared before --num-items keeps the first rows: files of other
        # items must not pass because their first rows are as many.
        features = inputs.read_features(features_path)
        if len(features) != len(truth):
            raise ValueError(f"{len(features)} feature rows but {len(truth)} true labels.")
        features = features[:num_items]
    truth = truth[:num_items]
    names = class_names or tuple(range(int(truth.max()) + 1))
    return features, truth, names, pathlib.Path(true_labels_path).stem


def write_crowd_labels(crowd, path, use_class_names=False):
    """Writes `EncodedCrowdLabels`; the format follows the file's extension.

    Args:
        crowd: The labels with their ids.
        path: ``.csv`` (long format), ``.json`` (peerannot) or ``.npy``
            (dense, -1 = missing).
        use_class_names: Write the labels of ``.csv`` and ``.json`` files as
            class names rather than class indices (a dense ``.npy`` holds
            indices only).

    Returns:
        The path written.
    """
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in LABEL_FORMATS:
        raise ValueError(
            f"Cannot tell the format of {str(path)!r}: end it in "
            + ", ".join(f"{s} ({d})" for s, d in LABEL_FORMATS.items()) + "."
        )
    # Every writer replaces `path` atomically (write_csv and write_json do it themselves).
    if suffix == ".csv":
        crowd_data.write_csv(crowd, path, use_class_names=use_class_names)
    elif suffix == ".json":
        crowd_data.write_json(crowd, path, use_class_names=use_class_names)
    else:
        with atomic_path(path) as temporary:
            np.save(temporary, np.asarray(crowd.crowd_labels))
    return path


def _class_legend(names, limit=10):
    legend = ", ".join(f"{index}={name}" for index, name in enumerate(names[:limit]))
    return legend + (", ..." if len(names) > limit else "")


def _default_confusions_path(output):
    output = pathlib.Path(output)
    return output.with_name(f"{output.stem}_confusions.npy")


@click.command(
    "simulate",
    short_help="Simulate annotators with known confusion matrices.",
    epilog=common.examples_epilog(
        "keras-crowd simulate --dataset music --kind class_experts -M 20 \\",
        "    --labels-per-item 3 --output music_sim.csv",
        "keras-crowd simulate --dataset fashion-mnist --num-items 5000 --kind machine \\",
        "    -M 10 --missing-rate 0.8 --output fm.json \\",
        "    --features-out fm_x.npy --true-labels-out fm_y.npy",
        "keras-crowd simulate --true-labels y.npy --kind hammer_spammer -M 8 \\",
        "    -o num_hammers=2 --output crowd.npy",
        "keras-crowd train --features fm_x.npy --labels fm.json   # then train on them",
    ),
)
@common.dataset_option(SOURCES, "Simulate on this dataset's training items (their true "
                                "labels; features for --kind machine).")
@click.option("--true-labels", default=None, metavar="FILE",
              help="Your items' true labels (.npy, or one per line) instead of --dataset.")
@click.option("--features", default=None, metavar="FILE",
              help="Your items' features (.npy/.npz/.csv); needed by --kind machine.")
@click.option("--fashion-mnist-path", default=None, metavar="DIR",
              help="Folder of the Fashion-MNIST IDX files [default: Debian's].")
@click.option("--num-items", type=click.IntRange(min=1), default=None,
              help="Use only the first N items.")
@click.option("--kind", type=click.Choice(KINDS), default="diagonally_dominant",
              show_default=True, help="Annotator type (machine: small classifiers).")
@click.option("--annotators", "-M", "num_annotators", type=click.IntRange(min=1), default=10,
              show_default=True, help="Number of annotators M.")
@click.option("--labels-per-item", type=click.IntRange(min=1), default=None,
              help="Exactly R labels per item.")
@click.option("--missing-rate", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Probability that an (item, annotator) label is missing.")
@click.option("--option", "-o", "kind_options", multiple=True, metavar="KEY=VALUE",
              help="Option of the annotator type, e.g. -o expertise=0.6 or "
                   "-o num_hammers=2 (machine: -o train_size=100).")
@common.seed_option()
@common.class_names_option(
    "Comma-separated class names, in index order (fixes K and the order), for true labels "
    "of your own; crowd labels written as .csv or .json, and --true-labels-out, then hold "
    "these names (a dense .npy holds class indices).")
@click.option("--output", required=True, metavar="FILE",
              help="Crowd labels to write: .csv (long), .json (peerannot) or .npy (dense).")
@click.option("--confusions", default=None, metavar="FILE",
              help="True (M, K, K) confusion matrices (.npy) [default: "
                   "<output>_confusions.npy].")
@click.option("--features-out", default=None, metavar="FILE",
              help="Also write the items' features (.npy), for `keras-crowd train`.")
@click.option("--true-labels-out", default=None, metavar="FILE",
              help="Also write the items' true labels (.npy), as the crowd labels are "
                   "written: class names or class indices.")
@common.cli_errors
def simulate_command(dataset, true_labels, features, fashion_mnist_path, num_items, kind,
                     num_annotators, labels_per_item, missing_rate, kind_options, seed,
                     class_names, output, confusions, features_out, true_labels_out):
    """Simulate annotators on items whose true labels are known.

    Writes the crowd labels (format by extension) and the annotators' true
    confusion matrices, column j = Pr(label | true class j).
    """
    dataset = common.check_source(dataset, (true_labels,), ("--true-labels",))
    if dataset is not None and (features or class_names):
        raise click.UsageError("--features and --class-names go with --true-labels.")
    if labels_per_item is not None and missing_rate is not None:
        raise click.UsageError("Give --labels-per-item or --missing-rate, not both.")
    if pathlib.Path(output).suffix.lower() not in LABEL_FORMATS:
        raise click.BadParameter(
            f"{output!r} must end in {', '.join(LABEL_FORMATS)}.", param_hint="'--output'")
    _check_npy_outputs(confusions=confusions, features_out=features_out,
                       true_labels_out=true_labels_out)
    confusions_option = "--confusions" if confusions else "the default --confusions"
    confusions = confusions or _default_confusions_path(output)
    _check_distinct_files(
        {"--true-labels": true_labels, "--features": features},
        {"--output": output, confusions_option: confusions, "--features-out": features_out,
         "--true-labels-out": true_labels_out})
    has_features = dataset is not None or features is not None  # every dataset has some
    if kind == MACHINE_KIND and not has_features:
        raise click.UsageError("--kind machine needs features: give --features.")
    if features_out is not None and not has_features:
        raise click.UsageError("--features-out needs features (--features).")
    options = _check_kind_options(kind, _parse_kind_options(kind_options))

    x, truth, names, source = _source_arrays(dataset, true_labels, features, num_items,
                                             fashion_mnist_path, class_names)
    crowd = _simulate(kind, x, truth, num_annotators, len(names), options,
                      labels_per_item=labels_per_item, missing_rate=missing_rate, seed=seed)

    encoded = crowd_data.EncodedCrowdLabels.from_dense(
        crowd.crowd_labels, class_names=names, empty_tasks="ignore")
    # Classes the user named are written by name, crowd and true labels alike,
    # when the crowd labels can hold names: indices would be read in the
    # order of whatever --class-names a later command is given, and integer
    # names would not match their indices. A dense .npy holds indices, and
    # the true labels then stay indices too.
    by_name = class_names is not None and pathlib.Path(output).suffix.lower() != ".npy"
    write_crowd_labels(encoded, output, use_class_names=by_name)
    truth_written = np.asarray(names)[truth] if by_name else truth
    confusions = pathlib.Path(confusions)
    confusions.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(confusions) as temporary:
        np.save(temporary, crowd.confusion_matrices)
    written = [str(output), str(confusions)]
    for path, array in ((features_out, x), (true_labels_out, truth_written)):
        if path is not None:
            pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as temporary:
                np.save(temporary, array)
            written.append(str(path))

    from keras_crowd.aggregation import MajorityVote
    majority = MajorityVote(num_classes=len(names)).fit(crowd.crowd_labels).labels_
    common.echo_table([
        ("source", source),
        ("annotators", f"{num_annotators} x {kind}"),
        ("items / classes", f"{crowd.num_items} / {crowd.num_classes}"),
        ("class indices", _class_legend(names)),
        ("labels", f"{encoded.num_labels} ({encoded.num_labels / crowd.num_items:.2f} per item)"),
        ("label accuracy", raw_label_accuracy(crowd.crowd_labels, truth)),
        ("majority-vote accuracy", aggregation_accuracy(majority, truth)),
        ("written", ", ".join(written)),
    ], title="Simulated crowd")
