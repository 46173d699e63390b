"""The `keras-crowd` command line, through click's CliRunner and once as a real process."""

import json
import os
import pathlib
import shlex
import shutil
import subprocess

import keras
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from keras_crowd.cli import main
from keras_crowd.cli import inputs
from keras_crowd.cli import models
from keras_crowd.cli import saved_models
from keras_crowd.cli import strategies
from keras_crowd.training import DEFAULT_ENSEMBLE_SIZE
from keras_crowd.training import DEFAULT_METHOD
from keras_crowd.training import STRENGTH_GRIDS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SUBCOMMANDS = ("train", "simulate", "aggregate", "evaluate", "export", "report")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_png(path):
    with open(path, "rb") as file:
        assert file.read(8) == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and min(image.shape[:2]) > 100


def assert_one_line_error(result):
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


@pytest.fixture(scope="module")
def music_run(tmp_path_factory):
    """One tiny `train` on the bundled Music crowd."""
    root = tmp_path_factory.mktemp("music")
    result = invoke("train", "--dataset", "music", "--epochs", 2, "--verbose", 0,
                    "--output-dir", root / "run", "--export-dir", root / "models")
    assert result.exit_code == 0, result.output
    return root, result.output


def _separable_items(num_items):
    """`(truth, x)`: 3 classes and 3 features that separate them well (seed 0)."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, num_items)
    return truth, np.eye(3)[truth] * 3 + rng.normal(size=(num_items, 3))


@pytest.fixture(scope="module")
def user_files(tmp_path_factory):
    """Small separable features, true labels, and a simulated crowd (long CSV)."""
    root = tmp_path_factory.mktemp("files")
    truth, x = _separable_items(300)
    np.savetxt(root / "x.csv", x[:240], delimiter=",", header="a,b,c", comments="")
    np.save(root / "x_test.npy", x[240:].astype("float32"))
    np.save(root / "y.npy", truth[:240])
    (root / "y_test.txt").write_text("\n".join(map(str, truth[240:])) + "\n")
    result = invoke("simulate", "--true-labels", root / "y.npy", "--kind",
                    "diagonally_dominant", "-M", 6, "--labels-per-item", 3, "--seed", 1,
                    "-o", "expertise=0.7", "--output", root / "crowd.csv")
    assert result.exit_code == 0, result.output
    return root


# --------------------------------------------------------------------- train
def test_train_reports_exports_and_draws(music_run):
    root, output = music_run
    report = json.loads((root / "run" / "report.json").read_text())
    assert report["method"] == report["settings"]["method"] == DEFAULT_METHOD
    assert report["settings"]["epochs"] == 2 and report["settings"]["num_replicas"] == 1
    # Label-free lambda by default: every grid value tried, the chosen one reported.
    assert report["settings"]["strength"] == "auto"
    candidates = report["result"]["strength_candidates"]
    assert [c["strength"] for c in candidates] == list(STRENGTH_GRIDS[DEFAULT_METHOD])
    assert report["result"]["strength"] == max(
        c["strength"] for c in candidates if c["within_tolerance"])
    assert "chosen from" in output
    assert report["dataset"]["num_annotators"] == 44 and report["dataset"]["num_items"] == 700
    labels = report["labels"]
    assert labels["total"] == 2945 == labels["training"] + labels["heldout"]
    assert labels["heldout"] > 0
    assert 0.0 <= report["result"]["test_accuracy"] <= 1.0
    assert 1 <= report["result"]["selected_epoch"] <= 2
    # An ensemble of DEFAULT_ENSEMBLE_SIZE classifiers by default: the
    # averaged classifier in model.keras, each member's CrowdModel beside it.
    size = report["settings"]["ensemble_size"]
    assert size == DEFAULT_ENSEMBLE_SIZE > 1
    assert len(report["result"]["member_selected_epochs"]) == size
    assert report["model_kind"] == f"ClassifierEnsemble of {size}"
    assert f"mean of {size} classifiers" in output
    metadata = json.loads((root / "run" / "crowd_metadata.json").read_text())
    assert metadata["ensemble_members"] == [f"member_{i}.keras" for i in range(size)]
    assert report["artifacts"]["members"] == [
        str(root / "run" / name) for name in metadata["ensemble_members"]]
    import keras

    ensemble = keras.saving.load_model(root / "run" / "model.keras", safe_mode=True)
    assert type(ensemble).__name__ == "ClassifierEnsemble" and ensemble.ensemble_size == size
    members = [keras.saving.load_model(root / "run" / name, safe_mode=True)
               for name in metadata["ensemble_members"]]
    x = np.random.default_rng(0).normal(size=(5, 124)).astype("float32")
    np.testing.assert_allclose(
        ensemble.predict(x, verbose=0),
        np.mean([m.predict(x, verbose=0) for m in members], axis=0), atol=1e-6)
    np.testing.assert_allclose(
        np.load(root / "run" / "confusion_matrices.npy"),
        np.mean([m.confusion_matrices for m in members], axis=0), atol=1e-6)
    assert report["baseline"]["method"] == "dl-mv"
    assert 0.0 <= report["baseline"]["test_accuracy"] <= 1.0
    assert set(report["timings_seconds"]) >= {"train", "baseline", "total"}
    for key in ("test accuracy", "majority-vote baseline", "2945 total"):
        assert key in output
    export = root / "models" / "music" / "1"
    assert (export / "saved_model.pb").is_file()
    assert report["artifacts"]["export"] == str(export)
    assert (root / "run" / "model.keras").is_file()
    for name in ("confusion_matrices.png", "annotator_reliability.png"):
        assert_png(root / "run" / name)
    assert len(report["artifacts"]["confusion_individual"]) == 3
    for path in report["artifacts"]["confusion_individual"]:
        assert_png(path)
    summary = pd.read_csv(root / "run" / "annotator_summary.csv")
    assert len(summary) == 44 and summary["labels_given"].sum() == 2945


def test_train_on_user_files_with_next_free_version(user_files, tmp_path):
    args = ["train", "--features", user_files / "x.csv", "--labels", user_files / "crowd.csv",
            "--test-features", user_files / "x_test.npy",
            "--test-labels", user_files / "y_test.txt", "--method", "dl-ds", "--epochs", 3,
            "--verbose", 0, "--no-plots", "--no-baseline", "--name", "toy",
            "--output-dir", tmp_path / "run", "--export-dir", tmp_path / "models"]
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["dataset"]["source"] == "files"
    assert report["dataset"]["num_test_items"] == 60
    assert report["confusion_matrices"] == "Dawid-Skene"
    assert report["result"]["test_accuracy"] > 0.5  # separable data, decent annotators
    second = invoke(*args)
    assert second.exit_code == 0, second.output
    assert sorted(p.name for p in (tmp_path / "models" / "toy").iterdir()) == ["1", "2"]


def test_train_with_a_common_confusion(user_files, tmp_path):
    result = invoke("train", "--features", user_files / "x.csv", "--labels",
                    user_files / "crowd.csv", "--method", "geocrowdnet-f", "--lambda", 0.1,
                    "--epochs", 2, "--ensemble-size", 1, "--common-confusion", "--verbose", 0,
                    "--no-plots", "--no-baseline", "--output-dir", tmp_path / "run",
                    "--export-dir", tmp_path / "models")
    assert result.exit_code == 0, result.output
    assert "common confusion" in result.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["settings"]["common_confusion"] is True
    model = keras.saving.load_model(report["artifacts"]["model"])
    assert model.common_confusion_matrix.shape == (3, 3)


def summary_steps(log_dir):
    """(tag, step) of every summary value in the event files directly in `log_dir`."""
    import tensorflow as tf

    return [(value.tag, event.step)
            for path in sorted(tf.io.gfile.glob(f"{log_dir}/events.out.tfevents.*"))
            for event in tf.compat.v1.train.summary_iterator(path)
            for value in event.summary.value]


def test_train_logs_each_run_to_its_own_tensorboard_folder(user_files, tmp_path):
    result = invoke("train", "--features", user_files / "x.csv", "--labels",
                    user_files / "crowd.csv", "--method", "geocrowdnet-f", "--lambda", 0.1,
                    "--epochs", 2, "--ensemble-size", 2, "--verbose", 0, "--no-plots",
                    "--no-baseline", "--output-dir", tmp_path / "run",
                    "--export-dir", tmp_path / "models", "--tensorboard-dir", tmp_path / "tb")
    assert result.exit_code == 0, result.output
    runs = sorted(p.name for p in (tmp_path / "tb").iterdir())
    assert runs == ["fit01_geocrowdnet-f_lambda0.1_member0",
                    "fit02_geocrowdnet-f_lambda0.1_member1"]
    for run in runs:
        assert summary_steps(tmp_path / "tb" / run) == [
            ("confusion_matrices", 1), ("confusion_matrices", 2)]


def test_tensorboard_run_names_follow_the_recipe_order(user_files, tmp_path):
    # With --lambda auto the recipe trains member 0 once per lambda of the
    # grid, then the other members with the chosen lambda: the folder names
    # must say so for the runs that really happen.
    result = invoke("train", "--features", user_files / "x.csv", "--labels",
                    user_files / "crowd.csv", "--method", "geocrowdnet-f", "--lambda", "auto",
                    "--epochs", 1, "--ensemble-size", 2, "--verbose", 0, "--no-plots",
                    "--no-baseline", "--output-dir", tmp_path / "run",
                    "--export-dir", tmp_path / "models", "--tensorboard-dir", tmp_path / "tb")
    assert result.exit_code == 0, result.output
    grid = STRENGTH_GRIDS["geocrowdnet-f"]
    chosen = json.loads((tmp_path / "run" / "report.json").read_text())["result"]["strength"]
    runs = sorted(p.name for p in (tmp_path / "tb").iterdir())
    expected = [f"fit{i + 1:02d}_geocrowdnet-f_lambda{value:g}_member0"
                for i, value in enumerate(grid)]
    expected.append(f"fit{len(grid) + 1:02d}_geocrowdnet-f_lambda{chosen:g}_member1")
    assert runs == expected


# ------------------------------------------------------------------ simulate
@pytest.mark.parametrize("suffix", [".csv", ".json", ".npy"])
def test_simulate_writes_labels_and_true_confusions(tmp_path, suffix):
    output = tmp_path / f"crowd{suffix}"
    result = invoke("simulate", "--dataset", "music", "--kind", "class_experts", "-M", 10,
                    "--missing-rate", 0.7, "--num-items", 100, "--output", output,
                    "--true-labels-out", tmp_path / "y.npy", "--features-out", tmp_path / "x.npy")
    assert result.exit_code == 0, result.output
    crowd = inputs.read_crowd_labels(output, num_items=100)
    assert crowd.crowd_labels.shape == (100, 10)
    confusions = np.load(tmp_path / "crowd_confusions.npy")
    assert confusions.shape == (10, 10, 10)
    np.testing.assert_allclose(confusions.sum(axis=1), 1.0, atol=1e-6)
    assert np.load(tmp_path / "x.npy").shape == (100, 124)
    assert np.load(tmp_path / "y.npy").shape == (100,)
    assert "majority-vote accuracy" in result.output


@pytest.fixture()
def tiny_truth(tmp_path):
    """True labels and features of 40 items, in their own folder."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 40)
    np.save(folder / "y.npy", truth)
    np.save(folder / "x.npy", (np.eye(3)[truth] + rng.normal(size=(40, 3))).astype("float32"))
    return folder


