"""Every script in examples/ runs in its --quick mode, as a user would run it."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")

# Each example, and lines its --quick output must contain (regular expressions).
EXPECTED_OUTPUT = {
    "fashion_mnist_crowd_layer.py": [
        r"CNN \+ crowd layer \(GeoCrowdNet-F\)\s+0\.\d{4}",
        r"CNN on majority-vote labels\s+0\.\d{4}",
        r"confusion-matrix error of the crowd layer: \d+\.\d{3}",
    ],
    "paper_regimes.py": [
        r"no class experts, much data\s+geocrowdnet-f\s+0\.\d{4}\s+\d\.\d{3}",
        r"class experts, less data\s+geocrowdnet-w\s+0\.\d{4}\s+\d\.\d{3}",
    ],
    "real_crowds.py": [
        r"ccem\s+0\.\d{4}\s+0\.\d{4}",
        r"dl-mv\s+0\.\d{4}\s+0\.\d{4}",
    ],
    "multi_gpu.py": [
        r"MirroredStrategy over 2 replicas",
        r"mirrored\s+0\.\d{4}",
        r"one device\s+0\.\d{4}",
        # The loss is exact under the strategy: both runs learn the same matrices.
        r"largest difference of the learned confusion matrices: \d\.\d\de-(0[5-9]|[1-9]\d)",
    ],
    "serving.py": [
        r"REST body: \{\"instances\": \[\[",
        r"gRPC request: model_spec.name='music', signature_name='serving_default'",
        r"largest probability difference vs Keras: REST \d\.\d\de[-+]\d\d, gRPC",
    ],
}
NEEDS_FASHION_MNIST = {"fashion_mnist_crowd_layer.py", "paper_regimes.py"}


def test_every_example_is_tested_and_documents_its_time():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED_OUTPUT)
    for name in EXPECTED_OUTPUT:
        header = (EXAMPLES / name).read_text().split('"""')[1]
        assert "--quick" in header and "measured" in header, name


@pytest.mark.parametrize("name", sorted(EXPECTED_OUTPUT))
def test_example_quick_mode(name, tmp_path):
    if name in NEEDS_FASHION_MNIST and not FASHION_MNIST.is_dir():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="1", TF_ENABLE_ONEDNN_OPTS="0")
    run = subprocess.run([sys.executable, str(EXAMPLES / name), "--quick"], cwd=tmp_path,
                         capture_output=True, text=True, env=env, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    for pattern in EXPECTED_OUTPUT[name]:
        assert re.search(pattern, run.stdout), f"{pattern!r} not in:\n{run.stdout}"


# One count below 1 per example: refused by argparse, naming the option.
BAD_COUNTS = {
    "fashion_mnist_crowd_layer.py": ("--epochs", "0"),
    "paper_regimes.py": ("--seeds", "0"),
    "real_crowds.py": ("--seeds", "0"),
    "multi_gpu.py": ("--replicas", "0"),
    "serving.py": ("--epochs", "-1"),
}


@pytest.mark.parametrize("name", sorted(BAD_COUNTS))
def test_example_refuses_a_count_below_one(name, tmp_path):
    """They used to run anyway: `--epochs 0` trained the default epochs,
    `--seeds 0` printed a table of nan (paper_regimes) or died in `zip`
    (real_crowds), `--replicas 0` in TensorFlow's context creation."""
    option, value = BAD_COUNTS[name]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0")
    run = subprocess.run([sys.executable, str(EXAMPLES / name), "--quick", option, value],
                         cwd=tmp_path, capture_output=True, text=True, env=env, timeout=180)
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]
    assert f"argument {option}: must be a positive integer; got '{value}'" in run.stderr
    assert "Traceback" not in run.stderr


def test_fashion_mnist_example_refuses_more_images_than_the_dataset_has(tmp_path):
    """`--num-items 70000` printed "70000 images" and trained on the 60000."""
    if not FASHION_MNIST.is_dir():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0")
    run = subprocess.run([sys.executable, str(EXAMPLES / "fashion_mnist_crowd_layer.py"),
                          "--quick", "--num-items", "70000"],
                         cwd=tmp_path, capture_output=True, text=True, env=env, timeout=180)
    assert run.returncode == 2, run.stdout[-2000:]
    assert "--num-items: Fashion-MNIST has 60000 training images; got 70000" in run.stderr


def _run_default(name, *options, timeout=600):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0")
    run = subprocess.run([sys.executable, str(EXAMPLES / name), *options],
                         capture_output=True, text=True, env=env, timeout=timeout)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


@pytest.mark.slow
def test_fashion_mnist_example_gives_the_accuracies_its_docstring_states():
    """Fixed seeds, so the default run repeats its documented numbers (~60 s)."""
    if not FASHION_MNIST.is_dir():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    name = "fashion_mnist_crowd_layer.py"
    header = " ".join((EXAMPLES / name).read_text().split('"""')[1].split())
    claimed = re.search(r"crowd layer (0\.\d+) test accuracy vs (0\.\d+) for majority vote",
                        header)
    output = _run_default(name)
    measured = [float(re.search(pattern + r"\s+(0\.\d{4})", output)[1]) for pattern in
                (r"CNN \+ crowd layer \(GeoCrowdNet-F\)", r"CNN on majority-vote labels")]
    assert measured == pytest.approx([float(claimed[1]), float(claimed[2])], abs=0.002)


PAPER_METHODS = {"F": "geocrowdnet-f", "W": "geocrowdnet-w", "CCEM": "ccem", "DL-MV": "dl-mv"}
PAPER_REGIMES = {"1": "no class experts, much data", "2": "class experts, less data"}


def documented_paper_accuracies(header):
    """`{(regime name, method): accuracy}` from paper_regimes.py's docstring."""
    return {(PAPER_REGIMES[regime], PAPER_METHODS[method]): float(accuracy)
            for regime, line in re.findall(r"^\s*regime (\d): (.*)$", header, re.MULTILINE)
            for method, accuracy in re.findall(r"(F|W|CCEM|DL-MV) (0\.\d{4})", line)}


@pytest.mark.slow
def test_paper_regimes_example_gives_the_accuracies_its_docstring_states():
    """Fixed seeds, so `--seeds 3` repeats its documented numbers (~3 min)."""
    if not FASHION_MNIST.is_dir():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    claimed = documented_paper_accuracies(
        (EXAMPLES / "paper_regimes.py").read_text().split('"""')[1])
    assert len(claimed) == 8, claimed
    output = _run_default("paper_regimes.py", "--seeds", "3")
    for (regime, method), accuracy in claimed.items():
        measured = re.search(rf"{regime}\s+{method}\s+(0\.\d{{4}})", output)
        assert float(measured[1]) == pytest.approx(accuracy, abs=0.002), (regime, method)
