"""Smoke tests: the benchmark scripts run end to end on tiny settings."""

import os
import subprocess
import sys

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
    done = _run(["benchmarks/annotator_scaling.py", "--quick", "--annotators", "10", "1000"])
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line.split() for line in done.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["10", "1000"]
    assert all(float(row[3]) > 0 for row in rows)


def test_keras_crowd_benchmark_subcommand(tmp_path):
    from click.testing import CliRunner

    from keras_crowd.cli import main

    output = tmp_path / "table.md"
    result = CliRunner().invoke(main, ["benchmark", "--quick", "--datasets", "music",
                                       "--methods", "ccem", "--first-seed", "3",
                                       "--output", str(output)])
    assert result.exit_code == 0, result.output
    table = output.read_text()
    assert "| music | ccem |" in table and "Seed 3, up to" in table
    assert "music" in result.output and "seed 3:" in result.output
    refused = CliRunner().invoke(main, ["benchmark", "--first-seed", "-1"])
    assert refused.exit_code != 0 and "--first-seed" in refused.output
    helped = CliRunner().invoke(main, ["benchmark", "--help"])
    assert helped.exit_code == 0 and "Examples:" in helped.output and "--holdout" in helped.output