def test_simulate_checks_every_option_before_writing(tiny_truth, tmp_path):
    result = invoke("simulate", "--true-labels", tiny_truth / "y.npy", "-M", 4,
                    "--output", tmp_path / "sim.csv", "--features-out", tmp_path / "sim_x.npy")
    assert "--features-out needs features" in assert_one_line_error(result)
    # np.save would append .npy to the temporary file and leave an empty one in place.
    result = invoke("simulate", "--true-labels", tiny_truth / "y.npy", "-M", 4,
                    "--output", tmp_path / "sim.csv", "--confusions", tmp_path / "conf")
    assert "'--confusions'" in assert_one_line_error(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]  # nothing written


@pytest.mark.parametrize("kind", ["machine", "diagonally_dominant", "hammer_spammer"])
def test_simulate_unknown_kind_option_is_one_clean_error(tiny_truth, tmp_path, kind):
    result = invoke("simulate", "--true-labels", tiny_truth / "y.npy", "--features",
                    tiny_truth / "x.npy", "--kind", kind, "-M", 4, "-o", "foo=1",
                    "--output", tmp_path / "sim.csv")
    message = assert_one_line_error(result)
    assert f"'--option': --kind {kind} takes no option 'foo'; its options: " in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]


@pytest.mark.parametrize("options, message", [
    (["--true-labels-out", "inputs/y.npy"], "--true-labels and --true-labels-out"),
    (["--features-out", "inputs/x.npy"], "--features and --features-out"),
    (["--confusions", "c.npy"], "--output and --confusions"),
    (["--true-labels-out", "c.npy"], "--output and --true-labels-out"),
    (["--features-out", "out/../x.npy", "--true-labels-out", "x.npy"],
     "--features-out and --true-labels-out"),
    (["--features-out", "c_confusions.npy"], "the default --confusions and --features-out"),
])
def test_simulate_refuses_to_overwrite_its_inputs_or_outputs(tiny_truth, tmp_path, monkeypatch,
                                                              options, message):
    monkeypatch.chdir(tmp_path)
    before = {p: p.read_bytes() for p in tiny_truth.iterdir()}
    result = invoke("simulate", "--true-labels", tiny_truth / "y.npy", "--features",
                    tiny_truth / "x.npy", "-M", 4, "--output", "c.npy", *options)
    path = (tmp_path / options[-1]).resolve()
    assert assert_one_line_error(result) == f"Error: {message} are the same file: {str(path)!r}."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]  # nothing written
    assert {p: p.read_bytes() for p in tiny_truth.iterdir()} == before


@pytest.mark.parametrize("kind, option, message", [
    ("diagonally_dominant", "expertise=abc", "-o expertise must be a number; got 'abc'."),
    ("hammer_spammer", "num_hammers=1.5", "-o num_hammers must be an integer; got 1.5."),
    ("machine", "num_steps=many", "-o num_steps must be an integer; got 'many'."),
    ("machine", "train_size=2.5", "-o train_size must be an integer; got 2.5."),
])
def test_simulate_wrongly_typed_kind_option_is_one_clean_error(tiny_truth, tmp_path, kind,
                                                               option, message):
    result = invoke("simulate", "--true-labels", tiny_truth / "y.npy", "--features",
                    tiny_truth / "x.npy", "--kind", kind, "-M", 4, "-o", option,
                    "--output", tmp_path / "sim.csv")
    assert assert_one_line_error(result) == f"Error: {message}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]


@pytest.mark.parametrize("kind, options", [
    ("diagonally_dominant", ["expertise=1", "spread=0"]),  # integers are numbers
    ("hammer_spammer", ["num_hammers=2.0", "hammer_accuracy=0.9"]),  # 2.0 is an integer
    ("symmetric_flip", ["flip_rate=.2", "backend=numpy"]),
    ("machine", ["train_size=10", "num_steps=5", "l2=1e-3"]),
])
def test_simulate_accepts_kind_options_of_the_right_type(tiny_truth, tmp_path, kind, options):
    result = invoke("simulate", "--true-labels", tiny_truth / "y.npy", "--features",
                    tiny_truth / "x.npy", "--kind", kind, "-M", 4,
                    *[item for option in options for item in ("-o", option)],
                    "--output", tmp_path / "sim.csv")
    assert result.exit_code == 0, result.output


# ----------------------------------------------------------------- aggregate
@pytest.mark.parametrize("method", ["majority-vote", "dawid-skene"])
def test_aggregate_writes_task_label_csv(user_files, tmp_path, method):
    output = tmp_path / "agg.csv"
    result = invoke("aggregate", user_files / "crowd.csv", "--method", method,
                    "--probabilities", "--true-labels", user_files / "y.npy",
                    "--output", output)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(output)
    assert list(frame.columns) == ["task", "label", "proba_0", "proba_1", "proba_2"]
    assert len(frame) == 240
    np.testing.assert_allclose(frame[["proba_0", "proba_1", "proba_2"]].sum(axis=1), 1.0)
    truth = np.load(user_files / "y.npy")
    accuracy = float(np.mean(frame.sort_values("task")["label"].to_numpy() == truth))
    assert f"{accuracy:.4f}" in result.output and accuracy > 0.8


def test_aggregated_csv_with_probabilities_reads_back_as_true_labels(user_files, tmp_path):
    # Its last column is a probability: the labels are the column headed "label".
    output = tmp_path / "agg.csv"
    assert invoke("aggregate", user_files / "crowd.csv", "--probabilities",
                  "--output", output).exit_code == 0
    result = invoke("aggregate", user_files / "crowd.csv", "--true-labels", output,
                    "--output", tmp_path / "again.csv")
    assert result.exit_code == 0, result.output
    assert "accuracy              1.0000" in result.output


def test_class_names_holding_a_comma_are_quoted_as_in_csv(tmp_path):
    names = ("cat", "bird, small", "café")
    pd.DataFrame({"task": [0, 0, 1, 1], "worker": ["u", "v"] * 2,
                  "label": ["bird, small", "bird, small", "café", "cat"]}).to_csv(
                      tmp_path / "crowd.csv", index=False, encoding="utf-8")
    result = invoke("aggregate", tmp_path / "crowd.csv", "--probabilities",
                    "--class-names", 'cat, "bird, small",café', "--output", tmp_path / "mv.csv")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "mv.csv", encoding="utf-8")
    assert list(frame.columns) == ["task", "label"] + [f"proba_{n}" for n in names]
    assert list(frame["label"]) == ["bird, small", "cat"]  # the tie goes to index 0
    for bad in ("", "a,,b", 'a,"a"'):
        result = invoke("aggregate", tmp_path / "crowd.csv", "--class-names", bad)
        assert "'--class-names'" in assert_one_line_error(result)


# ------------------------------------------------------ evaluate / export / report
def test_evaluate_saved_model_and_keras_model_agree(music_run, tmp_path):
    root, _ = music_run
    report = json.loads((root / "run" / "report.json").read_text())
    accuracies = []
    for model in (root / "models" / "music" / "1", root / "run" / "model.keras"):
        result = invoke("evaluate", model, "--dataset", "music", "--json", tmp_path / "e.json")
        assert result.exit_code == 0, result.output
        evaluation = json.loads((tmp_path / "e.json").read_text())
        assert evaluation["num_items"] == 300 and len(evaluation["per_class_accuracy"]) == 10
        accuracies.append(evaluation["accuracy"])
    assert accuracies[0] == pytest.approx(accuracies[1])
    assert accuracies[0] == pytest.approx(report["result"]["test_accuracy"])
    # A bundled dataset names its own classes: --class-names is refused, not ignored.
    result = invoke("evaluate", root / "run" / "model.keras", "--dataset", "music",
                    "--class-names", ",".join(f"c{k}" for k in range(10)))
    assert "--class-names names the classes of --true-labels" in assert_one_line_error(result)


