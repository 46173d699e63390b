"""Smoke tests: the benchmark scripts run end to end on tiny settings."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(args, timeout=240):
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
        timeout=timeout, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


def test_accuracy_benchmark_quick_writes_results(tmp_path):
    output = tmp_path / "RESULTS.md"
    done = _run(["benchmarks/accuracy.py", "--quick", "--datasets", "labelme",
                 "--methods", "geocrowdnet-f", "dl-mv", "--output", str(output)])
    assert done.returncode == 0, done.stderr[-2000:]
    table = output.read_text()
    assert "| labelme | geocrowdnet-f |" in table and "| labelme | dl-mv |" in table
    assert "TensorFlow" in table and "Command:" in table


def test_annotator_scaling_benchmark_quick():
    done = _run(["benchmarks/annotator_scaling.py", "--quick", "--annotators", "10", "1000",
                 "--repeats", "2"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "5 steps x 2 alternating repeats" in done.stdout  # --quick kept --repeats
    rows = [line.split() for line in done.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["10", "1000"]
    assert all(float(row[3]) > 0 for row in rows)


def _quick_music_benchmark(output, *options):
    """`keras-crowd benchmark --quick` on Music; returns (result, table)."""
    from click.testing import CliRunner

    from keras_crowd.cli import main

    result = CliRunner().invoke(main, ["benchmark", "--quick", "--datasets", "music",
                                       *options, "--output", str(output)])
    assert result.exit_code == 0, result.output
    return result, output.read_text()


def test_keras_crowd_benchmark_subcommand(tmp_path):
    from click.testing import CliRunner

    from keras_crowd.cli import main

    output = tmp_path / "table.md"
    result, table = _quick_music_benchmark(output, "--methods", "ccem", "--first-seed", "3")
    assert "| music | ccem |" in table and "Seed 3, up to" in table
    assert "music" in result.output and "seed 3:" in result.output
    _, table = _quick_music_benchmark(output, "--methods", "ccem", "dl-mv", "--common-confusion",
                                      "--overwrite")
    assert "| music | ccem + common |" in table and "| music | dl-mv |" in table
    assert "`common_confusion=True`" in table
    refused = CliRunner().invoke(main, ["benchmark", "--first-seed", "-1"])
    assert refused.exit_code != 0 and "--first-seed" in refused.output
    helped = CliRunner().invoke(main, ["benchmark", "--help"])
    assert helped.exit_code == 0 and "Examples:" in helped.output and "--holdout" in helped.output


def test_speed_benchmark_quick_times_every_option():
    done = _run(["benchmarks/speed.py", "--quick"])
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    for name in ("labelme", "music"):
        for pipeline in ("numpy fit", "epoch_dataset"):
            header = next(i for i, line in enumerate(lines)
                          if line.startswith(f"{name}, {pipeline}:"))
            rows = {line.split()[0]: line for line in lines[header + 1:header + 5]}
            assert set(rows) == {"mv", "ccem", "geocrowdnet-f", "geocrowdnet-w"}, rows
            for kind in ("ccem", "geocrowdnet-f", "geocrowdnet-w"):
                assert "vs MV backbone" in rows[kind] and "vs CCEM" in rows[kind]
        header = next(i for i, line in enumerate(lines)
                      if line.startswith(f"{name}: 2-epoch CCEM run"))
        options = [line.strip() for line in lines[header + 1:header + 9]]
        expected = ["numpy fit (Keras default)", "tf.data: shuffle, batch, prefetch",
                    "tf.data: cache, shuffle, batch, prefetch",
                    "numpy fit, steps_per_execution=10", "numpy fit, jit_compile=True",
                    "epoch_dataset, one call per epoch", "recipe, last epoch",
                    "recipe, held-out selection"]
        assert [option[:len(label)] for option, label in zip(options, expected)] == expected
        assert all(float(option[len(label):].split()[0]) > 0
                   for option, label in zip(options, expected))


def test_fashion_mnist_machine_annotators_problem():
    """The paper's no-specialist regime: 5 machine annotators (softmax
    regressions on 20-100 images), 60% of their labels missing."""
    import pathlib

    import numpy as np
    import pytest

    if not pathlib.Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("dataset-fashion-mnist is not installed")
    from keras_crowd.benchmarking.accuracy import load_problem

    problem = load_problem("fmnist-machine-annotators", seed=0, quick=True)
    labels = problem.crowd_labels
    assert labels.shape == (2000, 5) and problem.x.shape == (2000, 784)
    assert problem.true_confusions.shape == (5, 10, 10)
    observed = labels >= 0
    assert 0.35 < observed.mean() < 0.45
    accuracies = [np.mean(labels[observed[:, m], m] == problem.y_train[observed[:, m]])
                  for m in range(5)]
    # Better than chance (0.1), far from experts: no annotator is a specialist.
    assert all(0.3 < accuracy < 0.9 for accuracy in accuracies), accuracies


def test_accuracy_table_states_the_arguments_main_parsed(tmp_path, monkeypatch):
    """The table's command is the one `main(argv)` ran (not the host process's
    sys.argv), its text says what --holdout items hides, and mean ± std is the
    sample standard deviation over seeds. No training: the runs are stubbed."""
    from keras_crowd.benchmarking import accuracy

    monkeypatch.setattr(accuracy, "load_problem", lambda name, seed, quick=False: seed)
    monkeypatch.setattr(accuracy, "run_one", lambda problem, method, seed, *args: dict(
        label_free=0.5 + 0.1 * problem, single=0.5, clean=0.5, last=0.5, strength=None,
        error=float("nan"), seconds=1.0, selected_epoch=1))
    monkeypatch.setattr(sys, "argv", ["pytest", "-k", "unrelated"])
    output = tmp_path / "table.md"
    argv = ["--datasets", "music", "--methods", "dl-mv", "--seeds", "2", "--holdout", "items",
            "--output", str(output)]
    accuracy.main(argv, prog="keras-crowd benchmark")
    table = output.read_text()
    assert f"Command: `keras-crowd benchmark {' '.join(argv)}`" in table
    assert "unrelated" not in table
    label_free = next(line for line in table.splitlines() if "**Label-free, 1 model**" in line)
    assert "every crowd-labelled item" not in label_free and "90%" in label_free
    assert "| music | dl-mv | — | 55.00 ± 7.07 |" in table  # stdev of 50 and 60, ddof=1


def test_a_diverged_run_reports_its_last_epoch():
    """A run with no finite held-out score has no selected epoch (None) and
    keeps its last weights; `None - 1` used to crash the whole benchmark."""
    from keras_crowd.benchmarking.accuracy import _kept_epoch_index

    accuracies = [0.1, 0.2, 0.3]
    assert accuracies[_kept_epoch_index(None)] == 0.3
    assert accuracies[_kept_epoch_index(2)] == 0.2


def test_an_existing_results_file_is_only_replaced_or_extended_when_asked(tmp_path):
    """`python benchmarks/accuracy.py --quick` used to replace the whole record
    in benchmarks/RESULTS.md with one smoke-test table."""
    from click.testing import CliRunner

    from keras_crowd.cli import main

    record = tmp_path / "RESULTS.md"
    record.write_text("# the record\n")
    for extra in ([], ["--append", "--overwrite"]):
        refused = CliRunner().invoke(main, ["benchmark", "--quick", "--datasets", "music",
                                            "--methods", "dl-mv", "--output", str(record),
                                            *extra])
        assert refused.exit_code != 0
        assert record.read_text() == "# the record\n"
    assert "exists: pass --output FILE" in CliRunner().invoke(
        main, ["benchmark", "--output", str(record)]).output


def test_annotator_scaling_step_times_leave_out_what_each_fit_call_does_once(monkeypatch):
    """A step's time was the whole `fit` call's over its steps: CrowdModel's
    per-call input checks counted as crowd step time and inflated the ratio
    (at M = 10, 2.6x against 1.7x from the epochs alone)."""
    import importlib.util
    import time

    spec = importlib.util.spec_from_file_location(
        "annotator_scaling_benchmark", os.path.join(ROOT, "benchmarks", "annotator_scaling.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    class SlowToStart(bench.CrowdModel):
        def fit(self, *args, **kwargs):
            time.sleep(1.0)
            return super().fit(*args, **kwargs)

    monkeypatch.setattr(bench, "CrowdModel", SlowToStart)
    row = bench.measure(10, steps=5, repeats=1, batch_size=32)
    assert row["crowd_ms"] < 100  # not the 1 s before the epoch over 5 steps


@pytest.mark.parametrize("args", [
    ["benchmarks/large_crowds.py", "--quick", "--steps", "0"],
    ["benchmarks/annotator_scaling.py", "--quick", "--repeats", "0"],
    ["benchmarks/speed.py", "--quick", "--threads", "-1"],
])
def test_benchmarks_refuse_a_count_below_one(args):
    """`--steps 0` ran the default steps; `--repeats 0` was ignored with
    --quick (else a StatisticsError); `--threads -1` reached TensorFlow."""
    done = _run(args)
    assert done.returncode == 2, done.stdout[-2000:]
    assert f"argument {args[-2]}: must be a positive integer; got '{args[-1]}'" in done.stderr


@pytest.mark.parametrize("ensemble_size", [1, 2, 5])
def test_results_call_an_ensemble_the_train_default_only_when_it_is(tmp_path, ensemble_size):
    import argparse

    from keras_crowd.benchmarking.accuracy import write_results
    from keras_crowd.training import DEFAULT_ENSEMBLE_SIZE

    args = argparse.Namespace(command=["keras-crowd", "benchmark"], epochs=2, seeds=1,
                              first_seed=0, holdout="labels", ensemble_size=ensemble_size,
                              common_confusion=False)
    output = tmp_path / "table.md"
    write_results({}, args, output, total_seconds=1.0)
    table = output.read_text()
    assert f"**Label-free, ensemble of {ensemble_size}**" in table
    claims_default = "(the default of `keras-crowd train`)" in table
    assert claims_default == (ensemble_size == DEFAULT_ENSEMBLE_SIZE)
