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