def test_export_next_version_then_refuses_to_overwrite(music_run, tmp_path):
    root, _ = music_run
    base = tmp_path / "exports"
    first = invoke("export", root / "run", "--export-dir", base)
    assert first.exit_code == 0, first.output
    assert (base / "music" / "1" / "saved_model.pb").is_file()
    refused = invoke("export", root / "run", "--export-dir", base, "--version", 1)
    assert "already exists" in assert_one_line_error(refused)
    replaced = invoke("export", root / "run", "--export-dir", base, "--version", 1,
                      "--overwrite")
    assert replaced.exit_code == 0, replaced.output


def test_report_draws_pictures_and_text(music_run, tmp_path):
    root, _ = music_run
    result = invoke("report", root / "run" / "model.keras", "--dataset", "music",
                    "--output-dir", tmp_path, "--individual", 2)
    assert result.exit_code == 0, result.output
    # The ensemble run's report shows its members' mean confusion matrices.
    from keras_crowd.cli.annotator_report import summarize_annotators

    music = inputs.load_bundled("music")
    prior = json.loads((root / "run" / models.RUN_METADATA_FILE).read_text())["class_prior"]
    expected = summarize_annotators(np.load(root / "run" / "confusion_matrices.npy"),
                                    crowd=music.crowd, true_labels=music.y_train,
                                    class_prior=prior)
    summary = pd.read_csv(tmp_path / "annotator_summary.csv", index_col=0)
    np.testing.assert_allclose(summary["estimated_accuracy"], expected["estimated_accuracy"],
                               atol=1e-5)
    # The same numbers as train's own report of the model (they used to weigh
    # the classes differently: 0.890 against 0.885 for one annotator).
    from_train = pd.read_csv(root / "run" / "annotator_summary.csv", index_col=0)
    np.testing.assert_allclose(summary["estimated_accuracy"],
                               from_train["estimated_accuracy"], atol=1e-6)
    assert len(prior) == music.num_classes and abs(sum(prior) - 1) < 1e-5
    pictures = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(pictures) == 4 and "confusion_matrices.png" in pictures
    for picture in tmp_path.glob("*.png"):
        assert_png(picture)
    summary = pd.read_csv(tmp_path / "annotator_summary.csv", index_col=0)
    assert list(summary.columns) == ["labels_given", "estimated_accuracy",
                                     "agreement_with_consensus", "true_accuracy"]
    text = (tmp_path / "confusion_matrices.txt").read_text()
    assert text.count("\nannotator ") == 44 and "blues" in text


# -------------------------------------------------------------------- errors
@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    (root / "words.csv").write_text("a,b\n1,x\n")
    (root / "dups.csv").write_text("task,worker,label\n0,w1,1\n0,w1,2\n")
    (root / "list.json").write_text('{"0": [1, 2]}')
    (root / "garbage.npy").write_text("not numpy")
    (root / "names.csv").write_text("task,worker,label\nsong_a,w1,0\n")
    np.save(root / "x.npy", np.zeros((4, 2), "float32"))
    np.save(root / "images.npy", np.zeros((4, 2, 2), "float32"))
    np.save(root / "labels.npy", np.zeros((5, 3), "int32"))
    np.save(root / "single.npy", np.array([[0, -1], [-1, 1], [1, -1], [0, -1]]))
    return root


@pytest.mark.parametrize("args, message", [
    (["train", "--features", "{root}/missing.npy", "--labels", "{root}/labels.npy"],
     "does not exist"),
    (["train", "--method", "best"], "Invalid value for '--method'"),
    (["train", "--features", "{root}/x.npy", "--labels", "{root}/words.csv"], "non-numeric"),
    (["train", "--features", "{root}/x.npy", "--labels", "{root}/dups.csv"],
     "--duplicates first"),
    (["train", "--features", "{root}/x.npy", "--labels", "{root}/list.json"], "peerannot"),
    (["train", "--features", "{root}/x.npy", "--labels", "{root}/garbage.npy"],
     "not a valid numeric .npy"),
    (["train", "--features", "{root}/x.npy", "--labels", "{root}/labels.npy"],
     "5 rows but there are 4 feature rows"),
    (["train", "--features", "{root}/x.npy", "--labels", "{root}/names.csv"], "--task-ids"),
    (["train", "--features", "{root}/images.npy", "--labels", "{root}/labels.npy"],
     "Flatten"),
    (["train", "--features", "{root}/x.npy", "--labels", "{root}/single.npy"],
     "--selection last"),
    (["train", "--dataset", "music", "--features", "{root}/x.npy"], "not both"),
    (["train", "--strategy", "warp"], "Invalid value for '--strategy'"),
    (["train", "--lambda", "lots"], "neither a number nor 'auto'"),
    (["train", "--lambda", "-1"], "finite number >= 0"),
    (["train", "--lambda", "auto", "--selection", "last"], "needs --selection heldout"),
    (["train", "--method", "ccem", "--lambda", "0.1"], "ccem has no regularizer"),
    (["aggregate", "{root}/missing.csv"], "does not exist"),
    (["evaluate", "{root}/nowhere", "--dataset", "music"], "does not exist"),
    (["report", "{root}/x.npy"], "not a .keras model"),
    (["simulate", "--dataset", "music", "--output", "{root}/out.txt"], ".csv, .json, .npy"),
    (["simulate", "--dataset", "music", "--output", "{root}/o.csv", "-o", "colour=3"],
     "takes no option 'colour'; its options: backend, expertise"),
])
def test_bad_arguments_and_files_give_one_line_errors(bad_files, args, message):
    result = invoke(*[a.format(root=bad_files) for a in args])
    assert message in assert_one_line_error(result)


def test_evaluate_points_a_tf_serving_base_folder_at_its_latest_version(music_run, tmp_path):
    root, _ = music_run
    base = tmp_path / "music"
    for version in ("1", "2"):
        shutil.copytree(root / "models" / "music" / "1", base / version)
    error = assert_one_line_error(invoke("evaluate", base, "--dataset", "music"))
    assert "TF Serving model folder" in error and repr(str(base / "2")) in error, error


def test_a_corrupt_keras_file_is_named_as_such(tmp_path):
    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04 truncated")
    for args in (["evaluate", tmp_path / "model.keras", "--dataset", "music"],
                 ["export", tmp_path, "--export-dir", tmp_path / "models", "--name", "m"]):
        error = assert_one_line_error(invoke(*args))
        assert "not a valid .keras archive" in error and "File not found" not in error, error


def test_existing_export_version_is_refused_before_training(music_run):
    root, _ = music_run
    result = invoke("train", "--dataset", "music", "--export-dir", root / "models",
                    "--version", 1, "--output-dir", root / "unused")
    assert "--overwrite" in assert_one_line_error(result)
    assert not (root / "unused" / "report.json").exists()


# ---------------------------------------------------------------- help, misc
@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_help_ends_with_examples(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    examples = next(i for i, line in enumerate(lines) if line.strip() == "Examples:")
    assert all(line.strip().startswith(("keras-crowd", "--")) or line.startswith("      ")
               for line in lines[examples + 1:])
    assert lines[-1].strip().startswith(("keras-crowd", "--"))


def test_strategy_names_and_errors(monkeypatch):
    # No MirroredStrategy in this process: collectives of two strategies in one
    # process can collide; the mirrored path runs in the subprocess test below.
    assert strategies.make_strategy("default").num_replicas_in_sync == 1
    with pytest.raises(ValueError, match="Unknown strategy"):
        strategies.make_strategy("warp")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        strategies.make_strategy("multiworker")


def test_crowd_label_formats_align_with_feature_rows(tmp_path):
    dense = np.array([[0, -1, 2], [-1, 1, 1], [2, 2, -1]])
    np.save(tmp_path / "dense.npy", dense)
    pd.DataFrame(np.where(dense < 0, np.nan, dense), columns=["u", "v", "w"]).to_csv(
        tmp_path / "dense.csv", index=False)
    long = pd.DataFrame({"task": [2, 0, 2, 1, 0, 1], "worker": ["u", "u", "v", "v", "w", "w"],
                         "label": [2, 0, 2, 1, 2, 1]})
    long.to_csv(tmp_path / "long.csv", index=False)
    json_labels = {"2": {"u": 2, "v": 2}, "0": {"u": 0, "w": 2}, "1": {"v": 1, "w": 1}}
    (tmp_path / "labels.json").write_text(json.dumps(json_labels))
    for name in ("dense.npy", "dense.csv", "long.csv", "labels.json"):
        crowd = inputs.read_crowd_labels(tmp_path / name, num_items=3)
        np.testing.assert_array_equal(crowd.crowd_labels, dense, err_msg=name)
    # Long labels for 3 of 5 feature rows: unlabelled rows stay empty (-1).
    crowd = inputs.read_crowd_labels(tmp_path / "long.csv", num_items=5)
    np.testing.assert_array_equal(crowd.crowd_labels[3:], -1)
    # Named tasks are matched through --task-ids.
    named = long.assign(task=long.task.map({0: "s0", 1: "s1", 2: "s2"}))
    named.to_csv(tmp_path / "named.csv", index=False)
    crowd = inputs.read_crowd_labels(tmp_path / "named.csv", num_items=3,
                                     task_ids=("s2", "s0", "s1"))
    np.testing.assert_array_equal(crowd.crowd_labels, dense[[2, 0, 1]])


# ------------------------------------------------------- reading user files
def write(path, text, mode="w"):
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_header_of_column_positions_is_not_read_as_data(tmp_path):
    x = np.arange(15, dtype="float32").reshape(5, 3) + 0.5
    pd.DataFrame(x).to_csv(tmp_path / "x.csv", index=False)  # header 0,1,2
    np.testing.assert_array_equal(inputs.read_features(tmp_path / "x.csv"), x)
    labels = np.array([[0, 1, -1], [2, 2, 1]])
    pd.DataFrame(labels).to_csv(tmp_path / "dense.csv", index=False)
    crowd = inputs.read_crowd_labels(tmp_path / "dense.csv")
    np.testing.assert_array_equal(crowd.crowd_labels, labels)
    # "0,1" may also be a data row of 2 annotators: the number of items decides.
    write(tmp_path / "two.csv", "0,1\n1,1\n1,0\n")
    crowd = inputs.read_crowd_labels(tmp_path / "two.csv", num_items=3)
    np.testing.assert_array_equal(crowd.crowd_labels, [[0, 1], [1, 1], [1, 0]])
    crowd = inputs.read_crowd_labels(tmp_path / "two.csv", num_items=2)
    np.testing.assert_array_equal(crowd.crowd_labels, [[1, 1], [1, 0]])
    # Without a count, "0,1" is read as pandas' header, and the command says so.
    result = invoke("aggregate", tmp_path / "two.csv", "--output", tmp_path / "two_mv.csv")
    assert result.exit_code == 0, result.output
    assert "0,1, is read as a header" in result.output
    assert len(pd.read_csv(tmp_path / "two_mv.csv")) == 2
    # A one-column file's first "0" is a label unless the count says otherwise.
    write(tmp_path / "one.csv", "0\n1\n1\n")
    assert inputs.read_crowd_labels(tmp_path / "one.csv").num_items == 3
    assert inputs.read_crowd_labels(tmp_path / "one.csv", num_items=2).num_items == 2


def test_pandas_row_index_column_is_dropped_with_a_warning(tmp_path, capsys):
    # pandas' default to_csv() writes the row index as a first, unnamed column.
    x = np.arange(15, dtype="float32").reshape(5, 3) + 0.5
    pd.DataFrame(x).to_csv(tmp_path / "x.csv")  # header ,0,1,2
    np.testing.assert_array_equal(inputs.read_features(tmp_path / "x.csv"), x)
    warning = capsys.readouterr().err
    assert "read as pandas' row index" in warning and "index=False" in warning
    assert "default column names" not in warning  # one warning is enough
    labels = np.array([[0, 1, -1], [2, 2, 1], [1, -1, 1], [0, 0, 0]])
    pd.DataFrame(labels, columns=["u", "v", "w"]).to_csv(tmp_path / "dense.csv")
    pd.read_csv(tmp_path / "dense.csv").to_csv(tmp_path / "again.csv", index=False)
    pd.DataFrame(labels).to_csv(tmp_path / "positions.csv")
    for name, num_items in (("dense.csv", 4), ("dense.csv", None), ("again.csv", 4),
                            ("positions.csv", 4), ("positions.csv", None)):
        crowd = inputs.read_crowd_labels(tmp_path / name, num_items=num_items)
        np.testing.assert_array_equal(crowd.crowd_labels, labels, err_msg=name)
        assert len(crowd.annotator_ids) == 3, name
        assert "read as pandas' row index" in capsys.readouterr().err, name
    result = invoke("aggregate", tmp_path / "dense.csv", "--output", tmp_path / "mv.csv")
    assert result.exit_code == 0, result.output
    assert "3 / 3" in result.output  # annotators / classes
    # An unnamed first column that is not 0..N-1 is not guessed at.
    write(tmp_path / "unnamed.csv", ",a,b\n5,1.5,2\n7,3,4\n")
    with pytest.raises(ValueError, match=r"unnamed.csv' has no name in the header"):
        inputs.read_features(tmp_path / "unnamed.csv")
    # Without a header, an empty first cell is a missing first label.
    write(tmp_path / "data.csv", ",1,2\n0,0,0\n1,1,1\n2,2,2\n")
    crowd = inputs.read_crowd_labels(tmp_path / "data.csv")
    assert crowd.crowd_labels[0].tolist() == [-1, 1, 2] and crowd.num_items == 4


def test_header_of_numeric_annotator_ids_adds_no_classes(tmp_path, capsys):
    # Read as data, "101,102,103" would make K = 104 and an item of junk labels.
    write(tmp_path / "ids.csv", "101,102,103\n0,1,1\n2,2,-1\n1,1,0\n")
    result = invoke("aggregate", tmp_path / "ids.csv", "--output", tmp_path / "ids_mv.csv")
    assert result.exit_code == 0, result.output
    assert "101,102,103, is read as a header (annotator ids" in result.output
    assert "3 / 3" in result.output  # annotators / classes
    assert pd.read_csv(tmp_path / "ids_mv.csv")["label"].tolist() == [1, 2, 1]
    crowd = inputs.read_crowd_labels(tmp_path / "ids.csv")
    assert list(crowd.annotator_ids) == ["101", "102", "103"] and crowd.num_classes == 3
    # Labels that occur again below, repeated or missing cells: data.
    for first in ("2,0,1", "3,3,4", "3,-1,4", "3,,4"):
        crowd = inputs.read_crowd_labels(write(tmp_path / "d.csv", f"{first}\n0,1,1\n2,2,-1\n"))
        assert crowd.num_items == 3, first
    # A known item count decides, as for every header: one line more than the
    # items makes distinct numbers a header, even ids that are also labels.
    for ids in ("101,102,103", "1,2,3"):
        path = write(tmp_path / "ids.csv", f"{ids}\n0,1,1\n2,2,-1\n1,1,0\n")
        crowd = inputs.read_crowd_labels(path, num_items=3)
        assert "one row more than the 3 items" in capsys.readouterr().err
        assert list(crowd.annotator_ids) == ids.split(",") and crowd.num_classes == 3
        np.testing.assert_array_equal(crowd.crowd_labels, [[0, 1, 1], [2, 2, -1], [1, 1, 0]])
        # As many lines as items: the first is an item.
        assert inputs.read_crowd_labels(path, num_items=4).num_items == 4
    # Repeated numbers or a missing cell are not ids: the count error and its hint.
    for first in ("1,1,3", "1,,3"):
        path = write(tmp_path / "ids.csv", f"{first}\n0,1,1\n2,2,-1\n1,1,0\n")
        with pytest.raises(ValueError, match="header row"):
            inputs.read_crowd_labels(path, num_items=3)
    result = invoke("aggregate", write(tmp_path / "ids.csv", "7,8,9\n0,1,1\n2,2,-1\n1,1,0\n"),
                    "--true-labels", write(tmp_path / "truth.csv", "1\n2\n1\n"),
                    "--output", tmp_path / "ids_mv.csv")
    assert result.exit_code == 0, result.output
    assert "7,8,9, is read as a header (annotator ids" in result.output
    assert pd.read_csv(tmp_path / "ids_mv.csv")["label"].tolist() == [1, 2, 1]


def test_first_row_of_missing_labels_is_data_not_a_header(tmp_path):
    for text in (",\n0,1\n1,1\n", "nan,nan\n0,1\n1,1\n"):
        crowd = inputs.read_crowd_labels(write(tmp_path / "dense.csv", text))
        np.testing.assert_array_equal(crowd.crowd_labels, [[-1, -1], [0, 1], [1, 1]])


def test_row_count_off_by_one_points_at_a_header_row(tmp_path):
    write(tmp_path / "x.csv", "0,1\n" + "".join(f"{i}.5,{i}\n" for i in range(4)))
    np.save(tmp_path / "labels.npy", np.zeros((5, 2), "int64"))
    error = assert_one_line_error(invoke("train", "--features", tmp_path / "x.csv",
                                         "--labels", tmp_path / "labels.npy"))
    assert "5 rows but there are 4 feature rows" in error and "header row" in error


def test_blank_line_of_a_dense_csv_is_a_row_of_missing_labels(tmp_path):
    write(tmp_path / "dense1.csv", "0\n\n1\n1\n")
    crowd = inputs.read_crowd_labels(tmp_path / "dense1.csv")
    np.testing.assert_array_equal(crowd.crowd_labels, [[0], [-1], [1], [1]])
    result = invoke("aggregate", tmp_path / "dense1.csv", "--output", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "out.csv")) == 4
    # pandas writes a missing last label as an empty last line.
    pd.DataFrame({"a": [0, np.nan]}).to_csv(tmp_path / "last.csv", index=False)
    crowd = inputs.read_crowd_labels(tmp_path / "last.csv")
    np.testing.assert_array_equal(crowd.crowd_labels, [[0], [-1]])
    with pytest.raises(ValueError, match=r"x.csv.*blank line \(line 2\)"):
        inputs.read_features(write(tmp_path / "x.csv", "1,2\n\n3,4\n"))
    with pytest.raises(ValueError, match=r"y.txt.*line 3"):
        inputs.read_true_labels(write(tmp_path / "y.txt", "label\n0\n\n1\n"))


def _tiny_run_folder(folder):
    """`folder` as a run folder holding an untrained 2-feature, 3-class model.keras,
    for the tests of `evaluate`'s data errors (it loads the model first)."""
    inputs_ = keras.Input((2,))
    classifier = keras.Model(inputs_, keras.layers.Dense(3, activation="softmax")(inputs_))
    classifier.save(folder / models.RUN_MODEL_FILE)
    return folder


@pytest.mark.parametrize("content, reason", [
    ("", "is empty"),
    (b"\xff\xfe\x00", "not UTF-8"),
    ('a,b\n"unterminated\n', "EOF inside string"),
])
def test_unreadable_csv_errors_name_the_file(tmp_path, content, reason):
    path = write(tmp_path / "bad.csv", content, "wb" if isinstance(content, bytes) else "w")
    for args in (["aggregate", path], ["evaluate", _tiny_run_folder(tmp_path), "--features",
                                       path, "--true-labels", path],
                 ["aggregate", tmp_path / "ok.npy", "--true-labels", path]):
        np.save(tmp_path / "ok.npy", np.zeros((2, 2), "int64"))
        error = assert_one_line_error(invoke(*args))
        assert str(path) in error and reason in error, error


def test_evaluate_points_at_a_header_row_of_true_labels(tmp_path):
    # pd.Series(y).to_csv(index=False) writes the header "0", which is a label.
    np.save(tmp_path / "x.npy", np.zeros((3, 2), "float32"))
    pd.Series([1, 0, 2]).to_csv(tmp_path / "y.csv", index=False)
    error = assert_one_line_error(invoke("evaluate", _tiny_run_folder(tmp_path), "--features",
                                         tmp_path / "x.npy", "--true-labels", tmp_path / "y.csv"))
    assert "3 feature rows but 4 true labels" in error and "header row" in error, error


def test_no_header_row_hint_when_no_file_is_a_csv(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 2), "float32"))
    np.save(tmp_path / "y.npy", np.array([1, 0, 2, 1]))
    error = assert_one_line_error(invoke("evaluate", _tiny_run_folder(tmp_path), "--features",
                                         tmp_path / "x.npy", "--true-labels", tmp_path / "y.npy"))
    assert "3 feature rows but 4 true labels" in error and "header row" not in error, error


def test_float_arrays_may_mark_missing_labels_with_minus_one(tmp_path):
    np.save(tmp_path / "fl.npy", np.array([[0, -1, 1], [1, 1, -1.0]]))
    np.testing.assert_array_equal(inputs.read_crowd_labels(tmp_path / "fl.npy").crowd_labels,
                                  [[0, -1, 1], [1, 1, -1]])
    np.save(tmp_path / "neg.npy", np.array([[0, -2.0]]))
    with pytest.raises(ValueError, match="negative label -2"):
        inputs.read_crowd_labels(tmp_path / "neg.npy")
    np.save(tmp_path / "y.npy", np.array([0.0, 1.0]))  # the tie in row 0 goes to 0
    result = invoke("aggregate", tmp_path / "fl.npy", "--true-labels", tmp_path / "y.npy",
                    "--output", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    assert "1.0000" in result.output
    np.save(tmp_path / "y_half.npy", np.array([1.5, 0.0]))
    with pytest.raises(ValueError, match="whole numbers"):
        inputs.read_true_labels(tmp_path / "y_half.npy")


def test_aggregate_matches_named_tasks_to_true_labels_with_task_ids(tmp_path):
    long = pd.DataFrame({"task": ["b", "a", "b", "a"], "worker": ["u", "u", "v", "v"],
                         "label": [1, 0, 1, 0]})
    long.to_csv(tmp_path / "named.csv", index=False)
    np.save(tmp_path / "y.npy", np.array([0, 1]))
    write(tmp_path / "ids.txt", "a\nb\n")
    args = ("aggregate", tmp_path / "named.csv", "--true-labels", tmp_path / "y.npy",
            "--output", tmp_path / "out.csv")
    assert "--task-ids" in assert_one_line_error(invoke(*args))
    result = invoke(*args, "--task-ids", tmp_path / "ids.txt")
    assert result.exit_code == 0, result.output
    assert "1.0000" in result.output
    assert pd.read_csv(tmp_path / "out.csv")["task"].tolist() == ["a", "b"]


def test_aggregate_gives_dense_rows_the_task_ids(tmp_path):
    write(tmp_path / "dense.csv", "w1,w2\n0,1\n1,1\n2,2\n")
    write(tmp_path / "songs.txt", "song_a\nsong_b\nsong_c\n")
    result = invoke("aggregate", tmp_path / "dense.csv", "--task-ids", tmp_path / "songs.txt",
                    "--output", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "out.csv")["task"].tolist() == ["song_a", "song_b", "song_c"]


def test_report_says_what_a_model_without_confusions_is(tmp_path):
    from keras_crowd import ClassifierEnsemble

    def classifier():
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])

    classifier().save(tmp_path / "plain.keras")
    ClassifierEnsemble([classifier(), classifier()]).save(tmp_path / "ensemble.keras")
    assert "a plain classifier" in assert_one_line_error(
        invoke("report", tmp_path / "plain.keras"))
    error = assert_one_line_error(invoke("report", tmp_path / "ensemble.keras"))
    assert "an ensemble of classifiers whose run files" in error


def test_report_refuses_labels_of_other_annotators_than_the_model(tmp_path):
    from keras_crowd import CrowdModel
    from keras_crowd.backbones import mlp_classifier

    model = CrowdModel(mlp_classifier(3, 2, hidden_units=4, seed=0), num_annotators=3)
    model(np.zeros((1, 3), "float32"))
    model.save(tmp_path / "model.keras")
    (tmp_path / models.RUN_METADATA_FILE).write_text(json.dumps(
        {"class_names": [0, 1], "annotator_ids": ["w0", "w1", "w2"]}))
    crowd = "task,worker,label\n0,{},1\n0,w1,0\n1,w1,1\n1,w2,1\n"
    # Sorted, a0 comes first: w0's matrix would have been drawn as a0's.
    write(tmp_path / "other.csv", crowd.format("a0"))
    error = assert_one_line_error(invoke("report", tmp_path / "model.keras", "--labels",
                                         tmp_path / "other.csv"))
    assert "not those" in error and "not in the model: a0" in error
    assert "in the model but not in the labels: w0" in error
    write(tmp_path / "same.csv", crowd.format("w0"))
    result = invoke("report", tmp_path / "model.keras", "--labels", tmp_path / "same.csv",
                    "--output-dir", tmp_path / "report")
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "report" / "annotator_summary.csv", index_col=0)
    assert summary.index.tolist() == ["w0", "w1", "w2"]
    assert summary.labels_given.tolist() == [1, 2, 1]


def test_a_named_npz_key_that_is_missing_is_named(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.array([[0, 1]]), b=np.array([[1, 1]]))
    error = assert_one_line_error(invoke("aggregate", f"{tmp_path / 'two.npz'}:zz"))
    assert "has no array 'zz' (it has a, b)" in error


def test_aggregate_refuses_look_alike_long_csv_and_true_labels_beyond_k(tmp_path):
    long = pd.DataFrame({"item": [0, 0, 1, 1], "annotator": ["u", "v", "u", "v"],
                         "label": [1, 1, 0, 2]})
    long.to_csv(tmp_path / "renamed.csv", index=False)
    # Read as dense it gave 4 items of 3 annotators, exit 0.
    error = assert_one_line_error(invoke("aggregate", tmp_path / "renamed.csv"))
    assert "task, worker (or performer) and label" in error
    np.save(tmp_path / "crowd.npy", np.array([[0, 1], [1, 1], [2, 2]]))
    np.save(tmp_path / "truth.npy", np.array([0, 1, 7]))
    error = assert_one_line_error(invoke("aggregate", tmp_path / "crowd.npy", "--true-labels",
                                         tmp_path / "truth.npy", "--output", tmp_path / "o.csv"))
    assert "class index 7" in error and "only 3 classes" in error


def test_aggregate_warns_about_tasks_without_labels(tmp_path):
    write(tmp_path / "crowd.json", '{"0": {"a": 1, "b": 1}, "1": {}, "2": {"a": 2}}')
    result = invoke("aggregate", tmp_path / "crowd.json", "--method", "dawid-skene",
                    "--output", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    assert "1 task(s) have no label" in result.output and "'1'" in result.output


def test_labels_with_no_label_or_a_single_class_are_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(6, 2)).astype("float32"))
    np.save(tmp_path / "none.npy", np.full((6, 3), -1))
    write(tmp_path / "header.csv", "task,worker,label\n")
    np.save(tmp_path / "zeros.npy", np.where(np.eye(6, 3) > 0, 0, -1))
    quick = ("--epochs", 1, "--ensemble-size", 1, "--lambda", 0.01, "--no-baseline",
             "--no-plots", "--output-dir", tmp_path / "run", "--export-dir", tmp_path / "m")
    for name in ("none.npy", "header.csv"):
        error = assert_one_line_error(invoke("train", "--features", tmp_path / "x.npy",
                                             "--labels", tmp_path / name, *quick))
        assert f"{name}' holds no crowd label" in error, error
        error = assert_one_line_error(invoke("aggregate", tmp_path / name,
                                             "--output", tmp_path / "mv.csv"))
        assert f"{name}' holds no crowd label" in error, error
    error = assert_one_line_error(invoke("train", "--features", tmp_path / "x.npy",
                                         "--labels", tmp_path / "zeros.npy", *quick))
    assert "a single class (0)" in error and "--num-classes" in error, error
    data = inputs.load_crowd_data(features=tmp_path / "x.npy", labels=tmp_path / "zeros.npy",
                                  num_classes=2)
    assert data.num_classes == 2


def test_train_names_feature_rows_without_crowd_labels_once(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(9, 2)).astype("float32"))
    pd.DataFrame({"task": [0, 0, 1, 1, 2, 2], "worker": ["a", "b"] * 3,
                  "label": [0, 0, 1, 1, 0, 1]}).to_csv(tmp_path / "long.csv", index=False)
    data = inputs.load_crowd_data(features=tmp_path / "x.npy", labels=tmp_path / "long.csv")
    assert data.crowd.num_items == 9
    warnings = [line for line in capsys.readouterr().err.splitlines() if "Warning" in line]
    assert len(warnings) == 1, warnings
    assert "6 of 9 feature rows have no crowd label" in warnings[0]
    assert "out of the label loss" in warnings[0] and "uniform target" in warnings[0]
    # Every row labelled: no warning.
    np.save(tmp_path / "dense.npy", np.zeros((9, 2), "int64") + [0, 1])
    inputs.load_crowd_data(features=tmp_path / "x.npy", labels=tmp_path / "dense.npy")
    assert "Warning" not in capsys.readouterr().err


# ----------------------------------------------------------- real processes
def cli_command():
    script = shutil.which("keras-crowd")
    assert script, "the keras-crowd console script is not installed (pip install -e .)"
    return [script]


def test_console_script_help_and_tiny_train(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="1", TF_ENABLE_ONEDNN_OPTS="0")
    help_run = subprocess.run(cli_command() + ["--help"], capture_output=True, text=True,
                              env=env, timeout=120)
    assert help_run.returncode == 0, help_run.stderr
    assert "Examples:" in help_run.stdout and "train" in help_run.stdout
    train_run = subprocess.run(
        cli_command() + ["train", "--dataset", "music", "--epochs", "2", "--no-baseline",
                         "--no-plots", "--strategy", "mirrored", "--ensemble-size", "1",
                         "--output-dir", str(tmp_path / "run"),
                         "--export-dir", str(tmp_path / "models")],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert train_run.returncode == 0, train_run.stderr[-2000:]
    # By default one line per fit, not Keras's per-epoch log.
    assert "fit 1: CrowdModel, no regularizer, 2 epochs, best heldout_crowd_nll" \
        in train_run.stdout  # lambda = 0, then the rest of the grid
    assert "fit 2: CrowdModel, GeoCrowdNetF(strength=0.01), 2 epochs" in train_run.stdout
    assert "Epoch 2/2" not in train_run.stdout and "test accuracy" in train_run.stdout
    assert "Traceback" not in train_run.stderr
    assert (tmp_path / "models" / "music" / "1" / "saved_model.pb").is_file()
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["result"]["epochs_run"] == 2
    assert report["model_kind"] == "CrowdModel" and not report["artifacts"].get("members")
    assert report["settings"]["strategy"] == "mirrored"
    assert report["settings"]["num_replicas"] >= 1


def test_annotator_report_gives_each_annotator_its_own_picture(tmp_path):
    from keras_crowd.cli.annotator_report import write_annotator_report

    long = "x" * 40
    ids = ["a b", "a_b", "a/b", "A_B", long + "1", long + "2", "matrices", "solo"]
    summary = pd.DataFrame({"labels_given": np.arange(len(ids), 0, -1),
                            "estimated_accuracy": np.full(len(ids), 0.5)},
                           index=pd.Index(ids, name="annotator"))
    matrices = np.full((len(ids), 2, 2), 0.5)
    files = write_annotator_report(tmp_path, matrices, summary, individual=len(ids))
    names = [os.path.basename(path) for path in files["confusion_individual"]]
    # Today's name when it is free; _2, _3... when another annotator (or the grid) has it.
    assert names == ["confusion_a_b.png", "confusion_a_b_2.png", "confusion_a_b_3.png",
                     "confusion_A_B_4.png", f"confusion_{long}.png",
                     f"confusion_{long}_2.png", "confusion_matrices_2.png", "confusion_solo.png"]
    assert files["confusion_grid"] == str(tmp_path / "confusion_matrices.png")
    for path in files["confusion_individual"] + [files["confusion_grid"]]:
        assert_png(path)


def test_annotator_report_text_keeps_label_counts_whole(tmp_path):
    from keras_crowd.cli.annotator_report import write_annotator_report

    summary = pd.DataFrame({"labels_given": [1234, 7], "estimated_accuracy": [0.5764, 0.5]},
                           index=pd.Index(["a", "b"], name="annotator"))
    write_annotator_report(tmp_path, np.full((2, 2, 2), 0.5), summary, individual=0)
    text = (tmp_path / "confusion_matrices.txt").read_text()
    assert "labels_given=1234, estimated_accuracy=0.576" in text


def test_report_files_are_written_atomically(tmp_path, monkeypatch):
    """A crash while a report file is written leaves the old file intact."""
    from keras_crowd.utils import atomic_files

    target = tmp_path / "report.json"
    atomic_files.write_text_atomic(target, "old\n")

    class Crash(RuntimeError):
        pass

    with pytest.raises(Crash):
        with atomic_files.atomic_path(target) as temporary:
            with open(temporary, "w") as handle:
                handle.write("half")
            raise Crash()
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_true_labels_match_class_names_like_the_crowd_labels(tmp_path):
    from keras_crowd.cli.inputs import read_true_labels

    ratings = tmp_path / "truth.txt"
    ratings.write_text("1\n4\n2\n")
    # Label 1 is the class named "1" (index 0), as for crowd labels, not position 1.
    assert read_true_labels(str(ratings), class_names=["1", "2", "3", "4", "5"]).tolist() == [0, 3, 1]
    assert read_true_labels(str(ratings)).tolist() == [1, 4, 2]
    positions = tmp_path / "positions.txt"
    positions.write_text("0\n1\n1\n")
    assert read_true_labels(str(positions), class_names=["cat", "dog"]).tolist() == [0, 1, 1]
    names = tmp_path / "names.txt"
    names.write_text("label\ndog\ncat\n")
    assert read_true_labels(str(names), class_names=["cat", "dog"]).tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"positions\.txt.*match no class name"):
        read_true_labels(str(positions), class_names=["1", "2"])


def test_trailing_blank_lines_are_not_items_or_labels(tmp_path):
    # A blank line at the end of a file is not data: no shifted header, no extra item.
    text = "0,1\n1,1\n0,0\n\n"
    crowd = inputs.read_crowd_labels(write(tmp_path / "a.csv", text), num_items=3)
    np.testing.assert_array_equal(crowd.crowd_labels, [[0, 1], [1, 1], [0, 0]])
    crowd = inputs.read_crowd_labels(write(tmp_path / "b.csv", "0,1,-1\n1,1,0\n\n"))
    np.testing.assert_array_equal(crowd.crowd_labels, [[0, 1, -1], [1, 1, 0]])
    features = inputs.read_features(write(tmp_path / "x.csv", "0.5,1\n1.5,2\n\n"))
    np.testing.assert_array_equal(features, [[0.5, 1.0], [1.5, 2.0]])
    assert inputs.read_true_labels(str(write(tmp_path / "y.txt", "0\n1\n\n"))).tolist() == [0, 1]
    one = write(tmp_path / "one.csv", "0\n1\n\n")
    assert inputs.read_crowd_labels(one, num_items=2).crowd_labels.ravel().tolist() == [0, 1]
    assert inputs.read_crowd_labels(one).crowd_labels.ravel().tolist() == [0, 1]
    # pandas writes a one-column NaN as a quoted empty cell, which is a label, not a
    # blank line; its default header "0" is a header when the count says so.
    pd.DataFrame([[1.0], [2.0], [np.nan]]).to_csv(tmp_path / "pandas.csv", index=False)
    crowd = inputs.read_crowd_labels(tmp_path / "pandas.csv", num_items=3)
    assert crowd.crowd_labels.ravel().tolist() == [1, 2, -1]
    # A true label missing in the last row is an error, not dropped.
    with pytest.raises(ValueError, match="no label on line 3"):
        inputs.read_true_labels(str(write(tmp_path / "t.csv", "id,label\n1,0\n2,\n")))


def test_numeric_true_label_arrays_are_indices_even_with_integer_class_names(tmp_path):
    np.save(tmp_path / "y.npy", np.array([1, 4, 2]))
    names = ["1", "2", "3", "4", "5"]
    assert inputs.read_true_labels(str(tmp_path / "y.npy"), class_names=names).tolist() == [1, 4, 2]
    np.save(tmp_path / "big.npy", np.array([5]))
    with pytest.raises(ValueError, match="out of range"):
        inputs.read_true_labels(str(tmp_path / "big.npy"), class_names=names)


def test_evaluate_saved_model_with_a_variable_length_input(tmp_path):
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(50, 4)(tokens))
    classifier = keras.Model(tokens, keras.layers.Dense(3, activation="softmax")(pooled))
    saved_models.export_model(classifier, tmp_path / "tokens" / "1")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 50, size=(20, 7))
    y = classifier.predict(x, verbose=0).argmax(axis=1)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    result = invoke("evaluate", tmp_path / "tokens" / "1", "--features", tmp_path / "x.npy",
                    "--true-labels", tmp_path / "y.npy", "--json", tmp_path / "e.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "e.json").read_text())["accuracy"] == 1.0
    with pytest.raises(ValueError, match=r"expects inputs of shape \(N, None\); got \(20, 7, 1\)"):
        models.SavedModelClassifier(tmp_path / "tokens" / "1").predict(x[:, :, None])


def test_a_second_run_in_the_same_folder_replaces_the_first_whole(user_files, tmp_path):
    common = ["--features", user_files / "x.csv", "--labels", user_files / "crowd.csv",
              "--epochs", 1, "--verbose", 0, "--no-baseline", "--output-dir", tmp_path / "run",
              "--export-dir", tmp_path / "models"]
    first = invoke("train", *common, "--method", "geocrowdnet-f", "--lambda", 0.1,
                   "--ensemble-size", 2)
    assert first.exit_code == 0, first.output
    old = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"member_0.keras", "member_1.keras", "confusion_matrices.npy"} <= old
    (tmp_path / "run" / "notes.txt").write_text("mine\n")  # not the run's: kept
    second = invoke("train", *common, "--method", "dl-mv", "--ensemble-size", 1, "--no-plots")
    assert second.exit_code == 0, second.output
    assert "holds a previous run" in second.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    listed = {pathlib.Path(p).name for key, p in report["artifacts"].items()
              if isinstance(p, str) and key != "export"}
    assert {p.name for p in (tmp_path / "run").iterdir()} == listed | {"notes.txt"}
    assert report["method"] == "dl-mv"


def test_patience_needs_heldout_selection(user_files, tmp_path):
    result = invoke("train", "--features", user_files / "x.csv", "--labels",
                    user_files / "crowd.csv", "--selection", "last", "--patience", 1,
                    "--output-dir", tmp_path / "run")
    assert result.exit_code != 0 and "--patience stops on the held-out score" in result.output


def test_train_does_not_repeat_the_unlabelled_rows_warning_per_fit(tmp_path):
    import warnings

    from keras_crowd.data import EmptyTaskWarning

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 60)
    np.save(tmp_path / "x.npy", (np.eye(2)[truth] * 3 + rng.normal(size=(60, 2))).astype("f4"))
    pd.DataFrame({"task": np.repeat(np.arange(40), 2), "worker": ["a", "b"] * 40,
                  "label": np.repeat(truth[:40], 2)}).to_csv(tmp_path / "long.csv", index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = invoke("train", "--features", tmp_path / "x.npy", "--labels",
                        tmp_path / "long.csv", "--method", "dl-mv", "--epochs", 1,
                        "--ensemble-size", 1, "--no-plots", "--output-dir", tmp_path / "run",
                        "--export-dir", tmp_path / "models")
    assert result.exit_code == 0, result.output
    assert result.output.count("20 of 60 feature rows have no crowd label") == 1
    assert not [w for w in caught if issubclass(w.category, EmptyTaskWarning)]


# ------------------------------------------- matching labels and features to rows
def test_two_task_ids_of_one_row_number_are_an_error(tmp_path):
    # "1" and "01" both name row 1: one of their labels used to overwrite the other.
    write(tmp_path / "long.csv", "task,worker,label\n1,w1,0\n01,w1,1\n0,w1,1\n")
    write(tmp_path / "labels.json", '{"0": {"w1": 1}, "1": {"w1": 0}, "01": {"w1": 1}}')
    for name in ("long.csv", "labels.json"):
        with pytest.raises(ValueError, match="'01' and '1' are both the row number 1"):
            inputs.read_crowd_labels(tmp_path / name, num_items=3)
    # Each number once (leading zeros or not) is still its row.
    write(tmp_path / "padded.csv", "task,worker,label\n01,w1,0\n002,w1,1\n0,w1,1\n")
    crowd = inputs.read_crowd_labels(tmp_path / "padded.csv", num_items=3)
    assert crowd.crowd_labels.ravel().tolist() == [1, 0, 1]


def test_task_ids_file_with_a_byte_order_mark(tmp_path):
    # Notepad and Excel's "CSV UTF-8" start the file with a byte order mark.
    write(tmp_path / "crowd.csv", "task,worker,label\ns0,a,cat\ns1,a,dog\ns2,b,dog\ns0,b,cat\n")
    write(tmp_path / "ids.txt", "\ufeffs0\r\ns1\r\ns2\r\n", mode="w")
    assert inputs.read_task_ids(tmp_path / "ids.txt") == ("s0", "s1", "s2")
    output = tmp_path / "agg.csv"
    result = invoke("aggregate", tmp_path / "crowd.csv", "--task-ids", tmp_path / "ids.txt",
                    "--output", output)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(output).to_dict("list") == {"task": ["s0", "s1", "s2"],
                                                   "label": ["cat", "dog", "dog"]}


def test_an_item_id_column_is_not_read_as_features_or_an_annotator(tmp_path):
    # Features saved with their task ids, in another order than the labels' tasks:
    # the ids used to become a feature, and row 0 was paired with task 0's labels.
    pd.DataFrame({"task": [2, 0, 1], "f1": [0.2, 0.0, 0.1]}).to_csv(tmp_path / "x.csv",
                                                                   index=False)
    write(tmp_path / "crowd.csv", "task,worker,label\n0,a,0\n1,a,1\n2,a,1\n")
    with pytest.raises(ValueError, match="has a column 'task' of item ids"):
        inputs.load_crowd_data(features=tmp_path / "x.csv", labels=tmp_path / "crowd.csv")
    # An id column of dense labels used to be an annotator whose labels are row numbers.
    write(tmp_path / "dense.csv", "id,w1,w2\n0,1,0\n1,0,1\n2,1,1\n")
    with pytest.raises(ValueError, match="has the columns id"):
        inputs.read_crowd_labels(tmp_path / "dense.csv")


def test_true_labels_with_ids_out_of_row_order_are_an_error(tmp_path):
    write(tmp_path / "crowd.csv",
          "task,worker,label\n2,a,cat\n0,a,dog\n1,a,cat\n2,b,cat\n0,b,dog\n1,b,cat\n")
    # The file pairs task 0 with dog; read by row, it paired row 0 with cat (accuracy 1/3).
    write(tmp_path / "truth.csv", "task,label\n2,cat\n0,dog\n1,cat\n")
    args = ("aggregate", tmp_path / "crowd.csv", "--class-names", "cat,dog",
            "--output", tmp_path / "agg.csv", "--true-labels")
    message = assert_one_line_error(invoke(*args, tmp_path / "truth.csv"))
    assert "gives the item '2' on line 2, where row 0 is '0'" in message
    # In row order (the aggregate output itself), the accuracy is that of the file.
    write(tmp_path / "sorted.csv", "task,label\n0,dog\n1,cat\n2,cat\n")
    result = invoke(*args, tmp_path / "sorted.csv")
    assert result.exit_code == 0 and "1.0000" in result.output, result.output
    # With --task-ids, the ids must be those, in order.
    write(tmp_path / "named.csv", "task,worker,label\ns2,a,cat\ns0,a,dog\ns10,a,cat\n")
    write(tmp_path / "ids.txt", "s0\ns2\ns10\n")
    write(tmp_path / "named_truth.csv", "task,label\ns0,dog\ns10,cat\ns2,cat\n")
    args = ("aggregate", tmp_path / "named.csv", "--class-names", "cat,dog",
            "--task-ids", tmp_path / "ids.txt", "--output", tmp_path / "agg.csv",
            "--true-labels")
    message = assert_one_line_error(invoke(*args, tmp_path / "named_truth.csv"))
    assert "the item 's10' on line 3, where row 1 is 's2'" in message
    write(tmp_path / "named_truth.csv", "task,label\ns0,dog\ns2,cat\ns10,cat\n")
    result = invoke(*args, tmp_path / "named_truth.csv")
    assert result.exit_code == 0 and "1.0000" in result.output, result.output


@pytest.mark.parametrize("names", [("owl", "big cat", "café"), ("1", "2", "3")])
def test_simulate_writes_the_classes_it_was_given_by_name(tmp_path, names):
    truth = np.random.default_rng(0).integers(0, 3, 60)
    (tmp_path / "y.txt").write_text("\n".join(names[y] for y in truth) + "\n",
                                    encoding="utf-8")
    result = invoke("simulate", "--true-labels", tmp_path / "y.txt", "--class-names",
                    ",".join(names), "-M", 4, "--labels-per-item", 2, "--output",
                    tmp_path / "crowd.csv", "--true-labels-out", tmp_path / "y_out.npy")
    assert result.exit_code == 0, result.output
    crowd = pd.read_csv(tmp_path / "crowd.csv", dtype=str, encoding="utf-8")
    assert set(crowd["label"]) <= set(names)
    assert list(np.load(tmp_path / "y_out.npy")) == [names[y] for y in truth]
    # Indices would be read as positions in whatever order --class-names
    # takes later (or, for integer names, as unknown classes).
    for order in (names, names[::-1]):
        for truth_file in ("y.txt", "y_out.npy"):
            result = invoke("aggregate", tmp_path / "crowd.csv", "--true-labels",
                            tmp_path / truth_file, "--class-names", ",".join(order),
                            "--output", tmp_path / "mv.csv")
            assert result.exit_code == 0, result.output
            mv = pd.read_csv(tmp_path / "mv.csv", dtype=str, encoding="utf-8")
            accuracy = np.mean(mv["label"].to_numpy() == np.array(names)[truth])
            assert accuracy > 0.6 and f"{accuracy:.4f}" in result.output
    # A dense matrix holds indices; the true labels written beside it do too.
    result = invoke("simulate", "--true-labels", tmp_path / "y.txt", "--class-names",
                    ",".join(names), "-M", 4, "--output", tmp_path / "crowd.npy",
                    "--true-labels-out", tmp_path / "y_dense.npy")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(tmp_path / "y_dense.npy"), truth)


def test_simulate_compares_features_and_true_labels_before_num_items(tiny_truth, tmp_path):
    np.save(tmp_path / "y_short.npy", np.load(tiny_truth / "y.npy")[:30])
    result = invoke("simulate", "--true-labels", tmp_path / "y_short.npy", "--features",
                    tiny_truth / "x.npy", "--num-items", 20, "-M", 3,
                    "--output", tmp_path / "sim.csv")
    assert "40 feature rows but 30 true labels" in assert_one_line_error(result)


# ------------------------------------------------- a user's crowd of named classes
PET_NAMES = ("owl", "cat", "dog")  # the user's order; sorted, the classes are cat, dog, owl


@pytest.fixture(scope="module")
def named_run(tmp_path_factory):
    """A tiny `train` on a long CSV whose labels are class names, exported as "pets"."""
    root = tmp_path_factory.mktemp("named")
    truth, x = _separable_items(120)
    np.savetxt(root / "x.csv", x[:90], delimiter=",", header="a,b,c", comments="")
    np.savetxt(root / "x_test.csv", x[90:], delimiter=",", header="a,b,c", comments="")
    (root / "y_test.txt").write_text("\n".join(PET_NAMES[y] for y in truth[90:]) + "\n")
    (root / "y.txt").write_text("\n".join(PET_NAMES[y] for y in truth[:90]) + "\n")
    np.save(root / "y.npy", truth[:90])  # indices in the user's order, not the sorted one
    pd.DataFrame({"task": np.repeat(np.arange(90), 2), "worker": ["u", "v"] * 90,
                  "label": [PET_NAMES[y] for y in np.repeat(truth[:90], 2)]}).to_csv(
                      root / "crowd.csv", index=False)
    result = invoke("train", "--features", root / "x.csv", "--labels", root / "crowd.csv",
                    "--test-features", root / "x_test.csv", "--test-labels",
                    root / "y_test.txt", "--epochs", 1, "--ensemble-size", 1, "--lambda", 0,
                    "--no-baseline", "--no-plots", "--verbose", 0, "--name", "pets",
                    "--output-dir", root / "run", "--export-dir", root / "models")
    assert result.exit_code == 0, result.output
    return root


def test_evaluate_reads_the_class_names_of_its_run(named_run, tmp_path):
    root = named_run
    report = json.loads((root / "run" / "report.json").read_text())
    assert report["dataset"]["class_names"] == sorted(PET_NAMES)
    args = ("evaluate", root / "run", "--features", root / "x_test.csv",
            "--true-labels", root / "y_test.txt")
    result = invoke(*args, "--json", tmp_path / "e.json")
    assert result.exit_code == 0, result.output
    evaluation = json.loads((tmp_path / "e.json").read_text())
    assert evaluation["accuracy"] == pytest.approx(report["result"]["test_accuracy"])
    assert list(evaluation["per_class_accuracy"]) == sorted(PET_NAMES)
    # Names in another order than the model's would score other classes.
    error = assert_one_line_error(invoke(*args, "--class-names", ",".join(PET_NAMES)))
    assert "cat,dog,owl" in error and "not the classes" in error


def test_evaluate_checks_the_model_before_the_true_label_names(named_run, tmp_path):
    root = named_run
    names = ("--features", root / "x_test.csv", "--true-labels", root / "y_test.txt")
    # Names without --class-names are refused for a SavedModel, but the
    # error to fix first is the model path's (it said "pass --class-names").
    base = assert_one_line_error(invoke("evaluate", root / "models" / "pets", *names))
    assert "TF Serving model folder" in base, base
    missing = assert_one_line_error(invoke("evaluate", tmp_path / "nowhere", *names))
    assert "does not exist" in missing, missing


def test_evaluate_refuses_class_names_of_another_count_than_the_model(named_run, tmp_path):
    root = named_run
    # A SavedModel holds no names: a fourth name was read as a class of the
    # 3-class model and reported with a NaN accuracy.
    result = invoke("evaluate", root / "models" / "pets" / "1", "--features",
                    root / "x_test.csv", "--true-labels", root / "y_test.txt",
                    "--class-names", "cat,dog,owl,eel")
    error = assert_one_line_error(result)
    assert "gives 4 classes" in error and "has 3" in error, error


def test_report_refuses_class_names_in_another_order_than_the_run(named_run, tmp_path):
    args = ("report", named_run / "run", "--individual", 0, "--output-dir", tmp_path)
    # The user's order would head the matrices' rows and columns with other classes.
    error = assert_one_line_error(invoke(*args, "--class-names", ",".join(PET_NAMES)))
    assert "cat,dog,owl" in error and "not the classes" in error, error
    result = invoke(*args, "--class-names", ",".join(sorted(PET_NAMES)))
    assert result.exit_code == 0, result.output
    header = (tmp_path / "confusion_matrices.txt").read_text().splitlines()[3].split()
    assert header == sorted(PET_NAMES)


def test_aggregate_matches_true_label_names_to_the_crowd_classes(named_run, tmp_path):
    root = named_run
    result = invoke("aggregate", root / "crowd.csv", "--true-labels", root / "y.txt",
                    "--output", tmp_path / "mv.csv")
    assert result.exit_code == 0, result.output
    assert "1.0000" in result.output  # both annotators always give the true class


def test_true_label_indices_of_sorted_class_names_are_warned_about(named_run, tmp_path):
    root = named_run
    result = invoke("aggregate", root / "crowd.csv", "--true-labels", root / "y.npy",
                    "--output", tmp_path / "mv.csv")
    assert result.exit_code == 0, result.output
    assert "sorted: 0=cat, 1=dog, 2=owl" in result.output
    quiet = invoke("aggregate", root / "crowd.csv", "--true-labels", root / "y.npy",
                   "--class-names", ",".join(PET_NAMES), "--output", tmp_path / "mv.csv")
    assert "sorted" not in quiet.output and "1.0000" in quiet.output


def test_evaluate_warns_about_true_label_indices_of_its_runs_sorted_names(named_run):
    args = ("evaluate", named_run / "run", "--features", named_run / "x.csv")
    # y.npy indexes the user's order (owl, cat, dog): read in the run's, it scores ~0.
    result = invoke(*args, "--true-labels", named_run / "y.npy")
    assert result.exit_code == 0, result.output
    assert "sorted: 0=cat, 1=dog, 2=owl" in result.output
    quiet = invoke(*args, "--true-labels", named_run / "y.txt")
    assert quiet.exit_code == 0 and "sorted" not in quiet.output, quiet.output


@pytest.mark.parametrize("model", ["run", "run/model.keras", "models/pets/1"])
def test_evaluate_names_features_of_another_width_than_the_model(named_run, tmp_path, model):
    x_test = np.loadtxt(named_run / "x_test.csv", delimiter=",", skiprows=1)
    np.save(tmp_path / "x2.npy", x_test[:, :2].astype("float32"))
    result = invoke("evaluate", named_run / model, "--features", tmp_path / "x2.npy",
                    "--true-labels", named_run / "y_test.txt", "--class-names", "cat,dog,owl")
    error = assert_one_line_error(result)
    assert "expects inputs of shape (N, 3); got (30, 2)" in error, error


def test_export_defaults_to_the_name_train_exported_under(named_run, tmp_path):
    result = invoke("export", named_run / "run", "--export-dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pets" / "1" / "saved_model.pb").is_file()


def test_export_prints_a_serving_command_quoted_for_the_shell(named_run, tmp_path):
    result = invoke("export", named_run / "run", "--export-dir", tmp_path / "my models",
                    "--name", "my pets")
    assert result.exit_code == 0, result.output
    command = next(line for line in result.output.splitlines() if line.startswith("Serve it:"))
    words = shlex.split(command.removeprefix("Serve it:"))
    mount = words[words.index("--mount") + 1]
    assert mount == (f"type=bind,source={(tmp_path / 'my models' / 'my pets').resolve()},"
                     "target=/models/my pets")
    assert words[words.index("-e") + 1] == "MODEL_NAME=my pets"


def test_a_closed_output_pipe_is_not_reported_as_an_error():
    # `keras-crowd report ... | head` closes stdout early: click ends such a
    # command quietly; our error wrapper used to print "Error: [Errno 32]".
    import click

    from keras_crowd.cli.common import cli_errors

    @click.command()
    @cli_errors
    def prints_to_a_closed_pipe():
        raise BrokenPipeError(32, "Broken pipe")

    result = CliRunner().invoke(prints_to_a_closed_pipe, [])
    assert "Error" not in result.output
    assert result.exit_code == 1


@pytest.mark.parametrize("text", ["f1,f2\n", "f1,f2\n\n"])
def test_a_features_csv_without_rows_is_named_as_such(tmp_path, text):
    # It used to pass, and fail later as "Task id 299 is not a row of the 0 feature rows".
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match="x.csv' holds no row of features"):
        inputs.read_features(path)


def test_library_advice_names_the_cli_options(tmp_path):
    # The library's messages name its Python arguments ("pass class_names=",
    # 'Pass duplicates="first"'); the CLI shows the options that set them.
    path = tmp_path / "crowd.csv"
    path.write_text("task,worker,label\n0,w1,cat\n0,w2,dog\n1,w1,cat\n")
    error = assert_one_line_error(invoke("aggregate", path, "--num-classes", "3",
                                         "--output", tmp_path / "out.csv"))
    assert "--num-classes 3" in error and "pass --class-names" in error
    assert "class_names=" not in error and "num_classes=" not in error
    path.write_text("task,worker,label\n0,w1,cat\n0,w1,dog\n1,w2,cat\n")
    error = assert_one_line_error(invoke("aggregate", path, "--output", tmp_path / "out.csv"))
    assert "Pass --duplicates first or --duplicates last" in error
    assert 'duplicates="' not in error
